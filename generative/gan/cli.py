"""`gamelab gan train|eval|memorisation`: train a GAN (generative.gan.trainer), score a run's samples offline
(generative.gan.scorecard), or check it for copied training images (generative.gan.memorisation).

    gamelab gan train [--preset NAME] [--key=value | --key value ...] [--resume RUN] [--runs DIR] [--dry-run] ...
    gamelab gan eval RUN [--json] [--n N] [--raw] [--inception WEIGHTS]
    gamelab gan memorisation RUN [--n N] [--heldout SPEC] [--picture PATH] [--json]
"""

from __future__ import annotations

import sys

from . import memorisation, scorecard, trainer

__all__ = ["SUBCOMMANDS", "main"]

SUBCOMMANDS = {"train": trainer.main, "eval": scorecard.main, "memorisation": memorisation.main}


def main(argv: list[str] | None = None) -> int:
    """`gamelab gan train ...` or `gamelab gan eval ...`. Returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print("usage: gamelab gan {train,eval,memorisation} [ARGS...]\n")
        print(__doc__)
        print("'gamelab gan train --help' and 'gamelab gan eval --help' show the options.")
        return 0
    if argv[0] not in SUBCOMMANDS:
        print(f"error: unknown subcommand gan {argv[0]!r}; use train, eval or memorisation", file=sys.stderr)
        return 2
    return int(SUBCOMMANDS[argv[0]](argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
