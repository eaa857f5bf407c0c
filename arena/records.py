"""Recorded games: one JSON line per game, loading, replaying, and SGF export for go, gomoku and hex.

A record (one line of a `.jsonl` file under `replays/` or a chosen folder) is a dict:

    {"format": "gamelab-replay", "version": 1, "id": "<uuid hex>", "time": "2026-01-01T12:00:00Z", "duration_s": 1.2,
     "game": {"id": "connect_four_v0", "name": "connect_four", "options": {}, "board_shape": [6, 7], "num_actions": 7},
     "players": [{"name": "alphabeta:4", "checkpoint": null, "search": {"depth": 4}}, {...}],   # in move order
     "moves": [3, 3, 2, ...],                      # action ids from the start position
     "result": 1.0,                                # first player: 1 win, 0.5 draw, 0 loss; null: unfinished
     "winner": 0,                                  # 0 first player, 1 second, null for a draw or an unfinished game
     "move_info": [{"value": 0.1, "top": [[3, 120], [2, 40]]}, null, ...],   # per move, when the mover searched
     ...extra keys (e.g. "reason": "resign", "match": "<match id>")}

`value` is the mover's value estimate from its own point of view; `top` lists the most visited actions with
their visit counts. Lines are appended with one write each followed by a flush, so concurrent writers interleave
whole lines and a crash loses at most the line being written; `load_replays` skips a damaged line with a warning.

Replay and SGF files are data from anyone: the readers never run code, read in bounded pieces and refuse absurd
inputs with an error naming the file (a file over MAX_REPLAY_BYTES or MAX_SGF_BYTES, a line over
MAX_RECORD_BYTES, JSON nested deeper than MAX_JSON_DEPTH, more than MAX_MOVES moves, an SGF board over 52).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import uuid
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "append_records",
    "default_replay_path",
    "iter_sgf_trees",
    "MAX_JSON_DEPTH",
    "MAX_MOVES",
    "MAX_RECORD_BYTES",
    "MAX_REPLAY_BYTES",
    "MAX_SGF_BYTES",
    "load_replays",
    "load_sgf",
    "own_formats",
    "read_own_records",
    "write_own_record",
    "make_record",
    "move_info_from",
    "parse_sgf",
    "player_record",
    "replay_states",
    "to_sgf",
]

FORMAT, VERSION = "gamelab-replay", 1
MAX_REPLAY_BYTES = 256 * 2**20  # one replay file
MAX_RECORD_BYTES = 8 * 2**20  # one line (a long go game with search info is about 0.1 MB)
MAX_JSON_DEPTH = 32  # records nest 4 deep
MAX_MOVES = 10_000  # far longer than any game of the registered boards
MAX_SGF_BYTES = 8 * 2**20
_SGF_MAX_SIZE = 52  # SGF points are letter pairs a-z, A-Z
_SGF_GO, _SGF_HEX = 1, 11  # SGF's GM[] numbers with rules of their own: Go's "tt" pass and komi, HexGui's points


def player_record(player: Any) -> dict:
    """What a record keeps about a player (agents.player.Player: its name, checkpoint hash and settings), or about
    a seat named by text (a person: "human")."""
    if isinstance(player, str):
        return {"name": player, "checkpoint": None, "search": None}
    return {"name": str(player.name), "checkpoint": player.checkpoint, "search": player.settings}


def move_info_from(info: dict | None, i: int, top: int = 5) -> dict | None:
    """One move's entry for `move_info` from a searching player's `info` (row `i` of its [B, ...] tensors).

    Args:
        info: `player.info` ({"visits": [B, A], "value": [B], "policy": [B, A]}) or None.
        i: the row of the game in the batch the player was called on.
        top: how many of the most visited actions to keep.
    Returns:
        {"value": float | None, "top": [[action, visits], ...]} or None without info.
    """
    if not info:
        return None
    out: dict[str, Any] = {"value": None, "top": []}
    value = info.get("value")
    if value is not None:
        out["value"] = round(float(value[i]), 4)
    visits = info.get("visits")
    if visits is not None:
        row = visits[i].detach().float().cpu() if hasattr(visits, "detach") else visits[i]
        k = min(top, int(row.shape[0]))
        vals, acts = row.topk(k)
        out["top"] = [[int(a), round(float(v), 3)] for a, v in zip(acts, vals, strict=True) if float(v) > 0]
    return out


def make_record(
    game: Any,
    moves: Sequence[int],
    result: float | None,
    players: Sequence[Any],
    *,
    move_info: Sequence[dict | None] | None = None,
    duration_s: float | None = None,
    **extra: Any,
) -> dict:
    """Build one game record.

    Args:
        game: the game object (its id, name, options, board_shape, num_actions are kept).
        moves: action ids from the start position.
        result: the first player's score (1, 0.5, 0), or None for an unfinished game.
        players: two players (objects with `.name`, or names) in move order.
        move_info: per move an entry from `move_info_from` or None.
        duration_s: wall time of the game.
        **extra: more keys to store (JSON-serializable).
    Returns:
        The record dict.
    """
    if len(players) != 2:
        raise ValueError("a record needs exactly two players, in move order")
    winner = None if result is None or result == 0.5 else (0 if result == 1.0 else 1)
    rec = {
        "format": FORMAT,
        "version": VERSION,
        "id": uuid.uuid4().hex,
        "time": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": None if duration_s is None else round(float(duration_s), 3),
        "game": {
            "id": getattr(game, "id", None),
            "name": game.name,
            "options": dict(getattr(game, "options", {}) or {}),
            "board_shape": list(game.board_shape),
            "num_actions": int(game.num_actions),
        },
        "players": [player_record(p) for p in players],
        "moves": [int(m) for m in moves],
        "result": None if result is None else float(result),
        "winner": winner,
        "move_info": list(move_info) if move_info is not None else [None] * len(moves),
    }
    rec.update(extra)
    return rec


def default_replay_path(directory: str | os.PathLike, game_name: str) -> Path:
    """`<directory>/<game_name>-<YYYYmmdd>.jsonl` (one file per game and day)."""
    day = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d")
    return Path(directory) / f"{game_name}-{day}.jsonl"


def append_records(path: str | os.PathLike, records: Iterable[dict], game: Any = None) -> Path:
    """Append records to a JSONL file, one `write` per line followed by a flush (creates folders as needed); to a
    file of a format `game` writes itself (".kif", ".csa"), in that format, one game per write."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = own_formats().get(path.suffix.lower()) if game is not None else None
    if fmt is not None:
        from envs import traits

        texts = [traits.write_record(game, fmt, rec) for rec in records]  # all written, or none
        with open(path, "a", encoding=traits.record_encoding(game, fmt), errors="replace", newline="\n") as f:
            for text in texts:
                if fmt == "csa" and f.tell() > 0:
                    f.write("/\n")  # CSA's separator between the games of one file
                f.write(text)
                f.flush()
        return path
    with open(path, "a", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")
            f.flush()
    return path


def load_replays(path: str | os.PathLike) -> list[dict]:
    """Read every record of a JSONL replay file (or of every `*.jsonl` file in a folder, by name).

    Blank lines are ignored; a line that is not a JSON object (e.g. cut off by a crash) is skipped with a warning
    naming the file and line.

    Raises:
        ValueError: a file that is not UTF-8 text, or absurdly large, long-lined or deeply nested; a record with
            more than MAX_MOVES moves. The message names the file (and line).
    """
    path = Path(path)
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    out = []
    for file in files:
        size = file.stat().st_size
        if size > MAX_REPLAY_BYTES:
            raise ValueError(f"{file}: {size} bytes, more than a replay file may hold ({MAX_REPLAY_BYTES})")
        with open(file, "rb") as f:
            for lineno, line in enumerate(iter(lambda: f.readline(MAX_RECORD_BYTES + 1), b""), 1):
                rec = _parse_record_line(file, lineno, line)
                if rec is not None:
                    out.append(rec)
    return out


def _parse_record_line(file: Path, lineno: int, raw: bytes) -> dict | None:
    where = f"{file}:{lineno}"
    if len(raw) > MAX_RECORD_BYTES:
        raise ValueError(f"{where}: a line over {MAX_RECORD_BYTES} bytes; not a replay file")
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{where}: not UTF-8 text; a replay file holds one JSON record per line") from None
    if not line.strip():
        return None
    depth = _json_depth(line)
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"{where}: JSON nested {depth} deep (at most {MAX_JSON_DEPTH}); not a game record")
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as e:
        warnings.warn(f"{where}: damaged replay line skipped ({e.msg})", stacklevel=3)
        return None
    if not isinstance(rec, dict) or not isinstance(rec.get("moves"), list) or not isinstance(rec.get("game"), dict):
        warnings.warn(f"{where}: not a game record, skipped", stacklevel=3)
        return None
    if len(rec["moves"]) > MAX_MOVES:
        raise ValueError(f"{where}: {len(rec['moves'])} moves, more than any game has ({MAX_MOVES})")
    return rec


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _json_depth(text: str) -> int:
    """Deepest bracket nesting of a JSON text (strings skipped), without parsing it."""
    depth = deepest = 0
    for m in _JSON_TOKEN.finditer(text):
        ch = m.group()
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def replay_states(record: dict, *, device: str = "cpu", upto: int | None = None) -> tuple[Any, list[Any]]:
    """Rebuild a recorded game.

    Args:
        record: a record from `load_replays` or `make_record`.
        device: where to build the states.
        upto: replay only the first `upto` moves (None: all).
    Returns:
        (game, states): the game object and the states after 0, 1, ..., len(moves) moves (each a batch of one).
    """
    import torch

    from envs import get_game, traits

    game = get_game(record["game"]["name"], **record["game"].get("options", {}))
    state = traits.start_state(game, record.get("start"), device)
    states = [state]
    for a in record["moves"][:upto]:
        state = game.step(state, torch.tensor([int(a)], device=device))
        states.append(state)
    return game, states


# ---------------------------------------------------------------- SGF


def _sgf_point(gm: int, action: int, shape: Sequence[int]) -> str:
    H, W = int(shape[0]), int(shape[1])
    if action == H * W:
        return ""  # pass
    r, c = divmod(int(action), W)
    return f"{chr(97 + c)}{r + 1}" if gm == _SGF_HEX else f"{chr(97 + c)}{chr(97 + r)}"


def _sgf_action(gm: int, point: str, shape: Sequence[int]) -> int:
    H, W = int(shape[0]), int(shape[1])
    if point == "" or (point == "tt" and gm == _SGF_GO and max(H, W) <= 19):
        return H * W
    if gm == _SGF_HEX:
        c, r = ord(point[0]) - 97, int(point[1:]) - 1
    else:
        c, r = ord(point[0]) - 97, ord(point[1]) - 97
    if not (0 <= r < H and 0 <= c < W):
        raise ValueError(f"SGF point {point!r} outside a {H}x{W} board")
    return r * W + c


def _sgf_games() -> dict[str, int]:
    """Game name -> SGF GM[] number, for the games with SGF records (Go 1, Gomoku 4, Hex 11)."""
    from envs import find_games, traits

    games = find_games(lambda cls: "sgf" in traits.record_formats(cls) and traits.sgf_game_type(cls) is not None)
    return {name: traits.sgf_game_type(cls) for name, cls in games.items()}  # type: ignore[misc]


def _and(names: list[str], word: str = "and") -> str:
    return ", ".join(names[:-1]) + f" {word} " + names[-1] if len(names) > 1 else "".join(names)


def _sgf_escape(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("]", "\\]")


def to_sgf(record: dict) -> str:
    """SGF (FF[4]) of a recorded go, gomoku or hex game. The first player is B, the second W.

    Points are `<col letter><row letter>` from the top left (go, gomoku) or `<col letter><row number>` as in HexGui
    (hex); a go pass is an empty move `B[]`. In hex, B (the first player) connects the top and bottom rows.
    """
    g = record["game"]
    name = g["name"]
    games = _sgf_games()
    if name not in games:
        raise ValueError(f"SGF export is for {_and(list(games))}, not {name!r}")
    gm = games[name]
    H, W = g["board_shape"]
    size = f"{W}" if H == W else f"{W}:{H}"
    props = [f"FF[4]GM[{gm}]CA[UTF-8]AP[gamelab:1]SZ[{size}]"]
    if gm == _SGF_GO:
        props.append(f"KM[{g.get('options', {}).get('komi', 7.5)}]RU[Tromp-Taylor]")
    p0, p1 = (p.get("name", "?") for p in record.get("players", [{}, {}]))
    props.append(f"PB[{_sgf_escape(p0)}]PW[{_sgf_escape(p1)}]")
    if record.get("time"):
        props.append(f"DT[{record['time'][:10]}]")
    result = record.get("result")
    if result is not None:
        props.append("RE[0]" if result == 0.5 else f"RE[{'B' if result == 1.0 else 'W'}+]")
    nodes = []
    for k, a in enumerate(record["moves"]):
        color = "B" if k % 2 == 0 else "W"
        nodes.append(f";{color}[{_sgf_point(gm, a, (H, W))}]")
    return "(;" + "".join(props) + "\n" + "\n".join(nodes) + ")\n"


_SGF_PROP = re.compile(r"([A-Z]+)((?:\[(?:[^\]\\]|\\.)*\]\s*)+)", re.S)
_SGF_VALUE = re.compile(r"\[((?:[^\]\\]|\\.)*)\]", re.S)


def load_sgf(path: str | os.PathLike) -> dict:
    """Read and parse an SGF file (see `parse_sgf`); errors name the file.

    Raises:
        ValueError: not UTF-8 text, over MAX_SGF_BYTES, or not a readable go, gomoku or hex game.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_SGF_BYTES:
        raise ValueError(f"{path}: {size} bytes, more than an SGF game file may hold ({MAX_SGF_BYTES})")
    try:
        return parse_sgf(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text; not an SGF file") from None
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


def _sgf_chars(text: str, start: int = 0) -> Iterator[tuple[int, str, bool]]:
    """(index, character, whether it is structure) of SGF text from `start`: structure is `(`, `)` or `;` outside
    a property value `[...]`, in which `\\]` is an escaped bracket."""
    in_value, escape = False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_value:
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == "]":
                in_value = False
            yield i, ch, False
        else:
            in_value = ch == "["
            yield i, ch, ch in "();"


def iter_sgf_trees(text: str) -> Iterator[str]:
    """The top-level game trees of an SGF collection, as text (each for `parse_sgf`)."""
    depth, start = 0, -1
    for i, ch, structure in _sgf_chars(text):
        if not structure:
            continue
        if ch == "(":
            if depth == 0:
                start = i
            depth += 1
        elif ch == ")" and depth > 0:
            depth -= 1
            if depth == 0:
                yield text[start : i + 1]
    if depth > 0 and start >= 0:
        yield text[start:]  # an unclosed last tree: parse_sgf reads what it has


def parse_sgf(text: str) -> dict:
    """Parse the main line of a go, gomoku or hex SGF file.

    Returns:
        {"game": "go"|"gomoku"|"hex", "board_shape": (H, W), "komi": float | None, "players": [PB, PW],
         "result": RE | None, "moves": [action ids], "colors": ["B"|"W", ...]}
    """
    start = text.find("(")
    if start < 0:
        raise ValueError("not an SGF game tree: no '('")
    # nodes of the main line: split on ';' outside property values
    nodes, buf, depth = [], [], 0
    for _, ch, structure in _sgf_chars(text, start + 1):
        if not structure:
            buf.append(ch)
        elif ch == "(":
            depth += 1  # a variation: the main line is the first one, later ones are skipped
            if depth > 1:
                break
        elif ch == ")":
            break
        elif ch == ";":
            if buf:
                nodes.append("".join(buf))
            buf = []
    if buf:
        nodes.append("".join(buf))
    parsed = []
    for node in nodes:
        props: dict[str, list[str]] = {}
        for m in _SGF_PROP.finditer(node):
            vals = [re.sub(r"\\(.)", r"\1", v) for v in _SGF_VALUE.findall(m.group(2))]
            props.setdefault(m.group(1), []).extend(vals)
        parsed.append(props)
    if not parsed:
        raise ValueError("SGF without nodes")
    root = parsed[0]
    gm = int(root.get("GM", ["1"])[0])
    names = {v: k for k, v in _sgf_games().items()}
    if gm not in names:
        raise ValueError(f"SGF game type GM[{gm}] is not {_and(list(names.values()), 'or')}")
    name = names[gm]
    sz = root.get("SZ", ["19"])[0]
    try:
        W, H = (int(x) for x in sz.split(":")) if ":" in sz else (int(sz), int(sz))
    except ValueError:
        raise ValueError(f"SGF board size SZ[{sz[:20]}] is not a number or COLS:ROWS") from None
    if not (1 <= W <= _SGF_MAX_SIZE and 1 <= H <= _SGF_MAX_SIZE):
        raise ValueError(f"SGF board size {W}x{H} is outside 1..{_SGF_MAX_SIZE}")
    if len(parsed) > MAX_MOVES + 1:
        raise ValueError(f"SGF with {len(parsed) - 1} moves, more than any game has ({MAX_MOVES})")
    moves, colors = [], []
    for props in parsed:
        for color in ("B", "W"):
            if color in props:
                moves.append(_sgf_action(gm, props[color][0].strip(), (H, W)))
                colors.append(color)
    return {
        "game": name,
        "board_shape": (H, W),
        "komi": float(root["KM"][0]) if "KM" in root else None,
        "players": [root.get("PB", [None])[0], root.get("PW", [None])[0]],
        "result": root.get("RE", [None])[0],
        "moves": moves,
        "colors": colors,
    }


# ---------------------------------------------------------------- formats a game reads and writes itself (KIF, CSA)


def own_formats() -> dict[str, str]:
    """File extension -> format, for the record formats games read and write themselves (the `write_record` and
    `read_records` traits: ".kif" -> "kif", ".csa" -> "csa")."""
    from envs import find_games, traits

    out: dict[str, str] = {}
    for cls in find_games(lambda cls: bool(traits.own_record_formats(cls))).values():
        for fmt in traits.own_record_formats(cls):
            out.setdefault("." + fmt, fmt)
    return out


def write_own_record(game: Any, fmt: str, record: dict) -> str:
    """One game record as text of a format the game writes itself (KIF, CSA)."""
    from envs import traits

    return traits.write_record(game, fmt, record)


def read_own_records(path: str | os.PathLike, fmt: str) -> list[dict]:
    """Every game of a file in a format games read themselves (KIF, CSA), as records (make_record's keys; "start"
    where a game begins from a set-up position).

    Raises:
        ValueError: an unknown format, a file too large, or a game that cannot be read (naming the file).
    """
    from envs import find_games, get_game, traits

    path = Path(path)
    readers = find_games(lambda cls: fmt in traits.own_record_formats(cls))
    if not readers:
        raise ValueError(f"{path}: no game reads {fmt.upper()} records")
    size = path.stat().st_size
    if size > 64 * MAX_SGF_BYTES:
        raise ValueError(f"{path}: {size} bytes, more than a record file may hold ({64 * MAX_SGF_BYTES})")
    cls = next(iter(readers.values()))
    out = []
    for rec in traits.read_records(cls, fmt, path.read_bytes(), str(path)):
        game = get_game(rec["game"]["name"], **rec["game"].get("options", {}))
        extra = {k: rec[k] for k in ("reason", "termination", "start") if rec.get(k) is not None}
        out.append(make_record(game, rec["moves"], rec["result"], rec["players"], source=fmt, **extra))
    return out
