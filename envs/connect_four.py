"""Connect Four: two players drop discs into a 6x7 upright grid; four in a row wins.

Dimension letters: B games, A = 7 actions (columns), C = 3 planes, H = 6 rows, W = 7 columns.

Rules: players alternate, player 0 (red) first. A disc falls to the lowest empty cell of its column; a full
column cannot be played. Four discs of one colour in a row, column or diagonal win at once; a full board with no
line of four is a draw. Standard rules, as PettingZoo's ``connect_four_v3``.

Actions: the column 0..6, left to right. No pass.

Observation planes (from the view of the player to move), float 0/1, [3, 6, 7], row 0 at the top:
    0: the mover's discs, 1: the opponent's discs, 2: all ones if the mover is player 0 (moves first), else zeros.

Outcome: +1 win / -1 loss / 0 draw, from the view of the player to move (after a win, the loser is to move: -1).

Symmetries: identity and the left-right mirror (column c <-> 6 - c).

Unchecked fast path: ``step(..., check=False)`` skips validation; a live row given an out-of-range action or a full
column is left unchanged (no move is made), which is not an error but is not a legal game either.

Version history:
    connect_four_v0: first version.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from envs.base import (
    Symmetry,
    completes_line,
    line_table,
    outcome_value,
    place_stone,
    read_actions,
    start_fields,
    stone_planes,
    transform_planes,
)

__all__ = ["ConnectFour", "ConnectFourState"]


@dataclass(frozen=True)
class ConnectFourState:
    """Batched Connect Four positions; every field has leading dim B."""

    board: Tensor  # int8 [B, H*W]: 0 empty, 1 player 0's disc, 2 player 1's disc; row-major, row 0 at the top
    heights: Tensor  # int8 [B, W]: discs in each column
    player: Tensor  # long [B]: player to move (0 or 1)
    moves: Tensor  # long [B]: moves played
    last_action: Tensor  # long [B]: last column played, -1 at the start
    done: Tensor  # bool [B]
    winner: Tensor  # long [B]: -1 none or draw, else 0 or 1


class ConnectFour:
    """Batched Connect Four on tensors (CPU or CUDA)."""

    id = "connect_four_v0"
    name = "connect_four"
    pass_action = None

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}
        self.board_shape = (6, 7)
        self.line_length = 4  # four in a row wins
        self.tactics_depth = 2  # searches check wins at once and moves that allow one (agents.tactics)
        self.fills_cells = False  # a move names a column, not a cell
        self.num_actions = 7
        self.planes_shape = (3, 6, 7)
        self.max_moves = 42
        line_table(6, 7, 4, torch.device("cpu"))  # [42, 16, 4] windows of four through each cell

    def __repr__(self) -> str:
        return "ConnectFour()"

    def init(self, batch: int, device: str | torch.device = "cpu") -> ConnectFourState:
        """B fresh games on `device`."""
        h, w = self.board_shape
        heights = torch.zeros(batch, w, dtype=torch.int8, device=device)
        return ConnectFourState(heights=heights, **start_fields(batch, h * w, device))

    def step(self, state: ConnectFourState, action: Tensor, *, check: bool = True) -> ConnectFourState:
        """Drop a disc in column action[b] for every live game b; finished games are returned unchanged.

        Args:
            state: B positions.
            action: LongTensor[B] columns.
            check: raise envs.base.IllegalActionError on an out-of-range action or a full column in a live game.
        Returns:
            the new State (the input is not modified).
        """
        h, w = self.board_shape
        action = read_actions(self, state, action, check)
        col = action.clamp(0, w - 1)
        height = state.heights.gather(1, col[:, None])[:, 0].long()  # [B]
        ok = ~state.done & (action >= 0) & (action < w) & (height < h)
        cell = (h - 1 - height).clamp(min=0) * w + col  # [B]
        old = state.board.gather(1, cell[:, None])  # [B, 1]
        heights = state.heights.scatter(1, col[:, None], (height + ok.long()).to(torch.int8)[:, None])
        windows = line_table(h, w, 4, state.board.device)
        return ConnectFourState(heights=heights, **place_stone(state, action, cell, old, ok, windows, h * w))

    def legal_mask(self, state: ConnectFourState) -> Tensor:
        """BoolTensor[B, 7]: columns that are not full; all False for finished games."""
        return (state.heights < self.board_shape[0]) & ~state.done[:, None]

    def outcome(self, state: ConnectFourState) -> tuple[Tensor, Tensor]:
        """(done[B], value[B]) with value in {-1, 0, +1} for the player to move; 0 while not done."""
        return outcome_value(state.done, state.winner, state.player)

    def immediate_wins(self, state: ConnectFourState) -> Tensor:
        """BoolTensor[B, 7]: the columns where the player to move wins at once (a trait read by agents.tactics): a
        line of four through the disc it would drop there."""
        h, w = self.board_shape
        dev = state.board.device
        cell = ((h - 1 - state.heights.long()).clamp(min=0) * w + torch.arange(w, device=dev)).reshape(-1)  # [B*7]
        color = (state.player + 1).to(state.board.dtype).repeat_interleave(w)
        board = state.board.repeat_interleave(w, 0).scatter(1, cell[:, None], color[:, None])
        win = completes_line(board, cell, color, line_table(h, w, 4, dev))
        return win.view(-1, w) & self.legal_mask(state)

    def planes(self, state: ConnectFourState) -> Tensor:
        """FloatTensor[B, 3, 6, 7] from the view of the player to move (see the module docstring)."""
        return stone_planes(state.board, state.player, self.board_shape)

    def symmetries(self) -> list[Symmetry]:
        """Identity and the left-right mirror."""
        identity = functools.partial(transform_planes, k=0, flip=False)
        mirror = functools.partial(transform_planes, k=0, flip=True)
        return [(identity, torch.arange(7)), (mirror, torch.arange(6, -1, -1))]

    # drawing -----------------------------------------------------------------------------------------------
    _margin = 0.15

    def _cell_rect(self, r: int, c: int, size: tuple[int, int]) -> Any:
        from envs.base import grid_rect

        return grid_rect(r * self.board_shape[1] + c, size, self.board_shape, self._margin)

    def draw(self, surface: Any, state: ConnectFourState, i: int) -> None:
        """Draw game i: a blue frame with holes, red discs for player 0, yellow for player 1."""
        from envs.draw import COLORS, draw_last_move, draw_stone, fill_background

        h, w = self.board_shape
        size = surface.get_size()
        fill_background(surface, COLORS["blue"])
        board = state.board[i].tolist()
        last = int(state.last_action[i])
        top = h - int(state.heights[i, last]) if last >= 0 else -1
        for r in range(h):
            for c in range(w):
                rect = self._cell_rect(r, c, size)
                v = board[r * w + c]
                color = COLORS["hole"] if v == 0 else (COLORS["red"] if v == 1 else COLORS["yellow"])
                draw_stone(surface, rect, color)
                if c == last and r == top:
                    draw_last_move(surface, rect, COLORS["white"])

    def action_rect(self, action: int, size: tuple[int, int]) -> Any:
        """The pygame.Rect of column `action` (the whole column), or None if out of range."""
        import pygame

        h, w = self.board_shape
        if not 0 <= int(action) < w:
            return None
        top, bottom = self._cell_rect(0, int(action), size), self._cell_rect(h - 1, int(action), size)
        return pygame.Rect(top.left, top.top, top.width, bottom.bottom - top.top)

    def action_at(self, pos: tuple[int, int], size: tuple[int, int]) -> int | None:
        """The column under pixel `pos` (anywhere in the column's height), or None."""
        from envs.base import grid_action_at

        a = grid_action_at(pos, size, self.board_shape, self._margin)
        return None if a is None else a % self.board_shape[1]

    # traits (envs.traits) ---------------------------------------------------------------------------------------

    side_names = ("red", "yellow")
    side_colors = ((200, 40, 40), (240, 200, 30))
    compact_moves = True  # `gamelab agent` and the Connect Four test sets write "4453"
    legal_marks = True  # a disc lands out of sight of the mouse: mark where each legal move lands
    frame_color = (24, 56, 140)

    def move_to_text(self, state: Any, i: int, action: int) -> str:
        """The 1-based column of `action` ("4" for action 3), as the test sets and the number keys write it."""
        return str(int(action) + 1)

    def text_to_move(self, state: Any, i: int, text: str) -> int:
        """The action of a 1-based column text ("1" to "7"); ValueError naming the text otherwise."""
        w = self.board_shape[1]
        t = text.strip()
        if not (t.isascii() and t.isdigit() and 1 <= int(t) <= w):
            raise ValueError(f"{text!r} is not a column 1-{w}")
        return int(t) - 1

    def cell_rect(self, cell: int, size: tuple[int, int]) -> Any:
        """The pygame.Rect of board cell `cell` (row 0 at the top): its share of the column's rectangle."""
        import pygame

        h, w = self.board_shape
        r, c = divmod(int(cell), w)
        column = self.action_rect(c, size)
        height = column.height / h
        return pygame.Rect(column.left, round(column.top + r * height), column.width, round(height))

    def target_rect(self, state: ConnectFourState, i: int, action: int, size: tuple[int, int]) -> Any:
        """The rectangle of the free cell a disc dropped in column `action` falls to (None: a full column)."""
        import pygame

        rect = self.action_rect(action, size)
        if rect is None:
            return None
        h = self.board_shape[0]
        filled = int(state.heights[i, action])
        if filled >= h:
            return None
        height = rect.height / h
        return pygame.Rect(rect.left, round(rect.top + (h - 1 - filled) * height), rect.width, round(height))
