"""Board games as batched tensor rules (pgx style), one PettingZoo AEC wrapper for all, and a registry.

    import envs
    game = envs.get_game("connect_four")          # the batched game (see envs/base.py for the protocol)
    env = envs.make_env("go", size=9)             # a PettingZoo AECEnv over a batch of 1
    envs.check_game(game)                         # protocol self-check, raises AssertionError

Games are the built-in ones of `GAMES` plus those of installed packages that declare an entry point in the group
`gamelab.games` (name = game name, value = "module:Class"; see the README's "Writing a game"). Game modules and
plugin entry points are read lazily, on first use; a built-in name wins over a plugin of the same name.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from typing import Any

from envs.base import Game, IllegalActionError

__all__ = [
    "GAMES",
    "ENTRY_POINT_GROUP",
    "known_games",
    "find_games",
    "get_game",
    "game_class",
    "parse_options",
    "make_env",
    "check_game",
    "IllegalActionError",
    "Game",
]

# name -> "module:Class"
GAMES: dict[str, str] = {
    "tictactoe": "envs.tictactoe:TicTacToe",
    "connect_four": "envs.connect_four:ConnectFour",
    "gomoku": "envs.gomoku:Gomoku",
    "othello": "envs.othello:Othello",
    "hex": "envs.hex:Hex",
    "go": "envs.go:Go",
    "chess": "envs.chess:Chess",
    "gardner_chess": "envs.gardner_chess:GardnerChess",
    "shogi": "envs.shogi:Shogi",
    "minishogi": "envs.shogi:Minishogi",
}


ENTRY_POINT_GROUP = "gamelab.games"


@functools.cache
def _plugins() -> dict[str, Any]:
    """Entry points of installed game packages, name -> EntryPoint (read once; built-in names are skipped)."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in GAMES}


def known_games() -> list[str]:
    """Names of every game there is: the built-in ones, then those of installed packages, each group sorted."""
    return sorted(GAMES) + sorted(_plugins())


def find_games(predicate: Any) -> dict[str, type]:
    """Name -> class of the known games whose class satisfies `predicate` (e.g. it has a trait); a plugin that
    does not load is left out."""
    found = {}
    for name in known_games():
        try:
            cls = game_class(name)
        except KeyError:
            continue
        if predicate(cls):
            found[name] = cls
    return found


def game_class(name: str) -> type:
    """The class of registered game `name` (imports its module, or loads its package's entry point).

    Raises:
        KeyError: unknown game name (the message lists the known ones), or a plugin that does not load (the message
            names the entry point and the error).
    """
    if name in GAMES:
        module_name, class_name = GAMES[name].split(":")
        return getattr(importlib.import_module(module_name), class_name)
    ep = _plugins().get(name)
    if ep is None:
        raise KeyError(f"unknown game {name!r}; known games: {', '.join(known_games())}")
    try:
        return ep.load()
    except Exception as err:  # a broken package: its own ImportError, AttributeError, SyntaxError, ...
        raise KeyError(
            f"game {name!r} of entry point {ep.value!r} ({ENTRY_POINT_GROUP}) does not load: "
            f"{type(err).__name__}: {err}"
        ) from None


def get_game(name: str, **options: Any) -> Game:
    """The batched game `name` built with `options` (e.g. get_game("go", size=9, komi=7.5)).

    Raises:
        KeyError: unknown game name.
        ValueError: an option the game does not take (the message lists the ones it does), or a value outside the
            type or range of the game's `option_specs` (the message names the option and the value).
    """
    cls = game_class(name)
    params = inspect.signature(cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    unknown = [k for k in options if k not in params]
    if unknown and not takes_any:
        accepted = ", ".join(k for k, p in params.items() if p.kind is not inspect.Parameter.VAR_POSITIONAL) or "none"
        raise ValueError(f"game {name!r} got unknown option(s) {', '.join(unknown)}; accepted options: {accepted}")
    from envs.traits import option_specs

    specs = option_specs(cls)  # declared types and ranges: a clear error naming the option and the value
    options = {k: specs[k].check(k, v) if k in specs else v for k, v in options.items()}
    return cls(**options)


def parse_options(items: list[str] | None) -> dict[str, Any]:
    """Game options from command-line items ["size=9", "komi=6.5"]: ints, then floats, else strings.

    Raises:
        ValueError: an item that is not KEY=VALUE (the message names it).
    """
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"game option must look like KEY=VALUE, got {item!r}")
        for cast in (int, float):
            try:
                out[key] = cast(value)
                break
            except ValueError:
                continue
        else:
            out[key] = value
    return out


def make_env(name: str, render_mode: str | None = None, **options: Any) -> Any:
    """A PettingZoo AEC environment (envs.env.BoardGameEnv) for game `name` with `options`."""
    from envs.env import BoardGameEnv

    return BoardGameEnv(get_game(name, **options), render_mode=render_mode)


def check_game(game: Game, **kwargs: Any) -> None:
    """Run the protocol self-check of envs.check.check_game on `game` (raises AssertionError on a failure)."""
    from envs.check import check_game as _check_game

    _check_game(game, **kwargs)
