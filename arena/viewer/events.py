"""The viewer's input: pygame events turned into the commands of the action table (arena.viewer.actions).

Keys go through the table; a click hits, in order, the help overlay (closes it), a button, a move of the move list
(goes to that position) or the board (plays there). Where buttons and moves are is what the last draw left in the
viewer (`buttons`, `move_rects`, `board_rect`). On a chess board a move takes two clicks or a drag, and the
promotion choice takes a click or Q/R/B/N (arena.viewer.chessboard).
"""

from __future__ import annotations

from typing import Any

import pygame

from arena.viewer import chessboard, shogiboard
from arena.viewer.actions import action_for_key

__all__ = ["handle"]


def handle(viewer: Any, event: Any) -> None:
    """React to one pygame event."""
    if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
        _click(viewer, event.pos)
    elif event.type == pygame.MOUSEBUTTONUP and event.button == 1 and viewer.chess is not None:
        chessboard.release(viewer, event.pos)
    elif event.type == pygame.MOUSEMOTION and viewer.chess is not None:
        chessboard.motion(viewer, event.pos)
    elif event.type == pygame.KEYDOWN:
        _key(viewer, event.key, getattr(event, "unicode", "") or "")


def _key(viewer: Any, key: int, char: str) -> None:
    if viewer.help_on and (key in (pygame.K_ESCAPE, pygame.K_F1) or char == "?"):
        viewer.help_on = False
        return
    if getattr(viewer, "shogi", None) is not None and shogiboard.key(viewer, char, key == pygame.K_ESCAPE):
        return
    if viewer.chess is not None and viewer.chess.promotion is not None:
        if key == pygame.K_ESCAPE:
            viewer.chess.drop()
        elif char.lower() in chessboard.PROMOTION_ORDER:
            chessboard.choose_promotion(viewer, char)
        return
    action = action_for_key(viewer, key, char)
    if action is not None:
        action.run(viewer, key)


def _click(viewer: Any, pos: tuple[int, int]) -> None:
    if viewer.help_on:
        viewer.help_on = False
        return
    for button in viewer.buttons:
        if button.hit(pos):
            button.action()
            return
    for rect, move_number in viewer.move_rects:
        if rect.collidepoint(pos):
            viewer.go_to(move_number)
            return
    board = viewer.board_rect
    if getattr(viewer, "shogi", None) is not None and (viewer.shogi.promotion is not None or board.collidepoint(pos)):
        shogiboard.press(viewer, pos)
        return
    if viewer.chess is not None and (viewer.chess.promotion is not None or (board and board.collidepoint(pos))):
        chessboard.press(viewer, pos)
        return
    if board is not None and board.collidepoint(pos):
        action = viewer.game.action_at((pos[0] - board.left, pos[1] - board.top), board.size)
        if action is None:
            viewer.say("not a move")
        else:
            viewer.try_move(action)
