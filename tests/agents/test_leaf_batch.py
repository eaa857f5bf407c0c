"""Leaf batching (K leaves per tree per evaluator call under virtual loss): with K = 1 the search is exactly the one
from before leaf batching (golden visit counts recorded by tests/data/search_one_leaf_golden.py); with K > 1 the
virtual losses leave nothing behind, every game gets exactly its simulations, and Connect Four wins and must-blocks
are still found (the game's rules confirm them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from played_positions import play_moves

import envs
from agents import mcts
from agents.leaf_evaluators import network_evaluator, rollout_evaluator, uniform_evaluator
from agents.mcts import SearchSettings
from agents.network import load_policy_value_net
from agents.players import bundled_model_path
from envs import state as state_ops

GOLDEN = Path(__file__).parents[1] / "data" / "search_one_leaf_golden.json"
GOLDEN_NET = GOLDEN.with_name("search_one_leaf_golden_net.pt")

# Connect Four (0-based columns): (moves, the only move that does not lose at once, kind)
C4_POSITIONS = [
    ([3, 0, 3, 0, 3], 3, "block vertical"),
    ([3, 0, 3, 0, 3, 1], 3, "win vertical"),
    ([0, 0, 1, 1, 2, 2], 3, "win horizontal"),
    ([0, 6, 1, 6, 2], 3, "block horizontal"),
    ([6, 0, 5, 0, 4, 1, 1, 2, 2], 3, "win horizontal right"),
]


@pytest.fixture(scope="module")
def c4():
    return envs.get_game("connect_four")


@pytest.fixture(scope="module")
def c4_net(c4):
    path = bundled_model_path(c4)
    if not path.is_file():
        pytest.skip(f"no bundled model at {path}")
    net, _ = load_policy_value_net(path)
    return network_evaluator(net, "cpu")


@pytest.fixture(scope="module")
def golden_net():
    """The network the golden search results were recorded with (an earlier bundled Connect Four model)."""
    net, _ = load_policy_value_net(GOLDEN_NET)
    return network_evaluator(net, "cpu")


def test_automatic_leaf_batch_is_for_few_games():
    s = SearchSettings()
    assert [s.leaves_per_call(b) for b in (1, 4, 5, 256)] == [8, 8, 1, 1]
    assert SearchSettings(leaf_batch=3).leaves_per_call(256) == 3
    with pytest.raises(ValueError, match="leaf_batch"):
        SearchSettings(leaf_batch=-1)


def test_one_leaf_per_call_is_the_search_from_before(c4, golden_net):
    golden = json.loads(GOLDEN.read_text())
    moves = golden["moves"]
    for name, case in golden["cases"].items():
        settings = SearchSettings(**case["settings"], leaf_batch=1, tactics=0)  # recorded before the win check
        sets = [[m] for m in moves] if name.endswith("_single") else [moves]
        with torch.no_grad():
            for ms, want in zip(sets, case["results"]):
                state = play_moves(c4, ms)
                gen = torch.Generator().manual_seed(1)
                first = mcts.search(c4, state, golden_net, settings, generator=gen)
                nxt = c4.step(state, first.action, check=False)
                tree = mcts.advance_tree(first.tree, first.action)
                second = mcts.search(c4, nxt, golden_net, settings, tree=tree, generator=gen)
                assert first.visits.tolist() == want["visits"], name
                # values to float32 rounding: the network's kernels may differ in the last bit from CPU to CPU
                assert first.value.tolist() == pytest.approx(want["value"], rel=1e-6, abs=1e-7), name
                assert first.action.tolist() == want["action"], name
                assert second.visits.tolist() == want["visits2"], name
                assert second.value.tolist() == pytest.approx(want["value2"], rel=1e-6, abs=1e-7), name


def _check_tree(tree, games: list[int], sims: int | None) -> None:
    """Virtual losses are all gone and the statistics are exactly what the backups put there: every node's visits
    are its own evaluations (one, more only for terminal nodes) plus its children's, and its value sum the matching
    sum of leaf values."""
    assert bool((tree.virtual == 0).all())
    player = tree.states.player
    for b in games:
        if sims is not None:
            assert float(tree.visits[b, 0]) == 1 + sims
        count = int(tree.num_nodes[b])
        for node in range(count):
            kids = [int(c) for c in tree.children[b, node] if c >= 0]
            child_visits = sum(float(tree.visits[b, c]) for c in kids)
            own = float(tree.visits[b, node]) - child_visits
            if bool(tree.terminal[b, node]):
                assert own >= 1 and not kids
            else:
                assert own == 1, (b, node, own)
            signed = sum(float(tree.value_sum[b, c]) * (1 if player[b, c] == player[b, node] else -1) for c in kids)
            expected = own * float(tree.raw_value[b, node]) + signed
            assert abs(float(tree.value_sum[b, node]) - expected) < 1e-4, (b, node)


@pytest.mark.parametrize("k", [2, 4, 8, 16])
def test_virtual_losses_are_undone_and_every_game_gets_its_simulations(c4, k):
    state = play_moves(c4, [[], [3, 3], [0, 1, 0, 1, 0, 1, 0], [3, 0, 3, 0, 3, 1]])  # game 2 is over
    sims = 45
    evaluate = rollout_evaluator(c4, generator=torch.Generator().manual_seed(0))
    result = mcts.search(c4, state, evaluate, num_simulations=sims, leaf_batch=k)
    assert result.visits.sum(-1).tolist() == [sims, sims, 0, sims]
    _check_tree(result.tree, [0, 1, 3], sims)
    # searching on in the reused tree keeps the books as well
    nxt = c4.step(state, result.action, check=False)
    tree = mcts.advance_tree(result.tree, result.action)
    second = mcts.search(c4, nxt, evaluate, num_simulations=20, leaf_batch=k, tree=tree)
    kept = tree.visits[:, 0]
    assert torch.equal(second.tree.visits[[0, 1], 0], kept[[0, 1]] + 20)
    _check_tree(second.tree, [0, 1], None)


@pytest.mark.parametrize("k", [2, 4, 8, 16])
def test_leaf_batches_find_wins_and_must_blocks_with_rollouts(c4, k):
    state = play_moves(c4, [m for m, _, _ in C4_POSITIONS])
    evaluate = rollout_evaluator(c4, rollouts=2, generator=torch.Generator().manual_seed(0))
    result = mcts.search(c4, state, evaluate, num_simulations=200, leaf_batch=k)
    expected = torch.tensor([a for _, a, _ in C4_POSITIONS])
    assert result.action.tolist() == expected.tolist()
    done, value = c4.outcome(c4.step(state, expected))  # the oracle: the rules
    for i, (_, _, kind) in enumerate(C4_POSITIONS):
        assert bool(done[i]) == kind.startswith("win")


@pytest.mark.parametrize("k", [2, 8, 16])
@pytest.mark.parametrize("gumbel", [False, True], ids=["puct", "gumbel"])
def test_leaf_batches_find_wins_and_must_blocks_with_a_trained_net(c4, golden_net, k, gumbel):
    """The search's mechanics with a fixed trained network (the golden one), so a new bundled model cannot change
    what this checks; the bundled model is checked at the default agent's settings below."""
    for moves, answer, kind in C4_POSITIONS:  # one game at a time, as the viewer and `gamelab agent` search
        with torch.no_grad():
            result = mcts.search(
                c4,
                play_moves(c4, [moves]),
                golden_net,
                num_simulations=64,
                leaf_batch=k,
                gumbel=gumbel,
                gumbel_scale=0.0,
            )
        assert int(result.action[0]) == answer, kind


def test_the_default_agents_search_finds_wins_and_must_blocks_with_the_bundled_net(c4, c4_net):
    """`gamelab agent connect_four`'s search (PUCT, 200 simulations, 8 leaves per call) with the bundled model."""
    for moves, answer, kind in C4_POSITIONS:
        with torch.no_grad():
            result = mcts.search(c4, play_moves(c4, [moves]), c4_net, num_simulations=200, leaf_batch=8)
        assert int(result.action[0]) == answer, kind


def test_uniform_prior_tictactoe_minimax_moves_with_leaf_batches():
    ttt = envs.get_game("tictactoe")
    state = play_moves(ttt, [[0, 3, 1, 4], [0, 4, 1]])  # X wins at 2; O must block at 2
    for k in (1, 4, 8):
        result = mcts.search(ttt, state, uniform_evaluator(ttt), num_simulations=300, leaf_batch=k)
        assert result.action.tolist() == [2, 2], k


def test_few_games_walk_on_the_host_as_the_tensor_path_does(c4):
    """Up to FEW_GAMES games on the CPU walk in numpy (agents.host_tree), more games with tensor ops: five games
    searched together take the tensor path, each alone the numpy one, and the searches agree visit for visit."""
    moves = [[], [3], [3, 3, 2], [0, 6, 1, 6, 2], [3, 0, 3, 0, 3, 1]]
    state = play_moves(c4, moves)
    assert len(moves) > mcts.FEW_GAMES
    evaluate = uniform_evaluator(c4)  # row by row exact: batching cannot change its output
    kw = {"num_simulations": 50, "leaf_batch": 4, "fpu_reduction": 0.1, "forced_playouts": True}
    together = mcts.search(c4, state, evaluate, **kw)
    for i in range(len(moves)):
        alone = mcts.search(c4, state_ops.take(state, i), evaluate, **kw)
        assert alone.visits[0].tolist() == together.visits[i].tolist(), i
        assert alone.value[0].tolist() == together.value[i].tolist(), i
