"""Drawing chess boards of any size with pygame: squares, pieces, square shades; the geometry to hit-test them.

Pieces are the chess glyphs (U+2654-265F) of DejaVu Sans, the font matplotlib ships (an installed dependency, so
nothing is downloaded): each piece is the solid glyph filled with the side's colour under the outlined glyph in a
dark ink, so white and black pieces read alike on light and dark squares. Without that font file the pieces are
discs with their letter (pygame's bundled font).

The board is given as a FEN (its board field sets the size: 8x8 chess, 5x5 minichess); `flipped` draws it from
black's side. Squares are named as in SAN ("e4"); envs.chess_san names them the same way.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any

from envs.chess_san import board_grid
from envs.draw import COLORS, draw_stone

__all__ = [
    "LIGHT",
    "DARK",
    "board_geometry",
    "square_rect",
    "square_at",
    "draw_board",
    "draw_piece",
    "piece_font_path",
]

LIGHT, DARK = (240, 217, 181), (181, 136, 99)
_SOLID = {"K": "\u265a", "Q": "\u265b", "R": "\u265c", "B": "\u265d", "N": "\u265e", "P": "\u265f"}
_OUTLINE = {"K": "\u2654", "Q": "\u2655", "R": "\u2656", "B": "\u2657", "N": "\u2658", "P": "\u2659"}
_WHITE_FILL, _BLACK_FILL = (250, 250, 246), (30, 30, 34)
_WHITE_INK, _BLACK_LINES = (25, 25, 25), (190, 190, 196)


def piece_font_path() -> Path | None:
    """DejaVu Sans from matplotlib's package data (found without importing matplotlib), or None."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
    return path if path.is_file() else None


def board_geometry(size: tuple[int, int], shape: tuple[int, int]) -> tuple[float, float, float]:
    """(left, top, cell) of an H x W board of square cells centred on a surface of `size`."""
    h, w = shape
    cell = min(size[0] / w, size[1] / h)
    return (size[0] - cell * w) / 2, (size[1] - cell * h) / 2, cell


def _row_col(square: str, shape: tuple[int, int], flipped: bool) -> tuple[int, int]:
    h, w = shape
    col, rank = ord(square[0]) - 97, int(square[1:])
    row = h - rank
    return (h - 1 - row, w - 1 - col) if flipped else (row, col)


def square_rect(square: str, size: tuple[int, int], shape: tuple[int, int], flipped: bool = False) -> Any:
    """The pygame.Rect of a square ("e4") on a board of `shape` drawn on a surface of `size`; neighbours share
    their edges (no gaps)."""
    import pygame

    left, top, cell = board_geometry(size, shape)
    row, col = _row_col(square, shape, flipped)
    x0, y0 = round(left + col * cell), round(top + row * cell)
    return pygame.Rect(x0, y0, round(left + (col + 1) * cell) - x0, round(top + (row + 1) * cell) - y0)


def square_at(pos: tuple[int, int], size: tuple[int, int], shape: tuple[int, int], flipped: bool = False) -> str | None:
    """The name of the square under pixel `pos`, or None off the board."""
    h, w = shape
    left, top, cell = board_geometry(size, shape)
    col, row = int((pos[0] - left) // cell), int((pos[1] - top) // cell)
    if not (0 <= row < h and 0 <= col < w):
        return None
    if flipped:
        row, col = h - 1 - row, w - 1 - col
    return f"{chr(97 + col)}{h - row}"


@lru_cache(maxsize=64)
def _glyph(letter: str, px: int) -> Any:
    """The picture of a piece ("K" white king, "k" black king) px pixels high, with transparency; None when no
    piece font is at hand."""
    import pygame

    path = piece_font_path()
    if path is None:
        return None
    if not pygame.font.get_init():
        pygame.font.init()
    font = _font(str(path), px)
    kind = letter.upper()
    solid = font.render(_SOLID[kind], True, (0, 0, 0))
    # the piece's silhouette: everything the solid glyph encloses (its inner lines are holes in the glyph)
    outside = pygame.mask.from_surface(solid, 200)
    outside.invert()
    outside = outside.connected_component((0, 0))
    outside.invert()
    if letter.isupper():  # white: a white silhouette under the outlined glyph
        picture = outside.to_surface(setcolor=(*_WHITE_FILL, 255), unsetcolor=(0, 0, 0, 0))
        picture.blit(font.render(_OUTLINE[kind], True, _WHITE_INK), (0, 0))
    else:  # black: the solid glyph over a grey silhouette, so its inner lines show grey on any square
        picture = outside.to_surface(setcolor=(*_BLACK_LINES, 255), unsetcolor=(0, 0, 0, 0))
        picture.blit(font.render(_SOLID[kind], True, _BLACK_FILL), (0, 0))
    return picture


@lru_cache(maxsize=8)
def _font(path: str, px: int) -> Any:
    import pygame

    return pygame.font.Font(path, px)


def draw_piece(surface: Any, rect: Any, letter: str, center: tuple[int, int] | None = None) -> None:
    """Draw piece `letter` (FEN letter: upper case white) filling `rect`, centred on `center` (default the rect's
    centre; the viewer drags a piece with it)."""
    import pygame

    center = center or rect.center
    picture = _glyph(letter, max(8, round(rect.height * 0.86)))
    if picture is not None:
        surface.blit(picture, picture.get_rect(center=(center[0], center[1] + rect.height // 40)))
        return
    disc = pygame.Rect(rect)
    disc.center = center
    white = letter.isupper()
    draw_stone(surface, disc, COLORS["white"] if white else COLORS["black"], scale=0.4)
    font = pygame.font.Font(None, max(8, rect.height // 2))
    text = font.render(letter.upper(), True, COLORS["black"] if white else COLORS["white"])
    surface.blit(text, text.get_rect(center=center))


def _draw_glow(surface: Any, rect: Any, color: tuple[int, int, int] = (230, 30, 30)) -> None:
    """A radial red glow filling the square, strongest in the middle."""
    import pygame

    layer = pygame.Surface(rect.size, pygame.SRCALPHA)
    radius = rect.width * 0.7
    for k in range(round(radius), 0, -1):  # smaller circles overwrite larger ones with more opacity
        pygame.draw.circle(layer, (*color, round(235 * max(0.0, 1 - k / radius) ** 0.6)), layer.get_rect().center, k)
    surface.blit(layer, rect)


def draw_board(
    surface: Any,
    fen: str,
    *,
    flipped: bool = False,
    shades: dict[str, tuple[int, ...]] | None = None,
    hidden: tuple[str, ...] = (),
    check: str | None = None,
) -> None:
    """Draw the board of a FEN: squares, then `shades` (square -> RGB or RGBA laid over it), a red glow on the
    `check` square (a king in check), then the pieces but those on `hidden` squares (a piece being dragged)."""
    import pygame

    grid = board_grid(fen)
    shape = (len(grid), len(grid[0]))
    size = surface.get_size()
    shades = shades or {}
    for r, row in enumerate(grid):
        for c, piece in enumerate(row):
            name = f"{chr(97 + c)}{shape[0] - r}"
            rect = square_rect(name, size, shape, flipped)
            light = (r + c + shape[0] + shape[1]) % 2 == 0  # the bottom right corner (h1) is light
            pygame.draw.rect(surface, LIGHT if light else DARK, rect)
            shade = shades.get(name)
            if shade is not None:
                layer = pygame.Surface(rect.size, pygame.SRCALPHA)
                layer.fill(shade if len(shade) == 4 else (*shade, 255))
                surface.blit(layer, rect)
            if name == check:
                _draw_glow(surface, rect)
            if piece and name not in hidden:
                draw_piece(surface, rect, piece)
