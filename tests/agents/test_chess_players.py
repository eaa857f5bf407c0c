"""Baselines on chess and Gardner minichess: the material-and-mobility heuristic, alpha-beta, random and rollout
players."""

from __future__ import annotations

import torch

from agents.chess_eval import centipawns, chess_heuristic, value_to_cp
from agents.players import make_player
from envs.chess import Chess
from envs.gardner_chess import GardnerChess


def test_heuristic_counts_material_and_mobility_for_the_mover():
    game = Chess()
    up_a_queen = game.from_fen(["4k3/8/8/8/8/8/8/3QK3 w - - 0 1", "4k3/8/8/8/8/8/8/3QK3 b - - 0 1"])
    cp = centipawns(up_a_queen).tolist()
    assert cp[0] > 900 and cp[1] < -900  # material plus the queen's many moves against the king's few
    start = centipawns(game.init(1))
    assert start.tolist() == [0]
    v = chess_heuristic(game, up_a_queen)
    assert -1 < float(v[1]) < 0 < float(v[0]) < 1
    assert abs(value_to_cp(float(v[0])) - cp[0]) <= 1


def test_alphabeta_takes_a_free_queen_and_mates():
    game = Chess()
    state = game.from_fen(["4k3/8/8/3q4/8/8/8/3RK3 w - - 0 1", "6k1/5ppp/8/8/8/8/5PPP/3R2K1 w - - 0 1"])
    moves = make_player("alphabeta:2", game)(game, state).tolist()
    assert game.move_to_uci(state, 0, moves[0]) == "d1d5"
    assert game.move_to_uci(state, 1, moves[1]) == "d1d8"  # back-rank mate


def test_random_and_rollout_play_legal_moves():
    game = Chess(max_moves=24)  # short rollouts: a random chess game is hundreds of plies
    state = game.init(2)
    for spec in ("random", "rollout:3"):
        action = make_player(spec, game)(game, state)
        assert game.legal_mask(state).gather(1, action[:, None]).all()
        state = game.step(state, action)
    assert torch.equal(state.moves, torch.tensor([2, 2]))


def test_gardner_heuristic_and_alphabeta():
    game = GardnerChess()
    assert centipawns(game.init(1), 5).tolist() == [0]
    up_a_rook = game.from_fen(["k4/5/5/5/R3K w - - 0 1", "k4/5/5/5/R3K b - - 0 1"])
    cp = centipawns(up_a_rook, 5).tolist()
    assert cp[0] > 500 and cp[1] < -500
    # Re4 is mate (the knight guards d5 and e4); Qxd4 wins a free queen for black
    state = game.from_fen(["4k/R4/2N2/5/K4 w - - 0 1", "4k/5/3Q1/2q2/K4 b - - 0 1"])
    moves = make_player("alphabeta:2", game)(game, state).tolist()
    assert game.move_to_uci(state, 0, moves[0]) == "a4e4"
    assert game.move_to_uci(state, 1, moves[1]) == "c2d3"
