"""Ending a private Ray whose learner died: which processes belong to a session folder, and the watchdog process.

A private Ray's processes all live under one session folder (`core.ray_cluster`): gcs_server, raylet and Ray's
Python helpers name it on their command lines, and every process Ray starts, the agents and actors included (whose
command lines Ray rewrites to `ray::DashboardAgent`, `ray::SelfPlayActor`, ...), holds its log files open there.
`folder_processes` finds them by both, `end_folder` kills them by id and removes the folder.

The watchdog (`start_watchdog`) is a small process of its own session (a Ctrl-C to the terminal does not reach it)
that waits, without polling, for the learner that started it to exit (a pidfd of its parent) and then ends the
folder. Ray stops gcs_server and raylet with the learner (PR_SET_PDEATHSIG), but its agents notice the raylet's death
only after seconds and then hang for minutes trying to report it to the dead GCS; actors may linger too. The
learner stops its watchdog once it has closed Ray itself (`RaySession.close`). Standard library only: the watchdog
runs this file as a script, without the project or Ray on its path.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["alive", "folder_processes", "end_folder", "start_watchdog", "main"]

END_WAIT_S = 10.0  # how long end_folder waits for killed processes to go before removing the folder anyway


def alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _inside(link: str, folders: list[str]) -> bool:
    return any(link == f or link.startswith(f + "/") for f in folders)


def folder_processes(folders: list[str | os.PathLike]) -> list[int]:
    """Processes (other than this one) whose command line names one of `folders`, or that hold a file open inside
    one; Linux /proc."""
    names = [os.path.realpath(f) for f in folders] + [str(f) for f in folders]
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        pid = int(entry.name)
        if pid == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            if any(name in cmdline for name in names):
                found.append(pid)
                continue
            for fd in os.scandir(entry / "fd"):
                if _inside(os.readlink(fd.path), names):
                    found.append(pid)
                    break
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def end_folder(folder: str | os.PathLike, wait_s: float = END_WAIT_S) -> list[int]:
    """SIGKILL, by id, every process of `folder` (`folder_processes`) until none is left or `wait_s` passed, then
    remove the folder. Returns the ids killed."""
    killed: set[int] = set()
    deadline = time.monotonic() + wait_s
    while True:
        pids = [pid for pid in folder_processes([folder]) if alive(pid)]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except (ProcessLookupError, PermissionError):
                pass
        if not pids or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    shutil.rmtree(folder, ignore_errors=True)
    return sorted(killed)


def start_watchdog(folder: str | os.PathLike) -> subprocess.Popen:
    """Start the watchdog of `folder` for this process: when this process exits, it ends the folder's processes
    and removes the folder. Stop it (`terminate`, then `wait`) after closing Ray normally."""
    return subprocess.Popen(
        [sys.executable, "-I", os.path.abspath(__file__), str(os.getpid()), str(folder)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True, cwd="/",
    )  # fmt: skip


def _wait_for_exit(pid: int) -> None:
    """Return once process `pid`, this process's parent, has exited."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfd (Linux before 5.3): poll the parent
        while os.getppid() == pid:
            time.sleep(0.5)
        return
    if os.getppid() != pid:  # it exited before the pidfd was opened (its id may already be another's)
        return
    select.select([pidfd], [], [])  # readable once the process has exited


def main(argv: list[str] | None = None) -> int:
    """`ray_watchdog.py LEARNER_PID FOLDER`: wait for the learner to exit, then end FOLDER."""
    pid, folder = (argv if argv is not None else sys.argv[1:])[:2]
    _wait_for_exit(int(pid))
    end_folder(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
