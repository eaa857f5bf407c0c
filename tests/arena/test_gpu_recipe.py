"""The GPU recipe: refuses a machine without CUDA in one line, and its smoke mode runs the whole pipeline on the CPU."""

import json

import pytest
import torch

from arena import gpu_recipe
from arena.connect4_positions import OWN_SETS


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_one_error_line(tmp_path, capsys):
    assert gpu_recipe.main(["--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no CUDA device") and "--smoke" in err[0]
    assert not (tmp_path / "out").exists()


def test_cpu_needs_smoke(tmp_path, capsys):
    assert gpu_recipe.main(["--out", str(tmp_path), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --device cpu")


def test_smoke_runs_every_step_and_writes_json(tmp_path, capsys):
    out = tmp_path / "recipe"
    assert gpu_recipe.main(["--out", str(out), "--device", "cpu", "--smoke"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    steps = ("cuda_tests", "bench_envs", "bench_selfplay", "train", "evaluate")
    assert summary["ok"] and summary["smoke"] and list(summary["steps"]) == list(steps)
    for name in steps:
        step = json.loads((out / f"{name}.json").read_text())
        assert step["status"] == "ok", (name, step)
        assert (out / "logs" / f"{name}.log").is_file()
    tests = json.loads((out / "cuda_tests.json").read_text())["figures"]
    assert tests["tests"] > 0 and tests["failures"] == tests["errors"] == 0
    if not torch.cuda.is_available():
        assert tests["skipped"] == tests["tests"]  # every cuda test was collected and skipped
    envs_figs = json.loads((out / "bench_envs.json").read_text())["figures"]["summary"]
    assert envs_figs["connect_four"]["steps_per_s"]["64"] > 0
    selfplay = json.loads((out / "bench_selfplay.json").read_text())["figures"]
    assert selfplay["device"] == "cpu" and selfplay["search_sims_per_s"] > 0
    train = json.loads((out / "train.json").read_text())["figures"]
    assert train["iterations"] == 2 and [c["iteration"] for c in train["curve"]] == [1, 2]
    assert all(f"mistake_rate_{name}" in train["curve"][0] for name in OWN_SETS)  # the project's own positions
    assert train["relapse_check"]["evaluations"] == 2
    evaluate = json.loads((out / "evaluate.json").read_text())["figures"]
    assert set(OWN_SETS) <= set(evaluate["results"]) and evaluate["total"]["positions"] >= 15
    head = summary["headline"]
    assert head["evaluate"]["all_keeps_outcome"] == pytest.approx(1 - evaluate["total"]["mistake_rate"])
    assert "all steps passed" in capsys.readouterr().out
