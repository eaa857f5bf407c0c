"""The GPU recipe: everything a short loan of one GPU should measure, in one command, with every figure as JSON.

    python -m arena.gpu_recipe --out DIR                    # on a CUDA machine: about 9 minutes on one H100
    python -m arena.gpu_recipe --out DIR --device cpu --smoke   # the same pipeline in tiny sizes, under a minute
    (also: gamelab recipe --out DIR ...)

Steps, each a subprocess of this source tree with its own time limit (a step that fails or runs out of time is
recorded and the next one runs):
  1. cuda_tests      `pytest -m cuda tests/`: the tests marked `cuda` (skipped on machines without CUDA)
  2. bench_envs      `gamelab bench envs --device cuda --json`: batched game steps/s against PettingZoo's envs
  3. bench_selfplay  `gamelab bench selfplay --device cuda --json` with the gpu preset's network (b6c64) at B = 1024
  4. train           `gamelab train connect_four --preset gpu --device cuda --minutes M` with in-loop evaluation on
                     the project's own solved positions and Pons' End-Easy / Middle-Easy / Middle-Medium sets where
                     present (400 positions a set); M is what is left of the budget after the other steps
  5. evaluate        `gamelab evaluate connect_four az:CHECKPOINT:800 --outcome --json` on the last checkpoint: the
                     own sets and Pons' sets present, whole
Each step writes DIR/STEP.json (its figures) and DIR/logs/STEP.log (its output); DIR/summary.json gathers the
headline figures, each step's status and seconds, the device, torch and the commit. The exit status is 0 when every
step passed, 1 otherwise; 2 (one `error: ...` line) when the device is not there: the full recipe needs CUDA, and
`--device cpu` is only accepted with `--smoke`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import torch

from arena.connect4_positions import OWN_SETS
from arena.evaluate import PONS_SETS, available_sets
from arena.relapse import check_run
from core.job import JobParser, fail, ranged
from core.run import write_json_atomic

__all__ = ["Sizes", "FULL", "SMOKE", "main"]

ROOT = Path(__file__).resolve().parents[1]  # the source tree the steps run from


@dataclass(frozen=True)
class Sizes:
    """Sizes and time limits (seconds) of the steps; `budget_s` bounds the whole recipe."""

    budget_s: float
    tests_s: float
    envs_args: tuple[str, ...]
    envs_s: float
    selfplay_args: tuple[str, ...]
    selfplay_s: float
    train_args: tuple[str, ...]
    train_overrun_s: float  # one iteration plus one evaluation may run past --minutes (it is checked between them)
    eval_sims: int
    eval_args: tuple[str, ...]
    eval_s: float


FULL = Sizes(
    budget_s=9 * 60,
    tests_s=90,
    envs_args=("--seconds", "0.5", "--repeats", "2"),
    envs_s=75,
    selfplay_args=("--preset", "b6c64", "--batch", "1024", "--sims", "64", "--seconds", "3"),
    selfplay_s=60,
    train_args=("--preset", "gpu", "--eval_games=0", "--eval_bench_limit=400"),
    train_overrun_s=75,
    eval_sims=800,
    eval_args=("--batch", "1000"),
    eval_s=100,
)
SMOKE = Sizes(
    budget_s=1800,  # a ceiling: the smoke checks the plumbing, and steps on a loaded CPU are slow
    tests_s=300,
    envs_args=("--games", "connect_four", "--batches", "1,64", "--seconds", "0.05", "--repeats", "1"),
    envs_s=150,
    selfplay_args=("--preset", "b2c16", "--batch", "8", "--sims", "4", "--seconds", "0.05"),
    selfplay_s=150,
    train_args=(
        "--preset",
        "tiny",
        "--iterations=2",
        "--num_games=8",
        "--simulations=4",
        "--positions_per_iteration=32",
        "--steps_per_iteration=2",
        "--batch_size=16",
        "--eval_every=1",
        "--eval_games=0",
        "--eval_simulations=2",
        "--eval_bench_limit=5",
    ),  # fmt: skip
    train_overrun_s=300,
    eval_sims=2,
    eval_args=("--limit", "5"),
    eval_s=150,
)


def _env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    extra = {"PYTHONPATH": str(ROOT) + (os.pathsep + path if path else ""), "GAMELAB_PROGRESS": "0"}
    return {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), **extra}


def _run(name: str, cmd: list[str], out: Path, timeout_s: float) -> dict:
    """Run one step; its output goes to out/logs/NAME.log. Returns {"status", "seconds", "command", "stdout"}."""
    t0 = time.perf_counter()
    log = out / "logs" / f"{name}.log"
    shown = " ".join(cmd[2:] if cmd[:2] == [sys.executable, "-m"] else cmd)
    print(f"[{name}] {shown}  (limit {timeout_s:.0f} s)", flush=True)
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=max(timeout_s, 1), check=False
        )
        status = "ok" if proc.returncode == 0 else f"failed (exit {proc.returncode})"
        stdout, stderr = proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as stop:
        status = "timeout"
        stdout = stop.stdout.decode() if isinstance(stop.stdout, bytes) else (stop.stdout or "")
        stderr = stop.stderr.decode() if isinstance(stop.stderr, bytes) else (stop.stderr or "")
    seconds = time.perf_counter() - t0
    log.write_text(f"$ {shown}\n{stdout}\n--- stderr ---\n{stderr}")
    print(f"[{name}] {status} in {seconds:.1f} s", flush=True)
    return {"status": status, "seconds": round(seconds, 1), "command": shown, "stdout": stdout}


def _last_json(text: str) -> dict | None:
    """The last line of `text` that is a JSON object (the benches and evaluate print one)."""
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                return None
    return None


def _junit(path: Path) -> dict:
    """Counts of a pytest junit XML report, and the names of failed tests."""
    if not path.is_file():
        return {}
    root = ET.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    failed = [
        f"{case.get('classname')}::{case.get('name')}"
        for case in suite.iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    ]
    return {**counts, "failed_tests": failed}


def _envs_figures(res: dict | None) -> dict:
    """Headline of `bench envs`: per game, steps/s at each batch size, checked, PettingZoo's and the ratio."""
    out: dict = {}
    for game, row in ((res or {}).get("games") or {}).items():
        if not row.get("available"):
            out[game] = {"available": False}
            continue
        pz = row.get("pettingzoo")
        out[game] = {
            "steps_per_s": {b: r["steps_per_s"] for b, r in row["batched"].items()},
            "checked_steps_per_s": row["checked"]["steps_per_s"],
            "pettingzoo_steps_per_s": pz["steps_per_s"] if pz else None,
            "ratio_to_pettingzoo": row.get("ratio"),
        }
    return out


def _git_commit() -> str | None:
    try:
        proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except OSError:
        return None
    return proc.stdout.strip() or None


def _train_figures(run: Path) -> dict:
    """The in-loop curve (iteration, positions, mistake rates), the last and best evaluation, the relapse check."""
    metrics = run / "metrics.jsonl"
    records = [json.loads(x) for x in metrics.read_text().splitlines() if x.strip()] if metrics.is_file() else []
    curve = [
        {k: r[k] for k in r if k in ("iteration", "positions_total", "elapsed_s") or k.startswith("mistake_rate")}
        for r in records
        if "mistake_rate" in r
    ]
    out: dict = {"run": str(run), "iterations": len(records), "curve": curve}
    if records:
        last = records[-1]
        keys = ("positions_total", "elapsed_s", "positions_per_s", "simulations_per_s", "selfplay_s", "train_s")
        out.update({k: last[k] for k in keys if k in last})
    if curve:
        out["last_mistake_rate"] = curve[-1]["mistake_rate"]
        best = min(curve, key=lambda c: c["mistake_rate"])
        out["best"] = {"iteration": best["iteration"], "mistake_rate": best["mistake_rate"]}
        out["relapse_check"] = check_run(run)
    return out


def main(argv: list[str] | None = None) -> int:
    p = JobParser(prog="gamelab recipe", description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="folder for the JSON figures, logs and the training run")
    p.add_argument("--device", default="cuda", help="cuda (default), cuda:N; cpu only with --smoke")
    p.add_argument("--smoke", action="store_true", help="the same pipeline in tiny sizes (a check of the recipe)")
    p.add_argument(
        "--minutes",
        type=ranged(float, gt=0),
        default=None,
        help=f"budget of the whole recipe (default {FULL.budget_s / 60:g}; --smoke: at most {SMOKE.budget_s / 60:g}"
        " minutes, the training run taking what the other steps leave)",
    )
    args = p.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    budget = args.minutes * 60 if args.minutes else sizes.budget_s
    if not args.device.startswith("cuda") and not args.smoke:
        return fail(f"--device {args.device}: the GPU recipe needs CUDA; --device cpu --smoke runs it in tiny sizes")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        return fail(
            f"no CUDA device on this machine (torch {torch.__version__}, CUDA build {torch.version.cuda}): the GPU "
            "recipe needs one; --device cpu --smoke runs its pipeline in tiny sizes"
        )
    start = time.perf_counter()
    out = Path(args.out)
    try:
        (out / "logs").mkdir(parents=True, exist_ok=True)
    except OSError as err:
        return fail(f"--out {out}: {err}")
    py = [sys.executable, "-m"]
    dev = ["--device", args.device]
    steps: dict[str, dict] = {}
    figures: dict[str, dict] = {}

    def left() -> float:
        return budget - (time.perf_counter() - start)

    def record(name: str, res: dict, figs: dict) -> None:
        steps[name] = {k: v for k, v in res.items() if k != "stdout"}
        figures[name] = figs
        write_json_atomic(out / f"{name}.json", {**steps[name], "figures": figs})

    # 1. the CUDA tests
    tests = ROOT / "tests"
    if tests.is_dir():
        xml = out / "logs" / "cuda_tests.xml"
        cmd = [*py, "pytest", "-m", "cuda", "-n", "0", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}", str(tests)]
        res = _run("cuda_tests", cmd, out, min(sizes.tests_s, left()))
        if res["status"] == "failed (exit 5)":  # pytest: nothing selected
            res["status"] = "ok"
        record("cuda_tests", res, _junit(xml))
    else:
        record("cuda_tests", {"status": "skipped (no tests/ folder in this install)", "seconds": 0}, {})

    # 2, 3. the benchmarks
    res = _run("bench_envs", [*py, "envs.bench", *dev, "--json", *sizes.envs_args], out, min(sizes.envs_s, left()))
    envs_json = _last_json(res["stdout"])
    record("bench_envs", res, {"summary": _envs_figures(envs_json), "raw": envs_json})
    cmd = [*py, "agents.bench", "--game", "connect_four", *dev, "--json", *sizes.selfplay_args]
    res = _run("bench_selfplay", cmd, out, min(sizes.selfplay_s, left()))
    record("bench_selfplay", res, _last_json(res["stdout"]) or {})

    # 4. the training run: what is left after the final evaluation's reserve and one iteration's overrun
    train_s = left() - sizes.eval_s - sizes.train_overrun_s
    sets = OWN_SETS + available_sets(PONS_SETS)[0]
    runs = out / "runs"
    cmd = [
        *py, "arena.train", "connect_four", *dev, "--runs", str(runs), "--quiet", *sizes.train_args,
        f"--minutes={max(train_s, 1) / 60:.2f}", f"--eval_bench_sets={','.join(sets)}",
    ]  # fmt: skip
    res = _run("train", cmd, out, max(train_s, 1) + sizes.train_overrun_s)
    found = sorted(runs.glob("train__connect_four__*"))
    record("train", res, _train_figures(found[-1]) if found else {})
    if not found or not list(found[-1].glob("checkpoints/iter_*.pt")):
        res = {"status": "skipped (the training run left no checkpoint)", "seconds": 0}
        record("evaluate", res, {})
    else:
        # 5. the final checkpoint at 800 simulations on whole sets
        cmd = [
            *py, "arena.evaluate", "connect_four", f"az:{found[-1]}:{sizes.eval_sims}", *dev, "--sets", *sets,
            "--outcome", "--json", *sizes.eval_args,
        ]  # fmt: skip
        res = _run("evaluate", cmd, out, max(left(), 10))
        record("evaluate", res, _last_json(res["stdout"]) or {})

    ok = all(s["status"] == "ok" for s in steps.values())
    summary = {
        "ok": ok,
        "smoke": args.smoke,
        "device": args.device,
        "device_name": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu",
        "torch": torch.__version__,
        "commit": _git_commit(),
        "budget_s": budget,
        "total_s": round(time.perf_counter() - start, 1),
        "steps": steps,
        "headline": _headline(figures),
    }
    write_json_atomic(out / "summary.json", summary)
    print(json.dumps(summary["headline"]))
    print(f"{'all steps passed' if ok else 'some steps did not pass'}; {summary['total_s']:.0f} s; {out}/summary.json")
    return 0 if ok else 1


def _headline(figures: dict[str, dict]) -> dict:
    """The few figures a reader wants first."""
    head: dict = {}
    t = figures.get("cuda_tests") or {}
    if t:
        head["cuda_tests"] = {k: t.get(k) for k in ("passed", "failures", "errors", "skipped")}
    sp = figures.get("bench_selfplay") or {}
    head["selfplay"] = {k: v for k, v in sp.items() if k.endswith(("_per_s", "ratio", "speedup_over_single"))}
    tr = figures.get("train") or {}
    head["train"] = {k: tr.get(k) for k in ("iterations", "positions_total", "last_mistake_rate", "best") if k in tr}
    if "relapse_check" in tr:
        head["train"]["relapse"] = tr["relapse_check"]["relapse"]
    ev = figures.get("evaluate") or {}
    if ev.get("results"):
        head["evaluate"] = {n: r["mistake_rate"] for n, r in ev["results"].items()}
        head["evaluate"]["all_keeps_outcome"] = 1 - ev["total"]["mistake_rate"]
    return head


if __name__ == "__main__":
    raise SystemExit(main())
