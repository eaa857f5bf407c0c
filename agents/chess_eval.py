"""A static evaluation of chess positions (8x8 and Gardner's 5x5): material and mobility, for alpha-beta and the UCI
engine's search.

    cp = material (pawn 100, knight 320, bishop 330, rook 500, queen 900) + 5 * (own legal moves - opponent's)
    value = tanh(cp / SCALE), from the view of the player to move

The opponent's mobility is counted as if it were to move (a null move: no castling or en passant). Dimension
letters: B positions.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from envs import chess_end as ce
from envs import chess_moves as cm

__all__ = ["PIECE_CP", "MOBILITY_CP", "SCALE", "centipawns", "chess_heuristic", "value_to_cp"]

PIECE_CP = (100, 320, 330, 500, 900, 0)
MOBILITY_CP = 5
SCALE = 1000.0  # cp at which the value is tanh(1) = 0.76


def centipawns(state: Any, size: int = 8) -> Tensor:
    """LongTensor[B]: material and mobility balance in centipawns for the player to move (a size x size board:
    8 for chess, 5 for Gardner minichess)."""
    us, them = ce.mover_view(state.pieces, state.player, size)
    weights = torch.tensor(PIECE_CP, device=us.device)
    material = ((cm.popcount(us) - cm.popcount(them)) * weights).sum(1)
    mine = cm.popcount(state.legal).sum(1)
    theirs_legal, _, _ = cm.generate(
        cm.flip(them, size), cm.flip(us, size), torch.zeros_like(state.player), -torch.ones_like(state.player), size
    )
    theirs = cm.popcount(theirs_legal).sum(1)
    return material + MOBILITY_CP * (mine - theirs)


def chess_heuristic(game: Any, state: Any) -> Tensor:
    """FloatTensor[B] in (-1, 1): tanh(centipawns / SCALE) for the player to move (chess and Gardner chess)."""
    return torch.tanh(centipawns(state, game.size).float() / SCALE)


def value_to_cp(value: float) -> int:
    """Centipawns of a value in (-1, 1) made by chess_heuristic (its inverse)."""
    v = max(-0.999999, min(0.999999, float(value)))
    return round(SCALE * math.atanh(v))
