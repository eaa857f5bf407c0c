"""Shared pieces of the game protocol: the illegal-action error, action checking and board symmetries.

Dimension letters: B games, A actions, H/W board rows/columns.

A game is any object with the attributes and methods of the protocol (``id``, ``name``, ``num_actions``,
``planes_shape``, ``board_shape``, ``max_moves``, ``options``, ``pass_action``, ``init``, ``step``, ``legal_mask``,
``outcome``, ``planes``, ``symmetries``, ``draw``, ``action_rect``, ``action_at``); `Game` spells it out for type hints.
Optional per-game facts that players read where present: ``line_length`` (k of a k-in-a-row game) and
``fills_cells`` (True when the legal moves are exactly the empty cells).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

import torch
from torch import Tensor

__all__ = [
    "IllegalActionError",
    "Game",
    "Symmetry",
    "as_actions",
    "check_actions",
    "dihedral_symmetries",
    "transform_planes",
    "grid_rect",
    "grid_action_at",
    "board_lines",
    "line_windows",
    "completes_line",
    "outcome_value",
    "line_table",
    "read_actions",
    "start_fields",
    "place_stone",
    "stone_planes",
    "random_actions",
    "sgf_point",
    "sgf_action",
]

Symmetry = tuple[Callable[[Tensor], Tensor], Tensor]


class IllegalActionError(ValueError):
    """An action that is out of range or illegal in its position (raised by ``step(..., check=True)``)."""


class Game(Protocol):
    """The batched, immutable game protocol (see DESIGN.md); for type hints only."""

    id: str
    name: str
    num_actions: int
    planes_shape: tuple[int, int, int]
    board_shape: tuple[int, int]
    max_moves: int
    options: dict[str, Any]
    pass_action: int | None

    def init(self, batch: int, device: str | torch.device = "cpu") -> Any: ...
    def step(self, state: Any, action: Tensor, *, check: bool = True) -> Any: ...
    def legal_mask(self, state: Any) -> Tensor: ...
    def outcome(self, state: Any) -> tuple[Tensor, Tensor]: ...
    def planes(self, state: Any) -> Tensor: ...
    def symmetries(self) -> list[Symmetry]: ...
    def draw(self, surface: Any, state: Any, i: int) -> None: ...
    def action_rect(self, action: int, size: tuple[int, int]) -> Any: ...
    def action_at(self, pos: tuple[int, int], size: tuple[int, int]) -> int | None: ...


def as_actions(action: Any, batch: int, device: torch.device) -> Tensor:
    """Turn what a caller passes as actions (tensor, array, list, int) into a LongTensor[B] on `device`.

    Raises:
        IllegalActionError: if the actions cannot be read as B integers.
    """
    try:
        a = torch.as_tensor(action, device=device)
    except (TypeError, ValueError, RuntimeError) as e:
        raise IllegalActionError(f"actions must be integers, got {action!r}") from e
    if a.dtype.is_floating_point or a.dtype.is_complex or a.dtype == torch.bool:
        raise IllegalActionError(f"actions must be integers, got dtype {a.dtype}")
    if a.dim() == 0:
        a = a.expand(batch)
    if a.shape != (batch,):
        raise IllegalActionError(f"expected actions of shape ({batch},), got {tuple(a.shape)}")
    return a.long()


def check_actions(name: str, action: Tensor, legal: Tensor, live: Tensor) -> None:
    """Raise IllegalActionError naming the first live game whose action is out of range or illegal.

    Args:
        name: game name for the message.
        action: LongTensor[B].
        legal: BoolTensor[B, A] legal mask of the positions the actions are played in.
        live: BoolTensor[B], games not yet over (finished games ignore their action).
    """
    num_actions = legal.shape[1]
    in_range = (action >= 0) & (action < num_actions)
    ok = in_range & legal.gather(1, action.clamp(0, num_actions - 1)[:, None])[:, 0]
    bad = live & ~ok
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        a = int(action[i])
        if not bool(in_range[i]):
            why = f"is out of range 0..{num_actions - 1}"
        else:
            legal_list = legal[i].nonzero()[:, 0].tolist()
            shown = ", ".join(map(str, legal_list[:20])) + (", ..." if len(legal_list) > 20 else "")
            why = f"is illegal (legal actions: {shown})"
        raise IllegalActionError(f"{name}: game {i}: action {a} {why}")


def transform_planes(x: Tensor, k: int = 0, flip: bool = False) -> Tensor:
    """Rotate the last two dims by k quarter turns (torch.rot90), then mirror left-right if `flip`."""
    if k:
        x = torch.rot90(x, k, dims=(-2, -1))
    if flip:
        x = torch.flip(x, dims=(-1,))
    return x


def dihedral_symmetries(height: int, width: int, extra_actions: int = 0) -> list[Symmetry]:
    """Board symmetries as (plane transform, action permutation) pairs; identity first.

    Square boards get the 8 symmetries of the square, others the 4 of the rectangle. Actions are the cells
    (a = r * W + c) followed by `extra_actions` non-board actions (pass) that every symmetry leaves in place.
    The permutation satisfies: mask of the transformed position == mask[..., perm].

    Args:
        height, width: board size H, W.
        extra_actions: number of actions after the H*W cells.
    Returns:
        list of (transform, LongTensor[A]) with A = H*W + extra_actions.
    """
    if height == width:
        params = [(k, f) for f in (False, True) for k in range(4)]
    else:
        params = [(0, False), (2, False), (0, True), (2, True)]
    cells = torch.arange(height * width).view(height, width)
    extra = torch.arange(height * width, height * width + extra_actions)
    out: list[Symmetry] = []
    for k, f in params:
        fn = functools.partial(transform_planes, k=k, flip=f)
        perm = torch.cat([fn(cells).reshape(-1), extra])
        out.append((fn, perm))
    return out


def grid_rect(action: int, size: tuple[int, int], board_shape: tuple[int, int], margin: float = 0.0) -> Any:
    """The pygame.Rect of cell `action` (row-major) of an HxW grid filling a surface of `size`, or None if off board.

    Args:
        margin: border around the grid as a fraction of the cell size.
    """
    import pygame

    h, w = board_shape
    if not 0 <= int(action) < h * w:
        return None
    r, c = divmod(int(action), w)
    x0, y0, cw, ch = _grid_geometry(size, board_shape, margin)
    return pygame.Rect(round(x0 + c * cw), round(y0 + r * ch), round(cw), round(ch))


def grid_action_at(
    pos: tuple[int, int], size: tuple[int, int], board_shape: tuple[int, int], margin: float = 0.0
) -> int | None:
    """The cell (row-major action id) under pixel `pos` on a surface of `size`, or None outside the grid."""
    h, w = board_shape
    x0, y0, cw, ch = _grid_geometry(size, board_shape, margin)
    c = int((pos[0] - x0) // cw)
    r = int((pos[1] - y0) // ch)
    if 0 <= r < h and 0 <= c < w:
        return r * w + c
    return None


def _grid_geometry(size: tuple[int, int], board_shape: tuple[int, int], margin: float) -> tuple[float, ...]:
    h, w = board_shape
    cw = size[0] / (w + 2 * margin)
    ch = size[1] / (h + 2 * margin)
    return margin * cw, margin * ch, cw, ch


@functools.cache
def board_lines(height: int, width: int, length: int) -> Tensor:
    """Every straight window of `length` cells on the board (rows, columns, both diagonals), each once.

    Returns:
        LongTensor[M, length] of row-major cell ids, ordered by first cell, then direction (never modified).
    """
    out = []
    for r in range(height):
        for c in range(width):
            for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                cells = [(r + i * dr, c + i * dc) for i in range(length)]
                if all(0 <= rr < height and 0 <= cc < width for rr, cc in cells):
                    out.append([rr * width + cc for rr, cc in cells])
    return torch.tensor(out, dtype=torch.long).view(-1, length)


def line_windows(height: int, width: int, length: int) -> Tensor:
    """For every cell, the straight windows of `length` cells (rows, columns, both diagonals) that contain it.

    Cells with fewer windows than the most-covered cell repeat their first window (harmless for any/all tests).

    Returns:
        LongTensor[H*W, M, length] of row-major cell ids; M = most windows through one cell.
    Raises:
        ValueError: if some cell lies on no window (length longer than the board).
    """
    per_cell: list[list[list[int]]] = [[] for _ in range(height * width)]
    for window in board_lines(height, width, length).tolist():
        for cell in window:
            per_cell[cell].append(window)
    if any(not ws for ws in per_cell):
        raise ValueError(f"no line of {length} fits on a {height}x{width} board")
    most = max(len(ws) for ws in per_cell)
    return torch.tensor([ws + [ws[0]] * (most - len(ws)) for ws in per_cell], dtype=torch.long)


def completes_line(board: Tensor, cell: Tensor, color: Tensor, windows: Tensor) -> Tensor:
    """Whether some window through `cell` is all `color` (a win by a stone just placed there).

    Args:
        board: [B, N] stone colours (any integer dtype).
        cell: LongTensor[B] cell of the stone just placed.
        color: [B] colour of that stone (same dtype as board).
        windows: LongTensor[N, M, K] from line_windows.
    Returns:
        BoolTensor[B].
    """
    m, k = windows.shape[1], windows.shape[2]
    idx = windows.view(windows.shape[0], -1).index_select(0, cell)  # [B, M*K]
    hit = board.gather(1, idx) == color[:, None]
    return (hit.view(-1, m, k).sum(2, dtype=torch.int8) == k).any(1)


@functools.cache
def line_table(height: int, width: int, length: int, device: torch.device) -> Tensor:
    """`line_windows(height, width, length)` on `device`, built once per board, length and device (never modified)."""
    return line_windows(height, width, length).to(device)


def read_actions(game: Game, state: Any, action: Any, check: bool) -> Tensor:
    """The actions of a `step` call as a LongTensor[B], validated against `game.legal_mask` if `check`.

    Raises:
        IllegalActionError: if `check` and a live game's action is out of range or illegal.
    """
    if check or not isinstance(action, Tensor) or action.dtype != torch.long:
        action = as_actions(action, state.player.shape[0], state.player.device)
    if check:
        check_actions(game.name, action, game.legal_mask(state), ~state.done)
    return action


def start_fields(batch: int, cells: int, device: str | torch.device) -> dict[str, Tensor]:
    """The State fields of B empty boards, player 0 to move.

    Returns:
        board (int8 [B, cells], all 0), player, moves (0), last_action (-1), done (False), winner (-1).
    """
    zeros = torch.zeros(batch, dtype=torch.long, device=device)
    return {
        "board": torch.zeros(batch, cells, dtype=torch.int8, device=device),
        "player": zeros,
        "moves": zeros.clone(),
        "last_action": torch.full_like(zeros, -1),
        "done": torch.zeros(batch, dtype=torch.bool, device=device),
        "winner": torch.full_like(zeros, -1),
    }


def place_stone(
    state: Any, action: Tensor, cell: Tensor, old: Tensor, ok: Tensor, windows: Tensor, max_moves: int
) -> dict[str, Tensor]:
    """Play the mover's stone on `cell` in the rows where `ok`; a line through it wins, `max_moves` moves draw.

    Args:
        state: B positions with fields board (int8 [B, N], 0 empty, 1 + player for stones), player, moves,
            last_action, done, winner (-1 none or draw, else 0 or 1).
        action: LongTensor[B] actions played (kept as last_action).
        cell: LongTensor[B] cell the stone lands on (any valid cell where not `ok`).
        old: [B, 1] board values at `cell`.
        ok: BoolTensor[B] rows where the move is made; the others keep their fields.
        windows: LongTensor[N, M, K] from line_windows (K in a row wins).
        max_moves: the game ends (a draw unless won) after this many moves.
    Returns:
        the new board, player, moves, last_action, done, winner fields.
    """
    color = (state.player + 1).to(torch.int8)
    board = state.board.scatter(1, cell[:, None], torch.where(ok[:, None], color[:, None], old))
    win = ok & completes_line(board, cell, color, windows)
    moves = state.moves + ok.long()
    return {
        "board": board,
        "player": torch.where(ok, 1 - state.player, state.player),
        "moves": moves,
        "last_action": torch.where(ok, action, state.last_action),
        "done": state.done | win | (ok & (moves >= max_moves)),
        "winner": torch.where(win, state.player, state.winner),
    }


def stone_planes(board: Tensor, player: Tensor, board_shape: tuple[int, int]) -> Tensor:
    """FloatTensor[B, 3, H, W] for the player to move: own stones, the opponent's, all ones if player 0 moves.

    Args:
        board: int8 [B, H*W], 0 empty, 1 + player for stones.
        player: LongTensor[B] player to move.
    """
    h, w = board_shape
    me = (player + 1).to(torch.int8)[:, None]
    own = board == me
    opp = (board != 0) & ~own
    first = (player == 0)[:, None].expand_as(own)
    return torch.stack([own, opp, first], dim=1).float().view(-1, 3, h, w)


def outcome_value(done: Tensor, winner: Tensor, player: Tensor) -> tuple[Tensor, Tensor]:
    """(done[B], value[B]) from the winner (-1 none/draw, else 0 or 1) for the player to move."""
    value = (winner == player).float() - (winner == 1 - player).float()
    return done.clone(), value


def random_actions(legal: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """A uniformly random legal action in every row of legal [B, A] (0 in rows without one).

    The random numbers are drawn on the generator's device (the mask's device without a generator).
    Returns:
        LongTensor[B] on the mask's device.
    """
    gdev = generator.device if generator is not None else legal.device
    u = torch.rand(legal.shape, generator=generator, device=gdev).to(legal.device)
    return torch.where(legal, u, -1.0).argmax(-1)


def sgf_point(action: int, shape: tuple[int, int], pass_action: int | None = None, hexgui: bool = False) -> str:
    """SGF text of cell `action` of an HxW board: `<col letter><row letter>` from the top left, or HexGui's
    `<col letter><row number>` with `hexgui`; "" for the pass."""
    w = int(shape[1])
    if pass_action is not None and int(action) == pass_action:
        return ""
    r, c = divmod(int(action), w)
    return f"{chr(97 + c)}{r + 1}" if hexgui else f"{chr(97 + c)}{chr(97 + r)}"


def sgf_action(text: str, shape: tuple[int, int], pass_action: int | None = None, hexgui: bool = False) -> int:
    """The action of an SGF point (inverse of `sgf_point`; "" and "pass" are the pass, and "tt" too on boards up
    to 19x19 where there is one); a text of digits is read as an action id. ValueError naming the text otherwise."""
    h, w = int(shape[0]), int(shape[1])
    t = text.strip()
    if pass_action is not None and (t in ("", "pass") or (t == "tt" and max(h, w) <= 19)):
        return pass_action
    if t.isascii() and t.isdigit():
        a = int(t)
        if not 0 <= a < h * w + (pass_action is not None):
            raise ValueError(f"{text!r}: action ids are 0..{h * w - (pass_action is None)}")
        return a
    try:
        c, r = ord(t[0]) - 97, (int(t[1:]) - 1 if hexgui else ord(t[1]) - 97)
        if len(t) != 2 and not hexgui:
            raise ValueError
    except (IndexError, ValueError):
        raise ValueError(f"{text!r} is not a point of a {h}x{w} board") from None
    if not (0 <= r < h and 0 <= c < w):
        raise ValueError(f"{text!r} is outside a {h}x{w} board")
    return r * w + c
