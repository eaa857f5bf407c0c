"""External USI shogi engines as players: the `usi:COMMAND...[:option=value]` player spec.

    make_player("usi:fairy-stockfish:UCI_Variant=minishogi:Skill Level=0:nodes=2000", minishogi)
    make_player("usi:/path/to/YaneuraOu:movetime=100", shogi)

The spec reads as the `uci:` spec (agents.uci_player.parse_uci_spec): the command line, then `name=value` parts;
`nodes`, `movetime` (ms) and `depth` set the `go` command of every move (default nodes=10000), any other name is sent
as `setoption name NAME value VALUE`. Fairy-Stockfish speaks USI when its first command is `usi`; its variant is
still its `UCI_Variant` option, sent first for minishogi unless the spec sets it. Each move sends `position sfen
SFEN` (the engine does not see earlier positions) and `go`, and reads `bestmove`; `bestmove resign` or `win`, or a
move that is not legal here, raises EngineError.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from agents.external_engine import EngineError, find_engine
from agents.uci_player import UciPlayer, parse_uci_spec
from envs import traits

__all__ = ["UsiPlayer", "usi_player"]


class UsiPlayer(UciPlayer):
    """A running USI engine as a player: the UCI player's handshake, option check and shutdown under USI's words,
    positions as SFEN and moves as USI text.

    Raises:
        EngineError: the engine cannot be started, does not answer the USI handshake or lacks an option asked for.
    """

    protocol = "usi"

    def __init__(self, argv: list[str], options: dict[str, str], go: dict[str, str], label: str):
        super().__init__(argv, options, go, label)
        self._proc.send("usinewgame")

    def __call__(self, game: Any, state: Any) -> Tensor:
        """One engine move per live game (LongTensor[B]; 0 for finished games)."""
        sfens = game.to_sfen(state)
        done = state.done.tolist()
        actions = []
        for i, sfen in enumerate(sfens):
            if done[i]:
                actions.append(0)
                continue
            self._proc.send(f"position sfen {sfen}")
            self._proc.send(self._go)
            words = self._read_until("bestmove").split()
            try:
                action = game.usi_to_action(state, i, words[1] if len(words) > 1 else "")
            except ValueError:
                raise EngineError(f"{self.name}: no legal move in {' '.join(words)!r} for {sfen}") from None
            actions.append(action)
        return torch.tensor(actions, dtype=torch.long, device=state.player.device)


def usi_player(arg: str, game: Any) -> UsiPlayer:
    """The player of spec `usi:ARG`.

    Raises:
        ValueError: a malformed spec, a game without USI, or an engine that cannot be found or started.
    """
    if "usi" not in traits.engine_protocols(game):
        raise ValueError(f"bad player spec 'usi:{arg}': USI engines play shogi games, not {game.name!r}")
    command, options, go = parse_uci_spec(arg)
    variant = traits.variant(game)
    if variant is not None and "UCI_Variant" not in options:
        options = {"UCI_Variant": variant, **options}
    try:
        return UsiPlayer(find_engine(command), options, go, label=f"usi:{arg}")
    except EngineError as err:
        raise ValueError(str(err)) from None
