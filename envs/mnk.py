"""m,n,k-games: two players place stones on an m x n board; k in a row wins (tic-tac-toe, gomoku).

Dimension letters: B games, A = H*W actions (cells), C = 3 planes, H = m rows, W = n columns, K = k.

Rules: players alternate, player 0 first, each placing one stone on an empty cell (no gravity). K or more stones of
one player in an unbroken row, column or diagonal win at once; a full board with no such line is a draw.

Actions: the cell a = r * W + c (row 0 at the top), row-major. No pass.

Observation planes (from the view of the player to move), float 0/1, [3, H, W], row 0 at the top:
    0: the mover's stones, 1: the opponent's stones, 2: all ones if the mover is player 0 (moves first), else zeros.

Outcome: +1 win / -1 loss / 0 draw, from the view of the player to move (after a win, the loser is to move: -1).

Symmetries: the 8 symmetries of the square on square boards, else the 4 of the rectangle (identity first).

Rules as tensor ops: a precomputed table lists, for every cell, the windows of K cells (rows, columns, both
diagonals) through it; a move wins when one of the windows through it is all the mover's colour (a line longer than K
contains such a window).

Unchecked fast path: ``step(..., check=False)`` skips validation; a live row given an out-of-range action or an
occupied cell is left unchanged (no move is made), which is not an error but is not a legal game either.

`MNKGame` is configured by envs.tictactoe (3, 3, 3) and envs.gomoku (size, size, 5), which name and draw them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from envs.base import (
    Symmetry,
    dihedral_symmetries,
    grid_action_at,
    grid_rect,
    line_table,
    outcome_value,
    place_stone,
    read_actions,
    start_fields,
    stone_planes,
)

__all__ = ["MNKGame", "MNKState"]


@dataclass(frozen=True)
class MNKState:
    """Batched m,n,k-game positions; every field has leading dim B."""

    board: Tensor  # int8 [B, H*W]: 0 empty, 1 player 0's stone, 2 player 1's stone; row-major, row 0 at the top
    player: Tensor  # long [B]: player to move (0 or 1)
    moves: Tensor  # long [B]: moves played
    last_action: Tensor  # long [B]: last cell played, -1 at the start
    done: Tensor  # bool [B]
    winner: Tensor  # long [B]: -1 none or draw, else 0 or 1


class MNKGame:
    """Batched m,n,k-game on tensors (CPU or CUDA), drawn as stones on grid intersections.

    Args:
        height, width: board size H x W (m x n).
        k: stones in a row that win, at most max(H, W).
        options: the constructor kwargs reported as `options` (default: height, width, k).
    """

    id = "mnk_v0"
    name = "mnk"
    pass_action = None
    state_class: type[MNKState] = MNKState
    _margin = 0.5  # border around the grid, in cells

    def __init__(self, height: int, width: int, k: int, options: dict[str, Any] | None = None) -> None:
        self.options: dict[str, Any] = {"height": height, "width": width, "k": k} if options is None else options
        self.k = k
        self.line_length = k  # a k-in-a-row game
        self.fills_cells = True  # the legal moves are exactly the empty cells
        self.board_shape = (height, width)
        self.num_actions = height * width
        self.planes_shape = (3, height, width)
        self.max_moves = height * width
        line_table(height, width, k, torch.device("cpu"))  # built now; ValueError if no line of k fits

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.options.items())})"

    def init(self, batch: int, device: str | torch.device = "cpu") -> MNKState:
        """B empty boards on `device`, player 0 to move."""
        return self.state_class(**start_fields(batch, self.num_actions, device))

    def step(self, state: MNKState, action: Tensor, *, check: bool = True) -> MNKState:
        """Place a stone on cell action[b] for every live game b; finished games are returned unchanged.

        Args:
            state: B positions.
            action: LongTensor[B] cells.
            check: raise envs.base.IllegalActionError on an out-of-range action or an occupied cell in a live game.
        Returns:
            the new State (the input is not modified).
        """
        n = self.num_actions
        action = read_actions(self, state, action, check)
        cell = action.clamp(0, n - 1)  # [B]
        old = state.board.gather(1, cell[:, None])  # [B, 1]
        ok = ~state.done & (action >= 0) & (action < n) & (old[:, 0] == 0)
        windows = line_table(*self.board_shape, self.k, state.board.device)
        return self.state_class(**place_stone(state, action, cell, old, ok, windows, self.max_moves))

    def legal_mask(self, state: MNKState) -> Tensor:
        """BoolTensor[B, A]: empty cells; all False for finished games."""
        return (state.board == 0) & ~state.done[:, None]

    def outcome(self, state: MNKState) -> tuple[Tensor, Tensor]:
        """(done[B], value[B]) with value in {-1, 0, +1} for the player to move; 0 while not done."""
        return outcome_value(state.done, state.winner, state.player)

    def planes(self, state: MNKState) -> Tensor:
        """FloatTensor[B, 3, H, W] from the view of the player to move (see the module docstring)."""
        return stone_planes(state.board, state.player, self.board_shape)

    def symmetries(self) -> list[Symmetry]:
        """The symmetries of the board (8 for a square, 4 for a rectangle; identity first)."""
        return dihedral_symmetries(*self.board_shape)

    # drawing -----------------------------------------------------------------------------------------------

    def _star_points(self) -> list[int]:
        """Cells marked with a dot on the board drawing (none here)."""
        return []

    def draw(self, surface: Any, state: MNKState, i: int) -> None:
        """Draw game i: a wooden board with grid lines, black and white stones, a ring on the last move."""
        from envs.draw import (
            COLORS,
            draw_intersection_grid,
            draw_last_move,
            draw_star_points,
            draw_stone,
            fill_background,
        )

        size = surface.get_size()
        fill_background(surface, COLORS["wood"])
        draw_intersection_grid(surface, self.board_shape, self._margin)
        draw_star_points(surface, self.board_shape, self._star_points(), self._margin)
        for a, v in enumerate(state.board[i].tolist()):
            if v:
                draw_stone(surface, self.action_rect(a, size), COLORS["black"] if v == 1 else COLORS["white"])
        last = int(state.last_action[i])
        if last >= 0:
            draw_last_move(surface, self.action_rect(last, size))

    def action_rect(self, action: int, size: tuple[int, int]) -> Any:
        """The pygame.Rect of the cell of `action` on a surface of `size`, or None if out of range."""
        return grid_rect(action, size, self.board_shape, self._margin)

    def action_at(self, pos: tuple[int, int], size: tuple[int, int]) -> int | None:
        """The cell (action id) under pixel `pos`, or None outside the board."""
        return grid_action_at(pos, size, self.board_shape, self._margin)
