"""Shogi (9x9) and minishogi (5x5), batched on tensors: drops, promotion, nifu, uchifuzume, sennichite.

Two players, sente (player 0, moves first, SFEN 'b') and gote (player 1). The move generator works on square boards
in the mover's view (envs.shogi_moves); SFEN and USI text live in envs.shogi_notation and here. It has no loop over
rays or candidate moves: a table maps each line's occupancy to the first piece met from every square along every
direction, and checks, pins and the king's safe steps are read from it, so the legal mask is a few dense passes.

Rules (shogi, as cshogi; minishogi as Fairy-Stockfish's `minishogi` and minishogilib): pieces are dropped from the
hand onto empty squares, except a pawn, lance or knight where it could never move again, or a pawn on a file that
already has the dropper's unpromoted pawn (nifu), or a pawn drop that mates (uchifuzume). Promotion is optional when a
move starts or ends in the promotion zone (the far three ranks; minishogi: the far rank) and forced where the piece
could no longer move (pawn and lance on the last rank, knight on the last two). A king may not be left in check.

Game end (checked in this order, the first one names the reason, see TERMINATIONS):
    "checkmate" and "no_legal_move": the side to move has no legal move, in check or not: it loses;
    "perpetual_check": the position occurs for the fourth time (board, hands and side to move; sennichite) and one
        side gave check with every one of its moves since the first of the four: that side loses;
    "repetition": the fourth occurrence otherwise: a draw in shogi; in minishogi sente loses (Fairy-Stockfish);
    "impasse" (shogi with `impasse=True` only): the side to move can declare by the 27-point rule (CSA and USI's
        `bestmove win`): its king in the far three ranks, not in check, at least 10 of its other pieces there, and
        pieces there plus its hand worth at least 28 points for sente, 27 for gote (rook and bishop 5, others 1):
        the declaring side to move wins;
    "max_moves": `max_moves` plies were played: a draw. 512 by default in shogi, the AlphaZero paper's cap (shogi
        games last about 115 plies, so it rarely ends a real game and bounds self-play), 256 in minishogi.
Outcome: +1 / -1 / 0 for the player to move.

Dimension letters: B games, S = n * n squares, A = P * S actions, C planes, H = W = n.

Actions: pgx's and dlshogi's ids, seen from the side to move: action = plane * S + destination, the destination
square in the mover's view (the board turned 180 degrees for gote: s -> S - 1 - s, with s = (file - 1) * n +
(rank - 1) as cshogi numbers squares), planes 0-9 a move in the direction Up, UpLeft, UpRight, Left, Right, Down,
DownLeft, DownRight, Up2Left, Up2Right (left = towards file 9 for sente), 10-19 the same with promotion, then the
drops. Shogi: 27 planes, A = 2187, drops P L N S B R G; `cshogi.dlshogi.make_move_label(move, turn)` gives the same
id. Minishogi: 25 planes, A = 625, drops P S B R G (the same layout on 5x5; the knight planes are never legal).

Observation planes (the board from the view of the player to move, row 0 its far rank, column 0 file n on its
left), float in [0, 1], AlphaZero's shogi input: for t = 0..7 (the position t plies ago, zeros before the game's
first position) Q planes at Q * t, where with the piece types T (shogi 14: P L N S B R G K +P +L +N +S +B +R;
minishogi 10: P S B R G K +P +S +B +R) and hand types H (shogi 7: P L N S B R G; minishogi 5: P S B R G):
    T planes of the mover's pieces, T of the opponent's, 3 repetition planes (the position had occurred 1, 2, 3
    times before), H planes of the mover's hand counts / the most one can hold, H of the opponent's;
then 1 plane all ones if sente is to move and 1 with plies played / max_moves. Shogi: Q = 45, C = 362 (as the
paper's); minishogi: Q = 33, C = 266.

Symmetries: none (the rook and bishop stand on different sides), so `symmetries()` lists only the identity.

Version history:
    shogi_v0, minishogi_v0: first version.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from envs import shogi_moves as sm
from envs.base import Symmetry, as_actions, check_actions, outcome_value
from envs.shogi_notation import START, SfenPosition, format_sfen, parse_sfen, parse_square, square_name, western
from envs.state import where
from envs.traits import OptionSpec

__all__ = ["Shogi", "Minishogi", "ShogiState", "TERMINATIONS"]

TERMINATIONS = ("", "checkmate", "no_legal_move", "perpetual_check", "repetition", "impasse", "max_moves")
_PAST = 7
_HAND_MAX = (18, 4, 4, 4, 2, 2, 4)
_VALUES = (0.0, 1.0, 3.0, 4.0, 5.0, 8.0, 10.0, 6.0, 0.0, 6.0, 6.0, 6.0, 6.0, 11.0, 13.0, 0.0)  # by piece type
_HAND_VALUES = (1.0, 3.0, 4.0, 5.0, 8.0, 10.0, 6.0)  # hand slots P L N S B R G


@dataclass(frozen=True)
class ShogiState:
    """Batched shogi positions; every field has leading dim B. Squares are absolute (cshogi's numbering)."""

    board: Tensor  # int8 [B, S]: 0 empty, sente 1..14, gote 17..30 (envs.shogi_moves' codes)
    hands: Tensor  # long [B, 2, 7]: sente's and gote's pieces in hand, order P L N S B R G
    player: Tensor  # long [B]: 0 sente, 1 gote to move
    moves: Tensor  # long [B]: plies played in this game
    ply: Tensor  # long [B]: the SFEN move number
    last_action: Tensor  # long [B]: -1 at the start
    legal: Tensor  # bool [B, A]: legal actions; all False once done
    check: Tensor  # bool [B]: the player to move is in check
    key: Tensor  # int64 [B]: hash of board, hands and side to move
    keys: Tensor  # int64 [B, max_moves + 1]: the key of the position after each ply of this game (index = ply)
    checks: Tensor  # bool [B, max_moves + 1]: whether the side to move was in check there
    rep: Tensor  # int8 [B]: how often the current position has occurred (1 the first time)
    past: Tensor  # int8 [B, 7, S]: the boards 1..7 plies ago (0 before the first position)
    past_hands: Tensor  # long [B, 7, 2, 7]
    past_rep: Tensor  # int8 [B, 7]
    done: Tensor  # bool [B]
    winner: Tensor  # long [B]: -1 none or draw, else 0 or 1
    reason: Tensor  # int8 [B]: index into TERMINATIONS, 0 while running


class Shogi:
    """Batched shogi on tensors (CPU or CUDA); see the module docstring.

    Args:
        max_moves: plies after which a game ends as a draw (512 by default).
        impasse: end the game when the side to move can declare a win by the 27-point rule (off by default).
    """

    name = "shogi"
    pass_action = None
    size = 9
    display_name = "Shogi"
    side_names = ("sente", "gote")
    side_colors = ((30, 30, 30), (235, 235, 235))
    opening_plies = 4
    record_formats: tuple[str, ...] = ("kif", "csa")  # envs.shogi_records
    record_encodings = {"kif": "cp932"}  # KIF files are Shift_JIS, as the programs that read them expect
    engine_protocols = ("usi",)
    default_max_moves = 512
    repetition_loser = -1  # the side that loses a plain fourfold repetition (-1: a draw)
    option_specs = {
        "max_moves": OptionSpec(int, 512, low=1, high=100000, help="plies after which the game is a draw"),
        "impasse": OptionSpec(bool, False, help="a side to move that can declare by the 27-point rule wins"),
    }

    def __init__(self, max_moves: int | None = None, impasse: bool = False) -> None:
        default = self.default_max_moves
        max_moves = default if max_moves is None else max_moves
        if isinstance(max_moves, bool) or not isinstance(max_moves, int) or max_moves < 1:
            raise ValueError(f"{self.name}: max_moves must be a positive integer, got {max_moves!r}")
        if isinstance(impasse, str):  # from the command line: true/false, yes/no, 1/0
            impasse = OptionSpec(bool, False).check("impasse", impasse)
        if not isinstance(impasse, bool):
            raise ValueError(f"{self.name}: impasse must be True or False, got {impasse!r}")
        n = self.size
        self.id = f"{self.name}_v0"
        self.max_moves = max_moves
        self.impasse = impasse
        self.options: dict[str, Any] = {} if max_moves == default else {"max_moves": max_moves}
        if impasse:
            self.options["impasse"] = True
        self.board_shape = (n, n)
        self.types = list(range(1, 15)) if n == 9 else [1, 4, 7, 5, 6, 8, 9, 12, 13, 14]
        self.hand_slots = [sm.HAND_ORDER.index(t) for t in sm.DROPS[n]]
        self.num_actions = (20 + len(sm.DROPS[n])) * n * n
        q = 2 * len(self.types) + 3 + 2 * len(self.hand_slots)
        self.planes_shape = (8 * q + 2, n, n)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------------------------------------ positions
    def init(self, batch: int, device: str | torch.device = "cpu") -> ShogiState:
        """B games at the start position on `device`."""
        one = self.from_sfen(START[self.size], device)
        return ShogiState(**{k: v.expand(batch, *v.shape[1:]).clone() for k, v in vars(one).items()})

    def from_sfen(self, sfen: str | list[str], device: str | torch.device = "cpu") -> ShogiState:
        """Positions from SFEN strings (one string: a batch of 1); "startpos" is the start. `moves` starts at 0.

        Raises:
            ValueError: a malformed SFEN (the message names it).
        """
        texts = [sfen] if isinstance(sfen, str) else list(sfen)
        parsed = [parse_sfen(START[self.size] if t.strip() == "startpos" else t, self.size) for t in texts]
        device = torch.device(device)
        b, s = len(parsed), self.size**2
        h = self.max_moves + 1
        return self._finish(
            board=torch.tensor([p.board for p in parsed], dtype=torch.int8, device=device),
            hands=torch.tensor([p.hands for p in parsed], dtype=torch.long, device=device),
            player=torch.tensor([p.player for p in parsed], dtype=torch.long, device=device),
            moves=torch.zeros(b, dtype=torch.long, device=device),
            ply=torch.tensor([p.ply for p in parsed], dtype=torch.long, device=device),
            last_action=torch.full((b,), -1, dtype=torch.long, device=device),
            keys=torch.zeros(b, h, dtype=torch.long, device=device),
            checks=torch.zeros(b, h, dtype=torch.bool, device=device),
            past=torch.zeros(b, _PAST, s, dtype=torch.int8, device=device),
            past_hands=torch.zeros(b, _PAST, 2, 7, dtype=torch.long, device=device),
            past_rep=torch.zeros(b, _PAST, dtype=torch.int8, device=device),
        )

    def to_sfen(self, state: ShogiState) -> list[str]:
        """The SFEN of every position, as cshogi's ``Board.sfen()`` writes it."""
        rows = zip(state.board.tolist(), state.hands.tolist(), state.player.tolist(), state.ply.tolist())
        return [
            format_sfen(SfenPosition(tuple(bd), (tuple(hd[0]), tuple(hd[1])), p, k), self.size) for bd, hd, p, k in rows
        ]

    # ---------------------------------------------------------------------------------------------------- rules
    def _view(self, board: Tensor, hands: Tensor, player: Tensor) -> tuple[Tensor, Tensor]:
        """Board and hands in the view of `player` (turned and colour-swapped for gote); its own inverse."""
        fb, fh = sm.flip(board, hands)
        gote = player == 1
        return torch.where(gote[:, None], fb, board), torch.where(gote[:, None, None], fh, hands)

    def step(self, state: ShogiState, action: Any, *, check: bool = True) -> ShogiState:
        """Play action[b] in every live game b; finished games come back unchanged.

        Args:
            state: B positions.
            action: LongTensor[B] action ids (see the module docstring).
            check: raise IllegalActionError naming the game and action for an out-of-range or illegal action in a
                live game (one host sync). With check=False an illegal action gives an undefined position, no error.
        Returns:
            the new ShogiState (the input is not modified).
        """
        b, device = state.player.shape[0], state.player.device
        if check or not isinstance(action, Tensor) or action.dtype != torch.long:
            action = as_actions(action, b, device)
        a = action.clamp(0, self.num_actions - 1)
        if check:
            ok = (action >= 0) & (action < self.num_actions) & state.legal.gather(1, a[:, None])[:, 0]
            if not bool((ok | state.done).all()):
                check_actions(self.name, action, state.legal, ~state.done)
        p, n = state.player, self.size
        vb, vh = self._view(state.board, state.hands, p)
        nb, nh = sm.make_move(vb, vh, a, n)
        board, hands = self._view(nb, nh, p)
        new = self._finish(
            board=board,
            hands=hands,
            player=1 - p,
            moves=state.moves + 1,
            ply=state.ply + 1,
            last_action=action,
            keys=state.keys,
            checks=state.checks,
            past=torch.cat([state.board[:, None], state.past[:, :-1]], 1),
            past_hands=torch.cat([state.hands[:, None], state.past_hands[:, :-1]], 1),
            past_rep=torch.cat([state.rep[:, None], state.past_rep[:, :-1]], 1),
            view=sm.flip(nb, nh),
        )
        if not bool(state.done.any()):
            return new
        return where(state.done, state, new)

    def _finish(
        self,
        *,
        board: Tensor,
        hands: Tensor,
        player: Tensor,
        moves: Tensor,
        ply: Tensor,
        last_action: Tensor,
        keys: Tensor,
        checks: Tensor,
        past: Tensor,
        past_hands: Tensor,
        past_rep: Tensor,
        view: tuple[Tensor, Tensor] | None = None,
    ) -> ShogiState:
        """The State of a position: legal moves of the player to move, key, repetitions and the game end."""
        n, dev = self.size, board.device
        b, h = board.shape[0], keys.shape[1]
        vb, vh = view if view is not None else self._view(board, hands, player)
        legal, in_check = sm.generate(vb, vh, n)
        key = _hash(board, hands, player)
        rows = torch.arange(b, device=dev)
        at = moves.clamp(max=h - 1)
        keys = keys.clone()
        keys[rows, at] = key
        checks = checks.clone()
        checks[rows, at] = in_check
        same = (keys == key[:, None]).view(torch.uint8)  # this position and its earlier occurrences (later plies: 0)
        rep = same.sum(1, dtype=torch.int32)
        fourfold = rep >= 4
        checked_me, perpetual = _perpetual(keys, checks, moves, key, fourfold)
        can_move = legal.view(b, -1).view(torch.uint8).amax(1) > 0
        reasons = [
            ~can_move & in_check,
            ~can_move,
            perpetual,
            fourfold,
            _can_declare(vb, vh, player, in_check, n) if self.impasse else torch.zeros_like(fourfold),
            moves >= self.max_moves,
        ]
        ended = torch.stack(reasons, 1)
        done = ended.any(1)
        reason = torch.where(done, ended.to(torch.uint8).argmax(1) + 1, 0).to(torch.int8)
        winner = torch.full_like(player, -1)
        winner = torch.where(reason <= 2, 1 - player, winner)
        winner = torch.where(reason == 3, torch.where(checked_me, player, 1 - player), winner)
        winner = torch.where(reason == 4, 1 - self.repetition_loser if self.repetition_loser >= 0 else -1, winner)
        winner = torch.where(reason == 5, player, winner)
        winner = torch.where(done, winner, -1)
        return ShogiState(
            board=board,
            hands=hands,
            player=player,
            moves=moves,
            ply=ply,
            last_action=last_action,
            legal=legal.view(b, -1).index_fill_(0, done.nonzero()[:, 0], False),
            check=in_check,
            key=key,
            keys=keys,
            checks=checks,
            rep=rep.clamp(max=127).to(torch.int8),
            past=past,
            past_hands=past_hands,
            past_rep=past_rep,
            done=done,
            winner=winner,
            reason=reason,
        )

    def legal_mask(self, state: ShogiState) -> Tensor:
        """BoolTensor[B, A]: legal actions; all False for finished games."""
        return state.legal.clone()

    def perft(self, state: ShogiState, depth: int, *, chunk: int = 16384) -> list[dict[int, int]]:
        """Leaf counts of the move generator's tree per legal root move of every game (``go perft`` "divide").

        The game end (repetition, impasse, length) does not stop a perft; finished games still count their moves.

        Returns:
            for each game, {root action: leaves below it} (empty for depth 0 or no legal move).
        """
        b, n = state.player.shape[0], self.size
        if depth < 1:
            return [{} for _ in range(b)]
        vb, vh = self._view(state.board, state.hands, state.player)
        legal, _ = sm.generate(vb, vh, n)
        games, roots = legal.flatten(1).nonzero(as_tuple=True)
        if depth == 1:
            counts = torch.ones_like(roots)
        else:
            cb, ch = sm.make_move(vb[games], vh[games], roots, n)
            counts = sm.perft_counts(*sm.flip(cb, ch), depth - 1, n, chunk)
        out: list[dict[int, int]] = [{} for _ in range(b)]
        for g, a, c in zip(games.tolist(), roots.tolist(), counts.tolist()):
            out[g][a] = c
        return out

    def outcome(self, state: ShogiState) -> tuple[Tensor, Tensor]:
        """(done[B], value[B]) with value in {-1, 0, +1} for the player to move; 0 while not done."""
        return outcome_value(state.done, state.winner, state.player)

    def termination(self, state: ShogiState) -> list[str]:
        """Why each game ended ("" while running): a name of TERMINATIONS."""
        return [TERMINATIONS[r] for r in state.reason.tolist()]

    def planes(self, state: ShogiState) -> Tensor:
        """FloatTensor[B, C, n, n] from the view of the player to move (see the module docstring)."""
        b, n = state.player.shape[0], self.size
        boards = torch.cat([state.board[:, None], state.past], 1)  # [B, 8, S]
        hands = torch.cat([state.hands[:, None], state.past_hands], 1)  # [B, 8, 2, 7]
        gote = (state.player == 1)[:, None, None]
        fb = boards.flip(-1)
        boards = torch.where(gote, torch.where(fb == 0, fb, fb ^ sm.ENEMY), boards)
        hands = torch.where(gote[..., None], hands.flip(2), hands)
        types = torch.tensor(self.types, device=boards.device, dtype=torch.int8)
        own = boards[:, :, None, :] == types[None, None, :, None]  # [B, 8, T, S]
        opp = boards[:, :, None, :] == (types + sm.ENEMY)[None, None, :, None]
        pieces = torch.cat([own, opp], 2).view(b, 8, -1, n, n).transpose(-1, -2).flip(-1)  # [.., rank, n - file]
        reps = torch.cat([state.rep[:, None], state.past_rep], 1)  # [B, 8]
        rep = torch.stack([reps >= 2, reps >= 3, reps >= 4], 2)[..., None, None].expand(b, 8, 3, n, n)
        slots = torch.tensor(self.hand_slots, device=boards.device)
        most = torch.tensor(_HAND_MAX, device=boards.device)[slots].float()
        counts = (hands[..., slots].float() / most).clamp(max=1.0).view(b, 8, -1)[..., None, None]
        steps = torch.cat([pieces.float(), rep.float(), counts.expand(-1, -1, -1, n, n)], 2).view(b, -1, n, n)
        scalars = torch.stack([(state.player == 0).float(), (state.moves.float() / self.max_moves).clamp(max=1.0)], 1)
        return torch.cat([steps, scalars[:, :, None, None].expand(b, 2, n, n)], 1)

    def heuristic(self, state: ShogiState) -> Tensor:
        """FloatTensor[B] in (-1, 1): the material balance for the player to move, tanh(balance / 15), with the
        values P 1, L 3, N 4, S 5, G 6, B 8, R 10, +P/+L/+N/+S 6, +B 11, +R 13; pieces in hand count 10% more."""
        values = torch.tensor(_VALUES, device=state.board.device)
        code = state.board.long()
        worth = values[code & 15] * torch.where(code >= sm.ENEMY, -1.0, 1.0)  # [B, S], sente's view
        hand = torch.tensor(_HAND_VALUES, device=code.device)
        balance = worth.sum(1) + 1.1 * ((state.hands[:, 0] - state.hands[:, 1]).float() * hand).sum(1)
        return torch.tanh(torch.where(state.player == 0, balance, -balance) / 15.0)

    def symmetries(self) -> list[Symmetry]:
        """Only the identity (see the module docstring)."""
        return [(lambda x: x, torch.arange(self.num_actions))]

    # --------------------------------------------------------------------------------------------- notation
    def move_to_usi(self, state: ShogiState, i: int, action: int) -> str:
        """The USI text of action `action` in game i ("7g7f", "8h2b+", "P*5e").

        Raises:
            ValueError: an action out of range, or one whose direction finds no piece of the mover.
        """
        return self._usi(self._view_list(state, i), int(state.player[i]) == 1, int(action))

    def board_usi(self, board: list[int], player: int, action: int) -> str:
        """The USI text of `action` on an absolute board (piece codes, as `ShogiState.board`) with `player` to
        move, without a state (record writers follow a game on a plain list).

        Raises:
            ValueError: as move_to_usi.
        """
        view = [(c ^ sm.ENEMY if c else 0) for c in reversed(board)] if player == 1 else list(board)
        return self._usi(view, player == 1, int(action))

    def legal_usi(self, state: ShogiState, i: int) -> dict[int, str]:
        """{action: USI text} of every legal action of game i."""
        view, gote = self._view_list(state, i), int(state.player[i]) == 1
        return {a: self._usi(view, gote, a) for a in state.legal[i].nonzero()[:, 0].tolist()}

    def _view_list(self, state: ShogiState, i: int) -> list[int]:
        """Game i's board in the mover's view as a list of piece codes."""
        board = state.board[i].tolist()
        return [(c ^ sm.ENEMY if c else 0) for c in reversed(board)] if int(state.player[i]) == 1 else board

    def _usi(self, view: list[int], gote: bool, a: int) -> str:
        n, s = self.size, self.size**2
        if not 0 <= a < self.num_actions:
            raise ValueError(f"action {a} is out of range 0..{self.num_actions - 1}")
        plane, to = divmod(a, s)

        def absolute(sq: int) -> int:
            return s - 1 - sq if gote else sq

        if plane >= 20:
            letter = "PLNSBRGK"[sm.DROPS[n][plane - 20] - 1]
            return f"{letter}*{square_name(absolute(to), n)}"
        frm = self._from_square(view, plane % 10, to)
        if frm is None:
            raise ValueError(f"action {a} moves no piece of the side to move")
        return square_name(absolute(frm), n) + square_name(absolute(to), n) + ("+" if plane >= 10 else "")

    def _from_square(self, view: list[int], d: int, to: int) -> int | None:
        """The mover's-view square a move in direction d to `to` starts from (the first piece walking back)."""
        n = self.size
        df, dr = sm.DIRS[d]
        f, r = divmod(to, n)
        for k in range(1, 2 if d >= 8 else n):
            ff, rr = f - df * k, r - dr * k
            if not (0 <= ff < n and 0 <= rr < n):
                return None
            c = view[ff * n + rr]
            if c:
                return ff * n + rr if 1 <= c <= 14 else None
        return None

    def usi_to_action(self, state: ShogiState, i: int, text: str) -> int:
        """The action id of a legal USI move in game i.

        Raises:
            ValueError: text that is no USI move, or a move that is not legal in game i.
        """
        n, s = self.size, self.size**2
        t = text.strip()
        gote = int(state.player[i]) == 1
        try:
            if len(t) == 4 and t[1] == "*":
                letter = t[0]
                types = [("PLNSBRGK"[x - 1]) for x in sm.DROPS[n]]
                if letter not in types:
                    raise ValueError(f"no drop of {letter!r}")
                to = parse_square(t[2:], n)
                plane = 20 + types.index(letter)
            elif len(t) in (4, 5) and (len(t) == 4 or t[4] == "+"):
                frm, to = parse_square(t[:2], n), parse_square(t[2:4], n)
                if gote:
                    frm = s - 1 - frm
                df, dr = (s - 1 - to if gote else to) // n - frm // n, (s - 1 - to if gote else to) % n - frm % n
                plane = _direction(df, dr, n) + (10 if len(t) == 5 else 0)
            else:
                raise ValueError("expected e.g. 7g7f, 8h2b+ or P*5e")
        except ValueError as e:
            raise ValueError(f"bad USI move {text!r}: {e}") from None
        action = plane * s + (s - 1 - to if gote else to)
        if not bool(state.legal[i, action]) or self.move_to_usi(state, i, action) != t:
            raise ValueError(f"USI move {text!r} is not legal in this position")
        return action

    move_to_text = move_to_usi
    text_to_move = usi_to_action

    def move_name(self, state: ShogiState, i: int, action: int) -> str:
        """The move in Western notation ("P-7f", "Sx3c+", "B*5e"; envs.shogi_notation.western), for move lists."""
        usi = self.move_to_usi(state, i, action)
        return western(state.board[i].tolist(), usi, set(self.legal_usi(state, i).values()), self.size)

    def from_position(self, text: str, device: str | torch.device = "cpu") -> ShogiState:
        """A position from its SFEN (the `from_position` trait: a record's start position)."""
        return self.from_sfen(text, device)

    def position_text(self, state: ShogiState, i: int) -> str:
        """The SFEN of game i (the `position_text` trait)."""
        return self.to_sfen(state)[i]

    # ---------------------------------------------------------------------------------------------- records
    def write_record(self, fmt: str, record: dict) -> str:
        """One game record (arena.records' dict) as KIF or CSA text (envs.shogi_records)."""
        from envs.shogi_records import write_record

        return write_record(self, fmt, record)

    @staticmethod
    def read_records(fmt: str, data: bytes, source: str) -> list[dict]:
        """Every game of a KIF or CSA file's bytes as records (envs.shogi_records; the game, shogi or minishogi,
        from the file)."""
        from envs.shogi_records import read_records

        return read_records(fmt, data, source)

    # ---------------------------------------------------------------------------------------------- drawing
    def draw(self, surface: Any, state: ShogiState, i: int) -> None:
        """Draw game i from sente's side (envs.shogi_draw)."""
        from envs.shogi_draw import draw_position

        draw_position(self, surface, state, i)

    @property
    def draw_aspect(self) -> float:
        """Width / height of a picture of the position: the board, the two hands and the coordinates."""
        from envs.shogi_draw import aspect

        return aspect(self.size)

    def action_rect(self, action: int, size: tuple[int, int]) -> Any:
        """The pygame.Rect of the destination square of `action` when sente is to move, or None if out of range.
        Several actions share a square (a move is chosen by a from-square and a to-square), so `action_at` finds
        no action."""
        from envs.shogi_draw import square_rect

        if not 0 <= int(action) < self.num_actions:
            return None
        return square_rect(self.size, int(action) % self.size**2, size)

    def action_at(self, pos: tuple[int, int], size: tuple[int, int]) -> int | None:
        """None: a square does not name one action (see action_rect)."""
        return None


class Minishogi(Shogi):
    """Batched minishogi (5x5) on tensors: the rules of envs.shogi on the 5x5 board (see the module docstring).

    Args:
        max_moves: plies after which a game ends as a draw (256 by default).
    """

    name = "minishogi"
    size = 5
    display_name = "Minishogi"
    variant = "minishogi"  # its UCI_Variant in Fairy-Stockfish
    default_max_moves = 256
    repetition_loser = 0
    opening_plies = 2
    record_formats = ("kif",)  # CSA has no 5x5 board
    option_specs = {"max_moves": OptionSpec(int, 256, low=1, high=100000, help="plies after which the game is a draw")}

    def __init__(self, max_moves: int | None = None) -> None:
        super().__init__(max_moves)


def _direction(df: int, dr: int, n: int) -> int:
    """The direction plane of a move by (file step, rank step) in the mover's view; ValueError if none."""
    if (df, dr) in ((1, -2), (-1, -2)):
        return 8 if df == 1 else 9
    if (df, dr) == (0, 0) or (df and dr and abs(df) != abs(dr)):
        raise ValueError("no piece moves that way")
    sign = ((df > 0) - (df < 0), (dr > 0) - (dr < 0))
    return sm.DIRS.index(sign)


@functools.cache
def _zobrist(device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    g = torch.Generator().manual_seed(20260)
    board = torch.randint(-(2**62), 2**62, (32, 81), generator=g)
    board[0] = 0
    hand = torch.randint(-(2**62), 2**62, (2, 7, 20), generator=g)
    hand[:, :, 0] = 0
    side = torch.randint(-(2**62), 2**62, (1,), generator=g)
    return board.to(device), hand.to(device), side.to(device)


def _hash(board: Tensor, hands: Tensor, player: Tensor) -> Tensor:
    """Int64[B]: additive Zobrist-style hash of board, hands and side to move (wrapping sums)."""
    zb, zh, zs = _zobrist(board.device)
    s = board.shape[1]
    key = zb.view(-1).index_select(0, ((board.long() & 31) * 81 + torch.arange(s, device=board.device)).view(-1))
    key = key.view(board.shape).sum(1)
    at = torch.arange(14, device=board.device) * 20 + hands.clamp(0, 19).view(-1, 14)  # [B, 14]: (side, slot, count)
    return key + zh.view(-1).index_select(0, at.view(-1)).view(at.shape).sum(1) + player * zs[0]


def _perpetual(keys: Tensor, checks: Tensor, moves: Tensor, key: Tensor, fourfold: Tensor) -> tuple[Tensor, Tensor]:
    """(checked_me, perpetual) BoolTensor[B]: in the games at a fourth occurrence, whether the opponent checked with
    every move since the first occurrence, and whether exactly one side did (the other games: both False)."""
    checked_me, perpetual = torch.zeros_like(fourfold), torch.zeros_like(fourfold)
    rows = fourfold.nonzero()[:, 0]
    if len(rows):
        keys, checks, moves = keys[rows], checks[rows], moves[rows, None]
        idx = torch.arange(keys.shape[1], device=keys.device)[None]
        first = (keys == key[rows, None]).to(torch.uint8).argmax(1)[:, None]
        span = (idx > first) & (idx <= moves)
        mine = span & ((idx - moves) % 2 == 0)  # positions with the current mover to move
        me = (checks | ~mine).all(1)  # the opponent checked with every move
        them = (checks | ~(span & ~mine)).all(1)  # the mover checked with every move
        checked_me[rows], perpetual[rows] = me, me != them
    return checked_me, perpetual


def _can_declare(board: Tensor, hands: Tensor, player: Tensor, in_check: Tensor, n: int) -> Tensor:
    """BoolTensor[B]: the mover (board and hands in its view) can declare a win by the 27-point rule."""
    zone = torch.arange(n * n, device=board.device) % n < 3  # [S]: the far three ranks
    code = board.long()
    mine = (code >= 1) & (code <= 14) & zone
    king_in = ((code == sm.KING) & zone).any(1)
    t = code & 15
    big = (t == sm.BISHOP) | (t == sm.ROOK) | (t == sm.BISHOP + 8) | (t == sm.ROOK + 8)
    others = mine & (t != sm.KING)
    points = (others & big).sum(1) * 5 + (others & ~big).sum(1)
    hand = hands[:, 0]
    points = points + hand[:, 4:6].sum(1) * 5 + hand[:, [0, 1, 2, 3, 6]].sum(1)
    need = torch.where(player == 0, 28, 27)
    return king_in & ~in_check & (others.sum(1) >= 10) & (points >= need)
