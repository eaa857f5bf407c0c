"""Static evaluations for alpha-beta: a value in (-1, 1) of every position, from the view of the player to move.

    k-in-a-row games (tic-tac-toe, connect four, gomoku: games with a `line_length`): open lines, windows of
    `line_length` cells with stones of one side only, weighted 4 ** stones;
    othello: corner / edge square weights plus mobility;
    hex: difference of the two sides' shortest connection distance (0-1 shortest path, own stones free, empty
    cells cost 1);
    go: Tromp-Taylor area score with komi;
    chess and gardner_chess: material and mobility (agents.chess_eval);
    any other game: 0.

A k-in-a-row game's heuristic is found by its `line_length`; the others are the games' own `heuristic` trait
(envs.traits), written beside their rules in envs/.

Dimension letters: B games, M line windows, K cells of a window, H/W board.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from envs.base import Game, board_lines
from envs.traits import heuristic as game_heuristic
from envs.traits import line_length

__all__ = ["heuristic"]


def _line_heuristic(game: Game, state: Any) -> Tensor:
    h, w = game.board_shape
    k = game.line_length
    planes = game.planes(state)
    own, opp = planes[:, 0].reshape(-1, h * w), planes[:, 1].reshape(-1, h * w)
    win = board_lines(h, w, k).to(own.device)  # [M, K]
    n_own, n_opp = own[:, win].sum(-1), opp[:, win].sum(-1)  # [B, M]
    weight = lambda n: torch.where(n > 0, 4.0 ** (n - 1), 0.0)  # noqa: E731
    score = (torch.where(n_opp == 0, weight(n_own), 0.0) - torch.where(n_own == 0, weight(n_opp), 0.0)).sum(-1)
    return torch.tanh(score / (4.0 ** (k - 2) * 2.0))


def heuristic(game: Game, state: Any) -> Tensor:
    """Static value in (-1, 1) of every position, from the view of the player to move (see module docstring).

    Returns:
        FloatTensor[B].
    """
    if line_length(game):
        return _line_heuristic(game, state)
    fn = game_heuristic(game)
    if fn is not None:
        return fn(state)
    return torch.zeros(state.player.shape[0], device=state.player.device)
