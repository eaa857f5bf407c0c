"""Standard algebraic notation (SAN) for games with chess rules, on boards of any size (chess 8x8, minichess 5x5).

    san = move_san(game, state, action)               # "Nf3", "exd6", "O-O", "e8=Q+", "Qh4#"
    action = parse_san(game, state, "Nf3")            # the legal action the text names
    names = game_san(game, actions)                   # every move of a game from the start position

The game needs the chess-rules surface: `board_shape`, `to_fen(state)`, `move_to_uci(state, i, action)`,
`legal_mask`, `step`, `termination` (for "#") and the state's `check` flag (for "+"). Everything else is plain Python
on the FEN's board field and UCI texts, so the same code names moves of every such game. SAN is written as the PGN
standard and python-chess write it: piece letter (none for pawns), the from-file and/or from-rank only where another
piece of the same kind could go to the same square (file first; the rank where a piece on the same file could), "x"
for a capture (a pawn names its file), the target square, "=Q" for a promotion, "+" check, "#" checkmate; castling
"O-O" / "O-O-O". Squares are named by file letter and rank number from the bottom left (a1).
"""

from __future__ import annotations

import re
from typing import Any

import torch

__all__ = [
    "board_grid",
    "square_names",
    "legal_uci",
    "san_of",
    "move_san",
    "game_san",
    "parse_san",
]

_SAN = re.compile(r"^([NBRQK])?([a-w])?(\d+)?x?([a-z]\d+)(?:=?([NBRQnbrq]))?$")


def board_grid(fen: str) -> list[list[str]]:
    """The FEN's board as rows of piece letters ("" for empty), the top rank (the last one, black's side) first."""
    rows = []
    for text in fen.split()[0].split("/"):
        row: list[str] = []
        for run in re.findall(r"\d+|\D", text):
            row.extend([""] * int(run) if run.isdigit() else [run])
        rows.append(row)
    return rows


def square_names(shape: tuple[int, int]) -> list[list[str]]:
    """Square names of an H x W board laid out as `board_grid` lays it out: row 0 is rank H, column 0 file a."""
    h, w = shape
    return [[f"{chr(97 + c)}{h - r}" for c in range(w)] for r in range(h)]


def _pieces(fen: str) -> dict[str, str]:
    grid = board_grid(fen)
    names = square_names((len(grid), len(grid[0])))
    return {names[r][c]: p for r, row in enumerate(grid) for c, p in enumerate(row) if p}


def legal_uci(game: Any, state: Any, i: int = 0) -> dict[str, int]:
    """Every legal move of game i as UCI text -> action id ({} once the game is over)."""
    actions = game.legal_mask(state)[i].nonzero()[:, 0].tolist()
    return {game.move_to_uci(state, i, a): a for a in actions}


def _split(uci: str) -> tuple[str, str, str]:
    m = re.fullmatch(r"([a-z]\d+)([a-z]\d+)([qrbn]?)", uci)
    if m is None:
        raise ValueError(f"bad UCI move {uci!r}")
    return m.group(1), m.group(2), m.group(3)


def san_of(fen: str, legal: list[str], uci: str, suffix: str = "") -> str:
    """The SAN of UCI move `uci` in the position `fen`, without playing it.

    Args:
        fen: the position (only its board field is read).
        legal: every legal move of the position as UCI text (for the disambiguation).
        uci: the move, one of `legal`.
        suffix: "+", "#" or "" (whether the move gives check or mate is known only after it).
    """
    pieces = _pieces(fen)
    frm, to, promo = _split(uci)
    piece = pieces.get(frm, "").upper()
    dx = ord(to[0]) - ord(frm[0])
    if piece == "K" and abs(dx) == 2:
        return ("O-O" if dx > 0 else "O-O-O") + suffix
    capture = "x" if to in pieces or (piece == "P" and dx != 0) else ""
    if piece in ("", "P"):
        text = (frm[0] + capture if capture else "") + to + (f"={promo.upper()}" if promo else "")
        return text + suffix
    others = [f for f, t, _ in map(_split, legal) if t == to and f != frm and pieces.get(f, "").upper() == piece]
    same_rank = any(f[1:] == frm[1:] for f in others)
    same_file = any(f[0] == frm[0] for f in others)
    hint = ""
    if others:  # python-chess's rule: the file unless a piece on the same file could go there too, then the rank
        hint = (frm[0] if same_rank or not same_file else "") + (frm[1:] if same_file else "")
    return piece + hint + capture + to + suffix


def _suffix(game: Any, after: Any) -> str:
    if game.termination(after)[0] == "checkmate":
        return "#"
    check = getattr(after, "check", None)
    return "+" if check is not None and bool(check[0]) else ""


def move_san(game: Any, state: Any, action: int, after: Any = None) -> str:
    """The SAN of `action` in game 0 of `state` (a batch of one); `after`: the position it leads to, if known."""
    if after is None:
        after = game.step(state, torch.tensor([int(action)], device=state.player.device))
    legal = list(legal_uci(game, state))
    uci = game.move_to_uci(state, 0, int(action))
    return san_of(game.to_fen(state)[0], legal, uci, _suffix(game, after))


def game_san(game: Any, actions: list[int], device: str = "cpu") -> list[str]:
    """The SAN of every move of a game played from the start position."""
    state, names = game.init(1, device), []
    for a in actions:
        after = game.step(state, torch.tensor([int(a)], device=device))
        names.append(move_san(game, state, a, after))
        state = after
    return names


def parse_san(game: Any, state: Any, text: str) -> int:
    """The legal action of game 0 of `state` that SAN `text` names. Lenient as PGN readers are: check marks,
    annotations ("!", "?"), "0-0" for "O-O", a promotion without "=", more from-square than needed, UCI text.

    Raises:
        ValueError: no legal move, or more than one, fits the text (the message names it).
    """
    legal = legal_uci(game, state)
    fen = game.to_fen(state)[0]
    t = text.strip().rstrip("+#!?")
    t = {"0-0": "O-O", "0-0-0": "O-O-O"}.get(t, t)
    if t in legal:  # UCI text
        return legal[t]
    pieces = _pieces(fen)
    if t in ("O-O", "O-O-O"):
        fits = [a for u, a in legal.items() if san_of(fen, [], u) == t]
    else:
        m = _SAN.match(t)
        if m is None:
            raise ValueError(f"bad SAN move {text!r}")
        piece, file, rank, to, promo = m.groups()
        piece = piece or "P"
        fits = []
        for u, a in legal.items():
            frm, dest, p = _split(u)
            if dest != to or pieces.get(frm, "").upper() != piece or p != (promo or "").lower():
                continue
            if (file and frm[0] != file) or (rank and frm[1:] != rank):
                continue
            if piece == "K" and abs(ord(dest[0]) - ord(frm[0])) == 2:
                continue  # castling is written O-O
            fits.append(a)
    if len(fits) != 1:
        what = "no legal move" if not fits else "several legal moves"
        raise ValueError(f"{what} for SAN {text!r} in {fen}")
    return fits[0]
