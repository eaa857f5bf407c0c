"""Game traits: what callers may know about a game beyond the protocol, read from the game with defaults.

Every trait is optional. A game that says nothing gets the defaults below, so a game written only against the
protocol of `envs.base` works in every command. Callers in `agents/` and `arena/` read traits through these
functions and never test a game's name.

Attributes and methods a game may define:
    display_name: str                               name shown to people ("Connect Four")
    side_names: tuple[str, str]                      names of player 0 and player 1 ("black", "white")
    side_colors: tuple[RGB, RGB]                     colours of the two sides in pictures
    move_to_text(state, i, action) -> str            the game's own move text (SGF point, UCI, USI, column)
    text_to_move(state, i, text) -> int              its inverse; ValueError naming the text when it is not a move
    move_name(state, i, action) -> str               a move as a move list shows it (shogi: "P-7f"); default: the
                                                     viewer's own name of the action
    option_specs: dict[str, OptionSpec]              the options the constructor takes: type, default, range, help
    opening_plies: int                               random plies that start a fair match
    record_formats: tuple[str, ...]                  record formats besides "jsonl" ("sgf", "pgn", "kif", ...)
    write_record(fmt, record) -> str                 one game record as text of a format of its own ("kif", "csa")
    read_records(fmt, data, source) -> list[dict]    (static) every game of such a file's bytes as records
    record_encodings: dict[str, str]                 the text encoding of a format's files (default UTF-8)
    from_position(text) -> state                     a position from the game's position text (SFEN): a record's
                                                     "start" where it does not begin at the start position
    position_text(state, i) -> str                   its inverse
    engine_protocols: tuple[str, ...]                line protocols it can be played through ("gtp", "uci", "usi")
    heuristic(state) -> Tensor[B]                    a static evaluation in [-1, 1] for the side to move
    compact_moves: bool                              `gamelab agent` speaks the move text, a move list being one
                                                     string of one-character moves ("4453"); else action ids
    variant: str                                     the UCI_Variant / PGN Variant of a chess family ("": chess)
    sgf_game_type: int                               the SGF GM[] number of a game with "sgf" records
    line_length: int                                 k of a k-in-a-row game (also read by alpha-beta)
    tactics_depth: int                               plies of the exact win check a search runs at each new node
                                                     by default (0 none, 1 wins at once, 2 also moves that let the
                                                     opponent win at once; agents.tactics): where it is cheap
    immediate_wins(state) -> Tensor[B, A] bool       legal moves that win at once (default: by stepping each one)
Facts for pictures (the viewer):
    legal_marks: bool                                mark every legal move (few or landing out of sight)
    frame_color: RGB                                 the board fills its picture: coordinates go on a frame of
                                                     this colour around it
    label_offsets: tuple[float, float]               coordinates on the board's own picture, this many cells above
                                                     the first row and left of the first column
    cell_rect(cell, size) -> Rect                    the rectangle of board cell r * W + c (default: action_rect)
    target_rect(state, i, action, size) -> Rect      where `action` puts a stone (default: action_rect)
    winning_cells(state, i, winner) -> list[int]     cells that won (default: complete lines of `line_length`)
    score_lines(state, i) -> list[str]               lines of score shown beside the board (Othello's discs)
    area_score: bool                                 an area-scored game with `area_owner`, `score` and `komi` (Go)

Functions here read attributes of the class as well as of an instance where the trait is a constant.
    ownership(state) -> Tensor[B, H*W]               auxiliary target: each point's owner, +1 mover / -1 opponent / 0
    final_score(state) -> Tensor[B]                  auxiliary target: the score from the mover's view (Go: points)
    input_options: tuple[str, ...]                   options that change only the input planes, not the rules
    scoring_options: tuple[str, ...]                 options that change only how a finished game is scored (komi)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "OptionSpec",
    "display_name",
    "side_names",
    "side_colors",
    "move_to_text",
    "text_to_move",
    "move_name",
    "option_specs",
    "options_help",
    "opening_plies",
    "record_formats",
    "own_record_formats",
    "write_record",
    "read_records",
    "record_encoding",
    "start_state",
    "position_text",
    "engine_protocols",
    "heuristic",
    "compact_moves",
    "variant",
    "sgf_game_type",
    "line_length",
    "tactics_depth",
    "immediate_wins",
    "legal_marks",
    "frame_color",
    "label_offsets",
    "cell_rect",
    "target_rect",
    "winning_cells",
    "score_lines",
    "area_score",
    "ownership",
    "final_score",
    "input_options",
    "scoring_options",
]

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class OptionSpec:
    """One game option: its type, default, allowed range or choices and a one-line help."""

    type: type
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    help: str = ""

    def check(self, name: str, value: Any) -> Any:
        """`value` converted to the option's type and checked; ValueError naming the option and the value."""
        try:
            if self.type is bool and isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                v: Any = value.lower() in ("true", "1", "yes")
            elif self.type is int and isinstance(value, float) and not value.is_integer():
                raise ValueError
            else:
                v = self.type(value)
        except (TypeError, ValueError):
            kind = self.type.__name__
            article = "an" if kind[0] in "aeiou" else "a"
            raise ValueError(f"option {name}={value!r}: {name} must be {article} {kind}") from None
        if self.low is not None and not v >= self.low or self.high is not None and not v <= self.high:  # NaN too
            if self.low is not None and self.high is not None:
                bounds = f"in {self.low:g}..{self.high:g}"
            else:
                bounds = f"at least {self.low:g}" if self.low is not None else f"at most {self.high:g}"
            raise ValueError(f"option {name}={value!r}: {name} must be {bounds}")
        if self.choices is not None and v not in self.choices:
            raise ValueError(f"option {name}={value!r}: {name} must be one of {', '.join(map(str, self.choices))}")
        return v

    def describe(self) -> str:
        """One line for --help: type, default, range or choices, help."""
        if self.choices is not None:
            allowed = "one of " + ", ".join(map(str, self.choices))
        elif self.low is not None or self.high is not None:
            allowed = (f"{self.low:g}" if self.low is not None else "") + ".." + (
                f"{self.high:g}" if self.high is not None else "")  # fmt: skip
        else:
            allowed = self.type.__name__
        return f"{allowed}, default {self.default}" + (f": {self.help}" if self.help else "")


def display_name(game: Any) -> str:
    """The name shown to people (default: the registry name, words capitalised)."""
    return getattr(game, "display_name", None) or game.name.replace("_", " ").title()


def side_names(game: Any) -> tuple[str, str]:
    """Names of player 0 and player 1 (default: "first", "second")."""
    return tuple(getattr(game, "side_names", ("first", "second")))  # type: ignore[return-value]


def side_colors(game: Any) -> tuple[RGB, RGB]:
    """Colours of player 0 and player 1 in pictures (default: near-black and near-white)."""
    return tuple(getattr(game, "side_colors", ((25, 25, 25), (235, 235, 235))))  # type: ignore[return-value]


def move_to_text(game: Any, state: Any, i: int, action: int) -> str:
    """The game's own text of `action` in game `i` of `state` (default: the action id)."""
    fn = getattr(game, "move_to_text", None)
    return fn(state, i, int(action)) if fn is not None else str(int(action))


def text_to_move(game: Any, state: Any, i: int, text: str) -> int:
    """The action id a person's move text means in game `i` of `state`; ValueError naming the text if none."""
    fn = getattr(game, "text_to_move", None)
    if fn is not None:
        return int(fn(state, i, text))
    try:
        action = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a move of {game.name} (moves are action ids)") from None
    if not 0 <= action < game.num_actions:
        raise ValueError(f"{text!r} is not a move of {game.name} (action ids are 0..{game.num_actions - 1})")
    return action


def move_name(game: Any, state: Any, i: int, action: int) -> str | None:
    """The game's own name of `action` in game `i` of `state` for a move list, or None where it has none."""
    fn = getattr(game, "move_name", None)
    return fn(state, i, int(action)) if fn is not None else None


def option_specs(game: Any) -> dict[str, OptionSpec]:
    """The options the game's constructor takes (default: none declared)."""
    return dict(getattr(game, "option_specs", {}) or {})


def options_help(game: Any, name: str, aliases: dict[str, str] | None = None) -> str:
    """The options of game `name` (its class or an instance) as `--help` lists them, one a line: name, type, range
    or choices, default, help ("" if it declares none). `aliases` maps an option to a short flag that stands for it
    (`{"size": "--size"}`)."""
    specs = option_specs(game)
    if not specs:
        return ""
    aliases = aliases or {}
    rows = [
        (f"  {k} {s.type.__name__.upper()}" + (f" (or {aliases[k]})" if k in aliases else ""), s)
        for k, s in specs.items()
    ]
    pad = max(len(left) for left, _ in rows) + 2
    lines = [f"game options of {name} (--option KEY=VALUE, repeatable):"]
    return "\n".join(lines + [left.ljust(pad) + s.describe().removeprefix(f"{s.type.__name__}, ") for left, s in rows])


def opening_plies(game: Any) -> int:
    """Random plies that start each game of a fair match (default 2)."""
    return int(getattr(game, "opening_plies", 2))


def record_formats(game: Any) -> tuple[str, ...]:
    """Record formats the game reads and writes; "jsonl" always."""
    extra = tuple(getattr(game, "record_formats", ()))
    return ("jsonl",) + tuple(f for f in extra if f != "jsonl")


def own_record_formats(game: Any) -> tuple[str, ...]:
    """The record formats the game reads and writes itself (`write_record` / `read_records`): e.g. KIF and CSA."""
    if getattr(game, "write_record", None) is None or getattr(game, "read_records", None) is None:
        return ()
    return tuple(f for f in getattr(game, "record_formats", ()) if f not in ("jsonl", "pgn", "sgf"))


def write_record(game: Any, fmt: str, record: dict) -> str:
    """One game record (arena.records' dict) as text of a format the game writes itself; ValueError if none."""
    if fmt not in own_record_formats(game):
        raise ValueError(f"{game.name} games cannot be written as {fmt.upper()}")
    return game.write_record(fmt, record)


def read_records(game: Any, fmt: str, data: bytes, source: str) -> list[dict]:
    """Every game of a file's bytes in a format the game (or its class) reads itself, as records."""
    if fmt not in own_record_formats(game):
        raise ValueError(f"{source}: {game.name} games cannot be read from {fmt.upper()}")
    return list(game.read_records(fmt, data, source))


def record_encoding(game: Any, fmt: str) -> str:
    """The text encoding of the game's files of format `fmt` (default UTF-8)."""
    return dict(getattr(game, "record_encodings", {}) or {}).get(fmt, "utf-8")


def start_state(game: Any, text: str | None, device: Any = "cpu") -> Any:
    """A batch of one at the position `text` (the game's `from_position`: an SFEN), or at the start for None."""
    if text is None:
        return game.init(1, device)
    fn = getattr(game, "from_position", None)
    if fn is None:
        raise ValueError(f"{game.name} records cannot start from a set-up position")
    return fn(text, device)


def position_text(game: Any, state: Any, i: int) -> str | None:
    """The game's text of position i (an SFEN), or None where the game has none."""
    fn = getattr(game, "position_text", None)
    return fn(state, i) if fn is not None else None


def engine_protocols(game: Any) -> tuple[str, ...]:
    """Line protocols the game can be played through besides `gamelab agent` (default: none)."""
    return tuple(getattr(game, "engine_protocols", ()))


def heuristic(game: Any) -> Any:
    """The game's static evaluation function (state -> Tensor[B] in [-1, 1] for the side to move), or None."""
    return getattr(game, "heuristic", None)


def compact_moves(game: Any) -> bool:
    """Whether `gamelab agent` reads and writes a move list as one string of the game's one-character move texts."""
    return bool(getattr(game, "compact_moves", False))


def variant(game: Any) -> str | None:
    """The UCI_Variant / PGN Variant tag of a chess-family game ("" for standard chess), or None for other games."""
    return getattr(game, "variant", None)


def sgf_game_type(game: Any) -> int | None:
    """The SGF GM[] number of a game with SGF records (Go 1, Gomoku 4, Hex 11), or None."""
    gm = getattr(game, "sgf_game_type", None)
    return int(gm) if gm is not None else None


def line_length(game: Any) -> int | None:
    """k of a k-in-a-row game (Connect Four 4, Gomoku 5), or None."""
    k = getattr(game, "line_length", None)
    return int(k) if k else None


def tactics_depth(game: Any) -> int:
    """Plies of the exact win check a search runs at each new node by default (0: none; agents.tactics)."""
    return int(getattr(game, "tactics_depth", 0) or 0)


def immediate_wins(game: Any) -> Any:
    """A function state -> BoolTensor[B, A]: the legal moves that win at once for the player to move. The game's own
    `immediate_wins` where it has one, else every legal move is stepped ([B * A] states) and its outcome read."""
    own = getattr(game, "immediate_wins", None)
    return own if own is not None else lambda state: _wins_by_stepping(game, state)


def _wins_by_stepping(game: Any, state: Any) -> Any:
    import torch

    from envs import state as state_ops

    legal = game.legal_mask(state)
    b, a = legal.shape
    dev = legal.device
    rep = state_ops.take(state, torch.arange(b, device=dev).repeat_interleave(a))
    child = game.step(rep, torch.arange(a, device=dev).repeat(b), check=False)
    done, value = game.outcome(child)
    won = done & torch.where(child.player == rep.player, value > 0, value < 0)
    return won.view(b, a) & legal


def legal_marks(game: Any) -> bool:
    """Whether pictures mark every legal move (default False: only the one under the mouse)."""
    return bool(getattr(game, "legal_marks", False))


def frame_color(game: Any) -> RGB | None:
    """The colour of a frame around a board that fills its picture, which carries the coordinates; or None."""
    color = getattr(game, "frame_color", None)
    return tuple(color) if color is not None else None  # type: ignore[return-value]


def label_offsets(game: Any) -> tuple[float, float] | None:
    """Where coordinates sit on the board's own picture (cells above the first row, left of the first column)."""
    offsets = getattr(game, "label_offsets", None)
    return (float(offsets[0]), float(offsets[1])) if offsets is not None else None


def cell_rect(game: Any, cell: int, size: tuple[int, int]) -> Any:
    """The pygame.Rect of board cell `cell` (r * W + c) in a picture of `size` (default: the action's rectangle)."""
    fn = getattr(game, "cell_rect", None)
    return fn(cell, size) if fn is not None else game.action_rect(cell, size)


def target_rect(game: Any, state: Any, i: int, action: int, size: tuple[int, int]) -> Any:
    """The rectangle of the cell where `action` puts a stone in game `i` (default: the action's rectangle)."""
    fn = getattr(game, "target_rect", None)
    return fn(state, i, action, size) if fn is not None else game.action_rect(action, size)


def winning_cells(game: Any, state: Any, i: int, winner: int | None) -> list[int]:
    """The board cells that won game `i` for `winner` (0 or 1; None: nobody): the game's own answer, else every
    complete line of `line_length` of the winner's stones (stones stored as 1 and 2 in `state.board`), else []."""
    if winner is None:
        return []
    fn = getattr(game, "winning_cells", None)
    if fn is not None:
        return list(fn(state, i, winner))
    k = line_length(game)
    if k is None or not hasattr(state, "board"):
        return []
    from envs.base import line_windows

    h, w = game.board_shape
    board = state.board[i].reshape(-1).tolist()
    colour = winner + 1
    windows = {tuple(win) for win in line_windows(h, w, k).reshape(-1, k).tolist()}
    return sorted({c for win in windows if all(board[c] == colour for c in win) for c in win})


def score_lines(game: Any, state: Any, i: int) -> list[str]:
    """Lines of score shown beside the board for game `i` (default: none)."""
    fn = getattr(game, "score_lines", None)
    return list(fn(state, i)) if fn is not None else []


def area_score(game: Any) -> bool:
    """Whether the game is area-scored as Go is (`area_owner`, `score` and `komi`)."""
    return bool(getattr(game, "area_score", False))


def ownership(game: Any) -> Any:
    """The game's ownership function (state -> Tensor[B, H*W], the owner of each board cell from the view of the
    player to move: +1 own, -1 opponent, 0 neither), an auxiliary training target read at a game's end; or None."""
    return getattr(game, "ownership", None)


def final_score(game: Any) -> Any:
    """The game's score function (state -> Tensor[B], the score from the view of the player to move), an auxiliary
    training target read at a game's end; or None."""
    return getattr(game, "final_score", None)


def input_options(game: Any) -> tuple[str, ...]:
    """The options that change only the network's input planes, not the rules (default: none): a model trained with
    them plays a game without them, reading its planes from its own game."""
    return tuple(getattr(game, "input_options", ()))


def scoring_options(game: Any) -> tuple[str, ...]:
    """The options that change only how a finished game is scored, not its moves or input planes (default: none):
    a model trained under one value plays under another (Go's komi)."""
    return tuple(getattr(game, "scoring_options", ()))
