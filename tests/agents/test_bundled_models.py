"""The models shipped in agents/models: each loads for its game and plays, and they are as strong as the README says.

Oracles: exhaustive minimax over every reachable tic-tac-toe position, the public Connect Four test sets (solver
scores of every move), and alpha-beta search.
"""

import fnmatch
import tomllib
from pathlib import Path

import pytest
import torch

from agents.network import load_policy_value_net
from agents.players import MODEL_DIR, find_bundled_model, make_player
from arena.evaluate import connect4_benchmark, tictactoe_exhaustive
from arena.match import play_games

MODELS = sorted(Path(MODEL_DIR).glob("*.pt"))


def test_the_three_small_games_have_bundled_models():
    assert {p.stem for p in MODELS} >= {"tictactoe", "connect_four", "othello_6"}


def test_the_package_data_ships_every_bundled_model():
    root = Path(MODEL_DIR).parents[1]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["agents"]
    for path in MODELS:
        assert any(fnmatch.fnmatch(path.relative_to(root / "agents").as_posix(), p) for p in patterns), path


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_bundled_model_loads_and_plays_legal_moves(path):
    net, game = load_policy_value_net(path)
    assert find_bundled_model(game) == path  # named for the game and board it holds, so `bundled` finds it
    assert sum(p.numel() for p in net.parameters()) < 2_000_000
    player = make_player("bundled:16", game)
    state = game.init(4)
    while not bool(state.done.all()):
        action = player(game, state)
        legal = game.legal_mask(state)
        live = ~state.done
        assert bool(legal[live].gather(1, action[live, None]).all())
        state = game.step(state, action)


def test_bundled_tictactoe_never_makes_a_mistake():
    net, game = load_policy_value_net(MODEL_DIR / "tictactoe.pt")
    assert tictactoe_exhaustive(make_player("bundled:32", game)) == {"positions": 4520, "mistakes": 0}


def test_bundled_connect_four_rarely_changes_the_outcome_against_perfect_play():
    _, game = load_policy_value_net(MODEL_DIR / "connect_four.pt")
    try:
        result = connect4_benchmark(make_player("bundled:400", game), sets=("Test_L3_R1", "Test_L2_R1"), limit=100)
    except FileNotFoundError as err:
        pytest.skip(f"Connect Four test sets not found: {err}")
    # measured 0.01 and 0.01 (the models before it: 0.02 and 0.00, 0.03 and 0.04); random play: about 0.31 and 0.29
    assert result["Test_L3_R1"]["mistake_rate"] <= 0.04
    assert result["Test_L2_R1"]["mistake_rate"] <= 0.02


def test_bundled_othello_beats_a_shallow_alpha_beta():
    _, game = load_policy_value_net(MODEL_DIR / "othello_6.pt")
    torch.manual_seed(0)
    result = play_games(game, make_player("bundled:64", game), make_player("alphabeta:1", game), 16, progress=False)
    # 36-0-4 in 40 games (seeds 1-5): 6 of 8 would fail about 1 run in 25 (on other hardware or after any change to
    # the search: another sample of games), 11 of 16 about 1 in 300
    assert result.wins_a + 0.5 * result.draws >= 11


def test_bundled_go_7x7_beats_random_play():
    _, game = load_policy_value_net(MODEL_DIR / "go_7.pt")
    assert game.options == {"size": 7, "komi": 7.5}
    torch.manual_seed(0)
    result = play_games(game, make_player("bundled:32", game), make_player("random", game), 4, progress=False)
    assert result.wins_a >= 3  # the training run's evaluation: 10 of 10 at 32 simulations


@pytest.mark.parametrize(
    ("name", "opponent", "games", "needed"),
    [
        ("othello_8.pt", "random", 4, 4),  # 40 games at 200 simulations: 29-1-10 against alphabeta:3
        ("hex_7.pt", "alphabeta:1", 4, 3),  # 40 games at 200 simulations: 37-0-3 against alphabeta:3
        ("gomoku_9.pt", "random", 4, 4),  # 40 games at 200 simulations: 36-0-4 against rollout:800
        # 20 games at 200 simulations: 19-1-0 against Fairy-Stockfish level -20; at 32 simulations against random
        # 107-10-3 in 120 games (seeds 1-30): 3 points of 4 fail about 1 sample in 35, 12 of 16 about 1 in 800
        ("gardner_chess.pt", "random", 16, 12),
        ("minishogi.pt", "random", 4, 4),  # 40 games at 32 simulations: 40-0-0 against random play
    ],
)
def test_bundled_models_of_the_bigger_boards_beat_a_weak_opponent(name, opponent, games, needed):
    _, game = load_policy_value_net(MODEL_DIR / name)
    torch.manual_seed(0)
    result = play_games(game, make_player("bundled:32", game), make_player(opponent, game), games, progress=False)
    assert result.wins_a + 0.5 * result.draws >= needed
