"""Moves per second of outside shogi libraries, measured as `gamelab bench envs` measures the batched games.

One game at a time, random legal moves: the legal move list (the mask), the game end (no legal move; cshogi's
repetition check `is_draw`; python-shogi's `is_game_over`, which includes fourfold repetition), then the move; a game
restarts at its end or after 512 plies (envs.shogi's cap). cshogi (C++) and python-shogi (pure Python) are optional:
a missing one is reported with the reason, never needed at run time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

__all__ = ["REFERENCES", "reference_steps_per_s"]

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


def reference_steps_per_s(name: str, library: str, seconds: float, *, seed: int = 0, repeats: int = 3) -> dict:
    """{"env", "steps_per_s", "runs", "steps", "seconds", "games_finished"} of one library, best of `repeats` runs;
    {"env", "available": False, "reason"} when it is not installed."""
    try:
        move = REFERENCES[name][library](random.Random(seed))
    except ImportError as e:
        return {"env": library, "available": False, "reason": f"{library} is not installed ({e})"}
    rates: list[float] = []
    total_steps, total_time, finished = 0, 0.0, 0
    for _ in range(max(1, repeats)):
        steps = 0
        start = time.perf_counter()
        while True:
            if move():
                steps += 1
            else:
                finished += 1
            if steps % 16 == 0 and time.perf_counter() - start >= seconds / max(1, repeats):
                break
        elapsed = time.perf_counter() - start
        rates.append(steps / elapsed)
        total_steps += steps
        total_time += elapsed
    return {
        "env": library,
        "available": True,
        "steps_per_s": max(rates),
        "runs": rates,
        "steps": total_steps,
        "seconds": total_time,
        "games_finished": finished,
    }


def references(name: str) -> list[str]:
    """The outside libraries measured for game `name`."""
    return list(REFERENCES.get(name, {}))


__all__ += ["references"]
