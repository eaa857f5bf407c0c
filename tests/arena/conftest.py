"""Shared by the viewer tests: pygame started for a test module (`pytestmark =
pytest.mark.usefixtures("pygame_started")`), under SDL's dummy video driver that tests/conftest.py sets."""

import pygame
import pytest


@pytest.fixture(scope="module")
def pygame_started():
    """pygame's display and fonts for the module's tests; pygame quits after its last test (a Font from one pygame
    session must not outlive it)."""
    pygame.display.init()
    pygame.font.init()
    yield
    pygame.quit()
