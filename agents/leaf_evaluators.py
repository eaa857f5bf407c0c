"""Leaf evaluators for agents.mcts.search: a uniform prior, random rollouts, or a policy-value network.

Each is an `agents.mcts.Evaluator`: (planes [B, C, H, W], mask bool [B, A], leaf states [B]) -> (logits [B, A],
value [B]), the value from the view of the player to move. The search always passes all three; the uniform and
network evaluators need only the planes and mask (their `state` defaults to None), random rollouts play on from the
states.

`network_aux_evaluator` reads a network's auxiliary heads (ownership, score; agents.network) where it has them, for
analysis (GTP's kata-analyze); the search itself never reads them.

Dimension letters: B leaves, R rollouts per leaf, A actions, C/H/W planes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from agents.heuristics import heuristic
from agents.mcts import Evaluator
from core.device import autocast
from envs import state as state_ops
from envs.base import Game, random_actions

__all__ = [
    "uniform_evaluator",
    "rollout_evaluator",
    "network_evaluator",
    "AuxEvaluator",
    "AuxSink",
    "network_aux_evaluator",
]


def uniform_evaluator(game: Game) -> Evaluator:
    """Uniform prior over the legal actions, value 0."""

    def evaluate(planes: Tensor, mask: Tensor, state: Any = None) -> tuple[Tensor, Tensor]:
        logits = torch.zeros(mask.shape, device=mask.device).masked_fill(~mask, -math.inf)
        return logits, torch.zeros(mask.shape[0], device=mask.device)

    return evaluate


def rollout_evaluator(
    game: Game,
    rollouts: int = 1,
    generator: torch.Generator | None = None,
    *,
    prior: Callable[[Any], Tensor] | None = None,
    max_plies: int | None = None,
) -> Evaluator:
    """Uniform prior (or `prior(state)` logits [B, A]); value = mean outcome of `rollouts` uniformly random playouts
    to the end of the game, or of `max_plies` plies, a playout still going then scored by the game's heuristic
    (agents.heuristics; bounds the time of one evaluation in long games such as Go).

    All playouts of all leaves are stepped together, one batched `game.step` per move.
    """
    plies = game.max_moves + 1 if max_plies is None else max_plies

    def evaluate(planes: Tensor, mask: Tensor, state: Any) -> tuple[Tensor, Tensor]:
        b = mask.shape[0]
        dev = mask.device
        start_player = state.player.repeat(rollouts)  # [R*B]
        s = state_ops.cat([state] * rollouts) if rollouts > 1 else state
        for move in range(plies):
            if move % 4 == 0:
                done, _ = game.outcome(s)
                if bool(done.all()):
                    break
            s = game.step(s, random_actions(game.legal_mask(s), generator), check=False)
        done, value = game.outcome(s)
        if max_plies is not None:
            value = torch.where(done, value.float(), heuristic(game, s).float())
        value = torch.where(s.player == start_player, value.float(), -value.float())  # leaf player's view
        logits = torch.zeros(mask.shape, device=dev) if prior is None else prior(state).float().to(dev)
        return logits.masked_fill(~mask, -math.inf), value.view(rollouts, b).mean(0)

    return evaluate


def network_evaluator(net: nn.Module, device: str | torch.device, planes_game: Any = None) -> Evaluator:
    """Evaluate with a policy-value net (no grad, eval mode, bf16 autocast on CUDA); illegal logits are -inf.

    The net is switched to eval mode for the call and back to its previous mode after it. Outputs come back on the
    device of the mask. With `planes_game` (the net's own game, where it differs from the one played only in
    options of the input planes), the planes are that game's planes of the states.
    """
    device = torch.device(device)

    def evaluate(planes: Tensor, mask: Tensor, state: Any = None) -> tuple[Tensor, Tensor]:
        if planes_game is not None and state is not None:
            planes = planes_game.planes(state)
        was_training = net.training  # switching modes walks every submodule: only when needed
        if was_training:
            net.eval()
        try:
            with torch.inference_mode(), autocast(device):
                logits, value = net(planes.to(device, non_blocking=True))
        finally:
            if was_training:
                net.train()
        logits = logits.float().to(mask.device).masked_fill(~mask, -math.inf)
        return logits, value.float().to(mask.device)

    return evaluate


AuxSink = Callable[[Tensor, dict[str, Tensor]], None]  # (planes [B, C, H, W] as given, the heads' values [B, ...])


class AuxEvaluator(Protocol):
    """(planes [B, C, H, W], states [B]) -> the auxiliary heads of a net: "ownership" [B, H*W] in [-1, 1] and/or
    "score" [B] in board points, from the view of the player to move; `heads` names those it gives.
    `searching(sink)` is the net's search Evaluator (the same logits and value as `network_evaluator`) that also
    hands each call's planes and heads to `sink`, so that a search gets them without running the net again."""

    heads: frozenset[str]

    def __call__(self, planes: Tensor, state: Any = None) -> dict[str, Tensor]: ...

    def searching(self, sink: AuxSink) -> Evaluator: ...


class _NetworkHeads:
    def __init__(self, net: nn.Module, device: torch.device, planes_game: Any, heads: frozenset[str]):
        self.net, self.device, self.planes_game, self.heads = net, device, planes_game, heads

    def _forward(self, planes: Tensor, state: Any) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """(the net's outputs, the heads' values on the device of `planes`)."""
        net_planes = self.planes_game.planes(state) if self.planes_game is not None and state is not None else planes
        was_training = self.net.training
        if was_training:
            self.net.eval()
        try:
            with torch.inference_mode(), autocast(self.device):
                out = self.net(net_planes.to(self.device, non_blocking=True), aux=True)
        finally:
            if was_training:
                self.net.train()
        got = {}
        if "ownership" in self.heads:
            got["ownership"] = torch.tanh(out["ownership"].float()).to(planes.device)
        if "score" in self.heads:
            got["score"] = out["score"].float().to(planes.device) * (planes.shape[-1] * planes.shape[-2])
        return out, got

    def __call__(self, planes: Tensor, state: Any = None) -> dict[str, Tensor]:
        return self._forward(planes, state)[1]

    def searching(self, sink: AuxSink) -> Evaluator:
        def evaluate(planes: Tensor, mask: Tensor, state: Any = None) -> tuple[Tensor, Tensor]:
            out, got = self._forward(planes, state)
            sink(planes, got)
            logits = out["logits"].float().to(mask.device).masked_fill(~mask, -math.inf)
            return logits, out["value"].float().to(mask.device)

        return evaluate


def network_aux_evaluator(net: nn.Module, device: str | torch.device, planes_game: Any = None) -> AuxEvaluator | None:
    """The ownership and score heads of a policy-value net as an AuxEvaluator (None where the net has neither):
    ownership as tanh of the head, score as the head times the board's cells (the head learns score / cells;
    agents.learner). Eval mode and planes as `network_evaluator`."""
    heads = frozenset(getattr(net, "aux_heads", ())) & {"ownership", "score"}
    return _NetworkHeads(net, torch.device(device), planes_game, heads) if heads else None
