"""Shogi move generation and move making on batched square boards (the rules core of envs.shogi).

Dimension letters: B positions, S = n * n squares (n = 9 for shogi, 5 for minishogi), L lines, K squares,
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

How the generator works (no loop over squares, rays or candidate moves; dense ops on [B, 8, S], a few gathers):
    1. Occupancy: each line of the board (file, rank, two diagonals: L lines) has an occupancy number below 2 ** n,
       all L of them from one [B, S] @ [S, L] product. A precomputed table (Tables.near) maps (plane d, destination
       t, occupancy of t's line) to the first occupied square f walking back from t against d: the only piece that
       can move to t along plane d. One lookup gives f for every plane and square, so a slider costs no more than a
       step, and whether f is next to t (a step suffices) or farther (a slider is needed).
    2. The king: the same lookup read at the king's square gives the checking pieces on its lines (plus knights),
       the squares that block or capture a single check (Tables.between), the mover's pieces pinned to it (the
       first piece on a line, then an opponent's slider behind it), and which of its eight steps are attacked (the
       lookup at those squares; a slider behind the king along the step's line attacks too).
    3. Words: every square gets a uint8 word per plane from its piece code (slides that way, steps that way, the
       king steps that way, may / must promote, stands in the zone); a pinned piece keeps only its line's planes,
       the king only its safe steps. Gathering the words at f gives the moves of planes 0..7 in one pass: f moves to
       t if its word has the bit the distance needs and t is empty or the opponent's, and (but for the king) t
       answers the check when in check (none in a double check). Knights are read from their two fixed origins.
    4. Promotion from the same words and the destination's rank; drops from the hand counts, empty squares, dead
       ranks and pawn files, restricted to the check-blocking squares when in check.
    5. Pawn-drop mate: at most one pawn drop per position gives check (in front of the opponent's king); for the
       positions that have one, the opponent's legal replies are generated (without drops) on the board after it,
       and the drop is illegal when there are none.
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
    drop_ok: (
        Tensor  # bool [2 * D, S]: row D + i: drop type i may stand there (no dead pawn, lance, knight); rows < D none
    )
    rank: Tensor  # long [S]: the square's rank index (0 = the far rank a)
    file: Tensor  # long [S]
    zone: Tensor  # bool [S]: the square is in the mover's promotion zone
    weights: Tensor  # float [S, L]: 2 ** (the square's place on the line) for each line through it
    line_id: Tensor  # long [8 * S]: the line of plane d through square t
    base: Tensor  # int32 [8 * S]: the row of (d, t) in `near`, before the line's occupancy is added
    near: Tensor  # int16 [8 * S * 2 ** n]: (f * 8 + d) | m << 10 for the first occupied square f walking back from t
    around: Tensor  # long [S + 1, 8]: the square one step from s in direction d (S off the board, and for S)
    between: Tensor  # bool [S * (S + 1), S]: row k * (S + 1) + c: the squares from king k to checker c, c included
    word: Tensor  # uint8 [64, 8]: row code + 32 * (in the zone): what the mover's piece there does in each plane
    en_word: Tensor  # int32 [32]: what the opponent's piece of each code attacks (bits d and 8 + d, mover's frame)
    allow: Tensor  # uint8 [8, 8]: the word bits a piece pinned on the line of plane d keeps in each plane
    in_zone: Tensor  # long [S + 1]: 32 for a square of the promotion zone, else 0
    promote: Tensor  # uint8 [S]: the word bits that allow a promotion when landing on the square
    dirs: Tensor  # long [8]: 0..7


DROPS = {9: (PAWN, LANCE, KNIGHT, SILVER, BISHOP, ROOK, GOLD), 5: (PAWN, SILVER, BISHOP, ROOK, GOLD)}
ZONE = {9: 3, 5: 1}  # depth of the promotion zone
# a piece's word in plane d (uint8): it slides that way, steps that way (sliders too; not the king), the king steps
# that way, it may promote, it must promote on rank a (pawn, lance), it may promote from where it stands (in the zone)
_SLIDES, _STEPS, _KING, _PROMOTES, _MUST, _FROM_ZONE = 1, 2, 4, 8, 16, 64
_SLIDE_ONLY, _NEXT = _SLIDES, _STEPS | _KING  # Tables.near's m: the bits that reach t from f (f next to t or not)


def _words(step: list[list[bool]], slide: list[list[bool]]) -> tuple[list[list[int]], list[int], list[list[int]]]:
    """The mover's words by code + 32 * zone and plane, the opponent's attack words by code, and the word bits a
    pinned piece keeps by pin plane and plane."""
    mine, theirs = [[0] * 8 for _ in range(64)], [0] * 32
    for t in range(1, 15):
        for d in range(8):
            w = _SLIDES * slide[t][d] | (_KING if t == KING else _STEPS) * step[t][d]
            w |= (_PROMOTES * (t <= ROOK)) | (_MUST * (t in (PAWN, LANCE)))
            mine[t][d] = w
            mine[t + 32][d] = w | (_FROM_ZONE * (t <= ROOK))
        # the opponent's piece moves in direction OPPOSITE[d] of its own view when it moves in d of the mover's
        theirs[t + ENEMY] = sum(1 << d for d in range(8) if step[t][OPPOSITE[d]]) | sum(
            1 << (8 + d) for d in range(8) if slide[t][OPPOSITE[d]]
        )
    allow = [[255 if e in (d, OPPOSITE[d]) else 255 ^ (_SLIDES | _STEPS) for e in range(8)] for d in range(8)]
    return mine, theirs, allow


def _lines(n: int, ray: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(weights, line_id, base, near) of Tables: every line's occupancy is a number below 2 ** n, and `near` maps
    (plane d, square t, occupancy of t's line) to the first occupied square f walking back from t against d, as
    f * 8 + d (an index into a [S + 1, 8] word board), and m (_NEXT if f is next to t, else _SLIDE_ONLY)."""
    s = n * n
    sq = torch.arange(s)
    f, r = sq // n, sq % n
    # the four orientations: files (place = rank), ranks (place = file), the two diagonals (place = rank)
    ids = torch.stack([f, n + r, 2 * n + f + r, 4 * n - 1 + f - r + n - 1], 1)  # [S, 4]
    place = torch.stack([r, f, r, r], 1)  # [S, 4]
    weights = torch.zeros(s, 6 * n - 2)
    weights[sq[:, None].expand(s, 4), ids] = (2.0**place).float()
    orient = torch.tensor([0, 2, 3, 1, 1, 0, 3, 2])  # of planes 0..7 (Up, UpLeft, UpRight, Left, Right, Down, ...)
    back = torch.cat([ray, torch.full((s, 8, 1), s)], 2)[:, list(OPPOSITE)].permute(1, 0, 2)  # [8, S, n]
    where = torch.cat([place, torch.zeros(1, 4, dtype=torch.long)])  # [S + 1, 4]
    pos = where[back, orient[:, None, None].expand_as(back)]  # [8, S, n]: each square's place on the line
    v = torch.arange(2**n)
    occ = ((v[None, None, None, :] >> pos[..., None]) & 1).bool() | (back == s)[..., None]  # [8, S, n, V]
    first = occ.to(torch.uint8).argmax(2)  # [8, S, V]
    m = torch.where((first == 0) & (back[:, :, :1] < s), _NEXT, _SLIDE_ONLY)
    near = (back.gather(2, first) * 8 + torch.arange(8)[:, None, None]) | m << 10
    line_id = ids[:, orient].T.reshape(-1)  # [8 * S]
    base = (torch.arange(8)[:, None] * s + sq[None]) * 2**n
    return weights, line_id, base.reshape(-1).int(), near.reshape(-1).to(torch.int16)


@functools.cache
def tables(device: torch.device, n: int) -> Tables:
    """The tables for an n x n board on `device` (cached)."""
    s = n * n
    sqs = torch.arange(s)
    f, r = sqs // n, sqs % n
    ray = torch.full((s + 1, 8, n - 1), s, dtype=torch.long)
    jump = torch.full((s + 1, 2), s, dtype=torch.long)
    land = torch.full((2, s), s, dtype=torch.long)
    for d, (df, dr) in enumerate(DIRS):
        for k in range(n - 1 if d < 8 else 1):
            ff, rr = f + df * (k + 1), r + dr * (k + 1)
            to = torch.where((ff >= 0) & (ff < n) & (rr >= 0) & (rr < n), ff * n + rr, s)
            if d < 8:
                ray[:s, d, k] = to
            else:
                jump[:s, d - 8] = to
                fb, rb = f - df, r - dr
                land[d - 8] = torch.where((fb >= 0) & (fb < n) & (rb >= 0) & (rb < n), fb * n + rb, s)
    between = torch.zeros(s, s + 1, s + 1, dtype=torch.bool)
    for d in range(8):  # the squares from k to c = ray[k, d, i], c included
        for i in range(n - 1):
            rows = sqs[:, None].expand(s, i + 1)
            between[rows, ray[:s, d, i : i + 1].expand(s, i + 1), ray[:s, d, : i + 1]] = True
    between[:, sqs, sqs] = True  # a knight's check, or a checker next to the king
    between = between[:, :, :s].contiguous()
    between[:, s] = False
    step, slide = _moves()
    mine, theirs, allow = _words(step, slide)
    last = [0] * 16
    last[PAWN] = last[LANCE] = 1
    last[KNIGHT] = 2
    zone = r < ZONE[n]
    drop_ok = r[None, :] >= torch.tensor([last[t] for t in DROPS[n]])[:, None]
    weights, line_id, base, near = _lines(n, ray[:s])
    return Tables(
        n=n,
        ray=ray[:s].to(device),
        jump=jump.to(device),
        land=land.reshape(-1).to(device),
        drops=torch.tensor([HAND_ORDER.index(t) for t in DROPS[n]], device=device),
        drop_types=torch.tensor(DROPS[n], device=device),
        drop_ok=torch.cat([torch.zeros_like(drop_ok), drop_ok]).to(device),
        rank=r.to(device),
        file=f.to(device),
        zone=zone.to(device),
        weights=weights.to(device),
        line_id=line_id.to(device),
        base=base.to(device),
        near=near.to(device),
        around=ray[:, :, 0].contiguous().to(device),
        between=between.view(s * (s + 1), s).to(device),
        word=torch.tensor(mine, dtype=torch.uint8, device=device),
        en_word=torch.tensor(theirs, dtype=torch.int32, device=device),
        allow=torch.tensor(allow, dtype=torch.uint8, device=device),
        in_zone=torch.cat([zone.long() * 32, torch.zeros(1, dtype=torch.long)]).to(device),
        promote=torch.where(zone, _PROMOTES | _FROM_ZONE, _FROM_ZONE).to(torch.uint8).to(device),
        dirs=torch.arange(8, device=device),
    )


def flip(board: Tensor, hands: Tensor) -> tuple[Tensor, Tensor]:
    """The position seen by the other side: the board turned 180 degrees, colours and hands swapped."""
    b = board.flip(-1)
    return b ^ ((b != 0).to(b.dtype) << 4), hands.flip(-2)  # ENEMY = 16


def _pad(board: Tensor) -> Tensor:
    return torch.cat([board, torch.full_like(board[:, :1], WALL)], 1)  # [B, S + 1]


def _seen(tb: Tables, code: Tensor, entry: Tensor, at: Tensor, *, own: bool = False) -> tuple[Tensor, Tensor]:
    """(square long, opponent attacks bool) [B, 8, K]: the first piece met walking back from squares at[B, K]
    against each plane d (entry: Tables.near's entries [B, 8, S]), and whether it is the opponent's and attacks
    that way; own=True: at[B, 8] holds one square per plane (K = 1)."""
    b, _, s = entry.shape
    d = tb.dirs[:, None] if not own else tb.dirs
    entry = entry.view(b, -1).gather(1, (d * s + at.clamp(max=s - 1)[:, None]).view(b, -1))
    entry = entry.view(b, 8, -1)
    sq = ((entry & 1023) >> 3).long()
    attack = tb.en_word.index_select(0, code.gather(1, sq.view(b, -1)).view(-1)).view(sq.shape)
    d = tb.dirs[:, None]
    shift = torch.where((entry >> 10) == _NEXT, d, d + 8)  # next door: any attacker that way, else a slider
    return sq, ((attack >> shift) & 1).bool()


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
    nd = len(DROPS[n])
    pad = _pad(board)
    code = pad.long() & 31  # [B, S + 1] (& 31: in range even after an unchecked illegal move)
    # the first occupied square walking back from every square against every plane: one lookup per line
    keys = ((board != 0).float() @ tb.weights).int()  # [B, L]: each line's occupancy (exact in float)
    # (gather with an expanded index: index_select along dim 1 is many times slower on a CPU)
    entry = tb.near.index_select(0, (keys.gather(1, tb.line_id.expand(b, -1)) + tb.base).view(-1)).view(b, 8, s)
    # the king: checks along its eight lines and from knights, the mover's pieces pinned to it, safe steps
    ksq = (board == KING).to(torch.uint8).argmax(1)  # [B]
    near_k, check_dir = _seen(tb, code, entry, ksq[:, None])
    near_k, check_dir = near_k[..., 0], check_dir[..., 0]  # [B, 8]
    kjump = tb.jump[ksq]  # [B, 2]
    check_jump = code.gather(1, kjump) == KNIGHT + ENEMY  # [B, 2]
    checks = check_dir.sum(1) + check_jump.sum(1)  # [B]
    checker = torch.where(check_dir, near_k, 0).sum(1) + torch.where(check_jump, kjump, 0).sum(1)
    block = tb.between.index_select(0, ksq * (s + 1) + checker.clamp(max=s))  # [B, S]
    target = (checks == 0)[:, None] | ((checks == 1)[:, None] & block)  # [B, S]: where a non-king move may land
    first = code.gather(1, near_k)
    behind, _ = _seen(tb, code, entry, near_k, own=True)  # [B, 8, 1]: the next piece on each line
    slider = (tb.en_word.index_select(0, code.gather(1, behind[..., 0]).view(-1)).view(b, 8) >> (tb.dirs + 8)) & 1
    pinned = (first >= PAWN) & (first <= ROOK + PROMOTED) & slider.bool()  # [B, 8]
    to_k = tb.around[ksq]  # [B, 8]: the king's steps
    _, hit = _seen(tb, code, entry, to_k)  # [B, 8 (plane), 8 (step)]
    hit = hit.any(1) | (code.gather(1, tb.jump[to_k].view(b, -1)).view(b, 8, 2) == KNIGHT + ENEMY).any(2)
    behind_k = (tb.en_word.index_select(0, first.view(-1)).view(b, 8) >> (tb.dirs + 8)) & 1
    safe = ~hit & ~behind_k.bool()  # [B, 8]: no attacker there, and no slider behind the king on that line
    # the mover's pieces: a word per square and plane; pinned pieces keep only their line, the king its safe steps
    word = tb.word.index_select(0, (code + tb.in_zone).view(-1)).view(b, -1)  # uint8 [B, (S + 1) * 8]
    at = torch.cat([near_k[..., None] * 8 + tb.dirs, ksq[:, None, None] * 8 + tb.dirs[None, None]], 1)  # [B, 9, 8]
    keep = torch.cat([torch.where(pinned[..., None], tb.allow, 255), torch.where(safe, 255, 255 ^ _KING)[:, None]], 1)
    at = at.view(b, -1)
    word.scatter_(1, at, word.gather(1, at) & keep.view(b, -1).to(torch.uint8))
    # board moves, planes 0..7: the piece first met walking back from each destination, if it moves that way
    w = word.gather(1, (entry & 1023).long().view(b, -1)).view(b, 8, s)  # [B, 8, S]
    free = (board <= 0) | (board > ROOK + PROMOTED)  # [B, S]: empty or the opponent's
    dest = free & target
    land_on = dest.to(torch.uint8) * (255 - _KING) + free.to(torch.uint8) * _KING  # any mover / only the king
    go = (w & (entry >> 10).to(torch.uint8) & land_on[:, None]) != 0
    legal = torch.empty(b, 20 + nd, s, dtype=torch.bool, device=board.device)
    torch.ne(w & tb.promote, 0, out=legal[:, 10:18])
    legal[:, 10:18] &= go
    go[:, 0] &= ~(((w[:, 0] & _MUST) != 0) & (tb.rank == 0))  # a pawn or lance on rank a must promote
    legal[:, :8] = go
    knights = pad == KNIGHT
    knights.scatter_(1, torch.where(pinned, near_k, s), False)
    hop = knights.gather(1, tb.land.expand(b, -1)).view(b, 2, s) & dest[:, None]  # planes 8, 9
    legal[:, 8:10] = hop & (tb.rank >= 2)
    legal[:, 18:20] = hop & tb.zone
    if not drops:
        legal[:, 20:] = False
        return legal, checks > 0
    held = (hands[:, 0].gather(1, tb.drops.expand(b, -1)) > 0).long()  # [B, D]
    rows = tb.drop_ok.index_select(0, (held * nd + tb.dirs[:nd]).view(-1)).view(b, nd, s)  # none if not in hand
    ok = legal[:, 20:]
    torch.logical_and(rows, ((board == 0) & target)[:, None], out=ok)
    pawn_files = (board == PAWN).view(b, n, n).any(2)  # [B, files]
    ok[:, 0] &= ~pawn_files.gather(1, tb.file.expand(b, -1))
    if uchifuzume:  # a pawn dropped in front of the opponent's king checks it: is it mate?
        front = tb.around[(board == KING + ENEMY).to(torch.uint8).argmax(1), 5]  # [B]: below their king
        gi = (ok[:, 0].gather(1, front.clamp(max=s - 1)[:, None])[:, 0] & (front < s)).nonzero()[:, 0]
        if len(gi):
            after = board[gi].clone()
            after[torch.arange(len(gi), device=board.device), front[gi]] = PAWN
            reply, _ = generate(*flip(after, hands[gi]), n, drops=False, uchifuzume=False)
            mate = gi[~reply.flatten(1).any(1)]
            ok[mate, 0, front[mate]] = False
    return legal, checks > 0


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
