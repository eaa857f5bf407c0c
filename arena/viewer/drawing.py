"""Drawing the viewer: the board with its overlays (legal moves, hints, result), the side panel, the help overlay.

Reads the viewer's state and draws it; the only thing it writes back is where things are on the screen
(`board_rect`, `buttons`, `move_rects`), which the input handler needs.
"""

from __future__ import annotations

import time
from typing import Any

import pygame
import torch

from arena.viewer.actions import available
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
    wrap_text,
)

__all__ = ["draw", "layout", "display_name", "PANEL_WIDTH", "SIDE_COLORS"]

PANEL_WIDTH = 310
SIDE_COLORS = {  # stone colours of the first and second player, for the panel and the value bar
    "connect_four": ((200, 40, 40), (240, 200, 30)),
    "hex": ((200, 40, 40), (30, 70, 170)),
    "tictactoe": ((200, 40, 40), (30, 70, 170)),
}


def display_name(game_name: str) -> str:
    """The name of a game as people write it ("connect_four" -> "Connect Four")."""
    return {"tictactoe": "Tic-tac-toe"}.get(game_name, game_name.replace("_", " ").title())


def layout(viewer: Any, size: tuple[int, int]) -> tuple[pygame.Rect, pygame.Rect]:
    """(board, panel) rectangles for a window of `size`."""
    w, h = size
    panel_w = min(PANEL_WIDTH, max(220, w // 3))
    area = pygame.Rect(12, 12, max(50, w - panel_w - 36), max(50, h - 24))
    bh, bw = viewer.game.board_shape
    aspect = getattr(viewer.game, "draw_aspect", bw / bh)
    board_w = min(area.width, round(area.height * aspect))
    board_h = min(area.height, round(board_w / aspect))
    board = pygame.Rect(0, 0, board_w, board_h)
    board.center = area.center
    panel = pygame.Rect(w - panel_w - 12, 12, panel_w, h - 24)
    return board, panel


def _mouse() -> tuple[int, int]:
    return pygame.mouse.get_pos() if pygame.display.get_init() else (-1, -1)


def draw(viewer: Any, surface: pygame.Surface) -> None:
    """Draw the board, overlays and side panel onto `surface`."""
    surface.fill(THEME["bg"])
    board, panel = layout(viewer, surface.get_size())
    viewer.board_rect = board
    board_surface = surface.subsurface(board)
    viewer.game.draw(board_surface, viewer.session.state, 0)
    _draw_legal(viewer, board_surface, board)
    hint = viewer.hint_info()
    if viewer.hints_on and hint is not None:
        _draw_hints(viewer, board_surface, hint)
    _draw_panel(viewer, surface, panel, hint)
    if viewer.session.over:
        draw_banner(board_surface, "Game over", result_text(viewer.session))
    if viewer.help_on:
        rows = [(a.shown, a.help) for a in available(viewer)]
        box = pygame.Rect(0, 0, min(560, surface.get_width() - 40), 80 + 25 * len(rows))
        box.center = surface.get_rect().center
        draw_panel_box(surface, box, "Keys", rows)


def _draw_legal(viewer: Any, board_surface: pygame.Surface, board: pygame.Rect) -> None:
    session = viewer.session
    if session.over or viewer.agent_to_move or viewer.reviewing:
        return
    size = board.size
    mouse = _mouse()
    hover = viewer.game.action_at((mouse[0] - board.left, mouse[1] - board.top), size)
    for a in session.legal.nonzero()[:, 0].tolist():
        rect = viewer.game.action_rect(a, size)
        if rect is None:
            continue
        if a == hover:
            pygame.draw.rect(board_surface, THEME["legal"], rect.inflate(-2, -2), 3, border_radius=4)
        elif rect.height > 1.5 * rect.width:  # a column (connect four): an arrow at its top
            x, y, r = rect.centerx, rect.top + 4, max(4, rect.width // 6)
            pygame.draw.polygon(board_surface, THEME["legal"], [(x - r, y), (x + r, y), (x, y + r)])
        else:
            pygame.draw.circle(board_surface, THEME["legal"], rect.center, max(2, min(rect.size) // 10))


def _draw_hints(viewer: Any, board_surface: pygame.Surface, hint: dict) -> None:
    weights = hint.get("visits", hint.get("policy"))
    if weights is None:
        return
    w = torch.as_tensor(weights, dtype=torch.float32).reshape(-1)
    share = w / w.sum().clamp_min(1e-9)
    top = share.max().clamp_min(1e-9)
    cells = []
    for a in (share > 0.005).nonzero()[:, 0].tolist():
        rect = viewer.game.action_rect(a, board_surface.get_size())
        if rect is not None:
            if rect.height > 2 * rect.width:  # a whole column (connect four): mark its top, not the discs
                rect = pygame.Rect(rect.left, rect.top, rect.width, rect.width)
            cells.append((rect, float(share[a] / top), f"{100 * float(share[a]):.0f}"))
    draw_heatmap(board_surface, cells)


def _status(viewer: Any) -> str:
    if viewer.session.over:
        return result_text(viewer.session)
    if viewer.reviewing:
        return "reviewing: arrows to step, A autoplay, C to continue"
    if viewer.thinker is not None:
        return "agent thinking..."
    if viewer.agent_to_move:
        return "agent to move" + (" (paused)" if viewer.paused else "")
    return "your move"


def _draw_panel(viewer: Any, surface: pygame.Surface, panel: pygame.Rect, hint: dict | None) -> None:
    session = viewer.session
    pygame.draw.rect(surface, THEME["panel"], panel, border_radius=10)
    x, y = panel.left + 16, panel.top + 14
    draw_text(surface, display_name(viewer.game.name), (x, y), size=32, bold=True)
    y += 40
    colors = SIDE_COLORS.get(viewer.game.name, ((25, 25, 25), (235, 235, 235)))
    for side in (0, 1):
        pygame.draw.circle(surface, colors[side], (x + 9, y + 10), 9)
        pygame.draw.circle(surface, THEME["muted"], (x + 9, y + 10), 9, 1)
        marker = "  <" if side == session.to_move and not session.over else ""
        label = f"{session.players[side]}{marker}"
        draw_text(surface, label[:34], (x + 26, y + 2), size=22, bold=side == session.to_move)
        y += 26
    y += 6
    n = len(session.states) - 1
    review = "  (review)" if viewer.reviewing else ""
    draw_text(surface, f"move {session.cursor} of {n}{review}", (x, y), size=20, color=THEME["muted"])
    y += 26
    for line in wrap_text(_status(viewer), 22, panel.width - 32):
        draw_text(surface, line, (x, y), size=22)
        y += 24
    bar = pygame.Rect(x, y + 4, panel.width - 32, 12)
    if viewer.thinker is not None:
        draw_bar(surface, bar, viewer.thinker.progress)
    y += 26
    value = _value_first_player(viewer, hint)
    if value is not None:
        draw_text(surface, f"value for first player: {value:+.2f}", (x, y), size=19, color=THEME["muted"])
        draw_value_bar(surface, pygame.Rect(x, y + 20, panel.width - 32, 12), value, colors)
        y += 40
    if viewer.message and time.monotonic() < viewer.message_until:
        draw_text(surface, viewer.message, (x, y), size=20, color=THEME["accent"])
    y += 28
    viewer.buttons = []
    bw = (panel.width - 40) // 2
    for i, action in enumerate(a for a in available(viewer) if a.button):
        rect = pygame.Rect(x + (i % 2) * (bw + 8), y + (i // 2) * 40, bw, 32)
        if rect.bottom > panel.bottom - 4:
            break
        button = Button(action.button, lambda action=action: action.run(viewer, 0), rect, key=action.button_key)
        button.selected = action.selected is not None and action.selected(viewer)
        viewer.buttons.append(button)
    mouse = _mouse()
    for button in viewer.buttons:
        button.draw(surface, mouse)


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
