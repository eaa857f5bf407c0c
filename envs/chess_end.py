"""The end of a chess game and the helpers around the move generator (part of envs.chess): the legal mask and
random moves from the legal bitboards, perft, python-chess's insufficient material, the two look-ahead draw claims,
and Zobrist keys.

Dimension letters: B positions, A = 4672 actions, P = 73 move planes.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from envs import chess_moves as cm

__all__ = [
    "mover_view",
    "swap_rights",
    "ep_key",
    "position_key",
    "insufficient_material",
    "move_ids",
    "dense_mask",
    "byte_tables",
    "lookahead_claims",
    "perft_counts",
]

_DARK = cm.i64(0xAA55AA55AA55AA55)
_Z_EP = 2 * 6 * 64 + 16


def mover_view(pieces: Tensor, player: Tensor, size: int = 8) -> tuple[Tensor, Tensor]:
    """(us, them) int64 [B, 6] in the mover's view of absolute pieces [B, 12] on a size x size board."""
    w, b = pieces[:, :6], pieces[:, 6:]
    black = (player == 1)[:, None]
    return torch.where(black, cm.flip(b, size), w), torch.where(black, cm.flip(w, size), b)


def swap_rights(rights: Tensor, player: Tensor) -> Tensor:
    """Castling bits between absolute (white 1, 2, black 4, 8) and the mover's view (ours 1, 2, theirs 4, 8)."""
    swapped = ((rights & 3) << 2) | ((rights >> 2) & 3)
    return torch.where(player == 1, swapped, rights)


def ep_key(tb: cm.Tables, ep: Tensor) -> Tensor:
    """The Zobrist key of a (legal) en passant square's file, 0 for none."""
    return torch.where(ep >= 0, tb.zobrist[_Z_EP + (ep.clamp(min=0) % 8)], 0)


def position_key(pieces: Tensor, castling: Tensor, player: Tensor) -> Tensor:
    """The Zobrist key of positions from scratch (without the en passant part)."""
    tb = cm.tables(pieces.device)
    bits = (pieces[:, :, None] >> torch.arange(64, device=pieces.device)) & 1  # [B, 12, 64]
    keys = torch.where(bits != 0, tb.zobrist[: 12 * 64].view(12, 64), 0)
    keys = keys.reshape(keys.shape[0], -1)
    while keys.shape[1] > 1:  # XOR in halves (768 = 3 * 256)
        half = keys.shape[1] // 2
        rest = keys[:, 2 * half :]
        keys = (
            torch.cat([keys[:, :half] ^ keys[:, half : 2 * half], rest], 1)
            if rest.shape[1]
            else (keys[:, :half] ^ keys[:, half:])
        )
    key = keys[:, 0] ^ tb.zobrist[2 * 6 * 64 + castling]
    return key ^ torch.where(player == 1, tb.zobrist[_Z_EP + 8], 0)


def insufficient_material(pieces: Tensor) -> Tensor:
    """BoolTensor[B]: python-chess's is_insufficient_material (see the module docstring)."""
    w, b = pieces[:, :6], pieces[:, 6:]
    occ_w, occ_b = cm.or_reduce(w), cm.or_reduce(b)
    pawns, knights, bishops = w[:, 0] | b[:, 0], w[:, 1] | b[:, 1], w[:, 2] | b[:, 2]
    kings_queens = w[:, 4] | b[:, 4] | w[:, 5] | b[:, 5]
    one_colour = ((bishops & _DARK) == 0) | ((bishops & ~_DARK) == 0)

    def side(me: Tensor, occ_me: Tensor, occ_you: Tensor) -> Tensor:
        heavy = (me[:, 0] | me[:, 3] | me[:, 4]) != 0
        x = occ_me & (occ_me - 1)
        at_most_two = (x & (x - 1)) == 0
        knight_case = at_most_two & ((occ_you & ~kings_queens) == 0)
        bishop_case = one_colour & (pawns == 0) & (knights == 0)
        return ~heavy & torch.where(me[:, 1] != 0, knight_case, torch.where(me[:, 2] != 0, bishop_case, True))

    return side(w, occ_w, occ_b) & side(b, occ_b, occ_w)


_SPARSE_ROWS = 192  # from this many positions on, the mask is written move by move (see dense_mask)
_DE_BRUIJN = 0x03F79D71B4CB0A89  # (lowest set bit * this) >> 58 is distinct for each of the 64 bits


@functools.cache
def _mask_tables(device: torch.device) -> tuple[Tensor, Tensor]:
    """(the 8 bools of each byte value as one int64 [256]; the action offset (file * 8 + rank) * 73 of the square
    of each de Bruijn index [64])."""
    bools = ((torch.arange(256)[:, None] >> torch.arange(8)) & 1).to(torch.uint8)  # [256, 8]: bit f -> byte f
    offsets = torch.zeros(64, dtype=torch.long)
    for sq in range(64):
        offsets[((cm.i64(1 << sq) * cm.i64(_DE_BRUIJN)) >> 58) & 63] = ((sq % 8) * 8 + sq // 8) * cm.PLANES
    return bools.view(torch.int64).view(256).to(device), offsets.to(device)


def move_ids(legal: Tensor) -> Tensor:
    """LongTensor[M]: row * 4672 + action of every legal move of legal bitboards int64 [B, 73], in no set order.

    The bitboards that are not empty are found once; then each round takes the lowest set bit of every one still
    not empty (its square by a de Bruijn multiply) and drops the emptied ones, as many rounds as the fullest
    bitboard has bits. Work in proportion to the moves, not to the 4672 actions.
    """
    _, offsets = _mask_tables(legal.device)
    flat = legal.reshape(-1)
    nonempty = flat.nonzero()[:, 0]  # [K] row * 73 + plane
    bits = flat[nonempty]
    base = nonempty + (nonempty // cm.PLANES) * (64 * cm.PLANES - cm.PLANES)  # row * 4672 + plane
    found = []
    while bits.numel():
        low = bits & -bits
        found.append(base + offsets[((low * cm.i64(_DE_BRUIJN)) >> 58) & 63])
        bits = bits ^ low
        left = (bits != 0).nonzero()[:, 0]
        bits, base = bits[left], base[left]
    return torch.cat(found) if found else nonempty


def _rows_actions(ids: Tensor) -> tuple[Tensor, Tensor]:
    """(rows, actions) of `move_ids`."""
    return ids // (64 * cm.PLANES), ids % (64 * cm.PLANES)


def dense_mask(legal: Tensor) -> Tensor:
    """BoolTensor[B, 4672] from legal bitboards int64 [B, 73] (action = (file * 8 + rank) * 73 + plane).

    Few positions: every byte (8 squares of a rank) becomes its 8 bools by a table look-up, then one transpose to
    the action order. Many positions: a zeroed mask with the moves of `move_ids` set (a few dozen moves among
    4672 actions a row: twice as fast at B = 4096, and no pass over the mask but the zeroing).
    """
    b = legal.shape[0]
    if b >= _SPARSE_ROWS:
        out = torch.zeros(b * 64 * cm.PLANES, dtype=torch.bool, device=legal.device)
        return out.index_fill_(0, move_ids(legal), True).view(b, 64 * cm.PLANES)
    bools, _ = _mask_tables(legal.device)
    ranks = legal.contiguous().view(torch.uint8).view(b, cm.PLANES, 8).long()  # [B, plane, rank]
    bits = bools[ranks].view(torch.bool).view(b, cm.PLANES, 8, 8)  # [B, plane, rank, file]
    return bits.permute(0, 3, 2, 1).reshape(b, 64 * cm.PLANES)


@functools.cache
def byte_tables(device: torch.device) -> tuple[Tensor, Tensor]:
    """(set bits of each byte value [256], position of the i-th set bit of each byte value [256, 8])."""
    count = torch.tensor([bin(v).count("1") for v in range(256)], dtype=torch.long)
    nth = torch.zeros(256, 8, dtype=torch.long)
    for v in range(256):
        for i, bit in enumerate(k for k in range(8) if v >> k & 1):
            nth[v, i] = bit
    return count.to(device), nth.to(device)


def lookahead_claims(
    us: Tensor,
    them: Tensor,
    rights: Tensor,
    ep: Tensor,
    legal: Tensor,
    player: Tensor,
    base_key: Tensor,
    history: Tensor,
) -> tuple[Tensor, Tensor]:
    """The two look-ahead claims for n positions (mover's view): (a legal move that does not reset the halfmove
    clock and leaves the opponent a legal move, a legal move whose position occurred twice before), BoolTensor[n]."""
    n = us.shape[0]
    r, a = _rows_actions(move_ids(legal))
    m = cm.make_move(us[r], them[r], rights[r], ep[r], a, player[r])
    child_key = base_key[r] ^ m.key_delta
    seen = (history[r][:, 0::2] == child_key[:, None]).sum(1) >= 2
    child_legal, _, _ = cm.generate(
        cm.flip(m.them), cm.flip(m.us), swap_rights(m.rights, torch.ones_like(r)), torch.full_like(r, -1)
    )
    quiet = ~m.zeroing & (child_legal != 0).any(1)
    count = torch.zeros(n, 2, dtype=torch.long, device=us.device)
    count.index_add_(0, r, torch.stack([quiet, seen], 1).long())
    return count[:, 0] > 0, count[:, 1] > 0


def perft_counts(us: Tensor, them: Tensor, rights: Tensor, ep: Tensor, depth: int, chunk: int, size: int = 8) -> Tensor:
    """LongTensor[n]: perft leaf counts of n positions (mover's view) on a size x size board, expanded in chunks of
    about `chunk` rows."""
    n = us.shape[0]
    out = torch.zeros(n, dtype=torch.long, device=us.device)
    count8, _ = byte_tables(us.device)
    step = max(1, chunk // 32) if depth > 1 else chunk
    for lo in range(0, n, step):
        sl = slice(lo, lo + step)
        legal, _, _ = cm.generate(us[sl], them[sl], rights[sl], ep[sl], size)
        if depth == 1:
            raw = legal.contiguous().view(torch.uint8).view(legal.shape[0], -1).long()
            out[sl] = count8[raw].sum(1)
            continue
        r, a = _rows_actions(move_ids(legal))
        m = cm.make_move(us[sl][r], them[sl][r], rights[sl][r], ep[sl][r], a, torch.zeros_like(r), size)
        counts = perft_counts(
            cm.flip(m.them, size),
            cm.flip(m.us, size),
            swap_rights(m.rights, torch.ones_like(r)),
            torch.where(m.ep >= 0, m.ep ^ 56, -1),
            depth - 1,
            chunk,
            size,
        )
        out[sl] = torch.zeros(legal.shape[0], dtype=torch.long, device=us.device).index_add_(0, r, counts)
    return out
