"""`gamelab replay FILE`: review a recorded game in the viewer.

    gamelab replay replays/examples/connect_four.jsonl            # the last game in the file (it ships)
    gamelab replay replays/examples/connect_four.jsonl --index 0  # the first one
    gamelab replay FILE --list                                     # one line per game in the file

Step with Left/Right (or Home/End), A autoplays, C continues the game from the shown position against an
agent (`--opponent`, default the bundled model). SGF files (go, gomoku, hex) and PGN files (chess) open too.

    gamelab replay replays/examples/chess.pgn --screenshot end.png  # a PGN game's last position as a PNG
    gamelab replay game.pgn                                        # review a PGN game (--index picks one of several)
The same command runs as `python -m arena.viewer.replay`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pygame

from agents.mcts import PLAY_SIMULATIONS
from arena.pgn import to_pgn
from arena.records import to_sgf
from arena.viewer.controller import Viewer
from arena.viewer.play import render_screenshot
from arena.viewer.recording import load_records, load_session
from core.checkpoint import atomic_write
from core.job import ranged
from core.paths import check_output_file
from core.window import EventWaiter, freeze_heap

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="gamelab replay", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("file", help="a replay file (.jsonl), an SGF file or a PGN file")
    p.add_argument("--index", type=int, default=-1, help="which game of the file (default: the last)")
    p.add_argument("--list", action="store_true", help="list the games in the file and exit")
    p.add_argument("--opponent", default="bundled", help="agent to continue against (player spec)")
    p.add_argument("--sims", type=ranged(int, ge=1), default=PLAY_SIMULATIONS,
                   help=f"search simulations per move of the agent (default {PLAY_SIMULATIONS})")  # fmt: skip
    p.add_argument(
        "--move",
        type=int,
        default=None,
        help="show the position after this many moves (default: the start; with --screenshot the end)",
    )
    p.add_argument("--screenshot", default=None, metavar="PATH", help="write a PNG of the position and exit")
    p.add_argument("--sgf", default=None, metavar="PATH", help="write the game as SGF (go, gomoku, hex) and exit")
    p.add_argument("--pgn", default=None, metavar="PATH", help="write the game as PGN (chess) and exit")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    try:
        for out in (args.sgf, args.pgn, args.screenshot):
            if out:
                check_output_file(out)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for out, convert in ((args.sgf, to_sgf), (args.pgn, to_pgn)):
        if not out:
            continue
        try:
            records = load_records(args.file)
            if not -len(records) <= args.index < len(records):
                raise ValueError(f"{args.file}: game index {args.index} out of range ({len(records)} games)")
            text = convert(records[args.index])
        except (OSError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        atomic_write(out, text.encode("utf-8"))
        print(out)
        return 0
    if args.list:
        try:
            records = load_records(args.file)
        except (OSError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        for i, r in enumerate(records):
            names = " vs ".join(pl.get("name", "?") if isinstance(pl, dict) else str(pl) for pl in r.get("players", []))
            print(f"{i:4d}  {r['game']['name']:<13} {len(r['moves']):4d} moves  result {r.get('result')}  {names}")
        return 0
    try:
        session = load_session(args.file, args.index)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    session.jump(args.move if args.move is not None else (len(session.states) - 1 if args.screenshot else 0))
    spec = args.opponent if args.opponent in ("random", "human") or ":" in args.opponent else None
    if spec is None:
        spec = f"{args.opponent}:{args.sims}" if args.opponent in ("bundled", "rollout") else f"az:{args.opponent}"
    if args.opponent.startswith("alphabeta"):
        spec = args.opponent
    viewer = Viewer(
        session.game.name,
        dict(session.game.options),
        ("human", "human"),
        review=session,
        hint_spec=spec,
        device=args.device,
        record_dir="replays",
    )
    if args.screenshot:
        print(render_screenshot(viewer, args.screenshot))
        return 0
    pygame.display.init()
    pygame.font.init()
    screen = pygame.display.set_mode((1000, 720), pygame.RESIZABLE)
    pygame.display.set_caption(f"gamelab replay: {Path(args.file).name}")
    clock = pygame.time.Clock()
    waiter = EventWaiter()
    viewer.on_change = waiter.wake
    freeze_heap()
    timeout: float | None = 0.0
    running = True
    while running and not viewer.quit_to_menu:  # draws only when something changed, as `gamelab play` does
        events, due = waiter.wait(timeout)
        changed = due or bool(events)
        for event in events:
            if event.type == pygame.QUIT:
                running = False
            elif event.type == pygame.VIDEORESIZE:
                screen = pygame.display.set_mode((max(480, event.w), max(360, event.h)), pygame.RESIZABLE)
            else:
                viewer.handle(event)
        if viewer.update() or changed:
            viewer.draw(screen)
            pygame.display.flip()
            clock.tick(30)
        timeout = viewer.wake_after()
    viewer.close()
    pygame.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
