"""Learning curves of Connect Four training runs: in-loop mistake rate against training CPU-minutes.

    python docs/strength_curves.py OUT.png LABEL=RUN_ROOT [LABEL=RUN_ROOT ...] [--title TEXT]

RUN_ROOT is a `--runs` folder holding one `train__connect_four__...` run (metrics.jsonl). CPU time comes from an
optional `cpu.txt` beside it: lines "EPOCH_SECONDS CPU_TICKS" sampled every few seconds from /proc/PID/stat
(utime + stime) while the run went, appended to by a resumed run. The CPU spent in evaluations is subtracted, so
the x axis is self-play + training CPU only; without cpu.txt it falls back to the wall-clock seconds of self-play +
training. Prints one line per run (last and best evaluation, CPU-minutes) and writes the plot.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def _run_dir(root: Path) -> Path:
    found = sorted(root.glob("train__connect_four__*"))
    if not found:
        raise SystemExit(f"error: no train__connect_four__* run under {root}")
    return found[-1]


def _cumulative_cpu(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(epoch seconds, CPU seconds since the run began) from cpu.txt; a resumed run's new process restarts its ticks."""
    t, ticks = np.loadtxt(path, ndmin=2, usecols=(0, 1)).T
    steps = np.diff(ticks, prepend=0.0)
    steps[steps < 0] = ticks[steps < 0]  # a new process: its ticks count from zero
    return t, np.cumsum(steps) / TICKS


def eval_positions(root: Path) -> int:
    """Positions in one in-loop evaluation of the run (its sets times the per-set limit; the sets hold 1000 each)."""
    cfg = json.loads((_run_dir(root) / "config.json").read_text())
    sets = [s for s in cfg["eval_bench_sets"].split(",") if s]
    return len(sets) * (cfg["eval_bench_limit"] or 1000)


def curve(root: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    """(training CPU-minutes, mistake rate) at every evaluated iteration, and the last metrics record.

    An iteration ends at its record's `time` (older runs: its checkpoint's modification time); its evaluation ran
    during the `eval_s` seconds before.
    """
    run = _run_dir(root)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    cpu_file = root / "cpu.txt"
    xs, ys = [], []
    if cpu_file.is_file():
        t, c = _cumulative_cpu(cpu_file)
        eval_cpu = 0.0
        for r in records:
            end = r.get("time") or (run / "checkpoints" / f"iter_{r['iteration']:06d}.pt").stat().st_mtime
            eval_cpu += max(float(np.interp(end, t, c) - np.interp(end - r["eval_s"], t, c)), 0.0)
            if "mistake_rate" in r:
                xs.append((float(np.interp(end, t, c)) - eval_cpu) / 60)
                ys.append(r["mistake_rate"])
    else:
        used = 0.0
        for r in records:
            used += r["selfplay_s"] + r["train_s"]
            if "mistake_rate" in r:
                xs.append(used / 60)
                ys.append(r["mistake_rate"])
    return np.array(xs), np.array(ys), records[-1]


def main(argv: list[str]) -> int:
    title = "Connect Four: in-loop mistake rate"
    if "--title" in argv:
        i = argv.index("--title")
        title = argv[i + 1]
        argv = argv[:i] + argv[i + 2 :]
    if len(argv) < 2:
        print(__doc__)
        return 2
    out, specs = Path(argv[0]), argv[1:]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for spec in specs:
        label, _, root = spec.rpartition("=")
        x, y, last = curve(Path(root))
        se = np.sqrt(y * (1 - y) / eval_positions(Path(root)))  # binomial standard error of one evaluation
        ax.errorbar(x, 100 * y, yerr=100 * se, marker="o", ms=3, capsize=2, label=label)
        print(
            f"{label:28s} evals {len(y):3d}  last {100 * y[-1]:5.1f}%  best {100 * y.min():5.1f}%  "
            f"cpu-min {x[-1]:5.1f}  iterations {last['iteration']}  positions {last['positions_total']}"
        )
    ax.set_xlabel("self-play + training CPU-minutes (one thread)")
    ax.set_ylabel("mistake rate (%), bars: 1 standard error")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
