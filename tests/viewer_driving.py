"""Test helper for the viewer tests under SDL's dummy video driver: draw a frame offscreen, let the agent seat move,
and check the game the viewer recorded."""

from __future__ import annotations

from pathlib import Path

import pygame

from arena.records import load_replays
from arena.viewer.controller import Viewer


def frame(viewer: Viewer, size: tuple[int, int]) -> pygame.Surface:
    """One frame of the viewer: `update()` (agent moves, recording), then drawn on a new surface of `size`."""
    surface = pygame.Surface(size)
    viewer.update()
    viewer.draw(surface)
    return surface


def wait_for_agent(viewer: Viewer, rounds: int = 2000) -> None:
    """Update the viewer until no agent is thinking and it is a person's move or the game is over."""
    for _ in range(rounds):
        viewer.update()
        if viewer.thinker is None and (viewer.session.over or not viewer.agent_to_move):
            return
        if viewer.thinker is not None:
            viewer.thinker.wait(5)
    raise AssertionError("the agent never moved")


def check_recorded(viewer: Viewer, folder: Path, second: str) -> dict:
    """The game the viewer recorded in `folder`, checked: the session's moves, `second` as the second seat's player,
    the game's end reason."""
    record = load_replays(next(folder.glob(f"{viewer.game.name}-*.jsonl")))[0]
    assert record["moves"] == viewer.session.actions
    assert record["players"][1]["name"] == second
    assert record["termination"] == viewer.game.termination(viewer.session.state)[0]
    return record
