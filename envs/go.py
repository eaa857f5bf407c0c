"""Go, batched on tensors.

Two players, black (player 0, moves first) and white (player 1), take turns placing a stone on an empty intersection
of a square board (9x9 by default, any size from 5 to 19) or passing. A chain (a maximal group of orthogonally
connected stones of one colour) with no empty neighbouring point (no liberty) is captured and removed: first the
opponent's chains left without liberties by the move, then the rules forbid the rest.

Rules (the Tromp-Taylor rules with suicide forbidden and, by default, the simple ko rule):
    - suicide is illegal: a move must leave its own chain with a liberty after the captures it makes;
    - simple ko (positional, one move): a move that captures exactly one stone with a stone that lands on a point
      whose neighbours are all the opponent's (an eye) makes the captured point illegal for the very next move only;
      a pass clears it. This is the rule of GNU Go, PettingZoo and OpenSpiel, so every move they make is legal here;
    - with `superko=True`, positional superko as well (Tromp-Taylor, as pgx): a move may not recreate any board
      position of the game so far (whoever was to move then). Boards are compared by Zobrist-style hashes (a sum of
      random 64-bit words per stone; a false repeat has odds of about 2**-64 per pair of boards);
    - `handicap=H` (2 to 9 on odd boards from 9x9, 2 to 4 on 7x7 and even boards from 8x8) starts with H black
      stones on the points of GTP's `fixed_handicap` (the points GNU Go uses) and white to move. Komi is not
      changed by the handicap: give the komi the game is played with;
    - pass is always legal; two consecutive passes end the game, and so does reaching `max_moves` = 2 * size * size
      moves (passes count);
    - area (Tromp-Taylor) scoring: a player's score is their stones on the board plus the empty points that reach
      only their colour (through empty points); white adds `komi` (7.5 by default). No dead-stone removal.

Dimension letters: B games, A actions, N = H*W points, C/H/W planes (H = W = size).

Actions (A = N + 1): a = r * W + c places a stone on row r (0 at the top), column c; a = N (`pass_action`) passes.
The numbering (and the pass id) is the one of PettingZoo's go_v5.

Planes (C = 8), from the view of the player to move:
    0 own stones, 1 opponent stones,
    2 own stones in chains with 1 liberty, 3 own stones in chains with 2 liberties,
    4 opponent stones in chains with 1 liberty, 5 opponent stones in chains with 2 liberties,
    6 the ko point (the one point the player to move may not play because of ko), 7 all ones if black is to move
    (komi makes the colours unequal).
With `features=True` (C = 12), KataGo's tactical input features as well:
    8 own stones in chains with 3 or more liberties, 9 opponent stones in chains with 3 or more liberties,
    10 legal moves of the player to move that capture (an adjacent opponent chain in atari),
    11 legal moves of the player to move that would be captured: the chain they make has one liberty (self-atari).

Auxiliary training targets (KataGo): `ownership(state)` (+1 own, -1 opponent, 0 neither, per point under area
scoring, from the view of the player to move) and `final_score(state)` (the area score from the view of the player
to move, komi included); self-play reads them from each game's final position.

Outcome: when the game is over, `score(state)` = black area - white area - komi; black wins if it is positive,
white if negative, a draw at 0 (only with an integer komi). `outcome` gives +1 / -1 / 0 from the view of the
player to move; the final score is kept in the state (`GoState.score`).

Rules as tensor ops: every stone carries the id of its chain (a point of the chain). A move merges the chains it
touches by relabelling them, and captures the adjacent opponent chains whose only liberty it fills, both by
comparing chain ids; liberties of every chain are counted at once from the chain ids around each empty point (a
scatter-add that counts each chain once per point). Legal masks for all points follow from the liberty counts of the
neighbouring chains. Building chain ids from a bare board and area scoring use a batched flood fill (neighbour
gathers / shifts repeated to a fixed point).

Version history:
    go_v0: first version; superko and handicap options added later (the default rules are unchanged).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import Tensor

from envs.base import (
    Symmetry,
    as_actions,
    check_actions,
    dihedral_symmetries,
    grid_action_at,
    grid_rect,
    sgf_action,
    sgf_point,
)
from envs.draw import COLORS, draw_intersection_grid, draw_last_move, draw_star_points, draw_stone, fill_background
from envs.traits import OptionSpec

__all__ = ["Go", "GoState", "fixed_handicap_points"]

_EDGE = 2  # value of the off-board point in padded boards (neither empty nor a stone colour)
_MARGIN = 0.5  # border around the grid, in cells (stones on the edge lines stay whole)


@dataclasses.dataclass(frozen=True)
class GoState:
    """A batch of Go positions.

    Fields:
        board: Int8Tensor[B, N], +1 black (player 0), -1 white (player 1), 0 empty; row-major points.
        chain: Int16Tensor[B, N], the chain id of each stone (a point of its chain), N on empty points.
        libs: Int16Tensor[B, N], the number of liberties of each stone's chain, 0 on empty points.
        ko: LongTensor[B], the point the player to move may not play because of ko, -1 if none.
        player: LongTensor[B], the player to move (0 black, 1 white).
        moves: LongTensor[B], moves played (passes included).
        last_action: LongTensor[B], the previous action (-1 at the start).
        done: BoolTensor[B], game over.
        score: FloatTensor[B], the final area score (black - white - komi) once done, 0 before.
        history: LongTensor[B, L], board hashes: history[b, m] is the hash after m moves (passes included), entries
            past the moves played hold the hash of the first board. L = max_moves + 1 with superko, else 1 (unused).
    """

    board: Tensor
    chain: Tensor
    libs: Tensor
    ko: Tensor
    player: Tensor
    moves: Tensor
    last_action: Tensor
    done: Tensor
    score: Tensor
    history: Tensor


class Go:
    """Go on a size x size board with area scoring; see the module docstring for the rules and encodings.

    Args:
        size: board size, 5 to 19.
        komi: points added to white's area score.
        superko: forbid moves that recreate an earlier board (positional superko) on top of simple ko.
        handicap: 0, or 2 or more black stones placed at the start on GTP's fixed handicap points (white moves first).
        features: add the four tactical input planes (liberties 3+, captures, self-atari) to the 8 default ones.
    """

    def __init__(
        self, size: int = 9, komi: float = 7.5, superko: bool = False, handicap: int = 0, features: bool = False
    ) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or not 5 <= size <= 19:
            raise ValueError(f"go: size must be an integer from 5 to 19, got {size!r}")
        if isinstance(komi, bool) or not isinstance(komi, (int, float)) or not -1000 <= komi <= 1000:
            raise ValueError(f"go: komi must be a number from -1000 to 1000, got {komi!r}")
        superko = _flag(superko, "superko")
        features = _flag(features, "features")
        self.handicap_points = fixed_handicap_points(size, handicap)  # validates the handicap
        self.size = size
        self.komi = float(komi)
        self.superko = superko
        self.handicap = handicap
        self.name = "go"
        self.id = "go_v0"
        self.options = {"size": size, "komi": self.komi}
        if superko:
            self.options["superko"] = True
        if handicap:
            self.options["handicap"] = handicap
        self.features = features
        self.input_options = ("features",)  # changes the planes only: a features model plays plain Go
        if features:
            self.options["features"] = True
        n = size * size
        self.num_points = n
        self.num_actions = n + 1
        self.pass_action = n
        self.board_shape = (size, size)
        self.planes_shape = (12 if features else 8, size, size)
        self.max_moves = 2 * n
        self._tables: dict[torch.device, tuple[Tensor, Tensor, Tensor]] = {}
        self._zobrist: dict[torch.device, Tensor] = {}

    # ----------------------------------------------------------------------------------------------- tables

    def _table(self, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
        """Tables on `device`, cached: neighbours LongTensor[N, 4] (up, down, left, right; N for off-board), the same
        direction-major and flat LongTensor[4 * N], and arange LongTensor[N]."""
        if device not in self._tables:
            s, n = self.size, self.num_points
            nbr = torch.full((n, 4), n, dtype=torch.long)
            for r in range(s):
                for c in range(s):
                    for k, (rr, cc) in enumerate(((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))):
                        if 0 <= rr < s and 0 <= cc < s:
                            nbr[r * s + c, k] = rr * s + cc
            self._tables[device] = (nbr.to(device), nbr.T.reshape(-1).to(device), torch.arange(n, device=device))
        return self._tables[device]

    # ----------------------------------------------------------------------------------------------- states

    def init(self, batch: int, device: str | torch.device = "cpu") -> GoState:
        """`batch` empty boards, black to move (or, with a handicap, the handicap stones and white to move)."""
        device = torch.device(device)
        n = self.num_points
        if self.handicap:
            board = torch.zeros(batch, n, dtype=torch.int8, device=device)
            board[:, self.handicap_points] = 1
            return self.position(board, player=1)
        zeros = torch.zeros(batch, dtype=torch.long, device=device)
        return GoState(
            board=torch.zeros(batch, n, dtype=torch.int8, device=device),
            chain=torch.full((batch, n), n, dtype=torch.int16, device=device),
            libs=torch.zeros(batch, n, dtype=torch.int16, device=device),
            ko=torch.full((batch,), -1, dtype=torch.long, device=device),
            player=zeros,
            moves=zeros.clone(),
            last_action=torch.full((batch,), -1, dtype=torch.long, device=device),
            done=torch.zeros(batch, dtype=torch.bool, device=device),
            score=torch.zeros(batch, dtype=torch.float32, device=device),
            history=torch.zeros(batch, self._history_length, dtype=torch.long, device=device),  # empty board: 0
        )

    def position(self, board: Any, player: Any = 0, ko: Any = -1, moves: Any = 0) -> GoState:
        """A batch of live positions set up from boards (for tests, puzzles and analysis).

        Args:
            board: [B, H, W] or [B, N] (or one board [H, W]) of +1 black, -1 white, 0 empty. Chains without a
                liberty are kept as given (set up legal positions).
            player: the player to move per game (0 black, 1 white), int or [B].
            ko: the ko point per game (-1 for none), int or [B].
            moves: moves already played per game, int or [B].
        Returns:
            GoState with chain ids and liberties computed by flood fill. With superko the history holds only this
            board (earlier boards are unknown).
        """
        b = torch.as_tensor(board)
        device = b.device
        if b.dim() == 2 and b.shape == self.board_shape:
            b = b[None]
        b = b.reshape(b.shape[0], self.num_points).to(torch.int8)
        batch = b.shape[0]

        def col(x: Any) -> Tensor:
            return torch.as_tensor(x, device=device).long().expand(batch).clone()

        chain = self._label_chains(b)
        return GoState(
            board=b.clone(),
            chain=chain.to(torch.int16),
            libs=self._liberties(b, chain),
            ko=col(ko),
            player=col(player),
            moves=col(moves),
            last_action=torch.full((batch,), -1, dtype=torch.long, device=device),
            done=torch.zeros(batch, dtype=torch.bool, device=device),
            score=torch.zeros(batch, dtype=torch.float32, device=device),
            history=self._board_hash(b)[:, None].expand(batch, self._history_length).clone(),
        )

    # ------------------------------------------------------------------------------------------------ rules

    def step(self, state: GoState, action: Any, *, check: bool = True) -> GoState:
        """Play one action in every live game (finished games are returned unchanged).

        Args:
            state: GoState with batch B.
            action: LongTensor[B] (or anything as_actions reads), point ids 0..N-1 or N to pass.
            check: raise IllegalActionError naming the game and action if a live game gets an illegal or out-of-range
                action (a host sync). With check=False illegal actions give undefined positions but never an error.
        Returns:
            the next GoState.
        """
        n = self.num_points
        board = state.board
        batch, device = board.shape[0], board.device
        nbr, _, arange = self._table(device)
        a = as_actions(action, batch, device)
        live = ~state.done
        if check:
            check_actions(self.name, a, self.legal_mask(state), live)
        a = a.clamp(0, n)
        is_pass = a == n
        place = live & ~is_pass
        p = a.clamp(max=n - 1)
        colour = (1 - 2 * state.player).to(torch.int8)[:, None]  # [B, 1] +1 black, -1 white

        chain = state.chain.long()
        nb = nbr[p]  # [B, 4] neighbours of the move
        nb_col = _pad(board, _EDGE).gather(1, nb)
        nb_chain = _pad(chain, n).gather(1, nb)
        nb_libs = _pad(state.libs, 0).gather(1, nb)
        opp = nb_col == -colour
        # opponent chains whose only liberty is the move are captured (code 1); own chains touching it merge (code 2).
        # Codes go into a table indexed by chain id (one chain has one code), then every point reads its chain's code.
        code = torch.where(opp & (nb_libs == 1), 1, torch.where(nb_col == colour, 2, 0)) * place[:, None]
        table = torch.zeros(batch, n + 1, dtype=torch.int8, device=device).scatter_(1, nb_chain, code.to(torch.int8))
        per_point = table.gather(1, chain)  # [B, N]; empty points read the no-chain id N (code 0)
        captured, merged = per_point == 1, per_point == 2
        at_p = (arange == p[:, None]) & place[:, None]  # [B, N]

        new_board = torch.where(at_p, colour, torch.where(captured, 0, board))
        new_chain = torch.where(merged | at_p, p[:, None], torch.where(captured, n, chain))
        new_libs = self._liberties(new_board, new_chain)

        # simple ko: one stone captured by a stone played into an eye of the opponent
        in_eye = (opp | (nb_col == _EDGE)).all(1)
        one = captured.sum(1) == 1
        ko_point = torch.where(place & in_eye & one, captured.to(torch.uint8).argmax(1), -1)

        moves = state.moves + live.long()
        ended = live & ((is_pass & (state.last_action == n)) | (moves >= self.max_moves))
        score = state.score
        if bool(ended.any()):
            idx = ended.nonzero()[:, 0]
            score = score.index_put((idx,), self._area_score(new_board[idx]))
        history = state.history
        if self.superko:
            at = moves.clamp(max=self.max_moves)[:, None]
            history = history.scatter(
                1, at, torch.where(live, self._board_hash(new_board), history.gather(1, at)[:, 0])[:, None]
            )
        return GoState(
            board=new_board,
            chain=new_chain.to(torch.int16),
            libs=new_libs,
            ko=torch.where(live, ko_point, state.ko),
            player=torch.where(live, 1 - state.player, state.player),
            moves=moves,
            last_action=torch.where(live, a, state.last_action),
            done=state.done | ended,
            score=score,
            history=history,
        )

    def legal_mask(self, state: GoState) -> Tensor:
        """BoolTensor[B, A]: empty points that are not the ko point and not suicide, and the pass; all False if done.

        A point is legal if it has an empty neighbour, or an adjacent opponent chain in atari (the move captures it),
        or an adjacent own chain with more than one liberty (the merged chain keeps one). With superko, points whose
        move would recreate an earlier board are illegal too.
        """
        board, libs = state.board, state.libs
        batch, n = board.shape
        _, nbr_flat, arange = self._table(board.device)
        colour = (1 - 2 * state.player).to(torch.int8)[:, None]  # [B, 1]
        # points that make a neighbouring move legal: empty, own chain with 2+ liberties, opponent chain in atari
        helps = (board == 0) | torch.where(board == colour, libs > 1, libs == 1)
        around = _pad(helps, False).gather(1, nbr_flat.expand(batch, -1)).view(batch, 4, n)
        ok = around[:, 0] | around[:, 1]
        ok |= around[:, 2]
        ok |= around[:, 3]
        points = ok & (board == 0) & (arange != state.ko[:, None])
        if self.superko:
            points &= ~self._repeats(state)
        mask = torch.cat([points, torch.ones_like(points[:, :1])], dim=1)
        return mask & ~state.done[:, None]

    def outcome(self, state: GoState) -> tuple[Tensor, Tensor]:
        """(done BoolTensor[B], value FloatTensor[B]): +1 / -1 / 0 for the player to move once done, else 0."""
        black = torch.sign(state.score) * state.done
        value = torch.where(state.player == 0, black, -black)
        return state.done, value + 0.0  # no negative zeros

    def score(self, state: GoState) -> Tensor:
        """FloatTensor[B]: the area (Tromp-Taylor) score of the current boards, black - white - komi."""
        return self._area_score(state.board)

    def move_prior(self, state: GoState) -> Tensor:
        """FloatTensor[B, A]: prior logits of a search without a network (rollouts): while under a quarter of the
        board is filled, the first line (-2), the second (-0.5) and a pass (-3) are played less than the third line
        and inwards (0), as opening play does; later only a pass is held back (-1)."""
        n = self.size
        r = torch.arange(n, device=state.board.device)
        line = torch.minimum(torch.minimum(r, n - 1 - r)[:, None], torch.minimum(r, n - 1 - r)[None, :]).flatten()
        by_line = torch.tensor([-2.0, -0.5, 0.0], device=line.device)  # first, second, third line and inwards
        early = torch.cat([by_line[line.clamp(max=2)], torch.tensor([-3.0], device=line.device)])
        late = torch.zeros_like(early)
        late[-1] = -1.0
        opening = (state.board != 0).sum(-1) * 4 < self.num_points  # [B]
        return torch.where(opening[:, None], early[None], late[None])

    def ownership(self, state: GoState) -> Tensor:
        """FloatTensor[B, N]: the area owner of each point from the view of the player to move: +1 own (a stone of
        the mover's, or an empty point whose empty region reaches only the mover's stones), -1 the opponent's, 0
        neither (the auxiliary ownership target, read from a game's final position)."""
        colour = (1 - 2 * state.player).to(torch.int8)[:, None]
        return (self._owner(state.board) * colour).float()

    def final_score(self, state: GoState) -> Tensor:
        """FloatTensor[B]: the area score from the view of the player to move (own - opponent, komi counted for
        white); at the end of a game, `score` of its final position seen by the player to move."""
        black = self._area_score(state.board)
        return torch.where(state.player == 0, black, -black)

    def dead_stones(self, state: GoState, playouts: int = 64, generator: torch.Generator | None = None) -> Tensor:
        """BoolTensor[B, N]: the stones judged dead, by random playouts (as Monte-Carlo Go programs judge them):
        a stone is dead when its point ends up owned by the other colour in more than half of the playouts of
        `playout_ownership`."""
        owner = self.playout_ownership(state, playouts, generator)
        board = state.board
        return ((board > 0) & (owner < 0)) | ((board < 0) & (owner > 0))

    def playout_ownership(self, state: GoState, playouts: int = 64, generator: torch.Generator | None = None) -> Tensor:
        """FloatTensor[B, N]: the mean area owner of every point at the end of random playouts (+1 black .. -1 white).

        From each position `playouts` games are played on with random legal moves that never fill a point all of
        whose neighbours are the mover's own stones (an eye), until neither side has such a move (or 2 * N moves).
        Ko and superko are ignored in the playouts (simple ko still applies).
        """
        batch, n = state.board.shape
        device = state.board.device
        nbr, _, _ = self._table(device)
        plain = Go(self.size, self.komi)
        s = plain.position(state.board.repeat(playouts, 1), player=state.player.repeat(playouts))
        passes = torch.zeros(batch * playouts, dtype=torch.long, device=device)
        for _ in range(2 * n):
            legal = plain.legal_mask(s)[:, :n]
            colour = (1 - 2 * s.player).to(torch.int8)[:, None]
            eye = (_pad(s.board, _EDGE)[:, nbr] == colour[:, :, None]) | (_pad(s.board, _EDGE)[:, nbr] == _EDGE)
            legal &= ~eye.all(-1)
            u = torch.rand(legal.shape, generator=generator, device=generator.device if generator else device)
            pick = torch.where(legal, u.to(device), -1.0).argmax(-1)
            action = torch.where(legal.any(-1), pick, n)
            passes = torch.where(action == n, passes + 1, 0)
            if bool((passes >= 2).all()):
                break
            s = plain.step(dataclasses.replace(s, done=torch.zeros_like(s.done)), action, check=False)
        return self._owner(s.board).view(playouts, batch, n).float().mean(0)

    def planes(self, state: GoState) -> Tensor:
        """FloatTensor[B, 8, H, W] from the view of the player to move (see the module docstring)."""
        board = state.board
        batch, n = board.shape
        _, _, arange = self._table(board.device)
        colour = (1 - 2 * state.player).to(torch.int8)[:, None]
        own, opp = board == colour, board == -colour
        libs = state.libs
        out = torch.stack(
            [
                own,
                opp,
                own & (libs == 1),
                own & (libs == 2),
                opp & (libs == 1),
                opp & (libs == 2),
                self._ko_plane(state),
                (state.player == 0)[:, None].expand(batch, n),
            ],
            dim=1,
        )
        if self.features:
            capture, self_atari = self._tactics(state)
            out = torch.cat([out, torch.stack([own & (libs >= 3), opp & (libs >= 3), capture, self_atari], 1)], 1)
        return out.view(batch, self.planes_shape[0], self.size, self.size).float()

    def _tactics(self, state: GoState) -> tuple[Tensor, Tensor]:
        """(capture, self_atari) BoolTensor[B, N]: legal moves of the player to move that capture an opponent
        chain, and those whose own chain after the move (and its captures) has exactly one liberty.

        For each empty point p: the stones of the chain a stone at p makes (p and the own chains next to it) and the
        opponent stones it captures (adjacent opponent chains in atari) are [B, N, N] masks, compared by chain id;
        the liberties after the move are the empty or captured points next to that chain, p excluded.
        """
        board, libs = state.board, state.libs
        batch, n = board.shape
        s = self.size
        _, nbr_flat, arange = self._table(board.device)
        colour = (1 - 2 * state.player).to(torch.int8)[:, None]
        chain = state.chain.long()
        idx = nbr_flat.expand(batch, -1)
        nb_col = _pad(board, _EDGE).gather(1, idx).view(batch, 4, n)  # [B, 4, N]
        nb_chain = _pad(chain, n).gather(1, idx).view(batch, 4, n)
        nb_libs = _pad(libs, 0).gather(1, idx).view(batch, 4, n)
        own_nb = torch.where(nb_col == colour[:, :, None], nb_chain, -1)  # chain ids of own neighbours, -1 else
        cap_nb = torch.where((nb_col == -colour[:, :, None]) & (nb_libs == 1), nb_chain, -1)
        legal = self.legal_mask(state)[:, :n]
        capture = legal & (cap_nb >= 0).any(1)
        q_chain = chain[:, None, None, :]  # [B, 1, 1, N(q)]
        member = (own_nb.transpose(1, 2)[:, :, :, None] == q_chain).any(2) | (arange[:, None] == arange)  # [B, p, q]
        captured = (cap_nb.transpose(1, 2)[:, :, :, None] == q_chain).any(2)  # [B, p, q]
        free = ((board == 0)[:, None, :] | captured) & ~(arange[:, None] == arange)  # [B, p, q]: empty after move
        near = _dilate(member.view(batch, n, s, s)).view(batch, n, n)
        libs_after = (near & free).sum(-1)  # [B, p]
        return capture, legal & (libs_after == 1)

    def symmetries(self) -> list[Symmetry]:
        """The 8 symmetries of the square (identity first); the pass maps to itself."""
        return dihedral_symmetries(self.size, self.size, extra_actions=1)

    # ---------------------------------------------------------------------------------------------- superko

    @property
    def _history_length(self) -> int:
        return self.max_moves + 1 if self.superko else 1  # one unused column: no empty fields

    def _zobrist_table(self, device: torch.device) -> Tensor:
        """LongTensor[3, N]: the hash words of (nothing, black, white) stones per point; row 0 is zeros. Fixed seed,
        so hashes agree between processes."""
        if device not in self._zobrist:
            gen = torch.Generator().manual_seed(0x60B0A4D)
            words = torch.randint(-(2**62), 2**62, (2, self.num_points), generator=gen, dtype=torch.long)
            self._zobrist[device] = torch.cat([torch.zeros(1, self.num_points, dtype=torch.long), words]).to(device)
        return self._zobrist[device]

    def _board_hash(self, board: Tensor) -> Tensor:
        """LongTensor[B]: the sum (wrapping at 64 bits) of the hash words of the stones of each board."""
        z = self._zobrist_table(board.device)
        code = torch.where(board < 0, 2, board.long())  # 0 empty, 1 black, 2 white
        return z.gather(0, code).sum(1)

    def _repeats(self, state: GoState) -> Tensor:
        """BoolTensor[B, N]: points where a stone of the player to move would give a board already in the history.

        The board after a move at p: this board's hash + the mover's word at p - the words of the adjacent opponent
        chains in atari (captured), each distinct chain once (as in `_liberties`). Occupied points give garbage
        (masked by the caller).
        """
        board, libs = state.board, state.libs
        batch, n = board.shape
        _, nbr_flat, _ = self._table(board.device)
        z = self._zobrist_table(board.device)
        code = torch.where(board < 0, 2, board.long())
        words = z.gather(0, code)  # [B, N]
        chain = state.chain.long()
        chain_sum = torch.zeros(batch, n + 1, dtype=torch.long, device=board.device).scatter_add_(1, chain, words)
        idx = nbr_flat.expand(batch, -1)
        ids = _pad(chain, n).gather(1, idx).view(batch, 4, n)
        nb_col = _pad(board, _EDGE).gather(1, idx).view(batch, 4, n)
        nb_libs = _pad(libs, 0).gather(1, idx).view(batch, 4, n)
        i0, i1, i2, i3 = ids.unbind(1)
        first = torch.stack([i0 == i0, i1 != i0, (i2 != i0) & (i2 != i1), (i3 != i0) & (i3 != i1) & (i3 != i2)], 1)
        colour = (1 - 2 * state.player).to(torch.int8)[:, None, None]
        captured = first & (nb_col == -colour) & (nb_libs == 1)
        removed = (chain_sum.gather(1, ids.view(batch, -1)).view(batch, 4, n) * captured).sum(1)
        mover = z[1 + state.player]  # [B, N]
        current = words.sum(1, keepdim=True)
        after = current + mover - removed  # [B, N]
        return (after[:, :, None] == state.history[:, None, :]).any(-1)

    def _ko_plane(self, state: GoState) -> Tensor:
        """BoolTensor[B, N]: the points the player to move may not play because of ko (and superko)."""
        _, _, arange = self._table(state.board.device)
        plane = arange == state.ko[:, None]
        if self.superko:
            plane = plane | (self._repeats(state) & (state.board == 0))
        return plane

    # -------------------------------------------------------------------------------------------- flood fill

    def _liberties(self, board: Tensor, chain: Tensor) -> Tensor:
        """Int16Tensor[B, N]: liberties of each stone's chain (0 on empty points).

        Each empty point adds one to each distinct chain among its (up to 4) neighbours.
        """
        batch, n = board.shape
        _, nbr_flat, _ = self._table(board.device)
        idx = nbr_flat.expand(batch, -1)
        ids = _pad(chain.to(torch.int16), n).gather(1, idx).view(batch, 4, n)  # neighbour chain ids, N if none
        i0, i1, i2, i3 = ids.unbind(1)
        empty = board == 0
        first = torch.stack([empty, i1 != i0, (i2 != i0) & (i2 != i1), (i3 != i0) & (i3 != i1) & (i3 != i2)], dim=1)
        first[:, 1:] &= empty[:, None]
        libs = torch.zeros(batch, n + 1, dtype=torch.int16, device=board.device)
        libs.scatter_add_(1, ids.view(batch, -1).long(), first.view(batch, -1).to(torch.int16))
        libs[:, n] = 0  # the count of the no-chain id N (empty and off-board neighbours), read by empty points
        return libs.gather(1, chain.long())

    def _label_chains(self, board: Tensor) -> Tensor:
        """LongTensor[B, N]: chain ids from a bare board (the highest point of each chain), N on empty points.

        Flood fill: every stone takes the largest id among itself and its same-coloured neighbours, then jumps to
        the id held by the point it names (pointer jumping), until nothing changes.
        """
        n = self.num_points
        nbr, _, arange = self._table(board.device)
        stone = board != 0
        same = (_pad(board, _EDGE)[:, nbr] == board[:, :, None]) & stone[:, :, None]  # [B, N, 4]
        ids = torch.where(stone, arange, -1)
        while True:
            nb_ids = _pad(ids, -1)[:, nbr].masked_fill(~same, -1).amax(-1)
            new = torch.maximum(ids, nb_ids)
            new = torch.where(stone, new.gather(1, new.clamp(min=0)), -1)
            if torch.equal(new, ids):
                break
            ids = new
        return torch.where(stone, ids, n)

    def area_owner(self, state: GoState) -> Tensor:
        """Int8Tensor[B, N]: +1 where a point counts for black in the area score (a black stone, or an empty point
        whose empty region reaches only black stones), -1 for white, 0 for neither."""
        return self._owner(state.board)

    def _owner(self, board: Tensor) -> Tensor:
        """The area owner of every point (see `area_owner`).

        Flood fill: the points reached from each colour through empty points grow by one step until unchanged.
        """
        s = self.size
        b = board.view(-1, s, s)
        empty = b == 0
        seeds = torch.stack([b == 1, b == -1])  # [2, B, H, W]
        reach = seeds
        while True:
            new = seeds | (_dilate(reach) & empty)
            if torch.equal(new, reach):
                break
            reach = new
        black = reach[0] & ~(empty & reach[1])
        white = reach[1] & ~(empty & reach[0])
        return (black.to(torch.int8) - white.to(torch.int8)).flatten(1)

    def _area_score(self, board: Tensor) -> Tensor:
        """FloatTensor[B]: black stones + empty points reaching only black, minus the same for white, minus komi."""
        return self._owner(board).sum(1).float() - self.komi

    # ------------------------------------------------------------------------------------------------ drawing

    def draw(self, surface: Any, state: GoState, i: int) -> None:
        """Draw game i of `state`: a wooden board with grid lines, star points, stones and a ring on the last move."""
        size = surface.get_size()
        fill_background(surface, COLORS["wood"])
        draw_intersection_grid(surface, self.board_shape, _MARGIN)
        draw_star_points(surface, self.board_shape, _star_points(self.size), _MARGIN)
        board = state.board[i].tolist()
        for a, v in enumerate(board):
            if v:
                draw_stone(surface, self.action_rect(a, size), COLORS["black"] if v > 0 else COLORS["white"])
        last = int(state.last_action[i])
        if 0 <= last < self.num_points and board[last]:
            draw_last_move(surface, self.action_rect(last, size))

    def action_rect(self, action: int, size: tuple[int, int]) -> Any:
        """The pygame.Rect of the cell around the intersection of `action` on a surface of `size`; None for pass."""
        return grid_rect(action, size, self.board_shape, _MARGIN)

    def action_at(self, pos: tuple[int, int], size: tuple[int, int]) -> int | None:
        """The intersection (action id) nearest to pixel `pos`, or None outside the board."""
        return grid_action_at(pos, size, self.board_shape, _MARGIN)

    # traits (envs.traits) ---------------------------------------------------------------------------------------

    side_names = ("black", "white")
    label_offsets = (0.62, 0.62)
    opening_plies = 4
    record_formats = ("sgf",)
    sgf_game_type = 1
    engine_protocols = ("gtp",)
    area_score = True
    scoring_options = ("komi",)  # a model plays under any komi: komi is not among its input planes
    option_specs = {
        "size": OptionSpec(int, 9, 5, 19, help="board size (size x size)"),
        "komi": OptionSpec(float, 7.5, -1000, 1000, help="points added to white's area score"),
        "superko": OptionSpec(bool, False, help="forbid recreating an earlier board (positional superko)"),
        "handicap": OptionSpec(int, 0, 0, 9, help="black stones on GTP's fixed handicap points (0 or 2..9)"),
        "features": OptionSpec(bool, False, help="extra input planes: liberties 3+, captures, self-atari moves"),
    }

    def move_to_text(self, state: Any, i: int, action: int) -> str:
        """The SGF point of `action` ("dd"; "" for the pass); reads no state."""
        return sgf_point(action, self.board_shape, self.pass_action)

    def text_to_move(self, state: Any, i: int, text: str) -> int:
        """The action of an SGF point ("dd"; "", "tt" or "pass" for the pass) or of an action id ("40")."""
        return sgf_action(text, self.board_shape, self.pass_action)

    def heuristic(self, state: GoState) -> Tensor:
        """FloatTensor[B] in (-1, 1): the Tromp-Taylor area score with komi for the player to move, squashed."""
        score = self.score(state).float()  # black (first player) area - white area - komi
        score = torch.where(state.player == 0, score, -score)
        return torch.tanh(score / max(self.board_shape[0], 1))


def _flag(value: Any, what: str) -> bool:
    """A yes/no option as given in code (bool) or on the command line (1/0, true/false)."""
    if isinstance(value, bool):
        return value
    text = str(value).lower() if isinstance(value, (int, str)) else None
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"go: {what} must be true or false, got {value!r}")


def fixed_handicap_points(size: int, stones: int) -> list[int]:
    """The points (action ids) of GTP's `fixed_handicap` for `stones` stones on a size x size board, as GNU Go
    places them; [] for 0 stones.

    Raises:
        ValueError: a number of stones the board does not take (1, more than 9, more than 4 on even boards and 7x7,
            any on boards below 7x7).
    """
    most = 9 if size % 2 and size >= 9 else 4 if size >= 7 else 0
    if isinstance(stones, bool) or not isinstance(stones, int) or not (stones == 0 or 2 <= stones <= most):
        allowed = f"0 or 2 to {most}" if most else "0 (no handicap below 7x7)"
        raise ValueError(f"go: handicap on {size}x{size} must be {allowed} stones, got {stones!r}")
    d = 3 if size > 11 else 2
    lo, hi, mid = d, size - 1 - d, size // 2
    corners = [(hi, lo), (lo, hi), (lo, lo), (hi, hi)]  # lower left, upper right, upper left, lower right
    sides = [(mid, lo), (mid, hi), (lo, mid), (hi, mid)]  # left, right, top, bottom
    points = corners[: min(stones, 4)]
    if stones >= 6:
        points += sides[: 2 if stones < 8 else 4]
    if stones in (5, 7, 9):
        points.append((mid, mid))
    return sorted(r * size + c for r, c in points)


def _pad(x: Tensor, value: int) -> Tensor:
    """x [B, N] with one more column of `value` (index N: the off-board point / the no-chain id)."""
    return torch.cat([x, torch.full_like(x[:, :1], value)], dim=1)


def _dilate(x: Tensor) -> Tensor:
    """BoolTensor[..., H, W]: x or any of its 4 orthogonal neighbours."""
    y = x.clone()
    y[..., 1:, :] |= x[..., :-1, :]
    y[..., :-1, :] |= x[..., 1:, :]
    y[..., :, 1:] |= x[..., :, :-1]
    y[..., :, :-1] |= x[..., :, 1:]
    return y


def _star_points(size: int) -> list[int]:
    """Action ids of the star points (hoshi): the usual 9 on 19x19, 5 on 13x13 and 9x9, fewer on small boards."""
    if size < 7:
        return [(size // 2) * size + size // 2] if size % 2 else []
    d = 2 if size < 13 else 3
    lines = [d, size - 1 - d]
    mid = size // 2
    points = [(r, c) for r in lines for c in lines]
    if size % 2:
        points.append((mid, mid))
        if size >= 15:
            points += [(mid, d), (mid, size - 1 - d), (d, mid), (size - 1 - d, mid)]
    return [r * size + c for r, c in points]
