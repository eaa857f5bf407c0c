"""Test helper: a batch of positions reached by playing given move lists from the start."""

from __future__ import annotations

import torch

from envs import state as state_ops


def play_moves(game, moves_per_game: list[list[int]]):
    """State [B]: game i reached by playing moves_per_game[i] from the start (checked steps)."""
    rows = []
    for moves in moves_per_game:
        s = game.init(1)
        for a in moves:
            s = game.step(s, torch.tensor([a]))
        rows.append(s)
    return state_ops.cat(rows)
