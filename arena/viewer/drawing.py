"""Drawing the viewer: the board with its frame of coordinates and overlays (legal moves, hints, winning line, Go
territory), the strip under the board (result banner, "analysing"), the side panel with the move list, the help.

Reads the viewer's state and draws it; the only thing it writes back is where things are on the screen
(`board_rect`, `buttons`, `move_rects`), which the input handler needs.
"""

from __future__ import annotations

import time
from typing import Any

import pygame
import torch

from arena.viewer import chessboard, shogiboard
from arena.viewer.actions import available
from arena.viewer.board import (
    go_margin,
    hint_weights,
    is_chess,
    score_lines,
    side_names,
    target_rect,
    winning_cells,
)
from arena.viewer.session import result_text
from arena.viewer.widgets import (
    THEME,
    Button,
    draw_banner,
    draw_bar,
    draw_heatmap,
    draw_panel_box,
    draw_text,
    draw_value_bar,
    fit_text,
    font,
    wrap_text,
)
from envs import traits
from envs.draw import action_name, coordinate_labels

__all__ = ["draw", "layout", "display_name", "PANEL_WIDTH"]

PANEL_WIDTH = 310
STRIP_HEIGHT = 44  # the strip under the board: result banner, "analysing"
WIN_COLOR = (255, 215, 40)


def display_name(game: Any) -> str:
    """The name of a game as people write it ("Connect Four", "Tic-tac-toe": the game's `display_name` trait)."""
    return traits.display_name(game)


def _title(game: Any) -> str:
    size = game.options.get("size")
    return display_name(game) + (f" {size}x{size}" if size else "")


def _label_margin(viewer: Any, area: pygame.Rect) -> int:
    if traits.frame_color(viewer.game) is None and not is_chess(viewer.game):
        return 0  # Go, Gomoku and Hex have room for their labels on their own surface, beside the grid
    cells = max(viewer.game.board_shape)
    return max(16, min(28, min(area.size) // (cells + 2) // 2))


def layout(viewer: Any, size: tuple[int, int]) -> tuple[pygame.Rect, pygame.Rect, pygame.Rect, int]:
    """(board, strip, panel, label margin) for a window of `size`: the board leaves room for its coordinates
    (the label margin, in pixels, on each side) and for the strip under it."""
    w, h = size
    panel_w = min(PANEL_WIDTH, max(220, w // 3))
    area = pygame.Rect(12, 12, max(50, w - panel_w - 36), max(50, h - 24 - STRIP_HEIGHT - 8))
    m = _label_margin(viewer, area)
    inner = area.inflate(-2 * m, -2 * m)
    bh, bw = viewer.game.board_shape
    aspect = getattr(viewer.game, "draw_aspect", bw / bh)
    board_w = max(10, min(inner.width, round(inner.height * aspect)))
    board_h = max(10, min(inner.height, round(board_w / aspect)))
    board = pygame.Rect(0, 0, board_w, board_h)
    board.center = inner.center
    strip = pygame.Rect(area.left, area.bottom + 8, area.width, STRIP_HEIGHT)
    panel = pygame.Rect(w - panel_w - 12, 12, panel_w, h - 24)
    return board, strip, panel, m


def _mouse() -> tuple[int, int]:
    return pygame.mouse.get_pos() if pygame.display.get_init() else (-1, -1)


def draw(viewer: Any, surface: pygame.Surface) -> None:
    """Draw the board, overlays, strip and side panel onto `surface`."""
    surface.fill(THEME["bg"])
    board, strip, panel, margin = layout(viewer, surface.get_size())
    viewer.board_rect = board
    board_surface = surface.subsurface(board)
    session = viewer.session
    hint = viewer.hint_info()
    if viewer.chess is not None:
        chessboard.draw(viewer, surface, board, margin, hint)
    elif viewer.shogi is not None:
        shogiboard.draw(viewer, surface, board)
    else:
        viewer.game.draw(board_surface, session.state, 0)
        _draw_frame(viewer, surface, board, margin)
        if traits.area_score(viewer.game) and (viewer.score_on or session.over):
            _draw_territory(viewer, board_surface)
        if viewer.ownership_on:
            _draw_ownership(viewer, board_surface)
        _draw_legal(viewer, board_surface, board)
        if viewer.hints_on and hint is not None and not session.over:
            _draw_hints(viewer, board_surface, hint)
        if session.over:
            _draw_win(viewer, board_surface)
    _draw_strip(viewer, surface, strip)
    _draw_panel(viewer, surface, panel, hint)
    if viewer.help_on:
        rows = [(a.shown, a.help) for a in available(viewer)]
        box = pygame.Rect(0, 0, min(560, surface.get_width() - 40), 80 + 25 * len(rows))
        box.center = surface.get_rect().center
        draw_panel_box(surface, box, "Keys", rows)


# ---------------------------------------------------------------- the board


def _text_color(background: tuple[int, ...]) -> tuple[int, int, int]:
    r, g, b = background[:3]
    return (35, 28, 20) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (235, 235, 235)


def _draw_frame(viewer: Any, surface: pygame.Surface, board: pygame.Rect, m: int) -> None:
    """Board coordinates: column names above the board, row names on its left, on a frame of the board's colour."""
    game = viewer.game
    frame_color, offsets = traits.frame_color(game), traits.label_offsets(game)
    if frame_color is None and offsets is None:
        return
    columns, rows = coordinate_labels(game)
    size = board.size
    top_cells = [game.action_rect(c, size) for c in range(game.board_shape[1])]
    left_cells = [game.action_rect(r * game.board_shape[1], size) for r in range(len(rows))]
    if offsets is not None:  # labels on the board's own surface, beside the grid
        color = _text_color(surface.get_at((board.left + 1, board.top + 1)))
        fsize = max(12, min(22, top_cells[0].height // 2))
        up, left = offsets
        for label, rect in zip(columns, top_cells, strict=True):
            pos = (board.left + rect.centerx, board.top + rect.centery - round(rect.height * up))
            draw_text(surface, label, pos, size=fsize, color=color, anchor="center")
        for label, rect in zip(rows, left_cells, strict=True):
            pos = (board.left + rect.centerx - round(rect.width * left), board.top + rect.centery)
            draw_text(surface, label, pos, size=fsize, color=color, anchor="center")
        return
    frame = board.inflate(2 * m, 2 * m)
    pygame.draw.rect(surface, frame_color, frame, m, border_radius=6)
    color = _text_color(frame_color)
    fsize = max(14, min(22, m))
    for label, rect in zip(columns, top_cells, strict=True):
        draw_text(
            surface, label, (board.left + rect.centerx, board.top - m // 2), size=fsize, color=color, anchor="center"
        )
    for label, rect in zip(rows, left_cells, strict=True):
        draw_text(
            surface, label, (board.left - m // 2, board.top + rect.centery), size=fsize, color=color, anchor="center"
        )


def _draw_territory(viewer: Any, board_surface: pygame.Surface) -> None:
    """Small squares on the empty points that count for black or white in the area score."""
    state = viewer.session.state
    owner = viewer.game.area_owner(state)[0].tolist()
    stones = state.board[0].tolist()
    for a, o in enumerate(owner):
        if o and not stones[a]:
            rect = viewer.game.action_rect(a, board_surface.get_size())
            square = pygame.Rect(0, 0, max(4, rect.width // 4), max(4, rect.height // 4))
            square.center = rect.center
            pygame.draw.rect(board_surface, (20, 20, 20) if o > 0 else (245, 245, 245), square)
            pygame.draw.rect(board_surface, (110, 110, 110), square, 1)


def _draw_ownership(viewer: Any, board_surface: pygame.Surface) -> None:
    """The ownership map: on every point a square, black or white for the side expected to own it, as large as that
    side's share of the playouts is sure (none below 0.1)."""
    for a, o in enumerate(viewer.ownership_map()):
        if abs(o) < 0.1:
            continue
        rect = viewer.game.action_rect(a, board_surface.get_size())
        side = max(3, int(rect.width * 0.45 * abs(o)))
        square = pygame.Rect(0, 0, side, side)
        square.center = rect.center
        pygame.draw.rect(board_surface, (30, 30, 30) if o > 0 else (235, 235, 235), square)
        pygame.draw.rect(board_surface, (120, 120, 120), square, 1)


def _draw_legal(viewer: Any, board_surface: pygame.Surface, board: pygame.Rect) -> None:
    """Legal-move marks where they help (the game's `legal_marks` trait), and a ring on the legal move under the
    mouse everywhere."""
    session, game = viewer.session, viewer.game
    if session.over or viewer.agent_to_move or viewer.reviewing:
        return
    size = board.size
    mouse = _mouse()
    hover = game.action_at((mouse[0] - board.left, mouse[1] - board.top), size)
    legal = session.legal
    marks = traits.legal_marks(game)
    for a in legal.nonzero()[:, 0].tolist():
        if a != hover and not marks:
            continue
        rect = target_rect(game, session.state, a, size)
        if rect is None:
            continue
        radius = max(3, min(rect.size) // 2 - 3)
        if a == hover:
            pygame.draw.circle(board_surface, THEME["legal"], rect.center, radius, max(2, radius // 8))
        else:
            pygame.draw.circle(board_surface, THEME["legal"], rect.center, max(3, min(rect.size) // 9))


def _draw_hints(viewer: Any, board_surface: pygame.Surface, hint: dict) -> None:
    """A heat map of the search's visit shares on the cells the moves would take (in Connect Four: the landing
    cell of the column)."""
    share = hint_weights(hint)
    if share is None:
        return
    top = float(share.max().clamp_min(1e-9))
    cells = []
    for a in (share > 0.005).nonzero()[:, 0].tolist():
        rect = target_rect(viewer.game, viewer.session.state, a, board_surface.get_size())
        if rect is not None:
            cells.append((rect, float(share[a]) / top, f"{100 * float(share[a]):.0f}"))
    draw_heatmap(board_surface, cells)


def _draw_win(viewer: Any, board_surface: pygame.Surface) -> None:
    """Rings on the winning cells and a line through a straight winning row."""
    session, game = viewer.session, viewer.game
    if session.resigned_here:
        return
    cells = winning_cells(game, session.state, session.winner)
    if not cells:
        return
    size = board_surface.get_size()
    rects = [traits.cell_rect(game, a, size) for a in cells]  # board cells (a Connect Four action is a column)
    for rect in rects:
        radius = max(4, min(rect.size) // 2 - 1)
        pygame.draw.circle(board_surface, WIN_COLOR, rect.center, radius, max(3, radius // 6))
    if traits.line_length(game):  # a straight winning row (a Hex chain bends)
        ends = sorted(rects, key=lambda r: (r.centery, r.centerx))
        if len({(r.centerx - ends[0].centerx, r.centery - ends[0].centery) for r in ends}) == len(ends):
            width = max(3, min(ends[0].size) // 10)
            pygame.draw.line(board_surface, WIN_COLOR, ends[0].center, ends[-1].center, width)


# ---------------------------------------------------------------- strip and panel


def _draw_strip(viewer: Any, surface: pygame.Surface, strip: pygame.Rect) -> None:
    """The result banner at game over; while hints are computed, "analysing" with the search's progress."""
    session = viewer.session
    if session.over:
        sub = result_text(session, side_names(viewer.game))
        if traits.area_score(viewer.game) and not session.resigned_here:
            sub += f" ({go_margin(viewer.game, session.state)})"
        draw_banner(surface, strip, "Game over", sub)
    elif viewer.analysing:
        progress = viewer.hint_thinker.progress
        label = draw_text(
            surface,
            f"analysing... {100 * progress:.0f}%",
            (strip.left + 4, strip.centery),
            size=24,
            color=THEME["accent"],
            anchor="midleft",
        )
        bar = pygame.Rect(label.right + 14, strip.centery - 6, max(20, strip.right - label.right - 24), 12)
        draw_bar(surface, bar, progress)


def _status(viewer: Any) -> str:
    if viewer.session.over:
        return result_text(viewer.session, side_names(viewer.game))
    if viewer.reviewing:
        return "reviewing: Left/Right step, A autoplay, C continue"
    if viewer.thinker is not None:
        return "agent thinking..."
    if viewer.agent_to_move:
        return "agent to move" + (" (paused)" if viewer.paused else "")
    return "your move"


def _draw_panel(viewer: Any, surface: pygame.Surface, panel: pygame.Rect, hint: dict | None) -> None:
    session, game = viewer.session, viewer.game
    pygame.draw.rect(surface, THEME["panel"], panel, border_radius=10)
    x, y = panel.left + 16, panel.top + 14
    width = panel.width - 32
    draw_text(surface, fit_text(_title(game), 32, width, bold=True), (x, y), size=32, bold=True)
    y += 40
    colors = _side_colors(game)
    for side in (0, 1):
        pygame.draw.circle(surface, colors[side], (x + 9, y + 10), 9)
        pygame.draw.circle(surface, THEME["muted"], (x + 9, y + 10), 9, 1)
        to_move = side == session.to_move and not session.over
        label = fit_text(session.players[side], 22, width - 50, bold=to_move) + ("  <" if to_move else "")
        draw_text(surface, label, (x + 26, y + 2), size=22, bold=to_move)
        y += 26
    for line in score_lines(game, session, viewer.score_on):
        for part in wrap_text(line, 20, width):
            draw_text(surface, part, (x, y), size=20)
            y += 21
    y += 6
    review = "  (review)" if viewer.reviewing else ""
    draw_text(
        surface, f"move {session.cursor} of {len(session.states) - 1}{review}", (x, y), size=20, color=THEME["muted"]
    )
    y += 24
    for line in wrap_text(_status(viewer), 22, width, max_lines=2):
        draw_text(surface, line, (x, y), size=22)
        y += 23
    bar = pygame.Rect(x, y + 4, width, 10)
    if viewer.thinker is not None:
        draw_bar(surface, bar, viewer.thinker.progress)
    elif viewer.analysing:
        draw_bar(surface, bar, viewer.hint_thinker.progress, color=THEME["heat"])
    y += 22
    value = _value_first_player(viewer, hint)
    if value is not None:
        draw_text(surface, f"value for first player: {value:+.2f}", (x, y), size=19, color=THEME["muted"])
        draw_value_bar(surface, pygame.Rect(x, y + 19, width, 10), value, colors)
    y += 36  # kept whether or not the value shows: the buttons below never move under the mouse
    y += 8
    y = _draw_buttons(viewer, surface, x, y, width, panel.bottom)
    if viewer.message and time.monotonic() < viewer.message_until:  # under the buttons, above the move list
        for line in wrap_text(viewer.message, 20, width, max_lines=2):
            draw_text(surface, line, (x, y + 4), size=20, color=THEME["accent"])
            y += 21
    _draw_moves(viewer, surface, pygame.Rect(x, y + 6, width, panel.bottom - y - 16))


def _draw_buttons(viewer: Any, surface: pygame.Surface, x: int, y: int, width: int, bottom: int) -> int:
    """The buttons of the available actions, two to a row; returns the y under them."""
    viewer.buttons = []
    bw = (width - 8) // 2
    actions = [a for a in available(viewer) if a.button]
    for i, action in enumerate(actions):
        rect = pygame.Rect(x + (i % 2) * (bw + 8), y + (i // 2) * 36, bw, 30)
        if rect.bottom > bottom - 4:
            break
        button = Button(action.button, lambda action=action: action.run(viewer, 0), rect, key=action.button_key)
        button.selected = action.selected is not None and action.selected(viewer)
        viewer.buttons.append(button)
    mouse = _mouse()
    for button in viewer.buttons:
        button.draw(surface, mouse)
    return y + (len(actions) + 1) // 2 * 36


def _draw_moves(viewer: Any, surface: pygame.Surface, box: pygame.Rect) -> None:
    """The move list, two moves to a row, the current one marked; each entry a click target (`move_rects`)."""
    viewer.move_rects = []
    session, game = viewer.session, viewer.game
    row_h = 20
    if box.height < 2 * row_h:
        return
    draw_text(surface, "Moves", (box.left, box.top), size=20, color=THEME["muted"])
    rows_shown = (box.height - row_h) // row_h
    n_rows = (len(session.actions) + 1) // 2
    current_row = max(0, session.cursor - 1) // 2
    first = max(0, min(current_row - rows_shown // 2, n_rows - rows_shown))
    col_w = (box.width - 40) // 2
    start = pygame.Rect(box.right - 60, box.top, 60, row_h)  # "start": the position before the first move
    selected = session.cursor == 0
    if selected:
        pygame.draw.rect(surface, THEME["accent"], start, border_radius=4)
    draw_text(surface, "start", start.center, size=18, color=THEME["text"], anchor="center")
    viewer.move_rects.append((start, 0))
    f = font(19)
    for row in range(first, min(n_rows, first + rows_shown)):
        ry = box.top + row_h * (row - first + 1)
        draw_text(surface, f"{row + 1}.", (box.left, ry + 1), size=19, color=THEME["muted"])
        for k in (0, 1):
            move = 2 * row + k
            if move >= len(session.actions):
                break
            rect = pygame.Rect(box.left + 36 + k * col_w, ry, col_w - 4, row_h - 1)
            if move + 1 == session.cursor:
                pygame.draw.rect(surface, THEME["accent"], rect, border_radius=4)
            color = THEME["text"] if move < session.cursor else THEME["muted"]
            if viewer.chess:
                text = chessboard.move_name(viewer, move + 1)
            elif viewer.shogi:
                text = shogiboard.move_name(viewer, move + 1)
            else:
                text = action_name(game, session.actions[move])
            name = fit_text(text, 19, rect.width - 8)
            surface.blit(f.render(name, True, color), (rect.left + 4, rect.top + 2))
            viewer.move_rects.append((rect, move + 1))


def _side_colors(game: Any) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """The colours of the first and second player's pieces (the game's `side_colors` trait; chess: white first)."""
    return traits.side_colors(game)


def _value_first_player(viewer: Any, hint: dict | None) -> float | None:
    """The latest value estimate, turned to the first player's view."""
    session = viewer.session
    if viewer.hints_on and hint is not None and hint.get("value") is not None:
        v = float(torch.as_tensor(hint["value"]).reshape(-1)[0])
        return v if session.to_move == 0 else -v
    for k in range(session.cursor - 1, -1, -1):
        info = session.infos[k]
        if info is not None and info.get("value") is not None:
            mover = int(session.states[k].player[0])
            return info["value"] if mover == 0 else -info["value"]
    return None
