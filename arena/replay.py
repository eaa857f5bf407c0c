"""`gamelab replay FILE`: review a recorded game in the viewer.

    gamelab replay replays/connect_four-20261124.jsonl            # the last game in the file
    gamelab replay replays/connect_four-20261124.jsonl --index 0  # the first one
    gamelab replay FILE --list                                     # one line per game in the file

Step with Left/Right (or Home/End), A autoplays, C continues the game from the shown position against an
agent (`--opponent`, default the bundled model). SGF files (go, gomoku, hex) open too.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["main", "load_session"]


def _record_from_sgf(sgf: dict) -> dict:
    """The parts of a replay record that an SGF game gives: game and options, players, moves."""
    H, W = sgf["board_shape"]
    if H != W:
        raise ValueError(f"SGF board {W}x{H}: only square boards are supported")
    options = {"size": H}
    if sgf["game"] == "go" and sgf.get("komi") is not None:
        options["komi"] = sgf["komi"]
    return {"game": {"name": sgf["game"], "options": options}, "players": sgf["players"], "moves": sgf["moves"]}


def load_session(path: str | os.PathLike, index: int = -1):
    """The GameSession of game `index` of a replay file (JSONL, or SGF), with the cursor at the start.

    Raises:
        FileNotFoundError, ValueError: a missing file, an empty one, or an index out of range.
    """
    import envs
    from arena.replays import load_replays, parse_sgf
    from arena.session import GameSession

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such replay file")
    if path.suffix.lower() == ".sgf":
        records = [_record_from_sgf(parse_sgf(path.read_text(encoding="utf-8")))]
    else:
        records = load_replays(path)
    if not records:
        raise ValueError(f"{path}: holds no recorded game")
    if not -len(records) <= index < len(records):
        raise ValueError(f"{path}: game index {index} out of range (the file holds {len(records)} games)")
    record = records[index]
    game = envs.get_game(record["game"]["name"], **record["game"].get("options", {}))
    names = [p.get("name", "?") if isinstance(p, dict) else str(p or "?") for p in record.get("players", ["?", "?"])]
    session = GameSession.from_moves(game, record["moves"], players=names)
    session.infos = list(record.get("move_info") or [None] * len(record["moves"]))
    if record.get("reason") == "resignation" and record.get("winner") is not None:
        session.resigned = 1 - int(record["winner"])
    session.jump(0)
    return session


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="gamelab replay", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("file", help="a replay file (.jsonl) or an SGF file")
    p.add_argument("--index", type=int, default=-1, help="which game of the file (default: the last)")
    p.add_argument("--list", action="store_true", help="list the games in the file and exit")
    p.add_argument("--opponent", default="bundled", help="agent to continue against (player spec)")
    p.add_argument("--sims", type=int, default=400)
    p.add_argument("--move", type=int, default=0, help="start at this move number")
    p.add_argument("--screenshot", default=None, metavar="PATH", help="write a PNG of the position and exit")
    p.add_argument("--sgf", default=None, metavar="PATH", help="write the game as SGF (go, gomoku, hex) and exit")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    if args.sgf:
        from arena.replays import load_replays, to_sgf
        from core.checkpoint import atomic_write

        try:
            text = to_sgf(load_replays(args.file)[args.index])
        except (OSError, ValueError, IndexError) as err:
            print(f"gamelab replay: {err}", file=sys.stderr)
            return 2
        atomic_write(args.sgf, text.encode("utf-8"))
        print(args.sgf)
        return 0
    if args.list:
        from arena.replays import load_replays

        try:
            records = load_replays(args.file)
        except (OSError, ValueError) as err:
            print(f"gamelab replay: {err}", file=sys.stderr)
            return 2
        for i, r in enumerate(records):
            names = " vs ".join(pl.get("name", "?") for pl in r.get("players", []))
            print(f"{i:4d}  {r['game']['name']:<13} {len(r['moves']):4d} moves  result {r.get('result')}  {names}")
        return 0
    try:
        session = load_session(args.file, args.index)
    except (OSError, ValueError) as err:
        print(f"gamelab replay: {err}", file=sys.stderr)
        return 2
    session.jump(args.move)
    from arena.play import Viewer, render_screenshot

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
    import pygame

    pygame.display.init()
    pygame.font.init()
    screen = pygame.display.set_mode((1000, 720), pygame.RESIZABLE)
    pygame.display.set_caption(f"gamelab replay: {Path(args.file).name}")
    clock = pygame.time.Clock()
    running = True
    while running and not viewer.quit_to_menu:
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                running = False
            elif event.type == pygame.VIDEORESIZE:
                screen = pygame.display.set_mode((max(480, event.w), max(360, event.h)), pygame.RESIZABLE)
            else:
                viewer.handle(event)
        viewer.update()
        viewer.draw(screen)
        pygame.display.flip()
        clock.tick(30)
    viewer.close()
    pygame.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
