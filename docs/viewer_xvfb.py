"""Play whole games in the real viewer window by mouse clicks (xdotool) under Xvfb, and take screenshots.

    Xvfb :99 -screen 0 1100x800x24 &
    DISPLAY=:99 python docs/viewer_xvfb.py chess --opponent "uci:stockfish:nodes=300" \\
        --mover "uci:stockfish:nodes=20000" --shots docs/images/viewer_chess
    DISPLAY=:99 python docs/viewer_xvfb.py chess --opponent human --moves "a4 b5 axb5 a6 bxa6 Bb7 axb7 Nc6 bxa8=Q" \\
        --shots docs/images/viewer_chess_script

`gamelab play GAME --opponent SPEC` runs in its own process and window; this script only sees the screen. It plays
the person's side with the `--mover` player (or the `--moves` list), clicking the piece and then its square (every
third move dragged instead, a promotion picked in the choice), and knows the opponent's replies by running the same
player with the same seed on the same positions (deterministic players only: alpha-beta, Stockfish with a node
limit). After every move it waits until the window shades the move's squares, so a click never lands early. At the
end it checks the game the viewer recorded against the moves it played. Needs Xvfb, xdotool and ImageMagick's
`import` (apt-get install xvfb xdotool imagemagick).
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pygame
import torch

import envs
from agents.players import make_player
from arena.records import load_replays
from arena.viewer.controller import Viewer
from envs.chess_draw import square_rect
from envs.chess_san import move_san, parse_san

WINDOW = (1000, 720)
_LAST = (205, 210, 106, 150)  # arena.viewer.chessboard's shade of the last move's squares


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def _grab(wid: str) -> pygame.Surface:
    png = subprocess.run(["import", "-window", wid, "png:-"], check=True, capture_output=True).stdout
    return pygame.image.load(io.BytesIO(png), "shot.png")


def _blend(under: tuple[int, int, int]) -> tuple[int, ...]:
    a = _LAST[3] / 255
    return tuple(round(s * a + d * (1 - a)) for s, d in zip(_LAST[:3], under))


class Window:
    """The viewer's window: where squares are, clicks and drags on them, screenshots."""

    def __init__(self, wid: str, game: envs.Game, flipped: bool = False):
        self.wid, self.game, self.flipped = wid, game, flipped
        info = _run("xwininfo", "-id", wid)
        x = int(info.split("Absolute upper-left X:")[1].split()[0])
        y = int(info.split("Absolute upper-left Y:")[1].split()[0])
        self.origin = (x, y)
        probe = Viewer(game.name, dict(game.options), seats=("human", "human"), record_dir=None)
        probe.draw(pygame.Surface(WINDOW))
        self.board = probe.board_rect

    def rect(self, square: str) -> pygame.Rect:
        return square_rect(square, self.board.size, self.game.board_shape, self.flipped).move(self.board.topleft)

    def at(self, square: str) -> tuple[int, int]:
        cx, cy = self.rect(square).center
        return self.origin[0] + cx, self.origin[1] + cy

    def click(self, xy: tuple[int, int]) -> None:
        _run("xdotool", "mousemove", "--sync", str(xy[0]), str(xy[1]), "click", "1")
        time.sleep(0.15)

    def drag(self, a: tuple[int, int], b: tuple[int, int], shot: Path | None = None) -> None:
        _run("xdotool", "mousemove", "--sync", str(a[0]), str(a[1]), "mousedown", "1")
        for k in (1, 2, 3):
            x, y = a[0] + (b[0] - a[0]) * k // 4, a[1] + (b[1] - a[1]) * k // 4
            _run("xdotool", "mousemove", "--sync", str(x), str(y))
            time.sleep(0.08)
        if shot is not None:
            time.sleep(0.3)
            self.save(shot)
        _run("xdotool", "mousemove", "--sync", str(b[0]), str(b[1]), "mouseup", "1")
        time.sleep(0.15)

    def key(self, name: str) -> None:
        _run("xdotool", "key", name)  # the window under the pointer has the keyboard (no window manager)
        time.sleep(0.2)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        _run("import", "-window", self.wid, str(path))
        print("screenshot", path)

    def shaded(self, squares: tuple[str, ...]) -> bool:
        """Whether the window shows these squares shaded as the last move."""
        shot = _grab(self.wid)
        for sq in squares:
            rect = self.rect(sq)
            pixel = tuple(shot.get_at((rect.left + 3, rect.top + 3)))[:3]
            light = (ord(sq[0]) - 97 + int(sq[1:]) + self.game.board_shape[1]) % 2 == 0  # as envs.chess_draw
            want = _blend((240, 217, 181) if light else (181, 136, 99))
            if max(abs(p - w) for p, w in zip(pixel, want)) > 4:
                return False
        return True

    def wait_shaded(self, squares: tuple[str, ...], timeout: float = 120.0) -> None:
        end = time.monotonic() + timeout
        while not self.shaded(squares):
            if time.monotonic() > end:
                raise RuntimeError(f"the window never showed the move {squares}")
            time.sleep(0.25)


def _find_window(name: str, timeout: float = 180.0) -> str:
    """The id of the top-level window called `name` (xwininfo: xdotool's search misses SDL's windows without a
    window manager)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for line in _run("xwininfo", "-root", "-tree").splitlines():
            if f'"{name}":' in line:
                return line.split()[0]
        time.sleep(1.0)
    raise RuntimeError(f"no window {name!r} appeared")


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
    args = p.parse_args()
    options = envs.parse_options(args.option)
    game = envs.get_game(args.game, **options)
    replays = Path(tempfile.mkdtemp(prefix="viewer_xvfb_"))
    cmd = [sys.executable, "-m", "core.cli", "play", args.game, "--opponent", args.opponent, "--side", args.side]
    cmd += [f"--option={o}" for o in args.option] + ["--window", "x".join(map(str, WINDOW)), "--replays", str(replays)]
    viewer = subprocess.Popen(cmd, env=dict(os.environ, SDL_VIDEODRIVER="x11"))
    try:
        return _play(args, game, viewer, replays)
    finally:
        viewer.terminate()
        viewer.wait(20)


def _play(args, game, viewer, replays) -> int:
    pygame.font.init()
    wid = _find_window("gamelab")
    time.sleep(2.0)
    human = 0 if args.side == "first" else 1
    both = args.opponent == "human"
    win = Window(wid, game, flipped=human == 1 and not both)
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
                win.click(win.at(frm))
                time.sleep(0.3)
                win.save(Path(f"{prefix}_picked.png"))
                win.click(win.at(to))
            elif ply % 3 == 2:
                win.drag(win.at(frm), win.at(to), shot=Path(f"{prefix}_drag.png") if ply == 8 else None)
            else:
                win.click(win.at(frm))
                win.click(win.at(to))
            if len(uci) == 5:  # the promotion choice: a column of q, n, r, b from the target square inwards
                time.sleep(0.3)
                win.save(Path(f"{prefix}_promotion.png"))
                rect = win.rect(to)
                step = rect.height if rect.centery < win.board.centery else -rect.height
                k = "qnrb".index(uci[4])
                win.click((win.at(to)[0], win.at(to)[1] + k * step))
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
            win.wait_shaded((frm, to))
        print(f"{ply + 1:3d}. {sans[-1]}", flush=True)
        if both and script and ply == len(script) - 1:
            break
    time.sleep(1.5)
    if both:
        win.key("f")
        time.sleep(0.5)
    win.save(Path(f"{prefix}_end.png"))
    print("result:", game.termination(state)[0] or "unfinished", " ".join(sans))
    if not both and bool(state.done[0]):
        for _ in range(40):
            files = list(replays.glob("*.jsonl"))
            if files:
                break
            time.sleep(0.5)
        record = load_replays(files[0])[-1]
        assert record["moves"] == played, "the viewer recorded other moves than were clicked"
        print("recorded:", files[0], record["result"], record.get("termination"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
