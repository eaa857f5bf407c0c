"""What the viewer tells about a position beyond the stones: the winning line, scores, where a move lands.

No pygame drawing here (only rectangles), so each fact is tested on its own.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import pygame
import torch

from arena.viewer.session import GameSession
from envs.base import line_windows

__all__ = [
    "LEGAL_MARKS",
    "SIDE_NAMES",
    "is_chess",
    "side_names",
    "winning_cells",
    "target_rect",
    "score_lines",
    "go_score_text",
    "go_margin",
    "hint_weights",
]

# games whose legal moves are worth marking: few and not obvious (Othello) or landing out of sight (Connect Four);
# elsewhere every empty point is legal and the marks would hide the board (star points), so only hover shows
LEGAL_MARKS = frozenset({"othello", "connect_four"})
SIDE_NAMES = {"connect_four": ("Red", "Yellow"), "hex": ("Red", "Blue"), "tictactoe": ("X", "O")}  # else Black, White
_CHESS_SIDES = ("White", "Black")
_LINE_LENGTH = {"connect_four": 4}  # m,n,k games (tic-tac-toe, gomoku) carry theirs as `k`
_HEX_NEIGHBOURS = [(-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0)]


def is_chess(game: Any) -> bool:
    """Whether the game has chess rules as the viewer needs them (any board size): FEN and UCI move text."""
    return hasattr(game, "to_fen") and hasattr(game, "move_to_uci")


def side_names(game: Any) -> tuple[str, str]:
    """What the first and second player are called: White and Black in chess (white moves first), else by
    SIDE_NAMES, else Black and White (Go, Othello, Gomoku: black moves first)."""
    if is_chess(game):
        return _CHESS_SIDES
    return SIDE_NAMES.get(game.name, ("Black", "White"))


def winning_cells(game: Any, state: Any, winner: int | None) -> list[int]:
    """The cells that won the game: every complete line of the winner (Connect Four, tic-tac-toe, Gomoku) or the
    shortest chain of the winner's stones joining its two edges (Hex); [] for other games or without a winner.

    Args:
        state: a batch of one.
        winner: 0 or 1 (None: no winner, e.g. a draw).
    """
    if winner is None:
        return []
    board = state.board[0].tolist()
    h, w = game.board_shape
    if game.name == "hex":
        return _hex_path(board, h, winner)
    k = _LINE_LENGTH.get(game.name, getattr(game, "k", None))
    if k is None:
        return []
    colour = winner + 1  # line games store 1 for the first player's stones, 2 for the second's
    windows = {tuple(win) for win in line_windows(h, w, k).reshape(-1, k).tolist()}
    cells = {c for win in windows if all(board[c] == colour for c in win) for c in win}
    return sorted(cells)


def _hex_path(board: list[int], size: int, winner: int) -> list[int]:
    """Breadth-first search through the winner's stones: first player from the top row to the bottom row, second
    player from the left column to the right column."""
    colour = 1 if winner == 0 else -1

    def on_start(a: int) -> bool:
        return a // size == 0 if winner == 0 else a % size == 0

    def on_goal(a: int) -> bool:
        return a // size == size - 1 if winner == 0 else a % size == size - 1

    parent = {a: -1 for a in range(size * size) if board[a] == colour and on_start(a)}
    queue = deque(parent)
    while queue:
        a = queue.popleft()
        if on_goal(a):
            path = []
            while a != -1:
                path.append(a)
                a = parent[a]
            return sorted(path)
        r, c = divmod(a, size)
        for dr, dc in _HEX_NEIGHBOURS:
            rr, cc = r + dr, c + dc
            b = rr * size + cc
            if 0 <= rr < size and 0 <= cc < size and board[b] == colour and b not in parent:
                parent[b] = a
                queue.append(b)
    return []


def target_rect(game: Any, state: Any, action: int, size: tuple[int, int]) -> pygame.Rect | None:
    """The rectangle of the cell where `action` puts a stone: in Connect Four the free cell a disc falls to (the
    action's rectangle is the whole column), elsewhere the action's own cell."""
    rect = game.action_rect(action, size)
    if rect is None or game.name != "connect_four":
        return rect
    h = game.board_shape[0]
    filled = int(state.heights[0, action])
    if filled >= h:
        return None
    cell = rect.height / h
    return pygame.Rect(rect.left, round(rect.top + (h - 1 - filled) * cell), rect.width, round(cell))


def _areas(game: Any, state: Any) -> tuple[int, int]:
    owner = game.area_owner(state)[0]
    return int((owner > 0).sum()), int((owner < 0).sum())


def go_margin(game: Any, state: Any) -> str:
    """Who leads a Go position by area score with komi, as Go programs write it: "B+1.5", "W+7.5", "even"."""
    black, white = _areas(game, state)
    margin = black - white - game.komi
    return "even" if margin == 0 else f"{'B' if margin > 0 else 'W'}+{abs(margin):g}"


def go_score_text(game: Any, state: Any) -> str:
    """The area score of a Go position: "area B 45, W 36 + 7.5: B+1.5"."""
    black, white = _areas(game, state)
    return f"area B {black}, W {white} + {game.komi:g}: {go_margin(game, state)}"


def score_lines(game: Any, session: GameSession, show_score: bool) -> list[str]:
    """The panel's score lines: Othello's disc count; Go's captures, and its area score at the end or on request."""
    state = session.state
    if game.name == "othello":
        board = state.board[0]
        return [f"discs: black {int((board > 0).sum())}, white {int((board < 0).sum())}"]
    if game.name != "go":
        return []
    board = state.board[0]
    on_board = [int((board > 0).sum()), int((board < 0).sum())]
    placed = [0, 0]
    for n, action in enumerate(session.actions[: session.cursor]):
        if action != game.pass_action:
            placed[int(session.states[n].player[0])] += 1
    # stones a player captured = the opponent's stones placed and no longer on the board
    lines = [f"captures: black {placed[1] - on_board[1]}, white {placed[0] - on_board[0]}"]
    if show_score or session.over:
        lines.append(go_score_text(game, state))
    return lines


def hint_weights(hint: dict) -> torch.Tensor | None:
    """FloatTensor[A]: a hint's visit shares (or its policy) summing to 1, or None without either."""
    weights = hint.get("visits", hint.get("policy"))
    if weights is None:
        return None
    w = torch.as_tensor(weights, dtype=torch.float32).reshape(-1)
    return w / w.sum().clamp_min(1e-9)
