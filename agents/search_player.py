"""Players that search a tree (agents.mcts) with one `SearchSettings` object: a policy-value network, random
rollouts (the `rollout:N` baseline) or a uniform prior (`mcts:N`); and the raw network policy without search.

Dimension letters: B games, A actions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from agents.leaf_evaluators import (
    AuxEvaluator,
    network_aux_evaluator,
    network_evaluator,
    rollout_evaluator,
    uniform_evaluator,
)
from agents.mcts import Evaluator, SearchResult, SearchSettings, search
from envs.base import Game

__all__ = ["SearchPlayer", "network_player", "policy_player", "rollout_player", "mcts_player", "next_chunk", "STEP_S"]

STEP_S = 0.05  # seconds one step of a stoppable search aims at


class SearchPlayer:
    """Tree search (agents.mcts.search) with a given evaluator and settings; plays the search's choice (most visits).

    Args:
        evaluate: an Evaluator (agents.leaf_evaluators).
        settings: the search settings (budget, c_puct, ...); root noise is left out (playing to win).
        name: label, e.g. "rollout:200".
        chunk: simulations per step of `think`.
        checkpoint: checkpoint hash for records (None for baselines).
        extra: more facts for records (e.g. the checkpoint's path).
    Attributes:
        search_settings: the SearchSettings used; settings: what records keep of them (a dict);
        info after each call: {"visits": [B, A], "value": [B], "policy": [B, A]};
        aux_evaluate: the evaluator's auxiliary heads for analysis (network_player sets it; None: none).
    """

    def __init__(
        self,
        evaluate: Evaluator,
        settings: SearchSettings,
        name: str,
        *,
        chunk: int = 16,
        checkpoint: str | None = None,
        extra: dict | None = None,
    ):
        if settings.num_simulations < 1:
            raise ValueError(f"a search needs at least one simulation, got {settings.num_simulations}")
        self.evaluate = evaluate
        self.search_settings = settings.for_play()
        self.num_simulations = settings.num_simulations
        self.name = name
        self.chunk = chunk
        self.checkpoint = checkpoint
        knobs = {k: v for k, v in self.search_settings.describe().items() if k != "num_simulations"}
        self.settings = {"simulations": settings.num_simulations, **knobs, "temperature": 0.0, **(extra or {})}
        self.info: dict | None = None
        self.aux_evaluate: AuxEvaluator | None = None

    def _finish(self, result: SearchResult) -> Tensor:
        self.info = {"visits": result.visits, "value": result.value, "policy": result.policy}
        return result.action

    def __call__(self, game: Game, state: Any) -> Tensor:
        """Returns LongTensor[B] (0 for finished games)."""
        with torch.no_grad():
            result = search(game, state, self.evaluate, self.search_settings)
        return self._finish(result)

    def close(self) -> None:
        """Nothing to release (an in-process player)."""

    def think(self, game: Game, state: Any, should_stop: Callable[[], bool], report: Callable[[float], None]) -> Tensor:
        """Search in steps of up to `chunk` simulations on one growing tree; report(fraction) after each step; stop
        early with the most visited move so far when should_stop() is true. A step is sized to take about STEP_S
        seconds (see next_chunk), so a clock is kept however slow one simulation is."""
        tree, done, result, k = None, 0, None, 1
        with torch.no_grad():
            while done < self.num_simulations:
                k = min(k, self.num_simulations - done)
                start = time.perf_counter()
                result = search(game, state, self.evaluate, self.search_settings, num_simulations=k, tree=tree)
                tree, done = result.tree, done + k
                report(done / self.num_simulations)
                if should_stop():
                    break
                k = next_chunk(k, time.perf_counter() - start, self.chunk)
        return self._finish(result)


def next_chunk(k: int, seconds: float, cap: int) -> int:
    """Simulations for the next step of a stoppable search, after `k` took `seconds`: about STEP_S seconds' worth,
    at most double the last and at most `cap` (a clock is checked between steps, so a step bounds the overrun)."""
    per_sim = max(seconds, 1e-6) / max(k, 1)
    return max(1, min(cap, 2 * k, int(STEP_S / per_sim)))


def network_player(
    net: torch.nn.Module,
    settings: SearchSettings,
    *,
    device: str | torch.device = "cpu",
    name: str = "az",
    checkpoint: str | None = None,
    extra: dict | None = None,
    planes_game: Any = None,
) -> SearchPlayer:
    """A policy-value network searching with `settings` (no root noise): the live net of a run or a loaded one
    (`planes_game`: the net's own game where its input planes differ from the game played's). Its `aux_evaluate` is
    the net's ownership and score heads (leaf_evaluators.network_aux_evaluator; None without them), for analysis."""
    evaluate = network_evaluator(net, device, planes_game)
    player = SearchPlayer(evaluate, settings, name, checkpoint=checkpoint, extra=extra)
    player.net = net
    player.aux_evaluate = network_aux_evaluator(net, device, planes_game)
    return player


class _PolicyPlayer:
    """The raw network as a player: the legal move with the largest policy logit (no search)."""

    def __init__(self, net: torch.nn.Module, device: str | torch.device, name: str):
        self.net, self.device, self.name = net, torch.device(device), name
        self.checkpoint, self.settings, self.info = None, {"simulations": 0}, None

    @torch.no_grad()
    def __call__(self, game: Game, state: Any) -> Tensor:
        """Returns LongTensor[B] on the device of the states."""
        mask = game.legal_mask(state)
        logits, _ = network_evaluator(self.net, self.device)(game.planes(state), mask)
        return logits.argmax(-1)

    def close(self) -> None:
        """Nothing to release (an in-process player)."""


def policy_player(net: torch.nn.Module, *, device: str | torch.device = "cpu", name: str = "policy") -> _PolicyPlayer:
    """The raw network as a player: the legal move with the largest policy logit (no search)."""
    return _PolicyPlayer(net, device, name)


def rollout_player(
    game: Game,
    num_simulations: int,
    *,
    settings: SearchSettings | None = None,
    rollouts: int = 1,
    seed: int = 0,
    prior: Callable[[Any], Tensor] | None = None,
    max_plies: int | None = None,
) -> SearchPlayer:
    """MCTS with a uniform prior (or `prior`) and random playouts to the end (or of `max_plies`, then the game's
    heuristic) as leaf values ("rollout:N"; see leaf_evaluators.rollout_evaluator)."""
    gen = torch.Generator().manual_seed(seed)
    evaluate = rollout_evaluator(game, rollouts=rollouts, generator=gen, prior=prior, max_plies=max_plies)
    settings = (settings or SearchSettings()).replace(num_simulations=num_simulations)
    return SearchPlayer(evaluate, settings, f"rollout:{num_simulations}")


def mcts_player(game: Game, num_simulations: int, *, settings: SearchSettings | None = None) -> SearchPlayer:
    """MCTS with a uniform prior and value 0 at unfinished leaves ("mcts:N")."""
    settings = (settings or SearchSettings()).replace(num_simulations=num_simulations)
    return SearchPlayer(uniform_evaluator(game), settings, f"mcts:{num_simulations}")
