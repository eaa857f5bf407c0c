"""Self-play in lockstep, the replay buffer on disk with symmetry sampling, and the throughput bench."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import envs
from agents.bench import BenchConfig, run_bench
from agents.buffer import ReplayBuffer
from agents.leaf_evaluators import uniform_evaluator
from agents.mcts import SearchSettings
from agents.selfplay import SelfPlay


@pytest.fixture(scope="module")
def ttt():
    return envs.get_game("tictactoe")


def test_selfplay_trajectories_are_whole_games_with_their_outcomes(ttt):
    sp = SelfPlay(
        ttt,
        8,
        SearchSettings(num_simulations=8, dirichlet_fraction=0.25),
        full_search_prob=0.5,
        fast_simulations=2,
        seed=3,
    )
    data, stats = sp.run(uniform_evaluator(ttt), 60, show_progress=False)
    n = stats["positions"]
    assert n >= 60 and all(len(v) == n for v in data.values())
    assert stats["games"] == stats["first_wins"] + stats["draws"] + stats["second_wins"] > 0
    planes = data["planes"].astype(np.float32)  # [P, 3, 3, 3]: own stones, opponent's, ...
    own, opp = planes[:, 0].reshape(n, 9), planes[:, 1].reshape(n, 9)
    # every game starts on the empty board: one empty-board position per game, valued from the first player's view
    empty = (own.sum(1) == 0) & (opp.sum(1) == 0)
    assert empty.sum() == stats["games"]
    assert data["value"][empty].sum() == stats["first_wins"] - stats["second_wins"]
    assert set(np.unique(data["value"])) <= {-1.0, 0.0, 1.0}
    # legal moves are the empty cells; the policy target lives on them
    np.testing.assert_array_equal(data["mask"], (own + opp) == 0)
    assert (data["policy"][~data["mask"]] == 0).all()
    np.testing.assert_allclose(data["policy"].sum(1), 1.0, atol=1e-5)
    # playout cap randomization: both kinds of moves were played
    assert data["full"].any() and not data["full"].all()


def test_selfplay_value_mix_blends_outcome_and_search_value(ttt):
    sp = SelfPlay(ttt, 8, SearchSettings(num_simulations=8, dirichlet_fraction=0.25), value_mix=0.5, seed=0)
    data, _ = sp.run(uniform_evaluator(ttt), 30, show_progress=False)
    v = data["value"]
    assert (np.abs(v) <= 1.0).all() and not set(np.unique(v)) <= {-1.0, 0.0, 1.0}


def _positions(game, n: int, seed: int) -> dict:
    """n random mid-game tic-tac-toe positions with a one-hot policy on a random legal move."""
    g = torch.Generator().manual_seed(seed)
    state = game.init(n)
    for _ in range(3):
        legal = game.legal_mask(state)
        state = game.step(state, torch.where(legal, torch.rand(legal.shape, generator=g), -1.0).argmax(-1))
    mask = game.legal_mask(state)
    pick = torch.where(mask, torch.rand(mask.shape, generator=g), -1.0).argmax(-1)
    policy = torch.nn.functional.one_hot(pick, game.num_actions).float()
    value = torch.ones(n)
    return {"planes": game.planes(state), "policy": policy, "mask": mask, "value": value, "full": mask.any(-1)}


def test_buffer_samples_consistent_symmetric_positions_and_keeps_a_window(ttt, tmp_path):
    buf = ReplayBuffer(tmp_path, window=50, symmetries=ttt.symmetries())
    for i in range(4):  # four iterations, each adding a shard and saving a checkpoint
        buf.add(_positions(ttt, 20, seed=i))
        saved = buf.state_dict()
    assert len(buf) == 60 and buf.positions_total == 80  # the first shard fell out of the window
    batch = buf.sample(400, np.random.default_rng(0))
    own, opp = batch["planes"][:, 0].flatten(1), batch["planes"][:, 1].flatten(1)
    assert torch.equal(batch["mask"], (own + opp) == 0)  # planes and masks moved by the same symmetry
    target = batch["policy"].argmax(-1)
    assert bool(batch["mask"].gather(1, target[:, None]).all())  # the policy still points at an empty cell
    originals = {tuple(p.flatten().tolist()) for s in range(1, 4) for p in _positions(ttt, 20, s)["planes"]}
    moved = sum(tuple(p.flatten().tolist()) not in originals for p in batch["planes"])
    assert moved > 100  # most samples were transformed (7 of the 8 symmetries are not the identity)

    # an iteration killed after adding its shard (which pushed shard 1 out of the window in memory): the resumed
    # run drops the new shard and rebuilds the checkpoint's window from disk
    buf.add(_positions(ttt, 20, seed=9))
    again = ReplayBuffer(tmp_path, window=50, symmetries=ttt.symmetries())
    again.load_state_dict(saved)
    assert len(again) == 60 and again.positions_total == 80 and again.next_shard == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"shard_{i:06d}.npz" for i in (1, 2, 3)]
    ref = _positions(ttt, 20, seed=1)["planes"].numpy().astype(np.float16)
    np.testing.assert_array_equal(again._shards[0][1]["planes"], ref)  # shard 1 is back, first


def test_bench_reports_every_rate():
    r = run_bench(BenchConfig(game="tictactoe", preset="b2c16", device="cpu", batch=8, sims=4, seconds=0.01))
    for key in ("inference_positions_per_s", "search_sims_per_s", "selfplay_positions_per_s", "single_sims_per_s"):
        assert r[key] > 0
    assert r["search_ratio_to_inference"] == pytest.approx(r["search_sims_per_s"] / r["inference_positions_per_s"])
