"""`gamelab style`: style transfer, texture synthesis and fast style networks.

gamelab style transfer CONTENT STYLE -o OUT     Gatys optimization (generative.style.transfer)
gamelab style texture STYLE -o OUT              texture synthesis (generative.style.texture)
gamelab style train STYLE --data DIR|builtin    train a fast style network (generative.style.train)
gamelab style apply CHECKPOINT INPUT... -o OUT  stylize with a trained network (generative.style.apply)
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["SUBCOMMANDS", "main"]

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "transfer": ("generative.style.transfer", "style transfer by image optimization (Gatys et al.)"),
    "texture": ("generative.style.texture", "texture synthesis from one image"),
    "train": ("generative.style.train", "train a fast feed-forward style network (Johnson et al.)"),
    "apply": ("generative.style.apply", "stylize images or frames with a trained network"),
}


def _usage() -> str:
    lines = ["usage: gamelab style SUBCOMMAND [ARGS...]", "", "subcommands:"]
    lines += [f"  {name:9} {text}" for name, (_, text) in SUBCOMMANDS.items()]
    lines += ["", "'gamelab style SUBCOMMAND --help' shows its options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a subcommand's main(argv). Returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] not in SUBCOMMANDS:
        print(f"gamelab style: unknown subcommand {argv[0]!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(SUBCOMMANDS[argv[0]][0])
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
