"""Run directories: `runs/<job>__<name>__<seed>__<time>/` holding config, metrics, checkpoints and samples.

`RunDir` is the one run loop support every long job shares (AlphaZero `train`, `gan train`, `style train`):

    run = RunDir.create("gan", name, seed, root=runs, kind="gan", prefix="step", digits=7, keep=3)  # a new run
    run = RunDir(path, kind="gan", prefix="step", digits=7, keep=3)                                # an existing one
    payload, path = run.resume_point()        # newest good checkpoint; falls back past a torn newest file
    run.truncate_metrics(payload["step"])     # the steps after it are taken again
    run.write_config({...})                   # config.json, atomically
    budget = Budget(minutes=cfg.minutes, cpu_minutes=cfg.cpu_minutes)  # wall clock and CPU time of this process
    with run.interruptible("step", "gamelab gan train --resume RUN") as at:
        while not budget.spent():
            ...
            at.value = step                   # where the loop is (shown when interrupted)
            run.save(step, payload)           # checkpoints/step_0000500.pt atomically, then rotation

Layout: config.json, metrics.jsonl (`core.metrics.MetricsLog`), checkpoints/PREFIX_NNN.pt. Rotation keeps the newest
`keep` checkpoints (0: all) plus every milestone (number divisible by `milestone_every`; 0: none). Checkpoints are
found by number whatever their digit count, so run directories written before this module still resume.

Ctrl-C (SIGINT) and SIGTERM inside `interruptible` end the loop where it is: the last checkpoint is intact (every write
is atomic), one line says where it stopped and how to resume, and the process exits 130 or 143 (`SystemExit`).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.checkpoint import CheckpointError, DamagedCheckpointError, atomic_write, load_checkpoint, save_checkpoint
from core.metrics import MetricsLog, read_metrics

__all__ = [
    "RunDir",
    "Budget",
    "Position",
    "Interrupted",
    "interrupts",
    "rearm_interrupts",
    "make_run_dir",
    "write_json_atomic",
    "read_json",
]


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


class Budget:
    """A run's time budgets, counted from the moment it is made: `minutes` of wall clock and `cpu_minutes` of this
    process's CPU time (`time.process_time()`: every thread of the process, user and system); 0 means none.

    On a shared machine wall minutes are not CPU minutes: two runs given equal `cpu_minutes` get equal compute
    whatever else the machine is doing. Each process counts its own (a resumed run starts a fresh budget).
    """

    def __init__(self, minutes: float = 0.0, cpu_minutes: float = 0.0):
        self.minutes, self.cpu_minutes = minutes, cpu_minutes
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()

    @property
    def limited(self) -> bool:
        """Whether either budget is set."""
        return self.minutes > 0 or self.cpu_minutes > 0

    def wall_s(self) -> float:
        """Wall-clock seconds since the budget was made."""
        return time.perf_counter() - self.wall0

    def cpu_s(self) -> float:
        """CPU seconds this process has used since the budget was made."""
        return time.process_time() - self.cpu0

    def spent(self) -> str:
        """Empty while time is left, else which budget ran out ("time limit of M minutes", "CPU limit of M minutes")."""
        if self.minutes > 0 and self.wall_s() >= self.minutes * 60:
            return f"time limit of {self.minutes:g} minutes"
        if self.cpu_minutes > 0 and self.cpu_s() >= self.cpu_minutes * 60:
            return f"CPU limit of {self.cpu_minutes:g} minutes"
        return ""


@dataclass
class Position:
    """Where a loop is (its step or iteration), set by the loop inside `RunDir.interruptible`."""

    value: int = 0


class Interrupted(Exception):
    """A SIGINT or SIGTERM inside `interrupts()`; `code` is the exit status (130 for SIGINT, 143 for SIGTERM)."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


class _Signal(KeyboardInterrupt):
    """Raised by the signal handler (a KeyboardInterrupt, so code that cleans up after Ctrl-C does so here too)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class RunDir:
    """A run directory and its checkpoints: naming, rotation, resume point, metrics truncation, interruptions.

    Args:
        path: the run directory.
        kind: the checkpoint kind (`core.checkpoint.save_checkpoint`), checked on load.
        prefix, digits: checkpoint files are checkpoints/{prefix}_{number:0{digits}d}.pt.
        keep: rotation keeps the newest `keep` checkpoints (0: all of them).
        milestone_every: rotation also keeps every checkpoint whose number this divides (0: no milestones).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        kind: str,
        prefix: str = "step",
        digits: int = 7,
        keep: int = 0,
        milestone_every: int = 0,
    ):
        self.path = Path(path)
        self.kind, self.prefix, self.digits = kind, prefix, digits
        self.keep, self.milestone_every = keep, milestone_every
        self._pattern = re.compile(rf"{re.escape(prefix)}_(\d+)\.pt")

    @classmethod
    def create(cls, job: str, name: str, seed: int, root: str | os.PathLike = "runs", **layout) -> RunDir:
        """A new run directory `root/<job>__<name>__<seed>__<time>` (`make_run_dir`) with the given layout."""
        return cls(make_run_dir(job, name, seed, root), **layout)

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    def checkpoint_path(self, number: int) -> Path:
        """The file of checkpoint `number` (it need not exist)."""
        return self.checkpoint_dir / f"{self.prefix}_{number:0{self.digits}d}.pt"

    def checkpoints(self) -> list[tuple[int, Path]]:
        """(number, path) of every checkpoint file, oldest first."""
        if not self.checkpoint_dir.is_dir():
            return []
        found = ((self._pattern.fullmatch(p.name), p) for p in self.checkpoint_dir.iterdir())
        return sorted((int(m.group(1)), p) for m, p in found if m and p.is_file())

    def latest(self) -> Path | None:
        """The newest checkpoint file (highest number), or None."""
        found = self.checkpoints()
        return found[-1][1] if found else None

    def save(self, number: int, payload: dict) -> Path:
        """Write checkpoint `number` atomically, then rotate. Returns its path."""
        path = save_checkpoint(self.checkpoint_path(number), payload, kind=self.kind)
        self.rotate()
        return path

    def rotate(self) -> None:
        """Delete the checkpoints older than the newest `keep` that are not milestones (none when keep is 0)."""
        if self.keep <= 0:
            return
        for number, path in self.checkpoints()[: -self.keep]:
            if not (self.milestone_every > 0 and number % self.milestone_every == 0):
                path.unlink(missing_ok=True)

    def resume_point(self, map_location="cpu", *, say: bool = True) -> tuple[dict, Path]:
        """The payload and path of the checkpoint to resume from: the newest one, or when that file is torn
        (`DamagedCheckpointError`), the newest good one before it, saying so in one line on stdout (unless `say` is
        false). A checkpoint refused
        for another reason (unsafe, old format, another kind) is an error naming it: no fallback past it.

        Raises:
            CheckpointError: no such run directory, no checkpoint, no good one, or one refused (the message names it).
        """
        if not self.path.is_dir():
            raise CheckpointError(f"cannot resume {self.path}: no such run directory")
        found = self.checkpoints()
        if not found:
            raise CheckpointError(f"{self.path}: no checkpoints ({self.prefix}_*.pt in checkpoints/) to resume from")
        for i, (_, path) in enumerate(reversed(found)):
            try:
                payload = load_checkpoint(path, kind=self.kind, map_location=map_location)
            except DamagedCheckpointError as err:
                if i == len(found) - 1:
                    raise DamagedCheckpointError(f"{err}; no earlier checkpoint to fall back to") from err
                continue
            if i > 0 and say:
                skipped = ", ".join(p.name for _, p in found[len(found) - i :])
                note = f"resuming from the previous good checkpoint {path.name}"
                print(f"warning: {skipped} damaged (unreadable); {note}")
            return payload, path
        raise AssertionError("unreachable")

    def truncate_metrics(self, number: int, key: str = "step", record: dict | None = None) -> None:
        """Drop the metrics lines logged after checkpoint `number` (`key` <= number stay: the loop takes the later
        ones again); where `record` is given and no kept line has that number, it is put back."""
        path = self.metrics_path
        kept = [r for r in read_metrics(path) if int(r.get(key, 0)) <= number] if path.is_file() else []
        if record is not None and not any(int(r.get(key, 0)) == number for r in kept):
            kept.append(record)
        if path.is_file() or kept:
            atomic_write(path, "".join(json.dumps(r) + "\n" for r in kept).encode())

    def write_config(self, config: dict) -> None:
        """config.json, atomically."""
        write_json_atomic(self.path / "config.json", config)

    def metrics(self) -> MetricsLog:
        """The run's metrics log (metrics.jsonl), opened for appending."""
        return MetricsLog(self.metrics_path)

    @contextmanager
    def interruptible(self, unit: str, resume: str, *, say: bool = True) -> Iterator[Position]:
        """Run a loop so that Ctrl-C (SIGINT) and SIGTERM end it cleanly.

        The body sets `.value` of the yielded `Position` to its step or iteration. On a signal the body stops where
        it is (its `finally` blocks run), one line goes to stderr, `interrupted at UNIT N; resume with RESUME`, and
        `SystemExit(130)` (SIGINT) or `SystemExit(143)` (SIGTERM) is raised. A second signal during the clean-up is
        ignored. Only the main thread can install the handlers; elsewhere the body runs unguarded. `say=False`
        (the other ranks of a distributed run) leaves the line to another process.
        """
        at = Position()
        try:
            with interrupts():
                yield at
        except Interrupted as stop:
            if not say:
                raise SystemExit(stop.code) from None
            found = self.checkpoints()
            if not found:
                then = "no checkpoint yet to resume from"
            else:
                last = found[-1][0]
                at.value = max(at.value, last)  # a checkpoint written just before the loop noted it
                then = (f"last checkpoint at {unit} {last}; " if last != at.value else "") + f"resume with {resume}"
            print(f"interrupted at {unit} {at.value}; {then}", file=sys.stderr, flush=True)
            raise SystemExit(stop.code) from None


@contextmanager
def interrupts() -> Iterator[None]:
    """Turn SIGINT and SIGTERM inside the block into `Interrupted` (exit status 128 + the signal number) raised where
    the block is: its `finally` clauses run, and a second signal meanwhile is ignored.

    Native libraries may put their own handlers in place (Ray's prints a stack dump on SIGTERM): call
    `rearm_interrupts()` after starting one inside the block.
    """
    if not _main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    rearm_interrupts()
    try:
        yield
    except _Signal as err:
        raise Interrupted(128 + err.signum) from None
    except KeyboardInterrupt:  # raised by another handler a library left in place
        raise Interrupted(128 + signal.SIGINT) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def rearm_interrupts() -> None:
    """Install the handlers of `interrupts()` (again), over any a library put in their place."""
    if _main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, _on_signal)


def _on_signal(signum: int, frame) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):  # the clean-up runs to its end
        signal.signal(sig, signal.SIG_IGN)
    raise _Signal(signum)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()
