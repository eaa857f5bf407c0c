"""The one contract every kind of player keeps, and the simplest kind: uniformly random moves.

A player is a callable `player(game, state) -> LongTensor[B]` that picks one action for every live game of a batch
(finished rows get an arbitrary action), with a few attributes that matches, records and the viewer read. Kinds:
network + search and rollout / uniform MCTS (agents.search_player), alpha-beta (agents.alphabeta), random (here),
the raw network policy (agents.search_player.policy_player), external engines (next to their protocol). Players
are built from text specs in one place, agents.players.make_player. Every player has `close()`: callers close what
they made when done. A person at the viewer is a `HumanPlayer`: it keeps the contract, and its moves come from the
viewer's clicks and keys, not from a call.

Dimension letters: B games, A actions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor

from envs.base import Game, random_actions

__all__ = ["Player", "ThinkingPlayer", "RandomPlayer", "HumanPlayer", "is_human"]


@runtime_checkable
class Player(Protocol):
    """What every player offers.

    Attributes:
        name: a label for tables and records, e.g. "alphabeta:4", "az:1a2b3c4d:200".
        checkpoint: hash of the network file it plays (None when it has none).
        settings: what records keep of its settings (a dict of plain values, e.g. {"depth": 4}), or None.
        info: after each call, what it saw, or None: searching players give {"visits": [B, A], "value": [B],
            "policy": [B, A]}; alpha-beta {"value", "policy", "scores"}.
    """

    name: str
    checkpoint: str | None
    settings: dict | None
    info: dict | None

    def __call__(self, game: Game, state: Any) -> Tensor:
        """One action per game: LongTensor[B] (arbitrary for finished games)."""
        ...

    def close(self) -> None:
        """Release what the player holds (an engine's process); a no-op for in-process players. Idempotent."""
        ...


@runtime_checkable
class ThinkingPlayer(Player, Protocol):
    """A player that can also think in steps: it reports the fraction done and stops early with its best move so far
    (the viewer's background thinking)."""

    def think(self, game: Game, state: Any, should_stop: Callable[[], bool], report: Callable[[float], None]) -> Tensor:
        """Like `__call__`, in steps: report(fraction) after each, return early once should_stop() is true."""
        ...


class RandomPlayer:
    """Plays a uniformly random legal move in every game (seeded)."""

    def __init__(self, seed: int = 0):
        self.name = "random"
        self.checkpoint = None
        self.settings = None
        self.generator = torch.Generator().manual_seed(seed)
        self.info: dict | None = None

    def __call__(self, game: Game, state: Any) -> Tensor:
        """Returns LongTensor[B] (0 for finished games)."""
        return random_actions(game.legal_mask(state).cpu(), self.generator).to(state.player.device)

    def close(self) -> None:
        """Nothing to release (an in-process player)."""


class HumanPlayer:
    """A person's seat (the viewer's "human"): the Player contract with no moves of its own, the viewer reads them
    from clicks and keys. Calling it is an error."""

    human = True

    def __init__(self) -> None:
        self.name = "human"
        self.checkpoint = None
        self.settings = None
        self.info: dict | None = None

    def __call__(self, game: Game, state: Any) -> Tensor:
        """Never answers: a person's moves come from the viewer."""
        raise RuntimeError("a human player's moves come from the viewer, not from a call")

    def close(self) -> None:
        """Nothing to release."""


def is_human(player: Any) -> bool:
    """Whether a seat's player is a person (a `HumanPlayer`)."""
    return bool(getattr(player, "human", False))
