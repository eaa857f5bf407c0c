"""Alpha-beta to a fixed depth with a simple heuristic (agents.heuristics): the `alphabeta:K` baseline.

Negamax with alpha-beta pruning and move ordering by the children's static values, plus one batched shortcut: a
subtree whose full width is small (about legal moves ** depth <= `batch_leaves`) is searched full-width in a few
batched tensor calls (one `game.step` per level for all its nodes, values backed up with scatter-max). Both give the
exact depth-limited minimax value, so the move chosen is the same; the shortcut only trades pruning for fewer
Python-level calls. At the root every move's value is exact up to ties, and ties are broken at random (seeded),
which gives varied games between deterministic players. On wide boards (more than `max_width` legal moves: hex,
gomoku, go, some othello positions) the search is forward-pruned to the best moves by static value (see
AlphaBetaPlayer); there depth 3 and more is slow on large boards (seconds to minutes per move on one core), and
`think` can be stopped at any node, returning the deepest finished depth's choice.

Values are from the view of the player to move: a finished game scores outcome * (WIN - plies from the root), so
a quicker win and a later loss are preferred; an unfinished leaf scores the game's heuristic in (-1, 1).

Dimension letters: B games, A actions, N nodes of a batched subtree.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from agents.heuristics import heuristic
from envs import state as state_ops
from envs.base import Game

__all__ = ["WIN", "AlphaBetaPlayer", "negamax_values"]

WIN = 1000.0  # magnitude of a won / lost terminal value (minus the plies to reach it)
HINT_SHARPNESS = 14.0  # info["policy"] = softmax(values * this): a move 0.05 better (50 cp in chess) is twice as likely
CHUNK = 1024  # rows stepped at once by a batched subtree under a clock (about 20 ms of chess on one core)
WIDE = 4  # a batched subtree may grow to WIDE * batch_leaves positions a level (its width is guessed at its root)


def _static(game: Game, state: Any, ply: int | Tensor) -> Tensor:
    """Terminal value (outcome * (WIN - ply)) where done, else the heuristic; [B], player-to-move view."""
    done, outcome = game.outcome(state)
    return torch.where(done, outcome.float() * (WIN - ply), heuristic(game, state))


def negamax_values(
    game: Game,
    state: Any,
    depth: int,
    ply: int = 0,
    *,
    should_stop: Callable[[], bool] | None = None,
    max_nodes: int | None = None,
) -> Tensor:
    """Exact depth-limited negamax value of every row, by full-width batched expansion (no pruning).

    The levels are expanded in chunks of CHUNK rows, so that a search under a clock can stop between two chunks.

    Args:
        game: a game of the envs protocol.
        state: State [N].
        depth: plies to look ahead (0: the static value).
        ply: plies from the search root to `state` (for the terminal values).
        should_stop: checked before every chunk; when it turns true the search raises _Stopped.
        max_nodes: the most positions one level may hold; a wider level raises _TooWide before it is stepped (the
            caller searches with pruning instead).
    Returns:
        FloatTensor[N], from the view of the player to move in each row.
    """
    levels, links = [state], []
    cur = state
    for _ in range(depth):
        legal = _chunked(lambda part: game.legal_mask(part), cur, should_stop)
        r, a = legal.nonzero(as_tuple=True)
        if r.numel() == 0:
            break
        if max_nodes is not None and r.numel() > max_nodes:
            raise _TooWide
        parents = state_ops.take(cur, r)
        cur = _chunked_step(game, parents, a, should_stop)
        levels.append(cur)
        links.append(r)
    values = _chunked(lambda part: _static(game, part, ply + len(links)), levels[-1], should_stop)
    for d in range(len(links) - 1, -1, -1):
        parent, child, r = levels[d], levels[d + 1], links[d]
        v = torch.where(child.player == parent.player[r], values, -values)
        n = parent.player.shape[0]
        best = torch.full((n,), -math.inf, device=v.device).scatter_reduce(0, r, v, "amax")
        has_child = torch.bincount(r, minlength=n) > 0
        values = torch.where(has_child, best, _static(game, parent, ply + d))
    return values


def _chunked(fn: Callable[[Any], Tensor], state: Any, should_stop: Callable[[], bool] | None) -> Tensor:
    """fn over the rows of `state` in chunks of CHUNK rows, concatenated; raises _Stopped between chunks."""
    n = state.player.shape[0]
    if should_stop is None or n <= CHUNK:
        if should_stop is not None and should_stop():
            raise _Stopped
        return fn(state)
    parts = []
    for lo in range(0, n, CHUNK):
        if should_stop():
            raise _Stopped
        parts.append(fn(state_ops.take(state, slice(lo, lo + CHUNK))))
    return torch.cat(parts)


def _chunked_step(game: Game, state: Any, actions: Tensor, should_stop: Callable[[], bool] | None) -> Any:
    """game.step of every row, in chunks of CHUNK rows when a clock is running; raises _Stopped between chunks."""
    n = state.player.shape[0]
    if should_stop is None or n <= CHUNK:
        if should_stop is not None and should_stop():
            raise _Stopped
        return game.step(state, actions, check=False)
    parts = []
    for lo in range(0, n, CHUNK):
        if should_stop():
            raise _Stopped
        part = slice(lo, lo + CHUNK)
        parts.append(game.step(state_ops.take(state, part), actions[part], check=False))
    return state_ops.cat(parts)


def _expand(game: Game, state1: Any) -> tuple[Tensor, Any]:
    """(legal actions [k], children State [k]) of a batch-of-one state."""
    actions = game.legal_mask(state1)[0].nonzero()[:, 0]
    rows = torch.zeros_like(actions)
    return actions, game.step(state_ops.take(state1, rows), actions, check=False)


def _tree_size(game: Game, legal: int, depth: int) -> int:
    """Estimated leaves of a full-width search: legal ** depth, or the falling product legal * (legal - 1) * ...
    in games where every move fills one of the empty cells, which are the legal moves."""
    shrink = 1 if getattr(game, "fills_cells", False) else 0
    size = 1
    for i in range(depth):
        size *= max(legal - shrink * i, 1)
    return size


def _moves_left(game: Game, state: Any) -> int:
    """Upper bound on the plies left in any row (bounds the full width of a search)."""
    return max(int(game.max_moves - state.moves.min()), 0)


@dataclass(frozen=True)
class _Limits:
    budget: int  # most full-width leaves searched in one batched call
    max_width: int  # wide nodes: only this many best children (by static value) are searched below the root
    should_stop: Callable[[], bool] | None = None


class _Stopped(Exception):
    """Raised inside a search when should_stop() turns true."""


class _TooWide(Exception):
    """Raised by negamax_values when a level would hold more than max_nodes positions."""


def _ordered_children(game: Game, s1: Any, ply: int) -> tuple[Tensor, Any, Tensor, list[bool], list[bool]]:
    """(actions [k], children [k], static values in s1's mover view [k], same mover [k], finished [k]), with the
    children sorted best first."""
    actions, children = _expand(game, s1)
    same = children.player == s1.player[0]
    static = _static(game, children, ply + 1)
    key = torch.where(same, static, -static)
    order = key.argsort(descending=True)
    children = state_ops.take(children, order)
    return actions[order], children, key[order], same[order].tolist(), game.outcome(children)[0].tolist()


def _batched(game: Game, state: Any, depth: int, ply: int, lim: _Limits) -> Tensor:
    """negamax_values under the limits: stoppable, and at most WIDE * budget positions a level."""
    return negamax_values(game, state, depth, ply, should_stop=lim.should_stop, max_nodes=WIDE * max(lim.budget, 1))


def _alphabeta(game: Game, s1: Any, depth: int, alpha: float, beta: float, ply: int, lim: _Limits) -> float:
    """Negamax alpha-beta value of a batch-of-one state (player-to-move view)."""
    if lim.should_stop is not None and lim.should_stop():
        raise _Stopped
    done = bool(game.outcome(s1)[0][0])
    legal = int(game.legal_mask(s1).sum())
    if done or depth <= 0 or legal == 0:
        return float(_static(game, s1, ply)[0])
    wide = legal > lim.max_width
    if (depth == 1 or not wide) and _tree_size(game, legal, min(depth, _moves_left(game, s1))) <= lim.budget:
        try:
            return float(_batched(game, s1, depth, ply, lim)[0])
        except _TooWide:
            pass  # wider below than at this node (a check at the root of the subtree): search it with pruning
    _, children, key, same, child_done = _ordered_children(game, s1, ply)
    best = -math.inf
    for i in range(min(legal, lim.max_width)):
        if child_done[i]:
            v = float(key[i])
        elif same[i]:
            v = _alphabeta(game, state_ops.take(children, i), depth - 1, alpha, beta, ply + 1, lim)
        else:
            v = -_alphabeta(game, state_ops.take(children, i), depth - 1, -beta, -alpha, ply + 1, lim)
        best = max(best, v)
        alpha = max(alpha, v)
        if alpha >= beta:
            break
    return best


def _root_values(game: Game, state: Any, depth: int, lim: _Limits) -> Tensor:
    """Value of every legal root move of every row ([B, A], -inf where illegal; mover's view).

    Values equal to a row's best are exact; lower ones may be upper bounds (pruned). Raises _Stopped."""
    b, a = state.player.shape[0], game.num_actions
    legal = game.legal_mask(state)
    out = torch.full((b, a), -math.inf, device=legal.device)
    width = max(int(legal.sum(-1).max()) if b else 1, 1)
    per_row = _tree_size(game, width, max(min(depth, _moves_left(game, state)), 1))
    if per_row <= lim.budget and (depth <= 2 or width <= lim.max_width):  # whole rows at once, full width
        chunk = max(1, lim.budget // per_row)
        try:
            for lo in range(0, b, chunk):
                part = state_ops.take(state, slice(lo, lo + chunk))
                r, act = game.legal_mask(part).nonzero(as_tuple=True)
                if r.numel() == 0:
                    continue
                children = game.step(state_ops.take(part, r), act, check=False)
                v = _batched(game, children, depth - 1, 1, lim)
                v = torch.where(children.player == part.player[r], v, -v)
                out[lo + r, act] = v
            return out
        except _TooWide:
            out.fill_(-math.inf)  # wider below than at the root: search row by row with pruning
    for row in range(b):
        s1 = state_ops.take(state, row)
        if bool(game.outcome(s1)[0][0]):
            continue
        actions, children, key, same, child_done = _ordered_children(game, s1, 0)
        best = -math.inf
        wide = len(child_done) > lim.max_width and depth >= 3
        for i in range(min(2 * lim.max_width, len(child_done)) if wide else len(child_done)):
            if child_done[i] or depth <= 1:
                v = float(key[i])
            else:
                alpha = best - 1e-6 if best > -math.inf else -math.inf  # keep ties with the best exact
                c = state_ops.take(children, i)
                if same[i]:
                    v = _alphabeta(game, c, depth - 1, alpha, math.inf, 1, lim)
                else:
                    v = -_alphabeta(game, c, depth - 1, -math.inf, -alpha, 1, lim)
            out[row, int(actions[i])] = v
            best = max(best, v)
    return out


class AlphaBetaPlayer:
    """Alpha-beta (negamax) to a fixed depth with the game's heuristic; random choice among equally good moves.

    Args:
        depth: plies searched (>= 1).
        seed: seeds the tie-breaking.
        batch_leaves: subtrees up to this many full-width leaves are searched batched (see module docstring).
        max_width: below the root, a node with more legal moves than this searches only its `max_width` best
            children by static value, and the root of a search of depth 3 or more its 2 * `max_width` best (forward
            pruning, for wide boards such as hex, gomoku and go; it never applies to tic-tac-toe or connect four,
            where the search stays exact).
    Attributes:
        name ("alphabeta:K"), settings ({"depth": K}, for records), checkpoint (None), info after each call:
        {"value": [B] in [-1, 1] (mover's view; +-1 for a proven result), "policy": [B, A] softmax of the root move
        values (for hints), "scores": [B, A]}.
    """

    def __init__(self, depth: int, seed: int = 0, batch_leaves: int = 20000, max_width: int = 16):
        if depth < 1:
            raise ValueError(f"alpha-beta depth must be at least 1, got {depth}")
        self.depth = depth
        self.batch_leaves = batch_leaves
        self.max_width = max_width
        self.name = f"alphabeta:{depth}"
        self.checkpoint = None
        self.settings = {"depth": depth}
        self.generator = torch.Generator().manual_seed(seed)
        self.info: dict | None = None

    def _choose(self, game: Game, state: Any, depth: int, should_stop: Callable[[], bool] | None = None) -> Tensor:
        lim = _Limits(self.batch_leaves, self.max_width, should_stop)
        with torch.no_grad():
            scores = _root_values(game, state, depth, lim)  # [B, A]
        best = scores.amax(-1, keepdim=True)
        tie = torch.isfinite(scores) & (scores >= best - 1e-6)
        u = torch.rand(scores.shape, generator=self.generator).to(scores.device)
        action = torch.where(tie, u, -1.0).argmax(-1)
        value = best[:, 0].nan_to_num(0.0, posinf=0.0, neginf=0.0)
        value = torch.where(value.abs() >= 1.0, value.sign(), value)
        finite = torch.where(torch.isfinite(scores), scores.clamp(-WIN, WIN), -math.inf)
        logits = torch.where(finite.abs() >= 1.0, finite.sign() * 2 * HINT_SHARPNESS, finite * HINT_SHARPNESS)
        policy = torch.softmax(logits, -1)
        policy = torch.where(torch.isfinite(scores), policy, 0.0).nan_to_num(0.0)
        self.info = {"value": value, "policy": policy, "scores": scores}
        return action.to(state.player.device)

    def __call__(self, game: Game, state: Any) -> Tensor:
        """Returns LongTensor[B] (0 for finished games)."""
        return self._choose(game, state, self.depth)

    def close(self) -> None:
        """Nothing to release (an in-process player)."""

    def think(self, game: Game, state: Any, should_stop: Callable[[], bool], report: Callable[[float], None]) -> Tensor:
        """Iterative deepening: depth 1, 2, ..., K; reports k / K after each depth. When should_stop() turns true
        (checked between depths and at every node of the deeper searches), returns the deepest finished choice."""
        action = self._choose(game, state, 1)
        report(1 / self.depth)
        info = self.info
        for d in range(2, self.depth + 1):
            if should_stop():
                break
            try:
                action = self._choose(game, state, d, should_stop)
            except _Stopped:
                break
            info = self.info
            report(d / self.depth)
        self.info = info
        return action
