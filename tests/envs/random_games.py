"""The oracle loop the game tests share: random games played in one batch of ours and, move for move, in as many
games of a reference implementation (PettingZoo, OpenSpiel), asserting at every ply that both agree.

A test wraps each reference game in a small adapter with these methods, all in our numbering and layout:
    board() -> array (compared with our `state.board[i]`, flattened)
    done() -> bool;  first_result() -> +1 / -1 / 0 for the first mover (once done)
    to_move() -> 0 or 1;  legal() -> bool [A];  play(action) -> None
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import torch

from envs.base import Game


class Reference(Protocol):
    def board(self) -> np.ndarray: ...
    def done(self) -> bool: ...
    def first_result(self) -> float: ...
    def to_move(self) -> int: ...
    def legal(self) -> np.ndarray: ...
    def play(self, action: int) -> None: ...


class PettingZooGame:
    """A PettingZoo AEC env as a reference game.

    Args:
        env: a fresh raw env (reset here).
        board: the env's board in our layout.
        to_pz: our action id -> PettingZoo's (None: the same numbering).
    """

    def __init__(self, env: Any, board: Callable[[Any], np.ndarray], to_pz: np.ndarray | None = None) -> None:
        self.env, self._board, self.to_pz = env, board, to_pz
        env.reset()
        self.agents = env.possible_agents  # first mover first

    def board(self) -> np.ndarray:
        return self._board(self.env)

    def done(self) -> bool:
        return all(self.env.terminations.values())

    def first_result(self) -> float:
        return self.env.rewards[self.agents[0]]

    def to_move(self) -> int:
        return self.agents.index(self.env.agent_selection)

    def legal(self) -> np.ndarray:
        mask = self.env.observe(self.env.agent_selection)["action_mask"]
        return mask if self.to_pz is None else mask[self.to_pz]

    def play(self, action: int) -> None:
        self.env.step(action if self.to_pz is None else int(self.to_pz[action]))


def agree_on_random_games(game: Game, references: Sequence[Reference], seed: int) -> dict[str, Any]:
    """Play len(references) uniformly random games in one batch; assert the references agree at every ply.

    Returns:
        stats: wins_first, wins_second, draws, plies, restricted (plies where some action was illegal).
    """
    n = len(references)
    rng = np.random.default_rng(seed)
    state = game.init(n)
    stats = {"wins_first": 0, "wins_second": 0, "draws": 0, "plies": 0, "restricted": 0}
    open_games = set(range(n))
    while open_games:
        mask = game.legal_mask(state).numpy()
        done, value = (x.numpy() for x in game.outcome(state))
        board, player = state.board.numpy(), state.player.numpy()
        actions = np.zeros(n, dtype=np.int64)
        for i in sorted(open_games):
            ref, where = references[i], f"game {i} move {int(state.moves[i])}"
            assert (board[i].reshape(-1) == np.asarray(ref.board()).reshape(-1)).all(), f"{where}: boards differ"
            assert bool(done[i]) == ref.done(), f"{where}: ends differ"
            if ref.done():
                first = ref.first_result()
                assert (value[i] if player[i] == 0 else -value[i]) == first, f"{where}: winner differs"
                stats["wins_first" if first > 0 else "wins_second" if first < 0 else "draws"] += 1
                assert not mask[i].any()
                open_games.discard(i)
                continue
            assert ref.to_move() == player[i], f"{where}: player to move differs"
            legal = np.asarray(ref.legal(), dtype=bool)
            assert (mask[i] == legal).all(), f"{where}: legal moves differ"
            stats["restricted"] += int(not legal.all())
            actions[i] = rng.choice(np.flatnonzero(mask[i]))
            ref.play(int(actions[i]))
            stats["plies"] += 1
        state = game.step(state, torch.from_numpy(actions))
    return stats
