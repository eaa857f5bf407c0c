"""A training run's in-loop strength check: the live network, searching with the run's own settings, against
perfect play (solver benchmarks), fixed baselines and the previous iteration, with a Bradley-Terry Elo.

Called by the training job (arena.train) every `eval_every` iterations; it takes the network in memory, not a file.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from agents.learner import TrainConfig
from agents.mcts import SearchSettings
from agents.players import make_player
from agents.search_player import network_player, policy_player
from arena.elo import elo_from_score, fit_bradley_terry, records_from_games
from arena.evaluate import OWN_SETS, available_sets, bench_dir_default, connect4_benchmark, tictactoe_exhaustive
from arena.match import play_games
from envs.base import Game
from envs.connect_four import ConnectFour
from envs.tictactoe import TicTacToe

__all__ = ["measure_strength"]


def measure_strength(
    game: Game,
    net: torch.nn.Module,
    previous: torch.nn.Module | None,
    settings: SearchSettings,
    cfg: TrainConfig,
    records: list,
    device: torch.device,
    iteration: int,
) -> dict[str, float]:
    """Measure the network of one iteration.

    Args:
        net: the live network (left in eval mode, its weights untouched).
        previous: the previous iteration's network (played when given and cfg.eval_previous is set), or None.
        settings: the run's search settings (self-play's); played without root noise, `cfg.eval_simulations` deep.
        records: [(first, second, score), ...] of every evaluation game so far (extended in place).
    Returns:
        metrics: elo / elo_err (Bradley-Terry fit anchored at the first baseline, 95% half-width), elo_vs_SPEC
        (single-match Elo difference, clipped to +-1000 for a clean sweep), score_vs_SPEC, and the solver figures.
    """
    out: dict[str, float] = {}
    play = settings.for_play(cfg.eval_simulations)
    me = network_player(net, play, device=device, name=f"iter{iteration}")
    if cfg.eval_solver and isinstance(game, TicTacToe):
        res = tictactoe_exhaustive(me)
        out.update(tictactoe_mistakes=res["mistakes"], tictactoe_positions=res["positions"])
        out["tictactoe_policy_mistakes"] = tictactoe_exhaustive(policy_player(net, device=device))["mistakes"]
    if cfg.eval_solver and isinstance(game, ConnectFour):
        sets = _readable_sets(tuple(s for s in cfg.eval_bench_sets.split(",") if s))
        res = connect4_benchmark(me, sets=sets, limit=cfg.eval_bench_limit or None)
        for name, r in res.items():
            out[f"mistake_rate_{name}"] = r["mistake_rate"]
        out["mistake_rate"] = float(np.mean([r["mistake_rate"] for r in res.values()]))
    baselines = [s for s in cfg.eval_baselines.split(",") if s]
    # the baselines keep their own default settings: fixed yardsticks, the same in every run
    opponents = [(spec, make_player(spec, game, device=str(device), seed=cfg.seed + iteration)) for spec in baselines]
    for spec, opp in opponents:
        opp.name = spec
    if cfg.eval_previous and previous is not None:
        opponents.append(("previous", network_player(previous, play, device=device, name=f"iter{iteration - 1}")))
    for label, opp in opponents if cfg.eval_games > 0 else ():
        res = play_games(game, me, opp, cfg.eval_games, seed=cfg.seed + iteration, progress=False)
        elo, _, _ = elo_from_score(res.wins_a, res.draws, res.losses_a)
        out[f"elo_vs_{label}"] = float(np.clip(elo, -1000, 1000))
        out[f"score_vs_{label}"] = res.score_a
        records += records_from_games(res.games)
    if records and baselines:
        try:
            table = fit_bradley_terry(records, anchor=baselines[0])
            elo, err = table.rating(me.name)
            out.update(elo=elo, elo_err=1.96 * err)
        except ValueError:
            pass
    return out


_SKIPPED: set[str] = set()  # sets already reported missing in this process


def _readable_sets(sets: tuple[str, ...]) -> tuple[str, ...]:
    """The requested Connect Four sets that can be read here; missing benchmark sets are skipped with one notice
    (the project's own sets stand in when none is left), so a run never depends on a folder outside the package."""
    found, missing = available_sets(sets)
    new = [name for name in missing if name not in _SKIPPED]
    if new:
        _SKIPPED.update(new)
        print(
            f"note: connect four sets {', '.join(new)} not found in {bench_dir_default()}: skipped"
            f"{'' if found else ' (evaluating on ' + ', '.join(OWN_SETS) + ' instead)'}; set GAMELAB_CONNECT4_BENCH "
            "to a folder of Pascal Pons' test sets to include them",
            file=sys.stderr,
        )
    return found or tuple(OWN_SETS)
