"""Self-play on Ray: N actor processes play, the training job's process learns (`gamelab train ... --actors N`).

Only runs with `actors > 0` import this module (and Ray); `gamelab train` without `--actors` never loads either.

    learner (the job's process)          weights holder (actor)            self-play actors 1..N
    publish: ray.put(weights) once  -->  (version, [ref])           <--  before each batch: newest version?
    write each batch as a shard     <--  batches of positions (object store) -- SelfPlay.run(min_positions)

- Weights: the learner puts each version's weights in the object store once and hands the reference to the holder;
  an actor asks the holder for the newest version between batches and fetches the weights only when it changed.
  The version is the iteration whose training produced them (0: the initial or resumed network).
- Positions: an actor returns a batch of finished games' positions (`ceil(positions_per_iteration / actors)` or
  more); the learner writes each batch as one replay shard, atomically, in the run directory (`ReplayBuffer.add`),
  so checkpoints, resume and evaluation are those of the single-process run. Actors never write files.
- Bounds (`TrainConfig`): a batch played with weights more than `max_policy_lag` versions older than the learner's
  is dropped (counted as `stale_positions`); the learner takes at most `max_steps_per_position` optimizer steps per
  new position since it started (0: steps_per_iteration / positions_per_iteration, the single-process ratio), and
  waits for positions when it would go over. An iteration is `steps_per_iteration` steps (or, with none,
  `positions_per_iteration` new positions); then the job checkpoints, evaluates and publishes the next version.
- Faults: an actor that dies (killed, out of memory, its machine gone) is restarted by Ray (up to `MAX_RESTARTS`
  times each); its batch in flight and its unfinished games are lost, nothing else. The learner dying ends the
  actors with it; `gamelab train --resume RUN` continues from the last checkpoint as without actors.
- Each actor plays `num_games` games in lockstep with the run's search settings, one torch thread, on the CPU or on
  `actor_gpus` of a GPU. `actors.json` in the run directory names each actor's host and process id.
"""

from __future__ import annotations

import dataclasses
import math
import os
import socket
import time
from dataclasses import dataclass, field

import numpy as np
import ray
import torch

from agents.buffer import ReplayBuffer
from agents.leaf_evaluators import network_evaluator
from agents.learner import TrainConfig, make_net, make_selfplay, train_steps
from core.device import set_cpu_threads
from core.ray_cluster import RaySession, start_ray
from core.run import write_json_atomic
from envs import get_game

__all__ = ["MAX_RESTARTS", "ActorPool", "SelfPlayActor", "WeightsHolder", "new_stats"]

MAX_RESTARTS = 20  # per actor (Ray's max_restarts): a crash loop is a bug, not bad luck
RETRY_S = 1.0  # a call to an actor Ray is restarting fails at once: call it again after this long
RESTART_WAIT_S = 600.0  # an actor not back this long after its death is given up (the others play on)
_STAT_KEYS = ("games", "positions", "moves", "simulations", "first_wins", "draws", "second_wins")


def new_stats() -> dict:
    """Counters that `ActorPool.receive` adds each written batch's figures to."""
    return dict.fromkeys((*_STAT_KEYS, "stale_positions", "policy_lag", "actor_seconds"), 0)


class WeightsHolder:
    """The newest published weights: (version, [object ref]). A list keeps Ray from resolving the reference."""

    def __init__(self) -> None:
        self.version, self.refs = -1, []

    def set(self, version: int, refs: list) -> None:
        self.version, self.refs = int(version), refs

    def latest(self) -> tuple[int, list]:
        return self.version, self.refs


class SelfPlayActor:
    """One self-play process: `num_games` games in lockstep that persist across batches, with the newest weights.

    Args:
        game_name, game_options: the game (`envs.get_game`).
        cfg: the run's config (network shape, search settings, num_games).
        index: this actor's number (0..N-1), part of its seed.
        seed_base: [run seed, iteration at start]; the process id is mixed in too, so a restarted actor plays
            other games than its first life.
        device: where its network and games live ("cpu", "cuda").
    """

    def __init__(
        self, game_name: str, game_options: dict, cfg: TrainConfig, index: int, seed_base: list[int], device: str
    ) -> None:
        set_cpu_threads(1)
        self.device = torch.device(device)
        self.game = get_game(game_name, **game_options)
        self.index = index
        seed = int(np.random.SeedSequence([*seed_base, index, os.getpid()]).generate_state(1)[0]) & 0x7FFFFFFF
        self.net = make_net(self.game, cfg).to(self.device).eval()
        self.selfplay = make_selfplay(self.game, dataclasses.replace(cfg, seed=seed), self.device)
        self.version = -1

    def play(self, min_positions: int, holder) -> tuple[dict[str, np.ndarray], dict]:
        """Fetch the newest weights from `holder` (the `WeightsHolder`) if they changed, then play until
        `min_positions` positions of finished games are ready.

        Returns:
            (positions as `SelfPlay.run` returns them, stats with the weights' `version`, `pid`, `host`).
        """
        version, refs = ray.get(holder.latest.remote())
        if version != self.version:
            self.net.load_state_dict(ray.get(refs[0]))
            self.version = version
        data, stats = self.selfplay.run(network_evaluator(self.net, self.device), min_positions, show_progress=False)
        stats.update(version=self.version, pid=os.getpid(), host=socket.gethostname())
        return data, stats


@dataclass
class _Slot:
    """One actor as the learner sees it: its handle, the call in flight, where it runs."""

    handle: object
    index: int
    call: object = None  # ObjectRef of the play() in flight
    submitted: float = 0.0
    where: dict = field(default_factory=dict)
    died_at: float | None = None  # when its last death was seen (until its next batch arrives)
    retry_at: float | None = None  # when to call it again while Ray restarts it


class ActorPool:
    """The learner's side: Ray, the weights holder and N self-play actors, and one iteration of learning.

    Args:
        game: the run's game.
        cfg: the run's config (`cfg.actors` actors).
        run_dir: where `actors.json` goes (shards go through the buffer).
        start_iteration: the iteration the run starts from (part of the actors' seeds).
        address: a Ray cluster to join ("auto", "HOST:PORT"), or None for a private Ray on this machine.
        actor_gpus: GPU share of each actor (0: actors play on the CPU).
        session: a Ray connection to use (and leave open at `close`) instead of making one.
        log: where status lines go (print).
    """

    def __init__(
        self, game, cfg: TrainConfig, run_dir, start_iteration: int, *, address: str | None = None,
        actor_gpus: float = 0.0, session: RaySession | None = None, log=print,
    ) -> None:  # fmt: skip
        self.cfg, self.run_dir, self.log = cfg, run_dir, log
        self.batch_positions = math.ceil(cfg.positions_per_iteration / cfg.actors)
        self.ratio = cfg.max_steps_per_position or cfg.steps_per_iteration / cfg.positions_per_iteration
        self.positions_seen = 0  # new positions written since this process started (the ratio's denominator)
        self.steps_seen = 0
        self.restarts = 0
        self.version = -1
        t0 = time.perf_counter()
        num_cpus = None if address else max(cfg.actors + 1, os.cpu_count() or 1)
        num_gpus = None if address else (math.ceil(cfg.actors * actor_gpus) if actor_gpus else None)
        self.own_session = session is None
        self.session: RaySession = session or start_ray(address, num_cpus=num_cpus, num_gpus=num_gpus)
        try:
            self.holder = ray.remote(WeightsHolder).options(num_cpus=0).remote()
            actor_cls = ray.remote(SelfPlayActor).options(
                num_cpus=1, num_gpus=actor_gpus, max_restarts=MAX_RESTARTS, max_task_retries=0
            )
            device = "cuda" if actor_gpus > 0 else "cpu"
            self.slots = [
                _Slot(actor_cls.remote(game.name, dict(game.options), cfg, i, [cfg.seed, start_iteration], device), i)
                for i in range(cfg.actors)
            ]
        except BaseException:
            if self.own_session:
                self.session.close()
            raise
        self.start_s = time.perf_counter() - t0
        where = f"private, session files in {self.session.temp_dir}" if self.session.private else "joined"
        log(
            f"ray {self.session.address} ({where}): {cfg.actors} self-play actors, {self.batch_positions} positions "
            f"a batch; ray started in {self.start_s:.1f}s"
        )

    def publish(self, net: torch.nn.Module, version: int) -> None:
        """Put the learner's weights in the object store once, as `version`, and start idle actors."""
        ref = ray.put({k: v.detach().cpu() for k, v in net.state_dict().items()})
        ray.get(self.holder.set.remote(version, [ref]))
        self.version = version
        for slot in self.slots:
            if slot.call is None:
                self._submit(slot)

    def _submit(self, slot: _Slot) -> None:
        slot.retry_at = None
        slot.call = slot.handle.play.remote(self.batch_positions, self.holder)
        slot.submitted = time.perf_counter()

    def receive(self, timeout: float | None, buffer: ReplayBuffer, acc: dict) -> None:
        """Write every finished batch (waiting up to `timeout` seconds for the first; None: until one comes), add
        its figures to `acc` (`new_stats`), and give its actor the next one; retry the actors that are restarting."""
        now = time.perf_counter()
        for slot in self.slots:
            if slot.call is None and slot.retry_at is not None and now >= slot.retry_at:
                self._submit(slot)
        calls = {slot.call: slot for slot in self.slots if slot.call is not None}
        retries = [slot.retry_at - now for slot in self.slots if slot.call is None and slot.retry_at is not None]
        if retries:  # wake up in time to retry a restarting actor
            timeout = max(min(retries), 0.0) if timeout is None else min(timeout, max(min(retries), 0.0))
        elif not calls:
            raise RuntimeError("every self-play actor is gone")
        if not calls:
            time.sleep(timeout)
            return
        ready, _ = ray.wait(list(calls), num_returns=1, timeout=timeout)
        if ready:  # take every other finished one too
            ready, _ = ray.wait(list(calls), num_returns=len(calls), timeout=0)
        for ref in ready:
            slot = calls[ref]
            slot.call = None
            try:
                data, stats = ray.get(ref)
            except ray.exceptions.RayActorError as err:
                self._failed(slot, err)
                continue
            self._accept(slot, data, stats, buffer, acc)
            self._submit(slot)

    def _failed(self, slot: _Slot, err: Exception) -> None:
        """A call to an actor failed: it died (counted once), or it is still restarting (retried shortly)."""
        now = time.perf_counter()
        if slot.died_at is None:  # a new death; the calls that fail while Ray restarts it are not new ones
            slot.died_at = now
            self.restarts += 1
            first = (str(err).strip().splitlines() or [""])[0][:160]
            self.log(f"actor {slot.index} ({slot.where.get('host', '?')} pid {slot.where.get('pid', '?')}) died "
                     f"after {now - slot.submitted:.1f}s of its batch ({type(err).__name__}: {first}); "
                     f"Ray restarts it")  # fmt: skip
        elif now - slot.died_at > RESTART_WAIT_S:
            self.log(f"actor {slot.index} did not come back within {RESTART_WAIT_S:.0f}s; going on without it")
            return
        slot.retry_at = now + RETRY_S

    def _accept(self, slot: _Slot, data: dict, stats: dict, buffer: ReplayBuffer, acc: dict) -> None:
        where = {"host": stats["host"], "pid": stats["pid"]}
        if where != slot.where:
            slot.where = where
            write_json_atomic(self.run_dir / "actors.json", [s.where for s in self.slots])
        if slot.died_at is not None:
            self.log(f"actor {slot.index} back (pid {stats['pid']}): {time.perf_counter() - slot.died_at:.1f}s "
                     f"from its death to its next batch")  # fmt: skip
            slot.died_at = None
        lag = self.version - int(stats["version"])
        positions = len(data.get("value", ()))
        if lag > self.cfg.max_policy_lag:
            acc["stale_positions"] += positions
            return
        if positions:
            buffer.add(data)
        self.positions_seen += positions
        acc["policy_lag"] = max(acc["policy_lag"], lag)
        acc["actor_seconds"] += stats["seconds"]
        for key in _STAT_KEYS:
            acc[key] += stats[key]

    def iteration(
        self, net, optimizer, scheduler, buffer: ReplayBuffer, np_gen: np.random.Generator, device: torch.device
    ) -> tuple[dict, dict, float, float]:
        """One learner iteration: write arriving batches, train while the step/position bound allows.

        Returns:
            (self-play stats like `SelfPlay.run`'s plus policy_lag, stale_positions, actor_restarts;
             losses like `train_steps`'s; seconds waiting for positions; seconds training).
        """
        cfg = self.cfg
        acc = new_stats()
        restarts0 = self.restarts
        sums, done, lr = {}, 0, optimizer.param_groups[0]["lr"]
        wait_s = train_s = 0.0
        while True:
            self.receive(0, buffer, acc)
            if done >= cfg.steps_per_iteration and (done > 0 or acc["positions"] >= cfg.positions_per_iteration):
                break
            allowed = min(
                math.floor(self.ratio * self.positions_seen) - self.steps_seen, cfg.steps_per_iteration - done
            )
            if allowed <= 0 or len(buffer) == 0:
                t = time.perf_counter()
                self.receive(None, buffer, acc)  # wait for positions
                wait_s += time.perf_counter() - t
                continue
            t = time.perf_counter()
            losses = train_steps(net, optimizer, scheduler, buffer, cfg, np_gen, device, allowed, show_progress=False)
            train_s += time.perf_counter() - t
            for key, value in losses.items():
                sums[key] = sums.get(key, 0.0) + value * allowed
            done += allowed
            self.steps_seen += allowed
            lr = losses["lr"]
        losses = {k: v / max(done, 1) for k, v in sums.items()} or {
            "loss": 0.0, "policy_loss": 0.0, "value_loss": 0.0, "policy_entropy": 0.0}  # fmt: skip
        losses["lr"] = float(lr)
        stats = {k: acc[k] for k in _STAT_KEYS}
        stats.update(
            mean_length=acc["positions"] / max(acc["games"], 1), policy_lag=acc["policy_lag"],
            stale_positions=acc["stale_positions"], actor_restarts=self.restarts - restarts0,
            actor_seconds=acc["actor_seconds"],
        )  # fmt: skip
        return stats, losses, wait_s, train_s

    def close(self) -> None:
        """End the actors and the holder, and disconnect from Ray (a private Ray stops) unless the session was
        given."""
        try:
            for slot in self.slots:
                ray.kill(slot.handle, no_restart=True)
            ray.kill(self.holder, no_restart=True)
        except Exception:  # noqa: BLE001 - Ray already going down: nothing left to end
            pass
        if self.own_session:
            self.session.close()
