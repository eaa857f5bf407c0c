"""`gamelab train --resume` over damaged run files, and which checkpoints a run keeps on disk.

One small tic-tac-toe run (5 iterations, keeping the last 2 checkpoints plus every 2nd) is trained once; each test
damages a copy of it and resumes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from arena import train
from core.checkpoint import load_checkpoint

RUN = [
    "tictactoe", "--preset=tiny", "--quiet", "--num_games=8", "--simulations=4", "--positions_per_iteration=32",
    "--batch_size=16", "--steps_per_iteration=2", "--eval_every=0", "--keep_checkpoints=2", "--milestone_every=2",
]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    assert train.main([*RUN, "--iterations=5", "--runs", str(root)]) == 0
    (run,) = root.glob("train__tictactoe__*")
    return run


@pytest.fixture
def run(trained, tmp_path) -> Path:
    copy = tmp_path / trained.name
    shutil.copytree(trained, copy)
    return copy


def _ckpt(run: Path, iteration: int) -> Path:
    return run / "checkpoints" / f"iter_{iteration:06d}.pt"


def _window_shards(run: Path, iteration: int) -> list[Path]:
    state = load_checkpoint(_ckpt(run, iteration), kind="alphazero")["buffer"]
    return [run / "buffer" / f"shard_{i:06d}.npz" for i in range(state["first_shard"], state["next_shard"])]


def test_a_run_keeps_its_last_checkpoints_and_its_milestones(trained):
    kept = sorted(p.name for p in (trained / "checkpoints").iterdir())
    assert kept == ["iter_000002.pt", "iter_000004.pt", "iter_000005.pt"]  # last 2 (4, 5) and milestones (2, 4)


def test_a_truncated_latest_checkpoint_falls_back_to_the_previous_one(run, capsys):
    original = load_checkpoint(_ckpt(run, 5), kind="alphazero")
    data = _ckpt(run, 5).read_bytes()
    _ckpt(run, 5).write_bytes(data[: len(data) // 2])  # a torn write
    assert train.main(["tictactoe", "--resume", str(run), "--iterations=5", "--quiet"]) == 0
    out = capsys.readouterr().out
    warnings = [line for line in out.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "iter_000005.pt" in warnings[0] and "iter_000004.pt" in warnings[0]
    # iteration 5 trained again from iteration 4 is the same as the first time: nothing was lost
    redone = load_checkpoint(_ckpt(run, 5), kind="alphazero")
    assert redone["iteration"] == 5
    for key, value in original["model"].items():
        assert torch.equal(value, redone["model"][key]), key


def test_an_old_format_latest_checkpoint_is_refused_by_name_without_fallback(run, capsys):
    envelope = {"format": "gamelab-checkpoint", "version": 1, "kind": "alphazero", "payload": {}}
    torch.save(envelope, _ckpt(run, 5))
    assert train.main(["tictactoe", "--resume", str(run), "--iterations=6", "--quiet"]) == 2
    captured = capsys.readouterr()
    assert "iter_000005.pt" in captured.err and "format 1" in captured.err
    assert "warning" not in captured.out and not _ckpt(run, 6).exists()


def test_a_damaged_buffer_shard_is_an_error_naming_it(run, capsys):
    shard = _window_shards(run, 5)[-1]
    shard.write_bytes(bytes(range(256)) * 40)  # random bytes, not an npz
    assert train.main(["tictactoe", "--resume", str(run), "--iterations=6", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and shard.name in err[0] and "damaged" in err[0]


def test_a_deleted_buffer_shard_is_reported(run, capsys):
    shard = _window_shards(run, 5)[0]
    shard.unlink()
    assert train.main(["tictactoe", "--resume", str(run), "--iterations=6", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and shard.name in err[0] and "missing" in err[0]
