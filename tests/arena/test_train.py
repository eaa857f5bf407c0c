"""`gamelab train`: run directory outputs, config errors, presets, and resume after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from killed_runs import wait_for_checkpoint

import envs
from agents.learner import TrainConfig, load_presets
from agents.network import load_policy_value_net
from arena import train
from core.checkpoint import load_checkpoint
from core.config import ConfigError, parse_config
from core.metrics import read_metrics

# a few seconds per run: tiny search, few positions and steps; evaluation at iteration 2 against "random"
SMALL = [
    "--preset=tiny",
    "--quiet",
    "--num_games=16",
    "--simulations=8",
    "--positions_per_iteration=96",
    "--batch_size=32",
    "--steps_per_iteration=4",
    "--eval_every=2",
    "--eval_games=2",
    "--eval_simulations=4",
    "--eval_baselines=random",
    "--eval_solver=false",
]


def _run_dir(root: Path) -> Path:
    (run,) = root.glob("train__tictactoe__*")
    return run


def _ckpt(run: Path, iteration: int) -> dict:
    return load_checkpoint(run / "checkpoints" / f"iter_{iteration:06d}.pt", kind="alphazero")


def _same(a, b, where: str = "") -> None:
    """Recursive equality of checkpoint payload parts (tensors exactly)."""
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert np.array_equal(a, b), where
    elif isinstance(a, dict):
        assert set(a) == set(b), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def test_resume_after_a_kill_continues_like_an_uninterrupted_run(tmp_path, capsys):
    # the uninterrupted run: 3 iterations
    assert train.main(["tictactoe", "--runs", str(tmp_path / "a"), "--iterations=3", *SMALL]) == 0
    out = capsys.readouterr().out
    assert out.count("iter ") >= 3 and "vs_random" in out  # one summary line per iteration, with the evaluation
    run_a = _run_dir(tmp_path / "a")
    assert {"config.json", "metrics.jsonl", "metrics.png", "checkpoints", "buffer"} <= {p.name for p in run_a.iterdir()}
    net, game = load_policy_value_net(run_a / "checkpoints" / "iter_000003.pt")
    assert game.name == "tictactoe" and not net.training

    # the same run killed during its third iteration (after iteration 2's checkpoint), then resumed
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GAMELAB_PROGRESS": "0"}
    cmd = [sys.executable, "-m", "arena.train", "tictactoe", "--runs", str(tmp_path / "b"), "--iterations=50", *SMALL]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_checkpoint(proc, tmp_path / "b", "*/checkpoints/iter_000002.pt")
    time.sleep(0.3)  # let it get into iteration 3 (writing its shard, maybe its checkpoint)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    run_b = _run_dir(tmp_path / "b")
    for late in run_b.glob("checkpoints/iter_*.pt"):  # a kill a moment earlier would have left no later checkpoint
        if late.name > "iter_000002.pt":
            late.unlink()
    assert train.main(["tictactoe", "--resume", str(run_b), "--num_games=8"]) == 2  # the saved games need 16 slots
    assert "num_games" in capsys.readouterr().err
    assert train.main(["tictactoe", "--resume", str(run_b), "--iterations=3", "--quiet"]) == 0
    assert "resuming" in capsys.readouterr().out

    a, b = _ckpt(run_a, 3), _ckpt(run_b, 3)
    for key in ("model", "optimizer", "scheduler", "iteration", "step", "rng", "sample_rng", "buffer", "selfplay"):
        _same(a[key], b[key], key)
    assert a["iteration"] == 3 and a["buffer"]["positions_total"] > 0
    shards_a = sorted(p.name for p in (run_a / "buffer").iterdir())
    assert shards_a == sorted(p.name for p in (run_b / "buffer").iterdir())
    for name in shards_a:
        with np.load(run_a / "buffer" / name) as za, np.load(run_b / "buffer" / name) as zb:
            for k in za.files:
                assert np.array_equal(za[k], zb[k]), (name, k)
    assert [r["iteration"] for r in read_metrics(run_b / "metrics.jsonl")] == [1, 2, 3]
    assert [r["iteration"] for r in read_metrics(run_a / "metrics.jsonl")] == [1, 2, 3]


def test_config_errors_are_clear(tmp_path, capsys):
    runs = str(tmp_path)
    assert train.main(["tictactoe", "--runs", runs, "--no_such_knob=3"]) == 2
    assert "no_such_knob" in capsys.readouterr().err
    assert train.main(["tictactoe", "--runs", runs, "--simulations=many"]) == 2
    assert "simulations" in capsys.readouterr().err
    assert train.main(["tictactoe", "--runs", runs, "--preset=huge"]) == 2
    assert "huge" in capsys.readouterr().err
    assert train.main(["tictactoe", "--resume", str(tmp_path / "nothing")]) != 0
    assert "nothing" in capsys.readouterr().err
    assert not list(tmp_path.glob("train__*"))  # no run directory left behind by a failed start
    assert train.main(["tictactoe", "--runs", runs, "simulations=3"]) == 2  # not --key=value
    assert "simulations=3" in capsys.readouterr().err
    for bad in ("--lr=0", "--batch_size=0", "--simulations=0", "--iterations=-1", "--minutes=-2", "--cpu_minutes=nan"):
        assert train.main(["tictactoe", "--runs", runs, bad]) == 2
        assert bad[2:].split("=")[0] in capsys.readouterr().err


def test_cpu_budget_stops_the_run(tmp_path, capsys):
    argv = ["tictactoe", "--preset", "tiny", "--runs", str(tmp_path), "--iterations=100000", "--eval_every=0"]
    assert train.main([*argv, "--cpu-minutes=0.001"]) == 0  # 0.06 CPU-seconds: spent before the first iteration
    assert "CPU limit of 0.001 minutes reached" in capsys.readouterr().out
    (run,) = tmp_path.glob("train__*")
    assert json.loads((run / "config.json").read_text())["cpu_minutes"] == 0.001


@pytest.mark.parametrize("name", sorted(envs.GAMES))
def test_every_game_has_tiny_cpu_and_gpu_presets(name):
    presets = load_presets(name)
    assert {"tiny", "cpu", "gpu"} <= set(presets)
    for preset in presets:
        parse_config(TrainConfig, [], presets, preset)  # every key is a TrainConfig field of the right type
    with pytest.raises(ConfigError):
        parse_config(TrainConfig, ["--blocks=two"], presets, "cpu")


def test_resume_takes_changed_settings_and_refuses_a_new_network_shape(tmp_path, capsys):
    base = ["tictactoe", "--preset", "tiny", "--quiet", "--num_games=8", "--simulations=4", "--batch_size=16"]
    small = ["--positions_per_iteration=32", "--steps_per_iteration=2", "--eval_every=0"]
    assert train.main([*base, *small, "--iterations=2", "--runs", str(tmp_path)]) == 0
    run = _run_dir(tmp_path)
    assert [r["lr"] for r in read_metrics(run / "metrics.jsonl")] == [5e-3, 5e-3]  # the tiny preset's lr
    capsys.readouterr()
    assert train.main(["tictactoe", "--resume", str(run), "--channels=16"]) == 2
    assert "channels" in capsys.readouterr().err
    assert train.main(["tictactoe", "--resume", str(run), "--iterations", "3", "--lr=0.5", "--quiet"]) == 0
    lines = read_metrics(run / "metrics.jsonl")
    assert [r["iteration"] for r in lines] == [1, 2, 3] and lines[-1]["lr"] == 0.5
    ckpt = _ckpt(run, 3)
    assert ckpt["config"]["lr"] == 0.5
    assert {g["lr"] for g in ckpt["optimizer"]["param_groups"]} == {0.5}  # the optimizer itself, not only the log


def test_train_resumes_a_merging_run_exactly_and_takes_merging_on_resume(tmp_path, capsys):
    small = ["tictactoe", "--preset=tiny", "--quiet", "--num_games=8", "--simulations=4", "--batch_size=16",
             "--positions_per_iteration=32", "--steps_per_iteration=3", "--eval_every=0"]  # fmt: skip
    assert train.main([*small, "--merge_duplicates=true", "--iterations=3", "--runs", str(tmp_path / "a")]) == 0
    assert train.main([*small, "--merge_duplicates=true", "--iterations=2", "--runs", str(tmp_path / "b")]) == 0
    (run_a,), (run_b,) = (tmp_path / "a").glob("train__*"), (tmp_path / "b").glob("train__*")
    assert train.main(["tictactoe", "--resume", str(run_b), "--iterations=3", "--quiet"]) == 0
    a = load_checkpoint(run_a / "checkpoints" / "iter_000003.pt", kind="alphazero")
    b = load_checkpoint(run_b / "checkpoints" / "iter_000003.pt", kind="alphazero")
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    lines = read_metrics(run_a / "metrics.jsonl")
    assert all(0 < r["buffer_distinct"] < r["buffer"] for r in lines)

    # a run without merging, resumed with it: merging starts at the resumed iteration
    assert train.main([*small, "--iterations=1", "--runs", str(tmp_path / "c")]) == 0
    (run_c,) = (tmp_path / "c").glob("train__*")
    resume = ["tictactoe", "--resume", str(run_c), "--iterations=2", "--quiet"]
    assert train.main([*resume, "--merge_duplicates=true"]) == 0
    lines = read_metrics(run_c / "metrics.jsonl")
    assert "buffer_distinct" not in lines[0] and lines[1]["buffer_distinct"] < lines[1]["buffer"]
    assert load_checkpoint(run_c / "checkpoints" / "iter_000002.pt", kind="alphazero")["config"]["merge_duplicates"]
    capsys.readouterr()


@pytest.mark.cuda
def test_connect_four_run_on_cuda(tmp_path):
    """The tiny preset on the GPU: self-play, bf16 training, in-loop evaluation; the checkpoint loads on the CPU."""
    argv = ["connect_four", "--preset=tiny", "--device", "cuda", "--runs", str(tmp_path), "--quiet"]
    argv += ["--iterations=2", "--eval_every=2", "--eval_games=2", "--eval_baselines=random", "--eval_bench_limit=20"]
    assert train.main(argv) == 0
    (run,) = tmp_path.glob("train__connect_four__*")
    last = read_metrics(run / "metrics.jsonl")[-1]
    assert last["iteration"] == 2 and 0 <= last["mistake_rate"] <= 1 and "elo_vs_random" in last
    assert np.isfinite(last["loss"])
    net, game = load_policy_value_net(run / "checkpoints" / "iter_000002.pt")
    assert game.name == "connect_four" and next(net.parameters()).device.type == "cpu"


KATAGO_GUMBEL = ["--gumbel=true", "--full_search_prob=0.5", "--fast_simulations=4", "--max_considered_actions=4"]


@pytest.mark.parametrize("flags", [[], KATAGO_GUMBEL], ids=["puct", "gumbel+playout-cap"])
def test_dry_run(flags, tmp_path, capsys, name="connect_four"):
    assert train.main([name, "--preset=tiny", "--dry-run", "--quiet", "--runs", str(tmp_path), *flags]) == 0
    assert "done: 1 iterations" in capsys.readouterr().out
    (ckpt,) = tmp_path.glob("*/checkpoints/iter_000001.pt")
    assert load_checkpoint(ckpt, kind="alphazero")["buffer"]["positions_total"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["othello", "gomoku", "hex", "go"])
def test_dry_run_big_boards(name, tmp_path, capsys):
    test_dry_run(KATAGO_GUMBEL, tmp_path, capsys, name=name)
