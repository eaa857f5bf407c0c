import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from core.checkpoint import CheckpointError, latest_checkpoint, load_checkpoint, save_checkpoint


def test_round_trip_keeps_tensors_and_counters(tmp_path):
    net = torch.nn.Linear(3, 2)
    path = save_checkpoint(tmp_path / "ckpt_000010.pt", {"model": net.state_dict(), "step": 10}, kind="unit")
    payload = load_checkpoint(path, kind="unit")
    assert payload["step"] == 10
    assert torch.equal(payload["model"]["weight"], net.weight.detach())


def test_errors_name_the_file_and_the_problem(tmp_path):
    missing = tmp_path / "nope.pt"
    with pytest.raises(CheckpointError, match="nope.pt: no such"):
        load_checkpoint(missing)
    damaged = tmp_path / "damaged.pt"
    save_checkpoint(damaged, {"x": torch.zeros(1000)}, kind="unit")
    damaged.write_bytes(damaged.read_bytes()[:300])
    with pytest.raises(CheckpointError, match="damaged.pt: damaged"):
        load_checkpoint(damaged)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weight": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match="foreign.pt: not a gamelab checkpoint"):
        load_checkpoint(foreign)
    other = save_checkpoint(tmp_path / "gan.pt", {}, kind="gan")
    with pytest.raises(CheckpointError, match="'gan' checkpoint, but a 'alphazero'"):
        load_checkpoint(other, kind="alphazero")
    newer = tmp_path / "newer.pt"
    torch.save({"format": "gamelab-checkpoint", "version": 999, "kind": "unit", "payload": {}}, newer)
    with pytest.raises(CheckpointError, match="newer"):
        load_checkpoint(newer)


def test_failed_write_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "c.pt", {"step": 1}, kind="unit")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        save_checkpoint(path, {"step": 2}, kind="unit")
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_killed_writer_never_leaves_a_torn_checkpoint(tmp_path):
    script = f"""
import torch, sys
sys.path.insert(0, {os.getcwd()!r})
from core.checkpoint import save_checkpoint
big = torch.randn(2_000_000)
step = 0
while True:
    step += 1
    save_checkpoint({str(tmp_path)!r} + "/ckpt.pt", {{"step": step, "big": big}}, kind="unit")
    print(step, flush=True)
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "1"
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    payload = load_checkpoint(tmp_path / "ckpt.pt", kind="unit")
    assert payload["step"] >= 1 and payload["big"].shape == (2_000_000,)


def test_latest_checkpoint_orders_by_step_number(tmp_path):
    for step in (2, 10, 9):
        save_checkpoint(tmp_path / f"ckpt_{step}.pt", {"step": step}, kind="unit")
    (tmp_path / ".ckpt_11.pt.123.tmp").write_bytes(b"partial")
    assert latest_checkpoint(tmp_path).name == "ckpt_10.pt"
    assert latest_checkpoint(tmp_path / "missing") is None
