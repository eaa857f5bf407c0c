"""Play a whole shogi or minishogi game in the real viewer window by mouse clicks (xdotool) under Xvfb, and take
screenshots.

    python docs/viewer_xvfb_shogi.py minishogi --xvfb --shots docs/images/viewer_minishogi
    python docs/viewer_xvfb_shogi.py shogi --xvfb --max-plies 24 --shots docs/images/viewer_shogi

`gamelab play GAME --opponent SPEC` runs in its own process and window; this script only sees the screen. It plays
the person's side with seeded random legal moves (drops included; a move that may promote or not is taken when there
is one until the choice has been shown, then half the time, promoting or not at random): a click on the piece (on
the board or in the hand), a click on the target, and a click on the promotion choice where it opens. It knows the
opponent's replies by running the same player with the same seed on the same positions (deterministic players:
alpha-beta). After every move it waits until the window's board shows exactly the picture of the new position
(drawn offscreen by the same viewer code), so a click never lands early; the screenshots of a picked piece and of the
promotion choice are taken once the window shows them. At the end it prints the drops and promotion choices it
clicked and checks the game the viewer recorded against the moves played. `--xvfb` starts a private Xvfb on a free
display, else the window opens on DISPLAY. The X driving is arena.viewer.xdriver's (needs Xvfb, xdotool, xwininfo
and ImageMagick's `import`).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import time
from pathlib import Path

import pygame
import torch

import envs
from agents.players import make_player
from arena.viewer import shogiboard
from arena.viewer.session import GameSession
from arena.viewer.xdriver import XWindow, check_record, layout, viewer_window, xvfb
from envs.shogi_draw import hand_rects, square_rect
from envs.shogi_notation import parse_square

WINDOW = (1000, 720)


class Board:
    """Where the window's squares, hand pieces and promotion choice are, and what its board shows."""

    def __init__(self, win: XWindow, game: envs.Game):
        self.win, self.game = win, game
        self.probe = layout(game, WINDOW)
        self.board = self.probe.board_rect

    def square(self, name: str) -> tuple[int, int]:
        n = self.game.size
        return square_rect(n, parse_square(name, n), self.board.size).move(self.board.topleft).center

    def hand(self, state, side: int, letter: str) -> tuple[int, int]:
        t = "PLNSBRGK".index(letter) + 1
        rows = hand_rects(self.game.size, self.board.size, state.hands[0].tolist())
        rect = next(r for s, k, _, r in rows if (s, k) == (side, t))
        return rect.move(self.board.topleft).center

    def choice(self, target: str, promote: bool) -> tuple[int, int]:
        self.probe.shogi.promotion = (parse_square(target, self.game.size), {"+": 0, "=": 0})
        rects = {w: r for r, w in shogiboard.choice_rects(self.probe)}
        self.probe.shogi.promotion = None
        return rects["+" if promote else "="].center

    def _picture(self, surface: pygame.Surface) -> bytes:
        return pygame.image.tostring(surface.subsurface(self.board), "RGB")[::97]

    def wait_for(self, actions: list[int], picked: str | None = None, choice: dict[str, int] | None = None) -> None:
        """Wait until the window's board shows the position after `actions` as the viewer draws it offscreen, with
        the `picked` piece ("7g", "P*") and its targets, or the promotion choice {"+": action, "=": action} open."""
        probe = self.probe
        probe.session = GameSession.from_moves(self.game, actions, players=["human", "human"])
        probe.shogi.drop()
        probe.shogi.at = probe.session.state
        probe.shogi.picked = picked
        if choice is not None:
            target = self.game.move_to_usi(probe.session.state, 0, choice["+"])[2:4]
            probe.shogi.promotion = (parse_square(target, self.game.size), choice)
        surface = pygame.Surface(WINDOW)
        probe.draw(surface)
        probe.shogi.drop()
        want = self._picture(surface)

        def shows(shot: pygame.Surface) -> bool:
            return sum(a != b for a, b in zip(self._picture(shot), want)) <= len(want) // 500

        what = f"the position after {len(actions)} moves" + (f" with {picked} picked" if picked else "")
        self.win.wait_until(shows, what + (" and the promotion choice" if choice else ""))


def _think(player, game, state) -> int:
    with torch.inference_mode():
        return int(torch.as_tensor(player(game, state)).reshape(-1)[0])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("game", choices=["shogi", "minishogi"])
    p.add_argument("--opponent", default="alphabeta:1")
    p.add_argument("--shots", default="docs/images/viewer_minishogi", help="screenshot path prefix")
    p.add_argument("--max-plies", type=int, default=300)
    p.add_argument("--seed", type=int, default=6)
    p.add_argument("--xvfb", action="store_true", help="start a private Xvfb on a free display (else: DISPLAY)")
    args = p.parse_args()
    game = envs.get_game(args.game)
    with xvfb() if args.xvfb else contextlib.nullcontext():
        play = [args.game, "--opponent", args.opponent, "--side", "first"]
        with viewer_window(play, WINDOW) as (win, replays):
            return _play(args, game, Board(win, game), replays)


def _play(args, game: envs.Game, board: Board, replays: Path) -> int:
    win, start = board.win, time.monotonic()
    board.wait_for([])
    rng = random.Random(args.seed)
    opponent = make_player(args.opponent, game, seed=0)
    prefix = Path(args.shots)
    state, played, names = game.init(1), [], []
    shot_picked = False
    choices, drops = [], 0
    while not bool(state.done[0]) and len(played) < args.max_plies:
        if int(state.player[0]) == 0:  # the person: clicks
            legal = game.legal_usi(state, 0)
            offers = [a for a, u in legal.items() if u.endswith("+") and u[:-1] in legal.values()]
            if offers and (not choices or rng.random() < 0.5):  # the promotion choice, shown at least once
                action = rng.choice(sorted(offers))
                action = rng.choice([action, game.usi_to_action(state, 0, legal[action][:-1])])
            else:
                action = rng.choice(sorted(legal))
            usi = legal[action]
            if usi[1] == "*":
                win.click(board.hand(state, 0, usi[0]))
                drops += 1
            else:
                win.click(board.square(usi[:2]))
            if not shot_picked and len(played) >= 6:
                board.wait_for(played, picked=usi[:2])
                win.save(Path(f"{prefix}_picked.png"))
                shot_picked = True
            win.click(board.square(usi[2:4]))
            base = usi.rstrip("+")
            if base in legal.values() and base + "+" in legal.values():  # the choice opens over the target
                if not choices:
                    by_text = {u: a for a, u in legal.items()}
                    board.wait_for(played, choice={"+": by_text[base + "+"], "=": by_text[base]})
                    win.save(Path(f"{prefix}_choice.png"))
                win.click(board.choice(usi[2:4], usi.endswith("+")))
                choices.append("promote" if usi.endswith("+") else "keep")
        else:
            action = _think(opponent, game, state)
        names.append(game.move_name(state, 0, action))
        mine = int(state.player[0]) == 0
        state = game.step(state, torch.tensor([action]))
        played.append(action)
        if not mine or bool(state.done[0]):  # after the person's move the agent may answer before a look
            board.wait_for(played)
        print(f"{len(played):3d}. {names[-1]:<8} at {time.monotonic() - start:.0f} s", flush=True)
    win.save(Path(f"{prefix}_end.png"))
    print("result:", game.termination(state)[0] or "unfinished", " ".join(names), flush=True)
    print(f"clicked: {drops} drops, promotion choices {' '.join(choices) or 'none'}", flush=True)
    if bool(state.done[0]):
        check_record(replays, played)
    return 0


if __name__ == "__main__":
    sys.exit(main())
