"""`gamelab bench duplicates`: duplicate figures of a run's replay window, read without touching the run."""

from __future__ import annotations

import json

import numpy as np

import envs
from agents.buffer import ReplayBuffer
from agents.leaf_evaluators import uniform_evaluator
from agents.learner import TrainConfig
from agents.mcts import SearchSettings
from agents.selfplay import SelfPlay
from arena.bench import duplicates as bench_duplicates
from core.config import config_to_dict


def test_bench_counts_duplicates_by_stage_and_leaves_the_run_alone(tmp_path, capsys):
    game = envs.get_game("tictactoe")
    run = tmp_path / "train__tictactoe__0__x"
    cfg = TrainConfig(blocks=1, channels=8, batch_size=16, buffer_window=150)
    (run / "buffer").mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"game": "tictactoe", "options": {}, **config_to_dict(cfg)}))
    sp = SelfPlay(game, 8, SearchSettings(num_simulations=4, dirichlet_fraction=0.25), seed=0)
    buffer = ReplayBuffer(run / "buffer", cfg.buffer_window)
    for _ in range(4):
        buffer.add(sp.run(uniform_evaluator(game), 50, show_progress=False)[0])
    before = {p.name: p.stat().st_mtime_ns for p in (run / "buffer").iterdir()}

    assert bench_duplicates.main([str(run), "--steps=2", "--rounds=2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    window = {k: v[-150:] for k, v in buffer._window_arrays().items()}
    keys = [p.tobytes() + m.tobytes() for p, m in zip(window["planes"], window["mask"])]
    assert out["positions"] == 150 and out["distinct"] == len(set(keys)) < 150
    stones = window["planes"][:, :2].astype(np.float32).sum(axis=(1, 2, 3))
    empty = [k for k, s in zip(keys, stones) if s == 0]
    assert out["stages"][0] == {"stones": "0", "positions": len(empty), "distinct": 1,
                                "duplicate_fraction": 1 - 1 / len(empty)}  # fmt: skip
    assert sum(s["positions"] for s in out["stages"]) == 150
    assert out["distinct_under_symmetry"] < out["distinct"]  # tic-tac-toe openings repeat up to its 8 symmetries
    assert out["step_s_off"] > 0 and out["step_s_on"] > 0 and out["steps"] == 4
    assert before == {p.name: p.stat().st_mtime_ns for p in (run / "buffer").iterdir()}

    assert bench_duplicates.main([str(tmp_path / "nothing")]) == 2
    assert "nothing" in capsys.readouterr().err
