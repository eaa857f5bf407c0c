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
    option_specs: dict[str, OptionSpec]              the options the constructor takes: type, default, range, help
    opening_plies: int                               random plies that start a fair match
    record_formats: tuple[str, ...]                  record formats besides "jsonl" ("sgf", "pgn", "kif", ...)
    engine_protocols: tuple[str, ...]                line protocols it can be played through ("gtp", "uci", "usi")
    heuristic(state) -> Tensor[B]                    a static evaluation in [-1, 1] for the side to move
    ownership(state) -> Tensor[B, H*W]               auxiliary target: each point's owner, +1 mover / -1 opponent / 0
    final_score(state) -> Tensor[B]                  auxiliary target: the score from the mover's view (Go: points)
    input_options: tuple[str, ...]                   options that change only the input planes, not the rules
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
    "option_specs",
    "opening_plies",
    "record_formats",
    "engine_protocols",
    "heuristic",
    "ownership",
    "final_score",
    "input_options",
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
            else:
                v = self.type(value)
        except (TypeError, ValueError):
            raise ValueError(f"option {name}={value!r} is not a {self.type.__name__}") from None
        if self.low is not None and v < self.low or self.high is not None and v > self.high:
            raise ValueError(f"option {name}={value!r} is out of range {self.low}..{self.high}")
        if self.choices is not None and v not in self.choices:
            raise ValueError(f"option {name}={value!r} is not one of {', '.join(map(str, self.choices))}")
        return v


def display_name(game: Any) -> str:
    """The name shown to people (default: the registry name, words capitalised)."""
    return getattr(game, "display_name", None) or game.name.replace("_", " ").title()


def side_names(game: Any) -> tuple[str, str]:
    """Names of player 0 and player 1 (default: "first", "second")."""
    return tuple(getattr(game, "side_names", ("first", "second")))  # type: ignore[return-value]


def side_colors(game: Any) -> tuple[RGB, RGB]:
    """Colours of player 0 and player 1 in pictures (default: near-black and near-white)."""
    return tuple(getattr(game, "side_colors", ((30, 30, 30), (235, 235, 235))))  # type: ignore[return-value]


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


def option_specs(game: Any) -> dict[str, OptionSpec]:
    """The options the game's constructor takes (default: none declared)."""
    return dict(getattr(game, "option_specs", {}) or {})


def opening_plies(game: Any) -> int:
    """Random plies that start each game of a fair match (default 2)."""
    return int(getattr(game, "opening_plies", 2))


def record_formats(game: Any) -> tuple[str, ...]:
    """Record formats the game reads and writes; "jsonl" always."""
    extra = tuple(getattr(game, "record_formats", ()))
    return ("jsonl",) + tuple(f for f in extra if f != "jsonl")


def engine_protocols(game: Any) -> tuple[str, ...]:
    """Line protocols the game can be played through besides `gamelab agent` (default: none)."""
    return tuple(getattr(game, "engine_protocols", ()))


def heuristic(game: Any) -> Any:
    """The game's static evaluation function (state -> Tensor[B] in [-1, 1] for the side to move), or None."""
    return getattr(game, "heuristic", None)


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
