"""Append-only JSONL metrics log per run, and PNG plots of it."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

from core.checkpoint import atomic_write

__all__ = ["MetricsLog", "read_metrics", "keep_metrics", "plot_metrics"]


class MetricsLog:
    """Appends one JSON object per line to a file, flushed at once, so a killed run loses no logged line."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")
        if self._file.tell() > 0 and not _ends_with_newline(self.path):
            self._file.write("\n")  # a run killed mid-line: start the next record on a line of its own

    def log(self, **values) -> dict:
        """Write values (numbers, strings, lists, dicts) with the wall-clock "time". Returns the record."""
        record = {"time": round(time.time(), 3), **{k: _plain(v) for k, v in values.items()}}
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        return record

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> MetricsLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_metrics(path: str | os.PathLike) -> list[dict]:
    """All records of a metrics file; a torn last line (the process died mid-write) is skipped."""
    records = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def keep_metrics(path: str | os.PathLike, keep: Callable[[dict], bool]) -> int:
    """Rewrite a metrics file (atomically) with only the records `keep` accepts; returns how many were dropped.

    A resumed run drops what it logged after the checkpoint it continues from (it will log those steps again).
    """
    path = Path(path)
    if not path.is_file():
        return 0
    records = read_metrics(path)
    kept = [r for r in records if keep(r)]
    if len(kept) < len(records):
        atomic_write(path, "".join(json.dumps(r) + "\n" for r in kept).encode())
    return len(records) - len(kept)


def plot_metrics(
    path_jsonl: str | os.PathLike, out_png: str | os.PathLike, keys: list[str] | None = None, x: str = "step"
) -> Path:
    """Plot numeric metrics against `x`, one panel per key, into a PNG. Returns the PNG path.

    Args:
        keys: metric names to plot; default every numeric key but x and time.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [r for r in read_metrics(path_jsonl) if x in r]
    if keys is None:
        keys = sorted({k for r in records for k, v in r.items() if _is_number(v) and k not in (x, "time")})
    keys = [k for k in keys if any(_is_number(r.get(k)) for r in records)]
    cols = min(3, max(1, len(keys)))
    rows = max(1, math.ceil(len(keys) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        points = [(r[x], r[key]) for r in records if _is_number(r.get(key))]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="." if len(points) < 50 else None)
        ax.set_title(key, fontsize=10)
        ax.set_xlabel(x, fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys) :]:
        ax.axis("off")
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_png.with_name(f".{out_png.name}.tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, out_png)
    return out_png


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _plain(v):
    # Tensors and NumPy scalars become plain Python values.
    if hasattr(v, "tolist"):
        return v.tolist()
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v
