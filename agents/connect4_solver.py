"""Exact Connect Four solver and the `solver` player (perfect play).

The search is the C extension `agents._connect4_solver` (agents/_connect4_solver.c): bitboards, negamax with
alpha-beta, a transposition table and threat-based move ordering, with an iterative null-window search on the score,
after Pascal Pons' "Solving Connect 4". It is built by `pip install -e .` (or, in a source tree,
`python setup.py build_ext --inplace`).

Scores follow Pons' convention, from the view of the player to move with n stones on the board: a win with one's own
k-th stone scores 22 - k (a win at once: (43 - n) // 2), a loss to the opponent's k-th stone k - 22, a draw 0.

    from agents import connect4_solver as c4s
    c4s.solve("4453")            # 2: the score of the position after columns 4, 4, 5, 3 (1-based)
    c4s.analyze("4453")          # [score of column 1, ..., column 7] (None: full)

Positions are given as strings of 1-based column digits (the format of the test sets), lists of 0-based actions, or
rows of a batched `envs` Connect Four state. The solver is for evaluation and the `solver` player only: training and
the network players never consult it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from envs.connect_four import ConnectFour

__all__ = [
    "SolverUnavailableError",
    "available",
    "position_from_moves",
    "position_from_board",
    "has_four",
    "WIDTH",
    "HEIGHT",
    "solve",
    "analyze",
    "analyze_state",
    "reset",
    "nodes",
    "SolverPlayer",
]

WIDTH, HEIGHT = 7, 6  # of the board; a bitboard holds column c in bits c*(HEIGHT+1) .. c*(HEIGHT+1)+HEIGHT-1
_BUILD_HINT = "build it with `pip install -e .` (or `python setup.py build_ext --inplace` in a source tree)"


class SolverUnavailableError(ImportError):
    """The solver's C extension is not built."""


def _load() -> Any:
    try:
        return importlib.import_module("agents._connect4_solver")
    except ImportError as err:
        raise SolverUnavailableError(f"the connect four solver's C extension is not built: {_BUILD_HINT}") from err


def available() -> bool:
    """Whether the C extension can be loaded."""
    try:
        _load()
    except SolverUnavailableError:
        return False
    return True


Position = tuple[int, int, int]  # (stones of the player to move, all stones, number of stones) as bitboards


def position_from_moves(moves: str | Sequence[int]) -> Position:
    """Bitboards after a sequence of moves: a string of 1-based column digits or a list of 0-based columns.

    Raises:
        ValueError: a bad column, a full column, or a move after four in a row.
    """
    cols = [int(ch) - 1 for ch in moves] if isinstance(moves, str) else [int(c) for c in moves]
    current = mask = 0
    for k, c in enumerate(cols):
        if not 0 <= c < WIDTH:
            raise ValueError(f"bad connect four move {c + 1 if isinstance(moves, str) else c} at position {k}")
        if mask >> (c * (HEIGHT + 1) + HEIGHT - 1) & 1:
            raise ValueError(f"connect four column {c} is full at move {k}")
        if has_four(current ^ mask):
            raise ValueError(f"connect four game already over before move {k}")
        current ^= mask  # the other player is to move
        mask |= mask + (1 << (c * (HEIGHT + 1)))
    return current, mask, len(cols)


def position_from_board(board: Sequence[int], player: int) -> Position:
    """Bitboards of an `envs` Connect Four board: 42 cells row-major with row 0 at the top (0 empty, 1 player 0's
    disc, 2 player 1's), `player` (0 or 1) to move."""
    current = mask = 0
    for i, v in enumerate(board):
        if v:
            r, c = divmod(i, WIDTH)
            bit = 1 << (c * (HEIGHT + 1) + (HEIGHT - 1 - r))
            mask |= bit
            if v == player + 1:
                current |= bit
    return current, mask, bin(mask).count("1")


def has_four(pos: int) -> bool:
    """Whether the stones of a bitboard hold four in a row."""
    for s in (1, HEIGHT, HEIGHT + 1, HEIGHT + 2):
        m = pos & (pos >> s)
        if m & (m >> 2 * s):
            return True
    return False


def _position(pos: str | Sequence[int] | Position) -> Position:
    if isinstance(pos, tuple) and len(pos) == 3 and all(isinstance(x, int) for x in pos):
        return pos  # already bitboards
    return position_from_moves(pos)


def solve(pos: str | Sequence[int] | Position, *, max_nodes: int = 0) -> int:
    """Exact score of a position for the player to move (Pons' convention; 0 for a full board).

    Args:
        max_nodes: give up after searching this many positions (0: never).
    Raises:
        TimeoutError: the search passed `max_nodes` (what it learned so far stays in the table).
        ValueError: a malformed position or one whose game is over.
        SolverUnavailableError: the C extension is not built.
    """
    return int(_load().solve(*_position(pos), max_nodes))


def analyze(pos: str | Sequence[int] | Position, *, max_nodes: int = 0) -> list[int | None]:
    """Score of playing each column (0..6) for the player to move, None for a full column; the position's score is
    the maximum, and the optimal moves are the columns that reach it. `max_nodes` as in `solve`."""
    return list(_load().analyze(*_position(pos), max_nodes))


def analyze_state(state: Any) -> list[list[int | None] | None]:
    """Per-column scores of every row of a batched Connect Four state (None for a finished game)."""
    lib = _load()
    boards = state.board.cpu().tolist()
    players = state.player.cpu().tolist()
    done = state.done.cpu().tolist()
    return [None if d else list(lib.analyze(*position_from_board(b, p))) for b, p, d in zip(boards, players, done)]


def reset() -> None:
    """Clear the shared transposition table (and the node counter)."""
    _load().reset()


def nodes() -> int:
    """Positions searched since the last `reset`."""
    return int(_load().nodes())


class SolverPlayer:
    """Perfect Connect Four play: an optimal move (the fastest win, a draw, or the slowest loss), ties broken at
    random with the seed.

    Keeps the `agents.player.Player` contract. Attributes:
        name ("solver"), checkpoint (None), settings ({"solver": "exact"}), info after each call: {"value": [B] sign
        of the score (mover's view), "policy": [B, A] uniform over the optimal moves (for hints), "scores": [B, A]
        the exact scores (-inf where illegal)}.
    """

    def __init__(self, seed: int = 0):
        _load()
        self.name = "solver"
        self.checkpoint = None
        self.settings = {"solver": "exact"}
        self.generator = torch.Generator().manual_seed(seed)
        self.info: dict | None = None

    def __call__(self, game: Any, state: Any) -> Tensor:
        """Returns LongTensor[B] (0 for finished games)."""
        if not isinstance(game, ConnectFour):
            raise ValueError(f"the solver player plays connect four only, not {getattr(game, 'name', game)}")
        rows = analyze_state(state)
        b = len(rows)
        scores = torch.full((b, WIDTH), -float("inf"))
        for i, row in enumerate(rows):
            if row is not None:
                scores[i] = torch.tensor([-float("inf") if v is None else float(v) for v in row])
        best = scores.amax(-1, keepdim=True)
        optimal = torch.isfinite(scores) & (scores == best)
        u = torch.rand(scores.shape, generator=self.generator)
        action = torch.where(optimal, u, -1.0).argmax(-1)
        value = torch.where(torch.isfinite(best[:, 0]), best[:, 0].sign(), 0.0)
        policy = optimal.float() / optimal.float().sum(-1, keepdim=True).clamp_min(1.0)
        self.info = {"value": value, "policy": policy, "scores": scores}
        return action.to(state.player.device)

    def close(self) -> None:
        """Nothing to release (an in-process player)."""

    def think(self, game: Any, state: Any, should_stop: Callable[[], bool], report: Callable[[float], None]) -> Tensor:
        """The viewer's interface: one exact search (it cannot stop early), then progress 1."""
        action = self(game, state)
        report(1.0)
        return action
