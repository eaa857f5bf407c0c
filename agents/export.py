"""Export a trained network from a training run: weights and game only, small enough to ship with the package.

    gamelab export RUN_DIR_OR_CHECKPOINT OUT.pt [--iteration N]
    gamelab export runs/train__connect_four__0__<time> agents/models/connect_four.pt     # the bundled model
    gamelab export runs/train__go__0__<time> agents/models/go_7.pt      # games with a board size: GAME_SIZE.pt
    gamelab export --convert OLD.pt NEW.pt --trust-file          # re-save an older-format checkpoint of any kind

The exported file is an "alphazero" checkpoint that `agents.network.load_policy_value_net` and every player spec
read (`az:PATH`, `bundled` when written to agents/models/GAME_SIZE.pt for a game with a board size option, else
agents/models/GAME.pt: agents.players.bundled_model_path). It keeps where it came from: the run's config,
iteration, training step and the source checkpoint's file name, so a model's provenance can be traced.

--convert re-saves a checkpoint of any kind (alphazero, gan, style, ...) from an older format in today's. Format 1
files are pickles: reading one can run any code its author put in it, so --convert reads them only together with
--trust-file, which says you know where the file came from. Every other command refuses them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from agents.network import checkpoint_path
from core.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    convert_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from core.job import JobParser, ranged
from core.paths import check_output_file

__all__ = ["export_model", "main"]


def export_model(source: str | Path, out: str | Path, iteration: int | None = None) -> Path:
    """Write the network of a run's checkpoint (the latest, or iteration N) to `out`. Returns the path.

    Raises:
        CheckpointError: no checkpoint there, or a damaged or wrong-kind file.
    """
    ckpt = checkpoint_path(source, iteration)
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


_TRUST_HELP = (
    "with --convert: read OLD even though its format is a pickle that can run any code it carries when read. "
    "Give it only for files you made yourself or got from someone you trust; never for a file from a stranger."
)


def main(argv: list[str] | None = None) -> int:
    """Run `gamelab export`. Returns the exit code."""
    parser = JobParser(prog="gamelab export", description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", help="a training run directory or one of its checkpoints")
    parser.add_argument("out", nargs="?", help="the .pt file to write (agents/models/GAME[_SIZE].pt bundles it)")
    parser.add_argument(
        "--iteration", type=ranged(int, ge=0), default=None, help="this iteration's checkpoint (default: latest)"
    )
    parser.add_argument(
        "--convert", nargs=2, metavar=("OLD", "NEW"), help="re-save a checkpoint of an older format in today's format"
    )
    parser.add_argument("--trust-file", action="store_true", help=_TRUST_HELP)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.convert:
        if args.source or args.out or args.iteration is not None:
            print("error: --convert OLD NEW takes no other arguments", file=sys.stderr)
            return 2
        return _convert(*args.convert, trusted=args.trust_file)
    if not (args.source and args.out):
        print("error: give SOURCE and OUT (or --convert OLD NEW --trust-file)", file=sys.stderr)
        return 2
    try:
        check_output_file(args.out)
        path = export_model(args.source, args.out, args.iteration)
    except (CheckpointError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


def _convert(old: str, new: str, *, trusted: bool) -> int:
    if not trusted:
        print(
            f"error: {old}: converting reads the old pickle format, which can run code the file carries; "
            "add --trust-file if you trust where the file came from",
            file=sys.stderr,
        )
        return 2
    try:
        check_output_file(new)
        path, version = convert_checkpoint(old, new)
    except (CheckpointError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{path}: converted from checkpoint format {version} to {FORMAT_VERSION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
