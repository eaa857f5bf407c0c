"""A private Ray whose learner was killed (SIGKILL) is cleaned up by the next start: the processes naming its
folder are killed by id and the folder is removed, while the folder of a living owner is left alone."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from core.ray_cluster import reap_stale_sessions


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_what_a_killed_learner_left_is_ended_and_removed(tmp_path):
    dead, live = tmp_path / "gamelab-ray-dead", tmp_path / "gamelab-ray-live"
    (dead / f"session_2026-01-01_00-00-00_000000_{_dead_pid()}" / "logs").mkdir(parents=True)
    (live / "logs").mkdir(parents=True)
    (live / "owner").write_text(f"{os.getpid()}\n")
    sleeper = "import sys, time; time.sleep(300)"
    orphan = subprocess.Popen([sys.executable, "-c", sleeper, f"--session-dir={dead}/session_x"])
    kept = subprocess.Popen([sys.executable, "-c", sleeper, f"--session-dir={live}/session_y"])
    try:
        assert reap_stale_sessions(tmp_path) == [dead]
        assert orphan.wait(30) == -9  # killed by id
        time.sleep(0.2)
        assert kept.poll() is None and live.is_dir() and not dead.exists()
        assert reap_stale_sessions(tmp_path) == []
    finally:
        for proc in (orphan, kept):
            proc.kill()
            proc.wait()
