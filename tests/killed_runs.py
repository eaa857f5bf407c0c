"""Test helper for the kill-then-resume tests: wait until a training subprocess has written a given checkpoint."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

# A bound on a wait that takes seconds: a loaded 2-core machine can be ten times slower, a hung run never ends
WAIT_S = 600.0


def wait_for_checkpoint(proc: subprocess.Popen, root: Path, pattern: str, timeout: float = WAIT_S) -> None:
    """Return once `root.glob(pattern)` finds a file; fail if `proc` ended without writing it or `timeout` passed
    (then it is killed)."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            code = proc.poll()  # before the look: a run that wrote the file and then ended is still a success
            if list(root.glob(pattern)):
                return
            assert code is None, f"the run ended (status {code}) without writing {pattern}"
            assert time.monotonic() < deadline, f"no {pattern} after {timeout:.0f} s"
            time.sleep(0.01)
    except BaseException:
        proc.kill()  # a failed wait leaves no run behind
        proc.wait()
        raise
