"""Line3: two players place stones on a small square board; three in a row (any direction) wins.

An example game for gamelab, written only against the game protocol of `envs.base` (its sole import from gamelab is
the protocol's `IllegalActionError`). Installing this package registers it through the entry point
`gamelab.games: line3 = "line3:LineThree"`, after which every gamelab command knows the game "line3".

Dimension letters: B games, A = N*N actions (cells), C = 3 planes, H = W = N (option `size`, 3..6, default 4).

Rules: players alternate, player 0 first, each placing one stone on an empty cell. Three stones of one player in an
unbroken row, column or diagonal win at once; a full board without such a line is a draw.
Actions: the cell a = r * N + c, row 0 at the top. No pass.
Planes (from the view of the player to move): 0 the mover's stones, 1 the opponent's, 2 all ones if the mover is
player 0. Outcome: +1 / -1 / 0 from the view of the player to move (after a win the loser is to move: -1).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from envs.base import IllegalActionError

__all__ = ["LineThree", "LineThreeState"]

K = 3  # stones in a row that win


@dataclass(frozen=True)
class LineThreeState:
    """Batched positions; every field has leading dim B."""

    board: Tensor  # int8 [B, N*N]: 0 empty, 1 player 0's stone, 2 player 1's stone
    player: Tensor  # long [B]: player to move
    moves: Tensor  # long [B]: moves played
    last_action: Tensor  # long [B]: last cell played, -1 at the start
    done: Tensor  # bool [B]
    winner: Tensor  # long [B]: -1 none or draw, else 0 or 1


def _turn(x: Tensor, k: int, flip: bool) -> Tensor:
    """Rotate the last two dims by k quarter turns, then mirror left-right if `flip`."""
    x = torch.rot90(x, k, dims=(-2, -1)) if k else x
    return torch.flip(x, dims=(-1,)) if flip else x


class LineThree:
    """Batched Line3 on tensors (CPU or CUDA).

    Args:
        size: the board is size x size cells (3..6).
    """

    id = "line3_v0"
    name = "line3"
    pass_action = None

    def __init__(self, size: int = 4) -> None:
        if not 3 <= int(size) <= 6:
            raise ValueError(f"line3: size {size!r} must be 3..6")
        n = int(size)
        self.options: dict[str, Any] = {"size": n}
        self.board_shape = (n, n)
        self.planes_shape = (3, n, n)
        self.num_actions = n * n
        self.max_moves = n * n
        lines = []  # every window of K cells in a row, column or diagonal
        for r in range(n):
            for c in range(n):
                for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                    cells = [(r + i * dr, c + i * dc) for i in range(K)]
                    if all(0 <= y < n and 0 <= x < n for y, x in cells):
                        lines.append([y * n + x for y, x in cells])
        self._lines = torch.tensor(lines, dtype=torch.long)  # [L, K]

    # rules -------------------------------------------------------------------------------------------------------

    def init(self, batch: int, device: str | torch.device = "cpu") -> LineThreeState:
        """B empty boards, player 0 to move."""
        zeros = torch.zeros(batch, dtype=torch.long, device=device)
        return LineThreeState(
            board=torch.zeros(batch, self.num_actions, dtype=torch.int8, device=device),
            player=zeros,
            moves=zeros.clone(),
            last_action=torch.full((batch,), -1, dtype=torch.long, device=device),
            done=torch.zeros(batch, dtype=torch.bool, device=device),
            winner=torch.full((batch,), -1, dtype=torch.long, device=device),
        )

    def legal_mask(self, state: LineThreeState) -> Tensor:
        """BoolTensor[B, A]: the empty cells of live games."""
        return (state.board == 0) & ~state.done[:, None]

    def step(self, state: LineThreeState, action: Any, *, check: bool = True) -> LineThreeState:
        """Play one action per game; finished games ignore theirs. IllegalActionError (with check) names the game."""
        b, device = state.player.shape[0], state.player.device
        a = torch.as_tensor(action, device=device).long()
        a = a.expand(b) if a.dim() == 0 else a
        if a.shape != (b,):
            raise IllegalActionError(f"expected actions of shape ({b},), got {tuple(a.shape)}")
        in_range = (a >= 0) & (a < self.num_actions)
        cell = a.clamp(0, self.num_actions - 1)
        empty = state.board.gather(1, cell[:, None])[:, 0] == 0
        live = ~state.done
        ok = live & in_range & empty
        if check and bool((live & ~ok).any()):
            i = int((live & ~ok).nonzero()[0, 0])
            raise IllegalActionError(f"line3: game {i}: action {int(a[i])} is illegal or out of range")
        stone = (state.player + 1).to(torch.int8)
        board = state.board.clone()
        board[ok, cell[ok]] = stone[ok]
        mine = board[:, self._lines.to(device)] == stone[:, None, None]  # [B, L, K]
        won = ok & mine.all(-1).any(-1)
        full = ok & ~(board == 0).any(1)
        return LineThreeState(
            board=board,
            player=torch.where(ok, 1 - state.player, state.player),
            moves=state.moves + ok.long(),
            last_action=torch.where(ok, a, state.last_action),
            done=state.done | won | full,
            winner=torch.where(won, state.player, state.winner),
        )

    def outcome(self, state: LineThreeState) -> tuple[Tensor, Tensor]:
        """(done BoolTensor[B], value FloatTensor[B] in {-1, 0, +1} for the player to move)."""
        value = torch.where(state.winner < 0, 0.0, torch.where(state.winner == state.player, 1.0, -1.0))
        return state.done.clone(), value.float()

    def planes(self, state: LineThreeState) -> Tensor:
        """FloatTensor[B, 3, N, N] from the view of the player to move."""
        b = state.player.shape[0]
        n = self.board_shape[0]
        board = state.board.view(b, n, n).long()
        mine = board == (state.player + 1)[:, None, None]
        theirs = (board != 0) & ~mine
        first = (state.player == 0)[:, None, None].expand(b, n, n)
        return torch.stack([mine, theirs, first], 1).float()

    def symmetries(self) -> list[tuple[Any, Tensor]]:
        """The 8 symmetries of the square: (plane transform, action permutation), identity first."""
        n = self.board_shape[0]
        cells = torch.arange(n * n).view(n, n)
        out = []
        for flip in (False, True):
            for k in range(4):
                fn = functools.partial(_turn, k=k, flip=flip)
                out.append((fn, fn(cells).reshape(-1)))
        return out

    # drawing ------------------------------------------------------------------------------------------------------

    def _cell(self, size: tuple[int, int]) -> tuple[float, float, float]:
        """(left, top, cell side) of the board centred in a surface of `size`."""
        n = self.board_shape[0]
        side = min(size) / n
        return (size[0] - side * n) / 2, (size[1] - side * n) / 2, side

    def action_rect(self, action: int, size: tuple[int, int]) -> Any:
        """The pygame.Rect of cell `action` in a picture of `size`, or None if off the board."""
        import pygame

        n = self.board_shape[0]
        if not 0 <= int(action) < n * n:
            return None
        x0, y0, side = self._cell(size)
        r, c = divmod(int(action), n)
        return pygame.Rect(round(x0 + c * side), round(y0 + r * side), round(side), round(side))

    def action_at(self, pos: tuple[int, int], size: tuple[int, int]) -> int | None:
        """The cell under pixel `pos`, or None."""
        n = self.board_shape[0]
        x0, y0, side = self._cell(size)
        c, r = int((pos[0] - x0) // side), int((pos[1] - y0) // side)
        return r * n + c if 0 <= r < n and 0 <= c < n else None

    def draw(self, surface: Any, state: LineThreeState, i: int) -> None:
        """Draw game i: a grid of cells, dark stones for player 0, light for player 1, the last stone ringed."""
        import pygame

        size = surface.get_size()
        surface.fill((214, 176, 110))
        last = int(state.last_action[i])
        for a, v in enumerate(state.board[i].tolist()):
            rect = self.action_rect(a, size)
            pygame.draw.rect(surface, (60, 40, 20), rect, 1)
            if v:
                color = (25, 25, 25) if v == 1 else (240, 240, 240)
                radius = int(rect.width * 0.4)
                pygame.draw.circle(surface, color, rect.center, radius)
                if a == last:
                    pygame.draw.circle(surface, (200, 40, 40), rect.center, radius, max(1, rect.width // 12))
