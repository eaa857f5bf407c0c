"""Curves of the 7x7 Go ablation of KataGo's auxiliary targets and input features (docs/strength.md).

    python docs/go_aux_curves.py OUT.png LABEL=RUN_ROOT [LABEL=RUN_ROOT ...]

RUN_ROOT is a `--runs` folder holding one `train__go__...` run (metrics.jsonl) and optionally `cpu.txt` beside it:
lines "EPOCH_SECONDS CPU_TICKS" of the run's process, sampled while it ran. Plots, against the iteration, the policy
and value losses (on each run's own self-play data) and the in-loop score against alphabeta:2 where evaluated, and
prints per run: iterations, CPU-minutes at the last iteration, the last losses.
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


def _records(root: Path) -> list[dict]:
    runs = sorted(root.glob("train__go__*"))
    if not runs:
        raise SystemExit(f"error: no train__go__* run under {root}")
    return [json.loads(line) for line in (runs[-1] / "metrics.jsonl").read_text().splitlines() if line.strip()]


def _cpu_minutes(root: Path, when: float) -> float:
    """CPU-minutes of the run's process at epoch second `when` (nan without cpu.txt)."""
    path = root / "cpu.txt"
    if not path.is_file():
        return float("nan")
    t, ticks = np.loadtxt(path, ndmin=2).T
    return float(np.interp(when, t, ticks)) / TICKS / 60


def main(argv: list[str]) -> None:
    out, runs = Path(argv[0]), [a.split("=", 1) for a in argv[1:]]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for label, root in runs:
        recs = _records(Path(root))
        it = [r["iteration"] for r in recs]
        axes[0].plot(it, [r["policy_loss"] for r in recs], marker="o", label=label)
        axes[1].plot(it, [r["value_loss"] for r in recs], marker="o", label=label)
        ev = [(r["iteration"], r["score_vs_alphabeta:2"]) for r in recs if "score_vs_alphabeta:2" in r]
        if ev:
            axes[2].plot(*zip(*ev, strict=True), marker="o", label=label)
        last = recs[-1]
        cpu = _cpu_minutes(Path(root), last["time"])
        print(f"{label}: {last['iteration']} iterations, {cpu:.1f} CPU-minutes, policy loss {last['policy_loss']:.3f},"
              f" value loss {last['value_loss']:.3f}, evaluations {ev}")  # fmt: skip
    for ax, title in zip(axes, ("policy loss", "value loss", "score vs alphabeta:2 (in-loop)"), strict=True):
        ax.set_title(title)
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
        else:
            ax.text(0.5, 0.5, "no evaluation reached", ha="center", va="center", transform=ax.transAxes)
    fig.suptitle("7x7 Go, cpu preset: baseline vs auxiliary targets vs + input features")
    fig.tight_layout()
    fig.savefig(out, dpi=100)


if __name__ == "__main__":
    main(sys.argv[1:])
