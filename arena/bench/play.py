"""One game at a time: search speed and strength against K, the leaves per tree per network call (leaf batching).

    gamelab bench play --game connect_four --sims 200 --leaf-batches 1,2,4,8,16 --seconds 5 --positions 200
    gamelab bench play --sims 200 --leaf-batches 1,8 --clock cpu --positions 0 --walks python,native
    gamelab bench play --sims 200 --leaf-batches 8 --clock cpu --positions 0 --tactics 0,2

Prints, in one run and for the bundled model of the game (or --checkpoint), one row per K:
  - search: simulations/s of one game searched alone (PUCT, --sims simulations a move, cycling over a few positions a
    few random moves into the game), and its speedup over K = 1,
  - net at batch K: the network's positions/s when called on K positions at once (the limit for one game at K), and
    the search's share of it,
  - mistakes (Connect Four): the mistake rate at equal simulations on Pons' solved test sets (arena.evaluate; a
    move is a mistake when it changes the game-theoretic outcome) with its standard error; skipped, saying why,
    when the sets are not there.

`--walks python,native` measures the search with both tree walks of agents.host_tree in one run, one block of rows
each: "python" (numpy, and the torch path with one leaf per call; the fallback) and "native" (the C extension
agents/_search_walk, the default where it is built). `--tactics 0,2` does the same for the depths of the exact win
check at each new node (agents.tactics; -1: the game's default). The head line gives the machine's load averages.

The machine's load changes rates between runs: compare rows of one run only. On a shared CPU, `--clock cpu` times
by this process's CPU time (one thread), which other processes' load disturbs far less than the wall clock.

Dimension letters: B games, K leaves per tree.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

import envs
from agents.bench import random_positions, work_rate
from agents.host_tree import WALKS, current_walk, native_walk_available, use_walk
from agents.leaf_evaluators import network_evaluator
from agents.mcts import SearchSettings, search
from agents.network import load_policy_value_net
from agents.players import find_bundled_model
from agents.search_player import network_player
from arena.evaluate import bench_dir_default, connect4_benchmark
from core.device import pick_device, set_cpu_threads
from core.job import JobParser, print_figures, ranged
from envs import state as state_ops
from envs.connect_four import ConnectFour

__all__ = ["PlayBenchConfig", "run_play_bench", "main"]


@dataclass(frozen=True)
class PlayBenchConfig:
    game: str = "connect_four"
    checkpoint: str = ""  # default: the bundled model of the game
    device: str = "cpu"
    sims: int = 200
    leaf_batches: tuple[int, ...] = (1, 2, 4, 8, 16)
    seconds: float = 5.0
    positions: int = 200  # solved positions per Connect Four test set for the mistake rates (0: no strength test)
    sets: tuple[str, ...] = ("Test_L2_R1", "Test_L2_R2")
    threads: int = 1
    clock: str = "wall"  # wall: elapsed time; cpu: this process's CPU time (steadier on a shared machine)
    seed: int = 0
    walks: tuple[str, ...] = ()  # tree walks to measure, a block of rows each ("python", "native"); (): the default
    tactics: tuple[int, ...] = (-1,)  # depths of the exact win check (agents.tactics), a block of rows each


def _search_rate(game, starts, evaluate, settings: SearchSettings, seconds: float, clock) -> float:
    """Simulations/s of one game searched alone, cycling over the start positions."""
    turn = iter(range(1 << 62))

    def one_game() -> int:
        search(game, state_ops.take(starts, next(turn) % starts.player.shape[0]), evaluate, settings)
        return settings.num_simulations

    return work_rate(one_game, seconds, clock=clock)


def _net_rate(game, batch, evaluate, seconds: float, clock) -> float:
    """Positions/s of the network called on `batch` positions at once."""
    planes, mask = game.planes(batch), game.legal_mask(batch)

    def infer() -> int:
        evaluate(planes, mask)
        return mask.shape[0]

    return work_rate(infer, seconds, clock=clock)


def run_play_bench(cfg: PlayBenchConfig) -> dict:
    """Measure the rows of the module docstring. Returns a dict of figures."""
    device = pick_device(cfg.device)
    if device.type == "cpu":
        set_cpu_threads(cfg.threads)
    game = envs.get_game(cfg.game)
    path = Path(cfg.checkpoint) if cfg.checkpoint else find_bundled_model(game)  # MissingModelError: a ValueError
    if not path.is_file():
        raise ValueError(f"no model file {path}; give one with --checkpoint PATH")
    net, net_game = load_policy_value_net(path, device=device)
    if net_game.name != game.name:
        raise ValueError(f"{path} holds a {net_game.name} model, not {game.name}")
    evaluate = network_evaluator(net, device)
    clock = time.process_time if cfg.clock == "cpu" else time.perf_counter
    if device.type != "cpu" and cfg.clock == "cpu":
        raise ValueError("--clock cpu measures CPU time: use it with --device cpu")
    starts = random_positions(game, 8, device, torch.Generator().manual_seed(cfg.seed))
    folder = bench_dir_default()
    strength_note = None
    if not isinstance(game, ConnectFour) or cfg.positions == 0:
        strength_note = "mistake rates: Connect Four only (and --positions > 0)"
    elif not all((folder / f"{s}.scores").is_file() for s in cfg.sets):
        strength_note = f"mistake rates skipped: test sets {', '.join(cfg.sets)} not found in {folder}"
    walks = cfg.walks or (current_walk(),)
    for walk in walks:
        if walk not in WALKS:
            raise ValueError(f"unknown walk {walk!r}; expected some of {', '.join(WALKS)}")
        if walk == "native" and not native_walk_available():
            raise ValueError("walk 'native' is not built: run `pip install -e .` (or `setup.py build_ext --inplace`)")
    load = os.getloadavg()
    rows = []
    with torch.no_grad():
        for walk, tactics in [(w, t) for w in walks for t in cfg.tactics]:
            block = []
            for k in cfg.leaf_batches:
                settings = SearchSettings(num_simulations=cfg.sims, leaf_batch=k, tactics=tactics)
                with use_walk(walk):
                    sims_per_s = _search_rate(game, starts, evaluate, settings, cfg.seconds, clock)
                net_rate = _net_rate(game, state_ops.take(starts, torch.arange(k) % 8), evaluate, cfg.seconds, clock)
                row = {"walk": walk, "tactics": tactics, "leaf_batch": k, "sims_per_s": sims_per_s}
                row["net_positions_per_s"] = net_rate
                if strength_note is None:
                    player = network_player(net, settings, device=device)
                    with use_walk(walk):
                        res = connect4_benchmark(player, sets=cfg.sets, limit=cfg.positions, bench_dir=folder)
                    n = sum(r["positions"] for r in res.values())
                    m = sum(r["mistakes"] for r in res.values())
                    rate = m / max(n, 1)
                    row.update(positions=n, mistakes=m, mistake_rate=rate, mistake_se=math.sqrt(rate * (1 - rate) / n))
                block.append(row)
            for row in block:
                row["speedup_over_first"] = row["sims_per_s"] / block[0]["sims_per_s"]
                row["share_of_net_rate"] = row["sims_per_s"] / row["net_positions_per_s"]
            rows += block
    return {
        "game": game.name,
        "model": str(path),
        "device": str(device),
        "threads": torch.get_num_threads() if device.type == "cpu" else None,
        "sims": cfg.sims,
        "clock": cfg.clock,
        "sets": list(cfg.sets),
        "strength_note": strength_note,
        "walks": list(walks),
        "tactics": list(cfg.tactics),
        "load_before": list(load),
        "load_after": list(os.getloadavg()),
        "rows": rows,
    }


def _table(r: dict) -> str:
    head = (
        f"{r['game']}  one game at a time, {r['sims']} simulations a move  model {r['model']}  device {r['device']}"
        + (f" ({r['threads']} threads)" if r["threads"] else "")
        + f"  rates per {'CPU' if r['clock'] == 'cpu' else 'wall'} second"
        + "  load {:.1f} {:.1f} {:.1f} -> {:.1f} {:.1f} {:.1f}".format(*r["load_before"], *r["load_after"])
    )
    first = r["rows"][0]["leaf_batch"]
    lines = [
        head,
        f"  {'K':>3}  {'search sims/s':>13}  {f'x K={first}':>7}  {'net pos/s at K':>14}  {'search/net':>10}"
        + (f"  mistakes on {'+'.join(r['sets'])}" if r["strength_note"] is None else ""),
    ]
    for i, row in enumerate(r["rows"]):
        block = (row["walk"], row.get("tactics"))
        if (len(r["walks"]) > 1 or len(r.get("tactics", ())) > 1) and (
            i == 0 or (r["rows"][i - 1]["walk"], r["rows"][i - 1].get("tactics")) != block
        ):
            lines.append(f"  walk: {row['walk']}, tactics {row.get('tactics', -1)}")
        line = (
            f"  {row['leaf_batch']:>3}  {row['sims_per_s']:>13,.0f}  {row['speedup_over_first']:>6.2f}x"
            f"  {row['net_positions_per_s']:>14,.0f}  {row['share_of_net_rate']:>10.2f}"
        )
        if "mistake_rate" in row:
            line += f"  {row['mistake_rate']:.3f} +- {row['mistake_se']:.3f}  ({row['mistakes']}/{row['positions']})"
        lines.append(line)
    if r["strength_note"]:
        lines.append(f"  {r['strength_note']}")
    return "\n".join(lines)


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise ValueError(f"expected comma-separated positive integers, got {text!r}")
    return values


def _depths(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        values = ()
    if not values or min(values) < -1 or max(values) > 2:
        raise ValueError(f"expected comma-separated depths -1..2, got {text!r}")
    return values


def _names(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def main(argv: list[str] | None = None) -> int:
    """`gamelab bench play`: print the table (or JSON)."""
    d = PlayBenchConfig()
    p = JobParser(prog="gamelab bench play", description=__doc__.split("\n")[0])
    p.add_argument("--game", default=d.game, choices=envs.known_games())
    p.add_argument("--checkpoint", default=d.checkpoint, help="model file (default: the bundled model of the game)")
    p.add_argument("--device", default=d.device, help="auto, cpu, cuda, cuda:N, mps")
    p.add_argument("--sims", type=ranged(int, ge=1), default=d.sims, help="simulations a move")
    p.add_argument("--leaf-batches", type=_ints, default=d.leaf_batches, help="values of K, e.g. 1,2,4,8,16")
    p.add_argument("--seconds", type=ranged(float, gt=0), default=d.seconds, help="time per rate measurement")
    p.add_argument(
        "--positions", type=ranged(int, ge=0), default=d.positions, help="solved positions per test set (0: none)"
    )
    p.add_argument("--sets", default=",".join(d.sets), help="Connect Four test sets for the mistake rates")
    p.add_argument("--threads", type=ranged(int, ge=1), default=d.threads, help="torch CPU threads")
    p.add_argument("--clock", default=d.clock, choices=["wall", "cpu"], help="time rates by wall or process CPU time")
    p.add_argument("--seed", type=ranged(int, ge=0), default=d.seed)
    walks_help = "tree walks to compare, e.g. python,native (default: the one in use)"
    p.add_argument("--walks", type=_names, default=d.walks, help=walks_help)
    tactics_help = "depths of the exact win check to compare, e.g. 0,2 (-1: the game's default)"
    p.add_argument("--tactics", type=_depths, default=d.tactics, help=tactics_help)
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = p.parse_args(argv)
    values = {k: v for k, v in vars(args).items() if k != "json"}
    values["sets"] = tuple(s for s in args.sets.split(",") if s)
    return print_figures(lambda: run_play_bench(PlayBenchConfig(**values)), _table, args.json)


if __name__ == "__main__":
    sys.exit(main())
