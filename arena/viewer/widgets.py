"""Small pygame widgets for the viewer: text, buttons, bars, overlays.

Everything draws onto a surface given by the caller and keeps no global state but a font cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import pygame

__all__ = [
    "THEME",
    "font",
    "draw_text",
    "Button",
    "draw_bar",
    "draw_value_bar",
    "draw_heatmap",
    "draw_banner",
    "draw_panel_box",
    "wrap_text",
    "fit_text",
]

THEME = {
    "bg": (32, 36, 44),
    "panel": (44, 49, 60),
    "text": (232, 234, 238),
    "muted": (150, 156, 170),
    "accent": (90, 160, 250),
    "button": (64, 72, 88),
    "button_hover": (84, 96, 118),
    "button_off": (50, 54, 62),
    "good": (80, 190, 110),
    "bad": (230, 80, 80),
    "legal": (60, 200, 120),
    "heat": (255, 120, 30),
    "banner": (20, 22, 28),
}


def font(size: int, bold: bool = False) -> pygame.font.Font:
    """pygame's bundled default font at a pixel size (works offline, no system fonts needed).

    Fonts are cached until `pygame.quit()`, which drops the cache (a Font from before it crashes the process).
    pygame forgets its quit functions once it has called them, so the cache asks again in every pygame session.
    """
    if not pygame.font.get_init():
        pygame.font.init()
    if not _session["watched"]:
        pygame.register_quit(_end_session)
        _session["watched"] = True
    return _font(size, bold)


_session = {"watched": False}  # whether this pygame session will drop the font cache when it quits


def _end_session() -> None:
    _font.cache_clear()
    _session["watched"] = False


@lru_cache(maxsize=32)
def _font(size: int, bold: bool) -> pygame.font.Font:
    f = pygame.font.Font(None, size)
    f.set_bold(bold)
    return f


def draw_text(
    surface: pygame.Surface,
    text: str,
    pos: tuple[int, int],
    size: int = 22,
    color: tuple[int, int, int] = THEME["text"],
    bold: bool = False,
    anchor: str = "topleft",
) -> pygame.Rect:
    """Draw one line of text with its `anchor` point (a pygame.Rect attribute name) at pos; returns its rect."""
    image = font(size, bold).render(text, True, color)
    rect = image.get_rect(**{anchor: pos})
    surface.blit(image, rect)
    return rect


def fit_text(text: str, size: int, width: int, bold: bool = False) -> str:
    """`text`, cut and ended with "..." where it is wider than `width` pixels at font `size`."""
    f = font(size, bold)
    if f.size(text)[0] <= width:
        return text
    while text and f.size(text + "...")[0] > width:
        text = text[:-1]
    return text.rstrip() + "..."


def wrap_text(text: str, size: int, width: int, max_lines: int | None = None) -> list[str]:
    """Split text into lines that fit `width` pixels at font `size` (a word longer than a line is cut with "...");
    with `max_lines`, the last line kept ends with "..." when text is left over."""
    words, lines, line = text.split(), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if font(size).size(candidate)[0] <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    lines = [fit_text(x, size, width) for x in lines]
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = fit_text(lines[-1] + " ...", size, width) if not lines[-1].endswith("...") else lines[-1]
    return lines


@dataclass
class Button:
    """A clickable labelled rectangle; `key` is the keyboard shortcut shown in the label."""

    label: str
    action: Callable[[], None]
    rect: pygame.Rect
    key: str = ""
    enabled: bool = True
    selected: bool = False

    def draw(self, surface: pygame.Surface, mouse: tuple[int, int]) -> None:
        hover = self.enabled and self.rect.collidepoint(mouse)
        color = THEME["button_off"] if not self.enabled else THEME["button_hover"] if hover else THEME["button"]
        if self.selected:
            color = THEME["accent"]
        pygame.draw.rect(surface, color, self.rect, border_radius=6)
        text_color = THEME["text"] if self.enabled else THEME["muted"]
        label = f"{self.label}  [{self.key}]" if self.key else self.label
        size = 20 if self.rect.height >= 26 else 17
        if font(size).size(label)[0] > self.rect.width - 8:  # a small window: one space before the key, smaller type
            label = label.replace("  [", " [")
            while size > 14 and font(size).size(label)[0] > self.rect.width - 8:
                size -= 1
        label = fit_text(label, size, self.rect.width - 8)
        draw_text(surface, label, self.rect.center, size=size, color=text_color, anchor="center")

    def hit(self, pos: tuple[int, int]) -> bool:
        return self.enabled and self.rect.collidepoint(pos)


def draw_bar(surface: pygame.Surface, rect: pygame.Rect, fraction: float, color=THEME["accent"]) -> None:
    """A horizontal progress bar filled to `fraction` (0..1)."""
    pygame.draw.rect(surface, THEME["button_off"], rect, border_radius=4)
    filled = rect.copy()
    filled.width = round(rect.width * max(0.0, min(1.0, fraction)))
    if filled.width > 0:
        pygame.draw.rect(surface, color, filled, border_radius=4)


def draw_value_bar(surface: pygame.Surface, rect: pygame.Rect, value: float, colors: tuple) -> None:
    """A bar split at the expected score for the first player: value in [-1, 1] from the first player's view."""
    share = (max(-1.0, min(1.0, value)) + 1) / 2
    left = rect.copy()
    left.width = round(rect.width * share)
    pygame.draw.rect(surface, colors[1], rect, border_radius=4)
    if left.width > 0:
        pygame.draw.rect(surface, colors[0], left, border_radius=4)
    pygame.draw.line(surface, THEME["muted"], (rect.centerx, rect.top - 2), (rect.centerx, rect.bottom + 2), 1)


def draw_heatmap(
    surface: pygame.Surface, cells: list[tuple[pygame.Rect, float, str]], color=THEME["heat"], max_alpha: int = 170
) -> None:
    """Translucent squares over board cells, alpha by weight (0..1), with a label (e.g. a visit share)."""
    overlay = pygame.Surface(surface.get_size(), pygame.SRCALPHA)
    for rect, weight, _ in cells:
        alpha = round(max_alpha * max(0.0, min(1.0, weight)) ** 0.5)
        if alpha > 0:
            pygame.draw.rect(overlay, (*color, alpha), rect.inflate(-4, -4), border_radius=4)
    surface.blit(overlay, (0, 0))
    for rect, _, label in cells:
        if label:
            size = max(12, min(22, rect.height // 3))
            draw_text(surface, label, rect.center, size=size, color=(10, 10, 10), bold=True, anchor="center")


def draw_banner(surface: pygame.Surface, rect: pygame.Rect, text: str, sub: str = "") -> None:
    """A result banner in `rect` (the strip under the board, so it hides nothing): a title and a smaller line."""
    pygame.draw.rect(surface, THEME["banner"], rect, border_radius=8)
    pygame.draw.rect(surface, THEME["accent"], rect, 2, border_radius=8)
    title = fit_text(text, 30, rect.width // 3, bold=True)
    left = draw_text(surface, title, (rect.left + 14, rect.centery), size=30, bold=True, anchor="midleft")
    if sub:
        sub = fit_text(sub, 22, rect.right - left.right - 30)
        draw_text(surface, sub, (left.right + 16, rect.centery), size=22, color=THEME["text"], anchor="midleft")


def draw_panel_box(surface: pygame.Surface, rect: pygame.Rect, title: str, lines: list[tuple[str, str]]) -> None:
    """A rounded box with a title and (key, description) rows: the help overlay."""
    shade = pygame.Surface(surface.get_size(), pygame.SRCALPHA)
    shade.fill((0, 0, 0, 150))
    surface.blit(shade, (0, 0))
    pygame.draw.rect(surface, THEME["panel"], rect, border_radius=10)
    draw_text(surface, title, (rect.centerx, rect.top + 16), size=30, bold=True, anchor="midtop")
    y = rect.top + 58
    for key, text in lines:
        draw_text(surface, key, (rect.left + 24, y), size=21, color=THEME["accent"], bold=True)
        draw_text(surface, fit_text(text, 21, rect.right - rect.left - 194), (rect.left + 170, y), size=21)
        y += 25
