"""Outside shogi libraries' games, whose moves per second `gamelab bench envs` measures beside the batched games
(envs.bench.reference_steps_per_s).

One game at a time, random legal moves: the legal move list (the mask), the game end (no legal move; cshogi's
repetition check `is_draw`; python-shogi's `is_game_over`, which includes fourfold repetition), then the move; a game
restarts at its end or after 512 plies (envs.shogi's cap). cshogi (C++) and python-shogi (pure Python) are optional:
a missing one is reported with the reason, never needed at run time.
"""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["REFERENCES", "references"]

MAX_PLIES = 512


def _cshogi_game(rng: random.Random) -> Callable[[], bool]:
    import cshogi

    board = cshogi.Board()

    def move() -> bool:
        moves = list(board.legal_moves)
        if not moves or board.is_draw(16) == cshogi.REPETITION_DRAW or board.move_number > MAX_PLIES:
            board.reset()
            return False
        board.push(rng.choice(moves))
        return True

    return move


def _python_shogi_game(rng: random.Random) -> Callable[[], bool]:
    import shogi

    board = shogi.Board()

    def move() -> bool:
        moves = list(board.legal_moves)
        if not moves or board.is_game_over() or board.move_number > MAX_PLIES:
            board.reset()
            return False
        board.push(rng.choice(moves))
        return True

    return move


REFERENCES: dict[str, dict[str, Callable[[random.Random], Callable[[], bool]]]] = {
    "shogi": {"cshogi": _cshogi_game, "python-shogi": _python_shogi_game},
}


def references(name: str) -> list[str]:
    """The outside libraries measured for game `name`."""
    return list(REFERENCES.get(name, {}))
