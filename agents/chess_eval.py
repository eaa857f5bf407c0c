"""A static evaluation of chess positions (8x8 and Gardner's 5x5): material and mobility, for alpha-beta and the UCI
engine's search.

    cp = material (pawn 100, knight 320, bishop 330, rook 500, queen 900) + 5 * (own legal moves - opponent's)
    value = tanh(cp / SCALE), from the view of the player to move

The opponent's mobility is counted as if it were to move (a null move: no castling or en passant). The evaluation
itself lives with the game (envs.chess: `centipawns`, the games' `heuristic` trait); this module names it for the
engines. Dimension letters: B positions.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from envs.chess import CP_SCALE as SCALE
from envs.chess import MOBILITY_CP, PIECE_CP, centipawns

__all__ = ["PIECE_CP", "MOBILITY_CP", "SCALE", "centipawns", "chess_heuristic", "value_to_cp"]


def chess_heuristic(game: Any, state: Any) -> Tensor:
    """FloatTensor[B] in (-1, 1): tanh(centipawns / SCALE) for the player to move (chess and Gardner chess)."""
    return torch.tanh(centipawns(state, game.size).float() / SCALE)


def value_to_cp(value: float) -> int:
    """Centipawns of a value in (-1, 1) made by chess_heuristic (its inverse)."""
    v = max(-0.999999, min(0.999999, float(value)))
    return round(SCALE * math.atanh(v))
