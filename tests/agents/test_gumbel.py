"""Gumbel root search: the sequential halving schedule, completed Q, and small-budget searches on known positions."""

from __future__ import annotations

import pytest
import torch
from played_positions import play_moves

import envs
from agents import gumbel as gum
from agents import mcts
from agents.leaf_evaluators import rollout_evaluator, uniform_evaluator


def test_sequential_halving_schedule_by_hand():
    # 4 actions, 8 simulations: ceil(log2 4) = 2 phases. Phase 1 gives each of the 4 actions max(1, 8 // (2 * 4)) = 1
    # visit; phase 2 gives each of the 2 survivors 8 // (2 * 2) = 2 visits.
    assert gum.considered_visit_sequence(4, 8) == [0, 0, 0, 0, 1, 1, 2, 2]
    # one action: it gets every simulation
    assert gum.considered_visit_sequence(1, 5) == [0, 1, 2, 3, 4]
    # 2 actions stay 2: alternate
    assert gum.considered_visit_sequence(2, 6) == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize("m,s", [(16, 64), (7, 16), (3, 50), (16, 8)])
def test_sequential_halving_schedule_properties(m, s):
    seq = gum.considered_visit_sequence(m, s)
    assert len(seq) == s
    # replaying the schedule: the count asked for is always held by some considered action, i.e. the k-th time a
    # count c is asked for, at least k actions already reached c
    counts: dict[int, int] = {}
    for c in seq:
        counts[c] = counts.get(c, 0) + 1
        assert counts[c] <= m
        assert c == 0 or counts.get(c - 1, 0) >= counts[c]


def test_completed_q_mixed_value_by_hand():
    q = torch.tensor([[0.5, -0.2, 0.0, 9.0]])
    visits = torch.tensor([[3.0, 1.0, 0.0, 0.0]])
    prior = torch.tensor([[0.4, 0.1, 0.3, 0.2]])
    raw = torch.tensor([0.1])
    # mixed = (raw + N * sum_visited(p q) / sum_visited(p)) / (N + 1) = (0.1 + 4 * (0.2 - 0.02) / 0.5) / 5
    mixed = (0.1 + 4 * (0.4 * 0.5 + 0.1 * -0.2) / 0.5) / 5
    cq = gum.completed_q(q, visits, raw, prior)
    assert torch.allclose(cq, torch.tensor([[0.5, -0.2, mixed, mixed]]))
    legal = torch.tensor([[True, True, True, False]])
    sigma = gum.sigma_q(q, visits, raw, prior, legal, value_scale=0.1, maxvisit_init=50.0)
    # rescaled to [0, 1] over the legal actions, times (50 + 3) * 0.1
    lo, hi = -0.2, 0.5
    expect = torch.tensor([[1.0, 0.0, (mixed - lo) / (hi - lo), 0.0]]) * 5.3
    assert torch.allclose(sigma, expect, atol=1e-5)
    pi = gum.improved_policy(prior, sigma, legal)
    assert torch.allclose(pi.sum(), torch.tensor(1.0)) and pi[0, 3] == 0


@pytest.mark.parametrize("sims", [8, 16])
def test_gumbel_small_budget_finds_the_win(sims):
    c4 = envs.get_game("connect_four")
    state = play_moves(c4, [[3, 0, 3, 0, 3, 1], [0, 0, 1, 1, 2, 2], [6, 6, 5, 5, 4, 4]] * 40)  # the mover wins at 3
    evaluate = uniform_evaluator(c4)  # value 0 everywhere but at the end: only the win stands out
    kw = {"num_simulations": sims, "gumbel": True, "max_considered_actions": 16}
    exact = mcts.search(c4, state, evaluate, gumbel_scale=0.0, **kw)
    assert bool((exact.action == 3).all())
    noisy = mcts.search(c4, state, evaluate, generator=torch.Generator().manual_seed(0), **kw)
    # the root action is sampled (Gumbel-top-k): the win must dominate, and the policy target must point at it
    assert float((noisy.action == 3).float().mean()) > 0.85
    assert bool((noisy.policy.argmax(-1) == 3).all())
    assert torch.allclose(noisy.visits.sum(-1), torch.full((120,), float(sims)))
    assert torch.allclose(noisy.policy.sum(-1), torch.ones(120))


def test_gumbel_with_rollouts_finds_the_win():
    c4 = envs.get_game("connect_four")
    state = play_moves(c4, [[3, 0, 3, 0, 3, 1], [0, 0, 1, 1, 2, 2], [6, 6, 5, 5, 4, 4]] * 4)
    evaluate = rollout_evaluator(c4, rollouts=16, generator=torch.Generator().manual_seed(1))
    result = mcts.search(c4, state, evaluate, num_simulations=16, gumbel=True, gumbel_scale=0.0)
    assert bool((result.action == 3).all()) and bool((result.policy.argmax(-1) == 3).all())


def test_gumbel_considers_at_most_k_actions_and_the_rest_get_no_visits():
    c4 = envs.get_game("connect_four")
    state = c4.init(32)
    result = mcts.search(
        c4,
        state,
        uniform_evaluator(c4),
        num_simulations=12,
        gumbel=True,
        max_considered_actions=3,
        generator=torch.Generator().manual_seed(2),
    )
    assert bool(((result.visits > 0).sum(-1) <= 3).all())
    # uniform prior: which three are considered is up to the Gumbel noise, so it varies across games
    assert len({tuple((row > 0).tolist()) for row in result.visits}) > 1


def _must_win_position(copies: int):
    """Connect Four after columns 4,1,4,1,4,2 (1-based): the first player wins at once in column 4 (action 3)."""
    return play_moves(envs.get_game("connect_four"), [[3, 0, 3, 0, 3, 1]] * copies)


@pytest.mark.parametrize("sims", [8, 16, 32])
def test_gumbel_root_choice_is_the_halving_winner_by_g_logits_sigma(sims):
    # The final action is argmax g(a) + logits(a) + sigma(q(a)) over the actions with the most visits (those left after
    # the last halving), as in mctx. Recomputed here by hand from the same noise and the returned statistics.
    c4 = envs.get_game("connect_four")
    state = _must_win_position(64)
    result = mcts.search(
        c4,
        state,
        uniform_evaluator(c4),
        num_simulations=sims,
        gumbel=True,
        tactics=0,  # the uniform prior as it is: the exact win check (agents.tactics) would prune it
        generator=torch.Generator().manual_seed(0),
    )
    g = gum.gumbel_noise((64, 7), torch.Generator().manual_seed(0), torch.device("cpu"))  # the search's first draw
    n, q = result.visits, result.q
    assert bool((n > 0).all())  # 7 legal moves, at least 7 simulations: every action visited, completed Q = Q
    rescaled = (q - q.amin(-1, keepdim=True)) / (q.amax(-1, keepdim=True) - q.amin(-1, keepdim=True)).clamp_min(1e-8)
    sigma = (50.0 + n.amax(-1, keepdim=True)) * 0.1 * rescaled
    score = torch.where(n == n.amax(-1, keepdim=True), g + sigma, -float("inf"))  # uniform prior: equal logits
    assert torch.equal(result.action, score.argmax(-1))


@pytest.mark.parametrize("sims", [8, 16, 32])
def test_gumbel_must_win_position_without_noise_always_wins(sims):
    c4 = envs.get_game("connect_four")
    kw = {"num_simulations": sims, "gumbel": True, "gumbel_scale": 0.0}
    result = mcts.search(c4, _must_win_position(64), uniform_evaluator(c4), **kw)
    assert bool((result.action == 3).all())
    # sigma with the paper's scale c_scale = 1 (value_scale=1.0): the Q gap of 1 outweighs any Gumbel draw
    noisy = mcts.search(
        c4,
        _must_win_position(64),
        uniform_evaluator(c4),
        generator=torch.Generator().manual_seed(0),
        **{**kw, "gumbel_scale": 1.0, "value_scale": 1.0},
    )
    assert bool((noisy.action == 3).all())


def test_gumbel_noisy_root_choice_is_a_sample_of_the_improved_policy():
    # With noise, the returned action is a Gumbel-max sample of pi' = softmax(logits + sigma(completed Q)): it plays the
    # win as often as pi' puts mass on it (about 0.97 at 16 simulations with mctx's value_scale 0.1), not always.
    c4 = envs.get_game("connect_four")
    state, evaluate = _must_win_position(64), uniform_evaluator(c4)
    chosen, mass = 0.0, 0.0
    for seed in range(10):
        r = mcts.search(
            c4,
            state,
            evaluate,
            num_simulations=16,
            gumbel=True,
            tactics=0,
            generator=torch.Generator().manual_seed(seed),
        )
        chosen += float((r.action == 3).float().sum())
        mass += float(r.policy[:, 3].sum())
    rate, expected = chosen / 640, mass / 640
    assert 0.95 < expected < 0.99
    assert abs(rate - expected) < 3 * (expected * (1 - expected) / 640) ** 0.5 + 1e-3
