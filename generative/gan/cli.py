"""`gamelab gan train|eval`: train a GAN on a data set, or measure a run's samples offline.

    gamelab gan train --data digits [--arch dcgan|sngan|wgan-gp] [--cond] [--preset NAME] [--minutes N] [--steps N]
                      [--resume DIR] [--dry-run] [--key=value ...]
    gamelab gan eval RUN [--json] [--n N] [--raw] [--inception WEIGHTS]

Any field of `GanConfig` can be set with --key=value (e.g. --batch=128 --augment=color,translation).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

from core.checkpoint import CheckpointError
from core.config import ConfigError, parse_config

from .trainer import PRESETS, GanConfig, config_from_checkpoint_dir, train

__all__ = ["main"]


def _pair_overrides(extra: list[str]) -> list[str]:
    """Accept both --key=value and --key value for config fields."""
    out, i = [], 0
    while i < len(extra):
        item = extra[i]
        if item.startswith("--") and "=" not in item and i + 1 < len(extra) and not extra[i + 1].startswith("--"):
            out.append(f"{item}={extra[i + 1]}")
            i += 2
        else:
            out.append(item)
            i += 1
    return out


def _train(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gamelab gan train",
        description="Train a GAN. Extra --key=value options set any GanConfig field: "
        + ", ".join(f.name for f in dataclasses.fields(GanConfig)),
    )
    parser.add_argument("--data", help="digits, photos, textures, builtin:NAME, or a folder / IDX / CIFAR / .npz path")
    parser.add_argument("--arch", choices=["dcgan", "sngan", "wgan-gp"])
    parser.add_argument("--cond", action="store_true", default=None, help="class-conditional (labelled data)")
    parser.add_argument("--preset", help=f"one of: {', '.join(PRESETS)}")
    parser.add_argument("--minutes", type=float, help="wall-clock budget")
    parser.add_argument("--steps", type=int, help="generator updates")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--device", help="auto, cpu, cuda, cuda:N, mps")
    parser.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its latest checkpoint")
    parser.add_argument("--dry-run", action="store_true", help="a few steps of the tiny preset, then exit")
    args, extra = parser.parse_known_args(argv)
    overrides = _pair_overrides(extra)
    for key in ("data", "arch", "cond", "minutes", "steps", "seed", "device"):
        value = getattr(args, key)
        if value is not None:
            overrides.append(f"--{key}={value}")
    try:
        if args.resume:
            values = dict(o[2:].split("=", 1) if o.startswith("--") else o.split("=", 1) for o in overrides)
            values = {k.replace("-", "_"): v for k, v in values.items()}
            cfg = config_from_checkpoint_dir(args.resume, values)
        else:
            preset = "tiny" if args.dry_run and not args.preset else args.preset
            cfg = parse_config(GanConfig, overrides, PRESETS, preset)
            if args.dry_run:
                cfg = dataclasses.replace(cfg, steps=min(cfg.steps, 10), sample_every=5, ckpt_every=5, minutes=0.0)
    except (ConfigError, ValueError) as err:
        print(f"gamelab gan train: {err}", file=sys.stderr)
        return 2
    except FileNotFoundError as err:
        print(f"gamelab gan train: cannot resume: {err}", file=sys.stderr)
        return 2
    try:
        result = train(cfg, resume=args.resume)
    except CheckpointError as err:  # a damaged, old-format or crafted checkpoint in the run to resume
        print(f"gamelab gan train: {err}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun only rank 0 reports
        return 0
    final = result["final"]
    print(f"run: {result['run_dir']}")
    print(f"step {result['step']}  loss_d {final.get('loss_d', float('nan')):.4f}  "
          f"loss_g {final.get('loss_g', float('nan')):.4f}  rewinds {result['rewinds']}")  # fmt: skip
    if "fd" in final:
        print(f"in-run Frechet distance {final['fd']:.3f}  coverage {final.get('coverage')}")
    print(f"samples: {result['run_dir']}/samples/latest.png")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`gamelab gan train ...` or `gamelab gan eval ...`. Returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: gamelab gan {train,eval} [ARGS...]  ('gamelab gan train --help' for the options)\n")
        print(__doc__)
        return 0
    if argv[0] == "train":
        return _train(argv[1:])
    if argv[0] == "eval":
        from .eval import main as eval_main

        return eval_main(argv[1:])
    print(f"gamelab gan: unknown subcommand {argv[0]!r}; use train or eval", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
