"""Shogi move generation and move making on batched square boards (the rules core of envs.shogi).

Dimension letters: B positions, S = n * n squares (n = 9 for shogi, 5 for minishogi), K candidate moves,
P = 20 + D move planes (D drop piece types: 7 in shogi, 5 in minishogi), A = P * S actions.

Everything here works in the mover's view: the board of the player to move, turned 180 degrees for gote
(square s -> S - 1 - s) with the colours swapped, so the mover always plays up (towards rank a). Squares are
numbered as cshogi numbers them, s = (file - 1) * n + (rank - 1) with rank a = 1, so file 1 rank a is 0. A board is
an int8 [B, S] of piece codes: 0 empty; the mover's pieces 1..14 in cshogi's order P L N S B R G K +P +L +N +S +B +R;
the opponent's the same + 16. A hand is long [B, 2, 7] (the mover's first) of counts in the order P L N S B R G.

Move planes (dlshogi's and pgx's layout, in the mover's view): plane d < 10 moves a piece in direction d, d + 10
the same with promotion; the directions are Up, UpLeft, UpRight, Left, Right, Down, DownLeft, DownRight, Up2Left,
Up2Right (left = towards file 9, the mover's left; the last two are the knight's jumps); a direction names a unique
from-square: the first piece met walking back from the destination. Planes 20.. drop a piece from the hand, in the
order of DROPS (P L N S B R G in shogi; P S B R G in minishogi). Action id = plane * S + destination square.

Legality: each pseudo-legal move is made on the candidate's board and the mover's king is tested for attack along
its eight rays and the two knight squares; drops are tested only where the mover is in check. A pawn drop that
checks is played out: when the opponent then has no legal move it is pawn-drop mate (uchifuzume) and illegal.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = [
    "PAWN",
    "LANCE",
    "KNIGHT",
    "SILVER",
    "BISHOP",
    "ROOK",
    "GOLD",
    "KING",
    "ENEMY",
    "WALL",
    "HAND_ORDER",
    "DIRS",
    "Tables",
    "tables",
    "flip",
    "generate",
    "make_move",
    "perft_counts",
]

PAWN, LANCE, KNIGHT, SILVER, BISHOP, ROOK, GOLD, KING = range(1, 9)
PROMOTED = 8  # +P = PAWN + 8, ..., +R = ROOK + 8
ENEMY = 16  # the opponent's code = the mover's code + 16
WALL = 15  # the padding square beyond the board: occupied, nobody's
HAND_ORDER = (PAWN, LANCE, KNIGHT, SILVER, BISHOP, ROOK, GOLD)  # hand slots 0..6
# (file step, rank step) of the ten directions; rank step -1 is up (towards rank a), file step +1 is left (to file 9)
DIRS = ((0, -1), (1, -1), (-1, -1), (1, 0), (-1, 0), (0, 1), (1, 1), (-1, 1), (1, -2), (-1, -2))
OPPOSITE = (5, 7, 6, 4, 3, 0, 2, 1)
_GOLDS = (0, 1, 2, 3, 4, 5)


def _moves() -> tuple[list[list[bool]], list[list[bool]]]:
    """(step[16][10], slide[8 types rows][8]) : can a piece type move one step / any distance in direction d."""
    step = [[False] * 10 for _ in range(16)]
    slide = [[False] * 10 for _ in range(16)]
    for d in (0,):
        step[PAWN][d] = True
    slide[LANCE][0] = True
    step[KNIGHT][8] = step[KNIGHT][9] = True
    for d in (0, 1, 2, 6, 7):
        step[SILVER][d] = True
    for t in (GOLD, PAWN + 8, LANCE + 8, KNIGHT + 8, SILVER + 8):
        for d in _GOLDS:
            step[t][d] = True
    for d in range(8):
        step[KING][d] = True
    for d in (1, 2, 6, 7):
        slide[BISHOP][d] = slide[BISHOP + 8][d] = True
        step[ROOK + 8][d] = True
    for d in (0, 3, 4, 5):
        slide[ROOK][d] = slide[ROOK + 8][d] = True
        step[BISHOP + 8][d] = True
    for t in range(16):
        for d in range(10):
            step[t][d] = step[t][d] or slide[t][d]
    return step, slide


@dataclass(frozen=True)
class Tables:
    """Lookup tables of one board size on one device."""

    n: int
    ray: Tensor  # long [S, 8, n - 1]: the square k + 1 steps from s in direction d, S (the pad) off the board
    jump: Tensor  # long [S, 2]: the square a knight jump (directions 8, 9) away from s, S off the board
    land: Tensor  # long [S, 2]: the square a knight jumps from to land on s, S off the board
    step: Tensor  # bool [16, 10]: piece type can move one step in direction d
    slide: Tensor  # bool [16, 10]: piece type slides any distance in direction d
    drops: Tensor  # long [D]: the hand slot of each drop plane
    drop_types: Tensor  # long [D]: the piece type of each drop plane
    last: Tensor  # long [16]: ranks (from the far end) where a piece type may not stand unpromoted (0, 1 or 2)
    aligned: Tensor  # bool [S, S + 1]: square t is on one of the eight lines through s
    rank: Tensor  # long [S]: the square's rank index (0 = the far rank a)
    file: Tensor  # long [S]


DROPS = {9: (PAWN, LANCE, KNIGHT, SILVER, BISHOP, ROOK, GOLD), 5: (PAWN, SILVER, BISHOP, ROOK, GOLD)}
ZONE = {9: 3, 5: 1}  # depth of the promotion zone


@functools.cache
def tables(device: torch.device, n: int) -> Tables:
    """The tables for an n x n board on `device` (cached)."""
    s = n * n

    def at(f: int, r: int) -> int:
        return f * n + r if 0 <= f < n and 0 <= r < n else s

    ray = torch.full((s, 8, n - 1), s, dtype=torch.long)
    jump = torch.full((s, 2), s, dtype=torch.long)
    land = torch.full((s, 2), s, dtype=torch.long)
    for sq in range(s):
        f, r = divmod(sq, n)
        for d in range(8):
            df, dr = DIRS[d]
            for k in range(n - 1):
                ray[sq, d, k] = at(f + df * (k + 1), r + dr * (k + 1))
        for j in range(2):
            df, dr = DIRS[8 + j]
            jump[sq, j] = at(f + df, r + dr)
            land[sq, j] = at(f - df, r - dr)
    step, slide = _moves()
    last = [0] * 16
    last[PAWN] = last[LANCE] = 1
    last[KNIGHT] = 2
    sqs = torch.arange(s)
    aligned = torch.zeros(s, s + 1, dtype=torch.bool)
    aligned[sqs[:, None, None].expand_as(ray), ray] = True
    aligned[:, s] = False
    return Tables(
        n=n,
        ray=ray.to(device),
        jump=jump.to(device),
        land=land.to(device),
        step=torch.tensor(step, device=device),
        slide=torch.tensor(slide, device=device),
        drops=torch.tensor([HAND_ORDER.index(t) for t in DROPS[n]], device=device),
        drop_types=torch.tensor(DROPS[n], device=device),
        last=torch.tensor(last, device=device),
        aligned=aligned.to(device),
        rank=(sqs % n).to(device),
        file=(sqs // n).to(device),
    )


def flip(board: Tensor, hands: Tensor) -> tuple[Tensor, Tensor]:
    """The position seen by the other side: the board turned 180 degrees, colours and hands swapped."""
    b = board.flip(-1)
    return torch.where(b == 0, b, b ^ ENEMY), hands.flip(-2)


def _pad(board: Tensor) -> Tensor:
    return torch.cat([board, torch.full_like(board[:, :1], WALL)], 1)  # [B, S + 1]


def _mine(code: Tensor) -> Tensor:
    return (code >= 1) & (code <= 14)


def _attacked(tb: Tables, pad: Tensor, sq: Tensor, frm: Tensor, to: Tensor, piece: Tensor) -> Tensor:
    """BoolTensor[K]: square sq[K] of board pad[K, S + 1] is attacked by the opponent after the mover's piece on
    frm (S + 1 for a drop) moves to `to` as `piece` (the board itself is not changed)."""
    if len(sq) == 0:
        return torch.zeros(0, dtype=torch.bool, device=sq.device)
    rays = tb.ray[sq]  # [K, 8, n - 1]
    vals = pad.gather(1, rays.reshape(len(sq), -1)).view_as(rays)
    vals = torch.where(rays == frm[:, None, None], 0, vals)
    vals = torch.where(rays == to[:, None, None], piece[:, None, None].to(vals.dtype), vals)
    occ = vals != 0
    first = occ.to(torch.uint8).argmax(2)  # [K, 8]: the nearest occupied (the pad is occupied)
    code = vals.gather(2, first[..., None])[..., 0].long()
    t = code & 15
    d = torch.arange(8, device=sq.device)
    hit = (code >= ENEMY) & (tb.slide[t, d] | ((first == 0) & tb.step[t, d]))
    jumps = tb.jump[sq]  # [K, 2]
    jv = pad.gather(1, jumps).long()
    jv = torch.where(jumps == frm[:, None], 0, torch.where(jumps == to[:, None], piece[:, None], jv))
    return hit.any(1) | (jv == KNIGHT + ENEMY).any(1)


def generate(
    board: Tensor, hands: Tensor, n: int, *, drops: bool = True, uchifuzume: bool = True
) -> tuple[Tensor, Tensor]:
    """Legal moves of the mover (see the module docstring).

    Args:
        board: int8 [B, S] in the mover's view.
        hands: long [B, 2, 7] (the mover's first).
        n: the board's side.
        drops: generate drops (off only for the uchifuzume test, where a drop cannot answer the check).
        uchifuzume: remove pawn drops that mate.
    Returns:
        (legal BoolTensor[B, P, S], in_check BoolTensor[B]).
    """
    tb = tables(board.device, n)
    b, s = board.shape
    dev = board.device
    pad = _pad(board)
    nd = len(DROPS[n])
    legal = torch.zeros(b, 20 + nd, s, dtype=torch.bool, device=dev)
    # the nearest occupied square from every square in each direction: [B, S, 8]
    # (uint8: these selects over [B, S, 8] dominate the cost)
    back = tb.ray[:, list(OPPOSITE)].permute(1, 0, 2)  # [8, S, n - 1]: walking back from each destination
    near = torch.full((b, 8, s), s, dtype=torch.uint8, device=dev)
    dist = torch.zeros(b, 8, s, dtype=torch.uint8, device=dev)
    for k in range(n - 2, -1, -1):
        sq_k = back[:, :, k]  # [8, S]
        occ = pad[:, sq_k] != 0
        near = torch.where(occ, sq_k.to(torch.uint8), near)
        dist = torch.where(occ, k + 1, dist)
    # pseudo-legal board moves: the from-square of every (direction, destination)
    frm = near.long()  # [B, 8, S]
    fdist = dist.long()
    frm = torch.cat([frm, tb.land.T[None].expand(b, 2, s)], 1)  # [B, 10, S]
    fdist = torch.cat([fdist, torch.ones(b, 2, s, dtype=torch.long, device=dev)], 1)
    piece = pad.gather(1, frm.reshape(b, -1)).view(b, 10, s).long()
    t = piece & 15
    d = torch.arange(10, device=dev)[None, :, None]
    can = _mine(piece) & (tb.slide[t, d] | ((fdist == 1) & tb.step[t, d])) & ~_mine(board)[:, None, :]
    ksq = (board == KING).to(torch.uint8).argmax(1)  # [B]
    # in check: the opponent's pieces nearest the king on its rays, and knights
    in_check = _attacked(tb, pad, ksq, torch.full_like(ksq, s + 1), torch.full_like(ksq, s + 1), torch.zeros_like(ksq))
    gi, di, ti = can.nonzero(as_tuple=True)
    if len(gi):
        f = frm[gi, di, ti]
        p = piece[gi, di, ti]
        # only a king move, a move out of check or a move off a line through the king can expose the king
        need = ((p == KING) | in_check[gi] | tb.aligned[ksq[gi], f]).nonzero()[:, 0]
        ok = torch.ones_like(gi, dtype=torch.bool)
        king_to = torch.where(p[need] == KING, ti[need], ksq[gi[need]])
        ok[need] = ~_attacked(tb, pad[gi[need]], king_to, f[need], ti[need], p[need])
        gi, di, ti, f, p = gi[ok], di[ok], ti[ok], f[ok], p[ok]
        pt = p & 15
        zone = ZONE[n]
        may = (pt <= ROOK) & ((tb.rank[ti] < zone) | (tb.rank[f] < zone))
        must = tb.rank[ti] < tb.last[pt]
        legal[gi[~must], di[~must], ti[~must]] = True
        legal[gi[may], di[may] + 10, ti[may]] = True
    if drops:
        empty = board == 0  # [B, S]
        count = hands[:, 0, tb.drops]  # [B, D]
        ok = (count > 0)[:, :, None] & empty[:, None, :]
        ok &= tb.rank[None, None, :] >= tb.last[tb.drop_types][None, :, None]
        pawn_files = (board == PAWN).view(b, n, n).any(2)  # [B, files]
        ok[:, 0] &= ~pawn_files[:, tb.file]
        checked = in_check.nonzero()[:, 0]
        if len(checked):  # a drop must block the check
            gi, di, ti = ok[checked].nonzero(as_tuple=True)
            gi = checked[gi]
            piece_d = tb.drop_types[di]
            none = torch.full_like(gi, s + 1)
            bad = _attacked(tb, pad[gi], ksq[gi], none, ti, piece_d)
            ok[gi[bad], di[bad], ti[bad]] = False
        if uchifuzume:  # a pawn dropped in front of the opponent's king checks it: is it mate?
            up = tb.ray[:, 0, 0]  # [S]
            front = pad[:, up] == KING + ENEMY  # [B, S]
            gi, ti = (ok[:, 0] & front).nonzero(as_tuple=True)
            if len(gi):
                after = board[gi].clone()
                after[torch.arange(len(gi), device=dev), ti] = PAWN
                ob, oh = flip(after, hands[gi])
                reply, _ = generate(ob, oh, n, drops=False, uchifuzume=False)
                mate = ~reply.flatten(1).any(1)
                ok[gi[mate], 0, ti[mate]] = False
        legal[:, 20:] = ok
    return legal, in_check


def make_move(board: Tensor, hands: Tensor, action: Tensor, n: int) -> tuple[Tensor, Tensor]:
    """Play action[B] (legal, mover's view) on board[B, S] / hands[B, 2, 7]; returns the new board and hands,
    still in the same (the old mover's) view."""
    tb = tables(board.device, n)
    b, s = board.shape
    rows = torch.arange(b, device=board.device)
    plane, to = action // s, action % s
    pad = _pad(board)
    drop = plane >= 20
    d = plane % 10
    # the from-square: the nearest occupied square walking back from `to` (or the knight's origin)
    back = tb.ray[to, torch.tensor(OPPOSITE, device=board.device)[d.clamp(max=7)]]  # [B, n - 1]
    vals = pad.gather(1, back)
    first = (vals != 0).to(torch.uint8).argmax(1)
    frm = back.gather(1, first[:, None])[:, 0]
    frm = torch.where(d >= 8, tb.land[to, (d - 8).clamp(0, 1)], frm)
    frm = torch.where(drop, s, frm)
    moved = pad[rows, frm].long()
    dropped = tb.drop_types[(plane - 20).clamp(0, len(DROPS[n]) - 1)]
    new_piece = torch.where(drop, dropped, torch.where(plane >= 10, moved + PROMOTED, moved))
    captured = board[rows, to].long()
    hands = hands.clone()
    slot = tb.drops[(plane - 20).clamp(0, len(DROPS[n]) - 1)]
    hands[rows[drop], 0, slot[drop]] -= 1
    cap = captured != 0
    ct = captured & 15
    ct = torch.where(ct > KING, ct - PROMOTED, ct)
    cap_slot = torch.tensor([0, 0, 1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0], device=board.device)[ct]
    hands[rows[cap], 0, cap_slot[cap]] += 1
    new = pad.clone()
    new[rows, frm] = torch.where(drop, new[rows, frm], 0).to(new.dtype)
    new[rows, to] = new_piece.to(new.dtype)
    return new[:, :s].contiguous(), hands


def perft_counts(board: Tensor, hands: Tensor, depth: int, n: int, chunk: int = 16384) -> Tensor:
    """LongTensor[B]: the number of legal move sequences of `depth` >= 1 plies from each position (mover's view)."""
    b = board.shape[0]
    out = torch.zeros(b, dtype=torch.long, device=board.device)
    for lo in range(0, b, chunk):
        bb, hh = board[lo : lo + chunk], hands[lo : lo + chunk]
        legal, _ = generate(bb, hh, n)
        flat = legal.flatten(1)
        if depth == 1:
            out[lo : lo + chunk] = flat.sum(1)
            continue
        gi, ai = flat.nonzero(as_tuple=True)
        cb, ch = make_move(bb[gi], hh[gi], ai, n)
        cb, ch = flip(cb, ch)
        counts = perft_counts(cb, ch, depth - 1, n, chunk)
        out[lo : lo + chunk] = torch.zeros(len(bb), dtype=torch.long, device=board.device).index_add_(0, gi, counts)
    return out
