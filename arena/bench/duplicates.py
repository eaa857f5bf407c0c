"""Duplicate positions in a training run's replay window, and what merging them costs the learner, in one run.

    gamelab bench duplicates RUN [--window N] [--steps 100] [--rounds 2] [--json]

Reads the shards of RUN/buffer (read only: nothing in RUN is written or deleted) and, for the newest `--window`
positions (default: the run's buffer_window), reports
  - positions, distinct positions (same planes and legal moves, as `merge_duplicates` merges them) and the
    duplicate fraction 1 - distinct / positions, overall and by stones on the board (the first two planes: the
    mover's and the opponent's stones in the stone games);
  - distinct positions when a position and its images under the game's symmetries count as one (not merged by
    `merge_duplicates`; shown for comparison);
  - the learner's time per `train_steps` step with merging off and on, at the run's network and batch size, on
    copies of the window in two temporary buffers. Each round adds one shard to both (the window moves as in a run,
    so the merged window is rebuilt inside the timed steps), then times `--steps` steps of each, in alternating
    order; the ratio is on / off over all rounds.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from agents.buffer import FIELDS, group_positions, merge_duplicates
from agents.learner import TrainConfig, make_buffer, make_net, train_steps
from core.config import config_from_dict, flat_fields
from core.device import set_cpu_threads
from core.job import JobParser, fail, ranged
from core.optim import make_optimizer, make_scheduler
from envs import get_game
from envs.base import Game

__all__ = ["STAGES", "duplicate_figures", "main", "read_window"]

STAGES = ((0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (5, 6), (7, 8), (9, 12), (13, 16), (17, 24), (25, 10**6))


def read_window(buffer_dir: Path, window: int) -> tuple[list[dict[str, np.ndarray]], dict[str, np.ndarray]]:
    """(every shard's arrays, oldest first; the newest `window` positions of them concatenated). Reads only."""
    names = sorted(p.name for p in buffer_dir.glob("shard_[0-9]*.npz") if p.is_file())
    if not names:
        raise ValueError(f"{buffer_dir}: no replay shards")
    shards = []
    for name in names:
        with np.load(buffer_dir / name, allow_pickle=False) as z:
            shards.append({k: z[k] for k in FIELDS})
    cat = {k: np.concatenate([s[k] for s in shards])[-window:] for k in FIELDS}
    return shards, cat


def duplicate_figures(game: Game, arrays: dict[str, np.ndarray]) -> dict:
    """Positions, distinct positions and duplicate fractions of a window, overall, by stage and under symmetry."""
    first, group = group_positions(arrays["planes"], arrays["mask"])  # [U], [P]: as merge_duplicates groups them
    counts = np.bincount(group)  # [U]
    total, distinct = len(arrays["value"]), len(first)
    stones = arrays["planes"][:, :2].astype(np.float32).sum(axis=(1, 2, 3)).round().astype(np.int64)  # [P]
    stages = []
    for lo, hi in STAGES:
        rows = (stones >= lo) & (stones <= hi)
        if rows.any():
            n, d = int(rows.sum()), len(np.unique(group[rows]))
            stages.append({"stones": f"{lo}" if lo == hi else f"{lo}-{hi if hi < 10**6 else ''}", "positions": n,
                           "distinct": d, "duplicate_fraction": 1 - d / n})  # fmt: skip
    images = []
    for transform, perm in game.symmetries():
        planes = transform(torch.from_numpy(arrays["planes"][first]).float()).numpy().astype(np.float16)
        images.append({"planes": planes, "mask": arrays["mask"][first][:, perm.numpy()]})
    stacked = {k: np.concatenate([im[k] for im in images]) for k in ("planes", "mask")}
    image_group = group_positions(stacked["planes"], stacked["mask"])[1].reshape(len(images), distinct)  # [S, U]
    orbit = image_group.min(axis=0)  # [U]: one number per set of symmetric images
    return {
        "positions": total,
        "distinct": distinct,
        "duplicate_fraction": 1 - distinct / total,
        "most_copies": int(counts.max()),
        "distinct_under_symmetry": len(np.unique(orbit)),
        "stages": stages,
    }


def time_learner(cfg: TrainConfig, game: Game, shards: list[dict], steps: int, rounds: int) -> dict:
    """Seconds per `train_steps` step with merging off and on (module docstring), and one window merge's seconds."""
    torch.manual_seed(cfg.seed)
    base = make_net(game, cfg)
    seconds = {False: 0.0, True: 0.0}
    with tempfile.TemporaryDirectory(prefix="gamelab-dups-") as tmp:
        runs = {}
        for merge in (False, True):
            c = dataclasses.replace(cfg, merge_duplicates=merge)
            buffer = make_buffer(game, c, Path(tmp) / str(merge))
            for shard in shards:
                buffer.add(shard)
            net = copy.deepcopy(base)
            optimizer = make_optimizer(net, c.optimizer, lr=c.lr, weight_decay=c.weight_decay, momentum=c.momentum)
            scheduler = make_scheduler(optimizer, c.scheduler, total_steps=c.total_steps, warmup_steps=c.warmup_steps)
            runs[merge] = (c, buffer, net, optimizer, scheduler, np.random.default_rng(c.seed))
        for r in range(rounds):
            for merge in (False, True) if r % 2 == 0 else (True, False):
                c, buffer, net, optimizer, scheduler, gen = runs[merge]
                buffer.add(shards[r % len(shards)])  # the window moves by one shard, as in an iteration
                t = time.perf_counter()
                train_steps(net, optimizer, scheduler, buffer, c, gen, torch.device("cpu"), steps, show_progress=False)
                seconds[merge] += time.perf_counter() - t
        t = time.perf_counter()
        merge_duplicates(runs[True][1]._window_arrays())
        merge_s = time.perf_counter() - t
    n = steps * rounds
    return {"step_s_off": seconds[False] / n, "step_s_on": seconds[True] / n,
            "ratio_on_off": seconds[True] / seconds[False], "merge_s": merge_s, "steps": n,
            "batch_size": cfg.batch_size, "net": f"b{cfg.blocks}c{cfg.channels}"}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run `gamelab bench duplicates`. Returns the exit code."""
    p = JobParser(prog="gamelab bench duplicates", description=__doc__.splitlines()[0])
    p.add_argument("run", help="a `gamelab train` run directory (its buffer/ and config.json are read)")
    p.add_argument("--window", type=ranged(int, ge=1), default=None, help="positions (default: the run's window)")
    p.add_argument("--steps", type=ranged(int, ge=0), default=100, help="learner steps timed per round and setting")
    p.add_argument("--rounds", type=ranged(int, ge=1), default=2, help="rounds of timing (one shard added each)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    run = Path(args.run)
    try:
        if not (run / "config.json").is_file():
            raise ValueError(f"{run}: no config.json (not a gamelab train run directory)")
        saved = json.loads((run / "config.json").read_text())
        known = set(flat_fields(TrainConfig))
        cfg = config_from_dict(TrainConfig, {k: v for k, v in saved.items() if k in known})
        game = get_game(saved["game"], **saved.get("options", {}))
        window = args.window or cfg.buffer_window
        shards, arrays = read_window(run / "buffer", window)
    except (ValueError, KeyError, OSError) as err:
        return fail(err)
    set_cpu_threads(1)
    out = {"run": str(run), "game": game.name, "window": window, **duplicate_figures(game, arrays)}
    if args.steps > 0:
        newest = _newest(shards, window)
        out.update(time_learner(dataclasses.replace(cfg, buffer_window=window), game, newest, args.steps, args.rounds))
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{out['game']} window {out['positions']} positions: {out['distinct']} distinct, duplicate fraction "
          f"{out['duplicate_fraction']:.3f}; most copies of one position {out['most_copies']}; distinct under the "
          f"game's symmetries {out['distinct_under_symmetry']}")  # fmt: skip
    print(f"{'stones':>8} {'positions':>10} {'distinct':>9} {'dup.frac':>9}")
    for s in out["stages"]:
        print(f"{s['stones']:>8} {s['positions']:>10} {s['distinct']:>9} {s['duplicate_fraction']:>9.3f}")
    if "ratio_on_off" in out:
        print(f"train_steps ({out['net']}, batch {out['batch_size']}, {out['steps']} steps each): "
              f"{1000 * out['step_s_off']:.1f} ms/step off, {1000 * out['step_s_on']:.1f} ms/step on, ratio on/off "
              f"{out['ratio_on_off']:.3f}; one merge of the window {1000 * out['merge_s']:.0f} ms")  # fmt: skip
    return 0


def _newest(shards: list[dict], window: int) -> list[dict]:
    """The newest shards holding `window` positions, plus one more (so the moving window always changes)."""
    total, kept = 0, []
    for shard in reversed(shards):
        kept.append(shard)
        total += len(shard["value"])
        if total >= window + len(shard["value"]):
            break
    return kept[::-1]


if __name__ == "__main__":
    sys.exit(main())
