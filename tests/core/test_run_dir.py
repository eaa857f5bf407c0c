"""core.run.RunDir: checkpoint naming and rotation, the resume point past a torn file, metrics truncation, and the
one line and exit status of an interrupted loop (a real signal sent to this process)."""

from __future__ import annotations

import os
import signal
import time

import pytest
import torch

from core.checkpoint import CheckpointError, save_checkpoint
from core.metrics import MetricsLog, read_metrics
from core.run import Budget, RunDir


def _run(tmp_path, **layout) -> RunDir:
    return RunDir(tmp_path / "run", **{"kind": "test", "prefix": "iter", "digits": 6, **layout})


def test_rotation_keeps_the_newest_and_the_milestones(tmp_path):
    run = _run(tmp_path, keep=2, milestone_every=5)
    for n in range(1, 13):
        path = run.save(n, {"n": n, "w": torch.full((2,), float(n))})
        assert path.name == f"iter_{n:06d}.pt"
    assert [n for n, _ in run.checkpoints()] == [5, 10, 11, 12]
    assert run.latest() == run.checkpoint_path(12)
    keep_all = _run(tmp_path / "b")
    for n in range(4):
        keep_all.save(n, {"n": n})
    assert [n for n, _ in keep_all.checkpoints()] == [0, 1, 2, 3]


def test_the_resume_point_falls_back_past_torn_files_only(tmp_path, capsys):
    run = _run(tmp_path, keep=5)
    for n in (1, 2, 3):
        run.save(n, {"n": n})
    save_checkpoint(run.path / "checkpoints" / "iter_99.pt", {"n": 99}, kind="test")  # an older run's digit count
    assert run.resume_point()[0]["n"] == 99
    (run.path / "checkpoints" / "iter_99.pt").unlink()
    run.checkpoint_path(3).write_bytes(run.checkpoint_path(3).read_bytes()[:100])  # torn by a crash
    run.checkpoint_path(2).write_bytes(b"")
    payload, path = run.resume_point()
    assert payload["n"] == 1 and path == run.checkpoint_path(1)
    assert "iter_000002.pt, iter_000003.pt damaged (unreadable)" in capsys.readouterr().out
    save_checkpoint(run.checkpoint_path(4), {"n": 4}, kind="other")  # refused, not torn: no fallback past it
    with pytest.raises(CheckpointError, match="iter_000004.pt"):
        run.resume_point()
    for _, path in run.checkpoints():
        path.write_bytes(b"x")
    with pytest.raises(CheckpointError, match="no earlier checkpoint"):
        run.resume_point()
    with pytest.raises(CheckpointError, match="no such run directory"):
        _run(tmp_path / "nowhere").resume_point()


def test_truncate_metrics_drops_later_lines_and_restores_the_checkpoints_own(tmp_path):
    run = _run(tmp_path)
    with MetricsLog(run.metrics_path) as log:
        for i in (1, 2, 4, 5):
            log.log(iteration=i)
    run.truncate_metrics(3, key="iteration", record={"iteration": 3})
    assert [r["iteration"] for r in read_metrics(run.metrics_path)] == [1, 2, 3]


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_an_interrupted_loop_exits_with_one_line_and_keeps_its_checkpoint(signame, tmp_path, capsys):
    run = _run(tmp_path)
    cleaned, before = [], (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    with pytest.raises(SystemExit) as stop:
        with run.interruptible("iteration", "gamelab train x --resume RUN") as at:
            try:
                for n in range(1, 100):
                    run.save(n, {"n": n})
                    at.value = n
                    if n == 3:
                        os.kill(os.getpid(), getattr(signal, signame))  # handled before the next bytecode
            finally:
                cleaned.append(True)
    assert stop.value.code == 128 + getattr(signal, signame)
    assert cleaned and run.resume_point()[0]["n"] == 3
    assert capsys.readouterr().err == "interrupted at iteration 3; resume with gamelab train x --resume RUN\n"
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before  # the handlers are put back


def test_budget_counts_this_process_cpu_time_not_wall_time():
    assert Budget().spent() == "" and not Budget().limited
    cpu = Budget(cpu_minutes=0.002)  # 0.12 CPU-seconds
    time.sleep(0.2)  # sleeping spends wall time, not CPU time
    assert cpu.spent() == "" and cpu.wall_s() >= 0.2 and cpu.cpu_s() < 0.12
    while not cpu.spent():
        sum(range(10_000))
    assert cpu.spent() == "CPU limit of 0.002 minutes" and cpu.cpu_s() >= 0.12
    wall = Budget(minutes=0.003, cpu_minutes=60)
    time.sleep(0.2)
    assert wall.spent() == "time limit of 0.003 minutes"
