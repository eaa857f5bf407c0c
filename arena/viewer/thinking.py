"""An agent thinking in the background, so the viewer's window stays responsive.

A `Thinker` runs a player on one position in a thread. Players that can search step by step (they have a
`think(game, state, should_stop, report)` method, see agents.players) report progress and stop early when told to
move now; other players (random, alpha-beta) are called whole.
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["Thinker", "stop_all"]

_LIVE: weakref.WeakSet = weakref.WeakSet()  # thinkers whose thread may still run


@atexit.register
def stop_all(timeout: float = 10.0) -> None:
    """Stop every thinker and wait for its thread, so no search is left running while the interpreter exits."""
    for thinker in list(_LIVE):
        thinker.stop()
        thinker.wait(timeout)


class Thinker:
    """Runs `player(game, state)` (a batch of 1) in a daemon thread; `on_done()`, if given, is called from that
    thread once the player has moved (or failed), so a window waiting for events can wake at once.

    Attributes:
        progress: 0..1, how far the search is (0 until the player reports, 1 when done).
        action: the chosen action once done (None on error or before).
        info: the player's info dict for this move (visits, value, policy), if it gives one.
        error: the exception the player raised, if any.
    """

    def __init__(
        self,
        player: Any,
        game: Any,
        state: Any,
        *,
        think_time: float | None = None,
        on_done: Callable[[], None] | None = None,
    ):
        self.player, self.game, self.state = player, game, state
        self.think_time = think_time
        self.on_done = on_done
        self.progress = 0.0
        self.action: int | None = None
        self.info: dict | None = None
        self.error: BaseException | None = None
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        _LIVE.add(self)
        self._thread.start()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def stop(self) -> None:
        """Ask the player to move now with what it has found so far."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the player has moved; returns whether it has."""
        return self._done.wait(timeout)

    def _should_stop(self) -> bool:
        if self.think_time is not None and time.monotonic() - self.started >= self.think_time:
            return True
        return self._stop.is_set()

    def _report(self, fraction: float) -> None:
        if self.think_time is not None:
            fraction = max(fraction, (time.monotonic() - self.started) / self.think_time)
        self.progress = min(1.0, max(self.progress, float(fraction)))

    def _run(self) -> None:
        try:
            with torch.inference_mode():
                think = getattr(self.player, "think", None)
                if think is not None:
                    actions = think(self.game, self.state, self._should_stop, self._report)
                else:
                    actions = self.player(self.game, self.state)
            self.action = int(torch.as_tensor(actions).reshape(-1)[0])
            self.info = getattr(self.player, "info", None)
            self.progress = 1.0
        except BaseException as err:  # shown in the window instead of killing it
            self.error = err
        finally:
            self._done.set()
            if self.on_done is not None:
                self.on_done()
