"""The `gamelab` command: one entry point whose subcommands are thin calls into each package's `main(argv)`.

Every job also runs on its own as `python -m package.module`.
"""

from __future__ import annotations

import importlib
import os
import sys

# OpenMP threads that busy-wait fight each other on a shared CPU (measured: 2 spinning threads ran some game steps
# 100x slower than 1 on a loaded 2-core machine). OpenMP reads this when torch loads, so it is set before any import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__all__ = ["COMMANDS", "BENCHES", "main"]

# subcommand -> (module whose main(argv) runs it, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("arena.train", "AlphaZero self-play training run for a board game"),
    "export": ("agents.export", "export a trained network from a run (e.g. as a bundled model)"),
    "agent": ("agents.protocol", "line protocol: read positions on stdin, print the agent's moves"),
    "uci": ("agents.uci", "UCI chess engine for GUIs and python-chess (gamelab uci chess)"),
    "usi": ("agents.usi", "USI shogi engine for shogi GUIs and cshogi (gamelab usi shogi|minishogi)"),
    "gtp": ("agents.gtp", "GTP engine for Go: play the agent from GoGui, Sabaki or other Go programs"),
    "play": ("arena.viewer.play", "pygame viewer: play against an agent, or watch agents play"),
    "evaluate": ("arena.evaluate", "mistakes against perfect play: connect four solved positions, all of tic-tac-toe"),
    "match": ("arena.match", "a match between two players with W/D/L and an Elo difference"),
    "tournament": ("arena.tournament", "round robin between players with an Elo table"),
    "games": ("arena.games", "game collections: games generate GAME --white SPEC --black SPEC --out FILE"),
    "replay": ("arena.viewer.replay", "open a recorded game in the viewer"),
    "gan": ("generative.gan.cli", "train or evaluate a GAN (gan train, gan eval)"),
    "generate": ("generative.gan.generate", "generate images from a GAN run or checkpoint"),
    "style": ("generative.style.cli", "style transfer, texture synthesis, fast style networks"),
    "dream": ("generative.style.dream", "Deep Dream on an image"),
    "recipe": ("arena.gpu_recipe", "the GPU recipe: CUDA tests, benchmarks, a Connect Four gpu run, as JSON"),
    "bench": (
        "",
        "benchmarks: bench envs | selfplay | play | agent | ladder | gan | style | distributed | duplicates | threats",
    ),
}

BENCHES: dict[str, tuple[str, str]] = {
    "envs": ("envs.bench", "batched game steps per second against PettingZoo"),
    "selfplay": ("agents.bench", "network, search and self-play throughput"),
    "agent": ("arena.bench.agent", "gamelab agent: waiting lines searched together against one at a time"),
    "ladder": ("arena.ladder", "one player against opponents (Go: GNU Go levels): W/D/L, Elo with 95% interval"),
    "play": ("arena.bench.play", "one game at a time: search speed and strength against leaves per network call"),
    "gan": ("generative.gan.bench", "GAN training images per second, eager fp32 against the tuned path"),
    "style": ("generative.style.bench", "style transfer iterations and feed-forward images per second"),
    "distributed": ("arena.bench.distributed", "self-play on Ray actors against one process, learner steps/s"),
    "duplicates": ("arena.bench.duplicates", "duplicate positions in a run's replay window; merging's learner cost"),
    "threats": ("arena.threat_probe", "a network's prior, value and search on one-four positions, by line direction"),
}


def _usage(table: dict[str, tuple[str, str]], prog: str) -> str:
    width = max(len(name) for name in table)
    lines = [f"usage: {prog} COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {text}" for name, (_, text) in table.items()]
    lines += ["", f"'{prog} COMMAND --help' shows a command's options."]
    return "\n".join(lines)


def _dispatch(table: dict[str, tuple[str, str]], argv: list[str], prog: str) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage(table, prog))
        return 0
    name, rest = argv[0], argv[1:]
    if name not in table:
        print(f"error: unknown command {name!r} for {prog}; commands: {', '.join(table)}", file=sys.stderr)
        return 2
    if name == "bench" and table is COMMANDS:
        return _dispatch(BENCHES, rest, f"{prog} bench")
    module = importlib.import_module(table[name][0])
    return int(module.main(rest) or 0)


def main(argv: list[str] | None = None) -> int:
    """Run a gamelab subcommand. Returns the process exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return _dispatch(COMMANDS, argv, "gamelab")
    except KeyboardInterrupt:  # Ctrl-C outside a run loop (which says where it stopped): one line, no traceback
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
