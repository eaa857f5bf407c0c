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

__all__ = ["Gomoku", "GomokuState"]

_MARGIN = 0.5  # border around the intersections, in cells


@dataclass(frozen=True)
class GomokuState:
    """Batched gomoku positions; every field has leading dim B."""

    board: Tensor  # int8 [B, H*W]: 0 empty, 1 player 0's stone (black), 2 player 1's (white); row-major, row 0 at top
    player: Tensor  # long [B]: player to move (0 or 1)
    moves: Tensor  # long [B]: moves played
    last_action: Tensor  # long [B]: last intersection played, -1 at the start
    done: Tensor  # bool [B]
    winner: Tensor  # long [B]: -1 none or draw, else 0 or 1


class Gomoku:
    """Batched gomoku on tensors (CPU or CUDA).

    Args:
        size: board size, 5 to 25 (15 by default).
    """

    id = "gomoku_v0"
    name = "gomoku"
    pass_action = None

    def __init__(self, size: int = 15) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or not 5 <= size <= 25:
            raise ValueError(f"gomoku: size must be an integer from 5 to 25, got {size!r}")
        self.size = size
        self.options: dict[str, Any] = {"size": size}
        self.board_shape = (size, size)
        self.num_actions = size * size
        self.planes_shape = (3, size, size)
        self.max_moves = size * size
        self._windows_cpu = line_windows(size, size, 5)  # [N, 20, 5] (20 windows through a central cell)
        self._windows: dict[torch.device, Tensor] = {}

    def __repr__(self) -> str:
        return f"Gomoku(size={self.size})"

    def _tables(self, device: torch.device) -> Tensor:
        if device not in self._windows:
            self._windows[device] = self._windows_cpu.to(device)
        return self._windows[device]

    def init(self, batch: int, device: str | torch.device = "cpu") -> GomokuState:
        """B empty boards on `device`, player 0 (black) to move."""
        zeros = torch.zeros(batch, dtype=torch.long, device=device)
        return GomokuState(
            board=torch.zeros(batch, self.num_actions, dtype=torch.int8, device=device),
            player=zeros,
            moves=zeros.clone(),
            last_action=torch.full_like(zeros, -1),
            done=torch.zeros(batch, dtype=torch.bool, device=device),
            winner=torch.full_like(zeros, -1),
        )

    def step(self, state: GomokuState, action: Tensor, *, check: bool = True) -> GomokuState:
        """Place a stone on intersection action[b] for every live game b; finished games are returned unchanged.

        Args:
            state: B positions.
            action: LongTensor[B] intersections.
            check: raise envs.base.IllegalActionError on an out-of-range action or an occupied point in a live game.
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
        return GomokuState(
            board=board,
            player=torch.where(ok, 1 - state.player, state.player),
            moves=moves,
            last_action=torch.where(ok, action, state.last_action),
            done=state.done | win | (ok & (moves >= n)),
            winner=torch.where(win, state.player, state.winner),
        )

    def legal_mask(self, state: GomokuState) -> Tensor:
        """BoolTensor[B, A]: empty intersections; all False for finished games."""
        return (state.board == 0) & ~state.done[:, None]

    def outcome(self, state: GomokuState) -> tuple[Tensor, Tensor]:
        """(done[B], value[B]) with value in {-1, 0, +1} for the player to move; 0 while not done."""
        return outcome_value(state.done, state.winner, state.player)

    def planes(self, state: GomokuState) -> Tensor:
        """FloatTensor[B, 3, H, W] from the view of the player to move (see the module docstring)."""
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

    def draw(self, surface: Any, state: GomokuState, i: int) -> None:
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
        draw_intersection_grid(surface, self.board_shape, _MARGIN)
        s, d = self.size, 3 if self.size >= 13 else 2
        stars = [s // 2 * s + s // 2] + ([r * s + c for r in (d, s - 1 - d) for c in (d, s - 1 - d)] if s >= 9 else [])
        draw_star_points(surface, self.board_shape, stars, _MARGIN)
        for a, v in enumerate(state.board[i].tolist()):
            if v:
                draw_stone(surface, self.action_rect(a, size), COLORS["black"] if v == 1 else COLORS["white"])
        last = int(state.last_action[i])
        if last >= 0:
            draw_last_move(surface, self.action_rect(last, size))

    def action_rect(self, action: int, size: tuple[int, int]) -> Any:
        """The pygame.Rect of the cell around the intersection of `action` on a surface of `size` (None off board)."""
        return grid_rect(action, size, self.board_shape, _MARGIN)

    def action_at(self, pos: tuple[int, int], size: tuple[int, int]) -> int | None:
        """The intersection (action id) nearest to pixel `pos`, or None outside the board."""
        return grid_action_at(pos, size, self.board_shape, _MARGIN)
