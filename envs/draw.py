"""Shared pygame drawing for board games: colours, board background, grids, shaded stones, offscreen rendering.

Geometry: a board of H x W cells fills a surface with a border of `margin` cells on each side (see
envs.base.grid_rect). Games played on intersections (go, gomoku) draw lines through the cell centres;
games played in cells (tictactoe, othello) draw the cell borders.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from envs.base import grid_rect

__all__ = [
    "COLORS",
    "fill_background",
    "draw_cell_grid",
    "draw_intersection_grid",
    "draw_star_points",
    "draw_stone",
    "draw_last_move",
    "render_array",
    "coordinate_labels",
    "action_name",
]

Color = tuple[int, int, int]

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

COLORS: dict[str, Color] = {
    "wood": (220, 179, 92),
    "green": (34, 120, 60),
    "blue": (30, 70, 170),
    "line": (40, 30, 20),
    "black": (25, 25, 25),
    "white": (235, 235, 235),
    "red": (200, 40, 40),
    "yellow": (240, 200, 30),
    "hole": (245, 245, 240),
    "marker": (220, 40, 40),
}


def fill_background(surface: Any, color: Color = COLORS["wood"]) -> None:
    """Fill the whole surface with `color`."""
    surface.fill(color)


def draw_cell_grid(
    surface: Any, board_shape: tuple[int, int], margin: float = 0.0, color: Color = COLORS["line"]
) -> None:
    """Lines along the cell borders of an H x W board (tictactoe, othello)."""
    import pygame

    h, w = board_shape
    size = surface.get_size()
    first, last = grid_rect(0, size, board_shape, margin), grid_rect(h * w - 1, size, board_shape, margin)
    x0, y0, x1, y1 = first.left, first.top, last.right, last.bottom
    width = max(1, min(size) // 150)
    for c in range(w + 1):
        x = round(x0 + (x1 - x0) * c / w)
        pygame.draw.line(surface, color, (x, y0), (x, y1), width)
    for r in range(h + 1):
        y = round(y0 + (y1 - y0) * r / h)
        pygame.draw.line(surface, color, (x0, y), (x1, y), width)


def draw_intersection_grid(
    surface: Any, board_shape: tuple[int, int], margin: float = 0.5, color: Color = COLORS["line"]
) -> None:
    """Lines through the cell centres of an H x W board (go, gomoku: stones sit on the intersections)."""
    import pygame

    h, w = board_shape
    size = surface.get_size()
    width = max(1, min(size) // 300)
    for c in range(w):
        top, bottom = grid_rect(c, size, board_shape, margin), grid_rect((h - 1) * w + c, size, board_shape, margin)
        pygame.draw.line(surface, color, top.center, bottom.center, width)
    for r in range(h):
        left, right = grid_rect(r * w, size, board_shape, margin), grid_rect(r * w + w - 1, size, board_shape, margin)
        pygame.draw.line(surface, color, left.center, right.center, width)


def draw_star_points(
    surface: Any, board_shape: tuple[int, int], points: list[int], margin: float = 0.5, color: Color = COLORS["line"]
) -> None:
    """Small dots on the given cells (hoshi)."""
    import pygame

    size = surface.get_size()
    for a in points:
        rect = grid_rect(a, size, board_shape, margin)
        pygame.draw.circle(surface, color, rect.center, max(2, rect.width // 10))


def draw_stone(surface: Any, rect: Any, color: Color, *, scale: float = 0.43) -> None:
    """A shaded disc in `rect`: darker rim, base colour in the middle (the centre pixel is exactly `color`),
    and a small highlight towards the top left."""
    import pygame

    radius = max(2, round(min(rect.width, rect.height) * scale))
    cx, cy = rect.center
    rim = tuple(max(0, int(v * 0.6)) for v in color)
    pygame.draw.circle(surface, rim, (cx, cy), radius)
    pygame.draw.circle(surface, color, (cx, cy), max(1, radius - max(1, radius // 8)))
    if radius >= 6:
        light = tuple(min(255, int(v + (255 - v) * 0.5)) for v in color)
        hx, hy = cx - radius // 2, cy - radius // 2
        pygame.draw.circle(surface, light, (hx, hy), max(1, radius // 5))


def draw_last_move(surface: Any, rect: Any, color: Color = COLORS["marker"], *, scale: float = 0.47) -> None:
    """A thin ring around the cell's stone marking the last move (leaves the stone's centre untouched)."""
    import pygame

    radius = max(3, round(min(rect.width, rect.height) * scale))
    pygame.draw.circle(surface, color, rect.center, radius, max(1, radius // 12))


_GO_LETTERS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"  # Go (and GTP) skip the letter I


def coordinate_labels(game: Any) -> tuple[list[str], list[str]]:
    """How players name a board's columns (left to right) and rows (top to bottom).

    Go: A-T without I, rows numbered from the bottom (as GTP and Go programs write them); Gomoku: a-o, rows from the
    bottom; Othello, Hex and tic-tac-toe: a-h, rows from the top (as Othello and HexGui write them); Connect Four:
    columns 1-7 and no row names.
    """
    h, w = game.board_shape
    if game.name == "connect_four":
        return [str(c + 1) for c in range(w)], []
    if game.name == "go":
        return list(_GO_LETTERS[:w]), [str(h - r) for r in range(h)]
    letters = [chr(97 + c) for c in range(w)]
    if game.name == "gomoku":
        return letters, [str(h - r) for r in range(h)]
    return letters, [str(r + 1) for r in range(h)]


def action_name(game: Any, action: int) -> str:
    """An action as players write it: "D4" in Go, "c5" in Othello, "pass", a column number in Connect Four."""
    if game.pass_action is not None and int(action) == game.pass_action:
        return "pass"
    columns, rows = coordinate_labels(game)
    if not rows:
        return columns[int(action) % len(columns)]
    r, c = divmod(int(action), game.board_shape[1])
    return f"{columns[c]}{rows[r]}"


def render_array(game: Any, state: Any, i: int = 0, size: tuple[int, int] = (400, 400)) -> np.ndarray:
    """Draw game `i` of `state` on an offscreen surface of `size` (width, height).

    Returns:
        uint8 array [height, width, 3].
    """
    import pygame

    surface = pygame.Surface(size)
    game.draw(surface, state, i)
    return np.ascontiguousarray(np.transpose(pygame.surfarray.array3d(surface), (1, 0, 2)), dtype=np.uint8)
