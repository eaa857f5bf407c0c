"""GTP's words for Go: vertices (D4, pass) and colours, shared by the GTP engine and the engine player.

Vertices: a letter for the column (A-T without I) and the row number counted from the bottom; our action ids count
rows from the top (a = r * size + c), the pass is size * size.
"""

from __future__ import annotations

import re

__all__ = ["COLUMNS", "GtpError", "parse_vertex", "format_vertex", "parse_colour"]

COLUMNS = "ABCDEFGHJKLMNOPQRST"


class GtpError(ValueError):
    """A command that fails: its message is the text of the `?` reply."""


def parse_vertex(text: str, size: int) -> int:
    """The action id of a GTP vertex ("D4", "pass") on a size x size board.

    Raises:
        GtpError: not a vertex of this board.
    """
    t = text.strip().upper()
    if t == "PASS":
        return size * size
    m = re.fullmatch(r"([A-HJ-T])([0-9]{1,2})", t)
    if not m:
        raise GtpError(f"invalid coordinate {text[:20]!r}")
    col, row = COLUMNS.index(m.group(1)), int(m.group(2))
    if col >= size or not 1 <= row <= size:
        raise GtpError(f"invalid coordinate {text!r} (off the {size}x{size} board)")
    return (size - row) * size + col


def format_vertex(action: int, size: int) -> str:
    """The GTP vertex of an action id ("pass" for the pass)."""
    if action == size * size:
        return "pass"
    r, c = divmod(int(action), size)
    return f"{COLUMNS[c]}{size - r}"


def parse_colour(text: str) -> int:
    """0 for black, 1 for white (b, black, w, white; any case).

    Raises:
        GtpError: anything else.
    """
    t = text.strip().lower()
    if t in ("b", "black"):
        return 0
    if t in ("w", "white"):
        return 1
    raise GtpError(f"invalid color {text[:20]!r}")
