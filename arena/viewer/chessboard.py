"""Chess in the viewer: picking and dragging pieces, the picked piece's targets, the promotion choice, the flipped
board, and the board's drawing (last move, check, coordinates, the agent's best moves as arrows).

Works for every game with chess rules (`arena.viewer.board.is_chess`: the game speaks FEN and UCI), whatever its
board size: the position is read from the game's FEN and its legal moves as UCI text, so nothing here knows the
action encoding.

A person moves by clicking the piece and then its target, or by dragging the piece there. A pawn reaching the last
rank opens the promotion choice over the target square (click a piece, or press Q, R, B, N; a click elsewhere
cancels). F flips the board; the board starts from black's side when the person plays black alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pygame

from arena.viewer.board import hint_weights, per_state, play_or_choose, refuse_pick, sync_hand
from arena.viewer.widgets import THEME, draw_text
from envs.chess_draw import draw_board, draw_piece, square_at, square_rect
from envs.chess_san import board_grid, legal_uci, move_san

__all__ = [
    "ChessHand",
    "Position",
    "PROMOTION_ORDER",
    "position",
    "press",
    "motion",
    "release",
    "choose_promotion",
    "draw",
    "move_name",
    "last_move_squares",
]

PROMOTION_ORDER = "qnrb"  # top to bottom in the choice, as chess sites show it
_LAST = (205, 210, 106, 150)
_PICKED = (20, 85, 30, 110)
_ARROW = (250, 130, 20)
_TARGET = (20, 85, 30, 120)


@dataclass
class ChessHand:
    """What the person is doing on a chess board: the picked square, a drag, an open promotion choice."""

    picked: str | None = None  # the square of the picked piece
    dragging: bool = False
    drag_pos: tuple[int, int] | None = None
    promotion: tuple[str, dict[str, int]] | None = None  # (target square, {"q": action, ...}) while choosing
    flipped: bool = False
    at: Any = None  # the position the pick belongs to
    names: dict[int, tuple[Any, str]] = field(default_factory=dict)  # id(position after) -> (position, SAN)

    def drop(self) -> None:
        """Put the piece down: no pick, no drag, no open choice."""
        self.picked, self.dragging, self.drag_pos, self.promotion = None, False, None, None


@dataclass
class Position:
    """A position as the viewer needs it: the FEN, the board grid and the legal moves grouped by square."""

    fen: str
    grid: list[list[str]]
    moves: dict[str, dict[str, list[tuple[str, int]]]]  # from square -> to square -> [(UCI, action), ...]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.grid), len(self.grid[0])

    def piece(self, square: str) -> str:
        h = self.shape[0]
        return self.grid[h - int(square[1:])][ord(square[0]) - 97]


_CACHE: dict[int, tuple[Any, Position]] = {}


def position(viewer: Any) -> Position:
    """The shown position (cached per state object)."""
    return per_state(_CACHE, viewer.session.state, lambda: _position(viewer))


def _position(viewer: Any) -> Position:
    game, state = viewer.game, viewer.session.state
    fen = game.to_fen(state)[0]
    moves: dict[str, dict[str, list[tuple[str, int]]]] = {}
    if not viewer.session.over:
        for uci, action in legal_uci(game, state).items():
            moves.setdefault(uci[:2], {}).setdefault(uci[2:4], []).append((uci, action))
    return Position(fen, board_grid(fen), moves)


def move_name(viewer: Any, move_number: int) -> str:
    """The SAN of move `move_number` (1-based) of the session, cached."""
    session = viewer.session
    before, after = session.states[move_number - 1], session.states[move_number]
    action = session.actions[move_number - 1]
    return per_state(viewer.chess.names, after, lambda: move_san(viewer.game, before, action, after), most=None)


def last_move_squares(viewer: Any) -> tuple[str, str] | None:
    """The from and to squares of the move that led to the shown position."""
    session = viewer.session
    if session.cursor == 0:
        return None
    uci = viewer.game.move_to_uci(session.states[session.cursor - 1], 0, session.actions[session.cursor - 1])
    return uci[:2], uci[2:4]


# ---------------------------------------------------------------- input


def _square(viewer: Any, pos: tuple[int, int]) -> str | None:
    board = viewer.board_rect
    if board is None:
        return None
    shape = viewer.game.board_shape
    return square_at((pos[0] - board.left, pos[1] - board.top), board.size, shape, viewer.chess.flipped)


def _promotion_rects(viewer: Any) -> list[tuple[pygame.Rect, str]]:
    """The squares of the open promotion choice, on screen: a column from the target square towards the centre."""
    hand = viewer.chess
    if hand.promotion is None or viewer.board_rect is None:
        return []
    board = viewer.board_rect
    target, choices = hand.promotion
    rect = square_rect(target, board.size, viewer.game.board_shape, hand.flipped).move(board.topleft)
    step = rect.height if rect.centery < board.centery else -rect.height
    letters = [p for p in PROMOTION_ORDER if p in choices]
    return [(rect.move(0, k * step), p) for k, p in enumerate(letters)]


def _play(viewer: Any, moves: list[tuple[str, int]], target: str) -> None:
    """Play the move to `target`, or open the promotion choice when it has several (the promoted piece)."""
    play_or_choose(viewer, viewer.chess, moves, target, lambda uci: uci[4:])


def choose_promotion(viewer: Any, letter: str) -> bool:
    """Pick the promotion piece ("q", "r", "b", "n") of the open choice; returns whether a choice was open."""
    hand = viewer.chess
    if hand.promotion is None:
        return False
    action = hand.promotion[1].get(letter.lower())
    if action is not None:
        hand.drop()
        viewer.try_move(action)
    return True


def press(viewer: Any, pos: tuple[int, int]) -> None:
    """The mouse button goes down at `pos`: choose a promotion, play to a target of the picked piece, or pick."""
    sync_hand(viewer.chess, viewer.session.state)
    hand = viewer.chess
    if hand.promotion is not None:
        letter = next((p for rect, p in _promotion_rects(viewer) if rect.collidepoint(pos)), None)
        if letter is not None:
            choose_promotion(viewer, letter)
        else:
            hand.drop()
        return
    square = _square(viewer, pos)
    if square is None:
        return
    pos_info = position(viewer)
    if hand.picked is not None and square in pos_info.moves.get(hand.picked, {}):
        _play(viewer, pos_info.moves[hand.picked][square], square)
        return
    if refuse_pick(viewer, hand):
        return
    if square in pos_info.moves:
        hand.picked, hand.dragging, hand.drag_pos = square, True, pos
    elif hand.picked is not None or pos_info.piece(square):
        viewer.say("illegal move" if hand.picked is not None else "that piece cannot move")
        hand.drop()


def motion(viewer: Any, pos: tuple[int, int]) -> None:
    """The mouse moves: a dragged piece follows it."""
    if viewer.chess.dragging:
        viewer.chess.drag_pos = pos


def release(viewer: Any, pos: tuple[int, int]) -> None:
    """The mouse button comes up: a dragged piece lands on a target (a move), stays picked for a second click when
    it did not leave its square, and is put back anywhere else."""
    hand = viewer.chess
    if not hand.dragging:
        return
    hand.dragging, hand.drag_pos = False, None
    square = _square(viewer, pos)
    if square is None or square == hand.picked:
        return
    targets = position(viewer).moves.get(hand.picked or "", {})
    if square in targets:
        _play(viewer, targets[square], square)
    else:
        hand.drop()
        viewer.say("illegal move")


# ---------------------------------------------------------------- drawing


def _king_in_check(viewer: Any, pos: Position) -> str | None:
    state = viewer.session.state
    check = getattr(state, "check", None)
    if check is None or not bool(check[0]):
        return None
    king = "K" if viewer.session.to_move == 0 else "k"
    h, w = pos.shape
    return next((f"{chr(97 + c)}{h - r}" for r in range(h) for c in range(w) if pos.grid[r][c] == king), None)


def _mouse() -> tuple[int, int]:
    return pygame.mouse.get_pos() if pygame.display.get_init() else (-1, -1)


def draw(viewer: Any, surface: pygame.Surface, board: pygame.Rect, margin: int, hint: dict | None) -> None:
    """The whole chess board: frame with coordinates, squares and pieces, the last move, check, the picked piece
    and its targets, the square under the mouse, hints as arrows, the dragged piece, the promotion choice."""
    sync_hand(viewer.chess, viewer.session.state)
    hand = viewer.chess
    pos = position(viewer)
    shape = pos.shape
    _draw_frame(surface, board, margin, shape, hand.flipped)
    shades: dict[str, tuple[int, ...]] = {}
    last = last_move_squares(viewer)
    if last is not None:
        shades.update(dict.fromkeys(last, _LAST))
    if hand.picked is not None:
        shades[hand.picked] = _PICKED
    checked = _king_in_check(viewer, pos)
    board_surface = surface.subsurface(board)
    size = board.size
    hidden = (hand.picked,) if hand.dragging and hand.drag_pos is not None and hand.picked else ()
    draw_board(board_surface, pos.fen, flipped=hand.flipped, shades=shades, hidden=hidden, check=checked)
    if hand.picked is not None:
        mouse = _mouse()
        hover = _square(viewer, mouse)
        for target in pos.moves.get(hand.picked, {}):
            rect = square_rect(target, size, shape, hand.flipped)
            _draw_target(board_surface, rect, bool(pos.piece(target)), target == hover)
    if viewer.hints_on and hint is not None and not viewer.session.over:
        _draw_arrows(viewer, board_surface, hint, shape)
    if hidden:
        rect = square_rect(hand.picked, size, shape, hand.flipped)
        center = (hand.drag_pos[0] - board.left, hand.drag_pos[1] - board.top)
        draw_piece(board_surface, rect, pos.piece(hand.picked), center=center)
    if hand.promotion is not None:
        _draw_promotion(viewer, surface)


def _draw_frame(surface: pygame.Surface, board: pygame.Rect, m: int, shape: tuple[int, int], flipped: bool) -> None:
    """Files under and above the board, ranks left and right of it, on a dark wooden frame."""
    frame = board.inflate(2 * m, 2 * m)
    pygame.draw.rect(surface, (92, 64, 44), frame, border_radius=6)
    h, w = shape
    fsize = max(14, min(22, m))
    for c in range(w):
        name = f"{chr(97 + c)}1"
        rect = square_rect(name, board.size, shape, flipped).move(board.topleft)
        for y in (board.top - m // 2, board.bottom + m // 2):
            draw_text(surface, name[0], (rect.centerx, y), size=fsize, color=(240, 225, 200), anchor="center")
    for rank in range(1, h + 1):
        rect = square_rect(f"a{rank}", board.size, shape, flipped).move(board.topleft)
        for x in (board.left - m // 2, board.right + m // 2):
            draw_text(surface, str(rank), (x, rect.centery), size=fsize, color=(240, 225, 200), anchor="center")


def _draw_target(surface: pygame.Surface, rect: pygame.Rect, capture: bool, hover: bool) -> None:
    """A dot on a free target square, corner marks on a capture, a full shade under the mouse."""
    layer = pygame.Surface(rect.size, pygame.SRCALPHA)
    if hover:
        layer.fill(_TARGET)
    elif capture:
        r = rect.width // 2
        pygame.draw.circle(layer, _TARGET, (r, rect.height // 2), r, max(3, r // 7))
    else:
        pygame.draw.circle(layer, _TARGET, (rect.width // 2, rect.height // 2), max(4, rect.width // 7))
    surface.blit(layer, rect)


def _draw_arrows(viewer: Any, surface: pygame.Surface, hint: dict, shape: tuple[int, int]) -> None:
    """The searched moves with the most visits as arrows, width by their share, with the share written."""
    share = hint_weights(hint)
    if share is None:
        return
    state, size, flipped = viewer.session.state, surface.get_size(), viewer.chess.flipped
    top = share.topk(min(3, int((share > 0.02).sum()))).indices.tolist()
    for rank, a in enumerate(top):
        uci = viewer.game.move_to_uci(state, 0, a)
        frm = square_rect(uci[:2], size, shape, flipped).center
        to = square_rect(uci[2:4], size, shape, flipped).center
        width = max(3, round(size[0] / shape[1] * (0.22 if rank == 0 else 0.12)))
        _arrow(surface, frm, to, width, (*_ARROW, 200 if rank == 0 else 140))
        label = pygame.Rect(0, 0, 50, 24)  # a light tag under the share: readable on dark pieces and squares
        label.center = to
        pygame.draw.rect(surface, (250, 250, 245), label, border_radius=6)
        pygame.draw.rect(surface, _ARROW, label, width=2, border_radius=6)
        draw_text(surface, f"{100 * float(share[a]):.0f}%", to, size=20, color=(10, 10, 10), bold=True, anchor="center")


def _arrow(surface: pygame.Surface, a: tuple[int, int], b: tuple[int, int], width: int, color: tuple) -> None:
    layer = pygame.Surface(surface.get_size(), pygame.SRCALPHA)
    v = pygame.Vector2(b) - pygame.Vector2(a)
    if v.length() < 1:
        return
    u = v.normalize()
    head = 2.2 * width
    tip = pygame.Vector2(b)
    base = tip - u * head
    n = pygame.Vector2(-u.y, u.x)
    pygame.draw.line(layer, color, a, base, width)
    pygame.draw.polygon(layer, color, [tip, base + n * head * 0.6, base - n * head * 0.6])
    surface.blit(layer, (0, 0))


def _draw_promotion(viewer: Any, surface: pygame.Surface) -> None:
    """The promotion choice: the pieces of the mover's colour on white tiles over the board."""
    white = viewer.session.to_move == 0
    shade = pygame.Surface(viewer.board_rect.size, pygame.SRCALPHA)
    shade.fill((0, 0, 0, 110))
    surface.blit(shade, viewer.board_rect)
    for rect, letter in _promotion_rects(viewer):
        pygame.draw.rect(surface, (245, 245, 240), rect)
        pygame.draw.rect(surface, THEME["accent"], rect, 2)
        draw_piece(surface, rect, letter.upper() if white else letter)
