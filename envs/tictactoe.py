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

import torch
from torch import Tensor

from envs.base import (
    Symmetry,
    as_actions,
    check_actions,
    completes_line,
    dihedral_symmetries,
    grid_action_at,
    grid_rect,
    line_windows,
    outcome_value,
)

__all__ = ["TicTacToe", "TicTacToeState"]


@dataclass(frozen=True)
class TicTacToeState:
    """Batched tic-tac-toe positions; every field has leading dim B."""

    board: Tensor  # int8 [B, H*W]: 0 empty, 1 player 0's mark (X), 2 player 1's mark (O); row-major, row 0 at the top
    player: Tensor  # long [B]: player to move (0 or 1)
    moves: Tensor  # long [B]: moves played
    last_action: Tensor  # long [B]: last cell played, -1 at the start
    done: Tensor  # bool [B]
    winner: Tensor  # long [B]: -1 none or draw, else 0 or 1


class TicTacToe:
    """Batched tic-tac-toe on tensors (CPU or CUDA)."""

    id = "tictactoe_v0"
    name = "tictactoe"
    pass_action = None

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}
        self.board_shape = (3, 3)
        self.num_actions = 9
        self.planes_shape = (3, 3, 3)
        self.max_moves = 9
        self._windows_cpu = line_windows(3, 3, 3)  # [9, 4, 3]
        self._windows: dict[torch.device, Tensor] = {}

    def __repr__(self) -> str:
        return "TicTacToe()"

    def _tables(self, device: torch.device) -> Tensor:
        if device not in self._windows:
            self._windows[device] = self._windows_cpu.to(device)
        return self._windows[device]

    def init(self, batch: int, device: str | torch.device = "cpu") -> TicTacToeState:
        """B empty boards on `device`, player 0 to move."""
        zeros = torch.zeros(batch, dtype=torch.long, device=device)
        return TicTacToeState(
            board=torch.zeros(batch, self.num_actions, dtype=torch.int8, device=device),
            player=zeros,
            moves=zeros.clone(),
            last_action=torch.full_like(zeros, -1),
            done=torch.zeros(batch, dtype=torch.bool, device=device),
            winner=torch.full_like(zeros, -1),
        )

    def step(self, state: TicTacToeState, action: Tensor, *, check: bool = True) -> TicTacToeState:
        """Mark cell action[b] for every live game b; finished games are returned unchanged.

        Args:
            state: B positions.
            action: LongTensor[B] cells.
            check: raise envs.base.IllegalActionError on an out-of-range action or an occupied cell in a live game.
        Returns:
            the new State (the input is not modified).
        """
        n = self.num_actions
        batch = state.player.shape[0]
        if check or not isinstance(action, Tensor) or action.dtype != torch.long:
            action = as_actions(action, batch, state.player.device)
        if check:
            check_actions(self.name, action, self.legal_mask(state), ~state.done)
        cell = action.clamp(0, n - 1)  # [B]
        old = state.board.gather(1, cell[:, None])  # [B, 1]
        ok = ~state.done & (action >= 0) & (action < n) & (old[:, 0] == 0)
        color = (state.player + 1).to(torch.int8)
        board = state.board.scatter(1, cell[:, None], torch.where(ok[:, None], color[:, None], old))
        win = ok & completes_line(board, cell, color, self._tables(board.device))
        moves = state.moves + ok.long()
        return TicTacToeState(
            board=board,
            player=torch.where(ok, 1 - state.player, state.player),
            moves=moves,
            last_action=torch.where(ok, action, state.last_action),
            done=state.done | win | (ok & (moves >= n)),
            winner=torch.where(win, state.player, state.winner),
        )

    def legal_mask(self, state: TicTacToeState) -> Tensor:
        """BoolTensor[B, 9]: empty cells; all False for finished games."""
        return (state.board == 0) & ~state.done[:, None]

    def outcome(self, state: TicTacToeState) -> tuple[Tensor, Tensor]:
        """(done[B], value[B]) with value in {-1, 0, +1} for the player to move; 0 while not done."""
        return outcome_value(state.done, state.winner, state.player)

    def planes(self, state: TicTacToeState) -> Tensor:
        """FloatTensor[B, 3, 3, 3] from the view of the player to move (see the module docstring)."""
        h, w = self.board_shape
        me = (state.player + 1).to(torch.int8)[:, None]
        own = state.board == me
        opp = (state.board != 0) & ~own
        first = (state.player == 0)[:, None].expand_as(own)
        return torch.stack([own, opp, first], dim=1).float().view(-1, 3, h, w)

    def symmetries(self) -> list[Symmetry]:
        """The 8 symmetries of the square (identity first)."""
        return dihedral_symmetries(*self.board_shape)

    # drawing -----------------------------------------------------------------------------------------------
    _margin = 0.1

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

    def action_rect(self, action: int, size: tuple[int, int]) -> Any:
        """The pygame.Rect of the cell of `action` on a surface of `size`, or None if out of range."""
        return grid_rect(action, size, self.board_shape, self._margin)

    def action_at(self, pos: tuple[int, int], size: tuple[int, int]) -> int | None:
        """The cell under pixel `pos`, or None outside the grid."""
        return grid_action_at(pos, size, self.board_shape, self._margin)
