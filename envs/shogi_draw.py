"""Drawing shogi positions with pygame: the board from sente's side, the two hands beside it, coordinates, the last
move, check, and the marks of a piece being moved (its square or hand piece, its targets).

Pieces are pentagons that point towards the side they attack: gote's are drawn turned 180 degrees, name and all.
Names are kanji (歩 香 桂 銀 金 角 飛 玉/王, promoted と 杏 圭 全 馬 龍 in red) where a font with Japanese glyphs is
installed (found at run time with fontconfig's `fc-list :lang=ja`, checked glyph by glyph; nothing is downloaded),
else Latin symbols (P L N S G B R K, promoted +P +L +N +S +B +R in red) in pygame's bundled font.

Layout (units of one square): gote's hand in a column 1.6 wide on the left, the n x n board, the rank letters in a
column 0.5 wide, sente's hand in a column 1.6 wide on the right; the file numbers (n..1, left to right, as on a
shogi diagram) in a row 0.6 high above. Gote's hand lists its pieces from the top, sente's from the bottom, each a
piece with its count.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

from envs.shogi_moves import ENEMY, HAND_ORDER, KING, PROMOTED

__all__ = [
    "Marks",
    "aspect",
    "geometry",
    "square_rect",
    "square_at",
    "hand_rects",
    "hand_at",
    "draw_piece",
    "draw_position",
    "cjk_font_path",
    "piece_name",
    "last_squares",
]

_BOARD, _LINE, _INK, _RED = (222, 184, 120), (60, 40, 20), (20, 20, 20), (190, 20, 20)
_TABLE, _FACE = (150, 110, 66), (247, 228, 186)
_LAST, _PICKED, _TARGET, _CHECK = (205, 210, 106), (110, 190, 120), (20, 85, 30, 140), (235, 70, 60)
_LETTERS = "PLNSBRGK"
_KANJI = ("", "歩", "香", "桂", "銀", "角", "飛", "金", "玉", "と", "杏", "圭", "全", "馬", "龍")
_HAND_W, _RANK_W, _FILE_H = 1.6, 0.5, 0.6


@dataclass
class Marks:
    """What the viewer marks on the position: last move, picked piece (a square or a hand piece), targets."""

    last: tuple[int, ...] = ()  # absolute squares of the last move (from and to; only to for a drop)
    picked_square: int | None = None
    picked_hand: tuple[int, int] | None = None  # (side, piece type)
    targets: list[int] = field(default_factory=list)
    hidden: int | None = None  # a square whose piece is not drawn


def aspect(n: int) -> float:
    """Width / height of the picture of an n x n position with hands and coordinates."""
    return (n + 2 * _HAND_W + _RANK_W) / (n + _FILE_H)


def geometry(n: int, size: tuple[int, int]) -> tuple[float, float, float]:
    """(left, top, cell) of the n x n board on a surface of `size`."""
    cell = min(size[0] / (n + 2 * _HAND_W + _RANK_W), size[1] / (n + _FILE_H))
    x0 = (size[0] - cell * (n + 2 * _HAND_W + _RANK_W)) / 2
    y0 = (size[1] - cell * (n + _FILE_H)) / 2
    return x0 + _HAND_W * cell, y0 + _FILE_H * cell, cell


def square_rect(n: int, sq: int, size: tuple[int, int]) -> Any:
    """The pygame.Rect of absolute square sq = (file - 1) * n + (rank - 1); neighbours share their edges."""
    import pygame

    left, top, cell = geometry(n, size)
    col, row = n - 1 - sq // n, sq % n
    x0, y0 = round(left + col * cell), round(top + row * cell)
    return pygame.Rect(x0, y0, round(left + (col + 1) * cell) - x0, round(top + (row + 1) * cell) - y0)


def square_at(n: int, pos: tuple[int, int], size: tuple[int, int]) -> int | None:
    """The absolute square under pixel `pos`, or None off the board."""
    left, top, cell = geometry(n, size)
    col, row = int((pos[0] - left) // cell), int((pos[1] - top) // cell)
    if not (0 <= col < n and 0 <= row < n and pos[0] >= left and pos[1] >= top):
        return None
    return (n - 1 - col) * n + row


def hand_rects(n: int, size: tuple[int, int], hands: list[list[int]]) -> list[tuple[int, int, int, Any]]:
    """(side, piece type, count, rect) of every kind of piece in either hand: gote's from the top of the left
    column, sente's from the bottom of the right one, in the order R B G S N L P."""
    import pygame

    left, top, cell = geometry(n, size)
    out = []
    for side in (0, 1):
        held = [(t, hands[side][HAND_ORDER.index(t)]) for t in (6, 5, 7, 4, 3, 2, 1)]
        held = [(t, c) for t, c in held if c]
        for k, (t, c) in enumerate(held):
            row = n - 1 - k if side == 0 else k
            x = left + n * cell + _RANK_W * cell + 0.05 * cell if side == 0 else left - _HAND_W * cell + 0.05 * cell
            y = top + row * cell
            out.append((side, t, c, pygame.Rect(round(x), round(y), round(cell * 0.95), round(cell * 0.95))))
    return out


def hand_at(n: int, pos: tuple[int, int], size: tuple[int, int], hands: list[list[int]]) -> tuple[int, int] | None:
    """(side, piece type) of the hand piece under pixel `pos` (its piece or its count), or None."""
    for side, t, _, rect in hand_rects(n, size, hands):
        if rect.inflate(rect.width // 2, 0).move(rect.width // 4, 0).collidepoint(pos):
            return side, t
    return None


@functools.cache
def cjk_font_path() -> str | None:
    """A font file with every kanji of the pieces, found with fontconfig (`fc-list :lang=ja`), or None."""
    if os.environ.get("GAMELAB_SHOGI_LATIN") or shutil.which("fc-list") is None:
        return None
    try:
        out = subprocess.run(["fc-list", ":lang=ja", "file"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    import pygame

    if not pygame.font.get_init():
        pygame.font.init()
    for line in sorted(out.splitlines()):
        path = line.split(":")[0].strip()
        if not path.lower().endswith((".ttf", ".otf", ".ttc")) or not os.path.isfile(path):
            continue
        try:
            metrics = pygame.font.Font(path, 20).metrics("".join(_KANJI[1:]) + "王")
        except (OSError, pygame.error):
            continue
        if all(m is not None for m in metrics):
            return path
    return None


def piece_name(code: int, kanji: bool) -> str:
    """The name drawn on a piece of code `code` (type 1..14, + ENEMY for gote): kanji or Latin."""
    t = code & 15
    if kanji:
        return "王" if t == KING and code >= ENEMY else _KANJI[t]
    return ("+" if t > KING else "") + _LETTERS[(t - PROMOTED if t > KING else t) - 1]


_fonts: dict[tuple[int, bool], Any] = {}  # until pygame.quit(): a Font from before it crashes the process


def _font(px: int, kanji: bool) -> Any:
    import pygame

    if not pygame.font.get_init():
        pygame.font.init()
    if not _fonts:  # a new cache: pygame forgets its quit functions once it has called them, so ask in every session
        pygame.register_quit(_fonts.clear)
    key = (px, kanji)
    if key not in _fonts:
        _fonts[key] = pygame.font.Font(cjk_font_path() if kanji else None, px)
    return _fonts[key]


def draw_piece(surface: Any, rect: Any, code: int, center: tuple[int, int] | None = None) -> None:
    """A piece filling `rect` (centred on `center`): a pentagon pointing up for sente, down for gote, its name."""
    import pygame

    t, gote = code & 15, code >= ENEMY
    w, h = rect.w, rect.h
    cx, cy = center or rect.center
    x, y = cx - w / 2, cy - h / 2
    pts = [(0.5, 0.07), (0.8, 0.22), (0.88, 0.93), (0.12, 0.93), (0.2, 0.22)]
    pts = [(x + px * w, y + (1 - py if gote else py) * h) for px, py in pts]
    pygame.draw.polygon(surface, _FACE, pts)
    pygame.draw.polygon(surface, _LINE, pts, max(1, w // 40))
    kanji = cjk_font_path() is not None
    text = piece_name(code, kanji)
    px = max(8, round(h * (0.55 if kanji else 0.5 if len(text) == 1 else 0.42)))
    img = _font(px, kanji).render(text, True, _RED if t > KING else _INK)
    if gote:
        img = pygame.transform.rotate(img, 180)
    surface.blit(img, img.get_rect(center=(round(cx), round(cy + (-1 if gote else 1) * h * 0.06))))


def _label(surface: Any, text: str, center: tuple[float, float], px: int, color: tuple[int, int, int]) -> None:
    img = _font(px, False).render(text, True, color)
    surface.blit(img, img.get_rect(center=(round(center[0]), round(center[1]))))


def draw_position(game: Any, surface: Any, state: Any, i: int, marks: Marks | None = None) -> None:
    """Draw game i of `state` (a ShogiState of `game`) on `surface`, with the viewer's `marks` (default: the last
    move from the state, nothing picked)."""
    import pygame

    n = game.size
    size = surface.get_size()
    left, top, cell = geometry(n, size)
    board = state.board[i].tolist()
    hands = state.hands[i].tolist()
    if marks is None:
        marks = Marks(last=last_squares(game, state, i))
    surface.fill(_TABLE)
    pygame.draw.rect(surface, _BOARD, pygame.Rect(round(left), round(top), round(cell * n), round(cell * n)))
    for sq in marks.last:
        pygame.draw.rect(surface, _LAST, square_rect(n, sq, size))
    if marks.picked_square is not None:
        pygame.draw.rect(surface, _PICKED, square_rect(n, marks.picked_square, size))
    if bool(state.check[i]):  # the king of the side to move, in check (or mated)
        king = board.index(KING + ENEMY * int(state.player[i]))
        pygame.draw.rect(surface, _CHECK, square_rect(n, king, size))
    for k in range(n + 1):
        width = 2 if k in (0, n) else 1
        pygame.draw.line(surface, _LINE, (left + k * cell, top), (left + k * cell, top + n * cell), width)
        pygame.draw.line(surface, _LINE, (left, top + k * cell), (left + n * cell, top + k * cell), width)
    if n == 9:  # the four dots that mark the promotion zones' corners
        for fx, fy in ((3, 3), (6, 3), (3, 6), (6, 6)):
            pygame.draw.circle(
                surface, _LINE, (round(left + fx * cell), round(top + fy * cell)), max(2, round(cell / 16))
            )
    px = max(10, round(cell * 0.36))
    for c in range(n):
        _label(surface, str(n - c), (left + (c + 0.5) * cell, top - _FILE_H * cell / 2), px, (245, 235, 215))
    for r in range(n):
        _label(surface, chr(97 + r), (left + (n + _RANK_W / 2) * cell, top + (r + 0.5) * cell), px, (245, 235, 215))
    for sq, code in enumerate(board):
        if code and sq != marks.hidden:
            draw_piece(surface, square_rect(n, sq, size), code)
    for sq in marks.targets:
        rect = square_rect(n, sq, size)
        layer = pygame.Surface(rect.size, pygame.SRCALPHA)
        if board[sq]:
            pygame.draw.circle(layer, _TARGET, layer.get_rect().center, rect.w // 2, max(3, rect.w // 12))
        else:
            pygame.draw.circle(layer, _TARGET, layer.get_rect().center, max(4, rect.w // 7))
        surface.blit(layer, rect)
    count_px = max(10, round(cell * 0.38))
    for side, t, c, rect in hand_rects(n, size, hands):
        if marks.picked_hand == (side, t):
            pygame.draw.rect(surface, _PICKED, rect.inflate(4, 4), border_radius=4)
        draw_piece(surface, rect.inflate(-rect.w // 8, -rect.h // 8), t + ENEMY * side)
        if c > 1:
            _label(surface, str(c), (rect.right + cell * 0.3, rect.centery), count_px, (255, 250, 235))
    _label(surface, "gote", (left - _HAND_W * cell / 2, top - _FILE_H * cell / 2), px, (245, 235, 215))
    x = left + (n + _RANK_W + _HAND_W / 2) * cell
    _label(surface, "sente", (x, top - _FILE_H * cell / 2), px, (245, 235, 215))


def last_squares(game: Any, state: Any, i: int) -> tuple[int, ...]:
    """The absolute squares of the move that led to game i's position: its destination (the move's from-square is
    not kept in the state; the viewer marks both from its history)."""
    s = game.size**2
    last = int(state.last_action[i])
    if last < 0:
        return ()
    to = last % s
    return (s - 1 - to if int(state.player[i]) == 0 else to,)  # the last mover is not to move
