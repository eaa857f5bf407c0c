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
    """Lookup tables of one board size on one device (L lines: n files, n ranks, 2 x (2n - 1) diagonals)."""

    n: int
    ray: Tensor  # long [S, 8, n - 1]: the square k + 1 steps from s in direction d, S (the pad) off the board
    jump: Tensor  # long [S + 1, 2]: the squares an opponent's knight attacks s from (S off the board, and for S)
    land: Tensor  # long [2 * S]: the square the mover's knight jumps from to land on s in plane 8 + j, S off the board
    drops: Tensor  # long [D]: the hand slot of each drop plane
    drop_types: Tensor  # long [D]: the piece type of each drop plane
    drop_ok: Tensor  # bool [D, S]: the drop piece type may stand there (not a dead pawn, lance or knight)
    rank: Tensor  # long [S]: the square's rank index (0 = the far rank a)
    file: Tensor  # long [S]
    zone: Tensor  # bool [S + 1]: the square is in the mover's promotion zone (False for the pad)
    weights: Tensor  # float [S, L]: 2 ** (the square's place on the line) for each line through it
    line_id: Tensor  # long [8 * S]: the line of plane d through square t
    base: Tensor  # long [8, S]: the row of (d, t) in `near`, before the line's occupancy is added
    near: Tensor  # long [8 * S * 2 ** n]: the first occupied square walking from t against direction d
    adj: Tensor  # long [8, S]: the square one step from t against direction d (S off the board)
    adj_t: Tensor  # long [S + 1, 8]: adj transposed, a row of S for the pad
    around: Tensor  # long [S, 8]: the square one step from s in direction d (S off the board)
    between: Tensor  # bool [S * (S + 1), S]: row k * (S + 1) + c: the squares from king k to checker c, c included
    my_word: Tensor  # int32 [32]: what the mover's piece of each code does (the _MY_* bits)
    en_word: Tensor  # int32 [32]: what the opponent's piece of each code attacks (bits d and 8 + d, mover's frame)
    allow: Tensor  # int32 [8]: the bits a piece pinned on the line of direction d keeps
    dirs: Tensor  # int32 [8, 1]: 0..7


DROPS = {9: (PAWN, LANCE, KNIGHT, SILVER, BISHOP, ROOK, GOLD), 5: (PAWN, SILVER, BISHOP, ROOK, GOLD)}
ZONE = {9: 3, 5: 1}  # depth of the promotion zone
# bits of a piece's word: 0..7 it moves one step in direction d, 8..15 it slides in direction d - 8, then:
_KNIGHT_BIT, _KING_BIT, _PROMOTES_BIT, _MUST_BIT = 16, 17, 18, 19  # must: pawn or lance (promotes on rank a)


def _words(step: list[list[bool]], slide: list[list[bool]]) -> tuple[list[int], list[int], list[int]]:
    """The mover's and the opponent's words by piece code, and the bits kept by a pinned piece by pin direction."""
    mine, theirs = [0] * 32, [0] * 32
    for t in range(1, 15):
        w = sum(1 << d for d in range(8) if step[t][d]) | sum(1 << (8 + d) for d in range(8) if slide[t][d])
        w |= (step[t][8] << _KNIGHT_BIT) | ((t == KING) << _KING_BIT)
        w |= ((t <= ROOK) << _PROMOTES_BIT) | ((t in (PAWN, LANCE)) << _MUST_BIT)
        mine[t] = w
        # the opponent's piece moves in direction OPPOSITE[d] of its own view when it moves in d of the mover's
        theirs[t + ENEMY] = sum(1 << d for d in range(8) if step[t][OPPOSITE[d]]) | sum(
            1 << (8 + d) for d in range(8) if slide[t][OPPOSITE[d]]
        )
    keep = (1 << _KING_BIT) | (1 << _PROMOTES_BIT) | (1 << _MUST_BIT)
    allow = [keep | sum(1 << (b + e) for b in (0, 8) for e in (d, OPPOSITE[d])) for d in range(8)]
    return mine, theirs, allow


def _lines(n: int, ray: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(weights, line_id, base, near) of Tables: every line's occupancy is a number below 2 ** n, and `near` maps
    (plane d, square t, occupancy of t's line along d) to the first occupied square walking back from t."""
    s = n * n
    sq = torch.arange(s)
    f, r = sq // n, sq % n
    # the four orientations: files (place = rank), ranks (place = file), the two diagonals (place = rank)
    ids = torch.stack([f, n + r, 2 * n + f + r, 4 * n - 1 + f - r + n - 1], 1)  # [S, 4]
    place = torch.stack([r, f, r, r], 1)  # [S, 4]
    lines = 6 * n - 2
    weights = torch.zeros(s, lines)
    weights[sq[:, None].expand(s, 4), ids] = (2.0**place).float()
    orient = torch.tensor([0, 2, 3, 1, 1, 0, 3, 2])  # of planes 0..7 (Up, UpLeft, UpRight, Left, Right, Down, ...)
    back = torch.cat([ray, torch.full((s, 8, 1), s)], 2)[:, list(OPPOSITE)].permute(1, 0, 2)  # [8, S, n]
    where = torch.cat([place, torch.zeros(1, 4, dtype=torch.long)])  # [S + 1, 4]
    pos = where[back, orient[:, None, None].expand_as(back)]  # [8, S, n]: each square's place on the line
    v = torch.arange(2**n)
    occ = ((v[None, None, None, :] >> pos[..., None]) & 1).bool() | (back == s)[..., None]  # [8, S, n, V]
    first = occ.to(torch.uint8).argmax(2)  # [8, S, V]
    near = back.gather(2, first)  # [8, S, V]
    line_id = ids[:, orient].T.reshape(-1)  # [8 * S]
    base = (torch.arange(8)[:, None] * s + sq[None]) * 2**n
    return weights, line_id, base, near.reshape(-1)


@functools.cache
def tables(device: torch.device, n: int) -> Tables:
    """The tables for an n x n board on `device` (cached)."""
    s = n * n

    def at(f: int, r: int) -> int:
        return f * n + r if 0 <= f < n and 0 <= r < n else s

    ray = torch.full((s, 8, n - 1), s, dtype=torch.long)
    jump = torch.full((s + 1, 2), s, dtype=torch.long)
    land = torch.full((2, s), s, dtype=torch.long)
    between = torch.zeros(s, s + 1, s, dtype=torch.bool)
    for sq in range(s):
        f, r = divmod(sq, n)
        for d in range(8):
            df, dr = DIRS[d]
            for k in range(n - 1):
                ray[sq, d, k] = at(f + df * (k + 1), r + dr * (k + 1))
                if ray[sq, d, k] < s:
                    between[sq, ray[sq, d, k], ray[sq, d, : k + 1]] = True
        for j in range(2):
            df, dr = DIRS[8 + j]
            jump[sq, j] = at(f + df, r + dr)
            land[j, sq] = at(f - df, r - dr)
    for c in range(s):
        between[:, c, c] = True  # a knight's check, or a checker next to the king
    step, slide = _moves()
    mine, theirs, allow = _words(step, slide)
    last = [0] * 16
    last[PAWN] = last[LANCE] = 1
    last[KNIGHT] = 2
    sqs = torch.arange(s)
    rank = sqs % n
    drop_ok = rank[None, :] >= torch.tensor([last[t] for t in DROPS[n]])[:, None]
    weights, line_id, base, near = _lines(n, ray)
    adj = torch.cat([ray[:, list(OPPOSITE), 0].T, torch.full((8, 1), s)], 1)  # [8, S + 1]
    return Tables(
        n=n,
        ray=ray.to(device),
        jump=jump.to(device),
        land=land.reshape(-1).to(device),
        drops=torch.tensor([HAND_ORDER.index(t) for t in DROPS[n]], device=device),
        drop_types=torch.tensor(DROPS[n], device=device),
        drop_ok=drop_ok.to(device),
        rank=rank.to(device),
        file=(sqs // n).to(device),
        zone=torch.cat([rank < ZONE[n], torch.zeros(1, dtype=torch.bool)]).to(device),
        weights=weights.to(device),
        line_id=line_id.to(device),
        base=base.to(device),
        near=near.to(device),
        adj=adj[:, :s].contiguous().to(device),
        adj_t=adj.T.contiguous().to(device),
        around=ray[:, :, 0].contiguous().to(device),
        between=between.view(s * (s + 1), s).to(device),
        my_word=torch.tensor(mine, dtype=torch.int32, device=device),
        en_word=torch.tensor(theirs, dtype=torch.int32, device=device),
        allow=torch.tensor(allow, dtype=torch.int32, device=device),
        dirs=torch.arange(8, dtype=torch.int32, device=device)[:, None],
    )


def flip(board: Tensor, hands: Tensor) -> tuple[Tensor, Tensor]:
    """The position seen by the other side: the board turned 180 degrees, colours and hands swapped."""
    b = board.flip(-1)
    return torch.where(b == 0, b, b ^ ENEMY), hands.flip(-2)


def _pad(board: Tensor) -> Tensor:
    return torch.cat([board, torch.full_like(board[:, :1], WALL)], 1)  # [B, S + 1]


def _bit(word: Tensor, shift: Tensor | int) -> Tensor:
    return ((word >> shift) & 1).bool()


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
    pad = _pad(board)
    code = pad.long()  # [B, S + 1]
    # the first occupied square walking back from every square against every direction: one lookup per line
    keys = ((board != 0).float() @ tb.weights).long()  # [B, L]: each line's occupancy (exact in float)
    near = tb.near.take(keys.index_select(1, tb.line_id).view(b, 8, s) + tb.base)  # [B, 8, S]
    d8 = tb.dirs  # [8, 1]
    # the king: checks along its eight lines and from knights, and the mover's pieces pinned to it
    ksq = (board == KING).to(torch.uint8).argmax(1)  # [B]
    near_k = near.gather(2, ksq[:, None, None].expand(b, 8, 1))[..., 0]  # [B, 8]: first piece seen from the king
    en_k = tb.en_word[code.gather(1, near_k)]  # [B, 8]
    adj_k = near_k == tb.adj_t[ksq]
    check_dir = _bit(en_k, torch.where(adj_k, d8[:, 0], d8[:, 0] + 8))  # [B, 8]
    kjump = tb.jump[ksq]  # [B, 2]
    check_jump = code.gather(1, kjump) == KNIGHT + ENEMY  # [B, 2]
    checks = check_dir.sum(1) + check_jump.sum(1)  # [B]
    in_check = checks > 0
    checker = torch.where(check_dir, near_k, 0).sum(1) + torch.where(check_jump, kjump, 0).sum(1)
    block = tb.between.index_select(0, ksq * (s + 1) + checker.clamp(max=s))  # [B, S]
    target = (checks == 0)[:, None] | ((checks == 1)[:, None] & block)  # [B, S]: where a non-king move may land
    first_mine = (code.gather(1, near_k) >= PAWN) & (code.gather(1, near_k) <= ROOK + PROMOTED)
    behind = near.gather(2, near_k.clamp(max=s - 1)[..., None])[..., 0]  # [B, 8]: the next piece on that line
    pinned = first_mine & _bit(tb.en_word[code.gather(1, behind)], d8[:, 0] + 8)
    word = tb.my_word[code]  # [B, S + 1]
    allow = torch.full_like(word, -1).scatter_(1, torch.where(pinned, near_k, s), tb.allow.expand(b, 8))
    word = word & allow
    # the king's eight steps: attacked squares (the king itself does not block a slider behind it)
    to_k = tb.around[ksq]  # [B, 8]
    near_to = near.transpose(1, 2).gather(1, to_k.clamp(max=s - 1)[..., None].expand(b, 8, 8))  # [B, step, dir]
    en_to = tb.en_word[code.gather(1, near_to.view(b, -1)).view(b, 8, 8)]
    hit = _bit(en_to, torch.where(near_to == tb.adj_t[to_k], d8[:, 0], d8[:, 0] + 8)).any(2)
    hit |= (code.gather(1, tb.jump[to_k].view(b, -1)).view(b, 8, 2) == KNIGHT + ENEMY).any(2)
    safe = ~hit & ~_bit(en_k, d8[:, 0] + 8)  # [B, 8]
    # board moves, planes 0..7: the piece first met walking back from each destination, if it moves that way
    w = word.gather(1, near.view(b, -1)).view(b, 8, s)  # [B, 8, S]
    go = _bit(w, torch.where(near == tb.adj, d8, d8 + 8))
    free = (board <= 0) | (board > ROOK + PROMOTED)  # [B, S]: empty or the opponent's
    go &= free[:, None] & torch.where(_bit(w, _KING_BIT), safe[..., None], target[:, None])
    jumps = word.index_select(1, tb.land).view(b, 2, s)  # planes 8, 9
    hop = _bit(jumps, _KNIGHT_BIT) & (free & target)[:, None]
    zone = tb.zone[:s]
    may = _bit(w, _PROMOTES_BIT) & zone
    may[:, 5:] |= _bit(w[:, 5:], _PROMOTES_BIT) & tb.zone[near[:, 5:]]  # moving out of the zone
    plain = go.clone()
    plain[:, 0] &= ~(_bit(w[:, 0], _MUST_BIT) & (tb.rank == 0))
    out = [plain, hop & (tb.rank >= 2), go & may, hop & zone]
    if drops:
        count = hands[:, 0].index_select(1, tb.drops)  # [B, D]
        ok = (count > 0)[:, :, None] & ((board == 0) & target)[:, None] & tb.drop_ok
        pawn_files = (board == PAWN).view(b, n, n).any(2)  # [B, files]
        ok[:, 0] &= ~pawn_files.index_select(1, tb.file)
        if uchifuzume:  # a pawn dropped in front of the opponent's king checks it: is it mate?
            front = tb.around[(board == KING + ENEMY).to(torch.uint8).argmax(1), 5]  # [B]: below their king
            gi = (ok[:, 0].gather(1, front.clamp(max=s - 1)[:, None])[:, 0] & (front < s)).nonzero()[:, 0]
            if len(gi):
                after = board[gi].clone()
                after[torch.arange(len(gi), device=board.device), front[gi]] = PAWN
                reply, _ = generate(*flip(after, hands[gi]), n, drops=False, uchifuzume=False)
                mate = gi[~reply.flatten(1).any(1)]
                ok[mate, 0, front[mate]] = False
        out.append(ok)
    else:
        out.append(torch.zeros(b, len(DROPS[n]), s, dtype=torch.bool, device=board.device))
    return torch.cat(out, 1), in_check


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
    frm = torch.where(d >= 8, tb.land[(d - 8).clamp(0, 1) * s + to], frm)
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
