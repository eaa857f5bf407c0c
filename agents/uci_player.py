"""External UCI chess engines (Stockfish and friends) as players: the `uci:COMMAND...[:option=value]` player spec.

    make_player("uci:stockfish", game)                                   # 10000 nodes per move
    make_player("uci:stockfish:Skill Level=0:movetime=50", game)
    make_player("uci:stockfish:UCI_LimitStrength=true:UCI_Elo=1400:nodes=2000", game)

The spec is split at colons: the first part is the command line (split like a shell does, so it may carry
arguments), each later part is `name=value`. `nodes`, `movetime` (ms) and `depth` set the `go` command of every move
(default: nodes=10000); any other name is sent as `setoption name NAME value VALUE`. An engine named without a path
is looked up on PATH and then in /usr/games and /usr/local/games (where Debian installs Stockfish).

The engine is started once and kept; each move sends `position fen FEN` (the FEN of the game's state: the engine does
not see earlier positions, so it cannot know of repetitions) and `go`, and reads `bestmove`. A player is called for
a batch of games and asks the engine about each game in turn.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

__all__ = ["UciPlayer", "uci_player", "find_engine", "parse_uci_spec"]

SEARCH_DIRS = ("/usr/games", "/usr/local/games")
GO_KEYS = ("nodes", "movetime", "depth")
DEFAULT_GO = {"nodes": "10000"}
TIMEOUT_S = 60.0


def find_engine(name: str) -> str:
    """The path of engine executable `name` (a path, a name on PATH, or one in /usr/games).

    Raises:
        ValueError: no such executable (the message names the places searched).
    """
    if "/" in name:
        if Path(name).is_file():
            return name
        raise ValueError(f"UCI engine {name!r} not found")
    found = shutil.which(name) or shutil.which(name, path=":".join(SEARCH_DIRS))
    if not found:
        raise ValueError(f"UCI engine {name!r} not found on PATH or in {', '.join(SEARCH_DIRS)}")
    return found


def parse_uci_spec(arg: str) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """(command line, setoption values, go settings) of the text after `uci:`.

    Raises:
        ValueError: an empty command, an option without `=`, or a go setting that is not a positive integer.
    """
    parts = arg.split(":")
    command = shlex.split(parts[0])
    if not command:
        raise ValueError("bad player spec 'uci:': expected uci:COMMAND[:name=value...]")
    options: dict[str, str] = {}
    go: dict[str, str] = {}
    for part in parts[1:]:
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            raise ValueError(f"bad player spec 'uci:{arg}': expected name=value, got {part!r}")
        if name in GO_KEYS:
            if not (value.isdigit() and int(value) > 0):
                raise ValueError(f"bad player spec 'uci:{arg}': {name} must be a positive integer, got {value!r}")
            go[name] = value
        else:
            options[name] = value
    return command, options, go or dict(DEFAULT_GO)


class UciPlayer:
    """A running UCI engine as a player (see the module docstring).

    Args:
        command: the engine's command line.
        options: setoption name -> value.
        go: go settings (nodes, movetime, depth) -> value.
        label: the player's name.
    Raises:
        ValueError: the engine cannot be started or does not speak UCI (no uciok).
    """

    def __init__(self, command: list[str], options: dict[str, str], go: dict[str, str], label: str):
        self.name = label
        self.search = {"engine": command, "options": dict(options), "go": dict(go)}
        self.info: dict | None = None
        self._go = "go " + " ".join(f"{k} {v}" for k, v in go.items())
        exe = find_engine(command[0])
        try:
            self._proc = subprocess.Popen(
                [exe, *command[1:]],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                bufsize=1,
            )
        except OSError as e:
            raise ValueError(f"cannot start UCI engine {command[0]!r}: {e}") from None
        self._lock = threading.Lock()
        self._send("uci")
        self._read_until("uciok")
        for name, value in options.items():
            self._send(f"setoption name {name} value {value}")
        self._send("isready")
        self._read_until("readyok")

    def _send(self, line: str) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()

    def _read_until(self, token: str) -> str:
        """The first engine line starting with `token` (with a time limit)."""
        out: list[str] = []

        def read() -> None:
            assert self._proc.stdout is not None
            for line in self._proc.stdout:
                if line.split()[:1] == [token]:
                    out.append(line.strip())
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(TIMEOUT_S)
        if not out:
            self.close()
            raise ValueError(f"UCI engine {self.search['engine'][0]!r} gave no {token!r} within {TIMEOUT_S:g} s")
        return out[0]

    def __call__(self, game: Any, state: Any) -> Tensor:
        """One engine move per live game (LongTensor[B]; 0 for finished games)."""
        if game.name != "chess":
            raise ValueError(f"a UCI engine plays chess, not {game.name}")
        fens = game.to_fen(state)
        done = state.done.tolist()
        actions = []
        with self._lock:
            for i, fen in enumerate(fens):
                if done[i]:
                    actions.append(0)
                    continue
                self._send(f"position fen {fen}")
                self._send(self._go)
                words = self._read_until("bestmove").split()
                if len(words) < 2:
                    raise ValueError(f"UCI engine {self.name}: no move in {' '.join(words)!r}")
                action = game.uci_to_action(state, i, words[1])
                if not bool(game.legal_mask(state)[i, action]):
                    raise ValueError(f"UCI engine {self.name} played an illegal move {words[1]} in {fen}")
                actions.append(action)
        return torch.tensor(actions, dtype=torch.long, device=state.player.device)

    def close(self) -> None:
        """Ask the engine to quit and wait for it (killed after 5 s)."""
        proc = getattr(self, "_proc", None)
        if proc is None or proc.poll() is not None:
            return
        try:
            self._send("quit")
            proc.wait(5)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            proc.kill()
            proc.wait()

    def __del__(self) -> None:
        self.close()


def uci_player(arg: str, game: Any) -> UciPlayer:
    """The player of spec `uci:ARG` (see the module docstring).

    Raises:
        ValueError: a malformed spec, a game that is not chess, or an engine that cannot be found or started.
    """
    if game.name != "chess":
        raise ValueError(f"bad player spec 'uci:{arg}': UCI engines play chess, not {game.name}")
    command, options, go = parse_uci_spec(arg)
    return UciPlayer(command, options, go, label=f"uci:{arg}")
