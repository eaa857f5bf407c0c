"""The exact win check at expansion (agents.tactics): right on hand-made positions, against the solver, and it makes
the bundled Connect Four agent keep the game-theoretic outcome more often on solved positions made here."""

from __future__ import annotations

import os
import random

import pytest
import torch

import envs
from agents import connect4_solver as c4s
from agents import mcts
from agents.leaf_evaluators import network_evaluator
from agents.network import load_policy_value_net
from agents.players import bundled_model_path
from agents.tactics import losing_moves, tactical
from arena import connect4_positions as cp
from arena.evaluate import _positions
from envs import traits

needs_solver = pytest.mark.skipif(
    not c4s.available() and not os.environ.get("CI"),
    reason="the solver's C extension is not built (pip install -e . or python setup.py build_ext --inplace)",
)


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


def _best(scores: list[int | None]) -> int:
    return max(s for s in scores if s is not None)


def _critical(scores: list[int | None]) -> bool:
    """Some move changes the outcome."""
    best = _best(scores)
    return best >= 0 and any(s is not None and _sign(s) != _sign(best) for s in scores)


def _flat(planes, mask, state):
    return torch.zeros(mask.shape), torch.zeros(mask.shape[0])


@pytest.fixture(scope="module")
def c4():
    return envs.get_game("connect_four")


def test_checks_on_hand_made_positions(c4):
    # 0-based columns: a double threat (columns 0 and 4), the mover wins at column 3, must block 0, must block 4
    seqs = [[3, 3, 2, 2, 1], [3, 0, 3, 0, 3, 1], [0, 1, 0, 1, 0], [3, 4, 3, 4, 6, 4]]
    state = _positions(c4, seqs)
    legal = c4.legal_mask(state)
    wins = traits.immediate_wins(c4)(state)
    assert wins.tolist()[1] == [False, False, False, True, False, False, False]
    assert not bool(wins[[0, 2, 3]].any())
    logits, value = tactical(c4, _flat, 2)(c4.planes(state), legal, state)
    assert value.tolist() == [-1.0, 1.0, 0.0, 0.0]  # proven loss, proven win, open
    allowed = torch.isfinite(logits)
    assert allowed[0].all()  # every move loses: the prior is left alone
    assert allowed[1:].nonzero()[:, 1].tolist() == [3, 0, 4]  # the win, then the only blocks
    # depth 1 sees the win but not the blocks
    _, value1 = tactical(c4, _flat, 1)(c4.planes(state), legal, state)
    assert value1.tolist() == [0.0, 1.0, 0.0, 0.0]


@needs_solver
def test_losing_moves_agree_with_the_solver(c4):
    """A move flagged as losing at once loses by the solver's scores, on positions of random play."""
    rng = random.Random(3)
    games = [g for g in (cp._play_game(rng.randint(14, 34), 1.0, rng) for _ in range(60)) if g]
    state = _positions(c4, [[int(ch) - 1 for ch in g] for g in games])
    lose = losing_moves(c4, state, c4.legal_mask(state))
    wins = traits.immediate_wins(c4)(state)
    flagged = 0
    for g, row, win in zip(games, lose.tolist(), wins.tolist()):
        scores = c4s.analyze(g)
        for a in range(7):
            if row[a]:
                flagged += 1
                assert scores[a] is not None and scores[a] < 0, (g, a, scores)
            if win[a]:
                assert scores[a] == max(s for s in scores if s is not None) > 0, (g, a, scores)
    assert flagged > 20


def test_the_default_depth_is_the_games(c4):
    assert traits.tactics_depth(c4) == 2
    assert traits.tactics_depth(envs.get_game("chess")) == 0
    assert mcts.SearchSettings().tactics == -1
    ttt = envs.get_game("tictactoe")  # the generic check (stepping every move) on another game
    state = _positions(ttt, [[0, 3, 1, 4]])
    assert traits.immediate_wins(ttt)(state).nonzero()[:, 1].tolist() == [2]


@needs_solver
def test_the_check_keeps_the_outcome_more_often(c4):
    """On solved critical positions of mixed play (made here, 18-34 stones), the bundled model searching 32
    simulations loses the outcome less often with the check than without."""
    path = bundled_model_path(c4)
    if not path.is_file():
        pytest.skip(f"no bundled model at {path}")
    rng = random.Random(20)
    rows = []
    while len(rows) < 120:
        g = cp._play_game(rng.randint(18, 34), rng.choice((1.0, 0.5, 0.25)), rng)
        if not g:
            continue
        try:
            scores = c4s.analyze(g, max_nodes=100_000)
        except TimeoutError:
            continue
        if _critical(scores):
            rows.append((g, scores))
    state = _positions(c4, [[int(ch) - 1 for ch in g] for g, _ in rows])
    net, _ = load_policy_value_net(path)
    evaluate = network_evaluator(net, "cpu")
    mistakes = {}
    with torch.no_grad():
        for depth in (0, 2):
            action = mcts.search(c4, state, evaluate, num_simulations=32, tactics=depth).action.tolist()
            mistakes[depth] = sum(_sign(scores[a]) != _sign(_best(scores)) for (_, scores), a in zip(rows, action))
    assert mistakes[2] < mistakes[0], mistakes


def test_connect_four_wins_trait_is_the_stepping_one(c4):
    """The game's own `immediate_wins` (line windows) against stepping every move, on positions of random play."""
    rng = random.Random(5)
    games = [g for g in (cp._play_game(rng.randint(6, 40), 1.0, rng) for _ in range(300)) if g]
    state = _positions(c4, [[int(ch) - 1 for ch in g] for g in games])
    own = c4.immediate_wins(state)
    assert torch.equal(own, traits._wins_by_stepping(c4, state))
    assert int(own.sum()) > 20
