"""`gamelab play`: a pygame window to play against an agent, watch agents play, or review a recorded game.

    gamelab play                                    # start screen: game, opponent, side, strength
    gamelab play connect_four --opponent bundled --side second
    gamelab play go --opponent human                # two people on one board
    gamelab play othello --opponent watch           # agent against agent, speed with + and -
    gamelab play tictactoe --opponent watch --sims 30   # plays on by itself, a move each 0.5 s; Space pauses
    gamelab play connect_four --screenshot board.png --moves "4 4 3" --hints   # a PNG, no display needed
    gamelab play go --screenshot go.png --moves "dd,ee,cc"                     # moves in the game's own text
    gamelab play chess --opponent stockfish --level 3 --side second     # Stockfish at skill level 3; you play black
    gamelab play chess --opponent alphabeta:3                          # any player spec (agents.players)
    gamelab play chess --opponent az:runs/train__chess__0__<time>:400   # a checkpoint (or run) with 400 simulations

Every game played here is appended to replays/<game>-<YYYYmmdd>.jsonl (see arena.records); `gamelab replay FILE`
reviews one. The same command runs as `python -m arena.viewer.play`.
Keys are listed in the help overlay (F1 or ?). The window draws only when something changed (input, a move, a
progress bar or message, see Viewer.wake_after) and otherwise sleeps: an untouched window costs next to no CPU.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path
from typing import Any

import pygame

from arena.viewer.controller import Viewer
from arena.viewer.menu import GAME_CHOICES, STRENGTHS, Menu, MenuChoice
from arena.viewer.session import GameSession
from core.checkpoint import CheckpointError
from core.paths import check_output_dir, check_output_file
from core.window import EventWaiter, freeze_heap
from envs import IllegalActionError, get_game, traits

__all__ = ["main", "render_screenshot"]


OPPONENTS = ("bundled", "rollout", "alphabeta", "random", "human", "watch", "stockfish")
STOCKFISH_LEVELS = {"easy": 0, "medium": 5, "hard": 10, "max": 20}  # Stockfish's "Skill Level" per --strength
MIN_WINDOW = (480, 360)
FPS = 30  # the most frames a second, while input streams in (a drag, the mouse moving over the board)


class UsageError(ValueError):
    """Bad input on the command line: printed as one `error: ...` line, exit status 2."""


def _seats(
    opponent: str, side: str, strength_sims: int, depth: int, rng: random.Random, level: int = 10
) -> tuple[str, str]:
    """Seat specs for an opponent choice: the person takes `side` against it. A choice with a colon is a player
    spec as it stands ("alphabeta:3", "uci:stockfish:Skill Level=3", "az:PATH:400"); `level` is Stockfish's."""
    if opponent == "human":
        return ("human", "human")
    spec = {
        "bundled": f"bundled:{strength_sims}",
        "rollout": f"rollout:{strength_sims}",
        "alphabeta": f"alphabeta:{depth}",
        "random": "random",
        "stockfish": f"uci:stockfish:Skill Level={level}",
    }.get(opponent)
    if spec is None and ":" in opponent:
        spec = opponent
    if spec is None:  # a checkpoint path
        spec = f"az:{opponent}:{strength_sims}"
    if opponent == "watch":
        return (f"bundled:{strength_sims}", f"bundled:{strength_sims}")
    if side == "random":
        side = rng.choice(["first", "second"])
    return ("human", spec) if side == "first" else (spec, "human")


def _parse_options(items: list[str]) -> dict:
    options = {}
    for item in items:
        key, _, value = item.partition("=")
        if not _ or not key:
            raise UsageError(f"--option {item!r} must look like key=value, e.g. size=9")
        try:
            options[key] = int(value)
        except ValueError:
            try:
                options[key] = float(value)
            except ValueError:
                options[key] = value
    return options


def _parse_window(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--window must look like 1000x720, got {text!r}") from None
    if width < MIN_WINDOW[0] or height < MIN_WINDOW[1]:
        raise UsageError(f"--window {text} is too small: at least {MIN_WINDOW[0]}x{MIN_WINDOW[1]}")
    return width, height


def _check_game(name: str, options: dict) -> None:
    """The game and its options, checked by building the game once."""
    try:
        get_game(name, **options)
    except KeyError as err:
        raise UsageError(err.args[0]) from None
    except (ValueError, TypeError) as err:
        raise UsageError(f"--option {' '.join(f'{k}={v}' for k, v in options.items())}: {err}") from None


def _check_opponent(opponent: str) -> None:
    """A named opponent, a checkpoint file, or a player spec (checked when the player is built)."""
    if opponent not in OPPONENTS and ":" not in opponent and not Path(opponent).is_file():
        raise UsageError(
            f"unknown opponent {opponent!r}: one of {', '.join(OPPONENTS)}, a checkpoint file, or a player spec"
            " such as alphabeta:3 or uci:stockfish"
        )


def _make_viewer(*args: object, opponent: str = "", **kwargs: object) -> Viewer:
    """A Viewer; a player that cannot be built (a damaged checkpoint, one for another game) is a usage error."""
    try:
        return Viewer(*args, **kwargs)
    except (ValueError, OSError, KeyError, CheckpointError) as err:
        raise UsageError(f"--opponent {opponent}: {err}" if opponent else str(err)) from None


def render_screenshot(viewer: Viewer, path: str | os.PathLike, size: tuple[int, int] = (1000, 720)) -> Path:
    """Draw the viewer once to an offscreen surface and save it as a PNG (waits for a requested hint).

    Needs no display: only pygame's fonts are started (so SDL's video set-up, and its complaints on a headless
    machine, never run).
    """
    pygame.font.init()
    surface = pygame.Surface(size)
    if viewer.hints_on:
        viewer.update()
        if viewer.hint_thinker is not None:
            viewer.hint_thinker.wait()
    viewer.draw(surface)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix or '.png'}")  # pygame picks the format by it
    try:
        pygame.image.save(surface, str(tmp))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gamelab play", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("game", nargs="?", help="game to play (omit for the start screen)")
    p.add_argument(
        "--opponent",
        default=None,
        help="bundled | rollout | alphabeta | random | human | watch | stockfish (chess) | PATH to a checkpoint"
        " | a player spec: alphabeta:3, az:PATH:400, uci:stockfish:Skill Level=3, ...",
    )
    p.add_argument("--level", type=int, default=None, help="Stockfish's skill level, 0-20 (default by --strength)")
    p.add_argument("--side", default="first", choices=["first", "second", "random"], help="your side")
    p.add_argument("--sims", type=int, default=None, help="agent search simulations per move")
    p.add_argument("--depth", type=int, default=None, help="alpha-beta depth")
    p.add_argument("--think-time", type=float, default=None, help="seconds an agent thinks per move")
    p.add_argument("--strength", default="hard", choices=["easy", "medium", "hard", "max"])
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="game option, e.g. size=9")
    p.add_argument("--device", default="cpu")
    p.add_argument("--replays", default="replays", help="folder where games are recorded")
    p.add_argument("--no-record", action="store_true", help="do not record games")
    p.add_argument("--screenshot", default=None, metavar="PATH", help="write a PNG of the position and exit")
    p.add_argument(
        "--moves",
        default="",
        help="with --screenshot: moves to play first, separated by spaces or commas, in the game's move text: "
        "Connect Four columns 1-7 (as `gamelab agent` and the number keys), Go and Gomoku SGF points (dd; pass), "
        "Hex HexGui points (c5), chess UCI (e2e4); action ids in Go, Gomoku, Hex, chess and in other games",
    )
    p.add_argument("--hints", action="store_true", help="start with the hint overlay on")
    p.add_argument("--window", default="1000x720", help="window size WxH")
    p.add_argument("--seed", type=int, default=0)
    return p


def _session_from_text(game: Any, text: str) -> GameSession:
    """A session with the moves of `text` played (separated by spaces or commas, each read with the game's
    `text_to_move` trait in the position it is played in). ValueError naming the move's number and text."""
    session = GameSession(game)
    for n, word in enumerate(text.replace(",", " ").split(), 1):
        try:
            session.play(traits.text_to_move(game, session.state, 0, word))
        except ValueError as err:  # IllegalActionError too
            raise ValueError(f"move {n} ({word}): {err}") from None
    return session


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        return _run(args)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    width, height = _parse_window(args.window)
    options = _parse_options(args.option)
    if args.game:
        _check_game(args.game, options)
    opponent = args.opponent or "bundled"
    _check_opponent(opponent)
    try:
        if args.screenshot:
            check_output_file(args.screenshot)
        elif not args.no_record:
            check_output_dir(args.replays)
    except ValueError as err:
        raise UsageError(str(err)) from None
    for flag, value in (("--sims", args.sims), ("--depth", args.depth)):
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be at least 1, got {value}")
    if args.level is not None and not 0 <= args.level <= 20:
        raise UsageError(f"--level must be a Stockfish skill level from 0 to 20, got {args.level}")
    if args.think_time is not None and args.think_time <= 0:
        raise UsageError(f"--think-time must be positive, got {args.think_time}")
    sims, depth = STRENGTHS[args.strength]
    sims, depth = args.sims or sims, args.depth or depth
    level = STOCKFISH_LEVELS[args.strength] if args.level is None else args.level
    rng = random.Random(args.seed)
    record_dir = None if args.no_record else args.replays

    if args.screenshot:
        if not args.game:
            raise UsageError("--screenshot needs a GAME")
        game = get_game(args.game, **options)
        try:
            review = _session_from_text(game, args.moves)
        except (ValueError, IllegalActionError) as err:
            raise UsageError(f"--moves {args.moves!r}: {err}") from None
        seats = _seats(opponent, args.side, sims, depth, rng, level) if args.opponent else ("human", "human")
        viewer = _make_viewer(
            args.game,
            options,
            seats,
            record_dir=None,
            device=args.device,
            review=review,
            hint_spec=None if opponent == "human" else _seats(opponent, "first", sims, depth, rng, level)[1],
            seed=args.seed,
            opponent=opponent,
        )
        viewer.reviewing = False
        viewer.session.players = viewer._names()
        viewer.hints_on = args.hints
        print(render_screenshot(viewer, args.screenshot, (width, height)))
        return 0

    viewer = None
    if args.game:
        viewer = _make_viewer(
            args.game,
            options,
            _seats(opponent, args.side, sims, depth, rng, level),
            record_dir=record_dir,
            think_time=args.think_time,
            device=args.device,
            seed=args.seed,
            opponent=opponent,
        )
        viewer.hints_on = args.hints
    pygame.display.init()
    pygame.font.init()
    screen = pygame.display.set_mode((width, height), pygame.RESIZABLE)
    pygame.display.set_caption("gamelab")
    clock = pygame.time.Clock()
    choice = MenuChoice(game=args.game or "connect_four", opponent=opponent, side=args.side, strength=args.strength)
    menu = Menu(choice) if not args.game else None
    waiter = EventWaiter()
    if viewer is not None:
        viewer.on_change = waiter.wake  # a finished search wakes the loop: its move shows at once
    freeze_heap()
    timeout: float | None = 0.0  # the first frame at once
    running = True
    while running:
        events, due = waiter.wait(timeout)
        changed = due or bool(events)  # any event may change the picture: a key, a hover, an expose, a resize
        for event in events:
            if event.type == pygame.QUIT:
                running = False
            elif event.type == pygame.VIDEORESIZE and not os.environ.get("SDL_VIDEODRIVER") == "dummy":
                screen = pygame.display.set_mode((max(480, event.w), max(360, event.h)), pygame.RESIZABLE)
            elif viewer is not None:
                viewer.handle(event)
            elif menu is not None:
                if event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE:
                    running = False
                menu.handle(event, screen.get_size())
        if menu is not None and menu.started and viewer is None:
            sims_c, depth_c = STRENGTHS[choice.strength]
            level_c = STOCKFISH_LEVELS[choice.strength] if args.level is None else args.level
            seats = _seats(choice.opponent, choice.side, args.sims or sims_c, args.depth or depth_c, rng, level_c)
            try:
                game_name, game_options = GAME_CHOICES.get(choice.game, (choice.game, {}))
                viewer = Viewer(
                    game_name,
                    game_options,
                    seats,
                    record_dir=record_dir,
                    think_time=args.think_time,
                    device=args.device,
                    seed=args.seed,
                )
                viewer.on_change = waiter.wake
            except Exception as err:  # e.g. no bundled model for this game: back to the menu with the reason
                print(f"gamelab play: {err}", file=sys.stderr)
                menu.started = False
        if viewer is not None:
            changed = viewer.update() or changed
            if viewer.quit_to_menu:
                viewer.close()
                viewer, menu, changed = None, Menu(choice), True
        if changed:
            (viewer or menu).draw(screen)
            pygame.display.flip()
            clock.tick(FPS)
        timeout = viewer.wake_after() if viewer is not None else None
    if viewer is not None:
        viewer.close()
    pygame.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
