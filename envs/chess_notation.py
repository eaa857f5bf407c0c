"""Chess notation in plain Python: FEN fields to and from bitboards, and UCI move text to and from action ids.

Squares are numbered sq = rank * 8 + file (a1 = 0, h8 = 63); bitboards are Python ints here (see envs.chess_moves
for the tensor side, the 73 move planes and the action ids). A smaller board (`size=5`, Gardner minichess) is the
lower left corner of the same numbering, with no castling and no en passant.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "START_FEN",
    "GARDNER_START_FEN",
    "FenPosition",
    "parse_fen",
    "format_fen",
    "square_name",
    "parse_square",
    "action_of",
    "move_of",
    "PIECE_LETTERS",
]

START_FEN = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1"
GARDNER_START_FEN = "rnbqk/ppppp/5/PPPPP/RNBQK w - - 0 1"
PIECE_LETTERS = "PNBRQK"
_KNIGHT_STEPS = [(x, y) for x in range(-2, 3) for y in range(-2, 3) if abs(x) + abs(y) == 3]
_QUEEN_DIRS = [(x, y) for x in (-1, 0, 1) for y in (-1, 0, 1) if (x, y) != (0, 0)]


@dataclass(frozen=True)
class FenPosition:
    """The fields of a FEN: pieces as 12 bitboards (white P N B R Q K, then black), and the rest."""

    pieces: tuple[int, ...]
    player: int  # 0 white to move, 1 black
    castling: int  # 1 white king side, 2 white queen side, 4 black king side, 8 black queen side (cleaned)
    ep: int  # the en passant square as written (-1 for "-"), kept only where a pawn could have just passed over it
    halfmove: int
    fullmove: int


def square_name(sq: int) -> str:
    """'e4' for sq 28."""
    return "abcdefgh"[sq % 8] + str(sq // 8 + 1)


def parse_square(text: str, size: int = 8) -> int:
    """28 for 'e4' (on a size x size board). Raises ValueError for anything else."""
    if len(text) != 2 or text[0] not in "abcdefgh"[:size] or text[1] not in "12345678"[:size]:
        raise ValueError(f"bad square {text!r}")
    return (int(text[1]) - 1) * 8 + "abcdefgh".index(text[0])


def parse_fen(fen: str, size: int = 8) -> FenPosition:
    """Read a FEN of a size x size board (the move counters may be left out: 0 and 1).

    Castling rights are cleaned as python-chess cleans them (a right needs its rook in the corner and the king on its
    e-file square); an en passant square is kept only if it is empty, on the rank a double step passes over, with the
    pawn that made it in front of it. A smaller board has neither: those fields are read and dropped.

    Raises:
        ValueError: naming what is wrong (not a board of 8 ranks of 8 squares, no single king per side, a bad field).
    """
    parts = fen.split()
    if len(parts) not in (4, 6):
        raise ValueError(f"bad FEN {fen!r}: expected 6 fields (or 4)")
    board, turn, castle, ep = parts[:4]
    ranks = board.split("/")
    if len(ranks) != size:
        raise ValueError(f"bad FEN {fen!r}: expected {size} ranks")
    pieces = [0] * 12
    for i, row in enumerate(ranks):
        rank, file = size - 1 - i, 0
        for ch in row:
            if ch.isdigit() and ch not in "09":
                file += int(ch)
            elif ch.upper() in PIECE_LETTERS and file < size:
                pieces[PIECE_LETTERS.index(ch.upper()) + (0 if ch.isupper() else 6)] |= 1 << (rank * 8 + file)
                file += 1
            else:
                raise ValueError(f"bad FEN {fen!r}: bad rank {row!r}")
        if file != size:
            raise ValueError(f"bad FEN {fen!r}: rank {row!r} does not have {size} squares")
    if bin(pieces[5]).count("1") != 1 or bin(pieces[11]).count("1") != 1:
        raise ValueError(f"bad FEN {fen!r}: each side needs exactly one king")
    if turn not in ("w", "b"):
        raise ValueError(f"bad FEN {fen!r}: side to move must be w or b, got {turn!r}")
    player = 0 if turn == "w" else 1
    if castle != "-" and (not castle or any(c not in "KQkq" for c in castle)):
        raise ValueError(f"bad FEN {fen!r}: bad castling field {castle!r}")
    rights = sum(bit for c, bit in zip("KQkq", (1, 2, 4, 8)) if c in castle) if size == 8 else 0
    for bit, rook_sq, king_sq, side in ((1, 7, 4, 0), (2, 0, 4, 0), (4, 63, 60, 6), (8, 56, 60, 6)):
        if not (pieces[side + 3] >> rook_sq & 1 and pieces[side + 5] >> king_sq & 1):
            rights &= ~bit
    ep_sq = -1
    if ep != "-" and size == 8:
        try:
            ep_sq = parse_square(ep)
        except ValueError:
            raise ValueError(f"bad FEN {fen!r}: bad en passant square {ep!r}") from None
        occupied = 0
        for bb in pieces:
            occupied |= bb
        pusher = ep_sq - 8 if player == 0 else ep_sq + 8  # where the pawn that just moved two squares stands
        their_pawns = pieces[6] if player == 0 else pieces[0]
        right_rank = ep_sq // 8 == (5 if player == 0 else 2)
        if not (right_rank and not occupied >> ep_sq & 1 and their_pawns >> pusher & 1):
            ep_sq = -1
    halfmove, fullmove = 0, 1
    if len(parts) == 6:
        try:
            halfmove, fullmove = int(parts[4]), int(parts[5])
        except ValueError:
            raise ValueError(f"bad FEN {fen!r}: the move counters must be integers") from None
        if halfmove < 0 or fullmove < 0:
            raise ValueError(f"bad FEN {fen!r}: negative move counter")
    return FenPosition(tuple(pieces), player, rights, ep_sq, halfmove, max(fullmove, 1))


def format_fen(pos: FenPosition, size: int = 8) -> str:
    """The FEN of a position on a size x size board (the en passant field as given: pass -1 where no en passant
    capture is legal)."""
    rows = []
    for rank in range(size - 1, -1, -1):
        row, gap = "", 0
        for file in range(size):
            sq = rank * 8 + file
            letter = ""
            for k, bb in enumerate(pos.pieces):
                if bb >> sq & 1:
                    letter = PIECE_LETTERS[k % 6] if k < 6 else PIECE_LETTERS[k % 6].lower()
            if letter:
                row += (str(gap) if gap else "") + letter
                gap = 0
            else:
                gap += 1
        rows.append(row + (str(gap) if gap else ""))
    castle = "".join(c for c, bit in zip("KQkq", (1, 2, 4, 8)) if pos.castling & bit) or "-"
    ep = square_name(pos.ep) if pos.ep >= 0 else "-"
    turn = "wb"[pos.player]
    return f"{'/'.join(rows)} {turn} {castle} {ep} {pos.halfmove} {pos.fullmove}"


def action_of(frm: int, to: int, promotion: str, pawn: bool, size: int = 8) -> int:
    """The action id of a move given in the mover's view (squares mirrored for black), on a size x size board.

    Args:
        frm, to: squares in the mover's view.
        promotion: '', or one of 'q', 'r', 'b', 'n'.
        pawn: the moving piece is a pawn (a move to the last rank without a letter is refused for a pawn).
    Raises:
        ValueError: a move no piece could make (not a queen or knight step, a promotion that is no pawn step to the
            last rank).
    """
    dx, dy = to % 8 - frm % 8, to // 8 - frm // 8
    base = ((frm % 8) * 8 + frm // 8) * 73
    if promotion and not (pawn and to // 8 == size - 1 and dy == 1 and abs(dx) <= 1):
        raise ValueError("a promotion must be a pawn step to the last rank")
    if pawn and to // 8 == size - 1 and not promotion:
        raise ValueError("a pawn step to the last rank needs a promotion piece")
    if promotion in ("n", "b", "r"):
        return base + 64 + 3 * (dx + 1) + "nbr".index(promotion)
    if (dx, dy) in _KNIGHT_STEPS:
        return base + 56 + _KNIGHT_STEPS.index((dx, dy))
    if (dx, dy) != (0, 0) and (dx == 0 or dy == 0 or abs(dx) == abs(dy)):
        dist = max(abs(dx), abs(dy))
        sign = ((dx > 0) - (dx < 0), (dy > 0) - (dy < 0))
        return base + (dist - 1) * 8 + _QUEEN_DIRS.index(sign)
    raise ValueError("no piece moves that way")


def move_of(action: int) -> tuple[int, int, str]:
    """(from, to, underpromotion letter or '') of an action id, squares in the mover's view (the caller adds 'q' for
    a pawn reaching the last rank in a queen plane)."""
    sq, plane = divmod(action, 73)
    frm = (sq % 8) * 8 + sq // 8
    if plane < 56:
        dist, d = divmod(plane, 8)
        dx, dy = _QUEEN_DIRS[d]
        dx, dy, promo = dx * (dist + 1), dy * (dist + 1), ""
    elif plane < 64:
        (dx, dy), promo = _KNIGHT_STEPS[plane - 56], ""
    else:
        k = plane - 64
        dx, dy, promo = k // 3 - 1, 1, "nbr"[k % 3]
    return frm, frm + dy * 8 + dx, promo
