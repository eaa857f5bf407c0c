"""The viewer's start screen: pick a game, an opponent, a side and a strength."""

from __future__ import annotations

from dataclasses import dataclass, field

import pygame

from arena.viewer.widgets import THEME, Button, draw_text

__all__ = ["MenuChoice", "Menu", "GAME_CHOICES", "OPPONENTS", "SIDES", "STRENGTHS"]

# menu label -> (game name, options); the small boards are where the bundled models and quick searches are
GAME_CHOICES: dict[str, tuple[str, dict]] = {
    "tictactoe": ("tictactoe", {}),
    "connect_four": ("connect_four", {}),
    "othello 6x6": ("othello", {"size": 6}),
    "othello": ("othello", {}),
    "gomoku 9x9": ("gomoku", {"size": 9}),
    "hex 7x7": ("hex", {"size": 7}),
    "hex": ("hex", {}),
    "go 7x7": ("go", {"size": 7}),
    "go 9x9": ("go", {"size": 9}),
    "chess": ("chess", {}),
    "gardner 5x5": ("gardner_chess", {}),
}
OPPONENTS = ["bundled", "rollout", "alphabeta", "random", "human", "watch"]
SIDES = ["first", "second", "random"]
# strength level -> (search simulations, alpha-beta depth)
STRENGTHS = {"easy": (50, 2), "medium": (200, 3), "hard": (800, 4), "max": (3200, 6)}
_MIN_BUTTON = 112  # pixels: narrower buttons would cut their labels


@dataclass
class MenuChoice:
    """What the person picked."""

    game: str = "connect_four"
    opponent: str = "bundled"
    side: str = "first"
    strength: str = "hard"
    options: dict = field(default_factory=dict)


class Menu:
    """Rows of toggle buttons and a Start button; keys: Up/Down pick a row, Left/Right a value, Enter starts."""

    ROWS = ("game", "opponent", "side", "strength")

    def __init__(self, choice: MenuChoice, opponents: list[str] | None = None):
        self.choice = choice
        self.values = {
            "game": list(GAME_CHOICES),
            "opponent": opponents or OPPONENTS,
            "side": SIDES,
            "strength": list(STRENGTHS),
        }
        self.row = 0
        self.started = False
        self.buttons: list[Button] = []
        self.row_tops: list[int] = []

    def _set(self, row: str, value: str) -> None:
        setattr(self.choice, row, value)

    def _layout(self, size: tuple[int, int]) -> None:
        """Place the buttons: each row's values left to right, wrapping onto more lines where they would not fit
        at a readable width (`row_tops` keeps where each row starts, for the labels)."""
        w, h = size
        self.buttons = []
        self.row_tops = []
        y = max(110, h // 2 - 170)
        for row in self.ROWS:
            values = self.values[row]
            per_line = max(1, min(len(values), (w - 220) // (_MIN_BUTTON + 8)))
            lines = -(-len(values) // per_line)
            per_line = -(-len(values) // lines)  # balance the lines
            bw = min(140, (w - 220) // per_line - 8)
            self.row_tops.append(y)
            for k, value in enumerate(values):
                rect = pygame.Rect(190 + (k % per_line) * (bw + 8), y + (k // per_line) * 48, bw, 40)
                button = Button(value.replace("_", " "), lambda row=row, value=value: self._set(row, value), rect)
                button.selected = getattr(self.choice, row) == value
                self.buttons.append(button)
            y += 62 + (lines - 1) * 48
        start = pygame.Rect(0, 0, 220, 50)
        start.center = (w // 2, y + 50)
        self.buttons.append(Button("Start", self._start, start, key="Enter"))

    def _start(self) -> None:
        self.started = True

    def handle(self, event: pygame.event.Event, size: tuple[int, int]) -> None:
        """React to one pygame event."""
        self._layout(size)
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            for button in self.buttons:
                if button.hit(event.pos):
                    button.action()
        elif event.type == pygame.KEYDOWN:
            row = self.ROWS[self.row]
            values = self.values[row]
            index = values.index(getattr(self.choice, row)) if getattr(self.choice, row) in values else 0
            if event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
                self.started = True
            elif event.key == pygame.K_UP:
                self.row = (self.row - 1) % len(self.ROWS)
            elif event.key == pygame.K_DOWN:
                self.row = (self.row + 1) % len(self.ROWS)
            elif event.key in (pygame.K_LEFT, pygame.K_RIGHT):
                step = 1 if event.key == pygame.K_RIGHT else -1
                self._set(row, values[(index + step) % len(values)])

    def draw(self, surface: pygame.Surface) -> None:
        """Draw the whole start screen."""
        size = surface.get_size()
        self._layout(size)
        surface.fill(THEME["bg"])
        draw_text(surface, "gamelab", (size[0] // 2, 30), size=56, bold=True, anchor="midtop")
        draw_text(
            surface, "pick a game and an opponent", (size[0] // 2, 80), size=22, color=THEME["muted"], anchor="midtop"
        )
        for r, (row, top) in enumerate(zip(self.ROWS, self.row_tops)):
            color = THEME["accent"] if r == self.row else THEME["text"]
            draw_text(surface, row.capitalize(), (40, top + 10), size=26, color=color, bold=True)
        mouse = pygame.mouse.get_pos()
        for button in self.buttons:
            button.draw(surface, mouse)
        hint = "mouse or arrow keys, Enter to start, Esc to quit"
        draw_text(surface, hint, (size[0] // 2, size[1] - 20), size=18, color=THEME["muted"], anchor="midbottom")
