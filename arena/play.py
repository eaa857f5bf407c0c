"""`gamelab play`: a pygame window to play against an agent, watch agents play, or review a recorded game.

    gamelab play                                    # start screen: game, opponent, side, strength
    gamelab play connect_four --opponent bundled --side second
    gamelab play go --opponent human                # two people on one board
    gamelab play othello --opponent watch           # agent against agent, speed with + and -
    gamelab play connect_four --screenshot board.png --moves "4 4 3" --hints   # a PNG, no display needed

Every game played here is appended to replays/<game>.jsonl (see arena.replays); `gamelab replay FILE` reviews one.
Keys are listed in the help overlay (F1 or ?).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import torch

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

__all__ = ["Viewer", "main", "HELP_KEYS", "display_name"]

HELP_KEYS = [
    ("click", "play a move (legal cells are marked)"),
    ("1-9", "play that column / cell (small boards)"),
    ("P", "pass (go, othello when allowed)"),
    ("U / Left", "undo (back to your move)"),
    ("R / Right", "redo"),
    ("Home / End", "first / last position"),
    ("N", "new game"),
    ("S", "swap sides"),
    ("X", "resign"),
    ("M / Space", "agent: move now / watch: pause"),
    ("H", "hints: agent's visits and value"),
    ("+ / -", "watch and autoplay speed"),
    ("A", "autoplay a recorded game"),
    ("C", "continue from here against the agent"),
    ("F1 / ?", "this help"),
    ("Esc", "start screen / close overlay"),
]

PANEL_WIDTH = 310
SPEEDS = [0.0, 0.2, 0.5, 1.0, 2.0]  # seconds between moves in watch mode and autoplay
SIDE_COLORS = {  # stone colours of the first and second player, for the panel and the value bar
    "connect_four": ((200, 40, 40), (240, 200, 30)),
    "hex": ((200, 40, 40), (30, 70, 170)),
    "tictactoe": ((200, 40, 40), (30, 70, 170)),
}


def display_name(game_name: str) -> str:
    """The name of a game as people write it ("connect_four" -> "Connect Four")."""
    return {"tictactoe": "Tic-tac-toe"}.get(game_name, game_name.replace("_", " ").title())


def _pygame():
    import pygame

    return pygame


class Viewer:
    """The viewer application. Drive it with `handle(event)` and `update()`, draw with `draw(surface)`.

    Args:
        game_name, options: the game and its options.
        seats: the player spec of each side ("human", "random", "alphabeta:4", "rollout:200", "bundled:800",
            a checkpoint path, ...); "human" seats take clicks.
        record_dir: folder for replays (None: do not record).
        think_time: seconds an agent may think per move (None: its full simulation budget).
        review: a recorded game to review (a GameSession); no agent moves until the person continues.
    """

    def __init__(
        self,
        game_name: str,
        options: dict | None = None,
        seats: tuple[str, str] = ("human", "bundled"),
        *,
        record_dir: str | os.PathLike | None = "replays",
        think_time: float | None = None,
        device: str = "cpu",
        review: Any = None,
        hint_spec: str | None = None,
        seed: int = 0,
    ):
        import envs
        from arena.session import GameSession

        self.game = envs.get_game(game_name, **(options or {}))
        self.seat_specs = list(seats)
        self.record_dir = record_dir
        self.think_time = think_time
        self.device = device
        self.seed = seed
        self.hint_spec = hint_spec
        self.notice = ""  # set when a seat could not get the player it asked for
        self.players = [self._make_player(spec) for spec in self.seat_specs]
        self.hint_player = None
        self.session = review or GameSession(self.game, players=self._names())
        self.reviewing = review is not None
        self.thinker = None
        self.hint_thinker = None
        self.hint_cursor = None  # the (cursor, id of state) the shown hint belongs to
        self.hints_on = False
        self.help_on = False
        self.paused = False
        self.autoplay = False
        self.speed = 2
        self.next_move_at = 0.0
        self.message, self.message_until = "", 0.0
        if self.notice:
            self.say(self.notice, 8)
        self.recorded_key = None
        self.buttons: list = []
        self.quit_to_menu = False
        self.board_rect = None

    # --- players ---
    def _make_player(self, spec: str):
        """The player of a seat spec; a game without a bundled model gets rollout MCTS instead, with a notice."""
        if spec == "human":
            return None
        from agents.players import MissingModelError, make_player

        try:
            return make_player(spec, self.game, device=self.device, seed=self.seed)
        except (MissingModelError, ValueError) as err:  # none shipped, or one for other options (board size)
            other_options = not isinstance(err, MissingModelError) and "checkpoint" in str(err)
            if not spec.startswith("bundled") or not (isinstance(err, MissingModelError) or other_options):
                raise
            fallback = "rollout:" + (spec.partition(":")[2] or "400")
            options = " ".join(f"{k}={v}" for k, v in self.game.options.items())
            self.notice = f"no bundled model for {display_name(self.game.name)} {options}: playing {fallback}"
            print(f"gamelab play: {self.notice}", file=sys.stderr)
            return make_player(fallback, self.game, device=self.device, seed=self.seed)

    def _names(self) -> list[str]:
        return [
            getattr(p, "name", spec) if p is not None else "human" for p, spec in zip(self.players, self.seat_specs)
        ]

    @property
    def agent_to_move(self) -> bool:
        return self.players[self.session.to_move] is not None and not self.reviewing

    # --- feedback ---
    def say(self, text: str, seconds: float = 2.5) -> None:
        self.message, self.message_until = text, time.monotonic() + seconds

    # --- commands ---
    def _cancel_thinking(self) -> None:
        if self.thinker is not None:
            self.thinker.stop()
            self.thinker = None

    def _stop_thinkers(self, wait: float = 0.0) -> None:
        """Tell the agent's and the hint's searches to stop; with `wait`, block up to that many seconds for each."""
        for thinker in (self.thinker, self.hint_thinker):
            if thinker is not None:
                thinker.stop()
                if wait:
                    thinker.wait(wait)
        self.thinker = self.hint_thinker = None

    def new_game(self) -> None:
        from arena.session import GameSession

        self._record_if_needed()
        self._stop_thinkers()
        self.session = GameSession(self.game, players=self._names())
        self.reviewing = False
        self.recorded_key = None
        self.next_move_at = time.monotonic() + SPEEDS[self.speed]

    def undo(self) -> None:
        self._cancel_thinking()
        moved = self.session.undo()
        # against an agent, go back to the person's own move
        while (
            moved
            and not self.reviewing
            and self.agent_to_move
            and self.session.cursor > 0
            and any(p is None for p in self.players)
        ):
            moved = self.session.undo()
        self.paused = self.paused or all(p is not None for p in self.players)

    def redo(self) -> None:
        self._cancel_thinking()
        if not self.session.redo():
            self.say("nothing to redo")

    def swap_sides(self) -> None:
        self._cancel_thinking()
        self.players.reverse()
        self.seat_specs.reverse()
        self.session.players = self._names()
        self.say("sides swapped")

    def resign(self) -> None:
        if self.session.over:
            return
        self._cancel_thinking()
        humans = [i for i, p in enumerate(self.players) if p is None]
        loser = self.session.to_move if len(humans) != 1 else humans[0]
        self.session.resign(loser)

    def move_now(self) -> None:
        if self.thinker is not None:
            self.thinker.stop()
            self.say("moving now")
        elif all(p is not None for p in self.players):
            self.paused = not self.paused
            self.say("paused" if self.paused else "playing")
        elif self.players[self.session.to_move] is not None and not self.session.at_end:
            self._start_thinking(force=True)

    def continue_here(self) -> None:
        """Leave review: play on from the shown position, the agent taking the side not to move."""
        if not self.reviewing:
            return
        self.reviewing = False
        if all(p is None for p in self.players):
            agent_spec = self.hint_spec or "bundled"
            seats = ["human", "human"]
            seats[1 - self.session.to_move] = agent_spec
            self.seat_specs = seats
            self.players = [self._make_player(s) for s in seats]
            self.session.players = self._names()
        del self.session.states[self.session.cursor + 1 :]
        del self.session.actions[self.session.cursor :], self.session.infos[self.session.cursor :]
        self.say("continuing from here")

    def try_move(self, action: int | None) -> None:
        """A person's move: ignored with a hint when it is not theirs to make or not legal."""
        if action is None:
            return
        if self.session.over:
            self.say("the game is over: N for a new game")
            return
        if self.reviewing:
            self.say("reviewing: C to continue from here")
            return
        if self.players[self.session.to_move] is not None:
            self.say("wait for the agent to move (M: move now)")
            return
        if not 0 <= action < self.game.num_actions or not bool(self.session.legal[action]):
            self.say("illegal move")
            return
        self.session.play(action)

    # --- events ---
    def handle(self, event) -> None:
        """React to one pygame event."""
        pygame = _pygame()
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if self.help_on:
                self.help_on = False
                return
            for button in self.buttons:
                if button.hit(event.pos):
                    button.action()
                    return
            if self.board_rect is not None and self.board_rect.collidepoint(event.pos):
                rel = (event.pos[0] - self.board_rect.left, event.pos[1] - self.board_rect.top)
                action = self.game.action_at(rel, self.board_rect.size)
                if action is None:
                    self.say("not a move")
                else:
                    self.try_move(action)
        elif event.type == pygame.KEYDOWN:
            self._key(event)

    def _key(self, event) -> None:
        pygame = _pygame()
        k, ch = event.key, getattr(event, "unicode", "")
        if self.help_on and k in (pygame.K_ESCAPE, pygame.K_F1) or ch == "?" and self.help_on:
            self.help_on = False
            return
        if k == pygame.K_F1 or ch == "?":
            self.help_on = True
        elif k == pygame.K_ESCAPE:
            self.quit_to_menu = True
        elif k in (pygame.K_u, pygame.K_LEFT, pygame.K_BACKSPACE):
            self.undo()
        elif k in (pygame.K_r, pygame.K_RIGHT):
            self.redo()
        elif k == pygame.K_HOME:
            self._cancel_thinking()
            self.session.jump(0)
        elif k == pygame.K_END:
            self._cancel_thinking()
            self.session.jump(len(self.session.states) - 1)
        elif k == pygame.K_n:
            self.new_game()
        elif k == pygame.K_s:
            self.swap_sides()
        elif k == pygame.K_x:
            self.resign()
        elif k in (pygame.K_m, pygame.K_SPACE):
            if self.reviewing:
                self.autoplay = not self.autoplay
            else:
                self.move_now()
        elif k == pygame.K_h:
            self.hints_on = not self.hints_on
            self.say("hints on" if self.hints_on else "hints off")
        elif k == pygame.K_a:
            self.autoplay = not self.autoplay
        elif k == pygame.K_c:
            self.continue_here()
        elif k == pygame.K_p:
            if self.game.pass_action is None:
                self.say("this game has no pass")
            else:
                self.try_move(self.game.pass_action)
        elif ch in ("+", "=") or k in (pygame.K_PLUS, pygame.K_KP_PLUS):
            self.speed = max(0, self.speed - 1)
            self.say(f"{SPEEDS[self.speed]:.1f} s per move")
        elif ch == "-" or k in (pygame.K_MINUS, pygame.K_KP_MINUS):
            self.speed = min(len(SPEEDS) - 1, self.speed + 1)
            self.say(f"{SPEEDS[self.speed]:.1f} s per move")
        elif ch.isdigit() and ch != "0" and self.game.num_actions <= 9:
            self.try_move(int(ch) - 1)

    # --- time passing ---
    def _start_thinking(self, force: bool = False) -> None:
        from arena.thinker import Thinker

        player = self.players[self.session.to_move]
        if player is None or (not force and not self.session.at_end):
            return
        self.thinker = Thinker(player, self.game, self.session.state, think_time=self.think_time)
        self.thinker.position = (self.session.cursor, id(self.session.state))

    def update(self) -> None:
        """Advance background work: agent moves, hints, autoplay, recording."""
        from arena.replays import move_info_from
        from arena.thinker import Thinker

        now = time.monotonic()
        if self.thinker is not None and self.thinker.done:
            thinker, self.thinker = self.thinker, None
            if thinker.error is not None:
                self.say(f"agent error: {thinker.error}", 8)
                self.paused = True
            elif thinker.position == (self.session.cursor, id(self.session.state)) and not self.session.over:
                self.session.play(thinker.action, move_info_from(thinker.info, 0))
                self.next_move_at = now + SPEEDS[self.speed]
        if (
            self.thinker is None
            and not self.session.over
            and self.agent_to_move
            and self.session.at_end
            and not self.paused
            and (now >= self.next_move_at or any(p is None for p in self.players))
        ):
            self._start_thinking()
        if self.reviewing and self.autoplay and now >= self.next_move_at:
            if not self.session.redo():
                self.autoplay = False
            self.next_move_at = now + max(0.3, SPEEDS[self.speed])
        if self.hints_on and not self.session.over:
            key = (self.session.cursor, id(self.session.state))
            if self.hint_cursor != key and (self.hint_thinker is None or self.hint_thinker.done):
                if self.hint_player is None:
                    spec = self.hint_spec or next((s for s in self.seat_specs if s != "human"), "rollout:400")
                    self.hint_player = self._make_player(spec)
                self.hint_thinker = Thinker(self.hint_player, self.game, self.session.state, think_time=self.think_time)
                self.hint_thinker.position = key
                self.hint_cursor = key
        if self.session.over:
            self._record_if_needed()

    def _record_if_needed(self) -> None:
        if self.record_dir is None or self.reviewing or self.session.cursor == 0:
            return
        key = (tuple(self.session.actions[: self.session.cursor]), self.session.result()["reason"])
        if key == self.recorded_key:
            return
        from arena.replays import append_records, default_replay_path

        players = [player if player is not None else "human" for player in self.players]
        append_records(default_replay_path(self.record_dir, self.game.name), [self.session.record(players)])
        self.recorded_key = key

    def close(self) -> None:
        """Record an unfinished game and stop background work."""
        self._record_if_needed()
        self._stop_thinkers(wait=10.0)

    # --- drawing ---
    def _layout(self, size: tuple[int, int]):
        pygame = _pygame()
        w, h = size
        panel_w = min(PANEL_WIDTH, max(220, w // 3))
        area = pygame.Rect(12, 12, max(50, w - panel_w - 36), max(50, h - 24))
        bh, bw = self.game.board_shape
        aspect = getattr(self.game, "draw_aspect", bw / bh)
        board_w = min(area.width, round(area.height * aspect))
        board_h = min(area.height, round(board_w / aspect))
        board = pygame.Rect(0, 0, board_w, board_h)
        board.center = area.center
        panel = pygame.Rect(w - panel_w - 12, 12, panel_w, h - 24)
        return board, panel

    def draw(self, surface) -> None:
        """Draw the board, overlays and side panel onto `surface`."""
        from arena.ui import THEME, draw_banner, draw_heatmap, draw_panel_box

        pygame = _pygame()
        surface.fill(THEME["bg"])
        board, panel = self._layout(surface.get_size())
        self.board_rect = board
        board_surface = surface.subsurface(board)
        self.game.draw(board_surface, self.session.state, 0)
        size = board.size
        legal = self.session.legal
        human_turn = not self.session.over and not self.agent_to_move and not self.reviewing
        if human_turn:
            mouse = pygame.mouse.get_pos()
            hover = self.game.action_at((mouse[0] - board.left, mouse[1] - board.top), size)
            for a in legal.nonzero()[:, 0].tolist():
                rect = self.game.action_rect(a, size)
                if rect is None:
                    continue
                if a == hover:
                    pygame.draw.rect(board_surface, THEME["legal"], rect.inflate(-2, -2), 3, border_radius=4)
                elif rect.height > 1.5 * rect.width:  # a column (connect four): an arrow at its top
                    x, y, r = rect.centerx, rect.top + 4, max(4, rect.width // 6)
                    pygame.draw.polygon(board_surface, THEME["legal"], [(x - r, y), (x + r, y), (x, y + r)])
                else:
                    pygame.draw.circle(board_surface, THEME["legal"], rect.center, max(2, min(rect.size) // 10))
        hint = self._hint_info()
        if self.hints_on and hint is not None:
            weights = hint.get("visits", hint.get("policy"))
            if weights is not None:
                w = torch.as_tensor(weights, dtype=torch.float32).reshape(-1)
                share = w / w.sum().clamp_min(1e-9)
                top = share.max().clamp_min(1e-9)
                cells = []
                for a in (share > 0.005).nonzero()[:, 0].tolist():
                    rect = self.game.action_rect(a, size)
                    if rect is not None:
                        if rect.height > 2 * rect.width:  # a whole column (connect four): mark its top, not the discs
                            rect = pygame.Rect(rect.left, rect.top, rect.width, rect.width)
                        cells.append((rect, float(share[a] / top), f"{100 * float(share[a]):.0f}"))
                draw_heatmap(board_surface, cells)
        self._draw_panel(surface, panel, hint)
        if self.session.over:
            from arena.session import result_text

            draw_banner(board_surface, "Game over", result_text(self.session))
        if self.help_on:
            box = pygame.Rect(0, 0, min(560, surface.get_width() - 40), 80 + 25 * len(HELP_KEYS))
            box.center = surface.get_rect().center
            draw_panel_box(surface, box, "Keys", HELP_KEYS)

    def _hint_info(self) -> dict | None:
        t = self.hint_thinker
        if t is None or not t.done or t.error is not None:
            return None
        if t.position != (self.session.cursor, id(self.session.state)):
            return None
        return t.info

    def _draw_panel(self, surface, panel, hint) -> None:
        from arena.session import result_text
        from arena.ui import THEME, Button, draw_bar, draw_text, draw_value_bar, wrap_text

        pygame = _pygame()
        pygame.draw.rect(surface, THEME["panel"], panel, border_radius=10)
        x, y = panel.left + 16, panel.top + 14
        draw_text(surface, display_name(self.game.name), (x, y), size=32, bold=True)
        y += 40
        colors = SIDE_COLORS.get(self.game.name, ((25, 25, 25), (235, 235, 235)))
        for side in (0, 1):
            pygame.draw.circle(surface, colors[side], (x + 9, y + 10), 9)
            pygame.draw.circle(surface, THEME["muted"], (x + 9, y + 10), 9, 1)
            marker = "  <" if side == self.session.to_move and not self.session.over else ""
            label = f"{self.session.players[side]}{marker}"
            draw_text(surface, label[:34], (x + 26, y + 2), size=22, bold=side == self.session.to_move)
            y += 26
        y += 6
        n = len(self.session.states) - 1
        draw_text(
            surface,
            f"move {self.session.cursor} of {n}" + ("  (review)" if self.reviewing else ""),
            (x, y),
            size=20,
            color=THEME["muted"],
        )
        y += 26
        if self.session.over:
            status = result_text(self.session)
        elif self.reviewing:
            status = "reviewing: arrows to step, A autoplay, C to continue"
        elif self.thinker is not None:
            status = "agent thinking..."
        elif self.agent_to_move:
            status = "agent to move" + (" (paused)" if self.paused else "")
        else:
            status = "your move"
        for line in wrap_text(status, 22, panel.width - 32):
            draw_text(surface, line, (x, y), size=22)
            y += 24
        bar = pygame.Rect(x, y + 4, panel.width - 32, 12)
        if self.thinker is not None:
            draw_bar(surface, bar, self.thinker.progress)
        y += 26
        value = self._value_first_player(hint)
        if value is not None:
            draw_text(surface, f"value for first player: {value:+.2f}", (x, y), size=19, color=THEME["muted"])
            draw_value_bar(surface, pygame.Rect(x, y + 20, panel.width - 32, 12), value, colors)
            y += 40
        if self.message and time.monotonic() < self.message_until:
            draw_text(surface, self.message, (x, y), size=20, color=THEME["accent"])
        y += 28
        self.buttons = []
        entries = [
            ("New", self.new_game, "N"),
            ("Undo", self.undo, "U"),
            ("Redo", self.redo, "R"),
            ("Swap", self.swap_sides, "S"),
            ("Resign", self.resign, "X"),
            ("Hints", lambda: self._key_like("h"), "H"),
            (
                "Move now" if not self.reviewing else "Autoplay",
                self.move_now if not self.reviewing else (lambda: setattr(self, "autoplay", not self.autoplay)),
                "M",
            ),
            ("Help", lambda: setattr(self, "help_on", True), "F1"),
        ]
        if self.game.pass_action is not None:
            entries.insert(5, ("Pass", lambda: self.try_move(self.game.pass_action), "P"))
        if self.reviewing:
            entries.insert(0, ("Continue here", self.continue_here, "C"))
        bw = (panel.width - 40) // 2
        for i, (label, action, key) in enumerate(entries):
            rect = pygame.Rect(x + (i % 2) * (bw + 8), y + (i // 2) * 40, bw, 32)
            if rect.bottom > panel.bottom - 4:
                break
            button = Button(label, action, rect, key=key)
            button.selected = label == "Hints" and self.hints_on
            self.buttons.append(button)
        mouse = pygame.mouse.get_pos()
        for button in self.buttons:
            button.draw(surface, mouse)

    def _key_like(self, ch: str) -> None:
        if ch == "h":
            self.hints_on = not self.hints_on

    def _value_first_player(self, hint: dict | None) -> float | None:
        """The latest value estimate, turned to the first player's view."""
        if self.hints_on and hint is not None and hint.get("value") is not None:
            v = float(torch.as_tensor(hint["value"]).reshape(-1)[0])
            return v if self.session.to_move == 0 else -v
        for k in range(self.session.cursor - 1, -1, -1):
            info = self.session.infos[k]
            if info is not None and info.get("value") is not None:
                mover = int(self.session.states[k].player[0])
                return info["value"] if mover == 0 else -info["value"]
        return None


def _seats(opponent: str, side: str, strength_sims: int, depth: int, rng: random.Random) -> tuple[str, str]:
    """Seat specs for an opponent choice: the person takes `side` against it."""
    if opponent == "human":
        return ("human", "human")
    spec = {
        "bundled": f"bundled:{strength_sims}",
        "rollout": f"rollout:{strength_sims}",
        "alphabeta": f"alphabeta:{depth}",
        "random": "random",
    }.get(opponent)
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
        if not _:
            raise SystemExit(f"gamelab play: game option {item!r} must look like key=value")
        try:
            options[key] = int(value)
        except ValueError:
            try:
                options[key] = float(value)
            except ValueError:
                options[key] = value
    return options


def render_screenshot(viewer: Viewer, path: str | os.PathLike, size: tuple[int, int] = (1000, 720)) -> Path:
    """Draw the viewer once to an offscreen surface and save it as a PNG (waits for a requested hint)."""
    pygame = _pygame()
    pygame.display.init()
    pygame.font.init()
    surface = pygame.Surface(size)
    if viewer.hints_on:
        viewer.update()
        if viewer.hint_thinker is not None:
            viewer.hint_thinker.wait()
    viewer.draw(surface)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pygame.image.save(surface, str(path))
    return path


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gamelab play", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("game", nargs="?", help="game to play (omit for the start screen)")
    p.add_argument(
        "--opponent", default=None, help="bundled | rollout | alphabeta | random | human | watch | PATH to a checkpoint"
    )
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
    p.add_argument("--moves", default="", help="with --screenshot: space-separated actions to play first")
    p.add_argument("--hints", action="store_true", help="start with the hint overlay on")
    p.add_argument("--window", default="1000x720", help="window size WxH")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    from arena.menu import GAME_CHOICES, STRENGTHS, Menu, MenuChoice

    try:
        width, height = (int(v) for v in args.window.lower().split("x"))
    except ValueError:
        print(f"gamelab play: --window must look like 1000x720, got {args.window!r}", file=sys.stderr)
        return 2
    options = _parse_options(args.option)
    sims, depth = STRENGTHS[args.strength]
    sims, depth = args.sims or sims, args.depth or depth
    rng = random.Random(args.seed)
    record_dir = None if args.no_record else args.replays
    opponent = args.opponent or "bundled"

    if args.screenshot:
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        if not args.game:
            print("gamelab play: --screenshot needs a GAME", file=sys.stderr)
            return 2
        from arena.session import GameSession
        from envs import IllegalActionError, get_game

        game = get_game(args.game, **options)
        try:
            review = GameSession.from_moves(game, [int(m) for m in args.moves.replace(",", " ").split()])
        except (ValueError, IllegalActionError) as err:
            print(f"gamelab play: bad --moves: {err}", file=sys.stderr)
            return 2
        seats = _seats(opponent, args.side, sims, depth, rng) if args.opponent else ("human", "human")
        viewer = Viewer(
            args.game,
            options,
            seats,
            record_dir=None,
            device=args.device,
            review=review,
            hint_spec=None if opponent == "human" else _seats(opponent, "first", sims, depth, rng)[1],
            seed=args.seed,
        )
        viewer.reviewing = False
        viewer.session.players = viewer._names()
        viewer.hints_on = args.hints
        print(render_screenshot(viewer, args.screenshot, (width, height)))
        return 0

    pygame = _pygame()
    pygame.display.init()
    pygame.font.init()
    screen = pygame.display.set_mode((width, height), pygame.RESIZABLE)
    pygame.display.set_caption("gamelab")
    clock = pygame.time.Clock()
    choice = MenuChoice(game=args.game or "connect_four", opponent=opponent, side=args.side, strength=args.strength)
    menu = Menu(choice) if not args.game else None
    viewer = (
        None
        if menu
        else Viewer(
            args.game,
            options,
            _seats(opponent, args.side, sims, depth, rng),
            record_dir=record_dir,
            think_time=args.think_time,
            device=args.device,
            seed=args.seed,
        )
    )
    if viewer is not None:
        viewer.hints_on = args.hints
    running = True
    while running:
        for event in pygame.event.get():
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
            seats = _seats(choice.opponent, choice.side, args.sims or sims_c, args.depth or depth_c, rng)
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
            except Exception as err:  # e.g. no bundled model for this game: back to the menu with the reason
                print(f"gamelab play: {err}", file=sys.stderr)
                menu.started = False
        if viewer is not None:
            viewer.update()
            viewer.draw(screen)
            if viewer.quit_to_menu:
                viewer.close()
                viewer, menu = None, Menu(choice)
        elif menu is not None:
            menu.draw(screen)
        pygame.display.flip()
        clock.tick(30)
    if viewer is not None:
        viewer.close()
    pygame.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
