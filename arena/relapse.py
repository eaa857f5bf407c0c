"""Relapse check of a learning curve: does a later in-loop evaluation fall back behind an earlier one?

    python -m arena.relapse RUN [RUN ...]            # a run directory, or a folder holding one train__* run
    python -m arena.relapse RUN --json

The criterion (issue 13's "learning curve without relapses"): after the first quarter of the run (by iteration), no
evaluation's mistake rate is worse than an earlier evaluation's by more than twice its binomial standard error.
"Its" is the later (worse) evaluation's standard error; the gap in standard errors of the difference of the two is
reported beside it. An in-loop Connect Four evaluation logs `mistake_rate` (the mean over its sets) and
`mistake_rate_SET` per set; its standard error is sqrt(sum_s p_s (1 - p_s) / n_s) / k over its k sets, with n_s the
positions evaluated in set s (the run's `eval_bench_limit`, or the whole set when that is 0).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from arena.connect4_positions import OWN_SETS, load_own_set
from arena.evaluate import bench_dir_default

__all__ = ["Evaluation", "Relapse", "binomial_se", "find_relapses", "run_evaluations", "check_run", "main"]

PONS_SET_SIZE = 1000  # positions in each of Pascal Pons' Test_* sets (used when the file is not on this machine)


@dataclass(frozen=True)
class Evaluation:
    """One in-loop evaluation: its iteration, mistake rate and binomial standard error."""

    iteration: int
    rate: float
    se: float


@dataclass(frozen=True)
class Relapse:
    """A later evaluation worse than an earlier one: the gap in units of the later one's standard error
    (`sigmas`, the criterion) and of the standard error of the difference (`sigmas_diff`)."""

    earlier: Evaluation
    later: Evaluation
    sigmas: float
    sigmas_diff: float


def binomial_se(rates: list[float], sizes: list[int]) -> float:
    """Standard error of the mean of k binomial rates, rates[s] measured on sizes[s] positions."""
    k = len(rates)
    return math.sqrt(sum(p * (1 - p) / n for p, n in zip(rates, sizes))) / k


def find_relapses(evals: list[Evaluation], last_iteration: int | None = None, k: float = 2.0) -> list[Relapse]:
    """Every pair (earlier, later) where a later evaluation, past the first quarter of the run, is worse than an
    earlier one by more than k times its standard error; the worst gap first.

    Args:
        evals: the run's evaluations in order of iteration.
        last_iteration: the run's length in iterations (default: the last evaluation's iteration).
        k: the threshold in standard errors.
    """
    end = last_iteration if last_iteration is not None else (evals[-1].iteration if evals else 0)
    out = []
    for j, later in enumerate(evals):
        if later.iteration <= end / 4:
            continue
        for earlier in evals[:j]:
            gap = later.rate - earlier.rate
            if gap > k * later.se:
                diff = math.hypot(earlier.se, later.se)
                out.append(Relapse(earlier, later, gap / later.se, gap / diff if diff else math.inf))
    return sorted(out, key=lambda r: -r.sigmas)


def _set_size(name: str, limit: int) -> int:
    if name in OWN_SETS:
        size = len(load_own_set(name))
    else:
        path = bench_dir_default() / f"{name}.scores"
        size = sum(1 for line in open(path, encoding="ascii") if line.strip()) if path.is_file() else PONS_SET_SIZE
    return min(size, limit) if limit else size


def run_evaluations(run: Path) -> tuple[list[Evaluation], int]:
    """The in-loop Connect Four evaluations of a run directory (metrics.jsonl, config.json) and its last iteration."""
    cfg = json.loads((run / "config.json").read_text())
    limit = int(cfg.get("eval_bench_limit", 0))
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    evals = []
    for r in records:
        if "mistake_rate" not in r:
            continue
        names = [k.removeprefix("mistake_rate_") for k in r if k.startswith("mistake_rate_")]
        rates = [r[f"mistake_rate_{n}"] for n in names]
        se = binomial_se(rates, [_set_size(n, limit) for n in names])
        evals.append(Evaluation(int(r["iteration"]), float(r["mistake_rate"]), se))
    return evals, max((int(r["iteration"]) for r in records), default=0)


def _run_dir(path: Path) -> Path:
    if (path / "metrics.jsonl").is_file():
        return path
    found = sorted(p for p in path.glob("train__*") if (p / "metrics.jsonl").is_file())
    if not found:
        raise FileNotFoundError(f"no run with metrics.jsonl at or under {path}")
    return found[-1]


def check_run(path: str | Path, k: float = 2.0) -> dict:
    """The relapse check of one run: {"run", "evaluations", "last_iteration", "relapse" (bool), "relapses" (count),
    "worst" (the largest relapse as a dict, or None)}."""
    run = _run_dir(Path(path))
    evals, last = run_evaluations(run)
    found = find_relapses(evals, last, k)
    return {
        "run": str(run),
        "evaluations": len(evals),
        "last_iteration": last,
        "relapse": bool(found),
        "relapses": len(found),
        "worst": asdict(found[0]) if found else None,
    }


def _line(res: dict) -> str:
    head = f"{res['run']}: {res['evaluations']} evaluations to iteration {res['last_iteration']}: "
    w = res["worst"]
    if w is None:
        return head + "no relapse"
    a, b = w["earlier"], w["later"]
    return head + (
        f"RELAPSE ({res['relapses']} pairs); worst: iteration {b['iteration']} {100 * b['rate']:.1f}% "
        f"(se {100 * b['se']:.2f}) against iteration {a['iteration']} {100 * a['rate']:.1f}%: "
        f"{w['sigmas']:.1f} standard errors ({w['sigmas_diff']:.1f} of the difference)"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m arena.relapse", description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", help="run directories (or folders holding one train__* run)")
    p.add_argument("--sigmas", type=float, default=2.0, help="threshold in standard errors (default 2)")
    p.add_argument("--json", action="store_true", help="one JSON object per run")
    args = p.parse_args(argv)
    for path in args.runs:
        try:
            res = check_run(path, args.sigmas)
        except (OSError, ValueError, KeyError) as err:
            print(f"error: {path}: {err}", file=sys.stderr)
            return 2
        print(json.dumps(res) if args.json else _line(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
