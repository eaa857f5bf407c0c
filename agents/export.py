"""Export a trained network from a training run: weights and game only, small enough to ship with the package.

    gamelab export RUN_DIR_OR_CHECKPOINT OUT.pt [--iteration N]
    gamelab export runs/train__connect_four__0__<time> agents/models/connect_four.pt     # the bundled model

The exported file is an "alphazero" checkpoint that `agents.network.load_policy_value_net` and every player spec
read (`az:PATH`, `bundled` when written to agents/models/GAME.pt). It keeps where it came from: the run's config,
iteration, training step and the source checkpoint's file name, so a model's provenance can be traced.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.checkpoint import CheckpointError, latest_checkpoint, load_checkpoint, save_checkpoint

__all__ = ["export_model", "main"]


def export_model(source: str | Path, out: str | Path, iteration: int | None = None) -> Path:
    """Write the network of a run's checkpoint (the latest, or iteration N) to `out`. Returns the path.

    Raises:
        CheckpointError: no checkpoint there, or a damaged or wrong-kind file.
    """
    source = Path(source)
    if source.is_dir():
        folder = source / "checkpoints" if (source / "checkpoints").is_dir() else source
        ckpt = folder / f"iter_{iteration:06d}.pt" if iteration is not None else latest_checkpoint(folder)
        if ckpt is None or not ckpt.is_file():
            raise CheckpointError(f"{folder}: no checkpoint {ckpt.name if ckpt else 'found'}")
    else:
        ckpt = source
    payload = load_checkpoint(ckpt, kind="alphazero")
    missing = [k for k in ("game", "net_config", "model") if k not in payload]
    if missing:
        raise CheckpointError(f"{ckpt}: alphazero checkpoint lacks {', '.join(missing)}")
    slim = {k: payload[k] for k in ("game", "net_config", "model")}
    slim["source"] = {
        "checkpoint": ckpt.name,
        "iteration": payload.get("iteration"),
        "step": payload.get("step"),
        "config": payload.get("config"),
    }
    return save_checkpoint(out, slim, kind="alphazero")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gamelab export", description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="a training run directory or one of its checkpoints")
    parser.add_argument("out", help="the .pt file to write (agents/models/GAME.pt to bundle it)")
    parser.add_argument("--iteration", type=int, default=None, help="this iteration's checkpoint (default: latest)")
    args = parser.parse_args(argv)
    try:
        path = export_model(args.source, args.out, args.iteration)
    except CheckpointError as err:
        print(f"gamelab export: {err}", file=sys.stderr)
        return 2
    print(f"{path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
