"""Chess, batched on tensors: the full rules with the game end of PettingZoo's chess_v6.

Two players, white (player 0, moves first) and black (player 1). Standard chess: castling, en passant, promotion
including underpromotion, check, checkmate and stalemate. The move generator works on bitboards in the mover's
view (envs.chess_moves); FEN and UCI text live in envs.chess_notation.

Game end, exactly as PettingZoo's chess_v6, which ends a game when python-chess's
``board.is_game_over(claim_draw=True)`` holds (checked in this order, the first one names the reason):
    checkmate (the side to move loses); insufficient material as python-chess defines it (each side has no pawn,
    rook or queen and at most: a lone knight against no pawn, knight, bishop or rook; or bishops all on one square
    colour with no pawns or knights on the board); stalemate; the seventy-five-move rule (halfmove clock 150, only
    reachable from a FEN); the fifty-move claim (halfmove clock at 100, or at 99 with a legal move that does not reset
    it and leaves the opponent a legal move); threefold repetition, claimed as soon as it can be: the position has
    occurred three times, or a legal move would make a position occur for the third time. Positions are compared
    as python-chess compares them: pieces, side to move, castling rights, and the en passant square only when an en
    passant capture is legal; positions before the last capture or pawn move never repeat, so only those after it
    are kept (`history`, Zobrist keys). A game started from a FEN knows no positions before it (as python-chess).
    Added here: a game that reaches `max_moves` plies (512 by default, as in the AlphaZero paper) ends as a draw
    (reason "max_moves"); PettingZoo's env has no such cap. Outcome: +1 / -1 / 0 for the player to move, so after
    a checkmate the side to move gets -1.

The class carries its board size (`size`, `start_fen`, `lookahead_claims`): envs.gardner_chess plays the same
rules on a 5x5 board with its own action ids, planes and game end.

Dimension letters: B games, A = 4672 actions, C = 119 planes, H = W = 8.

Actions: PettingZoo chess_v6's 8 x 8 x 73: action = (file * 8 + rank) * 73 + plane, with the from-square's file and
rank in the mover's view (ranks mirrored for black) and the plane a queen move (56: distance and direction), a
knight move (8) or an underpromotion (9); a pawn reaching the last rank in a queen plane becomes a queen; castling
is the king's two-square move. See envs.chess_moves for the plane order. `move_to_uci` / `uci_to_action` convert.

Observation planes (from the view of the player to move, board mirrored for black so the mover plays up; row 0 at
the top is the mover's eighth rank, column 0 the a-file), in the AlphaZero style, float in [0, 1]:
    for t = 0..7 (the position t plies ago, zeros before the game's first position): 14 planes at 14 * t:
        0-5 the mover's pawns, knights, bishops, rooks, queens, king; 6-11 the opponent's; 12 all ones if that
        position had occurred before (2 times or more), 13 all ones if 3 times or more;
    112: all ones if white is to move; 113: plies played / max_moves; 114-117: castling rights, the mover's king
    side, queen side, then the opponent's; 118: the halfmove clock / 100.

Symmetries: none. Castling and pawn direction break the mirror images and colour swaps of the board, so
`symmetries()` lists only the identity.

Speed notes: `step` computes the new mover's legal moves once and keeps them in the state as 73 bitboards
(`legal`); `legal_mask` unpacks them to the [B, 4672] mask and `random_actions` draws a uniformly random legal move
straight from the bitboards. The two look-ahead claims (fifty moves at 99, a move that repeats a position a third
time) are tried only on the games where they can apply (a host sync on CUDA).

Version history:
    chess_v0: first version.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor

from envs import chess_end as ce
from envs import chess_moves as cm
from envs.base import Symmetry, as_actions, check_actions, outcome_value
from envs.chess_draw import draw_board
from envs.chess_notation import (
    START_FEN,
    FenPosition,
    action_of,
    format_fen,
    move_of,
    parse_fen,
    parse_square,
    square_name,
)
from envs.state import where
from envs.traits import OptionSpec

__all__ = ["Chess", "ChessState", "TERMINATIONS", "HISTORY", "PIECE_CP", "MOBILITY_CP", "CP_SCALE", "centipawns"]

TERMINATIONS = (
    "",
    "checkmate",
    "insufficient_material",
    "stalemate",
    "seventyfive_moves",
    "fifty_moves",
    "threefold_repetition",
    "max_moves",
)
HISTORY = 100  # position keys kept: the game ends by the fifty-move claim before more could count
_PAST = 7  # earlier positions kept for the planes


@dataclass(frozen=True)
class ChessState:
    """Batched chess positions; every field has leading dim B. Squares are absolute (a1 = 0, h8 = 63)."""

    pieces: Tensor  # int64 [B, 12]: bitboards, white P N B R Q K then black P N B R Q K
    castling: Tensor  # long [B]: 1 white king side, 2 white queen side, 4 black king side, 8 black queen side
    ep: Tensor  # long [B]: en passant target square if an en passant capture is legal, else -1
    halfmove: Tensor  # long [B]: plies since the last capture or pawn move
    fullmove: Tensor  # long [B]: the FEN move number
    player: Tensor  # long [B]: 0 white, 1 black to move
    moves: Tensor  # long [B]: plies played in this game
    last_action: Tensor  # long [B]: -1 at the start
    legal: Tensor  # int64 [B, 73]: legal from-squares per move plane (mover's view); all 0 once done
    check: Tensor  # bool [B]: the player to move is in check
    key: Tensor  # int64 [B]: Zobrist key of the position as python-chess compares positions
    history: Tensor  # int64 [B, HISTORY]: keys of the positions 1, 2, ... plies ago since the last reset, else 0
    rep: Tensor  # int8 [B]: how often the current position has occurred (1 the first time)
    most_rep: Tensor  # int8 [B, 2]: the highest `rep` since the last reset among positions with white / black to move
    past: Tensor  # int64 [B, 7, 12]: the pieces 1..7 plies ago (0 before the first position)
    past_rep: Tensor  # int8 [B, 7]
    done: Tensor  # bool [B]
    winner: Tensor  # long [B]: -1 none or draw, else 0 or 1
    reason: Tensor  # int8 [B]: index into TERMINATIONS, 0 while running


class Chess:
    """Batched chess on tensors (CPU or CUDA); see the module docstring.

    Args:
        max_moves: plies after which a game ends as a draw (512 by default).
    """

    name = "chess"
    pass_action = None
    size = 8  # the board's side; envs.gardner_chess plays the same rules on 5x5
    start_fen = START_FEN
    lookahead_claims = True  # the fifty-move and threefold claims one move ahead (python-chess); Gardner has none

    def __init__(self, max_moves: int = 512) -> None:
        if isinstance(max_moves, bool) or not isinstance(max_moves, int) or max_moves < 1:
            raise ValueError(f"chess: max_moves must be a positive integer, got {max_moves!r}")
        self.id = "chess_v0"
        self.max_moves = max_moves
        self.options: dict[str, Any] = {} if max_moves == 512 else {"max_moves": max_moves}
        self.board_shape = (8, 8)
        self.num_actions = 64 * cm.PLANES
        self.planes_shape = (119, 8, 8)

    def __repr__(self) -> str:
        return "Chess()" if self.max_moves == 512 else f"Chess(max_moves={self.max_moves})"

    # ------------------------------------------------------------------------------------------------ positions
    def init(self, batch: int, device: str | torch.device = "cpu") -> ChessState:
        """B games at the start position on `device`."""
        one = _start(self, torch.device(device))
        return ChessState(**{k: v.expand(batch, *v.shape[1:]).clone() for k, v in vars(one).items()})

    def from_fen(self, fen: str | list[str], device: str | torch.device = "cpu") -> ChessState:
        """Positions from FEN strings (one string: a batch of 1). `moves` starts at 0, no earlier positions known.

        Raises:
            ValueError: a malformed FEN (the message names it).
        """
        fens = [fen] if isinstance(fen, str) else list(fen)
        parsed = [parse_fen(f, self.size) for f in fens]
        device = torch.device(device)

        def col(values: list[int]) -> Tensor:
            return torch.tensor(values, dtype=torch.long, device=device)

        pieces = torch.tensor([[cm.i64(x) for x in p.pieces] for p in parsed], dtype=torch.long, device=device)
        b = len(parsed)
        player = col([p.player for p in parsed])
        ep = col([p.ep for p in parsed])
        key = ce.position_key(pieces, col([p.castling for p in parsed]), player)
        return self._finish(
            pieces=pieces,
            castling=col([p.castling for p in parsed]),
            ep_candidate=ep,
            halfmove=col([p.halfmove for p in parsed]),
            fullmove=col([p.fullmove for p in parsed]),
            player=player,
            moves=torch.zeros(b, dtype=torch.long, device=device),
            last_action=torch.full((b,), -1, dtype=torch.long, device=device),
            base_key=key,
            history=torch.zeros(b, HISTORY, dtype=torch.long, device=device),
            most_rep=torch.zeros(b, 2, dtype=torch.int8, device=device),
            past=torch.zeros(b, _PAST, 12, dtype=torch.long, device=device),
            past_rep=torch.zeros(b, _PAST, dtype=torch.int8, device=device),
        )

    def to_fen(self, state: ChessState) -> list[str]:
        """The FEN of every position (the en passant square only where an en passant capture is legal, as
        python-chess's ``board.fen()``)."""
        rows = zip(
            state.pieces.tolist(),
            state.player.tolist(),
            state.castling.tolist(),
            state.ep.tolist(),
            state.halfmove.tolist(),
            state.fullmove.tolist(),
        )
        return [format_fen(FenPosition(tuple(p), pl, c, e, h, f), self.size) for p, pl, c, e, h, f in rows]

    # ---------------------------------------------------------------------------------------------------- rules
    def step(self, state: ChessState, action: Any, *, check: bool = True) -> ChessState:
        """Play action[b] in every live game b; finished games come back unchanged.

        Args:
            state: B positions.
            action: LongTensor[B] action ids (see the module docstring).
            check: raise IllegalActionError naming the game and action for an out-of-range or illegal action in a
                live game (one host sync). With check=False an illegal action gives an undefined position, no error.
        Returns:
            the new ChessState (the input is not modified).
        """
        b, device = state.player.shape[0], state.player.device
        if check or not isinstance(action, Tensor) or action.dtype != torch.long:
            action = as_actions(action, b, device)
        if check:
            ok = self._is_legal(state, action)
            if not bool((ok | state.done).all()):
                check_actions(self.name, action, self.legal_mask(state), ~state.done)
        p, n = state.player, self.size
        us, them = ce.mover_view(state.pieces, p, n)
        tb = cm.tables(device, n)
        ep_view = torch.where(state.ep >= 0, state.ep ^ (56 * p), -1)
        m = cm.make_move(us, them, ce.swap_rights(state.castling, p), ep_view, self._internal(action), p, n)
        new_us, new_them = cm.flip(m.them, n), cm.flip(m.us, n)
        white = (p == 0)[:, None]
        pieces = torch.where(white, torch.cat([m.us, m.them], 1), torch.cat([new_us, new_them], 1))
        ep_abs = torch.where(m.ep >= 0, m.ep ^ (56 * p), -1)
        zeroing = m.zeroing
        history = torch.cat([state.key[:, None], state.history[:, :-1]], 1)
        new = self._finish(
            pieces=pieces,
            castling=ce.swap_rights(m.rights, p),
            ep_candidate=ep_abs,
            halfmove=torch.where(zeroing, 0, state.halfmove + 1),
            fullmove=state.fullmove + p,
            player=1 - p,
            moves=state.moves + 1,
            last_action=action,
            base_key=state.key ^ ce.ep_key(tb, state.ep) ^ m.key_delta,
            history=torch.where(zeroing[:, None], 0, history),
            most_rep=torch.where(zeroing[:, None], 0, state.most_rep),
            past=torch.cat([state.pieces[:, None], state.past[:, :-1]], 1),
            past_rep=torch.cat([state.rep[:, None], state.past_rep[:, :-1]], 1),
            view=(new_us, new_them),
        )
        if not bool(state.done.any()):  # (a host sync; saves a select over every field)
            return new
        return where(state.done, state, new)

    def _internal(self, action: Tensor) -> Tensor:
        """The 8x8 move-plane ids (envs.chess_moves) of action ids: the same ids in chess."""
        return action

    def _external(self, internal: Tensor) -> Tensor:
        """The action ids of 8x8 move-plane ids (legal moves only): the same ids in chess."""
        return internal

    def _is_legal(self, state: ChessState, action: Tensor) -> Tensor:
        """BoolTensor[B]: action[b] (an 8x8 move-plane id) is in range and legal."""
        in_range = (action >= 0) & (action < 64 * cm.PLANES)
        a = action.clamp(0, 64 * cm.PLANES - 1)
        sq, plane = a // cm.PLANES, a % cm.PLANES
        bit = (sq % 8) * 8 + sq // 8
        bits = state.legal.gather(1, plane[:, None])[:, 0]
        return in_range & (((bits >> bit) & 1) != 0)

    def _finish(
        self,
        *,
        pieces: Tensor,
        castling: Tensor,
        ep_candidate: Tensor,
        halfmove: Tensor,
        fullmove: Tensor,
        player: Tensor,
        moves: Tensor,
        last_action: Tensor,
        base_key: Tensor,
        history: Tensor,
        most_rep: Tensor,
        past: Tensor,
        past_rep: Tensor,
        view: tuple[Tensor, Tensor] | None = None,
    ) -> ChessState:
        """The State of a position: legal moves of the player to move, key, repetitions and the game end."""
        tb = cm.tables(pieces.device, self.size)
        us, them = view if view is not None else ce.mover_view(pieces, player, self.size)
        rights = ce.swap_rights(castling, player)
        ep_view = torch.where(ep_candidate >= 0, ep_candidate ^ (56 * player), -1)
        legal, in_check, ep_legal = cm.generate(us, them, rights, ep_view, self.size)
        ep = torch.where(ep_legal, ep_candidate, -1)
        key = base_key ^ ce.ep_key(tb, ep)
        rep = 1 + (history[:, 1::2] == key[:, None]).sum(1)
        col = torch.arange(2, device=pieces.device) == player[:, None]
        most_rep = torch.where(col, torch.maximum(most_rep, rep.to(torch.int8)[:, None]), most_rep)

        can_move = (legal != 0).any(1)
        reasons = [
            ~can_move & in_check,
            ce.insufficient_material(pieces),
            ~can_move,
            can_move & (halfmove >= 150),
            can_move & (halfmove >= 100),
            can_move & (rep >= 3),
        ]
        open_ = can_move & ~reasons[1] & ~reasons[4] & ~reasons[5]
        fifty_look = open_ & (halfmove == 99)
        three_look = open_ & (most_rep.gather(1, (1 - player)[:, None])[:, 0] >= 2)
        look = fifty_look | three_look
        if self.lookahead_claims and bool(look.any()):
            rows = look.nonzero()[:, 0]
            fifty, three = ce.lookahead_claims(
                us[rows],
                them[rows],
                rights[rows],
                torch.where(ep_legal, ep_view, -1)[rows],
                legal[rows],
                player[rows],
                base_key[rows],
                history[rows],
            )
            reasons[4] = reasons[4].index_put((rows,), reasons[4][rows] | (fifty & fifty_look[rows]))
            reasons[5] = reasons[5].index_put((rows,), reasons[5][rows] | (three & three_look[rows]))
        reasons.append(moves >= self.max_moves)
        ended = torch.stack(reasons, 1)  # [B, 7]
        done = ended.any(1)
        reason = torch.where(done, ended.to(torch.uint8).argmax(1) + 1, 0).to(torch.int8)
        return ChessState(
            pieces=pieces,
            castling=castling,
            ep=ep,
            halfmove=halfmove,
            fullmove=fullmove,
            player=player,
            moves=moves,
            last_action=last_action,
            legal=torch.where(done[:, None], 0, legal),
            check=in_check,
            key=key,
            history=history,
            rep=rep.to(torch.int8),
            most_rep=most_rep,
            past=past,
            past_rep=past_rep,
            done=done,
            winner=torch.where(reason == 1, 1 - player, -1),
            reason=reason,
        )

    def unclaimed(self, state: ChessState) -> ChessState:
        """The positions with the draws that are only claimed (fifty moves, threefold, seventy-five moves) and the
        length cap waived: such games are live again with their legal moves (for engines that keep playing, as a
        UCI GUI may); checkmate, stalemate and insufficient material stay over."""
        waived = state.done & (state.reason >= TERMINATIONS.index("seventyfive_moves"))
        if not bool(waived.any()):
            return state
        p = state.player
        us, them = ce.mover_view(state.pieces, p, self.size)
        ep = torch.where(state.ep >= 0, state.ep ^ (56 * p), -1)
        legal, _, _ = cm.generate(us, them, ce.swap_rights(state.castling, p), ep, self.size)
        return replace(
            state,
            legal=torch.where(waived[:, None], legal, state.legal),
            done=state.done & ~waived,
            reason=torch.where(waived, 0, state.reason).to(torch.int8),
        )

    def legal_mask(self, state: ChessState) -> Tensor:
        """BoolTensor[B, 4672]: legal actions; all False for finished games."""
        return ce.dense_mask(state.legal)

    def random_actions(self, state: ChessState, generator: torch.Generator | None = None) -> Tensor:
        """LongTensor[B]: a uniformly random legal action per game (0 for finished games), drawn from the legal
        bitboards without building the [B, 4672] mask."""
        count8, nth = ce.byte_tables(state.legal.device)
        legal = state.legal
        b = legal.shape[0]
        counts = cm.popcount(legal)  # [B, 73]
        running = counts.cumsum(1)
        total = running[:, -1]
        k = (torch.rand(b, generator=generator, device=legal.device) * total).long()
        k = torch.minimum(k, (total - 1).clamp(min=0))[:, None]
        plane = torch.searchsorted(running, k + 1).clamp(max=cm.PLANES - 1)  # [B, 1]
        k = k - (running.gather(1, plane) - counts.gather(1, plane))  # the k-th set bit of that plane
        raw = legal.gather(1, plane).view(torch.uint8).view(b, 8).long()  # its 8 bytes: ranks 0..7
        byte_counts = count8[raw]
        byte_running = byte_counts.cumsum(1)
        rank = torch.searchsorted(byte_running, k + 1).clamp(max=7)
        k = k - (byte_running.gather(1, rank) - byte_counts.gather(1, rank))
        file = nth[raw.gather(1, rank), k.clamp(0, 7)]
        action = ((file * 8 + rank) * cm.PLANES + plane)[:, 0]
        return torch.where(total > 0, self._external(action), 0)

    def perft(self, state: ChessState, depth: int, *, chunk: int = 65536) -> list[dict[int, int]]:
        """Leaf counts of the move generator's tree, per legal root move of every game (``go perft`` "divide").

        Counts legal move sequences of `depth` plies with the rules of chess only (the claims and the length cap
        do not stop a perft, as in every perft table); finished games still count their legal moves.

        Returns:
            for each game, {root action: leaves below it} (empty for depth 0 or no legal move).
        """
        if depth < 1:
            return [{} for _ in range(state.player.shape[0])]
        p, n = state.player, self.size
        us, them = ce.mover_view(state.pieces, p, n)
        rights = ce.swap_rights(state.castling, p)
        ep = torch.where(state.ep >= 0, state.ep ^ (56 * p), -1)
        legal, _, _ = cm.generate(us, them, rights, ep, n)
        games, roots = ce.dense_mask(legal).nonzero(as_tuple=True)
        if depth == 1:
            counts = torch.ones_like(roots)
        else:
            m = cm.make_move(us[games], them[games], rights[games], ep[games], roots, p[games], n)
            child = (
                cm.flip(m.them, n),
                cm.flip(m.us, n),
                ce.swap_rights(m.rights, torch.ones_like(roots)),
                torch.where(m.ep >= 0, m.ep ^ 56, -1),
            )
            counts = ce.perft_counts(*child, depth - 1, chunk, n)
        out: list[dict[int, int]] = [{} for _ in range(state.player.shape[0])]
        for g, a, c in zip(games.tolist(), self._external(roots).tolist(), counts.tolist()):
            out[g][a] = c
        return out

    def outcome(self, state: ChessState) -> tuple[Tensor, Tensor]:
        """(done[B], value[B]) with value in {-1, 0, +1} for the player to move; 0 while not done."""
        return outcome_value(state.done, state.winner, state.player)

    def termination(self, state: ChessState) -> list[str]:
        """Why each game ended ("" while running): a name of TERMINATIONS (python-chess's Termination names in
        lower case, plus "max_moves")."""
        return [TERMINATIONS[r] for r in state.reason.tolist()]

    def planes(self, state: ChessState) -> Tensor:
        """FloatTensor[B, 119, 8, 8] from the view of the player to move (see the module docstring)."""
        b, device = state.player.shape[0], state.player.device
        boards = torch.cat([state.pieces[:, None], state.past], 1)  # [B, 8, 12]
        black = (state.player == 1)[:, None, None]
        w, k = boards[..., :6], boards[..., 6:]
        mine = torch.where(black, torch.cat([cm.flip(k), cm.flip(w)], -1), boards)
        bits = (mine.contiguous().view(torch.uint8).view(b, 8, 12, 8, 1) & cm.tables(device).byte_bits) != 0
        pieces = bits.flip(3)  # [B, 8, 12, 8 rows (rank 8 first), 8 files]
        reps = torch.cat([state.rep[:, None], state.past_rep], 1)  # [B, 8]
        rep_planes = torch.stack([reps >= 2, reps >= 3], 2)[..., None, None].expand(b, 8, 2, 8, 8)
        history = torch.cat([pieces, rep_planes], 2).reshape(b, 112, 8, 8)
        rights = ce.swap_rights(state.castling, state.player)
        scalars = torch.stack(
            [
                (state.player == 0).float(),
                (state.moves.float() / self.max_moves).clamp(max=1.0),
                *[((rights >> i) & 1).float() for i in range(4)],
                (state.halfmove.float() / 100.0).clamp(max=1.0),
            ],
            1,
        )
        return torch.cat([history.float(), scalars[:, :, None, None].expand(b, 7, 8, 8)], 1)

    def symmetries(self) -> list[Symmetry]:
        """Only the identity: castling and the pawns' direction break every mirror image of the board."""
        return [(lambda x: x, torch.arange(self.num_actions))]

    # --------------------------------------------------------------------------------------------- notation
    def move_to_uci(self, state: ChessState, i: int, action: int) -> str:
        """The UCI text of action `action` in game i ("e2e4", "e7e8q", castling "e1g1")."""
        n = self.size
        internal = int(self._internal(torch.tensor([int(action)]))[0]) if 0 <= int(action) < self.num_actions else -1
        frm, to, promo = move_of(internal) if internal >= 0 else (0, -1, "")
        if not (0 <= to < 64 and to % 8 < n and to // 8 < n):
            raise ValueError(f"action {action} leaves the board")
        black = int(state.player[i]) == 1

        def absolute(sq: int) -> int:
            return cm.mirror_square(sq, n) if black else sq

        if not promo and to // 8 == n - 1 and frm // 8 == n - 2 and self._piece_at(state, i, absolute(frm)) == "p":
            promo = "q"
        return square_name(absolute(frm)) + square_name(absolute(to)) + promo

    def uci_to_action(self, state: ChessState, i: int, text: str) -> int:
        """The action id of UCI move text in game i (legality is not checked here).

        Raises:
            ValueError: text that is no move in UCI notation, or a move no piece could make.
        """
        t = text.strip()
        if len(t) not in (4, 5) or (len(t) == 5 and t[4] not in "qrbn"):
            raise ValueError(f"bad UCI move {text!r}")
        n = self.size
        try:
            frm, to = parse_square(t[:2], n), parse_square(t[2:4], n)
        except ValueError as e:
            raise ValueError(f"bad UCI move {text!r}: {e}") from None
        pawn = self._piece_at(state, i, frm) == "p"
        if int(state.player[i]) == 1:
            frm, to = cm.mirror_square(frm, n), cm.mirror_square(to, n)
        try:
            internal = action_of(frm, to, t[4:], pawn, n)
        except ValueError as e:
            raise ValueError(f"bad UCI move {text!r}: {e}") from None
        return int(self._external(torch.tensor([internal]))[0])

    def _piece_at(self, state: ChessState, i: int, sq: int) -> str:
        """The piece letter (lower case, either colour) on absolute square sq of game i, '' if empty."""
        for k, bb in enumerate(state.pieces[i].tolist()):
            if bb >> sq & 1:
                return "pnbrqk"[k % 6]
        return ""

    # ---------------------------------------------------------------------------------------------- drawing
    def draw(self, surface: Any, state: ChessState, i: int) -> None:
        """Draw game i from white's side (envs.chess_draw; the board's size from the FEN), the last move's squares
        shaded, a king in check glowing red."""
        shades = {}
        n = self.size
        last = int(state.last_action[i])
        if last >= 0:
            frm, to, _ = move_of(int(self._internal(torch.tensor([last]))[0]))
            if int(state.player[i]) == 0:  # the last mover (black) is the one not to move
                frm, to = cm.mirror_square(frm, n), cm.mirror_square(to, n)
            shades = {square_name(sq): (205, 210, 106, 170) for sq in (frm, to % 64)}
        king = state.pieces[i, 5 + 6 * int(state.player[i])]
        check = square_name(int(king).bit_length() - 1) if bool(state.check[i]) else None  # the mover's king
        draw_board(surface, self.to_fen(state)[i], shades=shades, check=check)

    def action_rect(self, action: int, size: tuple[int, int]) -> Any:
        """The pygame.Rect of the from-square of `action` when white is to move (the board is drawn from white's
        side), or None if out of range. Several actions share a square: a chess move is chosen by two squares (the
        viewer's arena.viewer.chessboard), so `action_at` finds no action."""
        from envs.base import grid_rect

        if not 0 <= int(action) < self.num_actions:
            return None
        frm, _, _ = move_of(int(self._internal(torch.tensor([int(action)]))[0]))
        n = self.size
        return grid_rect((n - 1 - frm // 8) * n + frm % 8, size, self.board_shape)

    def action_at(self, pos: tuple[int, int], size: tuple[int, int]) -> int | None:
        """None: a square does not name one action (see action_rect)."""
        return None

    # traits (envs.traits) ---------------------------------------------------------------------------------------

    side_names = ("white", "black")
    side_colors = ((235, 235, 235), (25, 25, 25))
    record_formats = ("pgn",)
    engine_protocols = ("uci",)
    variant = ""  # UCI_Variant / PGN Variant: standard chess
    option_specs = {"max_moves": OptionSpec(int, 512, 1, None, help="plies after which a game is drawn")}

    def move_to_text(self, state: ChessState, i: int, action: int) -> str:
        """The UCI text of `action` in game i ("e2e4")."""
        return self.move_to_uci(state, i, action)

    def text_to_move(self, state: ChessState, i: int, text: str) -> int:
        """The action of UCI move text ("e2e4") or of an action id ("877") in game i; ValueError naming the text."""
        t = text.strip()
        if t.isascii() and t.isdigit():
            if not 0 <= int(t) < self.num_actions:
                raise ValueError(f"{text!r}: action ids are 0..{self.num_actions - 1}")
            return int(t)
        return self.uci_to_action(state, i, t)

    def heuristic(self, state: ChessState) -> Tensor:
        """FloatTensor[B] in (-1, 1): tanh(centipawns / CP_SCALE), material and mobility for the player to move."""
        return torch.tanh(centipawns(state, self.size).float() / CP_SCALE)


@functools.cache
def _start_cached(cls: type, device: torch.device) -> ChessState:
    return cls().from_fen(cls.start_fen, device)


def _start(game: Chess, device: torch.device) -> ChessState:
    """The start position (max_moves does not change it, so one per class and device)."""
    return _start_cached(type(game), device)


PIECE_CP = (100, 320, 330, 500, 900, 0)  # pawn, knight, bishop, rook, queen, king
MOBILITY_CP = 5
CP_SCALE = 1000.0  # cp at which the heuristic's value is tanh(1) = 0.76


def centipawns(state: ChessState, size: int = 8) -> Tensor:
    """LongTensor[B]: material and mobility balance in centipawns for the player to move (a size x size board: 8 for
    chess, 5 for Gardner minichess). The opponent's mobility is counted as if it were to move (a null move: no
    castling or en passant)."""
    us, them = ce.mover_view(state.pieces, state.player, size)
    weights = torch.tensor(PIECE_CP, device=us.device)
    material = ((cm.popcount(us) - cm.popcount(them)) * weights).sum(1)
    mine = cm.popcount(state.legal).sum(1)
    theirs_legal, _, _ = cm.generate(
        cm.flip(them, size), cm.flip(us, size), torch.zeros_like(state.player), -torch.ones_like(state.player), size
    )
    theirs = cm.popcount(theirs_legal).sum(1)
    return material + MOBILITY_CP * (mine - theirs)
