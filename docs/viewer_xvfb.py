"""Play whole games in the real viewer window by mouse clicks (xdotool) under Xvfb, and take screenshots.

    python docs/viewer_xvfb.py chess --xvfb --opponent "uci:stockfish:nodes=300" \\
        --mover "uci:stockfish:nodes=20000" --shots docs/images/viewer_chess
    python docs/viewer_xvfb.py chess --xvfb --opponent human --moves "a4 b5 axb5 a6 bxa6 Bb7 axb7 Nc6 bxa8=Q" \\
        --shots docs/images/viewer_chess_script

`gamelab play GAME --opponent SPEC` runs in its own process and window; this script only sees the screen. It plays
the person's side with the `--mover` player (or the `--moves` list), clicking the piece and then its square (every
third move dragged instead, a promotion picked in the choice), and knows the opponent's replies by running the same
player with the same seed on the same positions (deterministic players only: alpha-beta, Stockfish with a node
limit). After every move it waits until the window shades the move's squares, so a click never lands early. At the
end it checks the game the viewer recorded against the moves it played. `--xvfb` starts a private Xvfb on a free
display, else the window opens on DISPLAY. The X driving is arena.viewer.xdriver's (needs Xvfb, xdotool, xwininfo
and ImageMagick's `import`: apt-get install xvfb xdotool x11-utils imagemagick).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

import pygame
import torch

import envs
from agents.players import make_player
from arena.viewer.xdriver import XWindow, check_record, layout, viewer_window, xvfb
from envs.chess_draw import square_rect
from envs.chess_san import move_san, parse_san

WINDOW = (1000, 720)
_LAST = (205, 210, 106, 150)  # arena.viewer.chessboard's shade of the last move's squares


def _blend(under: tuple[int, int, int]) -> tuple[int, ...]:
    a = _LAST[3] / 255
    return tuple(round(s * a + d * (1 - a)) for s, d in zip(_LAST[:3], under))


class Board:
    """Where the window's squares are, and whether it shows a move's squares shaded."""

    def __init__(self, win: XWindow, game: envs.Game, flipped: bool = False):
        self.win, self.game, self.flipped = win, game, flipped
        self.board = layout(game, WINDOW).board_rect

    def rect(self, square: str) -> pygame.Rect:
        return square_rect(square, self.board.size, self.game.board_shape, self.flipped).move(self.board.topleft)

    def at(self, square: str) -> tuple[int, int]:
        return self.rect(square).center

    def shaded(self, shot: pygame.Surface, squares: tuple[str, ...]) -> bool:
        """Whether the screenshot shows these squares shaded as the last move."""
        for sq in squares:
            rect = self.rect(sq)
            pixel = tuple(shot.get_at((rect.left + 3, rect.top + 3)))[:3]
            light = (ord(sq[0]) - 97 + int(sq[1:]) + self.game.board_shape[1]) % 2 == 0  # as envs.chess_draw
            want = _blend((240, 217, 181) if light else (181, 136, 99))
            if max(abs(p - w) for p, w in zip(pixel, want)) > 4:
                return False
        return True

    def wait_shaded(self, squares: tuple[str, ...]) -> None:
        self.win.wait_until(lambda shot: self.shaded(shot, squares), f"the move {squares}")


def _think(player, game, state) -> int:
    think = getattr(player, "think", None)
    with torch.inference_mode():
        out = think(game, state, lambda: False, lambda f: None) if think else player(game, state)
    return int(torch.as_tensor(out).reshape(-1)[0])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("game")
    p.add_argument("--option", action="append", default=[])
    p.add_argument("--opponent", default="alphabeta:2")
    p.add_argument("--mover", default="alphabeta:3", help="who plays the person's side")
    p.add_argument("--moves", default="", help="SAN moves to click for both sides (with --opponent human)")
    p.add_argument("--side", default="first", choices=["first", "second"])
    p.add_argument("--shots", default="docs/images/viewer", help="screenshot path prefix")
    p.add_argument("--shot-plies", default="", help="plies after which to take a screenshot, e.g. 10,30")
    p.add_argument("--max-plies", type=int, default=400)
    p.add_argument("--xvfb", action="store_true", help="start a private Xvfb on a free display (else: DISPLAY)")
    args = p.parse_args()
    game = envs.get_game(args.game, **envs.parse_options(args.option))
    play = [args.game, "--opponent", args.opponent, "--side", args.side, *(f"--option={o}" for o in args.option)]
    with xvfb() if args.xvfb else contextlib.nullcontext():
        with viewer_window(play, WINDOW) as (win, replays):
            return _play(args, game, win, replays)


def _play(args, game, win: XWindow, replays: Path) -> int:
    time.sleep(1.0)
    human = 0 if args.side == "first" else 1
    both = args.opponent == "human"
    board = Board(win, game, flipped=human == 1 and not both)
    script = args.moves.split()
    mover = None if script else make_player(args.mover, game, seed=1)
    opponent = None if both else make_player(args.opponent, game, seed=0)
    shots = {int(x) for x in args.shot_plies.split(",") if x}
    prefix = Path(args.shots)
    state, played, sans = game.init(1), [], []
    while not bool(state.done[0]) and len(played) < args.max_plies:
        ply = len(played)
        if both or int(state.player[0]) == human:
            action = parse_san(game, state, script[ply]) if script else _think(mover, game, state)
            uci = game.move_to_uci(state, 0, action)
            frm, to = uci[:2], uci[2:4]
            if ply in shots:  # the picked piece and its targets
                win.click(board.at(frm))
                time.sleep(0.3)
                win.save(Path(f"{prefix}_picked.png"))
                win.click(board.at(to))
            elif ply % 3 == 2:
                drag_shot = (lambda: win.save(Path(f"{prefix}_drag.png"))) if ply == 8 else None
                win.drag(board.at(frm), board.at(to), midway=drag_shot)
            else:
                win.click(board.at(frm))
                win.click(board.at(to))
            if len(uci) == 5:  # the promotion choice: a column of q, n, r, b from the target square inwards
                time.sleep(0.3)
                win.save(Path(f"{prefix}_promotion.png"))
                rect = board.rect(to)
                step = rect.height if rect.centery < board.board.centery else -rect.height
                k = "qnrb".index(uci[4])
                win.click((rect.centerx, rect.centery + k * step))
        else:
            action = _think(opponent, game, state)
            uci = game.move_to_uci(state, 0, action)
            frm, to = uci[:2], uci[2:4]
        after = game.step(state, torch.tensor([action]))
        sans.append(move_san(game, state, action, after))
        state = after
        played.append(action)
        mine = not both and int(state.player[0]) != human
        if not mine or bool(state.done[0]):  # after our own move the agent may answer before a check could look
            board.wait_shaded((frm, to))
        print(f"{ply + 1:3d}. {sans[-1]}", flush=True)
        if both and script and ply == len(script) - 1:
            break
    time.sleep(1.5)
    if both:
        win.key("f")
        time.sleep(0.5)
    win.save(Path(f"{prefix}_end.png"))
    print("result:", game.termination(state)[0] or "unfinished", " ".join(sans), flush=True)
    if not both and bool(state.done[0]):
        check_record(replays, played)
    return 0


if __name__ == "__main__":
    sys.exit(main())
