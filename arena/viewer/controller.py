"""The viewer's state and commands: seats and players, the game session, background thinking, recording.

`Viewer` holds everything a frame shows and every command a key or button runs; `handle(event)` (arena.viewer.events)
turns pygame events into those commands, `draw(surface)` (arena.viewer.drawing) paints the state, and `update()`
advances time: agent moves, hints, autoplay, recording. The controller itself draws nothing. A window redraws after
input, when `update()` says the state changed, and `wake_after()` seconds later when time alone changes the picture
(a progress bar, a message running out, the next move in watch mode); a finished search calls `on_change`.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

import torch

import envs
from agents.player import HumanPlayer, is_human
from agents.players import MissingModelError, make_player
from arena.records import move_info_from
from arena.viewer import drawing, events
from arena.viewer.board import is_chess, is_shogi
from arena.viewer.chessboard import ChessHand
from arena.viewer.drawing import display_name
from arena.viewer.recording import record_session
from arena.viewer.session import GameSession
from arena.viewer.shogiboard import ShogiHand
from arena.viewer.thinking import Thinker
from envs.base import Game

__all__ = ["Viewer", "SPEEDS", "TICK"]

SPEEDS = [0.0, 0.2, 0.5, 1.0, 2.0]  # seconds between moves in watch mode and autoplay
TICK = 0.1  # seconds between frames while a search's progress bar moves


class Viewer:
    """The viewer application. Drive it with `handle(event)` and `update()`, draw with `draw(surface)`.

    Args:
        game_name, options: the game and its options.
        seats: the player spec of each side ("human", "random", "alphabeta:4", "rollout:200", "bundled:800",
            a checkpoint path, ...); "human" seats take clicks. Players are built by agents.players.make_player.
        record_dir: folder for replays (None: do not record).
        think_time: seconds an agent may think per move (None: its full simulation budget).
        review: a recorded game to review (a GameSession); no agent moves until the person continues.
        hint_spec: the player spec that computes hints (default: the first agent seat, else rollout:400).
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
        review: GameSession | None = None,
        hint_spec: str | None = None,
        seed: int = 0,
    ):
        self.game: Game = envs.get_game(game_name, **(options or {}))
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
        self.thinker: Thinker | None = None
        self.hint_thinker: Thinker | None = None
        self.hint_cursor = None  # the (cursor, id of state) the shown hint belongs to
        self.hints_on = False
        self.score_on = False
        self.ownership_on = False
        self._ownership: tuple[int, list[float]] | None = None  # (id of the state, its ownership map)
        self.help_on = False
        self.paused = False
        self.autoplay = False
        self.speed = 2
        self.next_move_at = 0.0
        self.message, self.message_until = "", 0.0
        if self.notice:
            self.say(self.notice, 8)
        self.recorded_key = None
        self.quit_to_menu = False
        # chess: the picked piece, a drag, the promotion choice; the board seen from black when a person plays black
        self.chess = ChessHand(flipped=self._person_plays_black()) if is_chess(self.game) else None
        # shogi: the picked piece (on the board or in a hand), the promotion choice
        self.shogi = ShogiHand() if is_shogi(self.game) else None
        # filled by each draw, read by the input handler: what is where on the screen
        self.buttons: list = []
        self.move_rects: list = []  # (pygame.Rect, move number) of the move list's entries
        self.board_rect = None
        # called from a search's thread when it ends (the agent's move or a hint is ready): the window's loop wakes
        self.on_change: Callable[[], None] | None = None

    # --- players ---
    def _make_player(self, spec: str) -> Any:
        """The player of a seat spec; `bundled` plays the model that fits the game and board
        (agents.players.find_bundled_model), and where none fits, rollout MCTS instead (alpha-beta for chess), with
        a notice."""
        if spec == "human":
            return HumanPlayer()
        try:
            return make_player(spec, self.game, device=self.device, seed=self.seed)
        except (MissingModelError, ValueError) as err:  # none shipped, or one for other options (komi)
            other_options = not isinstance(err, MissingModelError) and "holds a model for" in str(err)
            if not spec.startswith("bundled") or not (isinstance(err, MissingModelError) or other_options):
                raise
            # chess, shogi: random playouts are hundreds of plies long, alpha-beta plays far better in the same time
            long_games = is_chess(self.game) or is_shogi(self.game)
            fallback = "alphabeta:3" if long_games else "rollout:" + (spec.partition(":")[2] or "400")
            options = " ".join(f"{k}={v}" for k, v in self.game.options.items())
            self.notice = f"no bundled model for {display_name(self.game)} {options}: playing {fallback}"
            print(f"gamelab play: {self.notice}", file=sys.stderr)
            return make_player(fallback, self.game, device=self.device, seed=self.seed)

    def _names(self) -> list[str]:
        return [p.name for p in self.players]

    def _person_plays_black(self) -> bool:
        return not is_human(self.players[0]) and is_human(self.players[1])

    @property
    def agent_to_move(self) -> bool:
        return not is_human(self.players[self.session.to_move]) and not self.reviewing

    @property
    def humans(self) -> int:
        return sum(is_human(p) for p in self.players)

    # --- feedback ---
    def say(self, text: str, seconds: float = 2.5) -> None:
        self.message, self.message_until = text, time.monotonic() + seconds

    # --- commands (the action table in arena.viewer.actions calls these) ---
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
        while moved and not self.reviewing and self.agent_to_move and self.session.cursor > 0 and self.humans:
            moved = self.session.undo()
        self.paused = self.paused or self.humans == 0

    def redo(self) -> None:
        self._cancel_thinking()
        if not self.session.redo():
            self.say("nothing to redo")

    def go_to(self, move_number: int | None) -> None:
        """Show the position after `move_number` moves (None: the last one)."""
        self._cancel_thinking()
        self.session.jump(len(self.session.states) - 1 if move_number is None else move_number)

    def swap_sides(self) -> None:
        self._cancel_thinking()
        self.players.reverse()
        self.seat_specs.reverse()
        self.session.players = self._names()
        if self.chess is not None:
            self.chess.flipped = self._person_plays_black()
        self.say("sides swapped")

    def flip(self) -> None:
        """Turn a chess board round."""
        if self.chess is not None:
            self.chess.flipped = not self.chess.flipped

    def resign(self) -> None:
        if self.session.over:
            return
        self._cancel_thinking()
        humans = [i for i, p in enumerate(self.players) if is_human(p)]
        loser = self.session.to_move if len(humans) != 1 else humans[0]
        self.session.resign(loser)

    def move_now(self) -> None:
        if self.thinker is not None:
            self.thinker.stop()
            self.say("moving now")
        elif self.humans == 0:
            self.paused = not self.paused
            self.say("paused" if self.paused else "playing")
        elif not is_human(self.players[self.session.to_move]) and not self.session.at_end:
            self._start_thinking(force=True)

    def toggle_hints(self) -> None:
        self.hints_on = not self.hints_on
        self.say("hints on" if self.hints_on else "hints off")

    def toggle_score(self) -> None:
        self.score_on = not self.score_on

    def toggle_ownership(self) -> None:
        self.ownership_on = not self.ownership_on

    def ownership_map(self) -> list[float]:
        """The expected final owner of every point of the shown position (+1 the first player's, -1 the second's):
        the game's playout estimate (Go.playout_ownership, 32 playouts, seeded), computed once per position."""
        state = self.session.state
        if self._ownership is None or self._ownership[0] != id(state):
            gen = torch.Generator().manual_seed(self.seed)
            self._ownership = (id(state), self.game.playout_ownership(state, 32, gen)[0].tolist())
        return self._ownership[1]

    def toggle_autoplay(self) -> None:
        self.autoplay = not self.autoplay

    def change_speed(self, step: int) -> None:
        self.speed = max(0, min(len(SPEEDS) - 1, self.speed + step))
        self.say(f"{SPEEDS[self.speed]:.1f} s per move")

    def show_help(self) -> None:
        self.help_on = True

    def leave(self) -> None:
        """Esc: close the help if it is open, else back to the start screen."""
        if self.help_on:
            self.help_on = False
        else:
            self.quit_to_menu = True

    def continue_here(self) -> None:
        """Leave review: play on from the shown position, the agent taking the side not to move."""
        if not self.reviewing:
            return
        self.reviewing = False
        self.autoplay = False
        if self.humans == 2:
            seats = ["human", "human"]
            seats[1 - self.session.to_move] = self.hint_spec or "bundled"
            self.seat_specs = seats
            self.players = [self._make_player(s) for s in seats]
            self.session.players = self._names()
        if not self.session.at_end:
            self.session.resigned = None
        del self.session.states[self.session.cursor + 1 :]
        del self.session.actions[self.session.cursor :], self.session.infos[self.session.cursor :]
        self.say("continuing from here")

    def refusal(self) -> str:
        """Why a person may not move now ("" when they may)."""
        if self.session.over:
            return "the game is over: N for a new game"
        if self.reviewing:
            return "reviewing: C to continue from here"
        if not is_human(self.players[self.session.to_move]):
            return "wait for the agent to move (M: move now)"
        return ""

    def try_move(self, action: int | None) -> None:
        """A person's move: ignored with a hint when it is not theirs to make or not legal."""
        if action is None:
            return
        refusal = self.refusal()
        if refusal:
            self.say(refusal)
            return
        if not 0 <= action < self.game.num_actions or not bool(self.session.legal[action]):
            self.say("illegal move")
            return
        self.session.play(action)

    # --- events and drawing ---
    def handle(self, event: Any) -> None:
        """React to one pygame event (see arena.viewer.events)."""
        events.handle(self, event)

    def draw(self, surface: Any) -> None:
        """Draw the board, overlays and side panel onto `surface` (see arena.viewer.drawing)."""
        drawing.draw(self, surface)

    # --- time passing ---
    def _start_thinking(self, force: bool = False) -> None:
        player = self.players[self.session.to_move]
        if is_human(player) or (not force and not self.session.at_end):
            return
        self.thinker = Thinker(
            player, self.game, self.session.state, think_time=self.think_time, on_done=self.on_change
        )
        self.thinker.position = (self.session.cursor, id(self.session.state))

    @property
    def analysing(self) -> bool:
        """Whether a hint for the shown position is being computed."""
        t = self.hint_thinker
        return self.hints_on and t is not None and not t.done and t.position == self._position

    @property
    def _position(self) -> tuple[int, int]:
        return (self.session.cursor, id(self.session.state))

    def hint_info(self) -> dict | None:
        """The finished hint search's info for the shown position, or None."""
        t = self.hint_thinker
        if t is None or not t.done or t.error is not None or t.position != self._position:
            return None
        return t.info

    def _agent_may_start(self) -> bool:
        """Whether an agent is to move at the end of the game and nothing holds it (it may wait for `next_move_at`)."""
        s = self.session
        return self.thinker is None and not s.over and self.agent_to_move and s.at_end and not self.paused

    def _shown(self) -> tuple:
        """What `update()` may change that a frame shows (the objects themselves: a new thinker is a change)."""
        s = self.session
        return (
            self.thinker,
            self.hint_thinker,
            s.cursor,
            len(s.states),
            self.autoplay,
            self.paused,
            self.message_until,
        )

    def wake_after(self) -> float | None:
        """Seconds until the window must update and draw again though no input comes (None: not before the next
        event): a search's progress bar moves (every TICK), a message runs out, the next move of watch mode or
        autoplay is due. A search's end needs no time-out: it calls `on_change`."""
        now = time.monotonic()
        due = []
        if self.thinker is not None or self.analysing:
            due.append(TICK)
        if self.message and now < self.message_until:
            due.append(self.message_until - now)
        if self._agent_may_start() or (self.reviewing and self.autoplay):
            due.append(self.next_move_at - now)
        return max(0.0, min(due)) if due else None

    def update(self) -> bool:
        """Advance background work: agent moves, hints, autoplay, recording. Returns whether what a frame shows
        changed."""
        now = time.monotonic()
        before = self._shown()
        if self.thinker is not None and self.thinker.done:
            thinker, self.thinker = self.thinker, None
            if thinker.error is not None:
                self.say(f"agent error: {thinker.error}", 8)
                self.paused = True
            elif thinker.position == self._position and not self.session.over:
                self.session.play(thinker.action, move_info_from(thinker.info, 0))
                self.next_move_at = now + SPEEDS[self.speed]
        if self._agent_may_start() and (now >= self.next_move_at or self.humans):
            self._start_thinking()
        if self.reviewing and self.autoplay and now >= self.next_move_at:
            if not self.session.redo():
                self.autoplay = False
            self.next_move_at = now + max(0.3, SPEEDS[self.speed])
        if self.hints_on and not self.session.over:
            key = self._position
            if self.hint_cursor != key and (self.hint_thinker is None or self.hint_thinker.done):
                if self.hint_player is None:
                    spec = self.hint_spec or next((s for s in self.seat_specs if s != "human"), "rollout:400")
                    self.hint_player = self._make_player(spec)
                self.hint_thinker = Thinker(
                    self.hint_player, self.game, self.session.state, think_time=self.think_time, on_done=self.on_change
                )
                self.hint_thinker.position = key
                self.hint_cursor = key
        if self.session.over:
            self._record_if_needed()
        return self._shown() != before

    # --- recording ---
    def _record_if_needed(self) -> None:
        if self.record_dir is None or self.reviewing or self.session.cursor == 0:
            return
        key = (tuple(self.session.actions[: self.session.cursor]), self.session.result()["reason"])
        if key == self.recorded_key:
            return
        record_session(self.session, self.players, self.record_dir)
        self.recorded_key = key

    def close(self) -> None:
        """Record an unfinished game and stop background work."""
        self._record_if_needed()
        self._stop_thinkers(wait=10.0)
        for player in {id(p): p for p in [*self.players, self.hint_player] if p is not None}.values():
            player.close()  # external engines: their processes end with the viewer
