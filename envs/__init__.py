"""Board games as batched tensor rules (pgx style), one PettingZoo AEC wrapper for all, and a registry.

    import envs
    game = envs.get_game("connect_four")          # the batched game (see envs/base.py for the protocol)
    env = envs.make_env("go", size=9)             # a PettingZoo AECEnv over a batch of 1
    envs.check_game(game)                         # protocol self-check, raises AssertionError

Game modules are imported lazily, on first use.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from envs.base import Game, IllegalActionError

__all__ = [
    "GAMES",
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


def game_class(name: str) -> type:
    """The class of registered game `name` (imports its module).

    Raises:
        KeyError: unknown game name (the message lists the known ones).
    """
    if name not in GAMES:
        known = ", ".join(sorted(GAMES))
        raise KeyError(f"unknown game {name!r}; known games: {known}")
    module_name, class_name = GAMES[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def get_game(name: str, **options: Any) -> Game:
    """The batched game `name` built with `options` (e.g. get_game("go", size=9, komi=7.5)).

    Raises:
        KeyError: unknown game name.
        ValueError: an option the game does not take (the message lists the ones it does).
    """
    cls = game_class(name)
    params = inspect.signature(cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    unknown = [k for k in options if k not in params]
    if unknown and not takes_any:
        accepted = ", ".join(k for k, p in params.items() if p.kind is not inspect.Parameter.VAR_POSITIONAL) or "none"
        raise ValueError(f"game {name!r} got unknown option(s) {', '.join(unknown)}; accepted options: {accepted}")
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
