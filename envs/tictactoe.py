"""Tic-tac-toe: two players mark cells of a 3x3 grid; three in a row wins.

Dimension letters: B games, A = 9 actions (cells), C = 3 planes, H = W = 3.

Rules: players alternate, player 0 (X) first, each marking one empty cell. Three marks of one player in a row,
column or diagonal win at once; a full board with no line of three is a draw. Standard rules, as PettingZoo's
``tictactoe_v3``.

Actions: the cell a = r * 3 + c (row 0 at the top), row-major. PettingZoo's ``tictactoe_v3`` numbers the same
cells column by column (its action c * 3 + r is our r * 3 + c). No pass.

Observation planes (from the view of the player to move), float 0/1, [3, 3, 3], row 0 at the top:
    0: the mover's marks, 1: the opponent's marks, 2: all ones if the mover is player 0 (moves first), else zeros.

Outcome: +1 win / -1 loss / 0 draw, from the view of the player to move (after a win, the loser is to move: -1).

Symmetries: the 8 symmetries of the square (identity first).

Unchecked fast path: ``step(..., check=False)`` skips validation; a live row given an out-of-range action or an
occupied cell is left unchanged (no move is made), which is not an error but is not a legal game either.

Version history:
    tictactoe_v0: first version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from envs.mnk import MNKGame, MNKState

__all__ = ["TicTacToe", "TicTacToeState"]


@dataclass(frozen=True)
class TicTacToeState(MNKState):
    """Batched tic-tac-toe positions (fields of envs.mnk.MNKState; stone 1 is X, 2 is O); leading dim B."""


class TicTacToe(MNKGame):
    """Batched tic-tac-toe on tensors (CPU or CUDA): the m,n,k-game (3, 3, 3)."""

    id = "tictactoe_v0"
    name = "tictactoe"
    state_class = TicTacToeState
    _margin = 0.1

    def __init__(self) -> None:
        super().__init__(3, 3, 3, options={})

    # drawing -----------------------------------------------------------------------------------------------

    def draw(self, surface: Any, state: TicTacToeState, i: int) -> None:
        """Draw game i: a grid, red crosses for player 0, blue rings for player 1, the last mark underlined."""
        import pygame

        from envs.draw import COLORS, draw_cell_grid, fill_background

        size = surface.get_size()
        fill_background(surface, COLORS["wood"])
        draw_cell_grid(surface, self.board_shape, self._margin)
        last = int(state.last_action[i])
        for a, v in enumerate(state.board[i].tolist()):
            if not v:
                continue
            rect = self.action_rect(a, size)
            inner = rect.inflate(-rect.width // 3, -rect.height // 3)
            width = max(2, min(rect.width, rect.height) // 10)
            if v == 1:
                pygame.draw.line(surface, COLORS["red"], inner.topleft, inner.bottomright, width)
                pygame.draw.line(surface, COLORS["red"], inner.bottomleft, inner.topright, width)
            else:
                pygame.draw.circle(surface, COLORS["blue"], inner.center, min(inner.width, inner.height) // 2, width)
            if a == last:
                y = inner.bottom + width
                pygame.draw.line(surface, COLORS["line"], (inner.left, y), (inner.right, y), max(1, width // 2))

    # traits (envs.traits)
    display_name = "Tic-tac-toe"
    side_names = ("X", "O")
    side_colors = ((200, 40, 40), (30, 70, 170))
    opening_plies = 0  # nine cells: random openings would leave little to play
