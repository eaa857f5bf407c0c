"""`gamelab train ... --actors N`: self-play actors on Ray, run in a network namespace of the test's own.

Each Ray run is a subprocess started by `unshare --net`: a fresh network namespace with `lo` and, where the kernel
has veth, a veth pair whose address (198.51.100.7, TEST-NET-2) and default route stand for a machine's outward
network but lead nowhere outside the namespace, so none of Ray's traffic can leave the machine whatever address it
picks, while Ray has an outward address to announce or listen on (which the tests check it does not); where that is
not permitted the tests skip, saying why. Every process left in that namespace afterwards is ours and is killed by
id. HOME points into the test's folder, so a file Ray wrote to the user's home would show.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import os
import re
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
VETH = (
    "ip link add gl0 type veth peer name gl1 && ip addr add 198.51.100.7/24 dev gl0 && ip link set gl0 up && "
    "ip link set gl1 up && ip route add default dev gl0"
)
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


def _has_veth() -> bool:
    if _PROBLEM is not None:
        return False
    done = subprocess.run(["unshare", "--net", "sh", "-c", VETH], capture_output=True, timeout=60)
    return done.returncode == 0


_PROBLEM = _netns_problem()
needs_netns = pytest.mark.skipif(_PROBLEM is not None, reason=f"Ray tests need a network namespace: {_PROBLEM}")
HAS_VETH = _has_veth()
SETUP = f'ip link set lo up && {VETH + " && " if HAS_VETH else ""}readlink /proc/self/ns/net > "$NS_FILE" && exec "$@"'


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
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(tmp_path), stdout=out, stderr=subprocess.STDOUT)
    _OUTPUTS[proc.pid] = tmp_path / "out.txt"
    return proc


_OUTPUTS: dict[int, Path] = {}  # the output file of each run started, by process id


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


def _listeners(pid: int) -> list[str]:
    """`ss -ltunp` in the network namespace of process `pid`: its listening TCP and bound UDP sockets, one a line."""
    done = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", "ss", "-H", "-ltunp"], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [" ".join(line.split()) for line in done.stdout.splitlines() if line.strip()]


def _local_address(line: str) -> str:
    """The local address of an `ss` line ("tcp LISTEN 0 4096 [::ffff:127.0.0.1]:41137 *:* users:...")."""
    host = line.split()[4].rsplit(":", 1)[0].strip("[]").split("%")[0]
    return "0.0.0.0" if host == "*" else host


def _on_loopback(host: str) -> bool:
    address = ipaddress.ip_address(host)
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def _watch_listeners(proc: subprocess.Popen, ns_file: Path, timeout: float = RUN_TIMEOUT) -> dict[str, str]:
    """Every socket that listened in the run's namespace while it ran (`ss` once a second until it ends): its
    `ss` line by netid, local address and process names. Sampling starts once the run has written its namespace's
    name to `ns_file` and the process is in it (before `unshare` runs, /proc/PID/ns/net is the host's)."""
    seen: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            ns = ns_file.read_text().strip() if ns_file.exists() else ""
            if not ns or os.readlink(f"/proc/{proc.pid}/ns/net") != ns:
                time.sleep(0.2)
                continue
            lines = _listeners(proc.pid)
        except (AssertionError, OSError, subprocess.TimeoutExpired):  # the run ended between the poll and ss
            break
        for line in lines:
            seen.setdefault(" ".join([*line.split()[:1], line.split()[4], *re.findall(r'\(\("([^"]+)"', line)]), line)
        time.sleep(1.0)
    return seen


def _check_ray_started(code: int, out: str) -> None:
    """Skip when Ray itself could not start: its raylet must register within a fixed 30 s, 3 tries
    (core.ray_cluster.START_ATTEMPTS), which an overloaded machine can miss. Any other failure is the test's to
    report."""
    if code != 0 and "could not start Ray" in out and "timed out during startup" in out:
        pytest.skip(
            f"Ray's node did not register within Ray's fixed 30 s in 3 tries on this loaded machine "
            f"(load average {os.getloadavg()[0]:.0f}; not a gamelab error)"
        )


def _session_folder(out: str) -> Path:
    """The private Ray's session folder, from the line "ray ADDRESS (private, session files in DIR): ..."."""
    return Path(out.split("session files in ")[1].split("):")[0])


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
    try:
        listeners = _watch_listeners(proc, tmp_path / "netns")
    finally:
        code, out, left = _finish(proc, tmp_path)
    _check_ray_started(code, out)
    assert code == 0 and not left, f"{out[-3000:]}\nleft running: {left}"
    assert "done: 2 iterations, 20 steps" in out and "2 self-play actors" in out
    _check_loopback_only(listeners, out)
    assert not (tmp_path / "home" / ".ray").exists(), "Ray wrote into the home folder"
    session = _session_folder(out)
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


def _check_loopback_only(listeners: dict[str, str], out: str) -> None:
    """The private Ray listened on loopback only (though the namespace offers an outward address), its GCS, raylet
    and actors included, and announced 127.0.0.1."""
    print(f"sockets that listened during the run (namespace {'with' if HAS_VETH else 'without'} an outward address):")
    print("\n".join(listeners.values()))
    outside = [line for line in listeners.values() if not _on_loopback(_local_address(line))]
    assert not outside, "listening outside 127.0.0.0/8:\n" + "\n".join(outside)
    names = " ".join(listeners)
    assert all(name in names for name in ("gcs_server", "raylet", "ray::SelfPlay")), names  # it saw Ray's sockets
    assert "\nray 127.0.0.1:" in "\n" + out, out[-2000:]  # the GCS address the node announced


def _ended_early(proc: subprocess.Popen, what: str) -> str:
    """Why the run ended before `what` (skipping where Ray itself could not start): its output's tail."""
    out = _OUTPUTS.get(proc.pid, Path("/nonexistent"))
    text = out.read_text() if out.is_file() else ""
    _check_ray_started(proc.returncode, text)
    return f"the run ended (status {proc.returncode}) before {what}:\n{text[-3000:]}"


def _wait_for(predicate, proc: subprocess.Popen, what: str, timeout: float = RUN_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, _ended_early(proc, what)
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


KILL_WAIT_S = 15.0  # the learner's Ray processes and folder must be gone this long after its SIGKILL


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _start_endless(tmp_path: Path, runs: Path) -> subprocess.Popen:
    """A run with actors that will not end by itself within the test."""
    return _start(tmp_path, ["train", "connect_four", "--preset", "tiny", "--actors=2", "--iterations=50",
                             "--runs", str(runs), "--quiet"])  # fmt: skip


def _ray_of(proc: subprocess.Popen, tmp_path: Path, runs: Path) -> tuple[str, Path, dict[int, str]]:
    """Once both actors have sent a batch: the run's namespace, its private Ray's session folder, and the command
    line of every other process in its namespace (Ray's, all of them present, and the watchdog's)."""
    _wait_for(lambda: _actor_pids(runs) is not None, proc, "both actors' pids")
    ns = (tmp_path / "netns").read_text().strip()
    folder = _session_folder((tmp_path / "out.txt").read_text())
    others = {pid: _cmdline(pid) for pid in _namespace_pids(ns) if pid != proc.pid}
    names = " ".join(others.values())
    for name in ("gcs_server", "raylet", "ray::DashboardAgent", "ray::RuntimeEnvAgent", "ray::SelfPlayActor"):
        assert name in names, f"no {name} among {names}"
    assert "ray_watchdog" in names and folder.is_dir()
    return ns, folder, others


def _gone(ns: str, folder: Path, timeout: float) -> float | None:
    """Seconds until no process is left in namespace `ns` and `folder` is removed (None: not within `timeout`)."""
    t0 = time.monotonic()
    while _namespace_pids(ns) or folder.exists():
        if time.monotonic() - t0 > timeout:
            return None
        time.sleep(0.05)
    return time.monotonic() - t0


@pytest.mark.slow
@needs_netns
def test_a_killed_learner_takes_its_ray_with_it(tmp_path):
    runs = tmp_path / "runs"
    proc = _start_endless(tmp_path, runs)
    try:
        ns, folder, others = _ray_of(proc, tmp_path, runs)
        proc.send_signal(signal.SIGKILL)  # unshare execs sh, which execs python: this is the learner itself
        proc.wait()
        seconds = _gone(ns, folder, KILL_WAIT_S)
    finally:
        left = _finish(proc, tmp_path, timeout=0, settle=0)[2]
    assert seconds is not None, f"{KILL_WAIT_S}s after the learner's SIGKILL, left running: {left}; {folder} there"
    print(f"{len(others)} processes of the learner's Ray and its folder gone {seconds:.1f}s after its SIGKILL:")
    print("\n".join(sorted(cmd[:100] for cmd in others.values())))


@pytest.mark.slow
@needs_netns
def test_a_killed_driver_resumes_with_actors_and_the_next_start_ends_what_it_left(tmp_path):
    runs = tmp_path / "runs"
    args = ["train", "connect_four", "--preset", "tiny", "--actors=2", "--iterations=4", "--runs", str(runs), "--quiet"]
    proc, ns = _start(tmp_path, args), None
    try:
        try:
            wait_for_checkpoint(proc, runs, "*/checkpoints/iter_000002.pt", timeout=RUN_TIMEOUT)
        except AssertionError as err:
            ended = proc.poll() is not None
            raise AssertionError(_ended_early(proc, "its second checkpoint") if ended else err) from None
        ns, folder, others = _ray_of(proc, tmp_path, runs)
        # the watchdog dies with the learner (both SIGKILL): what is left is for the next start to end
        (watchdog,) = [pid for pid, cmd in others.items() if "ray_watchdog" in cmd]
        os.kill(watchdog, signal.SIGKILL)
        proc.send_signal(signal.SIGKILL)  # unshare execs sh, which execs python: this is the driver itself
        proc.wait()
        time.sleep(1.0)
        left_behind = [_cmdline(pid)[:80] for pid in _namespace_pids(ns)]
        print(f"left 1 s after the driver and its watchdog were killed: {left_behind}")
        run = _run_dir(runs)
        done = max(int(p.stem.split("_")[1]) for p in (run / "checkpoints").glob("iter_*.pt"))
        assert done >= 2 and folder.is_dir()
        resume = _start(tmp_path, ["train", "connect_four", "--resume", str(run), "--quiet"])
        code, out, left = _finish(resume, tmp_path)
    finally:
        old_left = _finish(proc, tmp_path, timeout=0, settle=0)[2] if ns is None else _kill_namespace(ns)
    assert not old_left and not folder.exists(), f"the next start did not end {old_left} or remove {folder}"
    _check_ray_started(code, out)
    assert code == 0 and not left, f"{out[-3000:]}\nleft running: {left}"
    assert f"from iter_{done:06d}.pt: iteration {done}" in out and "done: 4 iterations, 40 steps" in out
    records = read_metrics(run / "metrics.jsonl")
    assert [r["iteration"] for r in records] == [1, 2, 3, 4]
    counts = _shard_counts(run)
    ckpt = load_checkpoint(run / "checkpoints" / "iter_000004.pt", kind="alphazero")
    assert sum(counts.values()) == ckpt["positions_total"] == sum(r["positions"] for r in records)
