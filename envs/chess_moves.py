"""Chess move generation and move making on batched bitboards (the rules core of envs.chess).

Dimension letters: B positions, P = 73 move planes, D = 8 directions laid out as [2, 4] (see below).

Bitboards are int64 tensors with bit `sq = rank * 8 + file` set for an occupied square (a1 = 0, h1 = 7, h8 = 63;
bit 63 is the sign bit, so every right shift is masked to make it logical). Everything here works in the mover's
view: the board of the player to move, mirrored top to bottom for black (a byte swap of every bitboard), so the
mover's pawns always move up and the mover always castles on rank 1. A side is six bitboards [B, 6]: pawns, knights,
bishops, rooks, queens, king.

Smaller boards (Gardner's 5x5 minichess, `size=5`) use the same bitboards: the board is the lower left size x size
corner (files a.., ranks 1..), every step is masked to it, so sliders stop at its edge; the mover's view mirrors
rank r to size - 1 - r; pawns promote on rank `size`; the double pawn step (hence en passant) and castling exist
only on the 8x8 board (on a smaller board the castling rights are always 0 and the en passant square -1).

Legal moves are returned the way PettingZoo's chess_v6 numbers its actions: 73 planes, each a bitboard of the
from-squares whose move of that plane is legal. Planes 0..55 are queen moves, (distance - 1) * 8 + direction with
the directions SW, W, NW, S, N, SE, E, NE (file step, rank step in lexicographic order); a pawn move to the last rank
in a queen plane promotes to a queen; castling is the king's two-square move (planes 9 and 14). Planes 56..63 are
knight moves in the order (-2,-1), (-2,1), (-1,-2), (-1,2), (1,-2), (1,2), (2,-1), (2,1). Planes 64..72 are
underpromotions, 64 + 3 * (file step + 1) + (0 knight, 1 bishop, 2 rook). The action id of a plane p and a
from-square (file f, rank r) in the mover's view is (f * 8 + r) * 73 + p.

How legality is made cheap (no move is tried and taken back): rays from the mover's king through the occupancy give
the checkers and, through one own piece to an enemy slider, the pinned pieces and the line each one is pinned on. A
pinned piece moves only along its line; in single check every move but the king's must land on the checking ray or
the checker; in double check only the king moves; the king only moves to squares the opponent does not attack with
the king taken off the board. En passant, which can uncover a check along the rank, is tested directly: the rays
from the king are cast again over the board after the capture. Directions run in two halves of four, the shifts to
higher bits N, NE, E, NW and their opposites S, SW, W, SE, so a direction's opposite is the same slot in the other
half; sliding attacks are Kogge-Stone fills over all directions at once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "popcount",
    "PAWN",
    "KNIGHT",
    "BISHOP",
    "ROOK",
    "QUEEN",
    "KING",
    "PLANES",
    "Tables",
    "tables",
    "i64",
    "flip",
    "mirror_square",
    "board_mask",
    "or_reduce",
    "generate",
    "make_move",
    "Moved",
]

PAWN, KNIGHT, BISHOP, ROOK, QUEEN, KING = range(6)
PLANES = 73


def i64(x: int) -> int:
    """A 64-bit pattern as a signed int64 value."""
    x &= (1 << 64) - 1
    return x - (1 << 64) if x >= 1 << 63 else x


FILE_A = 0x0101010101010101
FILE_H = FILE_A << 7
RANK_3 = 0xFF << 16
RANK_7 = 0xFF << 48
ALL = (1 << 64) - 1

# directions (file step, rank step), [2, 4]: shifts to higher bits first, the opposite direction in the same slot
_DIRS = [[(0, 1), (1, 1), (1, 0), (-1, 1)], [(0, -1), (-1, -1), (-1, 0), (1, -1)]]
_KNIGHTS = [[(-2, 1), (2, 1), (-1, 2), (1, 2)], [(2, -1), (-2, -1), (1, -2), (-1, -2)]]
# PettingZoo's order of the queen directions and knight moves, as indices into the flattened [2, 4] layouts
_QUEEN_ORDER = [5, 6, 3, 4, 0, 7, 2, 1]
_KNIGHT_ORDER = [5, 0, 7, 2, 6, 3, 4, 1]
N_SLOT, NE_SLOT, E_SLOT, NW_SLOT = 0, 1, 2, 3  # slots in the first half (their opposites in the second)


def board_mask(size: int) -> int:
    """The squares of a size x size board in the lower left corner of the 8x8 bitboard."""
    return sum(((1 << size) - 1) << (8 * r) for r in range(size))


def _wrap(dx: int, size: int = 8) -> int:
    """Squares of the board a step with file change dx may land on (no wrap around the board's edge)."""
    m = board_mask(size)
    for f in range(abs(dx)):
        m &= ~((FILE_A << f) if dx > 0 else (FILE_H >> f))
    return m & ALL


def _plane_moves() -> tuple[list[int], list[int], list[int]]:
    """(file step, rank step, underpromotion piece or -1) of each of the 73 planes."""
    order = [(x, y) for x in (-1, 0, 1) for y in (-1, 0, 1) if (x, y) != (0, 0)]
    dx, dy, promo = [], [], []
    for dist in range(1, 8):
        for x, y in order:
            dx.append(x * dist), dy.append(y * dist), promo.append(-1)
    for x, y in [(x, y) for x in range(-2, 3) for y in range(-2, 3) if abs(x) + abs(y) == 3]:
        dx.append(x), dy.append(y), promo.append(-1)
    for x in (-1, 0, 1):
        for piece in (KNIGHT, BISHOP, ROOK):
            dx.append(x), dy.append(1), promo.append(piece)
    return dx, dy, promo


_LOW = [i64((1 << (64 - n)) - 1) for n in range(65)]  # _LOW[n]: the bits a logical right shift by n keeps


def _shift_params(t: Any, step: list[list[int]], k: int, wrap: list[list[int]]) -> tuple[Tensor, Tensor, Tensor]:
    """(left, right, mask) [2, 4] for a shift of k steps along each slot's direction (k < 0: against it)."""
    bits = [[k * d for d in half] for half in step]  # > 0: towards higher bits
    left = [[max(b, 0) for b in half] for half in bits]
    right = [[max(-b, 0) for b in half] for half in bits]
    mask = [[i64(_LOW[r] & w) for r, w in zip(rh, wh)] for rh, wh in zip(right, wrap)]
    return t(left), t(right), t(mask)


@dataclass(frozen=True)
class Tables:
    """Constant tensors on one device (see `tables`)."""

    size: int  # the board's side (8, or 5 for Gardner)
    board: int  # the board's squares (an int64 value)
    promote_from: int  # the rank pawns promote from (int64 value)
    double_from: int  # the rank a double pawn step passes over (0: none on this board)
    wrap: Tensor  # int64 [2, 4]: squares a step in each direction may land on
    orth: Tensor  # bool [2, 4]: rook directions
    fill: tuple[tuple[Tensor, Tensor, Tensor], ...]  # shifts by 1, 2, 4 steps (no wrap mask): (left, right, mask)
    one: tuple[Tensor, Tensor, Tensor]  # one step, pieces leaving the board dropped
    back: tuple[Tensor, Tensor, Tensor]  # [7, 2, 4]: 1..7 steps against each direction
    hop: tuple[Tensor, Tensor, Tensor]  # knight moves
    hop_back: tuple[Tensor, Tensor, Tensor]  # knight moves taken back
    plane_delta: Tensor  # long [73]: to-square minus from-square of each plane (mover's view)
    plane_promo: Tensor  # long [73]: underpromotion piece of each plane, -1 for none
    queen_order: Tensor  # long [8]
    knight_order: Tensor  # long [8]
    bit: Tensor  # int64 [64]: 1 << sq
    zobrist: Tensor  # int64 [2 * 6 * 64 + 16 + 8 + 1]: pieces (colour, piece, square), castling, ep file, black to move
    byte_bits: Tensor  # uint8 [8]: 1, 2, 4, ..., 128


@functools.cache
def tables(device: torch.device, size: int = 8) -> Tables:
    """The tables on `device` for a size x size board, built once per device and size (never modified)."""

    def t(x: list, dtype: torch.dtype = torch.long) -> Tensor:
        return torch.tensor(x, dtype=dtype, device=device)

    step = [[dy * 8 + dx for dx, dy in half] for half in _DIRS]  # signed bit offsets
    kstep = [[dy * 8 + dx for dx, dy in half] for half in _KNIGHTS]
    dx, dy, promo = _plane_moves()
    gen = torch.Generator().manual_seed(20261127)
    zobrist = torch.randint(-(2**63), 2**63 - 1, (2 * 6 * 64 + 16 + 8 + 1,), generator=gen, dtype=torch.long)
    zobrist[2 * 6 * 64] = 0  # no castling rights: key 0, so a bare board hashes to the XOR of its pieces
    return Tables(
        size=size,
        board=i64(board_mask(size)),
        promote_from=i64(0xFF << (8 * (size - 2))),
        double_from=i64(RANK_3) if size == 8 else 0,
        wrap=t([[i64(_wrap(x, size)) for x, _ in half] for half in _DIRS]),
        orth=t([[x == 0 or y == 0 for x, y in half] for half in _DIRS], torch.bool),
        fill=tuple(_shift_params(t, step, k, [[ALL] * 4] * 2) for k in (1, 2, 4)),
        one=_shift_params(t, step, 1, [[_wrap(x, size) for x, _ in half] for half in _DIRS]),
        back=tuple(torch.stack(z) for z in zip(*(_shift_params(t, step, -k, [[ALL] * 4] * 2) for k in range(1, 8)))),
        hop=_shift_params(t, kstep, 1, [[_wrap(x, size) for x, _ in half] for half in _KNIGHTS]),
        hop_back=_shift_params(t, kstep, -1, [[ALL] * 4] * 2),
        plane_delta=t([y * 8 + x for x, y in zip(dx, dy)]),
        plane_promo=t(promo),
        queen_order=t(_QUEEN_ORDER),
        knight_order=t(_KNIGHT_ORDER),
        bit=t([i64(1 << s) for s in range(64)]),
        zobrist=zobrist.to(device),
        byte_bits=t([1 << i for i in range(8)], torch.uint8),
    )


# ---------------------------------------------------------------------------------------------------- bit helpers
def flip(x: Tensor, size: int = 8) -> Tensor:
    """Bitboards mirrored top to bottom (rank r -> size - 1 - r): a byte swap of every int64 of x [...], then on a
    smaller board a shift down by the 8 - size empty ranks (logical: bit 63 is never set on such a board)."""
    y = x.contiguous().view(torch.uint8).view(*x.shape, 8).flip(-1).contiguous().view(torch.long).view(x.shape)
    return y if size == 8 else y >> (8 * (8 - size))


def mirror_square(sq: Tensor | int, size: int = 8) -> Tensor | int:
    """Square numbers (rank * 8 + file) mirrored top to bottom on a size x size board."""
    return (size - 1 - sq // 8) * 8 + sq % 8


def popcount(x: Tensor) -> Tensor:
    """The number of set bits of every int64 of x (SWAR: bit pairs, nibbles, bytes, then one multiply)."""
    x = x - ((x >> 1) & 0x5555555555555555)
    x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333)
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0F
    return (x * 0x0101010101010101) >> 56


def or_reduce(x: Tensor, dims: int = 1) -> Tensor:
    """Bitwise OR over the last `dims` dimensions of x."""
    x = x.reshape(*x.shape[: x.dim() - dims], -1)
    while x.shape[-1] > 1:
        n = x.shape[-1]
        half = n // 2
        y = x[..., :half] | x[..., half : 2 * half]
        x = torch.cat([y, x[..., 2 * half :]], -1) if n % 2 else y
    return x[..., 0]


def _shift(x: Tensor, params: tuple[Tensor, Tensor, Tensor]) -> Tensor:
    """x [..., 2, 4] shifted by `params` (left, right, mask): ((x << left) >> right) & mask. Each slot shifts one
    way (the other amount is 0); the mask makes a right shift logical and drops squares that wrapped around."""
    left, right, mask = params
    return ((x << left) >> right) & mask


def _step(tb: Tables, x: Tensor) -> Tensor:
    """One step of x [..., 2, 4] in each slot's direction (pieces stepping off the board vanish)."""
    return _shift(x, tb.one)


def _back(tb: Tables, x: Tensor) -> Tensor:
    """x [..., 7, 2, 4] moved 1..7 steps against each slot's direction (from-squares of targets reached by valid
    steps, so no wrap mask is needed)."""
    return _shift(x, tb.back)


def _rays(tb: Tables, gen: Tensor, empty: Tensor) -> Tensor:
    """Sliding attacks (Kogge-Stone): the squares reached from gen [..., 2, 4] in each slot's direction through
    `empty` (broadcast to gen), up to and including the first occupied square."""
    pro = empty & tb.wrap
    gen = gen | (pro & _shift(gen, tb.fill[0]))
    pro = pro & _shift(pro, tb.fill[0])
    gen = gen | (pro & _shift(gen, tb.fill[1]))
    pro = pro & _shift(pro, tb.fill[1])
    gen = gen | (pro & _shift(gen, tb.fill[2]))
    return _step(tb, gen)


def _knight_hops(tb: Tables, x: Tensor) -> Tensor:
    """x [...] (one bitboard) hopped by each knight move: [..., 2, 4]."""
    return _shift(x[..., None, None], tb.hop)


def _sliders(tb: Tables, side: Tensor) -> Tensor:
    """[B, 2, 4]: the pieces of side [B, 6] that slide in each direction (rooks and queens orthogonally, bishops and
    queens diagonally)."""
    rq = (side[:, ROOK] | side[:, QUEEN])[:, None, None]
    bq = (side[:, BISHOP] | side[:, QUEEN])[:, None, None]
    return torch.where(tb.orth, rq, bq)


def _attacked(tb: Tables, them: Tensor, occ: Tensor) -> Tensor:
    """[B]: squares attacked by `them` (moving down) over occupancy occ [B]."""
    att = or_reduce(_rays(tb, _sliders(tb, them), ~occ[:, None, None]), 2)
    att = att | or_reduce(_knight_hops(tb, them[:, KNIGHT]), 2)
    att = att | or_reduce(_step(tb, them[:, KING, None, None].expand(-1, 2, 4)), 2)
    p = them[:, PAWN]
    return att | ((p >> 7) & _LOW[7] & i64(~FILE_A)) | ((p >> 9) & _LOW[9] & i64(~FILE_H))


# ------------------------------------------------------------------------------------------------ move generation
def generate(us: Tensor, them: Tensor, rights: Tensor, ep: Tensor, size: int = 8) -> tuple[Tensor, Tensor, Tensor]:
    """Legal moves of the mover in the mover's view.

    Args:
        us, them: int64 [B, 6] bitboards of the mover and the opponent (mover's view).
        rights: long [B], the mover's castling rights: 1 king side, 2 queen side (their rights do not matter here).
        ep: long [B], the en passant target square (mover's view, rank 6) or -1.
        size: the board's side (see the module docstring).
    Returns:
        (legal int64 [B, 73] from-square bitboards per move plane, in_check bool [B], ep_legal bool [B]: some en
        passant capture is legal).
    """
    tb = tables(us.device, size)
    b = us.shape[0]
    own, opp = or_reduce(us), or_reduce(them)
    occ = own | opp
    empty = ~occ
    king = us[:, KING]
    their_sl = _sliders(tb, them)  # [B, 2, 4]

    # en passant candidates: the pawns that could capture (NE from ep - 9, NW from ep - 7) and the pawn they take
    ep_bb = torch.where(ep >= 0, tb.bit[ep.clamp(0, 63)], 0)
    ep_ne = (ep_bb >> 9) & i64(~FILE_H) & us[:, PAWN]
    ep_nw = (ep_bb >> 7) & i64(~FILE_A) & us[:, PAWN]
    ep_cap = ep_bb >> 8
    occ3 = torch.stack([occ, (occ ^ ep_ne ^ ep_cap) | ep_bb, (occ ^ ep_nw ^ ep_cap) | ep_bb], 1)  # [B, 3]
    # rays from the king: over the board, and over the board after each en passant capture
    rays3 = _rays(tb, king[:, None, None, None].expand(b, 3, 2, 4), ~occ3[:, :, None, None])  # [B, 3, 2, 4]
    ray = rays3[:, 0]
    ep_hit = or_reduce(rays3[:, 1:] & their_sl[:, None], 2) != 0  # [B, 2]: a slider sees the king after the capture

    knight_chk = or_reduce(_knight_hops(tb, king), 2) & them[:, KNIGHT]
    pawn_chk = (((king << 7) & i64(~FILE_H)) | ((king << 9) & i64(~FILE_A))) & them[:, PAWN]
    slide_chk = ray & their_sl  # [B, 2, 4]
    checkers = or_reduce(slide_chk, 2) | knight_chk | pawn_chk
    in_check = checkers != 0
    double = (checkers & (checkers - 1)) != 0
    block = or_reduce(torch.where(slide_chk != 0, ray, 0), 2) | knight_chk | pawn_chk
    target = torch.where(in_check, torch.where(double, 0, block), -1)  # where non-king moves may land

    # pins: an own piece first on a ray from the king, with an enemy slider of that ray's kind right behind it
    blocker = ray & own[:, None, None]
    xray = _rays(tb, blocker, empty[:, None, None])
    pinned_dir = torch.where((xray & their_sl) != 0, blocker, 0)  # [B, 2, 4]
    pinned = or_reduce(pinned_dir, 2)
    axis = pinned_dir[:, 0] | pinned_dir[:, 1]  # [B, 4]: pieces pinned on each line (a direction and its opposite)
    may_move = ~(pinned[:, None] & ~axis)[:, None, :]  # [B, 1, 4]: pieces that may move along each line

    # sliding moves, distance by distance
    notown_target = (~own & target)[:, None, None]
    cur = _sliders(tb, us) & may_move
    targets = []
    for _ in range(7):
        cur = _step(tb, cur)
        targets.append(cur & notown_target)
        cur = cur & empty[:, None, None]
    slide = _back(tb, torch.stack(targets, 1))  # [B, 7, 2, 4]: from-squares per distance and direction

    # king steps and castling
    attacked = _attacked(tb, them, occ & ~king)
    k_to = _step(tb, king[:, None, None].expand(b, 2, 4)) & (~own & ~attacked)[:, None, None]
    k_from = torch.where(k_to != 0, king[:, None, None], 0)
    k_side = ((rights & 1) != 0) & ((occ & 0x60) == 0) & ((attacked & 0x70) == 0)
    q_side = ((rights & 2) != 0) & ((occ & 0x0E) == 0) & ((attacked & 0x1C) == 0)

    # pawns (the mover's pawns move up)
    p = us[:, PAWN]
    p_up = p & may_move[:, 0, N_SLOT]
    one = (p_up << 8) & empty
    two = ((one & tb.double_from) << 8) & empty & target
    one = one & target
    ne = (p & may_move[:, 0, NE_SLOT]) << 9 & i64(~FILE_A) & opp & target
    nw = (p & may_move[:, 0, NW_SLOT]) << 7 & i64(~FILE_H) & opp & target
    from_one, from_two = (one >> 8) & _LOW[8], (two >> 16) & _LOW[16]
    from_ne, from_nw = (ne >> 9) & _LOW[9], (nw >> 7) & _LOW[7]
    # an en passant capture is legal when no slider sees the king after it and no knight or other pawn gives check
    ep_ok = ~ep_hit & (knight_chk == 0)[:, None] & ((pawn_chk & ~ep_cap) == 0)[:, None]  # [B, 2]
    ep_from_ne = torch.where(ep_ok[:, 0], ep_ne, 0)
    ep_from_nw = torch.where(ep_ok[:, 1], ep_nw, 0)
    ep_legal = (ep_from_ne | ep_from_nw) != 0

    # assemble the queen planes [B, 7, 2, 4]: distance 1 and 2 get the king, pawn and castling moves
    zero = torch.zeros_like(p)
    king_bit = torch.where(k_side | q_side, king, 0)
    near = torch.stack(
        [
            torch.stack(
                [
                    k_from[:, 0, 0] | from_one,
                    k_from[:, 0, 1] | from_ne | ep_from_ne,
                    k_from[:, 0, 2],
                    k_from[:, 0, 3] | from_nw | ep_from_nw,
                ],
                1,
            ),
            k_from[:, 1],
        ],
        1,
    )  # [B, 2, 4]
    second = torch.stack(
        [
            torch.stack([from_two, zero, torch.where(k_side, king_bit, 0), zero], 1),
            torch.stack([zero, zero, torch.where(q_side, king_bit, 0), zero], 1),
        ],
        1,
    )
    slide = torch.cat([(slide[:, 0] | near)[:, None], (slide[:, 1] | second)[:, None], slide[:, 2:]], 1)
    queen = slide.view(b, 7, 8).index_select(2, tb.queen_order).reshape(b, 56)

    # knights (a pinned knight never moves) and underpromotions
    k_to_n = _knight_hops(tb, us[:, KNIGHT] & ~pinned) & notown_target  # [B, 2, 4] targets
    knight = _shift(k_to_n, tb.hop_back)
    knight = knight.reshape(b, 8).index_select(1, tb.knight_order)
    last = tb.promote_from
    under = torch.stack([from_nw & last, from_one & last, from_ne & last], 1).repeat_interleave(3, 1)  # [B, 9]
    legal = torch.cat([queen, knight, under], 1)
    return legal, in_check, ep_legal


# ------------------------------------------------------------------------------------------------------ move making
@dataclass(frozen=True)
class Moved:
    """The result of `make_move`, still in the mover's view."""

    us: Tensor  # int64 [B, 6]
    them: Tensor  # int64 [B, 6]
    rights: (
        Tensor  # long [B]: castling rights, 1 our king side, 2 our queen side, 4 their king side, 8 their queen side
    )
    ep: Tensor  # long [B]: the square a double pawn step passed over (mover's view), else -1
    zeroing: Tensor  # bool [B]: a pawn move or a capture (resets the halfmove clock)
    key_delta: Tensor  # int64 [B]: XOR into the Zobrist key (pieces, castling rights and side to move)


def make_move(
    us: Tensor, them: Tensor, rights: Tensor, ep: Tensor, action: Tensor, player: Tensor, size: int = 8
) -> Moved:
    """Play action [B] (PettingZoo ids, mover's view) for every row; the action is assumed legal (a garbage action
    gives a garbage position but no error).

    Args:
        us, them: int64 [B, 6] (mover's view).
        rights: long [B], 4 bits as in Moved.rights.
        ep: long [B], the en passant square (mover's view) where an en passant capture is legal, else -1.
        player: long [B], the mover's colour (0 white, 1 black), for the Zobrist key's absolute squares.
        size: the board's side.
    """
    tb = tables(us.device, size)
    a = action.clamp(0, 64 * PLANES - 1)
    sq, plane = a // PLANES, a % PLANES
    frm = (sq % 8) * 8 + sq // 8
    to = (frm + tb.plane_delta[plane]).clamp(0, 63)
    f_bb, t_bb = tb.bit[frm], tb.bit[to]
    kinds = torch.arange(6, device=us.device)
    mine = (us & f_bb[:, None]) != 0  # [B, 6]
    piece = (mine.long() * kinds).sum(1)
    taken = (them & t_bb[:, None]) != 0
    capture = taken.any(1)
    captured = (taken.long() * kinds).sum(1)
    pawn, king = piece == PAWN, piece == KING
    promo = tb.plane_promo[plane]
    new_piece = torch.where(pawn & (to >= 8 * (size - 1)), torch.where(promo >= 0, promo, QUEEN), piece)
    en_passant = pawn & (to == ep)
    ep_bb = torch.where(en_passant, t_bb >> 8, 0)
    castle = king & ((to - frm).abs() == 2)
    king_side = to > frm
    rook_from = torch.where(king_side, 7, 0)
    rook_to = torch.where(king_side, 5, 3)
    rook_bb = torch.where(castle, tb.bit[rook_from] | tb.bit[rook_to], 0)

    is_piece = kinds == piece[:, None]
    new_us = (us ^ torch.where(is_piece & mine, f_bb[:, None], 0)) | torch.where(
        kinds == new_piece[:, None], t_bb[:, None], 0
    )
    new_us = new_us ^ torch.where(kinds == ROOK, rook_bb[:, None], 0)
    new_them = them & ~(t_bb | ep_bb)[:, None]

    touched = f_bb | t_bb
    lost = torch.where(king, 3, 0)
    lost = lost | torch.where((touched & tb.bit[7]) != 0, 1, 0) | torch.where((touched & 1) != 0, 2, 0)
    lost = lost | torch.where((touched & tb.bit[63]) != 0, 4, 0) | torch.where((touched & tb.bit[56]) != 0, 8, 0)
    new_rights = rights & ~lost
    double = pawn & (to - frm == 16)
    new_ep = torch.where(double, frm + 8, -1)

    # Zobrist: (colour, piece, absolute square); colour 0 white; the mover's colour is `player`
    z = tb.zobrist
    black = player == 1
    me, you = player * 6, (1 - player) * 6

    def zp(colour6: Tensor, kind: Tensor, square: Tensor) -> Tensor:
        return z[(colour6 + kind) * 64 + torch.where(black, mirror_square(square, size), square)]

    delta = zp(me, piece, frm) ^ zp(me, new_piece, to)
    delta = delta ^ torch.where(capture, zp(you, captured, to), 0)
    delta = delta ^ torch.where(en_passant, zp(you, torch.zeros_like(piece), to - 8), 0)
    delta = delta ^ torch.where(
        castle, zp(me, torch.full_like(piece, ROOK), rook_from) ^ zp(me, torch.full_like(piece, ROOK), rook_to), 0
    )
    base = 2 * 6 * 64
    delta = delta ^ z[base + _absolute_rights(rights, player)] ^ z[base + _absolute_rights(new_rights, player)]
    delta = delta ^ z[base + 16 + 8]  # side to move
    return Moved(new_us, new_them, new_rights, new_ep, pawn | capture, delta)


def _absolute_rights(rights: Tensor, player: Tensor) -> Tensor:
    """Castling rights bits from the mover's view (ours 1, 2; theirs 4, 8) to white 1, 2 and black 4, 8 (or back)."""
    swapped = ((rights & 3) << 2) | ((rights >> 2) & 3)
    return torch.where(player == 1, swapped, rights)
