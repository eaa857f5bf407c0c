"""Merging duplicate positions in the replay buffer: averaged targets, sampling unchanged when off, exact resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import agents.buffer as buffer_module
import envs
from agents.buffer import FIELDS, ReplayBuffer, apply_symmetry, merge_duplicates


@pytest.fixture(scope="module")
def ttt():
    return envs.get_game("tictactoe")


def _shard(game, n: int, seed: int) -> dict[str, np.ndarray]:
    """n tic-tac-toe positions after 0-2 random moves (many repeat), shuffled, with random targets and full flags."""
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    state, planes, masks = game.init(n), [], []
    for _ in range(3):  # the positions after 0, 1 and 2 moves
        planes.append(game.planes(state))
        masks.append(game.legal_mask(state))
        legal = masks[-1]
        state = game.step(state, torch.where(legal, torch.rand(legal.shape, generator=g), -1.0).argmax(-1))
    rows = rng.permutation(3 * n)[:n]
    mask = torch.cat(masks).numpy()[rows]
    policy = rng.dirichlet(np.ones(game.num_actions), size=n).astype(np.float32) * mask
    policy /= policy.sum(1, keepdims=True)
    return {
        "planes": torch.cat(planes).numpy().astype(np.float16)[rows],
        "policy": policy,
        "mask": mask,
        "value": rng.uniform(-1, 1, size=n).astype(np.float32),
        "full": rng.random(n) < 0.3,
    }


def _oracle(arrays: dict[str, np.ndarray]) -> dict[bytes, dict]:
    """The expected merge, one position at a time: key -> mean value, mean full-search policy, any full, count."""
    groups: dict[bytes, list[int]] = {}
    for i in range(len(arrays["value"])):
        groups.setdefault(arrays["planes"][i].tobytes() + arrays["mask"][i].tobytes(), []).append(i)
    out = {}
    for key, rows in groups.items():
        full_rows = [i for i in rows if arrays["full"][i]]
        policy_rows = full_rows or rows
        out[key] = {
            "value": sum(float(arrays["value"][i]) for i in rows) / len(rows),
            "policy": [
                sum(float(arrays["policy"][i][a]) for i in policy_rows) / len(policy_rows)
                for a in range(arrays["policy"].shape[1])
            ],  # fmt: skip
            "full": bool(full_rows),
            "count": len(rows),
            "first": rows[0],
        }
    return out


def _concat(shards: list[dict]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([s[k] for s in shards]) for k in FIELDS}


def test_merged_targets_are_the_means_of_the_copies(ttt):
    arrays = _concat([_shard(ttt, 300, seed) for seed in range(2)])
    merged, counts = merge_duplicates(arrays)
    expect = _oracle(arrays)
    assert len(counts) == len(expect) < 120 and counts.sum() == 600  # about 80 distinct positions among 600
    assert any(not e["full"] and e["count"] > 1 for e in expect.values())  # a repeated position never fully searched
    for u in range(len(counts)):
        e = expect[merged["planes"][u].tobytes() + merged["mask"][u].tobytes()]
        assert counts[u] == e["count"] and bool(merged["full"][u]) == e["full"]
        assert merged["value"][u] == pytest.approx(e["value"], abs=1e-6)
        np.testing.assert_allclose(merged["policy"][u], e["policy"], atol=1e-6)
    firsts = [e["first"] for e in expect.values()]  # dict order: first occurrence
    np.testing.assert_array_equal(merged["planes"], arrays["planes"][firsts])  # in order of first occurrence


def test_a_hash_collision_falls_back_to_exact_grouping(ttt, monkeypatch):
    arrays = _shard(ttt, 200, seed=5)
    want, want_counts = merge_duplicates(arrays)
    monkeypatch.setattr(buffer_module, "_HASH_MUL", np.zeros(4096, np.uint64))  # every row hashes to 0
    got, counts = merge_duplicates(arrays)
    np.testing.assert_array_equal(counts, want_counts)
    for k in FIELDS:
        np.testing.assert_array_equal(got[k], want[k])


def test_sampling_without_merging_is_unchanged_for_a_seed(ttt, tmp_path):
    shards = [_shard(ttt, 40, seed) for seed in range(3)]
    buf = ReplayBuffer(tmp_path, window=100, symmetries=ttt.symmetries())  # merging off by default
    for s in shards:
        buf.add(s)
    window = {k: v[-100:] for k, v in _concat(shards).items()}
    batch = buf.sample(64, np.random.default_rng(7))
    # the sampling of the project before merging existed: uniform rows, then one random symmetry per row
    gen = np.random.default_rng(7)
    idx = gen.integers(0, 100, size=64)
    which = gen.integers(0, len(ttt.symmetries()), size=64)
    for r in range(64):
        row = {k: torch.from_numpy(window[k][idx[r] : idx[r] + 1]) for k in ("planes", "policy", "mask")}
        planes, policy, mask = apply_symmetry(ttt.symmetries()[which[r]], row["planes"].float(), row["policy"],
                                              row["mask"])  # fmt: skip
        assert torch.equal(batch["planes"][r], planes[0]) and torch.equal(batch["mask"][r], mask[0])
        assert torch.equal(batch["policy"][r], policy[0])
        assert batch["value"][r] == window["value"][idx[r]] and batch["full"][r] == window["full"][idx[r]]
    assert buf.distinct() == 100


def test_merged_sampling_draws_distinct_positions_uniformly(ttt, tmp_path):
    shards = [_shard(ttt, 150, seed) for seed in range(2)]
    buf = ReplayBuffer(tmp_path, window=300, merge_duplicates=True)  # no symmetries: rows come back as stored
    for s in shards:
        buf.add(s)
    expect = _oracle(_concat(shards))
    assert buf.distinct() == len(expect) and len(buf) == 300
    batch = buf.sample(4000, np.random.default_rng(1))
    keys = [
        p.numpy().astype(np.float16).tobytes() + m.numpy().tobytes() for p, m in zip(batch["planes"], batch["mask"])
    ]
    for key, value in zip(keys, batch["value"]):
        assert float(value) == pytest.approx(expect[key]["value"], abs=1e-6)
    # uniform over distinct positions: the empty board (a third of all rows) is drawn about 1/U of the time
    empty = next(k for k, e in expect.items() if e["count"] == max(e["count"] for e in expect.values()))
    assert expect[empty]["count"] > 80 and keys.count(empty) < 3 * 4000 / len(expect)


def test_merged_batches_after_a_resume_equal_the_uninterrupted_ones(ttt, tmp_path):
    shards = [_shard(ttt, 60, seed) for seed in range(5)]
    whole = ReplayBuffer(tmp_path / "a", window=150, symmetries=ttt.symmetries(), merge_duplicates=True)
    gen = np.random.default_rng(3)
    batches = []
    for s in shards:
        whole.add(s)
        whole.state_dict()
        batches.append(whole.sample(32, gen))

    first = ReplayBuffer(tmp_path / "b", window=150, symmetries=ttt.symmetries(), merge_duplicates=True)
    gen = np.random.default_rng(3)
    for s in shards[:3]:
        first.add(s)
        saved = first.state_dict()
        first.sample(32, gen)
    gen_state = gen.bit_generator.state
    first.add(shards[3])  # the iteration the kill interrupted
    resumed = ReplayBuffer(tmp_path / "b", window=150, symmetries=ttt.symmetries(), merge_duplicates=True)
    resumed.load_state_dict(saved)
    gen = np.random.default_rng(0)
    gen.bit_generator.state = gen_state
    for s, want in zip(shards[3:], batches[3:]):
        resumed.add(s)
        got = resumed.sample(32, gen)
        for k in FIELDS:
            assert torch.equal(got[k], want[k]), k
