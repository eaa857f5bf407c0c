"""External UCI chess engines (Stockfish and friends) as players: the `uci:COMMAND...[:option=value]` player spec.

    make_player("uci:stockfish", game)                                   # 10000 nodes per move
    make_player("uci:stockfish:Skill Level=0:movetime=50", game)
    make_player("uci:stockfish:UCI_LimitStrength=true:UCI_Elo=1400:nodes=2000", game)
    make_player("uci:fairy-stockfish:Skill Level=-20:depth=1", gardner)  # Gardner minichess: UCI_Variant=gardner

Games: chess, and gardner_chess with an engine that knows variants (Fairy-Stockfish: `apt-get install
fairy-stockfish`): for gardner_chess `setoption name UCI_Variant value gardner` is sent first unless the spec sets
UCI_Variant itself; positions go out as 5x5 FENs and moves come back as UCI text on a1..e5 (envs.gardner_chess).
Fairy-Stockfish's strength knobs: `Skill Level` (-20 to 20, default 20), `UCI_LimitStrength=true` with `UCI_Elo`
(1350 to 2850; calibrated on chess, not on Gardner), and the go limits `depth`, `nodes`, `movetime`; the weakest is
`Skill Level=-20:depth=1`.

The spec is split at colons: the first part is the command line (split like a shell does, so it may carry
arguments), each later part is `name=value`. `nodes`, `movetime` (ms) and `depth` set the `go` command of every move
(default: nodes=10000); any other name is sent as `setoption name NAME value VALUE`, after checking that the engine
offers it (a misspelt option is refused, naming the engine's options). The program is found on PATH
and then in /usr/games and /usr/local/games (where Debian installs Stockfish), by agents.external_engine, which also
bounds every line and every wait: an engine that stops answering raises EngineError naming it.

The engine is started once and kept; each move sends `position fen FEN` (the FEN of the game's state: the engine does
not see earlier positions, so it cannot know of repetitions) and `go`, and reads `bestmove`. A player is called for
a batch of games and asks the engine about each game in turn.
"""

from __future__ import annotations

import subprocess
from typing import Any

import torch
from torch import Tensor

from agents.external_engine import EngineError, EngineProcess, find_engine
from envs import traits

__all__ = ["UciPlayer", "uci_player", "parse_uci_spec"]


GO_KEYS = ("nodes", "movetime", "depth")
DEFAULT_GO = {"nodes": "10000"}
TIMEOUT_S = 120.0  # the longest wait for one line of the engine (as for GTP engines): a Python engine starting on a
# loaded machine took 15 s for its first line at a load average of 8


def parse_uci_spec(arg: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """(command line, setoption values, go settings) of the text after `uci:`.

    Raises:
        ValueError: an empty command, an option without `=`, or a go setting that is not a positive integer.
    """
    command, *parts = arg.split(":")
    if not command.strip():
        raise ValueError("bad player spec 'uci:': expected uci:COMMAND[:name=value...]")
    options: dict[str, str] = {}
    go: dict[str, str] = {}
    for part in parts:
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
    return command.strip(), options, go or dict(DEFAULT_GO)


class UciPlayer:
    """A running UCI engine as a player (see the module docstring).

    Args:
        argv: the engine's program and arguments (agents.external_engine.find_engine).
        options: setoption name -> value.
        go: go settings (nodes, movetime, depth) -> value.
        label: the player's name.
    Raises:
        EngineError: the engine cannot be started or does not answer the UCI handshake.
    """

    protocol = "uci"  # the first command and, with "ok", the end of the handshake ("usi" for USI engines)

    def __init__(self, argv: list[str], options: dict[str, str], go: dict[str, str], label: str):
        self.name = label
        self.search = {"engine": argv, "options": dict(options), "go": dict(go)}
        self.settings = self.search  # what records keep (the Player contract)
        self.checkpoint = None
        self.info: dict | None = None
        self._go = "go " + " ".join(f"{k} {v}" for k, v in go.items())
        self._proc = EngineProcess(argv, label)
        self._proc.send(self.protocol)
        offered = []  # the engine's options, from its `option name NAME type ...` lines
        while (line := self._proc.read_line(TIMEOUT_S)).split()[:1] != [f"{self.protocol}ok"]:
            words = line.split()
            if words[:2] == ["option", "name"] and "type" in words[2:]:
                offered.append(" ".join(words[2 : words.index("type", 2)]))
        unknown = [name for name in options if name.lower() not in {o.lower() for o in offered}]
        if unknown:
            self.close()
            raise EngineError(
                f"{label}: the engine has no option {', '.join(map(repr, unknown))}; "
                f"its options: {', '.join(offered) or 'none'}"
            )
        for name, value in options.items():
            self._proc.send(f"setoption name {name} value {value}")
        self._proc.send("isready")
        self._read_until("readyok")

    def _read_until(self, token: str) -> str:
        """The first engine line whose first word is `token` (each line within TIMEOUT_S)."""
        while True:
            line = self._proc.read_line(TIMEOUT_S)
            if line.split()[:1] == [token]:
                return line

    def __call__(self, game: Any, state: Any) -> Tensor:
        """One engine move per live game (LongTensor[B]; 0 for finished games).

        Raises:
            EngineError: the engine stops answering, or answers with no move or an illegal one.
        """
        fens = game.to_fen(state)
        done = state.done.tolist()
        legal = game.legal_mask(state)
        actions = []
        for i, fen in enumerate(fens):
            if done[i]:
                actions.append(0)
                continue
            self._proc.send(f"position fen {fen}")
            self._proc.send(self._go)
            words = self._read_until("bestmove").split()
            try:
                action = game.uci_to_action(state, i, words[1] if len(words) > 1 else "")
            except ValueError:
                action = -1
            if not (0 <= action < legal.shape[1] and bool(legal[i, action])):
                raise EngineError(f"{self.name}: no legal move in {' '.join(words)!r} for {fen}")
            actions.append(action)
        return torch.tensor(actions, dtype=torch.long, device=state.player.device)

    def close(self) -> None:
        """Ask the engine to quit, then make sure it is gone."""
        try:
            self._proc.send("quit")
            self._proc.proc.wait(2)
        except (EngineError, subprocess.TimeoutExpired):
            pass  # killed below
        self._proc.close()


def uci_player(arg: str, game: Any) -> UciPlayer:
    """The player of spec `uci:ARG` (see the module docstring).

    Raises:
        ValueError: a malformed spec, a game that is not chess or gardner_chess, or an engine that cannot be found
            or started.
    """
    name = getattr(game, "name", None)
    if "uci" not in traits.engine_protocols(game):
        raise ValueError(f"bad player spec 'uci:{arg}': UCI engines play chess and gardner_chess, not {name or game!r}")
    command, options, go = parse_uci_spec(arg)
    variant = traits.variant(game)
    if variant and "UCI_Variant" not in options:
        options = {"UCI_Variant": variant, **options}  # first: a variant resets the engine's position
    try:
        return UciPlayer(find_engine(command), options, go, label=f"uci:{arg}")
    except EngineError as err:
        raise ValueError(str(err)) from None
