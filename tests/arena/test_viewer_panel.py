"""The viewer's panel under SDL's dummy video driver: the buttons stay where they are when the value bar or a
message appears, and every button label fits a 640x480 window without being cut."""

from __future__ import annotations

import pygame
import pytest

from arena.viewer.controller import Viewer
from arena.viewer.widgets import font


@pytest.fixture(autouse=True)
def _pygame():
    pygame.display.init()
    pygame.font.init()
    yield
    pygame.quit()


def _buttons(viewer: Viewer, size: tuple[int, int]) -> dict[str, pygame.Rect]:
    viewer.draw(pygame.Surface(size))
    return {b.label: pygame.Rect(b.rect) for b in viewer.buttons}


def test_buttons_do_not_move_when_the_value_or_a_message_appears():
    viewer = Viewer("connect_four", seats=("human", "human"), record_dir=None)
    before = _buttons(viewer, (1000, 720))
    viewer.say("that column is full")
    viewer.hints_on = True
    viewer.hint = {"value": [0.3], "policy": [1 / 7] * 7}
    assert _buttons(viewer, (1000, 720)) == before


def test_labels_fit_at_640x480():
    viewer = Viewer("chess", seats=("human", "alphabeta:1"), record_dir=None)
    viewer.draw(pygame.Surface((640, 480)))
    assert any(b.label == "Move now" for b in viewer.buttons)
    for b in viewer.buttons:
        text = f"{b.label} [{b.key}]" if b.key else b.label
        assert font(14).size(text)[0] <= b.rect.width - 8, text
