"""Chess records as PGN (Portable Game Notation), both ways; Gardner minichess as PGN with a Variant tag.

    text = to_pgn(record)                 # a replay record (arena.records) of a chess game -> one PGN game
    records = read_pgn(text)              # every game of a PGN text -> replay records (moves as action ids)
    records = load_pgn(path)              # the same from a file, with the bounds of every file read here
    for number, record in iter_pgn(path): # a file of any size (a downloaded database), a game at a time

Written: the seven-tag roster (Event, Site, Date, Round, White, Black, Result; the players are the record's
player names in move order), then PlyCount and Termination ("normal" for a game that ended, "unterminated"
otherwise), and the moves in SAN (envs.chess_san) with move numbers, a comment naming how the game ended
("{checkmate}", "{Black resigns}") and the result. Lines stay under 80 characters, as the PGN standard asks.

Gardner minichess (`gardner_chess`, 5x5) has no PGN standard and python-chess cannot represent its board; its
games are written the way variant programs (Fairy-Stockfish's tools, pychess) write variants: the same movetext
with `[Variant "gardner"]`, `[SetUp "1"]` and the start position as `[FEN "rnbqk/ppppp/5/PPPPP/RNBQK w - - 0 1"]`,
and read back here.

Read: tag pairs, SAN or UCI moves, move numbers, comments ({...} and ;...), NAGs ($1), variations (skipped, the
main line is kept), escaped lines (%) and the result. A game from a set-up position (a FEN tag other than the
start) or of another variant (but Gardner) is refused. A game whose moves end in no checkmate or draw but carry a
decisive result is taken as a resignation of the loser; "1/2-1/2" on an unfinished position is a draw by agreement.
PGN files are data from anyone: read in bounded size (MAX_PGN_BYTES), at most MAX_MOVES moves a game, and any
bad move is an error naming the file, the game and the move.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

import envs
from arena.records import MAX_MOVES, make_record
from envs import traits
from envs.chess_san import game_san, parse_san

__all__ = ["to_pgn", "read_pgn", "load_pgn", "iter_pgn", "MAX_PGN_GAME_BYTES", "MAX_PGN_BYTES", "RESULTS"]

MAX_PGN_BYTES = 64 * 2**20
RESULTS = {1.0: "1-0", 0.5: "1/2-1/2", 0.0: "0-1", None: "*"}
_SCORES = {v: k for k, v in RESULTS.items()}
_TAG = re.compile(r'^\[\s*([A-Za-z0-9_+#=:-]+)\s+"(.*)"\s*\]\s*$')  # unescaped quotes too, as python-chess writes
_TOKEN = re.compile(r"\{[^}]*\}?|;[^\n]*|\(|\)|\$\d+|1-0|0-1|1/2-1/2|\*|\d+\.(?:\.\.)?|[^\s{}();$]+")


def _variants() -> dict[str, str]:
    """Game name -> its PGN Variant tag ("": standard chess, no tag), for the games with PGN records."""
    games = envs.find_games(lambda cls: "pgn" in traits.record_formats(cls))
    return {name: traits.variant(cls) or "" for name, cls in games.items()}


def _games_by_tag() -> dict[str, str]:
    """The Variant tag (lower case; "", "standard" and "chess" for standard chess) -> game name."""
    tags = {}
    for name, tag in _variants().items():
        for t in ("", "standard", "chess") if tag == "" else (tag.lower(),):
            tags.setdefault(t, name)
    return tags


def _quote(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def _name(player: Any) -> str:
    return str(player.get("name", "?")) if isinstance(player, dict) else str(player or "?")


def to_pgn(record: dict, *, event: str = "gamelab game", site: str = "gamelab") -> str:
    """One PGN game of a chess record (arena.records format).

    Raises:
        ValueError: the record is not a chess game, or a move is illegal where it stands.
    """
    game_info = record.get("game", {})
    name = game_info.get("name")
    if name not in _variants():
        raise ValueError(f"PGN holds chess games (and Gardner minichess), not {name!r}")
    game = envs.get_game(name, **game_info.get("options", {}))
    moves = [int(m) for m in record["moves"]]
    names = game_san(game, moves)
    state = game.init(1)
    for a in moves:
        state = game.step(state, torch.tensor([a]))
    result = RESULTS.get(record.get("result"), "*")
    ending = game.termination(state)[0]
    if not ending and result in ("1-0", "0-1"):
        ending = f"{'Black' if result == '1-0' else 'White'} resigns"
    elif not ending and result == "1/2-1/2":
        ending = "draw agreed"
    date = str(record.get("time", ""))[:10].replace("-", ".") or _dt.date.today().strftime("%Y.%m.%d")
    players = list(record.get("players") or ["?", "?"])
    tags = [
        ("Event", event),
        ("Site", site),
        ("Date", date),
        ("Round", "-"),
        ("White", _name(players[0])),
        ("Black", _name(players[1])),
        ("Result", result),
        ("PlyCount", str(len(moves))),
        ("Termination", "normal" if result != "*" else "unterminated"),
    ]
    if traits.variant(game):
        tags += [("Variant", traits.variant(game)), ("SetUp", "1"), ("FEN", game.to_fen(game.init(1))[0])]
    words = []
    for n, san in enumerate(names):
        words.append(f"{n // 2 + 1}. {san}" if n % 2 == 0 else san)
    if ending:
        words.append("{" + ending.replace("_", " ") + "}")
    words.append(result)
    lines, line = [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > 79:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    head = "\n".join(f'[{k} "{_quote(v)}"]' for k, v in tags)
    return f"{head}\n\n" + "\n".join(lines) + "\n"


def _split_games(text: str) -> list[tuple[dict[str, str], str]]:
    """(tags, movetext) of each game: a tag line after movetext starts the next game."""
    games: list[tuple[dict[str, str], list[str]]] = []
    tags: dict[str, str] = {}
    body: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("%"):
            continue  # an escaped line
        m = _TAG.match(line)
        if m:
            if body and any(b.strip() for b in body):
                games.append((tags, body))
                tags, body = {}, []
            tags[m.group(1)] = re.sub(r'\\([\\"])', r"\1", m.group(2))
        else:
            body.append(raw)
    if tags or any(b.strip() for b in body):
        games.append((tags, body))
    return [(t, "\n".join(b)) for t, b in games]


def _mainline(movetext: str) -> tuple[list[str], str | None]:
    """The main line's move words and the result token (None where the movetext has none)."""
    depth, moves, result = 0, [], None
    for token in _TOKEN.findall(movetext):
        if token == "(":
            depth += 1
        elif token == ")":
            depth = max(0, depth - 1)
        elif depth or token[0] in "{;$" or re.fullmatch(r"\d+\.(?:\.\.)?", token):
            continue
        elif token in _SCORES:
            result = token
        else:
            moves.append(token)
    return moves, result


def _read_game(tags: dict[str, str], movetext: str, where: str) -> dict:
    """One game (its tags and movetext) as a replay record; errors start with `where`."""
    name = _games_by_tag().get(tags.get("Variant", "").strip().lower())
    if name is None:
        raise ValueError(f"{where}: variant {tags['Variant']!r} is neither chess nor gardner")
    words, result = _mainline(movetext)
    if len(words) > MAX_MOVES:
        raise ValueError(f"{where}: more than {MAX_MOVES} moves")
    game = envs.get_game(name)
    if len(words) >= game.max_moves:  # longer than our cap: read under a higher one (kept in the record)
        game = envs.get_game(name, max_moves=MAX_MOVES)
    fen = tags.get("FEN")
    start = game.to_fen(game.init(1))[0]
    if fen is not None and fen.split()[:4] != start.split()[:4]:
        raise ValueError(f"{where}: starts from a set-up position ({fen}); only games from the start are read")
    state, moves = game.init(1), []
    for n, word in enumerate(words):
        if bool(state.done[0]):
            raise ValueError(f"{where}: move {n // 2 + 1} ({word}) comes after the game ended")
        try:
            action = parse_san(game, state, word)
        except ValueError as err:
            raise ValueError(f"{where}: move {n // 2 + 1}{'.' if n % 2 == 0 else '...'} {word}: {err}") from None
        moves.append(action)
        state = game.step(state, torch.tensor([action]))
    result = tags.get("Result", result) if tags.get("Result") in _SCORES else result
    score = _SCORES.get(result or "*")
    over = bool(state.done[0])
    if over:  # the rules decide; a contradicting tag loses to them
        winner = int(state.winner[0])
        score = 0.5 if winner < 0 else float(winner == 0)
    extra: dict[str, Any] = {}
    if over:
        extra = {"reason": "draw" if score == 0.5 else "win", "termination": game.termination(state)[0]}
    elif score in (0.0, 1.0):
        extra = {"reason": "resignation"}
    elif score == 0.5:
        extra = {"reason": "draw", "termination": "agreement"}
    players = [tags.get("White", "?"), tags.get("Black", "?")]
    record = make_record(game, moves, score, players, **extra)
    record["pgn_tags"] = tags
    return record


def read_pgn(text: str, source: str = "PGN") -> list[dict]:
    """Every game of a PGN text as a replay record (game "chess", moves as action ids, players White and Black).

    Raises:
        ValueError: naming `source`, the game and what is wrong (no games, a set-up position, another variant, a
            move that is no legal move where it stands, too many moves).
    """
    records = [
        _read_game(tags, movetext, f"{source}: game {number}")
        for number, (tags, movetext) in enumerate(_split_games(text), 1)
    ]
    if not records:
        raise ValueError(f"{source}: holds no PGN game")
    return records


def load_pgn(path: str | os.PathLike) -> list[dict]:
    """The games of a PGN file as replay records (see read_pgn).

    Raises:
        FileNotFoundError: no such file.
        ValueError: a file over MAX_PGN_BYTES, not text, or a game read_pgn refuses (naming the file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such PGN file")
    if path.stat().st_size > MAX_PGN_BYTES:
        raise ValueError(f"{path}: larger than {MAX_PGN_BYTES >> 20} MB")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_bytes().decode("latin-1")  # older PGN files are ISO 8859-1, as the standard says
    return read_pgn(text, str(path))


MAX_PGN_GAME_BYTES = 4 * 2**20  # one game of a streamed PGN file


def iter_pgn(path: str | os.PathLike, on_bad: Callable[[str], None] | None = None) -> Iterator[tuple[int, dict]]:
    """(game number from 1, replay record) for every game of a PGN file of any size, read a game at a time.

    Lines are UTF-8, or ISO 8859-1 where they are not. A game is split off where a tag line follows movetext.
    `on_bad`: called with the message of each game that cannot be read, which is then skipped (None: raise).

    Raises:
        FileNotFoundError: no such file.
        ValueError: a game read_pgn refuses, or over MAX_PGN_GAME_BYTES (naming the file and the game number).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such PGN file")
    number, tags, body, size = 0, {}, [], 0

    def finish() -> Iterator[tuple[int, dict]]:
        try:
            record = _read_game(tags, "\n".join(body), f"{path}: game {number}")
        except ValueError as err:
            if on_bad is None:
                raise
            on_bad(str(err))
            return
        yield number, record

    with open(path, "rb") as f:
        for raw in f:
            try:
                line = raw.decode("utf-8-sig" if number == 0 and not tags and not body else "utf-8")
            except UnicodeDecodeError:
                line = raw.decode("latin-1")
            stripped = line.strip()
            if stripped.startswith("%"):
                continue
            m = _TAG.match(stripped)
            if m and any(b.strip() for b in body):
                number += 1
                yield from finish()
                tags, body, size = {}, [], 0
            size += len(raw)
            if size > MAX_PGN_GAME_BYTES:
                raise ValueError(f"{path}: game {number + 1}: longer than {MAX_PGN_GAME_BYTES >> 20} MB")
            if m:
                tags[m.group(1)] = re.sub(r'\\([\\"])', r"\1", m.group(2))
            else:
                body.append(line.rstrip("\r\n"))
    if tags or any(b.strip() for b in body):
        number += 1
        yield from finish()
    if number == 0:
        raise ValueError(f"{path}: holds no PGN game")
