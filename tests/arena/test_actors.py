"""`gamelab train ... --actors N`: self-play actors on Ray, run in a network namespace that has only loopback.

Each Ray run is a subprocess started by `unshare --net` (a fresh network namespace with only `lo`, so none of Ray's
traffic can leave the machine, whatever address it picks); where that is not permitted the tests skip, saying why.
Every process left in that namespace afterwards is ours and is killed by id. HOME points into the test's folder,
so a file Ray wrote to the user's home would show.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from killed_runs import wait_for_checkpoint

from agents.buffer import FIELDS
from agents.network import load_policy_value_net
from arena import evaluate, train
from core.checkpoint import load_checkpoint
from core.metrics import read_metrics

ROOT = Path(__file__).resolve().parents[2]
SETUP = 'ip link set lo up && readlink /proc/self/ns/net > "$NS_FILE" && exec "$@"'
RUN_TIMEOUT = 900  # seconds; a run takes about a minute on an idle 2-core machine (Ray and actor start included),
# 2.5 minutes at a load average of 8: a bound on a hang, not on the machine's speed


def _netns_problem() -> str | None:
    """Why a loopback-only network namespace cannot be used here (None: it can)."""
    if importlib.util.find_spec("ray") is None:
        return "ray is not installed (pip install -e '.[test]')"
    try:
        done = subprocess.run(["unshare", "--net", "sh", "-c", "ip link set lo up"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"unshare --net is not available ({err})"
    if done.returncode != 0:
        return f"unshare --net is not permitted here: {done.stderr.decode(errors='replace').strip()[:200]}"
    return None


_PROBLEM = _netns_problem()
needs_netns = pytest.mark.skipif(_PROBLEM is not None, reason=f"Ray tests need a loopback-only netns: {_PROBLEM}")


def _env(tmp_path: Path) -> dict:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", GAMELAB_PROGRESS="0",
               NS_FILE=str(tmp_path / "netns"))  # fmt: skip
    return env


def _start(tmp_path: Path, args: list[str]) -> subprocess.Popen:
    """`python -m core.cli ARGS` (the gamelab command) in a fresh network namespace with only loopback."""
    cmd = ["unshare", "--net", "sh", "-c", SETUP, "sh", sys.executable, "-m", "core.cli", *args]
    out = open(tmp_path / "out.txt", "w")  # noqa: SIM115 - closed by _finish
    return subprocess.Popen(cmd, cwd=ROOT, env=_env(tmp_path), stdout=out, stderr=subprocess.STDOUT)


def _finish(
    proc: subprocess.Popen, tmp_path: Path, timeout: float = RUN_TIMEOUT, *, settle: float = 5.0
) -> tuple[int, str, list[str]]:
    """Wait for the run; give what it started `settle` seconds to exit, then kill every process still in its
    namespace (all ours). Returns (exit code, output, the command lines of the processes that had to be killed)."""
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    finally:
        ns = (tmp_path / "netns").read_text().strip() if (tmp_path / "netns").is_file() else None
        deadline = time.monotonic() + settle
        while ns and _namespace_pids(ns) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = _kill_namespace(ns) if ns else []
    return code, (tmp_path / "out.txt").read_text(), left


def _namespace_pids(ns: str) -> list[int]:
    pids = []
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        try:
            if os.readlink(f"/proc/{pid}/ns/net") == ns:
                pids.append(pid)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return pids


def _kill_namespace(ns: str) -> list[str]:
    """SIGKILL every process in network namespace `ns` (one this test made); returns their command lines."""
    left = []
    for pid in _namespace_pids(ns):
        try:
            left.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:80].strip())
            os.kill(pid, signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return left


def _check_ray_started(code: int, out: str) -> None:
    """Skip when Ray itself could not start: its raylet must register within a fixed 30 s, which a heavily loaded
    2-core machine can miss (seen at a load average of 17). Any other failure is the test's to report."""
    if code != 0 and "could not start Ray" in out and "timed out during startup" in out:
        pytest.skip("Ray's node did not start within Ray's fixed 30 s on this loaded machine (not a gamelab error)")


def _run_dir(root: Path) -> Path:
    (run,) = root.glob("train__connect_four__*")
    return run


def _shard_counts(run: Path) -> dict[str, int]:
    """Positions in every shard of the run's buffer (each opened as resume opens it: no pickles)."""
    assert not list((run / "buffer").glob("*.tmp")), "a half-written shard is left"
    counts = {}
    for path in sorted((run / "buffer").glob("shard_*.npz")):
        with np.load(path, allow_pickle=False) as z:
            lengths = {len(z[k]) for k in FIELDS}
        assert len(lengths) == 1, path
        counts[path.name] = lengths.pop()
    return counts


def test_train_without_actors_never_imports_ray(tmp_path):
    code = (
        "import sys; from arena import train; "
        f"rc = train.main(['tictactoe', '--preset=tiny', '--dry-run', '--quiet', '--runs', {str(tmp_path)!r}]); "
        "assert rc == 0, rc; assert 'ray' not in sys.modules, 'ray imported'; print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True)
    assert done.returncode == 0 and "ok" in done.stdout, done.stdout + done.stderr


@needs_netns
def test_two_actors_run_to_completion_and_checkpoints_evaluate(tmp_path):
    proc = _start(tmp_path, ["train", "connect_four", "--preset", "tiny", "--actors", "2",
                             "--runs", str(tmp_path / "runs"), "--quiet"])  # fmt: skip
    code, out, left = _finish(proc, tmp_path)
    _check_ray_started(code, out)
    assert code == 0 and not left, f"{out[-3000:]}\nleft running: {left}"
    assert "done: 2 iterations, 20 steps" in out and "2 self-play actors" in out
    assert not (tmp_path / "home" / ".ray").exists(), "Ray wrote into the home folder"
    session = out.split("session files in ")[1].split()[0]
    assert not Path(session).exists(), "the private Ray's session files were left behind"
    run = _run_dir(tmp_path / "runs")
    records = read_metrics(run / "metrics.jsonl")
    assert [r["iteration"] for r in records] == [1, 2]
    assert all(r["policy_lag"] <= 2 and r["stale_positions"] == 0 and r["actor_restarts"] == 0 for r in records)
    # the step/position bound (10 steps per 256 positions in the tiny preset) holds for the run so far at each
    # iteration's end; one iteration alone may take fewer, when batches that arrived earlier already allowed its steps
    totals = np.cumsum([r["positions"] for r in records])
    assert all(total >= 256 * r["iteration"] for total, r in zip(totals, records)), totals
    assert [len(a) for a in json.loads((run / "actors.json").read_text())] == [2, 2]  # host and pid of each

    # the same checkpoint as a single-process run's: same fields, and it loads, plays and evaluates the same way
    assert train.main(["connect_four", "--preset=tiny", "--iterations=1", "--positions_per_iteration=32",
                       "--quiet", "--runs", str(tmp_path / "single")]) == 0  # fmt: skip
    single = load_checkpoint(_run_dir(tmp_path / "single") / "checkpoints" / "iter_000001.pt", kind="alphazero")
    ckpt = load_checkpoint(run / "checkpoints" / "iter_000002.pt", kind="alphazero")
    assert set(ckpt) == set(single) and ckpt["positions_total"] == sum(_shard_counts(run).values())
    assert ckpt["step"] == 20 and ckpt["config"]["actors"] == 2
    net, game = load_policy_value_net(run / "checkpoints" / "iter_000002.pt")
    assert game.name == "connect_four" and sum(p.numel() for p in net.parameters()) > 0
    assert evaluate.main(["connect_four", f"az:{run}:4", "--limit", "3", "--sets", "Own_End"]) == 0


def _wait_for(predicate, proc: subprocess.Popen, what: str, timeout: float = RUN_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"no {what} after {timeout}s"
        time.sleep(0.2)


def _actor_pids(root: Path) -> list[int] | None:
    """Each actor's process id from the run's actors.json, once every actor has sent a batch (else None)."""
    files = list(root.glob("train__connect_four__*/actors.json"))
    actors = json.loads(files[0].read_text()) if files else []
    return [a["pid"] for a in actors] if actors and all("pid" in a for a in actors) else None


def _iterations_logged(root: Path) -> int:
    runs = list(root.glob("train__connect_four__*"))
    return len(read_metrics(runs[0] / "metrics.jsonl")) if runs and (runs[0] / "metrics.jsonl").is_file() else 0


@pytest.mark.slow
@needs_netns
def test_an_actor_killed_mid_run_is_restarted_and_no_position_is_lost_or_torn(tmp_path):
    runs = tmp_path / "runs"
    proc = _start(tmp_path, ["train", "connect_four", "--preset", "tiny", "--actors=2", "--iterations=6",
                             "--runs", str(runs), "--quiet"])  # fmt: skip
    try:
        _wait_for(lambda: _iterations_logged(runs) >= 1 and _actor_pids(runs) is not None, proc, "both actors' pids")
        run = _run_dir(runs)
        victim = _actor_pids(runs)[0]
        cmdline = Path(f"/proc/{victim}/cmdline").read_bytes()
        assert b"SelfPlayActor" in cmdline, cmdline  # a Ray actor process of this run, never anything else
        os.kill(victim, signal.SIGKILL)
    finally:
        code, out, left = _finish(proc, tmp_path)
    _check_ray_started(code, out)
    assert code == 0 and not left, f"{out[-3000:]}\nleft running: {left}"
    assert "done: 6 iterations, 60 steps" in out
    assert "actor 0 (" in out and f"pid {victim}) died" in out
    records = read_metrics(run / "metrics.jsonl")
    assert [r["iteration"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert sum(r["actor_restarts"] for r in records) == 1
    if "actor 0 back" in out:  # its next batch arrived before the run ended: from a new process
        assert json.loads((run / "actors.json").read_text())[0]["pid"] != victim
    # every shard is whole, and the positions add up: shards on disk = the checkpoint's count = the metrics' sum
    counts = _shard_counts(run)
    ckpt = load_checkpoint(run / "checkpoints" / "iter_000006.pt", kind="alphazero")
    assert sum(counts.values()) == ckpt["positions_total"] == sum(r["positions"] for r in records)
    assert ckpt["buffer"]["next_shard"] == len(counts)


@pytest.mark.slow
@needs_netns
def test_a_killed_driver_resumes_with_actors(tmp_path):
    runs = tmp_path / "runs"
    args = ["train", "connect_four", "--preset", "tiny", "--actors=2", "--iterations=4", "--runs", str(runs), "--quiet"]
    proc = _start(tmp_path, args)
    try:
        wait_for_checkpoint(proc, runs, "*/checkpoints/iter_000002.pt", timeout=RUN_TIMEOUT)
        proc.send_signal(signal.SIGKILL)  # unshare execs sh, which execs python: this is the driver itself
    finally:
        _, _, left = _finish(proc, tmp_path, settle=30)
    print("left running 30 s after the driver was killed:", left)  # Ray's own processes outlive a killed driver
    run = _run_dir(runs)
    done = max(int(p.stem.split("_")[1]) for p in (run / "checkpoints").glob("iter_*.pt"))
    assert done >= 2
    code, out, left = _finish(_start(tmp_path, ["train", "connect_four", "--resume", str(run), "--quiet"]), tmp_path)
    _check_ray_started(code, out)
    assert code == 0 and not left, f"{out[-3000:]}\nleft running: {left}"
    assert f"from iter_{done:06d}.pt: iteration {done}" in out and "done: 4 iterations, 40 steps" in out
    records = read_metrics(run / "metrics.jsonl")
    assert [r["iteration"] for r in records] == [1, 2, 3, 4]
    counts = _shard_counts(run)
    ckpt = load_checkpoint(run / "checkpoints" / "iter_000004.pt", kind="alphazero")
    assert sum(counts.values()) == ckpt["positions_total"] == sum(r["positions"] for r in records)
