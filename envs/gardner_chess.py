"""Gardner minichess (5x5), batched on tensors: the chess rules of envs.chess on a 5x5 board, as pgx's gardner_chess.

Two players, white (player 0, moves first) and black (player 1). Start position (FEN)
``rnbqk/ppppp/5/PPPPP/RNBQK w - - 0 1``: white's rook, knight, bishop, queen and king on a1-e1, pawns on rank 2.
The pieces move as in chess; pawns step one square (no double step, hence no en passant) and promote on rank 5
to a queen, rook, bishop or knight; there is no castling. Check, checkmate and stalemate as in chess. The move
generator is envs.chess_moves with `size=5` (the board is a corner of its bitboards, every step masked to it).

Game end, as pgx's gardner_chess (checked in this order, the first one names the reason): checkmate (the side to
move loses); insufficient material (python-chess's rule, envs.chess_end; on these boards it agrees with OpenSpiel's
that pgx uses: king against king, king and one minor piece against king, or only bishops on one square colour);
stalemate; the fifty-move rule (halfmove clock 100); threefold repetition (the position occurs a third time: pieces
and side to move); and `max_moves` plies (256 by default, as pgx), a draw. Draws end the game at once, with no
look-ahead claim (unlike envs.chess). Outcome: +1 / -1 / 0 for the player to move.

Dimension letters: B games, A = 1225 actions, C = 115 planes, H = W = 5.

Actions: pgx's 5 x 5 x 49: action = from * 49 + plane with from = file * 5 + rank in the mover's view (ranks mirrored
for black: rank r -> 4 - r) and the planes
    0-8    underpromotions, 3 * piece + direction: piece 0 rook, 1 bishop, 2 knight; direction 0 straight, 1 towards
           the e-file, 2 towards the a-file (mover's view);
    9-40   queen moves, 9 + k with (rank step, file step) for k = 0-7: (-4..-1, 0), (1..4, 0); 8-15: (0, -4..-1),
           (0, 1..4); 16-23: (d, d) for d = -4..-1, 1..4; 24-31: (-d, d) for the same d (the rank step first);
    41-48  knight moves, (rank step, file step) = (-1,-2), (1,-2), (-2,-1), (2,-1), (-1,2), (1,2), (-2,1), (2,1);
a pawn reaching rank 5 in a queen plane becomes a queen. `move_to_uci` / `uci_to_action` convert to UCI text
("a2a3", "b4b5r"), the text Fairy-Stockfish's `gardner` variant reads and writes.

Observation planes (from the view of the player to move, the board mirrored for black so the mover plays up; row 0
at the top is the mover's fifth rank, column 0 the a-file), float in [0, 1]:
    for t = 0..7 (the position t plies ago, zeros before the game's first position): 14 planes at 14 * t:
        0-5 the mover's pawns, knights, bishops, rooks, queens, king; 6-11 the opponent's; 12 all ones if that
        position had occurred before (2 times or more), 13 all ones if 3 times or more;
    112: all ones if white is to move; 113: plies played / max_moves; 114: the halfmove clock / 100.

Symmetries: none (the king and queen stand on different files, and pawns move one way): the identity only.

Version history:
    gardner_chess_v0: first version.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import Tensor

from envs import chess_moves as cm
from envs.chess import Chess, ChessState
from envs.chess_notation import GARDNER_START_FEN
from envs.traits import OptionSpec

__all__ = ["GardnerChess", "SIZE", "PLANES", "pgx_move"]

SIZE = 5
PLANES = 49
_UNDER_STEPS = (0, 1, -1)  # file step of the underpromotion directions: straight, towards e, towards a
_UNDER_PIECES = (cm.ROOK, cm.BISHOP, cm.KNIGHT)
# pgx's (rank step, file step) of planes 9..48
_DR = [-4, -3, -2, -1, 1, 2, 3, 4] + [0] * 8 + [-4, -3, -2, -1, 1, 2, 3, 4] + [4, 3, 2, 1, -1, -2, -3, -4]
_DC = [0] * 8 + [-4, -3, -2, -1, 1, 2, 3, 4] * 3
_DR += [-1, 1, -2, 2, -1, 1, -2, 2]
_DC += [-2, -2, -1, -1, 2, 2, 1, 1]
_QUEEN_DIRS = [(x, y) for x in (-1, 0, 1) for y in (-1, 0, 1) if (x, y) != (0, 0)]  # envs.chess_moves' plane order
_KNIGHT_STEPS = [(x, y) for x in range(-2, 3) for y in range(-2, 3) if abs(x) + abs(y) == 3]


def pgx_move(action: int) -> tuple[int, int, int, int, int]:
    """(from file, from rank, file step, rank step, underpromotion piece or -1) of a pgx action id, mover's view."""
    frm, plane = divmod(action, PLANES)
    file, rank = divmod(frm, SIZE)
    if plane < 9:
        piece, direction = divmod(plane, 3)
        return file, rank, _UNDER_STEPS[direction], 1, _UNDER_PIECES[piece]
    return file, rank, _DC[plane - 9], _DR[plane - 9], -1


def _internal_id(action: int) -> int:
    """The 8x8 move-plane id (envs.chess_moves) of a pgx action, or -1 where the move leaves the board."""
    file, rank, dx, dy, under = pgx_move(action)
    if not (0 <= file + dx < SIZE and 0 <= rank + dy < SIZE) or (under >= 0 and rank != SIZE - 2):
        return -1
    base = (file * 8 + rank) * cm.PLANES
    if under >= 0:
        return base + 64 + 3 * (dx + 1) + (cm.KNIGHT, cm.BISHOP, cm.ROOK).index(under)
    if (dx, dy) in _KNIGHT_STEPS:
        return base + 56 + _KNIGHT_STEPS.index((dx, dy))
    dist = max(abs(dx), abs(dy))
    return base + (dist - 1) * 8 + _QUEEN_DIRS.index((dx // dist, dy // dist))


@functools.cache
def _maps(device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    """(internal id of each pgx action [1225] (-1: off the board), pgx id of each internal id [4672] (-1: none),
    index of each pgx action's bit in the unpacked legal bitboards [73 * 64 + 1] (73 * 64: an always-0 pad))."""
    to_internal = torch.tensor([_internal_id(a) for a in range(SIZE * SIZE * PLANES)], dtype=torch.long)
    to_pgx = torch.full((64 * cm.PLANES,), -1, dtype=torch.long)
    valid = to_internal >= 0
    to_pgx[to_internal[valid]] = torch.arange(SIZE * SIZE * PLANES)[valid]
    sq, plane = to_internal // cm.PLANES, to_internal % cm.PLANES
    bit = plane * 64 + (sq % 8) * 8 + sq // 8  # the bitboards' bit: rank * 8 + file
    bit = torch.where(valid, bit, 64 * cm.PLANES)
    return to_internal.to(device), to_pgx.to(device), bit.to(device)


class GardnerChess(Chess):
    """Batched Gardner 5x5 minichess (CPU or CUDA): the chess rules of envs.chess on a 5x5 board with pgx's action
    ids and game end; see the module docstring.

    Args:
        max_moves: plies after which a game ends as a draw (256 by default, as pgx).
    """

    name = "gardner_chess"
    size = SIZE
    start_fen = GARDNER_START_FEN
    lookahead_claims = False

    def __init__(self, max_moves: int = 256) -> None:
        if isinstance(max_moves, bool) or not isinstance(max_moves, int) or max_moves < 1:
            raise ValueError(f"gardner_chess: max_moves must be a positive integer, got {max_moves!r}")
        self.id = "gardner_chess_v0"
        self.max_moves = max_moves
        self.options: dict[str, Any] = {} if max_moves == 256 else {"max_moves": max_moves}
        self.board_shape = (SIZE, SIZE)
        self.num_actions = SIZE * SIZE * PLANES
        self.planes_shape = (115, SIZE, SIZE)

    def __repr__(self) -> str:
        return "GardnerChess()" if self.max_moves == 256 else f"GardnerChess(max_moves={self.max_moves})"

    # -------------------------------------------------------------------------------------------- action ids
    def _internal(self, action: Tensor) -> Tensor:
        """The 8x8 move-plane ids of pgx action ids (-1 for a move off the board)."""
        return _maps(action.device)[0][action.clamp(0, self.num_actions - 1)]

    def _external(self, internal: Tensor) -> Tensor:
        """The pgx action ids of 8x8 move-plane ids of legal moves."""
        return _maps(internal.device)[1][internal]

    def _is_legal(self, state: ChessState, action: Tensor) -> Tensor:
        """BoolTensor[B]: action[b] is in range and legal."""
        in_range = (action >= 0) & (action < self.num_actions)
        internal = self._internal(action)
        return in_range & (internal >= 0) & super()._is_legal(state, internal.clamp(min=0))

    def legal_mask(self, state: ChessState) -> Tensor:
        """BoolTensor[B, 1225]: legal actions; all False for finished games."""
        legal = state.legal
        b = legal.shape[0]
        bits = (legal.contiguous().view(torch.uint8).view(b, cm.PLANES * 8, 1) & cm.tables(legal.device).byte_bits) != 0
        bits = torch.cat([bits.view(b, cm.PLANES * 64), bits.new_zeros(b, 1)], 1)
        return bits[:, _maps(legal.device)[2]]

    # ---------------------------------------------------------------------------------------------- network input
    def planes(self, state: ChessState) -> Tensor:
        """FloatTensor[B, 115, 5, 5] from the view of the player to move (see the module docstring)."""
        b, n, device = state.player.shape[0], SIZE, state.player.device
        boards = torch.cat([state.pieces[:, None], state.past], 1)  # [B, 8, 12]
        black = (state.player == 1)[:, None, None]
        w, k = boards[..., :6], boards[..., 6:]
        mine = torch.where(black, torch.cat([cm.flip(k, n), cm.flip(w, n)], -1), boards)
        bits = (mine.contiguous().view(torch.uint8).view(b, 8, 12, 8, 1) & cm.tables(device).byte_bits) != 0
        pieces = bits[:, :, :, :n, :n].flip(3)  # [B, 8, 12, 5 rows (rank 5 first), 5 files]
        reps = torch.cat([state.rep[:, None], state.past_rep], 1)  # [B, 8]
        rep_planes = torch.stack([reps >= 2, reps >= 3], 2)[..., None, None].expand(b, 8, 2, n, n)
        history = torch.cat([pieces, rep_planes], 2).reshape(b, 112, n, n)
        scalars = torch.stack(
            [
                (state.player == 0).float(),
                (state.moves.float() / self.max_moves).clamp(max=1.0),
                (state.halfmove.float() / 100.0).clamp(max=1.0),
            ],
            1,
        )
        return torch.cat([history.float(), scalars[:, :, None, None].expand(b, 3, n, n)], 1)

    def symmetries(self) -> list:
        """Only the identity (see the module docstring)."""
        return [(lambda x: x, torch.arange(self.num_actions))]

    # traits (envs.traits)
    variant = "gardner"  # UCI_Variant / PGN Variant
    option_specs = {"max_moves": OptionSpec(int, 256, 1, None, help="plies after which a game is drawn")}
