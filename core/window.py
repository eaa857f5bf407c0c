"""Waiting for a pygame window's events without keeping a CPU busy.

A window that redraws only when something changed still has to wait for input. pygame's `event.wait` polls SDL
every millisecond (a 1 ms sleep between pumps), a few per cent of a core for a window nobody touches.
`EventWaiter.wait` looks for events every `poll` seconds instead (1/60 s: sooner than a loop drawing 30 frames a
second saw them) and sleeps in between on a `threading.Event`, which `wake()`, called from any thread (a background
search that has finished), sets to end the sleep at once. `freeze_heap()`, called once before such a loop, keeps
the interpreter's full garbage collections out of the moments the window answers input.
"""

from __future__ import annotations

import gc
import threading
import time

import pygame

__all__ = ["EventWaiter", "POLL", "freeze_heap"]

POLL = 1 / 60  # seconds between looks for input while waiting


class EventWaiter:
    """Blocks until the window has events, `wake()` is called or a time-out passes.

    Args:
        poll: seconds between looks for input.
    """

    def __init__(self, poll: float = POLL):
        self.poll = poll
        self._woken = threading.Event()

    def wake(self) -> None:
        """End the current (or the next) `wait` at once; safe from any thread."""
        self._woken.set()

    def wait(self, timeout: float | None = None) -> tuple[list[pygame.event.Event], bool]:
        """The window's events once there are any; with none, return after `timeout` seconds (None: no time-out)
        or at a `wake()`.

        Returns:
            (events, due): the events (maybe none), and whether the time-out passed or `wake()` was called.
        """
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            events = pygame.event.get()
            woken = self._woken.is_set()
            if woken:
                self._woken.clear()
            if events or woken:
                return events, woken
            now = time.monotonic()
            if end is not None and now >= end:
                return [], True
            self._woken.wait(self.poll if end is None else min(self.poll, end - now))


def freeze_heap() -> None:
    """Collect the start-up garbage, then move every object left out of the collector's sight (`gc.freeze`).

    A full collection walks the whole heap (torch, the loaded modules, a model): over half a second on a busy
    machine. A loop that draws only now and then allocates little, so such a collection comes rarely but lands on a
    frame that answers input (the agent's move showing late); with the start-up objects frozen it stays short.
    """
    gc.collect()
    gc.freeze()
