"""Exact short tactics at expansion: an evaluator wrapper that corrects a leaf's prior and value where a win or a loss
is certain within two plies.

At each position the search evaluates (the root and every new node), with depth 1: where the player to move has a
move that wins at once, the value is +1 (a proven win) and the prior keeps only the winning moves. With depth 2,
where it has none: a move after which the opponent can win at once loses for sure, so the prior drops it while some
move does not; where every move does, the value is -1 (a proven loss). Must-block moves, the cell under an opponent's
threat and double threats are caught this way without the network. The moves that win at once come from the game's
trait `immediate_wins` (envs.traits); where a game has none, each legal move is stepped and its outcome read, which
costs [B * A] steps a check (and [B * A * A] for depth 2), so the default depth is the game's `tactics_depth` (0 for
games with many moves).

Dimension letters: B positions, A actions.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from envs import state as state_ops
from envs import traits
from envs.base import Game

__all__ = ["tactical", "losing_moves"]


def losing_moves(game: Game, state: Any, legal: Tensor, wins_of: Any = None) -> Tensor:
    """BoolTensor[B, A]: legal moves after which the opponent (the player to move next, when it is not the mover)
    has a move that wins at once."""
    wins_of = wins_of or traits.immediate_wins(game)
    b, a = legal.shape
    dev = legal.device
    rep = state_ops.take(state, torch.arange(b, device=dev).repeat_interleave(a))
    child = game.step(rep, torch.arange(a, device=dev).repeat(b), check=False)
    done, _ = game.outcome(child)
    opp_wins = wins_of(child).any(-1) & ~done & (child.player != rep.player)
    return opp_wins.view(b, a) & legal


def tactical(game: Game, evaluate: Any, depth: int) -> Any:
    """The evaluator `evaluate` (agents.mcts.Evaluator) with the exact checks of the module docstring to `depth`
    plies (1 or 2) applied to its logits and values."""
    wins_of = traits.immediate_wins(game)

    def run(planes: Tensor, mask: Tensor, state: Any) -> tuple[Tensor, Tensor]:
        logits, value = evaluate(planes, mask, state)
        logits = logits.to(device=mask.device, dtype=torch.float32)
        value = value.to(device=mask.device, dtype=torch.float32)
        win = wins_of(state) & mask
        has_win = win.any(-1)
        logits = torch.where(has_win[:, None] & ~win, -math.inf, logits)
        value = torch.where(has_win, 1.0, value)
        if depth >= 2:
            lose = losing_moves(game, state, mask, wins_of)
            safe = mask & ~lose
            some_safe = safe.any(-1)
            logits = torch.where((~has_win & some_safe)[:, None] & lose, -math.inf, logits)
            value = torch.where(~has_win & ~some_safe & mask.any(-1), -1.0, value)
        return logits, value

    return run
