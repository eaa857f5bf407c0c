"""Play a whole shogi or minishogi game in the real viewer window by mouse clicks (xdotool) under Xvfb, and take
screenshots.

    Xvfb :99 -screen 0 1100x800x24 &
    DISPLAY=:99 python docs/viewer_xvfb_shogi.py minishogi --shots docs/images/viewer_minishogi
    DISPLAY=:99 python docs/viewer_xvfb_shogi.py shogi --max-plies 24 --shots docs/images/viewer_shogi

`gamelab play GAME --opponent SPEC` runs in its own process and window; this script only sees the screen. It plays
the person's side with seeded random legal moves (drops included; a move that may promote or not is taken when there
is one until the choice has been shown, then half the time, promoting or not at random): a click on the piece (on
the board or in the hand), a click on the target, and a click on the promotion choice where it opens. It knows the
opponent's replies by running the same player with the same seed on the same positions (deterministic players:
alpha-beta). After every move it waits until the window's board shows exactly the picture of the new position
(drawn offscreen by the same viewer code), so a click never lands early. At the end it checks the game the viewer
recorded against the moves played. Needs Xvfb, xdotool and ImageMagick's `import`.
"""

from __future__ import annotations

import argparse
import io
import os
import random
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
from arena.viewer import shogiboard
from arena.viewer.controller import Viewer
from arena.viewer.session import GameSession
from envs.shogi_draw import hand_rects, square_rect
from envs.shogi_notation import parse_square

WINDOW = (1000, 720)


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def _grab(wid: str) -> pygame.Surface:
    png = subprocess.run(["import", "-window", wid, "png:-"], check=True, capture_output=True).stdout
    return pygame.image.load(io.BytesIO(png), "shot.png")


def _find_window(name: str, timeout: float = 180.0) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for line in _run("xwininfo", "-root", "-tree").splitlines():
            if f'"{name}":' in line:
                return line.split()[0]
        time.sleep(1.0)
    raise RuntimeError(f"no window {name!r} appeared")


class Window:
    """The viewer's window: where squares and hand pieces are, clicks, screenshots, and what the board shows."""

    def __init__(self, wid: str, game: envs.Game):
        self.wid, self.game = wid, game
        info = _run("xwininfo", "-id", wid)
        self.origin = (
            int(info.split("Absolute upper-left X:")[1].split()[0]),
            int(info.split("Absolute upper-left Y:")[1].split()[0]),
        )
        self.probe = Viewer(game.name, dict(game.options), seats=("human", "human"), record_dir=None)
        self.probe.draw(pygame.Surface(WINDOW))
        self.board = self.probe.board_rect

    def _screen(self, local: tuple[int, int]) -> tuple[int, int]:
        return self.origin[0] + local[0], self.origin[1] + local[1]

    def square(self, name: str) -> tuple[int, int]:
        n = self.game.size
        return self._screen(square_rect(n, parse_square(name, n), self.board.size).move(self.board.topleft).center)

    def hand(self, state, side: int, letter: str) -> tuple[int, int]:
        t = "PLNSBRGK".index(letter) + 1
        rows = hand_rects(self.game.size, self.board.size, state.hands[0].tolist())
        rect = next(r for s, k, _, r in rows if (s, k) == (side, t))
        return self._screen(rect.move(self.board.topleft).center)

    def choice(self, target: str, promote: bool) -> tuple[int, int]:
        self.probe.shogi.promotion = (parse_square(target, self.game.size), {"+": 0, "=": 0})
        rects = {w: r for r, w in shogiboard.choice_rects(self.probe)}
        self.probe.shogi.promotion = None
        return self._screen(rects["+" if promote else "="].center)

    def click(self, xy: tuple[int, int]) -> None:
        _run("xdotool", "mousemove", "--sync", str(xy[0]), str(xy[1]), "click", "1")
        time.sleep(0.2)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        _run("import", "-window", self.wid, str(path))
        print("screenshot", path, flush=True)

    def expected(self, game: envs.Game, actions: list[int]) -> bytes:
        """The board region as the viewer draws the position after `actions` (offscreen, same code)."""
        self.probe.session = GameSession.from_moves(game, actions, players=["human", "human"])
        surface = pygame.Surface(WINDOW)
        self.probe.draw(surface)
        return pygame.image.tostring(surface.subsurface(self.board), "RGB")

    def shows(self, picture: bytes) -> bool:
        shot = _grab(self.wid)
        got = pygame.image.tostring(shot.subsurface(self.board), "RGB")
        differ = sum(a != b for a, b in zip(got[::97], picture[::97]))
        return differ <= len(picture[::97]) // 500

    def wait_for(self, game: envs.Game, actions: list[int], timeout: float = 180.0) -> None:
        picture = self.expected(game, actions)
        end = time.monotonic() + timeout
        while not self.shows(picture):
            if time.monotonic() > end:
                raise RuntimeError(f"the window never showed the position after {len(actions)} moves")
            time.sleep(0.3)


def _think(player, game, state) -> int:
    with torch.inference_mode():
        return int(torch.as_tensor(player(game, state)).reshape(-1)[0])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("game", choices=["shogi", "minishogi"])
    p.add_argument("--opponent", default="alphabeta:1")
    p.add_argument("--shots", default="docs/images/viewer_minishogi", help="screenshot path prefix")
    p.add_argument("--max-plies", type=int, default=300)
    p.add_argument("--seed", type=int, default=3)
    args = p.parse_args()
    pygame.font.init()
    game = envs.get_game(args.game)
    replays = Path(tempfile.mkdtemp(prefix="viewer_xvfb_shogi_"))
    cmd = [sys.executable, "-m", "core.cli", "play", args.game, "--opponent", args.opponent, "--side", "first"]
    cmd += ["--window", "x".join(map(str, WINDOW)), "--replays", str(replays)]
    viewer = subprocess.Popen(cmd, env=dict(os.environ, SDL_VIDEODRIVER="x11"))
    try:
        return _play(args, game, replays)
    finally:
        viewer.terminate()
        viewer.wait(20)


def _play(args, game: envs.Game, replays: Path) -> int:
    win = Window(_find_window("gamelab"), game)
    time.sleep(1.0)
    win.wait_for(game, [])
    rng = random.Random(args.seed)
    opponent = make_player(args.opponent, game, seed=0)
    prefix = Path(args.shots)
    state, played, names = game.init(1), [], []
    shot_picked = shot_choice = False
    while not bool(state.done[0]) and len(played) < args.max_plies:
        if int(state.player[0]) == 0:  # the person: clicks
            legal = game.legal_usi(state, 0)
            choices = [a for a, u in legal.items() if u.endswith("+") and u[:-1] in legal.values()]
            if choices and (not shot_choice or rng.random() < 0.5):  # the promotion choice, shown at least once
                action = rng.choice(sorted(choices))
                action = rng.choice([action, game.usi_to_action(state, 0, legal[action][:-1])])
            else:
                action = rng.choice(sorted(legal))
            usi = legal[action]
            if usi[1] == "*":
                win.click(win.hand(state, 0, usi[0]))
            else:
                win.click(win.square(usi[:2]))
            if not shot_picked and len(played) >= 6:
                time.sleep(0.4)
                win.save(Path(f"{prefix}_picked.png"))
                shot_picked = True
            win.click(win.square(usi[2:4]))
            base = usi.rstrip("+")
            if base != usi or base + "+" in legal.values():
                if base in legal.values() and base + "+" in legal.values():  # the choice opens
                    time.sleep(0.4)
                    if not shot_choice:
                        win.save(Path(f"{prefix}_choice.png"))
                        shot_choice = True
                    win.click(win.choice(usi[2:4], usi.endswith("+")))
        else:
            action = _think(opponent, game, state)
        names.append(game.move_name(state, 0, action))
        mine = int(state.player[0]) == 0
        state = game.step(state, torch.tensor([action]))
        played.append(action)
        if not mine or bool(state.done[0]):  # after the person's move the agent may answer before a look
            win.wait_for(game, played)
        print(f"{len(played):3d}. {names[-1]}", flush=True)
    time.sleep(1.0)
    win.save(Path(f"{prefix}_end.png"))
    print("result:", game.termination(state)[0] or "unfinished", " ".join(names), flush=True)
    if bool(state.done[0]):
        for _ in range(60):
            files = list(replays.glob("*.jsonl"))
            if files:
                break
            time.sleep(0.5)
        record = load_replays(files[0])[-1]
        assert record["moves"] == played, "the viewer recorded other moves than were clicked"
        print("recorded:", files[0], record["result"], record.get("termination"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
