"""Hex, batched on tensors.

Two players take turns placing a stone on an empty cell of a size x size rhombus of hexagons (11x11 by default).
Player 0 (first, drawn red) wins by joining the top and bottom rows with a chain of its stones; player 1 (drawn
blue) joins the left and right columns. There is no swap rule and no draw: a full board always holds exactly one
winning chain.

Dimension letters: B games, A actions, N = H*W cells, C/H/W planes.

Cells: (r, c) with row 0 at the top; each row is drawn half a cell to the right of the row above, so the six
neighbours of (r, c) are (r-1, c), (r-1, c+1), (r, c-1), (r, c+1), (r+1, c-1), (r+1, c).

Actions (A = H*W): a = r * W + c places a stone on row r, column c. No pass.

Planes (C = 3): plane 0 the stones of the player to move, plane 1 the opponent's stones, plane 2 all ones when the
player to move is player 1 (joins left and right) and all zeros when it is player 0 (joins top and bottom).

Outcome: the player who completes a chain between its two edges wins (+1 / -1 from the view of the player to move;
at the end the player to move is the loser, so its value is -1).

Symmetries: the identity and the 180-degree rotation, the only board symmetries that keep both players' goals.

Rules as tensor ops: every stone carries a chain label (the cell index of one stone of its chain). A new stone
gathers its 6 neighbours (a precomputed table padded with an always-empty cell), and every stone whose label is one
of the mover's neighbouring labels is relabelled with the new cell: one batched pass per move, no flood fill to a
fixed point. Only the mover can have won: its new chain wins when its label appears on both of its edges.

Version history:
    hex_v0: first version.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from typing import Any

import torch
from torch import Tensor

from envs.base import Symmetry, as_actions, check_actions, outcome_value, sgf_action, sgf_point
from envs.draw import COLORS, draw_last_move, draw_stone
from envs.state import where
from envs.traits import OptionSpec

__all__ = ["Hex", "HexState"]

_NEIGHBOURS = [(-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0)]
_RED = COLORS["red"]
_BLUE = COLORS["blue"]
_CELL = (235, 220, 185)
_LINE = (90, 70, 50)


@dataclasses.dataclass(frozen=True)
class HexState:
    """A batch of Hex positions.

    Fields:
        board: Int8Tensor[B, N], +1 player 0 (red), -1 player 1 (blue), 0 empty; row-major cells.
        label: Int16Tensor[B, N], chain label of each stone (a cell index of its chain), -1 on empty cells.
        player: LongTensor[B], the player to move.
        moves: LongTensor[B], stones placed.
        last_action: LongTensor[B], the previous action (-1 at the start).
        done: BoolTensor[B], game over.
        winner: LongTensor[B], 0 or 1 when done, -1 otherwise.
    """

    board: Tensor
    label: Tensor
    player: Tensor
    moves: Tensor
    last_action: Tensor
    done: Tensor
    winner: Tensor


class Hex:
    """Hex on a size x size board (size 2..25); see the module docstring for the rules and encodings."""

    def __init__(self, size: int = 11) -> None:
        if not 2 <= size <= 25:
            raise ValueError(f"hex: size must be in 2..25, got {size}")
        self.size = size
        self.name = "hex"
        self.id = "hex_v0"
        self.options = {"size": size}
        n = size * size
        self.num_actions = n
        self.pass_action = None
        self.board_shape = (size, size)
        self.fills_cells = True  # the legal moves are exactly the empty cells
        self.planes_shape = (3, size, size)
        self.max_moves = n
        self._tables_cpu = _tables(size)
        self._cache: dict[torch.device, tuple[Tensor, Tensor]] = {}

    def _tables(self, device: torch.device) -> tuple[Tensor, Tensor]:
        """(neighbours LongTensor[N, 6] padded with cell N, edges LongTensor[2 players, 2 sides, size])."""
        if device not in self._cache:
            self._cache[device] = tuple(t.to(device) for t in self._tables_cpu)  # type: ignore[assignment]
        return self._cache[device]

    # ---- rules ----

    def init(self, batch: int, device: str | torch.device = "cpu") -> HexState:
        """The empty board, repeated `batch` times, on `device`."""
        device = torch.device(device)
        n = self.num_actions
        zeros = torch.zeros(batch, dtype=torch.long, device=device)
        return HexState(
            board=torch.zeros(batch, n, dtype=torch.int8, device=device),
            label=torch.full((batch, n), -1, dtype=torch.int16, device=device),
            player=zeros,
            moves=zeros.clone(),
            last_action=torch.full_like(zeros, -1),
            done=torch.zeros(batch, dtype=torch.bool, device=device),
            winner=torch.full_like(zeros, -1),
        )

    def step(self, state: HexState, action: Any, *, check: bool = True) -> HexState:
        """Place one stone in every game of the batch.

        Args:
            state: B positions.
            action: LongTensor[B] (or anything `as_actions` reads); ignored for finished games.
            check: raise IllegalActionError on an out-of-range or occupied cell of a live game. With check=False
                illegal actions are not detected (the result is unspecified but never an exception).
        Returns:
            the B positions after the move (a new state; `state` is left untouched).
        """
        b, n = state.board.shape
        device = state.board.device
        action = as_actions(action, b, device)
        if check:
            check_actions(self.name, action, self.legal_mask(state), ~state.done)
        neighbours, edges = self._tables(device)
        a = action.clamp(0, n - 1)  # [B]
        a16 = a.to(torch.int16)[:, None]  # [B, 1]
        sign = (1 - 2 * state.player).to(torch.int8)  # [B]
        nb = neighbours[a]  # [B, 6]
        board_ext = torch.cat([state.board, state.board.new_zeros(b, 1)], 1)  # [B, N + 1]
        label_ext = torch.cat([state.label, state.label.new_full((b, 1), -1)], 1)
        nb_label = label_ext.gather(1, nb)  # [B, 6]
        nb_label = torch.where(board_ext.gather(1, nb) == sign[:, None], nb_label, -2)  # mover's chains only
        # the stones of the joined chains: a table over labels (shifted by 2; -2 and -1 are no chain) read per cell
        joined_labels = torch.zeros(b, n + 2, dtype=torch.bool, device=device).scatter_(1, (nb_label + 2).long(), True)
        joined_labels[:, :2] = False
        joined = joined_labels.gather(1, (state.label + 2).long())  # [B, N]
        label = torch.where(joined, a16, state.label).scatter(1, a[:, None], a16)
        board = state.board.scatter(1, a[:, None], sign[:, None])
        # the mover wins when the new chain's label is on both of its edges
        edge = edges[state.player]  # [B, 2, size]
        on_edge = label.gather(1, edge.view(b, -1)).view(edge.shape) == a16[:, :, None]  # [B, 2, size]
        won = on_edge.any(-1).all(-1)  # [B]
        moves = state.moves + 1
        new_state = HexState(
            board=board,
            label=label,
            player=1 - state.player,
            moves=moves,
            last_action=a,
            done=won | (moves >= self.max_moves),
            winner=torch.where(won, state.player, -1),
        )
        return where(state.done, state, new_state)

    def legal_mask(self, state: HexState) -> Tensor:
        """BoolTensor[B, A]: the empty cells (all False for finished games)."""
        return (state.board == 0) & ~state.done[:, None]

    def outcome(self, state: HexState) -> tuple[Tensor, Tensor]:
        """(done BoolTensor[B], value FloatTensor[B] in {-1, 0, 1} for the player to move, 0 when not done)."""
        return outcome_value(state.done, state.winner, state.player)

    def planes(self, state: HexState) -> Tensor:
        """FloatTensor[B, 3, H, W]: own stones, opponent's stones, the colour of the player to move."""
        b = state.board.shape[0]
        sign = (1 - 2 * state.player).to(torch.int8)
        rel = (state.board * sign[:, None]).view(b, 1, *self.board_shape)
        colour = state.player.view(b, 1, 1, 1).expand(b, 1, *self.board_shape) == 1
        return torch.cat([rel == 1, rel == -1, colour], 1).float()

    def symmetries(self) -> list[Symmetry]:
        """Identity and the 180-degree rotation (both keep each player's pair of edges)."""
        cells = torch.arange(self.num_actions).view(self.board_shape)
        out: list[Symmetry] = []
        for fn in (_identity, _rotate_180):
            out.append((fn, fn(cells).reshape(-1)))
        return out

    # ---- drawing ----

    def _layout(self, size: tuple[int, int]) -> tuple[float, float, float, list[tuple[float, float]]]:
        """(radius R, x0, y0, rhombus corners TL, TR, BR, BL): cell (r, c) is centred at
        (x0 + sqrt(3) R (c + r / 2), y0 + 1.5 R r); the corners frame the coloured edges."""
        s = self.size
        w = math.sqrt(3.0)
        # corners for R = 1, cell (0, 0) at the origin: corner cells pushed outward along the bisector so that the
        # band between the hexagons and the rhombus is about 0.6 R wide (acute corners: 60 degrees, obtuse: 120).
        centres = [
            (0.0, 0.0),
            (w * (s - 1), 0.0),
            (w * 1.5 * (s - 1), 1.5 * (s - 1)),
            (w * 0.5 * (s - 1), 1.5 * (s - 1)),
        ]
        cx = sum(p[0] for p in centres) / 4
        cy = sum(p[1] for p in centres) / 4
        corners = []
        for k, (px, py) in enumerate(centres):
            half_angle = math.radians(30 if k % 2 == 0 else 60)
            dx, dy = px - cx, py - cy
            norm = math.hypot(dx, dy) or 1.0
            push = 1.6 / math.sin(half_angle)
            corners.append((px + dx / norm * push, py + dy / norm * push))
        xs = [p[0] for p in corners]
        ys = [p[1] for p in corners]
        radius = min(size[0] / (max(xs) - min(xs)), size[1] / (max(ys) - min(ys)))
        x0 = size[0] / 2 - radius * (max(xs) + min(xs)) / 2
        y0 = size[1] / 2 - radius * (max(ys) + min(ys)) / 2
        return radius, x0, y0, [(x0 + radius * x, y0 + radius * y) for x, y in corners]

    def _centre(self, a: int, radius: float, x0: float, y0: float) -> tuple[float, float]:
        r, c = divmod(a, self.size)
        return x0 + math.sqrt(3.0) * radius * (c + r / 2), y0 + 1.5 * radius * r

    def draw(self, surface: Any, state: HexState, i: int) -> None:
        """Draw game i of `state`: a rhombus of hexagons, red top/bottom edges, blue left/right edges, stones."""
        import pygame

        size = surface.get_size()
        surface.fill((250, 248, 240))
        radius, x0, y0, (tl, tr, br, bl) = self._layout(size)
        centre = ((tl[0] + br[0]) / 2, (tl[1] + br[1]) / 2)
        for colour, (p, q) in ((_RED, (tl, tr)), (_RED, (bl, br)), (_BLUE, (tl, bl)), (_BLUE, (tr, br))):
            pygame.draw.polygon(surface, colour, [centre, p, q])
        board = state.board[i].tolist()
        last = int(state.last_action[i])
        corners = [(math.cos(math.radians(90 + 60 * k)), math.sin(math.radians(90 + 60 * k))) for k in range(6)]
        line = max(1, round(radius / 12))
        for a in range(self.num_actions):
            x, y = self._centre(a, radius, x0, y0)
            hexagon = [(x + radius * dx, y + radius * dy) for dx, dy in corners]
            pygame.draw.polygon(surface, _CELL, hexagon)
            pygame.draw.polygon(surface, _LINE, hexagon, width=line)
            if board[a]:
                draw_stone(surface, self.action_rect(a, size), _RED if board[a] > 0 else _BLUE, scale=0.36)
            if a == last:
                draw_last_move(surface, self.action_rect(a, size), COLORS["white"], scale=0.4)

    def action_rect(self, action: int, size: tuple[int, int]) -> Any:
        """The pygame.Rect around the hexagon of `action` on a surface of `size` (None off the board)."""
        import pygame

        if not 0 <= int(action) < self.num_actions:
            return None
        radius, x0, y0, _ = self._layout(size)
        x, y = self._centre(int(action), radius, x0, y0)
        half_w = math.sqrt(3.0) / 2 * radius
        return pygame.Rect(round(x - half_w), round(y - radius), round(2 * half_w), round(2 * radius))

    def action_at(self, pos: tuple[int, int], size: tuple[int, int]) -> int | None:
        """The cell under pixel `pos` (the nearest centre within a hexagon's inner radius), or None."""
        radius, x0, y0, _ = self._layout(size)
        best, best_d = None, math.sqrt(3.0) / 2 * radius
        for a in range(self.num_actions):
            x, y = self._centre(a, radius, x0, y0)
            d = math.hypot(pos[0] - x, pos[1] - y)
            if d <= best_d:
                best, best_d = a, d
        return best

    # traits (envs.traits) ---------------------------------------------------------------------------------------

    side_names = ("red", "blue")
    side_colors = ((200, 40, 40), (30, 70, 170))
    label_offsets = (1.35, 1.5)
    record_formats = ("sgf",)
    sgf_game_type = 11
    option_specs = {"size": OptionSpec(int, 11, 2, 25, help="board size (size x size)")}

    def move_to_text(self, state: Any, i: int, action: int) -> str:
        """The HexGui SGF point of `action` ("c5": column letter, row number from the top); reads no state."""
        return sgf_point(action, self.board_shape, hexgui=True)

    def text_to_move(self, state: Any, i: int, text: str) -> int:
        """The action of a HexGui point ("c5") or of an action id ("40"); ValueError naming the text otherwise."""
        return sgf_action(text, self.board_shape, hexgui=True)

    def winning_cells(self, state: HexState, i: int, winner: int) -> list[int]:
        """The shortest chain of the winner's stones joining its two edges (breadth-first): the first player from
        the top row to the bottom row, the second from the left column to the right column."""
        size = self.size
        board = state.board[i].tolist()
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

    def heuristic(self, state: HexState) -> Tensor:
        """FloatTensor[B] in (-1, 1): the difference of the two sides' shortest connection distances (0-1 shortest
        path, own stones free, empty cells cost 1), for the player to move."""
        h, w = self.board_shape
        planes = self.planes(state)
        own, opp = planes[:, 0] > 0, planes[:, 1] > 0  # [B, H, W]
        rows = torch.arange(h, device=own.device)[:, None].expand(h, w)
        cols = torch.arange(w, device=own.device)[None, :].expand(h, w)
        top, bottom, left, right = rows == 0, rows == h - 1, cols == 0, cols == w - 1
        first = (state.player == 0)[:, None, None]  # the mover joins top and bottom if it moved first, else sides
        start = torch.cat([torch.where(first, top, left), torch.where(first, left, top)])
        goal = torch.cat([torch.where(first, bottom, right), torch.where(first, right, bottom)])
        d = _hex_distance(torch.cat([own, opp]), torch.cat([opp, own]), start, goal).clamp(max=h * w)
        d_own, d_opp = d.chunk(2)
        return torch.tanh((d_opp - d_own + 0.5) / 3.0)


def _identity(x: Tensor) -> Tensor:
    return x


def _rotate_180(x: Tensor) -> Tensor:
    return torch.flip(x, dims=(-2, -1))


def _tables(size: int) -> tuple[Tensor, Tensor]:
    """(neighbours LongTensor[N, 6], cell N where off the board; edges LongTensor[2, 2, size]: player 0's top and
    bottom rows, player 1's left and right columns)."""
    n = size * size
    neighbours = torch.full((n, len(_NEIGHBOURS)), n, dtype=torch.long)
    for r in range(size):
        for c in range(size):
            for k, (dr, dc) in enumerate(_NEIGHBOURS):
                rr, cc = r + dr, c + dc
                if 0 <= rr < size and 0 <= cc < size:
                    neighbours[r * size + c, k] = rr * size + cc
    cells = torch.arange(n).view(size, size)
    edges = torch.stack([torch.stack([cells[0], cells[-1]]), torch.stack([cells[:, 0], cells[:, -1]])])
    return neighbours, edges


_HEX_NEIGHBOURS = [(-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0)]


def _hex_distance(stones: Tensor, blocked: Tensor, start: Tensor, goal: Tensor) -> Tensor:
    """Fewest empty cells to fill to join the `start` cells to the `goal` cells ([B, H, W] masks), by relaxation
    over the six hex neighbours (own stones cost 0, empty cells 1, the other side's stones block) -> [B]."""
    h, w = stones.shape[-2:]
    cost = torch.where(blocked, math.inf, torch.where(stones, 0.0, 1.0))  # [B, H, W]
    dist = torch.where(start, cost, math.inf)
    for _ in range(h * w):
        p = torch.nn.functional.pad(dist, (1, 1, 1, 1), value=math.inf)  # [B, H+2, W+2]
        up = torch.minimum(p[:, :h, 1 : w + 1], p[:, :h, 2:])  # (r-1, c), (r-1, c+1)
        side = torch.minimum(p[:, 1 : h + 1, :w], p[:, 1 : h + 1, 2:])  # (r, c-1), (r, c+1)
        down = torch.minimum(p[:, 2:, :w], p[:, 2:, 1 : w + 1])  # (r+1, c-1), (r+1, c)
        new = torch.minimum(dist, cost + torch.minimum(torch.minimum(up, side), down))
        if torch.equal(new, dist):
            break
        dist = new
    return torch.where(goal, dist, math.inf).amin((-2, -1))
