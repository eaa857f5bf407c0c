import random

import numpy as np
import pytest
import torch

from core.device import autocast, pick_device
from core.metrics import MetricsLog, plot_metrics, read_metrics
from core.run import make_run_dir
from core.seeding import rng_state, seed_everything, set_rng_state


def test_metrics_append_survive_a_torn_line_and_plot(tmp_path):
    path = tmp_path / "metrics.jsonl"
    with MetricsLog(path) as log:
        for step in range(5):
            log.log(step=step, loss=1.0 / (step + 1), tag="a", value=torch.tensor(2.0))
    with open(path, "a") as f:
        f.write('{"step": 5, "lo')  # a process killed mid-line
    with MetricsLog(path) as log:
        log.log(step=6, loss=0.1)
    records = read_metrics(path)
    assert [r["step"] for r in records] == [0, 1, 2, 3, 4, 6] and records[0]["value"] == 2.0
    png = plot_metrics(path, tmp_path / "plot.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_seeding_round_trip():
    seed_everything(3)
    state = rng_state()
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a


def test_pick_device_and_autocast():
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match="unknown device"):
        pick_device("tpu-please")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device("cuda")
    with autocast("cpu"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


def test_run_dirs_are_unique(tmp_path):
    a = make_run_dir("train", "tictactoe", 0, root=tmp_path)
    b = make_run_dir("train", "tictactoe", 0, root=tmp_path)
    assert a != b and a.name.startswith("train__tictactoe__0__") and a.is_dir() and b.is_dir()
