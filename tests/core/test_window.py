"""core.window: waiting for a pygame window's events, woken from another thread, with a time-out."""

import threading
import time

import pygame

from core.window import EventWaiter


def test_wait_returns_events_a_time_out_or_a_wake_from_another_thread():
    pygame.display.init()
    try:
        pygame.display.set_mode((64, 48))
        pygame.event.get()
        waiter = EventWaiter()
        start = time.monotonic()
        assert waiter.wait(0.2) == ([], True) and time.monotonic() - start >= 0.2  # nothing came: the time-out
        threading.Timer(0.2, waiter.wake).start()
        start = time.monotonic()
        assert waiter.wait() == ([], True) and 0.15 < time.monotonic() - start < 5  # no time-out: the wake ends it
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_a, unicode="a", mod=0))
        events, due = waiter.wait()
        assert [e.type for e in events] == [pygame.KEYDOWN] and not due
    finally:
        pygame.quit()
