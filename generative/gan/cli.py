"""`gamelab gan train|eval|memorisation|explore`: train a GAN (generative.gan.trainer), score a run's samples
offline (generative.gan.scorecard), check it for copied training images (generative.gan.memorisation), or explore its
latent space in a window (generative.gan.explore).

    gamelab gan train [--preset NAME] [--key=value | --key value ...] [--resume RUN] [--runs DIR] [--dry-run] ...
    gamelab gan eval RUN [--json] [--n N] [--raw] [--inception WEIGHTS]
    gamelab gan memorisation RUN [--n N] [--heldout SPEC] [--picture PATH] [--json]
    gamelab gan explore RUN [--seed S] [--psi PSI] [--seed2 S] [--mix coarse|middle|fine] [--screenshot PATH]
"""

from __future__ import annotations

import sys

from . import memorisation, scorecard, trainer

__all__ = ["SUBCOMMANDS", "main"]


def _explore(argv: list[str]) -> int:
    from . import explore  # pygame only loads for the window

    return explore.main(argv)


SUBCOMMANDS = {"train": trainer.main, "eval": scorecard.main, "memorisation": memorisation.main, "explore": _explore}


def main(argv: list[str] | None = None) -> int:
    """`gamelab gan train ...` or `gamelab gan eval ...`. Returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print("usage: gamelab gan {train,eval,memorisation,explore} [ARGS...]\n")
        print(__doc__)
        print("'gamelab gan SUBCOMMAND --help' shows its options.")
        return 0
    if argv[0] not in SUBCOMMANDS:
        print(f"error: unknown subcommand gan {argv[0]!r}; use train, eval, memorisation or explore", file=sys.stderr)
        return 2
    return int(SUBCOMMANDS[argv[0]](argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
