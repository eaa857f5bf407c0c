"""Drawing shogi positions with pygame: the board from sente's side, the two hands beside it, last move and check.

Pieces are pentagons that point towards the side they attack (gote's turned down), labelled with a Latin symbol
(P L N S G B R K, promoted ones +P ... in red) in pygame's bundled font, so nothing depends on an installed CJK
font. The board takes the middle of the surface (a column on each side holds the hands: gote's on the left at the
top, sente's on the right at the bottom). Files run n..1 left to right and ranks a.. top to bottom, as on a shogi
diagram.
"""

from __future__ import annotations

from typing import Any

from envs.shogi_moves import ENEMY, HAND_ORDER, KING, PROMOTED

__all__ = ["geometry", "square_rect", "draw_position"]

_BOARD, _LINE, _INK, _RED = (222, 184, 120), (60, 40, 20), (20, 20, 20), (190, 20, 20)
_LETTERS = "PLNSBRGK"


def geometry(n: int, size: tuple[int, int]) -> tuple[float, float, float]:
    """(left, top, cell) of the n x n board on a surface of `size`, leaving a hand column of 1.5 cells each side."""
    cell = min(size[0] / (n + 3), size[1] / n)
    return (size[0] - cell * n) / 2, (size[1] - cell * n) / 2, cell


def square_rect(n: int, sq: int, size: tuple[int, int]) -> Any:
    """The pygame.Rect of absolute square sq = (file - 1) * n + (rank - 1)."""
    import pygame

    left, top, cell = geometry(n, size)
    col, row = n - 1 - sq // n, sq % n
    return pygame.Rect(round(left + col * cell), round(top + row * cell), round(cell), round(cell))


def _piece(surface: Any, rect: Any, code: int, font: Any) -> None:
    import pygame

    t, gote = code & 15, code >= ENEMY
    x, y, w, h = rect.x, rect.y, rect.w, rect.h
    pts = [(0.5, 0.08), (0.8, 0.25), (0.88, 0.92), (0.12, 0.92), (0.2, 0.25)]
    pts = [(x + px * w, y + (1 - py if gote else py) * h) for px, py in pts]
    pygame.draw.polygon(surface, (245, 225, 180), pts)
    pygame.draw.polygon(surface, _LINE, pts, 1)
    text = ("+" if t > KING else "") + _LETTERS[(t - PROMOTED if t > KING else t) - 1]
    img = font.render(text, True, _RED if t > KING else _INK)
    if gote:
        img = pygame.transform.rotate(img, 180)
    surface.blit(img, img.get_rect(center=rect.center))


def draw_position(game: Any, surface: Any, state: Any, i: int) -> None:
    """Draw game i of `state` (a ShogiState of `game`) on `surface`."""
    import pygame

    n, s = game.size, game.size**2
    size = surface.get_size()
    left, top, cell = geometry(n, size)
    surface.fill((200, 170, 110))
    pygame.draw.rect(surface, _BOARD, pygame.Rect(round(left), round(top), round(cell * n), round(cell * n)))
    if not pygame.font.get_init():
        pygame.font.init()
    font = pygame.font.Font(None, max(10, int(cell * 0.55)))
    board = state.board[i].tolist()
    shade = []
    last = int(state.last_action[i])
    if last >= 0:  # the last move's destination, back in absolute squares (the last mover is not to move)
        to = last % s
        shade.append(s - 1 - to if int(state.player[i]) == 0 else to)
    for sq in shade:
        pygame.draw.rect(surface, (205, 210, 106), square_rect(n, sq, size))
    if bool(state.check[i]):
        king = board.index(KING + ENEMY * int(state.player[i]))
        pygame.draw.rect(surface, (230, 90, 80), square_rect(n, king, size))
    for k in range(n + 1):
        pygame.draw.line(surface, _LINE, (left + k * cell, top), (left + k * cell, top + n * cell))
        pygame.draw.line(surface, _LINE, (left, top + k * cell), (left + n * cell, top + k * cell))
    for sq, code in enumerate(board):
        if code:
            _piece(surface, square_rect(n, sq, size), code, font)
    hands = state.hands[i].tolist()
    for side in (0, 1):
        held = [(t, hands[side][HAND_ORDER.index(t)]) for t in HAND_ORDER if hands[side][HAND_ORDER.index(t)]]
        for k, (t, c) in enumerate(held):
            y = top + (n - 1 - k) * cell if side == 0 else top + k * cell
            x = left + n * cell + 0.2 * cell if side == 0 else left - 1.4 * cell
            rect = pygame.Rect(round(x), round(y), round(cell), round(cell))
            _piece(surface, rect, t + ENEMY * side, font)
            if c > 1:
                img = font.render(str(c), True, _INK)
                surface.blit(img, (rect.right - img.get_width() // 2, rect.bottom - img.get_height()))
