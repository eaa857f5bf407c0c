"""Shogi and minishogi game records as KIF and CSA, both ways (the project's own reader and writer).

    text = write_record(game, "kif", record)      # a record (arena.records' dict) -> one KIF game
    records = read_records("csa", data, "x.csa")  # bytes of a KIF or CSA file -> records (moves as action ids)

KIF (Kifu for Windows' format, as cshogi and shogi GUIs read it): a `#KIF` line, header lines (`開始日時`, `手合割`
平手 for shogi, ５五将棋 for minishogi, `先手`, `後手`), then one line per move, "   1 ７六歩(77)   ( 0:00/00:00:00)":
the destination (full-width file, kanji rank; 同 for a recapture on the last move's square), the piece before it
moves (歩 香 桂 銀 金 角 飛 玉 と 成香 成桂 成銀 馬 龍), 成 for a promotion, 打 for a drop, the origin in
digits. The game's end is a last move line (投了, 詰み, 千日手, 持将棋, 入玉勝ち, 中断) and a line
"まで63手で先手の勝ち".
A start position other than the game's start is a board diagram (BOD) with both hands. `.kif` files are written in
Shift_JIS (cp932), as the format's programs expect; files are read as UTF-8 where they are valid UTF-8, else cp932.
Several games in one file each start with their own `#KIF` line.

CSA (version 2.2): `V2.2`, `N+` and `N-` names, `$START_TIME`, the position (`PI` for the start, else P1..P9 board
lines and `P+`/`P-` hand lines) and the side to move, one move a line ("+7776FU": from, to, the piece after the
move), and the end (%TORYO, %TSUMI, %SENNICHITE, %OUTE_SENNICHITE, %KACHI, %JISHOGI, %MAX_MOVES, %CHUDAN). Games of
one file are separated by a `/` line. CSA has no 5x5 board, so minishogi records are KIF only.

The game's options (max_moves, impasse), where not the defaults, travel in a comment (`#gamelab options ...` in KIF,
`'gamelab options ...` in CSA). Reading replays every move through the game's rules: a move that is not legal, a
piece that is not where the record says, is a ValueError naming the file, the game and the move. Files are data
from anyone: at most MAX_RECORD_TEXT bytes, MAX_GAME_MOVES moves a game.

Ending of a read game: the rules' own end where the moves reach one (checkmate, sennichite, ...); else the record's
last word: 投了 / %TORYO the side to move resigns, 詰み / %TSUMI the side to move loses, 反則負け / %ILLEGAL_MOVE and
切れ負け / %TIME_UP the side to move loses, 千日手 / 持将棋 / %HIKIWAKE / %MAX_MOVES a draw, 入玉勝ち / %KACHI the side
to move wins, 中断 / %CHUDAN or nothing: unfinished.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

import torch

from envs.shogi_moves import ENEMY, HAND_ORDER, KING, PROMOTED
from envs.shogi_notation import START, SfenPosition, format_sfen, parse_sfen, parse_square, square_name

__all__ = ["write_record", "read_records", "MAX_RECORD_TEXT", "MAX_GAME_MOVES", "KIF_NAMES", "CSA_NAMES"]

MAX_RECORD_TEXT = 64 * 2**20
MAX_GAME_MOVES = 10_000
# piece type 1..14 (P L N S B R G K +P +L +N +S +B +R) -> name
KIF_NAMES = ("", "歩", "香", "桂", "銀", "角", "飛", "金", "玉", "と", "成香", "成桂", "成銀", "馬", "龍")
BOD_NAMES = ("", "歩", "香", "桂", "銀", "角", "飛", "金", "玉", "と", "杏", "圭", "全", "馬", "龍")
CSA_NAMES = ("", "FU", "KY", "KE", "GI", "KA", "HI", "KI", "OU", "TO", "NY", "NK", "NG", "UM", "RY")
_WIDE = "０１２３４５６７８９"
_KANJI = "〇一二三四五六七八九十"
_TEAI = {9: "平手", 5: "５五将棋"}
_KIF_ALIASES = {"王": "玉", "竜": "龍", "杏": "成香", "圭": "成桂", "全": "成銀"}
_CSA_END = {
    "checkmate": "%TSUMI",
    "no_legal_move": "%TSUMI",
    "perpetual_check": "%OUTE_SENNICHITE",
    "repetition": "%SENNICHITE",
    "impasse": "%KACHI",
    "max_moves": "%MAX_MOVES",
}
_KIF_END = {
    "checkmate": "詰み",
    "no_legal_move": "詰み",
    "perpetual_check": "千日手",
    "repetition": "千日手",
    "impasse": "入玉勝ち",
    "max_moves": "持将棋",
}
# the last word of a record -> the winner relative to the side to move: 1 it wins, -1 it loses, 0 draw, None unfinished
_KIF_WORDS = {"投了": -1, "詰み": -1, "反則負け": -1, "切れ負け": -1, "反則勝ち": 1, "入玉勝ち": 1,
              "千日手": 0, "持将棋": 0, "中断": None}  # fmt: skip
_CSA_WORDS = {"%TORYO": -1, "%TSUMI": -1, "%ILLEGAL_MOVE": -1, "%TIME_UP": -1, "%KACHI": 1, "%SENNICHITE": 0,
              "%OUTE_SENNICHITE": 0, "%JISHOGI": 0, "%HIKIWAKE": 0, "%MAX_MOVES": 0, "%CHUDAN": None}  # fmt: skip


# ---------------------------------------------------------------------------------------------------------- writing


class _Line:
    """A game followed on plain lists (no rules: the moves of a record to write are taken as legal)."""

    def __init__(self, game: Any, start: str | None) -> None:
        pos = parse_sfen(start or START[game.size], game.size)
        self.game, self.board, self.player = game, list(pos.board), pos.player
        self.hands = [list(pos.hands[0]), list(pos.hands[1])]

    def play(self, action: int) -> str:
        """Play `action`; returns its USI text."""
        n = self.game.size
        usi = self.game.board_usi(self.board, self.player, action)
        enemy = ENEMY if self.player == 1 else 0
        to = parse_square(usi[2:4], n)
        if usi[1] == "*":
            t = "PLNSBRGK".index(usi[0]) + 1
            self.board[to] = t + enemy
            self.hands[self.player][HAND_ORDER.index(t)] -= 1
        else:
            frm = parse_square(usi[:2], n)
            taken = self.board[to] & 15
            if taken:
                self.hands[self.player][HAND_ORDER.index(taken - PROMOTED if taken > KING else taken)] += 1
            self.board[to] = self.board[frm] + (PROMOTED if usi.endswith("+") else 0)
            self.board[frm] = 0
        self.player = 1 - self.player
        return usi

    def sfen(self) -> str:
        return format_sfen(
            SfenPosition(tuple(self.board), (tuple(self.hands[0]), tuple(self.hands[1])), self.player, 1),
            self.game.size,
        )


_Play = tuple[int, int | None, int, int, bool]  # (player, from square (None: a drop), to square, piece type, promotes)


def _plays(game: Any, record: dict) -> tuple[_Line, list[_Play]]:
    """(the game at its end, [(player, from square or None for a drop, to square, the piece type before the move,
    whether it promotes)]) of a record's moves from its start."""
    line = _Line(game, record.get("start"))
    n = game.size
    out: list[_Play] = []
    for k, a in enumerate(record["moves"]):
        board, player = list(line.board), line.player
        try:
            usi = line.play(int(a))
        except (ValueError, TypeError):
            raise ValueError(f"move {k + 1} ({a!r}) moves no piece of the side to move") from None
        to = parse_square(usi[2:4], n)
        if usi[1] == "*":
            out.append((player, None, to, "PLNSBRGK".index(usi[0]) + 1, False))
        else:
            frm = parse_square(usi[:2], n)
            out.append((player, frm, to, board[frm] & 15, usi.endswith("+")))
    return line, out


def _ending(game: Any, record: dict, line: _Line) -> tuple[str, int | None]:
    """(how the game ended, the winner): a termination of the rules (the record's, else that of the final
    position), "resignation" (a decided game without one), or "unfinished"."""
    reason = record.get("termination")
    if record.get("result") is None and record.get("reason") != "resignation":
        return "unfinished", None
    winner = record.get("winner")
    if winner is None and record.get("result") in (0.0, 1.0):
        winner = 0 if record["result"] == 1.0 else 1
    if not reason and record.get("reason") != "resignation":
        final = game.from_sfen(line.sfen())
        reason = game.termination(final)[0]
        if not reason and winner is None:
            reason = "max_moves" if len(record["moves"]) >= game.max_moves else "repetition"
    return reason or "resignation", winner


def _name(player: Any) -> str:
    return str(player.get("name", "?")) if isinstance(player, dict) else str(player or "?")


def _start_time(record: dict) -> str:
    try:
        t = _dt.datetime.strptime(str(record.get("time")), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        t = _dt.datetime.now(_dt.UTC)
    return t.strftime("%Y/%m/%d %H:%M:%S")


def _options_text(game: Any) -> str:
    return " ".join(f"{k}={str(v).lower()}" for k, v in game.options.items())


def _same(a: SfenPosition, b: SfenPosition) -> bool:
    """Whether two positions agree but for the move number."""
    return (a.board, a.hands, a.player) == (b.board, b.hands, b.player)


def _digits(sq: int, n: int) -> str:
    """A square as its file and rank digits ("77"), as KIF origins and CSA moves write it."""
    return f"{sq // n + 1}{sq % n + 1}"


def _board_lines(pos: SfenPosition, n: int, empty: str, marks: str, names: tuple[str, ...]) -> list[str]:
    """Each rank of the board, files from the highest to 1: `empty` for an empty square, else the owner's mark
    (marks[0] the first player's, marks[1] the second's) and the piece's name."""
    rows = []
    for r in range(n):
        row = ""
        for f in range(n - 1, -1, -1):
            code = pos.board[f * n + r]
            row += empty if not code else marks[code >= ENEMY] + names[code & 15]
        rows.append(row)
    return rows


def _kif_square(sq: int, n: int) -> str:
    return _WIDE[sq // n + 1] + _KANJI[sq % n + 1]


def _kif_count(c: int) -> str:
    return _KANJI[c] if c <= 10 else "十" + _KANJI[c - 10]


def _kif_hand(counts: tuple[int, ...]) -> str:
    parts = []
    for t in (6, 5, 7, 4, 3, 2, 1):  # R B G S N L P, as KIF writes a hand
        c = counts[HAND_ORDER.index(t)]
        if c:
            parts.append(BOD_NAMES[t] + (_kif_count(c) if c > 1 else ""))
    return "　".join(parts) or "なし"


def _bod(pos: SfenPosition, n: int) -> list[str]:
    lines = ["後手の持駒：" + _kif_hand(pos.hands[1]), "  " + " ".join(_WIDE[f] for f in range(n, 0, -1))]
    lines.append("+" + "-" * (3 * n) + "+")
    lines += [f"|{row}|{_KANJI[r + 1]}" for r, row in enumerate(_board_lines(pos, n, " ・", " v", BOD_NAMES))]
    lines += ["+" + "-" * (3 * n) + "+", "先手の持駒：" + _kif_hand(pos.hands[0])]
    if pos.player == 1:
        lines.append("後手番")
    return lines


def _write_kif(game: Any, record: dict) -> str:
    n = game.size
    final, plays = _plays(game, record)
    lines = ["#KIF version=2.0 encoding=Shift_JIS"]
    if game.options:
        lines.append(f"#gamelab options {_options_text(game)}")
    lines.append("開始日時：" + _start_time(record))
    start = record.get("start")
    if start and not _same(parse_sfen(start, n), parse_sfen(START[n], n)):
        lines += _bod(parse_sfen(start, n), n)
    else:
        lines.append("手合割：" + _TEAI[n])
    players = list(record.get("players") or ["?", "?"])
    lines += ["先手：" + _name(players[0]), "後手：" + _name(players[1]), "手数----指手---------消費時間--"]
    last_to = None
    for k, (_, frm, to, piece, promote) in enumerate(plays, 1):
        if frm is None:
            text = _kif_square(to, n) + KIF_NAMES[piece] + "打"
        else:
            dest = "同　" if to == last_to else _kif_square(to, n)
            text = f"{dest}{KIF_NAMES[piece]}{'成' if promote else ''}({_digits(frm, n)})"
        last_to = to
        width = sum(2 if ord(ch) > 127 else 1 for ch in text)
        lines.append(f"{k:>4} {text}{' ' * max(1, 14 - width)}( 0:00/00:00:00)")
    ending, winner = _ending(game, record, final)
    count = len(plays)
    if ending == "unfinished":
        word, result = "中断", "中断"
    elif ending == "resignation":
        winner = 1 - final.player if winner is None else int(winner)
        word, result = "投了", f"{'先後'[winner]}手の勝ち"
    else:
        word = _KIF_END[ending]
        result = f"{'先後'[winner]}手の勝ち" if winner is not None else "千日手" if word == "千日手" else "持将棋"
        if ending == "impasse":
            result = f"{'先後'[winner]}手の入玉勝ち"
    lines.append(f"{count + 1:>4} {word}")
    lines.append(f"まで{count}手で{result}")
    return "\n".join(lines) + "\n"


def _csa_rows(pos: SfenPosition, n: int) -> list[str]:
    """The board lines P1..Pn of a CSA position."""
    return [f"P{r + 1}{row}" for r, row in enumerate(_board_lines(pos, n, " * ", "+-", CSA_NAMES))]


def _csa_position(pos: SfenPosition, n: int) -> list[str]:
    if _same(pos, parse_sfen(START[9], 9)):
        return ["PI", "+-"[pos.player]]
    lines = _csa_rows(pos, n)
    for side in (0, 1):
        held = "".join(f"00{CSA_NAMES[t]}" * pos.hands[side][k] for k, t in enumerate(HAND_ORDER))
        if held:
            lines.append(f"P{'+-'[side]}{held}")
    return lines + ["+-"[pos.player]]


def _write_csa(game: Any, record: dict) -> str:
    n = game.size
    if n != 9:
        raise ValueError(f"{game.name} games cannot be written as CSA (a 9x9 format); use .kif")
    final, plays = _plays(game, record)
    players = list(record.get("players") or ["?", "?"])
    lines = ["V2.2", "N+" + _name(players[0]), "N-" + _name(players[1]), "$START_TIME:" + _start_time(record)]
    if game.options:
        lines.append(f"'gamelab options {_options_text(game)}")
    lines += _csa_position(parse_sfen(record.get("start") or START[n], n), n)
    for player, frm, to, piece, promote in plays:
        origin = "00" if frm is None else _digits(frm, n)
        lines.append(f"{'+-'[player]}{origin}{_digits(to, n)}{CSA_NAMES[piece + (PROMOTED if promote else 0)]}")
    ending, _ = _ending(game, record, final)
    lines.append({"unfinished": "%CHUDAN", "resignation": "%TORYO"}.get(ending) or _CSA_END[ending])
    return "\n".join(lines) + "\n"


def write_record(game: Any, fmt: str, record: dict) -> str:
    """One game of a record (arena.records' dict: players, moves as action ids, result, reason; "start": an SFEN
    where it does not start from the game's start) as KIF or CSA text (`fmt` "kif" or "csa"); CSA games of one file
    are joined with "/\\n" (see join_records).

    Raises:
        ValueError: an unknown format, a minishogi game as CSA, or a move that is not legal where it stands.
    """
    if fmt == "kif":
        return _write_kif(game, record)
    if fmt == "csa":
        return _write_csa(game, record)
    raise ValueError(f"no {fmt!r} records for {game.name}; use kif or csa")


# ---------------------------------------------------------------------------------------------------------- reading


def _decode(data: bytes, source: str) -> str:
    if len(data) > MAX_RECORD_TEXT:
        raise ValueError(f"{source}: {len(data)} bytes, more than a record file may hold ({MAX_RECORD_TEXT})")
    if b"\x00" in data:
        raise ValueError(f"{source}: binary data; not a KIF or CSA record")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp932")
        except UnicodeDecodeError:
            raise ValueError(f"{source}: neither UTF-8 nor Shift_JIS text; not a KIF or CSA record") from None
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _options(line: str) -> dict[str, str]:
    out = {}
    for part in line.split()[2:]:
        key, sep, value = part.partition("=")
        if not sep or key not in ("max_moves", "impasse"):
            raise ValueError(f"bad gamelab options {line.strip()!r}")
        out[key] = value
    return out


class _Game:
    """A game being read: its size, options, start and moves, played through the rules as they come."""

    def __init__(self, source: str, number: int) -> None:
        self.where = f"{source}: game {number}"
        self.n = 9
        self.options: dict[str, Any] = {}
        self.start: str | None = None
        self.players = ["?", "?"]
        self.game: Any = None
        self.state: Any = None
        self.moves: list[int] = []
        self.word: int | None | str = "none"  # the last word's winner relative to the mover; "none": no word
        self.last_to: int | None = None
        self.time: str | None = None

    def fail(self, message: str) -> ValueError:
        return ValueError(f"{self.where}: {message}")

    def bad_move(self, text: str, why: str) -> ValueError:
        """The error for the next move (written `text`): its number, its text and what is wrong with it."""
        return self.fail(f"move {len(self.moves) + 1} ({text}): {why}")

    def begin(self) -> None:
        if self.game is not None:
            return
        from envs import get_game

        try:
            self.game = get_game("shogi" if self.n == 9 else "minishogi", **self.options)
            self.state = self.game.from_sfen(self.start) if self.start else self.game.init(1)
        except (KeyError, ValueError) as err:
            raise self.fail(str(err)) from None

    def play(self, usi: str, text: str, piece: int | None) -> None:
        """Play a move given as USI text; `piece` (a type 1..14) must stand on its from-square."""
        self.begin()
        if self.word != "none":
            raise self.fail(f"move {len(self.moves) + 1} ({text}) comes after the end of the game")
        if len(self.moves) >= MAX_GAME_MOVES:
            raise self.fail(f"more than {MAX_GAME_MOVES} moves")
        n, number = self.n, len(self.moves) + 1
        if bool(self.state.done[0]):
            raise self.fail(f"move {number} ({text}) comes after the end of the game")
        if piece is not None and usi[1] != "*":
            there = int(self.state.board[0, parse_square(usi[:2], n)])
            mine = there and (there >= ENEMY) == (int(self.state.player[0]) == 1)
            if not mine or there & 15 != piece:
                raise self.bad_move(text, f"no such piece of the side to move on {usi[:2]}")
        try:
            action = self.game.usi_to_action(self.state, 0, usi)
        except ValueError:
            raise self.fail(f"move {number} ({text}) is illegal in this position") from None
        self.state = self.game.step(self.state, torch.tensor([action]))
        self.moves.append(action)
        self.last_to = parse_square(usi[2:4], n)

    def drop(self, piece: int, to: int, text: str, name: str) -> None:
        """Drop a piece of type `piece` (named `name` in the record) from the mover's hand on square `to`."""
        if piece >= KING:
            raise self.bad_move(text, f"a {name} cannot be dropped")
        self.play(f"{'PLNSBRGK'[piece - 1]}*{square_name(to, self.n)}", text, None)

    def record(self) -> dict:
        """The record (arena.records' keys): game, players, moves, result, winner, reason, termination, start."""
        self.begin()
        final = self.state
        reason = self.game.termination(final)[0]
        mover = int(final.player[0])
        out: dict[str, Any] = {}
        if reason:
            w = int(final.winner[0])
            winner: int | None = None if w < 0 else w
            out.update(reason="draw" if winner is None else "win", termination=reason)
        elif self.word in ("none", None):
            winner, out["reason"] = None, "unfinished"
        elif self.word == 0:
            winner, out["reason"] = None, "draw"
        else:
            winner = mover if self.word == 1 else 1 - mover
            out["reason"] = "resignation" if self.word == -1 else "win"
        result = None if out["reason"] == "unfinished" else 0.5 if winner is None else 1.0 - winner
        info = {"name": self.game.name, "options": dict(self.game.options)}
        rec = {"game": info, "players": self.players, "moves": self.moves, "result": result, "winner": winner}
        rec.update(out)
        if self.start:
            rec["start"] = self.start
        return rec


_KIF_MOVE = re.compile(
    r"^\s*(\d+)\s+(?:(?P<end>投了|詰み|千日手|持将棋|中断|切れ負け|反則勝ち|反則負け|入玉勝ち)|"
    r"(?:(?P<file>[１-９1-9])(?P<rank>[一二三四五六七八九])|(?P<same>同)[\s　]*)"
    r"(?P<piece>成香|成桂|成銀|[歩香桂銀金角飛玉王と杏圭全馬龍竜])(?P<how>打|不成|成)?"
    r"(?:\((?P<ff>\d)(?P<fr>\d)\))?)"
)
_BOD_ROW = re.compile(r"^\|(.*)\|([一二三四五六七八九])")


def _kif_hand_read(text: str, g: _Game) -> tuple[int, ...]:
    counts = [0] * 7
    if text.strip() in ("なし", ""):
        return tuple(counts)
    for item in re.split(r"[\s　]+", text.strip()):
        if not item:
            continue
        name, num = item[0], item[1:]
        if name not in BOD_NAMES[1:8] or name == "玉":
            raise g.fail(f"bad piece in hand {item!r}")
        count = 1
        if num:
            if num == "十":
                count = 10
            elif num.startswith("十") and len(num) == 2 and num[1] in _KANJI[1:10]:
                count = 10 + _KANJI.index(num[1])
            elif len(num) == 1 and num in _KANJI[1:10]:
                count = _KANJI.index(num)
            else:
                raise g.fail(f"bad count in hand {item!r}")
        counts[HAND_ORDER.index(BOD_NAMES.index(name))] += count
    return tuple(counts)


def _split_kif(text: str) -> list[list[str]]:
    games: list[list[str]] = [[]]
    moved = False
    for line in text.split("\n"):
        if line.startswith("#KIF") and moved:
            games.append([])
            moved = False
        games[-1].append(line)
        moved = moved or bool(_KIF_MOVE.match(line))
    return games


def _read_kif(lines: list[str], g: _Game) -> dict:
    board: list[str] = []
    hands: dict[int, tuple[int, ...]] = {}
    gote_first = False
    for line in lines:
        line = line.rstrip()
        if not line or line.startswith("*") or line.startswith("&"):
            continue
        if line.startswith("#"):
            if line.startswith("#gamelab options"):
                g.options = _options(line)
            continue
        if line.startswith("まで"):
            break
        if line.startswith("変化"):
            break  # variations: the main line is kept
        m = _KIF_MOVE.match(line)
        if m:
            if board and g.game is None:
                g.start = _bod_sfen(board, hands, gote_first, g)
            _kif_move(m, g, line.strip())
            continue
        bod = _BOD_ROW.match(line)
        if bod:
            board.append(bod.group(1))
            continue
        if line.strip() == "後手番":
            gote_first = True
            continue
        if "：" in line:
            key, value = line.split("：", 1)
            value = value.strip().rstrip("　")
            if key in ("先手", "下手"):
                g.players[0] = value
            elif key in ("後手", "上手"):
                g.players[1] = value
            elif key == "手合割":
                sizes = {"平手": 9, "５五将棋": 5, "5五将棋": 5, "五五将棋": 5}
                if value not in sizes:
                    raise g.fail(f"handicap {value!r} is not supported (平手 or ５五将棋)")
                g.n = sizes[value]
            elif key in ("先手の持駒", "下手の持駒"):
                hands[0] = _kif_hand_read(value, g)
            elif key in ("後手の持駒", "上手の持駒"):
                hands[1] = _kif_hand_read(value, g)
    if board and g.game is None:
        g.start = _bod_sfen(board, hands, gote_first, g)
    if not board and not any(_KIF_MOVE.match(x) or x.startswith("手合割") for x in lines):
        raise g.fail("no KIF moves, handicap line or board diagram")
    return g.record()


def _bod_sfen(rows: list[str], hands: dict[int, tuple[int, ...]], gote: bool, g: _Game) -> str:
    n = len(rows)
    if n not in (5, 9):
        raise g.fail(f"a board diagram of {n} ranks (5 or 9)")
    g.n = n
    board = [0] * (n * n)
    for r, row in enumerate(rows):
        cells = [row[k : k + 2] for k in range(0, len(row), 2)]
        if len(cells) != n or len(row) != 2 * n:
            raise g.fail(f"board diagram rank {r + 1} {row!r}: expected {n} squares")
        for c, cell in enumerate(cells):
            if cell[1] == "・":
                continue
            name = _KIF_ALIASES.get(cell[1], cell[1])
            name = {"成香": "杏", "成桂": "圭", "成銀": "全"}.get(name, name)
            if name not in BOD_NAMES[1:] or cell[0] not in " v":
                raise g.fail(f"board diagram rank {r + 1}: bad square {cell!r}")
            board[(n - 1 - c) * n + r] = BOD_NAMES.index(name) + (ENEMY if cell[0] == "v" else 0)
    empty = (0,) * 7
    pos = SfenPosition(tuple(board), (hands.get(0, empty), hands.get(1, empty)), int(gote), 1)
    return _checked_sfen(pos, n, g, "board diagram")


def _checked_sfen(pos: SfenPosition, n: int, g: _Game, what: str) -> str:
    """The SFEN of a start position read from a record, read back as a check (an error names `what`)."""
    try:
        text = format_sfen(pos, n)
        parse_sfen(text, n)
    except ValueError as err:
        raise g.fail(f"{what}: {err}") from None
    return text


def _kif_move(m: re.Match, g: _Game, text: str) -> None:
    if m.group("end"):
        g.begin()
        if g.word == "none":
            g.word = _KIF_WORDS[m.group("end")]
        return
    g.begin()
    n = g.n
    if m.group("same"):
        if g.last_to is None:
            raise g.bad_move(text, "同 with no move before")
        to = g.last_to
    else:
        f = _WIDE.index(m.group("file")) if m.group("file") in _WIDE else int(m.group("file"))
        to = (f - 1) * n + _KANJI.index(m.group("rank")) - 1
        if not (f <= n and _KANJI.index(m.group("rank")) <= n):
            raise g.bad_move(text, f"no such square on a {n}x{n} board")
    name = _KIF_ALIASES.get(m.group("piece"), m.group("piece"))
    piece = KIF_NAMES.index(name)
    how = m.group("how") or ""
    if how == "打" or (m.group("ff") == "0" and m.group("fr") == "0"):
        g.drop(piece, to, text, name)
        return
    if m.group("ff") is None:
        raise g.bad_move(text, "no origin square (e.g. ７六歩(77))")
    ff, fr = int(m.group("ff")), int(m.group("fr"))
    if not (1 <= ff <= n and 1 <= fr <= n):
        raise g.bad_move(text, f"no such origin on a {n}x{n} board")
    frm = (ff - 1) * n + fr - 1
    g.play(square_name(frm, n) + square_name(to, n) + ("+" if how == "成" else ""), text, piece)


_CSA_MOVE = re.compile(r"^([+-])(\d)(\d)(\d)(\d)([A-Z]{2})$")


def _read_csa(lines: list[str], g: _Game) -> dict:
    rows: list[str] = []
    hands = [[0] * 7, [0] * 7]
    side = None
    for raw in lines:
        for line in raw.split(","):  # CSA allows several statements on a line, separated by commas
            line = line.strip()
            if not line or line.startswith("V") or line.startswith("T"):
                continue
            if line.startswith("'"):
                if line.startswith("'gamelab options"):
                    g.options = _options(line[1:])
                continue
            if line.startswith("N+") or line.startswith("N-"):
                g.players[0 if line[1] == "+" else 1] = line[2:]
            elif line.startswith("$"):
                continue
            elif line == "PI":
                rows = _csa_rows(parse_sfen(START[9], 9), 9)
            elif line.startswith("PI"):
                raise g.fail(f"handicap positions ({line!r}) are not supported; write the board as P1..P9")
            elif re.match(r"^P[1-9]", line):
                rows.append(line.ljust(29))
            elif line.startswith("P+") or line.startswith("P-"):
                _csa_hand(line, hands, g)
            elif line in ("+", "-") and g.game is None:
                side = line
            elif line.startswith("%"):
                g.begin()
                if line not in _CSA_WORDS and not line.endswith("ILLEGAL_ACTION"):
                    raise g.fail(f"unknown CSA ending {line!r}")
                if g.word == "none":
                    mover = "+-"[int(g.state.player[0])]
                    g.word = _CSA_WORDS.get(line, 1 if line[1] != mover else -1)
            elif line[0] in "+-":
                if g.game is None:
                    g.start = _csa_sfen(rows, hands, side, g)
                _csa_move(line, g)
            else:
                raise g.fail(f"unknown CSA line {line!r}")
    if g.game is None:
        if not rows:
            raise g.fail("no CSA position (PI or P1..P9)")
        g.start = _csa_sfen(rows, hands, side, g)
    return g.record()


def _csa_hand(line: str, hands: list[list[int]], g: _Game) -> None:
    body = line[2:]
    if len(body) % 4:
        raise g.fail(f"bad CSA hand line {line!r}")
    for k in range(0, len(body), 4):
        square, name = body[k : k + 2], body[k + 2 : k + 4]
        if square != "00" or name not in CSA_NAMES[1:8] or name == "OU":
            raise g.fail(f"bad CSA hand line {line!r} (only 00XX pieces in hand)")
        hands[0 if line[1] == "+" else 1][HAND_ORDER.index(CSA_NAMES.index(name))] += 1


def _csa_sfen(rows: list[str], hands: list[list[int]], side: str | None, g: _Game) -> str | None:
    if len(rows) != 9:
        raise g.fail(f"CSA board of {len(rows)} lines (P1..P9)")
    board = [0] * 81
    for r, row in enumerate(rows):
        if row[:2] != f"P{r + 1}" or len(row) != 2 + 27:
            raise g.fail(f"bad CSA board line {row!r}")
        for c in range(9):
            cell = row[2 + 3 * c : 5 + 3 * c]
            if cell == " * ":
                continue
            if cell[0] not in "+-" or cell[1:] not in CSA_NAMES[1:]:
                raise g.fail(f"bad CSA board line {row!r}")
            board[(8 - c) * 9 + r] = CSA_NAMES.index(cell[1:]) + (ENEMY if cell[0] == "-" else 0)
    if side is None:
        raise g.fail("no side to move (+ or -) after the position")
    pos = SfenPosition(tuple(board), (tuple(hands[0]), tuple(hands[1])), 0 if side == "+" else 1, 1)
    text = _checked_sfen(pos, 9, g, "CSA position")
    return None if _same(pos, parse_sfen(START[9], 9)) else text


def _csa_move(line: str, g: _Game) -> None:
    m = _CSA_MOVE.match(line)
    if not m or m.group(6) not in CSA_NAMES[1:]:
        raise g.bad_move(line, "not a CSA move (e.g. +7776FU)")
    g.begin()
    sign, ff, fr, tf, tr, name = m.groups()
    if not g.state.done[0] and "+-"[int(g.state.player[0])] != sign:
        raise g.bad_move(line, "not the side to move")
    piece = CSA_NAMES.index(name)
    if not ("1" <= tf <= "9" and "1" <= tr <= "9"):
        raise g.bad_move(line, "no such square")
    to = (int(tf) - 1) * 9 + int(tr) - 1
    if ff + fr == "00":
        g.drop(piece, to, line, name)
        return
    if not ("1" <= ff <= "9" and "1" <= fr <= "9"):
        raise g.bad_move(line, "no such square")
    frm = (int(ff) - 1) * 9 + int(fr) - 1
    there = int(g.state.board[0, frm]) & 15
    promote = piece > KING and there <= KING
    usi = square_name(frm, 9) + square_name(to, 9) + ("+" if promote else "")
    g.play(usi, line, piece - PROMOTED if promote else piece)


def read_records(fmt: str, data: bytes, source: str) -> list[dict]:
    """Every game of a KIF or CSA file's bytes as records (game, players, moves as action ids, result, winner,
    reason, termination, "start" where not the game's start).

    Raises:
        ValueError: text that is no KIF or CSA game, or a move that is not legal (naming `source`, the game and
            the move).
    """
    text = _decode(data, source)
    if fmt == "kif":
        chunks = [c for c in _split_kif(text) if any(x.strip() for x in c)]
        reader = _read_kif
    elif fmt == "csa":
        chunks = [c.split("\n") for c in re.split(r"\n/[ \t]*\n", "\n" + text + "\n") if c.strip()]
        reader = _read_csa
    else:
        raise ValueError(f"{source}: unknown shogi record format {fmt!r}")
    if not chunks:
        raise ValueError(f"{source}: holds no {fmt.upper()} game")
    return [reader(chunk, _Game(source, k)) for k, chunk in enumerate(chunks, 1)]
