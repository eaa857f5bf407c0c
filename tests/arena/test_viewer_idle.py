"""The viewer's window draws only when something changes: the real `gamelab play` and `gamelab replay` loops run
under SDL's dummy video driver, driven by posted events from another thread, with every frame (each
`pygame.display.flip`) noted with what it showed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pygame
import pytest

import arena.viewer.play as play
import arena.viewer.replay as replay
from arena.records import load_replays
from arena.viewer.controller import TICK, Viewer

EXAMPLE = Path(__file__).parents[2] / "replays" / "examples" / "connect_four.jsonl"  # 7 moves, first player wins
IDLE = 1.5  # seconds untouched; the former loop drew 30 frames a second all along


class Frame(NamedTuple):
    time: float
    moves: int  # moves played
    cursor: int  # the move shown


class Window:
    """The frames a viewer window drew, and helpers to drive it from another thread."""

    def __init__(self):
        self.viewers: list[Viewer] = []
        self.frames: list[Frame] = []

    def frame(self, shows: Callable[[Frame], bool] = lambda f: True, after: float = 0.0, timeout: float = 30) -> Frame:
        """The first frame drawn after `after` for which `shows(frame)` holds (waits up to `timeout` seconds)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for f in list(self.frames):
                if f.time >= after and shows(f):
                    return f
            time.sleep(0.01)
        raise AssertionError(f"no such frame in {timeout} s; frames: {self.frames[-5:]}")

    def idle_frames(self, seconds: float) -> int:
        """How many frames the window draws in `seconds` without input."""
        before = len(self.frames)
        time.sleep(seconds)
        return len(self.frames) - before

    @staticmethod
    def post(kind: int, **attributes) -> float:
        now = time.monotonic()
        pygame.event.post(pygame.event.Event(kind, **attributes))
        return now

    def key(self, char: str) -> float:
        return self.post(pygame.KEYDOWN, key=ord(char), unicode=char, mod=0, scancode=0)


def _run(monkeypatch, module, builder: str, argv: list[str], script: Callable[[Window], dict]) -> dict:
    """Run `module.main(argv)` (its real window and loop) while `script(window)` drives it from another thread and
    then quits it; returns what the script found. `builder` is the module's name that makes its Viewer."""
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    window, found, flip, build = Window(), {}, pygame.display.flip, getattr(module, builder)

    def _build(*args, **kwargs):
        window.viewers.append(build(*args, **kwargs))
        return window.viewers[-1]

    def _flip(*args):
        flip(*args)
        s = window.viewers[-1].session if window.viewers else None
        window.frames.append(Frame(time.monotonic(), len(s.actions) if s else -1, s.cursor if s else -1))

    monkeypatch.setattr(module, builder, _build)
    monkeypatch.setattr(pygame.display, "flip", _flip)

    def drive():
        try:
            window.frame(timeout=60)  # the first frame
            time.sleep(0.3)  # the window's opening events
            found.update(script(window))
        except BaseException as err:
            found["error"] = err
        finally:
            window.post(pygame.QUIT)

    thread = threading.Thread(target=drive, daemon=True)
    thread.start()
    assert module.main(argv) == 0
    thread.join(10)
    if "error" in found:
        raise found["error"]
    return found


def test_an_untouched_window_draws_nothing_and_input_and_the_agent_s_move_still_show(monkeypatch, tmp_path):
    def script(window: Window) -> dict:
        idle = window.idle_frames(IDLE)
        hover = window.frame(after=window.post(pygame.MOUSEMOTION, pos=(200, 300), rel=(1, 0), buttons=(0, 0, 0)))
        assert hover.moves == 0  # the mouse moving over the board is drawn (the legal move under it is ringed)
        sent = window.key("4")  # column 4; the agent (random) answers at once
        answered = window.frame(lambda f: f.moves == 2, after=sent)
        idle_after = window.idle_frames(IDLE)
        return {"idle": idle, "hover": hover, "answered": answered.time - sent, "idle_after": idle_after}

    argv = ["connect_four", "--opponent", "random", "--side", "first", "--replays", str(tmp_path)]
    found = _run(monkeypatch, play, "_make_viewer", argv, script)
    assert found["idle"] <= 1 and found["idle_after"] <= 1, found  # about 45 frames each with the former loop
    assert found["answered"] < 10, found
    record = load_replays(next(tmp_path.glob("connect_four-*.jsonl")))[-1]  # written as the window closed
    assert len(record["moves"]) == 2 and record["moves"][0] == 3


def test_replay_autoplay_steps_on_its_own_and_draws_once_a_move(monkeypatch):
    def script(window: Window) -> dict:
        idle = window.idle_frames(IDLE)
        window.key("=")  # faster: 0.3 s a move
        start = window.key("a")
        third = window.frame(lambda f: f.cursor == 3, after=start)
        drawn = sum(start <= f.time <= third.time for f in window.frames)
        return {"idle": idle, "drawn": drawn, "seconds": third.time - start}

    found = _run(monkeypatch, replay, "Viewer", [str(EXAMPLE)], script)
    assert found["idle"] <= 1, found
    assert 0.5 < found["seconds"] < 10, found  # three moves, 0.3 s apart, with no input
    assert found["drawn"] <= 6, found  # the key, a frame a move, the speed message running out


def test_wake_after_names_what_time_alone_changes():
    viewer = Viewer("connect_four", seats=("human", "alphabeta:2"), record_dir=None)
    ended = threading.Event()
    viewer.on_change = ended.set
    assert not viewer.update() and viewer.wake_after() is None  # the person to move: nothing ticks
    viewer.say("hello", 0.5)
    assert 0.3 < viewer.wake_after() <= 0.5  # the message runs out
    viewer.message_until = 0.0
    viewer.try_move(3)
    assert viewer.update()  # the agent starts thinking: the status changes
    assert viewer.thinker is not None and viewer.wake_after() == pytest.approx(TICK)  # its progress bar moves
    assert ended.wait(30)  # the search's end wakes the window
    assert viewer.update() and len(viewer.session.actions) == 2 and viewer.thinker is None
    assert viewer.wake_after() is None and not viewer.update()
    viewer.close()


def test_watch_mode_plays_a_game_of_tictactoe_to_its_end_without_input(monkeypatch, tmp_path):
    def script(window: Window) -> dict:
        session = window.viewers[-1].session
        end = window.frame(lambda f: session.over and f.moves == len(session.actions), timeout=10)
        shown = [f.moves for f in window.frames if f.time <= end.time]
        return {"seconds": end.time - window.frames[0].time, "shown": shown, "actions": list(session.actions)}

    argv = ["tictactoe", "--opponent", "watch", "--sims", "30", "--replays", str(tmp_path)]
    found = _run(monkeypatch, play, "_make_viewer", argv, script)
    moves = found["actions"]
    assert 5 <= len(moves) <= 9, found  # a finished game: three in a row takes five moves at least
    assert found["seconds"] < 10, found  # 0.5 s between moves by default
    assert sorted(set(found["shown"])) == list(range(len(moves) + 1)), found  # every move drawn as it came
    record = load_replays(next(tmp_path.glob("tictactoe-*.jsonl")))[-1]  # written as the game ended
    lines = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]
    won = [any(set(line) <= set(moves[side::2]) for line in lines) for side in (0, 1)]
    assert won[(len(moves) - 1) % 2] or len(moves) == 9, moves  # it ended: the last mover made a line, or a full board
    assert record["moves"] == moves and record["result"] == (1.0 if won[0] else 0.0 if won[1] else 0.5), record
