"""Run directories: `runs/<job>__<name>__<seed>__<time>/` holding config, metrics, checkpoints and samples."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from core.checkpoint import atomic_write

__all__ = ["make_run_dir", "write_json_atomic", "read_json"]


def make_run_dir(job: str, name: str, seed: int, root: str | os.PathLike = "runs") -> Path:
    """Create and return a new run directory named `<job>__<name>__<seed>__<YYYYmmdd-HHMMSS>`.

    A second run started within the same second gets a numeric suffix instead of sharing the folder.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{job}__{name}__{seed}__{stamp}"
    path, n = base, 1
    while True:
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            n += 1
            path = base.with_name(f"{base.name}-{n}")


def write_json_atomic(path: str | os.PathLike, obj) -> None:
    """Write obj as indented JSON through a temp file and rename."""
    atomic_write(path, (json.dumps(obj, indent=2, default=str) + "\n").encode())


def read_json(path: str | os.PathLike):
    """Read a JSON file."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)
