"""Shogi in the viewer: picking a piece on the board or in a hand, its targets, the promotion choice, the board's
drawing (last move, check, coordinates, hands) and the move list in Western notation.

Works for every game with shogi rules (`arena.viewer.board.is_shogi`: the game speaks SFEN and USI), whatever its
board size: the legal moves are read as USI text, so nothing here knows the action encoding; the picture is the
game's own (envs.shogi_draw).

A person moves by clicking a piece and then its target; a drop by clicking the piece in the hand and then an empty
square. A move that may promote opens the choice over the target square: the promoted piece (or the key +, Y) and
the piece as it is (=, N); a click elsewhere or Esc cancels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pygame

from arena.viewer.board import per_state, play_or_choose, refuse_pick, sync_hand
from arena.viewer.widgets import THEME, draw_text
from envs.shogi_draw import (
    Marks,
    draw_piece,
    draw_position,
    hand_at,
    square_at,
    square_rect,
)
from envs.shogi_notation import parse_square

__all__ = [
    "ShogiHand",
    "Position",
    "position",
    "press",
    "key",
    "draw",
    "move_name",
    "last_move_squares",
    "choice_rects",
]

PROMOTE_KEYS, KEEP_KEYS = ("+", "y"), ("=", "n")


@dataclass
class ShogiHand:
    """What the person is doing on a shogi board: the picked piece ("7g", or "P*" for a pawn in hand) and an open
    promotion choice (the target square, {"+": action, "=": action})."""

    picked: str | None = None
    promotion: tuple[int, dict[str, int]] | None = None
    at: Any = None  # the position the pick belongs to
    names: dict[int, tuple[Any, str]] = field(default_factory=dict)  # id(position before) -> (position, name)

    def drop(self) -> None:
        """Put the piece down: nothing picked, no open choice."""
        self.picked, self.promotion = None, None


@dataclass
class Position:
    """The legal moves of the shown position by what moves ("7g", "P*") and where to (an absolute square)."""

    moves: dict[str, dict[int, list[tuple[str, int]]]]  # from -> to square -> [(USI, action), ...]


_CACHE: dict[int, tuple[Any, Position]] = {}


def position(viewer: Any) -> Position:
    """The shown position's legal moves (cached per state object)."""
    return per_state(_CACHE, viewer.session.state, lambda: _position(viewer))


def _position(viewer: Any) -> Position:
    game, n, state = viewer.game, viewer.game.size, viewer.session.state
    moves: dict[str, dict[int, list[tuple[str, int]]]] = {}
    if not viewer.session.over:
        for action, usi in game.legal_usi(state, 0).items():
            frm = usi[:2]  # "7g", or "P*" for a drop
            moves.setdefault(frm, {}).setdefault(parse_square(usi[2:4], n), []).append((usi, action))
    return Position(moves)


def move_name(viewer: Any, move_number: int) -> str:
    """Move `move_number` (1-based) of the session in Western notation ("P-7f"), cached."""
    before, action = viewer.session.states[move_number - 1], viewer.session.actions[move_number - 1]
    return per_state(viewer.shogi.names, before, lambda: viewer.game.move_name(before, 0, action), most=None)


def last_move_squares(viewer: Any) -> tuple[int, ...]:
    """The absolute squares of the move that led to the shown position: from and to (to only for a drop)."""
    session = viewer.session
    if session.cursor == 0:
        return ()
    n = viewer.game.size
    usi = viewer.game.move_to_usi(session.states[session.cursor - 1], 0, session.actions[session.cursor - 1])
    to = parse_square(usi[2:4], n)
    return (to,) if usi[1] == "*" else (parse_square(usi[:2], n), to)


# ---------------------------------------------------------------- input


def _local(viewer: Any, pos: tuple[int, int]) -> tuple[int, int]:
    board = viewer.board_rect
    return pos[0] - board.left, pos[1] - board.top


def _square(viewer: Any, pos: tuple[int, int]) -> int | None:
    if viewer.board_rect is None:
        return None
    return square_at(viewer.game.size, _local(viewer, pos), viewer.board_rect.size)


def _hand_piece(viewer: Any, pos: tuple[int, int]) -> tuple[int, int] | None:
    if viewer.board_rect is None:
        return None
    hands = viewer.session.state.hands[0].tolist()
    return hand_at(viewer.game.size, _local(viewer, pos), viewer.board_rect.size, hands)


def choice_rects(viewer: Any) -> list[tuple[pygame.Rect, str]]:
    """The two tiles of the open promotion choice, on screen: the promoted piece ("+") and the piece as it is
    ("="), side by side over the target square (inside the board)."""
    hand = viewer.shogi
    if hand.promotion is None or viewer.board_rect is None:
        return []
    board, n = viewer.board_rect, viewer.game.size
    target = square_rect(n, hand.promotion[0], board.size).move(board.topleft)
    w = target.width
    left = target.left if target.centerx < board.centerx else target.right - 2 * w
    top = target.top
    return [(pygame.Rect(left, top, w, w), "+"), (pygame.Rect(left + w, top, w, w), "=")]


def _choose(viewer: Any, which: str) -> None:
    action = viewer.shogi.promotion[1].get(which)
    viewer.shogi.drop()
    if action is not None:
        viewer.try_move(action)


def _play(viewer: Any, moves: list[tuple[str, int]], target: int) -> None:
    """Play the move to `target`, or open the promotion choice when it may promote or not."""
    play_or_choose(viewer, viewer.shogi, moves, target, lambda usi: "+" if usi.endswith("+") else "=")


def press(viewer: Any, pos: tuple[int, int]) -> None:
    """The mouse button goes down at `pos`: answer the promotion choice, play to a target, or pick a piece (on the
    board or in the mover's hand)."""
    sync_hand(viewer.shogi, viewer.session.state)
    hand = viewer.shogi
    if hand.promotion is not None:
        which = next((w for rect, w in choice_rects(viewer) if rect.collidepoint(pos)), None)
        if which is None:
            hand.drop()
        else:
            _choose(viewer, which)
        return
    pos_info = position(viewer)
    square = _square(viewer, pos)
    if hand.picked is not None and square is not None and square in pos_info.moves.get(hand.picked, {}):
        _play(viewer, pos_info.moves[hand.picked][square], square)
        return
    if refuse_pick(viewer, hand):
        return
    held = _hand_piece(viewer, pos)
    if held is not None:
        picked = "PLNSBRGK"[held[1] - 1] + "*"
        if held[0] == viewer.session.to_move and picked in pos_info.moves:
            hand.picked = None if hand.picked == picked else picked
        else:
            viewer.say("not your piece" if held[0] != viewer.session.to_move else "that piece cannot be dropped")
            hand.drop()
        return
    if square is None:
        hand.drop()
        return
    name = f"{square // viewer.game.size + 1}{chr(97 + square % viewer.game.size)}"
    if name in pos_info.moves:
        hand.picked = None if hand.picked == name else name
    elif hand.picked is not None or int(viewer.session.state.board[0, square]):
        viewer.say("illegal move" if hand.picked is not None else "that piece cannot move")
        hand.drop()


def key(viewer: Any, char: str, escape: bool) -> bool:
    """A key while the promotion choice is open (+/Y promote, =/N not, Esc cancels); returns whether it was."""
    hand = viewer.shogi
    if hand is None or hand.promotion is None:
        return False
    if escape:
        hand.drop()
    elif char.lower() in PROMOTE_KEYS:
        _choose(viewer, "+")
    elif char.lower() in KEEP_KEYS:
        _choose(viewer, "=")
    return True


# ---------------------------------------------------------------- drawing


def draw(viewer: Any, surface: pygame.Surface, board: pygame.Rect) -> None:
    """The position with hands and coordinates, the last move, check, the picked piece and its targets, and the
    promotion choice."""
    sync_hand(viewer.shogi, viewer.session.state)
    hand, game, n = viewer.shogi, viewer.game, viewer.game.size
    marks = Marks(last=last_move_squares(viewer))
    if hand.picked is not None:
        if hand.picked[1] == "*":
            marks.picked_hand = (viewer.session.to_move, "PLNSBRGK".index(hand.picked[0]) + 1)
        else:
            marks.picked_square = parse_square(hand.picked, n)
        marks.targets = sorted(position(viewer).moves.get(hand.picked, {}))
    draw_position(game, surface.subsurface(board), viewer.session.state, 0, marks)
    if hand.promotion is not None:
        _draw_choice(viewer, surface)


def _draw_choice(viewer: Any, surface: pygame.Surface) -> None:
    """The promotion choice: the promoted and the unpromoted piece on light tiles over a darkened board."""
    hand, game, n = viewer.shogi, viewer.game, viewer.game.size
    shade = pygame.Surface(viewer.board_rect.size, pygame.SRCALPHA)
    shade.fill((0, 0, 0, 110))
    surface.blit(shade, viewer.board_rect)
    actions = hand.promotion[1]
    state = viewer.session.state
    usi = game.move_to_usi(state, 0, next(iter(actions.values())))
    code = int(state.board[0, parse_square(usi[:2], n)])
    base = code & 15
    base = base - 8 if base > 8 else base
    enemy = code & 16
    for rect, which in choice_rects(viewer):
        pygame.draw.rect(surface, (245, 245, 240), rect)
        pygame.draw.rect(surface, THEME["accent"], rect, 2)
        draw_piece(surface, rect.inflate(-rect.w // 8, -rect.h // 8), base + (8 if which == "+" else 0) + enemy)
        label = "promote" if which == "+" else "keep"
        draw_text(surface, label, (rect.centerx, rect.bottom + 2), size=18, color=(250, 250, 245), anchor="midtop")
