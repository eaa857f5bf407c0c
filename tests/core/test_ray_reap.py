"""A private Ray whose learner was killed (SIGKILL) is ended by its watchdog, or else by the next start: the processes
naming its folder or holding a file in it are killed by id and the folder is removed, while the folder of a living
owner is left alone. (tests/arena/test_actors.py does the same with real Ray processes.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from core.ray_cluster import reap_stale_sessions
from core.ray_watchdog import alive, start_watchdog


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


# a stand-in for a Ray agent or actor: its command line (like Ray's rewritten `ray::DashboardAgent`) does not name the
# folder, but it holds a log file open there
_HOLDER = "import sys, time; f = open(sys.argv[1], 'a'); print('ready', flush=True); time.sleep(300)"


def test_a_process_holding_a_file_in_a_dead_owners_folder_is_ended(tmp_path):
    dead = tmp_path / "gamelab-ray-dead"
    (dead / "logs").mkdir(parents=True)
    (dead / "owner").write_text(f"{_dead_pid()}\n")
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(dead / "logs" / "agent.out")], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"ready\n"
        assert reap_stale_sessions(tmp_path) == [dead]
        assert holder.wait(30) == -9 and not dead.exists()
    finally:
        holder.kill()
        holder.wait()


# a stand-in for the learner: starts the watchdog of FOLDER and a process of that folder, prints both ids, sleeps
_LEARNER = (
    "import subprocess, sys, time; from core.ray_watchdog import start_watchdog; folder = sys.argv[1]; "
    "dog = start_watchdog(folder); "
    f"agent = subprocess.Popen([sys.executable, '-c', {_HOLDER!r}, folder + '/logs/agent.out'], "
    "stdout=subprocess.PIPE); "
    "agent.stdout.readline(); print(dog.pid, agent.pid, flush=True); time.sleep(300)"
)


def _start_learner(folder):
    (folder / "logs").mkdir(parents=True)
    root = Path(__file__).resolve().parents[2]
    learner = subprocess.Popen([sys.executable, "-c", _LEARNER, str(folder)], stdout=subprocess.PIPE, cwd=root)
    dog, agent = (int(pid) for pid in learner.stdout.readline().split())
    return learner, dog, agent


def _gone_within(pids, seconds):
    deadline = time.monotonic() + seconds
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(alive(pid) for pid in pids)


def test_the_watchdog_ends_the_folder_when_the_learner_is_killed(tmp_path):
    folder = tmp_path / "gamelab-ray-x"
    learner, dog, agent = _start_learner(folder)
    try:
        time.sleep(0.3)
        assert alive(dog) and alive(agent) and folder.is_dir()  # nothing happens while the learner lives
        t0 = time.monotonic()
        learner.kill()
        learner.wait()
        assert _gone_within([agent, dog], 10), "the learner's Ray processes outlived it"
        print(f"watchdog ended the folder {time.monotonic() - t0:.2f}s after the learner's SIGKILL")
        assert not folder.exists()
    finally:
        for pid in (agent, dog):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_stopped_watchdog_leaves_the_folder_alone(tmp_path):
    folder = tmp_path / "gamelab-ray-y"
    dog = start_watchdog(folder)
    dog.terminate()  # what RaySession.close does after closing Ray itself
    assert dog.wait(30) == -signal.SIGTERM
    folder.mkdir()
    assert folder.is_dir()
