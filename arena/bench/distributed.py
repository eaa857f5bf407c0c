"""Self-play on Ray actors against the single-process loop, and the learner's speed, in one run.

    gamelab bench distributed --game connect_four --preset cpu --actors 1,2 --seconds 30 [--ray-address ADDR] [--json]

Measures, with one randomly initialized network of the preset's shape and the preset's search settings:
  - single: the single-process self-play of `gamelab train` (one `SelfPlay`, shards written), positions/s;
  - learner: optimizer steps/s of `train_steps` at the preset's batch size on those positions, and the positions/s
    the learner can take at the preset's ratio (steps_per_iteration / positions_per_iteration);
  - loop: the single-process iteration, self-play then training in turn: positions/s over both;
  - actors N: positions/s arriving at the learner from N Ray actors (each batch carried through the object store
    and written as a shard), from the moment every actor has delivered its first batch (actor start-up, timed
    apart) to the first batch that arrives after `--seconds`.
The actors are measured while the learner does not train; in `gamelab train --actors N` it trains at the same time,
on the same machine's cores unless the actors live on other machines. Ray starts once (private, on 127.0.0.1, unless
`--ray-address` joins a cluster) and each actor count gets fresh actors.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from agents.leaf_evaluators import network_evaluator
from agents.learner import TrainConfig, load_presets, make_buffer, make_net, make_selfplay, train_steps
from core.config import ConfigError, config_from_dict
from core.device import set_cpu_threads
from core.job import JobParser, fail, ranged
from envs import get_game

__all__ = ["main", "run_bench"]


def _actor_counts(text: str) -> list[int]:
    try:
        counts = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise ValueError(f"--actors: a comma-separated list of actor counts of at least 1, got {text!r}")
    return counts


def run_bench(
    game_name: str, preset: str, actor_counts: list[int], *, seconds: float = 30.0, batch_positions: int = 256,
    steps: int = 50, address: str | None = None, log=print,
) -> dict:  # fmt: skip
    """Run the measurements of the module docstring. Returns a dict of figures."""
    presets = load_presets(game_name)
    if preset not in presets:
        raise ConfigError(f"unknown preset {preset!r} for {game_name}; known: {', '.join(sorted(presets))}")
    cfg = config_from_dict(TrainConfig, presets[preset])
    game = get_game(game_name, **({"size": cfg.size} if cfg.size else {}))
    set_cpu_threads(1)
    torch.manual_seed(0)
    device = torch.device("cpu")
    net = make_net(game, cfg).eval()
    load = [os.getloadavg()[0]]
    out: dict = {"game": game.name, "preset": preset, "net": f"b{cfg.blocks}c{cfg.channels}",
                 "simulations": cfg.search.num_simulations, "num_games": cfg.num_games,
                 "batch_positions": batch_positions, "seconds": seconds}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="gamelab-bench-") as tmp:
        buffer = make_buffer(game, cfg, Path(tmp) / "single")
        selfplay = make_selfplay(game, cfg, device)
        evaluate = network_evaluator(net, device)
        buffer.add(selfplay.run(evaluate, batch_positions, show_progress=False)[0])  # warm-up
        positions, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            data, _ = selfplay.run(evaluate, batch_positions, show_progress=False)
            buffer.add(data)
            positions += len(data["value"])
        out["single_positions_per_s"] = positions / (time.perf_counter() - start)
        log(f"single process: {out['single_positions_per_s']:.1f} positions/s")

        gen = np.random.default_rng(0)
        optimizer = torch.optim.AdamW(net.parameters(), lr=cfg.lr)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
        train_steps(net, optimizer, scheduler, buffer, cfg, gen, device, 2, show_progress=False)  # warm-up
        start = time.perf_counter()
        train_steps(net, optimizer, scheduler, buffer, cfg, gen, device, steps, show_progress=False)
        net.eval()
        steps_per_s = steps / (time.perf_counter() - start)
        ratio = cfg.steps_per_iteration / cfg.positions_per_iteration
        out.update(learner_steps_per_s=steps_per_s, batch_size=cfg.batch_size, steps_per_position=ratio,
                   learner_positions_per_s=steps_per_s / ratio if ratio else math.inf,
                   loop_positions_per_s=1.0 / (1.0 / out["single_positions_per_s"] + ratio / steps_per_s))  # fmt: skip
        log(f"learner: {steps_per_s:.2f} steps/s at batch {cfg.batch_size}, so {out['learner_positions_per_s']:.0f} "
            f"positions/s at {ratio:.4f} steps a position; single-process loop {out['loop_positions_per_s']:.1f} "
            f"positions/s")  # fmt: skip

        # Ray loads here, for this measurement only (gamelab without actors never imports it)
        from core.ray_cluster import start_ray

        t0 = time.perf_counter()
        cpus = None if address else max(max(actor_counts) + 1, os.cpu_count() or 1)
        session = start_ray(address, num_cpus=cpus)
        out["ray_start_s"] = time.perf_counter() - t0
        log(f"ray {session.address}: started in {out['ray_start_s']:.1f}s")
        try:
            for n in actor_counts:
                out[f"actors_{n}"] = _measure_actors(game, cfg, net, n, batch_positions, seconds, Path(tmp), session)
                log(f"{n} actor{'s' if n > 1 else ''}: {out[f'actors_{n}']['positions_per_s']:.1f} positions/s "
                    f"(start-up {out[f'actors_{n}']['startup_s']:.1f}s)")  # fmt: skip
        finally:
            session.close()
    load.append(os.getloadavg()[0])
    out["load_average"] = load  # 1-minute load average at the start and at the end
    return out


def _measure_actors(game, cfg, net, n, batch_positions, seconds, tmp: Path, session) -> dict:
    from arena.actors import ActorPool, new_stats

    cfg_n = dataclasses.replace(cfg, actors=n, positions_per_iteration=batch_positions * n)
    folder = tmp / f"actors_{n}"
    folder.mkdir()
    buffer = make_buffer(game, cfg, folder / "buffer")
    t0 = time.perf_counter()
    pool = ActorPool(game, cfg_n, folder, 0, session=session, log=lambda _: None)
    try:
        pool.publish(net, 0)
        acc = new_stats()
        while not all(slot.where for slot in pool.slots):  # every actor has delivered its first batch
            pool.receive(None, buffer, acc)
        startup = time.perf_counter() - t0
        # from here until the first batch that arrives after `seconds`: whole batches, no start-up
        before, start, end = acc["positions"], time.perf_counter(), None
        while end is None:
            count = acc["positions"]
            pool.receive(None, buffer, acc)
            if acc["positions"] > count and time.perf_counter() - start >= seconds:
                end = time.perf_counter()
    finally:
        pool.close()
    return {"positions_per_s": (acc["positions"] - before) / (end - start), "startup_s": startup}


def main(argv: list[str] | None = None) -> int:
    p = JobParser(
        prog="gamelab bench distributed",
        description="Self-play positions/s on Ray actors against the single-process loop; learner steps/s.",
    )
    p.add_argument("--game", default="connect_four")
    p.add_argument("--preset", default="cpu", help="a `gamelab train` preset of the game (network, search, batch)")
    p.add_argument("--actors", default="1,2", help="actor counts to measure, comma-separated (default 1,2)")
    p.add_argument("--seconds", type=ranged(float, gt=0), default=30.0, help="measuring time of each rate")
    p.add_argument("--batch-positions", type=ranged(int, ge=1), default=256, help="positions an actor returns a batch")
    p.add_argument("--steps", type=ranged(int, ge=1), default=50, help="learner steps timed")
    p.add_argument("--ray-address", default=None, help="join this Ray cluster instead of a private Ray")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)  # fmt: skip
    try:
        counts = _actor_counts(args.actors)
        get_game(args.game)
        result = run_bench(
            args.game,
            args.preset,
            counts,
            seconds=args.seconds,
            batch_positions=args.batch_positions,
            steps=args.steps,
            address=args.ray_address,
            log=(lambda _: None) if args.json else print,
        )
    except (ConfigError, ValueError, KeyError) as err:
        return fail(err)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"1-minute load average: {result['load_average'][0]:.1f} at the start, {result['load_average'][1]:.1f} "
              f"at the end")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
