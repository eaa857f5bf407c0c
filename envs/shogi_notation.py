"""SFEN and USI text of shogi positions and moves (as cshogi writes them), for envs.shogi.

Squares are absolute here (sente's view): s = (file - 1) * n + (rank - 1), rank a = 1 on gote's side. Piece codes as
envs.shogi_moves with sente the mover: sente 1..14, gote 17..30. Hands are [2][7] (sente, gote) in the order
P L N S B R G.

SFEN: the ranks a..i from top to bottom, each from file n down to file 1; sente's pieces in capitals, promoted ones
with a leading '+'; then 'b' (sente to move) or 'w', the hands ('-' if both are empty: sente's pieces first, each
side in the order R B G S N L P, a count before a piece held more than once) and the move number.
"""

from __future__ import annotations

from dataclasses import dataclass

from envs.shogi_moves import ENEMY, HAND_ORDER, KING, PROMOTED

__all__ = [
    "SfenPosition",
    "parse_sfen",
    "format_sfen",
    "square_name",
    "parse_square",
    "western",
    "START",
    "LETTERS",
]

START = {
    9: "lnsgkgsnl/1r5b1/ppppppppp/9/9/9/PPPPPPPPP/1B5R1/LNSGKGSNL b - 1",
    5: "rbsgk/4p/5/P4/KGSBR b - 1",
}
LETTERS = "PLNSBRGK"  # piece types 1..8 in cshogi's order P L N S B R G K
_HAND_TEXT = "RBGSNLP"
_PIECES = {9: set("PLNSBRGK"), 5: set("PSBRGK")}


@dataclass(frozen=True)
class SfenPosition:
    board: tuple[int, ...]  # S piece codes, absolute squares
    hands: tuple[tuple[int, ...], tuple[int, ...]]  # sente's, gote's counts, order P L N S B R G
    player: int  # 0 sente, 1 gote to move
    ply: int  # the SFEN move number


def square_name(sq: int, n: int) -> str:
    """USI name of absolute square sq ("7g")."""
    return f"{sq // n + 1}{chr(ord('a') + sq % n)}"


def parse_square(text: str, n: int) -> int:
    """Absolute square of a USI square name; ValueError if it is not on the board."""
    if len(text) != 2 or not text[0].isdigit() or not 1 <= int(text[0]) <= n or not "a" <= text[1] < chr(97 + n):
        raise ValueError(f"bad square {text!r}")
    return (int(text[0]) - 1) * n + ord(text[1]) - ord("a")


def parse_sfen(text: str, n: int) -> SfenPosition:
    """A position from SFEN text (the move number may be left out: 1).

    Raises:
        ValueError: malformed SFEN, a piece the board size does not use, or not exactly one king per side.
    """
    parts = text.split()
    if parts and parts[0] == "sfen":
        parts = parts[1:]
    if len(parts) not in (3, 4):
        raise ValueError(f"bad SFEN {text!r}: expected board, side, hands and move number")
    rows = parts[0].split("/")
    if len(rows) != n:
        raise ValueError(f"bad SFEN {text!r}: expected {n} ranks")
    board = [0] * (n * n)
    for r, row in enumerate(rows):
        f, promoted = n - 1, False
        for ch in row:
            if ch.isdigit():
                f -= int(ch)
                continue
            if ch == "+":
                promoted = True
                continue
            if ch.upper() not in _PIECES[n] or f < 0:
                raise ValueError(f"bad SFEN {text!r}: bad rank {row!r}")
            code = LETTERS.index(ch.upper()) + 1
            if promoted and code in (KING, 7):
                raise ValueError(f"bad SFEN {text!r}: {ch} cannot be promoted")
            code += PROMOTED if promoted else 0
            board[f * n + r] = code + (ENEMY if ch.islower() else 0)
            f, promoted = f - 1, False
        if f != -1 or promoted:
            raise ValueError(f"bad SFEN {text!r}: rank {row!r} does not fill {n} files")
    if parts[1] not in ("b", "w"):
        raise ValueError(f"bad SFEN {text!r}: side to move must be b or w")
    hands = [[0] * 7, [0] * 7]
    if parts[2] != "-":
        count = ""
        for ch in parts[2]:
            if ch.isdigit():
                count += ch
                continue
            if ch.upper() not in _PIECES[n] or ch.upper() == "K":
                raise ValueError(f"bad SFEN {text!r}: bad hand {parts[2]!r}")
            hands[1 if ch.islower() else 0][HAND_ORDER.index(LETTERS.index(ch.upper()) + 1)] += int(count or 1)
            count = ""
        if count:
            raise ValueError(f"bad SFEN {text!r}: bad hand {parts[2]!r}")
    try:
        ply = int(parts[3]) if len(parts) == 4 else 1
    except ValueError:
        raise ValueError(f"bad SFEN {text!r}: bad move number") from None
    if ply < 1:
        raise ValueError(f"bad SFEN {text!r}: bad move number")
    for side in (0, 1):
        if board.count(KING + ENEMY * side) != 1:
            raise ValueError(f"bad SFEN {text!r}: each side needs exactly one king")
    return SfenPosition(tuple(board), (tuple(hands[0]), tuple(hands[1])), 0 if parts[1] == "b" else 1, ply)


def format_sfen(pos: SfenPosition, n: int) -> str:
    """SFEN text of a position, exactly as cshogi's ``Board.sfen()`` writes it."""
    rows = []
    for r in range(n):
        row, empty = "", 0
        for f in range(n - 1, -1, -1):
            code = pos.board[f * n + r]
            if code == 0:
                empty += 1
                continue
            if empty:
                row, empty = row + str(empty), 0
            t = code & 15
            letter = ("+" if t > KING else "") + LETTERS[(t - PROMOTED if t > KING else t) - 1]
            row += letter.lower() if code >= ENEMY else letter
        rows.append(row + (str(empty) if empty else ""))
    hand = ""
    for side in (0, 1):
        for ch in _HAND_TEXT:
            c = pos.hands[side][HAND_ORDER.index(LETTERS.index(ch) + 1)]
            if c:
                hand += (str(c) if c > 1 else "") + (ch if side == 0 else ch.lower())
    return f"{'/'.join(rows)} {'bw'[pos.player]} {hand or '-'} {pos.ply}"


def western(board: list[int] | tuple[int, ...], usi: str, legal: set[str], n: int) -> str:
    """A move in Western (Hodges) notation: the piece ("+B" a promoted bishop), its origin only where another piece
    of the same kind could reach the square, "-" a move, "x" a capture, "*" a drop, the square, then "+" a
    promotion and "=" a promotion declined: "P-7f", "Sx3c+", "B*5e", "G6i-5h", "+Rx2b".

    Args:
        board: the absolute board before the move (piece codes).
        usi: the move's USI text.
        legal: the USI texts of every legal move of the position (to find the ambiguous moves and the choices).
    """
    if usi[1] == "*":
        return usi
    frm, to = parse_square(usi[:2], n), parse_square(usi[2:4], n)
    code = board[frm]
    t = code & 15
    letter = ("+" if t > KING else "") + LETTERS[(t - PROMOTED if t > KING else t) - 1]
    rivals = {
        m[:2]
        for m in legal
        if m[1] != "*" and m[2:4] == usi[2:4] and m[:2] != usi[:2] and board[parse_square(m[:2], n)] == code
    }
    origin = usi[:2] if rivals else ""
    suffix = "+" if usi.endswith("+") else "=" if usi + "+" in legal else ""
    return f"{letter}{origin}{'x' if board[to] else '-'}{usi[2:4]}{suffix}"
