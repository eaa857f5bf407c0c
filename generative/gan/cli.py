"""`gamelab gan train|eval`: train a GAN (generative.gan.trainer), or score a run's samples offline
(generative.gan.scorecard).

    gamelab gan train [--preset NAME] [--key=value | --key value ...] [--resume RUN] [--runs DIR] [--dry-run] ...
    gamelab gan eval RUN [--json] [--n N] [--raw] [--inception WEIGHTS]
"""

from __future__ import annotations

import sys

from . import scorecard, trainer

__all__ = ["SUBCOMMANDS", "main"]

SUBCOMMANDS = {"train": trainer.main, "eval": scorecard.main}


def main(argv: list[str] | None = None) -> int:
    """`gamelab gan train ...` or `gamelab gan eval ...`. Returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print("usage: gamelab gan {train,eval} [ARGS...]\n")
        print(__doc__)
        print("'gamelab gan train --help' and 'gamelab gan eval --help' show the options.")
        return 0
    if argv[0] not in SUBCOMMANDS:
        print(f"error: unknown subcommand gan {argv[0]!r}; use train or eval", file=sys.stderr)
        return 2
    return int(SUBCOMMANDS[argv[0]](argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
