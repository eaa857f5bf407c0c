"""SAN (envs.chess_san) against python-chess: every legal move of positions chosen for their notation (castling,
en passant, promotion and underpromotion, each kind of disambiguation, check and mate) and of random games, and
parsing SAN back to the same action, leniently as PGN readers do."""

from __future__ import annotations

import random

import pytest
import torch

import envs
from envs.chess_san import board_grid, game_san, legal_uci, move_san, parse_san

chess = pytest.importorskip("chess")

POSITIONS = {
    "kiwipete": "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1",
    "en_passant": "rnbqkbnr/ppp1p1pp/8/3pPp2/8/8/PPPP1PPP/RNBQKBNR w KQkq f6 0 3",
    "promotions": "r3k2r/1P4P1/8/8/8/8/1p4p1/R3K2R w KQkq - 0 1",
    "black_promotes": "4k3/8/8/8/8/8/1p4p1/R3K2R b KQ - 0 1",
    "three_queens": "7k/8/8/8/3Q1Q2/8/3Q4/K7 w - - 0 1",  # file, rank and both disambiguations
    "two_rooks_file": "R6k/8/8/8/8/8/8/R3K3 w - - 0 1",
    "knights": "k7/8/8/2N1N3/8/2N1N3/8/K7 w - - 0 1",
    "mate_in_one": "6k1/5ppp/8/8/8/8/5PPP/3R2K1 w - - 0 1",
    "pinned_knight": "4k3/4r3/8/8/8/2N1N3/4K3/8 w - - 0 1",  # the pinned knight leaves no ambiguity
}


@pytest.mark.parametrize("fen", list(POSITIONS.values()), ids=list(POSITIONS))
def test_every_legal_move_is_named_as_python_chess_names_it(fen):
    game = envs.get_game("chess")
    state = game.from_fen(fen)
    board = chess.Board(fen)
    legal = legal_uci(game, state)
    assert set(legal) == {m.uci() for m in board.legal_moves}
    for uci, action in legal.items():
        san = move_san(game, state, action)
        assert san == board.san(chess.Move.from_uci(uci)), (fen, uci)
        assert parse_san(game, state, san) == action


def test_random_games_against_python_chess():
    game = envs.get_game("chess")
    rng = random.Random(7)
    for _ in range(2):
        state, board, actions = game.init(1), chess.Board(), []
        while not bool(state.done[0]) and len(actions) < 120:
            legal = legal_uci(game, state)
            uci = rng.choice(sorted(legal))
            actions.append(legal[uci])
            board.push_uci(uci)
            state = game.step(state, torch.tensor([legal[uci]]))
        replay = chess.Board()
        expected = []
        for move in board.move_stack:
            expected.append(replay.san(move))
            replay.push(move)
        assert game_san(game, actions) == expected


def test_lenient_parsing_and_errors():
    game = envs.get_game("chess")
    state = game.from_fen("r3k2r/1P4P1/8/8/8/8/8/R3K2R w KQkq - 0 1")
    castle = parse_san(game, state, "O-O")
    assert parse_san(game, state, "0-0") == castle == parse_san(game, state, "O-O+!")
    assert game.move_to_uci(state, 0, castle) == "e1g1"
    assert game.move_to_uci(state, 0, parse_san(game, state, "b8Q")) == "b7b8q"
    assert game.move_to_uci(state, 0, parse_san(game, state, "bxa8=N")) == "b7a8n"
    assert game.move_to_uci(state, 0, parse_san(game, state, "Ra1a7")) == "a1a7"  # more than needed
    assert game.move_to_uci(state, 0, parse_san(game, state, "g7g8r")) == "g7g8r"  # UCI text
    with pytest.raises(ValueError, match="no legal move"):
        parse_san(game, state, "Nf3")
    with pytest.raises(ValueError, match="several legal moves"):
        parse_san(game, game.from_fen(POSITIONS["knights"]), "Nd3")
    with pytest.raises(ValueError, match="bad SAN"):
        parse_san(game, state, "hello")


def test_board_grid_reads_any_size():
    assert board_grid("rnbqk/ppppp/5/PPPPP/RNBQK w - - 0 1")[0] == list("rnbqk")
    grid = board_grid(POSITIONS["kiwipete"])
    assert len(grid) == 8 and all(len(r) == 8 for r in grid) and grid[7][4] == "K"
