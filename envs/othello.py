"""Othello (Reversi), batched on tensors.

Two players place discs on a square board (8x8 by default, 6x6 as an option). Player 0 (black) moves first from the
standard start: four discs in the centre, white on d4/e5, black on e4/d5 (row 0 at the top). A move places a disc on
an empty cell so that it brackets one or more straight lines (in any of the 8 directions) of the opponent's discs
between the new disc and another disc of the mover; every bracketed disc is flipped. A player with no such move must
pass; the game ends when neither player can move (a full board, one colour wiped out, or both blocked).

Dimension letters: B games, A actions, N = H*W cells, D = 8 directions, L = ray length (H, the longest ray plus a
stop cell), C/H/W planes.

Actions (A = H*W + 1): a = r * W + c places a disc on row r, column c; a = H*W (`pass_action`) passes, legal only
when the player to move has no other move.

Planes (C = 2): plane 0 the discs of the player to move, plane 1 the opponent's discs.

Outcome: the player with more discs wins (+1 / -1 from the view of the player to move), equal counts draw (0). Empty
squares left at the end count for nobody.

Rules as tensor ops: for every cell and each of the 8 directions a precomputed table lists the cells of the ray out
from it (padded with an always-empty stop cell); the length of the run of opponent discs along a ray is the index of
its first non-opponent cell (argmax), and the ray flips when that cell is the mover's. Legal masks for all cells and a
move's flips are both gathers over these tables, for the whole batch at once.

Version history:
    othello_v0: first version.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import torch
from torch import Tensor

from envs.base import Symmetry, as_actions, check_actions, dihedral_symmetries, grid_action_at, grid_rect, outcome_value
from envs.draw import COLORS, draw_cell_grid, draw_last_move, draw_stone, fill_background
from envs.state import where
from envs.traits import OptionSpec

__all__ = ["Othello", "OthelloState"]

_DIRECTIONS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def _as_int64(v: int) -> int:
    """A 64-bit pattern as the value of a signed int64 (bit 63 is the sign bit)."""
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >= 1 << 63 else v


def _bit_shifts(size: int) -> list[tuple[int, int, int]]:
    """Per direction of _DIRECTIONS on a row-major bitboard: (bit offset k, the cells that may move that way
    without wrapping around a row, the mask that clears the sign bits an arithmetic right shift drags in)."""
    full = (1 << size * size) - 1
    west = sum(1 << (r * size) for r in range(size))
    east = west << (size - 1)
    out = []
    for dr, dc in _DIRECTIONS:
        k = dr * size + dc
        keep = full & ~(east if dc == 1 else west if dc == -1 else 0)
        out.append((k, _as_int64(keep), _as_int64((1 << (64 - abs(k))) - 1)))
    return out


@dataclasses.dataclass(frozen=True)
class OthelloState:
    """A batch of Othello positions.

    Fields:
        board: Int8Tensor[B, N], +1 black (player 0), -1 white (player 1), 0 empty; row-major cells.
        player: LongTensor[B], the player to move (0 black, 1 white).
        moves: LongTensor[B], moves played (passes included).
        last_action: LongTensor[B], the previous action (-1 at the start).
        legal: BoolTensor[B, A], legal actions of the player to move (all False when done).
        done: BoolTensor[B], game over.
        winner: LongTensor[B], 0 or 1 when done with a winner, -1 otherwise (draw or not over).
    """

    board: Tensor
    player: Tensor
    moves: Tensor
    last_action: Tensor
    legal: Tensor
    done: Tensor
    winner: Tensor


class Othello:
    """Othello on a size x size board (size 8 or 6); see the module docstring for the rules and encodings."""

    def __init__(self, size: int = 8) -> None:
        if size not in (6, 8):
            raise ValueError(f"othello: size must be 6 or 8, got {size}")
        self.size = size
        self.name = "othello"
        self.id = "othello_v0"
        self.options = {"size": size}
        n = size * size
        self.num_cells = n
        self.num_actions = n + 1
        self.pass_action = n
        self.board_shape = (size, size)
        self.planes_shape = (2, size, size)
        # Every pass is followed by a disc (a pass is only forced when the opponent can move), so at most
        # 2 * (N - 4) moves.
        self.max_moves = 2 * (n - 4)
        self._rays_cpu = _ray_table(size)  # [N + 1, D, L]; row N (the pass) is all stop cells
        self._shifts = _bit_shifts(size)
        self._cache: dict[torch.device, Tensor] = {}

    def _rays(self, device: torch.device) -> Tensor:
        if device not in self._cache:
            self._cache[device] = self._rays_cpu.to(device)
        return self._cache[device]

    # ---- rules ----

    def init(self, batch: int, device: str | torch.device = "cpu") -> OthelloState:
        """The start position, repeated `batch` times, on `device`."""
        device = torch.device(device)
        s, n = self.size, self.num_cells
        board = torch.zeros(batch, n, dtype=torch.int8, device=device)
        m = s // 2
        board[:, (m - 1) * s + m - 1] = -1
        board[:, m * s + m] = -1
        board[:, (m - 1) * s + m] = 1
        board[:, m * s + m - 1] = 1
        zeros = torch.zeros(batch, dtype=torch.long, device=device)
        return self._settle(board, zeros, zeros, torch.full_like(zeros, -1))

    def position(self, board: Tensor, player: Tensor) -> OthelloState:
        """A state from discs on the board (for puzzles, tests and replays).

        Args:
            board: IntTensor[B, H, W] or [B, N] with +1 black, -1 white, 0 empty.
            player: LongTensor[B], the player to move.
        Returns:
            the positions, with legal moves, forced passes and game end worked out (moves counted from 0).
        """
        b = board.shape[0]
        board = board.reshape(b, self.num_cells).to(torch.int8)
        player = torch.as_tensor(player, device=board.device).long().expand(b)
        zeros = torch.zeros(b, dtype=torch.long, device=board.device)
        return self._settle(board, player, zeros, torch.full_like(zeros, -1))

    def step(self, state: OthelloState, action: Any, *, check: bool = True) -> OthelloState:
        """Play one action in every game of the batch.

        Args:
            state: B positions.
            action: LongTensor[B] (or anything `as_actions` reads); ignored for finished games.
            check: raise IllegalActionError on an out-of-range or illegal action of a live game. With
                check=False illegal actions are not detected (the result is unspecified but never an exception).
        Returns:
            the B positions after the move (a new state; `state` is left untouched).
        """
        b, n = state.board.shape
        device = state.board.device
        action = as_actions(action, b, device)
        if check:
            check_actions(self.name, action, state.legal, ~state.done)
        a = action.clamp(0, n)  # [B]; n is the pass
        sign = (1 - 2 * state.player).to(torch.int8)  # [B], +1 when black moves
        rel = state.board * sign[:, None]  # [B, N], mover's discs +1
        ext = torch.cat([rel, rel.new_zeros(b, 1)], 1)  # [B, N + 1], cell N is the stop cell
        rays = self._rays(device)[a]  # [B, D, L]
        idx = rays.view(b, -1)
        vals = ext.gather(1, idx).view(rays.shape)  # [B, D, L]
        flip = _bracketed(vals)  # [B, D, L]
        new = vals.masked_fill(flip, 1).view(b, -1)
        ext = ext.scatter(1, idx, new)
        ext = ext.scatter(1, a[:, None], torch.ones_like(a[:, None], dtype=ext.dtype))  # the disc (pass: stop cell)
        board = ext[:, :n] * sign[:, None]
        new_state = self._settle(board, 1 - state.player, state.moves + 1, a)
        return where(state.done, state, new_state)

    def _settle(self, board: Tensor, player: Tensor, moves: Tensor, last_action: Tensor) -> OthelloState:
        """The state with `player` to move on `board`: legal moves, the forced pass, game end and winner."""
        b = board.shape[0]
        sign = (1 - 2 * player).to(torch.int8)
        rel = board * sign[:, None]  # [B, N], the player to move +1
        # legal moves of the player to move and, in case it must pass, of the other one, in one batched call
        both = self._legal_cells(torch.cat([rel, -rel], 0))  # [2B, N]
        own_moves, other_moves = both[:b], both[b:]
        own_can, other_can = own_moves.any(1), other_moves.any(1)
        done = (~own_can & ~other_can) | (moves >= self.max_moves)
        legal = torch.cat([own_moves, (~own_can & other_can)[:, None]], 1) & ~done[:, None]
        diff = board.sum(1, dtype=torch.long)  # [B], black minus white
        winner = torch.where(diff > 0, 0, torch.where(diff < 0, 1, -1))
        return OthelloState(
            board=board,
            player=player,
            moves=moves,
            last_action=last_action,
            legal=legal,
            done=done,
            winner=torch.where(done, winner, -1),
        )

    def _legal_cells(self, rel: Tensor) -> Tensor:
        """BoolTensor[B, N]: cells where the player whose discs are +1 in `rel` (Int8Tensor[B, N]) may play.

        Bitboards (one int64 per side, N <= 64): from the mover's discs, flood through runs of opponent discs in each
        of the 8 directions (size - 3 steps); an empty cell right after a run is a move.
        """
        b, n = rel.shape
        cells = torch.arange(n, device=rel.device)
        bits = torch.ones(n, dtype=torch.long, device=rel.device) << cells  # [N]
        own = ((rel == 1).long() * bits).sum(1)  # [B]; the bits are disjoint, so the sum is their union
        opp = ((rel == -1).long() * bits).sum(1)
        empty = ~(own | opp) & _as_int64((1 << n) - 1)
        moves = torch.zeros_like(own)
        for k, keep, low in self._shifts:

            def shift(x: Tensor, k: int = k, keep: int = keep, low: int = low) -> Tensor:
                x = x & keep
                return (x << k) if k > 0 else (x >> -k) & low

            run = shift(own) & opp
            for _ in range(self.size - 3):
                run = run | (shift(run) & opp)
            moves = moves | (shift(run) & empty)
        return ((moves[:, None] >> cells) & 1).bool()

    def legal_mask(self, state: OthelloState) -> Tensor:
        """BoolTensor[B, A] of legal actions (all False for finished games)."""
        return state.legal

    def outcome(self, state: OthelloState) -> tuple[Tensor, Tensor]:
        """(done BoolTensor[B], value FloatTensor[B] in {-1, 0, 1} for the player to move, 0 when not done)."""
        return outcome_value(state.done, state.winner, state.player)

    def planes(self, state: OthelloState) -> Tensor:
        """FloatTensor[B, 2, H, W]: discs of the player to move, then the opponent's."""
        sign = (1 - 2 * state.player).to(torch.int8)
        rel = (state.board * sign[:, None]).view(-1, 1, *self.board_shape)
        return torch.cat([rel == 1, rel == -1], 1).float()

    def symmetries(self) -> list[Symmetry]:
        """The 8 symmetries of the square (identity first); the pass maps to itself."""
        return dihedral_symmetries(self.size, self.size, extra_actions=1)

    # ---- drawing ----

    def draw(self, surface: Any, state: OthelloState, i: int) -> None:
        """Draw game i of `state` on a pygame surface: green board, grid, discs, a ring around the last move."""
        size = surface.get_size()
        fill_background(surface, COLORS["green"])
        draw_cell_grid(surface, self.board_shape)
        board = state.board[i].tolist()
        for a, v in enumerate(board):
            if v:
                draw_stone(surface, grid_rect(a, size, self.board_shape), COLORS["black"] if v > 0 else COLORS["white"])
        last = int(state.last_action[i])
        if 0 <= last < self.num_cells:
            draw_last_move(surface, grid_rect(last, size, self.board_shape))

    def action_rect(self, action: int, size: tuple[int, int]) -> Any:
        """The pygame.Rect of the cell of `action` on a surface of `size`; None for the pass."""
        return grid_rect(action, size, self.board_shape)

    def action_at(self, pos: tuple[int, int], size: tuple[int, int]) -> int | None:
        """The cell action under pixel `pos`, or None outside the board."""
        return grid_action_at(pos, size, self.board_shape)

    # traits (envs.traits) ---------------------------------------------------------------------------------------

    side_names = ("black", "white")
    legal_marks = True  # few legal moves, and not obvious ones
    frame_color = (22, 86, 44)
    option_specs = {"size": OptionSpec(int, 8, choices=(6, 8), help="board size (6 or 8)")}

    def score_lines(self, state: OthelloState, i: int) -> list[str]:
        """The disc count of game i."""
        board = state.board[i]
        return [f"discs: black {int((board > 0).sum())}, white {int((board < 0).sum())}"]

    def heuristic(self, state: OthelloState) -> Tensor:
        """FloatTensor[B] in (-1, 1): corner and edge square weights plus mobility, for the player to move."""
        h, w = self.board_shape
        planes = self.planes(state)
        own, opp = planes[:, 0].reshape(-1, h * w), planes[:, 1].reshape(-1, h * w)
        wt = _square_weights(h).to(own.device)
        positional = ((own - opp) * wt).sum(-1)
        legal = self.legal_mask(state)
        if self.pass_action is not None:
            legal = legal.clone()
            legal[:, self.pass_action] = False
        mobility = legal.sum(-1).float()
        return torch.tanh(0.15 * positional + 0.1 * mobility)


def _runs(vals: Tensor) -> tuple[Tensor, Tensor]:
    """Opponent runs along rays.

    Args:
        vals: Int8Tensor[..., L] ray cell values (mover +1, opponent -1, empty and stop cells 0).
    Returns:
        (run LongTensor[...], the number of opponent discs before the first other cell;
         ok BoolTensor[...], the run is non-empty and ends on a mover's disc, so it flips).
    """
    run = (vals != -1).to(torch.uint8).argmax(-1)  # first non-opponent cell (argmax returns the first maximum)
    end = vals.gather(-1, run.unsqueeze(-1)).squeeze(-1)
    return run, (run > 0) & (end == 1)


def _bracketed(vals: Tensor) -> Tensor:
    """BoolTensor[..., L]: the ray cells that flip, given ray values Int8Tensor[..., L] (mover +1, stop cells 0)."""
    run, ok = _runs(vals)
    pos = torch.arange(vals.shape[-1], device=vals.device)
    return (pos < run.unsqueeze(-1)) & ok.unsqueeze(-1)


def _ray_table(size: int) -> Tensor:
    """LongTensor[N + 1, D, L]: the cells along each ray out of each cell, padded with the stop cell N.

    L = size: the longest ray has size - 1 cells, and one more stop cell guarantees that every run ends.
    Row N (the pass, or the stop cell itself) is all stop cells, so it flips nothing.
    """
    n = size * size
    table = torch.full((n + 1, len(_DIRECTIONS), size), n, dtype=torch.long)
    for r in range(size):
        for c in range(size):
            for d, (dr, dc) in enumerate(_DIRECTIONS):
                for j in range(1, size):
                    rr, cc = r + j * dr, c + j * dc
                    if not (0 <= rr < size and 0 <= cc < size):
                        break
                    table[r * size + c, d, j - 1] = rr * size + cc
    return table


@functools.lru_cache(maxsize=8)
def _square_weights(n: int) -> Tensor:
    """FloatTensor[n * n]: the heuristic's square weights (corners 5, edges 1, X squares -2, C squares -1)."""
    wt = torch.zeros(n, n)
    wt[0, :] = wt[-1, :] = wt[:, 0] = wt[:, -1] = 1.0
    for r, c in ((0, 0), (0, n - 1), (n - 1, 0), (n - 1, n - 1)):
        wt[r, c] = 5.0
        dr, dc = (1 if r == 0 else -1), (1 if c == 0 else -1)
        wt[r + dr, c + dc] = -2.0  # X squares
        wt[r, c + dc] = wt[r + dr, c] = -1.0  # C squares
    return wt.reshape(-1)
