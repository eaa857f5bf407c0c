"""Gomoku (free-style five in a row) on a size x size board, 15x15 by default.

Dimension letters: B games, A = H*W actions (intersections), C = 3 planes, H = W = size.

Rules: players alternate, player 0 (black) first, each placing one stone on an empty intersection. Five or more
stones of one colour in an unbroken row, column or diagonal win at once (overlines count: free-style gomoku, no
renju restrictions); a full board with no such line is a draw.

Actions: the intersection a = r * W + c (row 0 at the top), row-major. No pass.

Observation planes (from the view of the player to move), float 0/1, [3, size, size], row 0 at the top:
    0: the mover's stones, 1: the opponent's stones, 2: all ones if the mover is player 0 (moves first), else zeros.

Outcome: +1 win / -1 loss / 0 draw, from the view of the player to move (after a win, the loser is to move: -1).

Symmetries: the 8 symmetries of the square (identity first).

Rules as tensor ops: a precomputed table lists, for every intersection, the windows of five cells (rows, columns,
both diagonals) through it; a move wins when one of the windows through it is all the mover's colour (a line of six
or more contains such a window).

Unchecked fast path: ``step(..., check=False)`` skips validation; a live row given an out-of-range action or an
occupied intersection is left unchanged (no move is made), which is not an error but is not a legal game either.

Version history:
    gomoku_v0: first version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from envs.base import sgf_action, sgf_point
from envs.mnk import MNKGame, MNKState
from envs.traits import OptionSpec

__all__ = ["Gomoku", "GomokuState"]


@dataclass(frozen=True)
class GomokuState(MNKState):
    """Batched gomoku positions (fields of envs.mnk.MNKState; stone 1 is black, 2 white); leading dim B."""


class Gomoku(MNKGame):
    """Batched gomoku on tensors (CPU or CUDA): the m,n,k-game (size, size, 5).

    Args:
        size: board size, 5 to 25 (15 by default).
    """

    id = "gomoku_v0"
    name = "gomoku"
    state_class = GomokuState

    def __init__(self, size: int = 15) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or not 5 <= size <= 25:
            raise ValueError(f"gomoku: size must be an integer from 5 to 25, got {size!r}")
        super().__init__(size, size, 5, options={"size": size})
        self.size = size

    def _star_points(self) -> list[int]:
        """The centre, and the four points 3 (2 below 13x13) lines in from the corners on boards from 9x9."""
        s, d = self.size, 3 if self.size >= 13 else 2
        return [s // 2 * s + s // 2] + ([r * s + c for r in (d, s - 1 - d) for c in (d, s - 1 - d)] if s >= 9 else [])

    # traits (envs.traits) ---------------------------------------------------------------------------------------

    side_names = ("black", "white")
    label_offsets = (0.62, 0.62)
    record_formats = ("sgf",)
    sgf_game_type = 4
    option_specs = {"size": OptionSpec(int, 15, 5, 25, help="board size (size x size)")}

    def move_to_text(self, state: Any, i: int, action: int) -> str:
        """The SGF point of `action` ("dd"); reads no state."""
        return sgf_point(action, self.board_shape)

    def text_to_move(self, state: Any, i: int, text: str) -> int:
        """The action of an SGF point ("dd") or of an action id ("48"); ValueError naming the text otherwise."""
        return sgf_action(text, self.board_shape)
