"""Static evaluations for alpha-beta: a value in (-1, 1) of every position, from the view of the player to move.

    k-in-a-row games (tic-tac-toe, connect four, gomoku: games with a `line_length`): open lines, windows of
    `line_length` cells with stones of one side only, weighted 4 ** stones;
    othello: corner / edge square weights plus mobility;
    hex: difference of the two sides' shortest connection distance (0-1 shortest path, own stones free, empty
    cells cost 1);
    go: Tromp-Taylor area score with komi;
    chess and gardner_chess: material and mobility (agents.chess_eval);
    any other game: 0.

A game's heuristic is found by its `line_length` or by its name in `HEURISTICS` (a plain dict: add a game's here).

Dimension letters: B games, M line windows, K cells of a window, H/W board.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from agents.chess_eval import chess_heuristic
from envs.base import Game, board_lines

__all__ = ["HEURISTICS", "heuristic"]


def _line_heuristic(game: Game, state: Any) -> Tensor:
    h, w = game.board_shape
    k = game.line_length
    planes = game.planes(state)
    own, opp = planes[:, 0].reshape(-1, h * w), planes[:, 1].reshape(-1, h * w)
    win = board_lines(h, w, k).to(own.device)  # [M, K]
    n_own, n_opp = own[:, win].sum(-1), opp[:, win].sum(-1)  # [B, M]
    weight = lambda n: torch.where(n > 0, 4.0 ** (n - 1), 0.0)  # noqa: E731
    score = (torch.where(n_opp == 0, weight(n_own), 0.0) - torch.where(n_own == 0, weight(n_opp), 0.0)).sum(-1)
    return torch.tanh(score / (4.0 ** (k - 2) * 2.0))


@functools.lru_cache(maxsize=8)
def _othello_weights(n: int) -> Tensor:
    wt = torch.zeros(n, n)
    wt[0, :] = wt[-1, :] = wt[:, 0] = wt[:, -1] = 1.0
    for r, c in ((0, 0), (0, n - 1), (n - 1, 0), (n - 1, n - 1)):
        wt[r, c] = 5.0
        dr, dc = (1 if r == 0 else -1), (1 if c == 0 else -1)
        wt[r + dr, c + dc] = -2.0  # X squares
        wt[r, c + dc] = wt[r + dr, c] = -1.0  # C squares
    return wt.reshape(-1)


def _othello_heuristic(game: Game, state: Any) -> Tensor:
    h, w = game.board_shape
    planes = game.planes(state)
    own, opp = planes[:, 0].reshape(-1, h * w), planes[:, 1].reshape(-1, h * w)
    wt = _othello_weights(h).to(own.device)
    positional = ((own - opp) * wt).sum(-1)
    legal = game.legal_mask(state)
    if game.pass_action is not None:
        legal = legal.clone()
        legal[:, game.pass_action] = False
    mobility = legal.sum(-1).float()
    return torch.tanh(0.15 * positional + 0.1 * mobility)


def _hex_distance(stones: Tensor, blocked: Tensor, start: Tensor, goal: Tensor) -> Tensor:
    """Fewest empty cells to fill to join the `start` cells to the `goal` cells ([B, H, W] masks), by relaxation
    over the six hex neighbours (own stones cost 0, empty cells 1, the other side's stones block) -> [B]."""
    h, w = stones.shape[-2:]
    cost = torch.where(blocked, math.inf, torch.where(stones, 0.0, 1.0))  # [B, H, W]
    dist = torch.where(start, cost, math.inf)
    for _ in range(h * w):
        p = torch.nn.functional.pad(dist, (1, 1, 1, 1), value=math.inf)  # [B, H+2, W+2]
        up = torch.minimum(p[:, :h, 1 : w + 1], p[:, :h, 2:])  # (r-1, c), (r-1, c+1)
        side = torch.minimum(p[:, 1 : h + 1, :w], p[:, 1 : h + 1, 2:])  # (r, c-1), (r, c+1)
        down = torch.minimum(p[:, 2:, :w], p[:, 2:, 1 : w + 1])  # (r+1, c-1), (r+1, c)
        new = torch.minimum(dist, cost + torch.minimum(torch.minimum(up, side), down))
        if torch.equal(new, dist):
            break
        dist = new
    return torch.where(goal, dist, math.inf).amin((-2, -1))


def _hex_heuristic(game: Game, state: Any) -> Tensor:
    h, w = game.board_shape
    planes = game.planes(state)
    own, opp = planes[:, 0] > 0, planes[:, 1] > 0  # [B, H, W]
    rows = torch.arange(h, device=own.device)[:, None].expand(h, w)
    cols = torch.arange(w, device=own.device)[None, :].expand(h, w)
    top, bottom, left, right = rows == 0, rows == h - 1, cols == 0, cols == w - 1
    first = (state.player == 0)[:, None, None]  # the mover joins top and bottom if it moved first, else left and right
    start = torch.cat([torch.where(first, top, left), torch.where(first, left, top)])
    goal = torch.cat([torch.where(first, bottom, right), torch.where(first, right, bottom)])
    d = _hex_distance(torch.cat([own, opp]), torch.cat([opp, own]), start, goal).clamp(max=h * w)
    d_own, d_opp = d.chunk(2)
    return torch.tanh((d_opp - d_own + 0.5) / 3.0)


def _go_heuristic(game: Game, state: Any) -> Tensor:
    if not hasattr(game, "score"):
        return torch.zeros(state.player.shape[0], device=state.player.device)
    score = game.score(state).float()  # black (first player) area - white area - komi
    score = torch.where(state.player == 0, score, -score)
    return torch.tanh(score / max(game.board_shape[0], 1))


HEURISTICS: dict[str, Callable[[Game, Any], Tensor]] = {
    "othello": _othello_heuristic,
    "hex": _hex_heuristic,
    "go": _go_heuristic,
    "chess": chess_heuristic,
    "gardner_chess": chess_heuristic,
}


def heuristic(game: Game, state: Any) -> Tensor:
    """Static value in (-1, 1) of every position, from the view of the player to move (see module docstring).

    Returns:
        FloatTensor[B].
    """
    if getattr(game, "line_length", None):
        return _line_heuristic(game, state)
    fn = HEURISTICS.get(game.name)
    if fn is not None:
        return fn(game, state)
    own = getattr(game, "heuristic", None)  # the game's own evaluation (envs.traits)
    if callable(own):
        return own(state)
    return torch.zeros(state.player.shape[0], device=state.player.device)
