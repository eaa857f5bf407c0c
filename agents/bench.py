"""Self-play throughput: network inference limit, batched search, self-play, and one-game-at-a-time search.

    gamelab bench selfplay --game connect_four --preset b4c32 --batch 256 --sims 64 --seconds 5

Prints, for one randomly initialized PolicyValueNet on one device:
  - inference: the net's positions/s at the self-play batch B (one evaluate call on B positions; the physical limit),
  - search: batched search simulations/s (leaf evaluations per second over all B games) and its ratio to that limit,
  - self-play: moves played per second by the batched search with temperature 1, root noise and tree reuse,
  - single: the same search one game at a time (B=1, one net call per leaf), its simulations/s, and the speedup of
    the batched search over it.

Dimension letters: B games.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

import envs
from agents import mcts
from agents.leaf_evaluators import network_evaluator
from agents.network import PRESETS, PolicyValueNet
from core.config import bounded
from core.device import pick_device, set_cpu_threads, synchronize
from core.job import JobParser, option_type, print_figures
from envs import state as state_ops
from envs.base import Game, random_actions

__all__ = ["BenchConfig", "run_bench", "work_rate", "random_positions", "main"]


@dataclass(frozen=True)
class BenchConfig:
    game: str = "connect_four"
    preset: str = "b4c32"
    device: str = "auto"
    batch: int = bounded(256, ge=1)
    sims: int = bounded(64, ge=1)
    seconds: float = bounded(5.0, gt=0)
    threads: int = bounded(1, ge=1)
    gumbel: bool = False
    seed: int = bounded(0, ge=0)


def work_rate(
    fn: Callable[[], int],
    seconds: float,
    *,
    clock: Callable[[], float] = time.perf_counter,
    device: torch.device | None = None,
) -> float:
    """Work per second of fn (which returns a work count), called until `seconds` of `clock` have passed (at least
    twice, after one warm-up call); with a `device`, its queued work is waited for before and after."""
    fn()
    if device is not None:
        synchronize(device)
    work, calls, start = 0, 0, clock()
    while calls < 2 or clock() - start < seconds:
        work += fn()
        calls += 1
    if device is not None:
        synchronize(device)
    return work / (clock() - start)


def random_positions(
    game: Game, batch: int, device: torch.device, generator: torch.Generator, max_plies: int = 8
) -> Any:
    """B positions a few random moves into the game (finished games are replaced by fresh ones)."""
    state = game.init(batch, device=device)
    plies = torch.randint(0, max_plies + 1, (batch,), generator=generator).to(device)
    for k in range(max_plies):
        action = random_actions(game.legal_mask(state).cpu(), generator).to(device)
        nxt = game.step(state, action, check=False)
        done, _ = game.outcome(nxt)
        state = state_ops.where((plies > k) & ~done, nxt, state)
    return state


def run_bench(cfg: BenchConfig) -> dict:
    """Measure the four rates of the module docstring. Returns a dict of figures."""
    if cfg.preset not in PRESETS:
        raise ValueError(f"unknown preset {cfg.preset!r}; known: {', '.join(PRESETS)}")
    device = pick_device(cfg.device)
    if device.type == "cpu":
        set_cpu_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    game = envs.get_game(cfg.game)
    net = PolicyValueNet(tuple(game.planes_shape), game.num_actions, **PRESETS[cfg.preset]).to(device).eval()
    evaluate = network_evaluator(net, device)
    state = random_positions(game, cfg.batch, device, gen)
    search_kw = {"num_simulations": cfg.sims, "gumbel": cfg.gumbel}

    planes, mask = game.planes(state), game.legal_mask(state)

    def infer() -> int:
        evaluate(planes, mask)
        return cfg.batch

    inference = work_rate(infer, cfg.seconds, device=device)

    def batched() -> int:
        mcts.search(game, state, evaluate, **search_kw)
        return cfg.batch * cfg.sims

    search_rate = work_rate(batched, cfg.seconds, device=device)

    sp = {"state": game.init(cfg.batch, device=device), "tree": None}
    sp_gen = torch.Generator(device=device).manual_seed(cfg.seed)

    def selfplay_moves() -> int:
        result = mcts.search(
            game, sp["state"], evaluate, dirichlet_fraction=0.25, tree=sp["tree"], generator=sp_gen, **search_kw
        )
        action = mcts.select_action(result, 1.0, generator=sp_gen)
        nxt = game.step(sp["state"], action, check=False)
        tree = mcts.advance_tree(result.tree, action)
        done, _ = game.outcome(nxt)
        sp["state"] = state_ops.where(done, game.init(cfg.batch, device=device), nxt)
        sp["tree"] = mcts.reset_rows(tree, done)
        return cfg.batch

    selfplay = work_rate(selfplay_moves, cfg.seconds, device=device)

    one = state_ops.take(state, 0)

    def single() -> int:
        mcts.search(game, one, evaluate, leaf_batch=1, **search_kw)  # one leaf a call (see `gamelab bench play`)
        return cfg.sims

    single_rate = work_rate(single, cfg.seconds, device=device)
    return {
        "game": cfg.game,
        "preset": cfg.preset,
        "params": sum(p.numel() for p in net.parameters()),
        "device": str(device),
        "threads": torch.get_num_threads() if device.type == "cpu" else None,
        "batch": cfg.batch,
        "sims": cfg.sims,
        "gumbel": cfg.gumbel,
        "inference_positions_per_s": inference,
        "search_sims_per_s": search_rate,
        "search_ratio_to_inference": search_rate / inference,
        "selfplay_positions_per_s": selfplay,
        "single_sims_per_s": single_rate,
        "batched_speedup_over_single": search_rate / single_rate,
    }


def _table(r: dict) -> str:
    head = (
        f"{r['game']}  net {r['preset']} ({r['params']:,} params)  device {r['device']}"
        + (f" ({r['threads']} threads)" if r["threads"] else "")
        + f"  batch {r['batch']}  sims {r['sims']}"
        + ("  gumbel" if r["gumbel"] else "")
    )
    rows = [
        ("net inference (limit)", f"{r['inference_positions_per_s']:,.0f} positions/s"),
        (
            "batched search",
            f"{r['search_sims_per_s']:,.0f} sims/s  ({r['search_ratio_to_inference']:.2f} of the limit)",
        ),
        ("self-play", f"{r['selfplay_positions_per_s']:,.1f} positions/s"),
        ("one game at a time", f"{r['single_sims_per_s']:,.0f} sims/s"),
        ("batched / one at a time", f"{r['batched_speedup_over_single']:.1f}x"),
    ]
    return "\n".join([head] + [f"  {k:<24} {v}" for k, v in rows])


def main(argv: list[str] | None = None) -> int:
    """`gamelab bench selfplay`: print the throughput table (or JSON)."""
    d = BenchConfig()
    p = JobParser(prog="gamelab bench selfplay", description=__doc__.split("\n")[0])
    p.add_argument("--game", default=d.game, choices=envs.known_games())
    p.add_argument("--preset", default=d.preset, choices=list(PRESETS))
    p.add_argument("--device", default=d.device, help="auto, cpu, cuda, cuda:N, mps")
    p.add_argument(
        "--batch", type=option_type(BenchConfig, "batch"), default=d.batch, help="games searched together (B)"
    )
    p.add_argument("--sims", type=option_type(BenchConfig, "sims"), default=d.sims, help="simulations per move")
    p.add_argument(
        "--seconds", type=option_type(BenchConfig, "seconds"), default=d.seconds, help="time per measurement"
    )
    p.add_argument("--threads", type=option_type(BenchConfig, "threads"), default=d.threads, help="torch CPU threads")
    p.add_argument("--gumbel", action="store_true", help="Gumbel root search instead of PUCT")
    p.add_argument("--seed", type=option_type(BenchConfig, "seed"), default=d.seed)
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = p.parse_args(argv)
    cfg = BenchConfig(**{k: v for k, v in vars(args).items() if k != "json"})
    return print_figures(lambda: run_bench(cfg), _table, args.json)


if __name__ == "__main__":
    sys.exit(main())
