"""Ray for distributed jobs: a private Ray on this machine, or a running cluster joined by address, set up safely.

Only jobs run with distributed workers import this module (and with it Ray); the single-process path never does.

A private Ray (`address=None`) is started on 127.0.0.1 with the dashboard and usage reporting off, its session files
in a fresh temporary folder that `RaySession.close` removes, and token authentication with a random token handed
to Ray's processes through the environment (so no token file lands in the user's home). Joining a running cluster
(`address="auto"` or `HOST:PORT`, started with `ray start`) uses that cluster's own settings.

Loopback only: Ray binds gcs_server, raylet, the workers and the runtime-env agent to the node's address when that
is a loopback address, and to all interfaces (0.0.0.0) otherwise; it has no separate bind-address setting. Asked
for `_node_ip_address="127.0.0.1"`, Ray 2.x nevertheless replaces a loopback address by the machine's outward one
(found by routing a UDP socket towards 8.8.8.8) unless `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`, which a private Ray
sets, for its own processes (through the environment) and for this one (which read it when it imported Ray). Then
every listening socket of the private Ray is on 127.0.0.1 and the node announces 127.0.0.1 (checked with `ss` by
tests/arena/test_actors.py).

Agent ports chosen in advance: a new raylet waits a fixed time (about 20 s in Ray 2.60, with no setting to change
it) for its Python agents to write the ports they listen on, and aborts when they miss it; on a loaded 2-core
machine the agents' imports alone took 27 and 38 s (load average 12), so every start failed however often it was
retried. A private Ray therefore gives the raylet the ports before it starts (`_agent_ports`): the runtime-env
agent a free loopback port outside the kernel's ephemeral range, and, where Ray's agent runs minimal (without the
dashboard's dependencies, as here), -1 for its metrics and HTTP ports, the value that agent reports itself (no
such service). The raylet then does not wait; the agents start at their own pace, and Ray's own wait for an agent
(`RAY_agent_register_timeout_ms`) is raised to 10 minutes.

A learner killed with SIGKILL cannot stop its private Ray: Ray's agents run on for minutes and its session folder
stays in /tmp. Two things end them: a watchdog process started with the private Ray (`core.ray_watchdog`) ends the
folder's processes and removes the folder once the learner is gone, and every private start first ends what runs
whose watchdog died too left (`reap_stale_sessions`): a `gamelab-ray-*` folder whose owner (the process that made
it, named in its `owner` file and in Ray's session names) is gone, and every process that names that folder or
holds a file open in it, killed by id.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import ray
import ray._private.ray_constants
import ray._private.services
import ray._private.utils
from ray._raylet import DASHBOARD_AGENT_LISTEN_PORT_NAME, persist_port

from core.ray_watchdog import alive, folder_processes, start_watchdog

__all__ = ["START_ATTEMPTS", "RaySession", "start_ray", "reap_stale_sessions"]

START_ATTEMPTS = 3  # tries to start a private Ray (see start_ray)

# read by Ray's processes at start: no usage reports, no dashboard, no token file written to ~/.ray
_ENV_DEFAULTS = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_DISABLE_USAGE_STATS": "1", "RAY_USAGE_STATS_PROMPT_ENABLED": "0"}
AGENT_WAIT_MS = 600_000  # how long Ray's processes wait for an agent of a private Ray (RAY_agent_register_timeout_ms)


@dataclass
class RaySession:
    """A connection to Ray made by `start_ray`; `close()` disconnects (and stops a private Ray and removes its
    session files)."""

    address: str  # the GCS address of the cluster
    private: bool  # True: a Ray this process started (it ends with close)
    temp_dir: Path | None  # session files of a private Ray
    watchdog: subprocess.Popen | None = None  # ends a private Ray if this process dies without close

    def close(self) -> None:
        """Disconnect from Ray; a private Ray stops, its session folder is removed and its watchdog stopped."""
        if ray.is_initialized():
            ray.shutdown()
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
        if self.watchdog is not None:
            self.watchdog.terminate()
            self.watchdog.wait()
            self.watchdog = None


def start_ray(address: str | None = None, *, num_cpus: int | None = None, num_gpus: float | None = None) -> RaySession:
    """Start a private Ray on this machine (`address=None`) or join a running cluster.

    Args:
        address: None for a private Ray on 127.0.0.1; "auto" for the cluster `ray start` began on this machine;
            "HOST:PORT" for a cluster's head.
        num_cpus, num_gpus: resources of a private Ray (None: Ray counts the machine's).
    Returns:
        the session; call `close()` when done.
    Raises:
        ConnectionError: no cluster at `address` (Ray's own message).
    """
    for key, value in _ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    if address is not None:
        ray.init(address=address, configure_logging=False, log_to_driver=True)
        return RaySession(address=ray.get_runtime_context().gcs_address, private=False, temp_dir=None)
    if "RAY_AUTH_MODE" not in os.environ:  # the user's explicit choice wins
        os.environ["RAY_AUTH_MODE"] = "token"
        os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))  # Ray's processes inherit it
        ray._raylet.Config.initialize("")  # this process read RAY_AUTH_MODE when it imported Ray: read it again
    # keep 127.0.0.1 as the node's address (see the module's docstring): Ray's processes read the environment,
    # this process read the setting when it imported Ray
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    ray._private.ray_constants.ENABLE_RAY_CLUSTER = False
    os.environ.setdefault("RAY_agent_register_timeout_ms", str(AGENT_WAIT_MS))
    reap_stale_sessions()
    temp_dir = Path(tempfile.mkdtemp(prefix="gamelab-ray-"))  # short: Ray's socket paths must stay under 108 bytes
    (temp_dir / "owner").write_text(f"{os.getpid()}\n")
    watchdog = None
    try:
        watchdog = start_watchdog(temp_dir)
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                with _agent_ports_given():
                    ray.init(
                        num_cpus=num_cpus,
                        num_gpus=num_gpus,
                        include_dashboard=False,
                        configure_logging=False,
                        log_to_driver=True,
                        _temp_dir=str(temp_dir),
                        _node_ip_address="127.0.0.1",
                    )
                break
            except Exception as err:
                # Ray gives its new node a fixed 30 s to register; a heavily loaded machine can miss that, mostly on
                # a cold start. Stop what that attempt started (this process's children) and try again.
                if "timed out during startup" not in str(err) or attempt == START_ATTEMPTS:
                    raise
                print(f"warning: Ray's node did not start within Ray's 30 s (attempt {attempt}); trying again")
                ray.shutdown()
                _kill_children(keep=watchdog.pid)
    except BaseException:
        _kill_children(keep=watchdog.pid if watchdog else None)
        shutil.rmtree(temp_dir, ignore_errors=True)
        if watchdog is not None:
            watchdog.terminate()
            watchdog.wait()
        raise
    return RaySession(address=ray.get_runtime_context().gcs_address, private=True, temp_dir=temp_dir, watchdog=watchdog)


def _ephemeral_range() -> tuple[int, int]:
    """The kernel's range of automatically assigned ports (Linux; the usual default elsewhere)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def _free_port(taken: set[int]) -> int:
    """A port free on 127.0.0.1 now, outside the ephemeral range (so no connection or port-0 listener is given it
    before its owner binds it) and not in `taken`."""
    low, high = _ephemeral_range()
    candidates = [p for p in range(10000, 65536) if not low <= p <= high and p not in taken]
    for port in random.sample(candidates, min(200, len(candidates))):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise OSError("no free port on 127.0.0.1 for Ray's agents")


def _agent_ports() -> dict[str, int]:
    """The ports a private Ray's agents will listen on, chosen before the raylet starts (see the module's
    docstring): -1 (no such service) for the metrics and HTTP ports of a minimal agent."""
    taken: set[int] = set()
    ports = {"runtime_env_agent_port": _free_port(taken)}
    minimal = ray._private.utils.get_dashboard_dependency_error() is not None  # how Ray decides it
    for name in ("metrics_agent_port", "metrics_export_port", "dashboard_agent_listen_port"):
        ports[name] = -1 if minimal else _free_port(taken)
    return ports


@contextlib.contextmanager
def _agent_ports_given():
    """While inside, every raylet this process starts is given its agents' ports (`_agent_ports`) on its command
    line, and the dashboard agent's HTTP port (which the raylet only ever reads from its file) is written to that
    file before the raylet starts: the raylet waits for none of them."""
    original = ray._private.services.start_raylet

    def start_raylet(*args, **kwargs):
        call = inspect.signature(original).bind(*args, **kwargs)
        ports = _agent_ports()
        call.arguments.update(ports)
        persist_port(call.arguments["session_dir"], call.arguments["node_id"], DASHBOARD_AGENT_LISTEN_PORT_NAME,
                     ports["dashboard_agent_listen_port"])  # fmt: skip
        return original(*call.args, **call.kwargs)

    ray._private.services.start_raylet = start_raylet
    try:
        yield
    finally:
        ray._private.services.start_raylet = original


def _kill_children(keep: int | None = None) -> None:
    """Kill this process's descendants but `keep` (what a Ray node that failed to start left), by process id; Linux
    only."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    ours, grew = {os.getpid()}, True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in ours} - ours
        ours |= found
        grew = bool(found)
    for pid in ours - {os.getpid(), keep}:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _owners(folder: Path) -> set[int]:
    """The processes that own a private Ray's folder: its `owner` file and the pid that ends Ray's session names."""
    pids = set()
    try:
        pids.add(int((folder / "owner").read_text().split()[0]))
    except (OSError, ValueError, IndexError):
        pass
    for session in folder.glob("session_*"):
        tail = session.name.rsplit("_", 1)[-1]
        if tail.isdigit():
            pids.add(int(tail))
    return pids


def reap_stale_sessions(root: str | os.PathLike | None = None) -> list[Path]:
    """End what private Rays of dead owners left under `root` (default: the temporary folder): kill, by id, every
    process that names such a folder or holds a file open in it (`folder_processes`), then remove the folder. A
    folder whose owner lives, or that names no owner yet (being made), is left alone. Returns the folders removed."""
    base = Path(root if root is not None else tempfile.gettempdir())
    stale = []
    for folder in base.glob("gamelab-ray-*"):
        owners = _owners(folder)
        if folder.is_dir() and owners and not any(alive(pid) for pid in owners):
            stale.append(folder)
    if not stale:
        return []
    for pid in folder_processes(stale):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return stale
