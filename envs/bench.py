"""Batched game steps per second, against PettingZoo's own environments: `gamelab bench envs`.

    gamelab bench envs                                    # every game, B = 1, 64, 1024, 4096, all cores
    gamelab bench envs --games connect_four --batches 4096 --seconds 3 --threads 2 --json

For each game and batch size B the loop below runs for `--seconds` and counts moves (one per game of the batch per
iteration): legal mask -> a uniformly random legal action per game -> `step(..., check=False)` (the fast path) ->
`outcome` -> finished games reset in place (`reset_finished`, a row-wise select against a fresh batch). Everything
is timed, so the figure is what a self-play or rollout loop gets, not the bare `step`. Each figure is the best of
`--repeats` runs that share the `--seconds` (timeit's rule: on a shared machine the least disturbed run). The loop with
`check=True` (the validating path, a host sync per step) is measured at one B (`--checked-batch`). For the games
PettingZoo ships (tictactoe_v3, connect_four_v3, go_v5 at 9x9, komi 7.5, chess_v6), its AEC environment plays random
legal moves (uniform over its action mask) for the same time in the same run: moves per second, and the ratio of ours
at the largest B (4096 by default) to it. Every game draws from the full `legal_mask`, as self-play does per move (its
search needs the mask): the B columns and the ratio are that path, mask -> a random legal action drawn from the mask
(`random_legal_actions`, which reads the [B, A] mask once as int64 words) -> step -> outcome. A game with a
`random_actions(state, generator)` method (chess, whose 4672 actions it keeps as 73 legal bitboards) is measured a
second time at the largest B drawing with that method, without building the [B, A] mask: the "no mask" column, a
rollout's figure. PettingZoo's chess_v6 is python-chess with its draw claims checked after every move.

Dimension letters: B games, A actions.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

import envs
from core.config import bounded
from core.device import pick_device, synchronize
from core.job import JobParser, option_type, print_figures
from envs.base import Game
from envs.shogi_bench import REFERENCES, references
from envs.state import where

__all__ = [
    "BenchConfig",
    "PETTINGZOO",
    "reset_finished",
    "random_legal_actions",
    "batched_steps_per_s",
    "pettingzoo_steps_per_s",
    "reference_steps_per_s",
    "run_bench",
    "main",
]


@dataclass(frozen=True)
class BenchConfig:
    device: str = "cpu"
    games: tuple[str, ...] = tuple(envs.GAMES)
    batches: tuple[int, ...] = (1, 64, 1024, 4096)
    seconds: float = bounded(1.0, gt=0)
    checked_batch: int = bounded(1024, ge=1)
    threads: int | None = bounded(None, ge=1)  # torch CPU threads; None: every core this process may use
    pettingzoo: bool = True
    repeats: int = bounded(3, ge=1)  # each figure is the best of this many runs sharing `seconds`
    seed: int = bounded(0, ge=0)


# our game name -> (PettingZoo module, env kwargs, our game options that match them)
PETTINGZOO: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "tictactoe": ("pettingzoo.classic.tictactoe_v3", {}, {}),
    "connect_four": ("pettingzoo.classic.connect_four_v3", {}, {}),
    "go": ("pettingzoo.classic.go_v5", {"board_size": 9, "komi": 7.5}, {"size": 9, "komi": 7.5}),
    "chess": ("pettingzoo.classic.chess_v6", {}, {}),
}


def reset_finished(game: Game, state: Any, fresh: Any) -> tuple[Any, Tensor]:
    """Restart finished games in place: rows of `state` whose game is over become the rows of `fresh`.

    Args:
        game: the game.
        state: B positions.
        fresh: B start positions (game.init(B), made once and reused: states are immutable).
    Returns:
        (new state, done BoolTensor[B] of the rows that were reset). No host sync.
    """
    done, _ = game.outcome(state)
    return where(done, fresh, state), done


_BYTE_SUM = 0x0101010101010101  # times a word of 8 small byte counts: their sum in the top byte


def random_legal_actions(mask: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """A uniformly random legal action per row of mask BoolTensor[B, A] (0 for rows without one). LongTensor[B].

    Draws one number per row, k uniform in 0..count-1, and takes the (k+1)-th legal action. The mask is read once,
    as int64 words of 8 bools: the words of each block of 64 actions are summed (each byte then counts up to 8), a
    multiply adds the bytes; the block, then its word, then the byte of the k-th legal action are found by short
    running counts (B numbers drawn and one read-only pass over the mask, no [B, A] cumulative count).
    """
    b, a = mask.shape
    padded = -(-a // 64) * 64
    if padded != a or not mask.is_contiguous() or mask.storage_offset() % 8:
        mask = torch.nn.functional.pad(mask, (0, padded - a))  # False columns: never drawn
    blocks = padded // 64
    words = mask.view(torch.int64).view(b, 8, blocks)  # the 8 words of block j: [:, :, j]
    counts = (words.sum(1) * _BYTE_SUM) >> 56  # [B, blocks]: legal actions per block (<= 64, no sign bit)
    running = counts.cumsum(1)
    total = running[:, -1]
    k = (torch.rand(b, generator=generator, device=mask.device) * total).long()
    k = torch.minimum(k, (total - 1).clamp(min=0))[:, None]  # float rounding could give k == total
    block = torch.searchsorted(running, k + 1).clamp(max=blocks - 1)  # [B, 1]
    k = k - (running.gather(1, block) - counts.gather(1, block))
    eight = words.gather(2, block[:, None].expand(b, 8, 1))[:, :, 0]  # [B, 8]: the block's words
    word_counts = (eight * _BYTE_SUM) >> 56
    word_running = word_counts.cumsum(1)
    word = torch.searchsorted(word_running, k + 1).clamp(max=7)
    k = k - (word_running.gather(1, word) - word_counts.gather(1, word))
    byte_running = eight.gather(1, word).view(torch.uint8).view(b, 8).long().cumsum(1)  # its 8 bools
    byte = torch.searchsorted(byte_running, k + 1).clamp(max=7)
    action = (word * blocks + block) * 8 + byte  # word w of block j is word w * blocks + j of the row
    return torch.where(total > 0, action[:, 0], 0)


def _best_of(rates: list[float], steps: int, seconds: float, finished: int) -> dict[str, Any]:
    return {"steps_per_s": max(rates), "runs": rates, "steps": steps, "seconds": seconds, "games_finished": finished}


def batched_steps_per_s(
    game: Game,
    batch: int,
    seconds: float,
    *,
    device: torch.device,
    check: bool = False,
    seed: int = 0,
    repeats: int = 3,
    mask: bool = True,
) -> dict[str, Any]:
    """Moves per second of the random-play loop (see the module docstring) on B games; `mask=False` draws with the
    game's own `random_actions` where it has one (no [B, A] mask).

    The time is split into `repeats` runs and the best run counts (as timeit does: on a shared machine the fastest
    run is the one least disturbed by other work).

    Returns:
        {"steps_per_s" (best run), "runs" (each run's rate), "steps", "seconds", "games_finished"} (totals).
    """
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    fresh = game.init(batch, device)
    state = fresh
    sampler = None if mask else getattr(game, "random_actions", None)  # chess: its legal bitboards (module docstring)

    def draw(state: Any) -> Tensor:
        if sampler is not None:
            return sampler(state, gen)
        return random_legal_actions(game.legal_mask(state), gen)

    def run(iterations: int) -> Tensor:
        nonlocal state
        finished = torch.zeros((), dtype=torch.long, device=device)
        for _ in range(iterations):
            action = draw(state)
            state = game.step(state, action, check=check)
            state, done = reset_finished(game, state, fresh)
            finished += done.sum()
        return finished

    run(3)  # warm-up: table caches, allocator
    synchronize(device)
    rates, total_steps, total_time, finished = [], 0, 0.0, 0
    for _ in range(max(1, repeats)):
        iterations, block = 0, 1
        start = time.perf_counter()
        while True:
            finished += int(run(block))  # (a device sync)
            iterations += block
            elapsed = time.perf_counter() - start
            if elapsed >= seconds / max(1, repeats):
                break
            # blocks of about 0.05 s: few clock reads and device syncs, and the run stops close to its time
            block = max(1, min(2 * block, int(0.05 * iterations / elapsed)))
        rates.append(iterations * batch / elapsed)
        total_steps += iterations * batch
        total_time += elapsed
    return _best_of(rates, total_steps, total_time, finished)


def _one_at_a_time(move: Callable[[], bool], seconds: float, repeats: int) -> dict[str, Any]:
    """Moves per second of one game played by `move()` (True: it moved; False: the game had ended and restarted),
    best of `repeats` runs that share the `seconds`."""
    rates, total_steps, total_time, finished = [], 0, 0.0, 0
    for _ in range(max(1, repeats)):
        steps = 0
        start = time.perf_counter()
        while True:
            if not move():
                finished += 1
                continue
            steps += 1
            if steps % 16 == 0 and time.perf_counter() - start >= seconds / max(1, repeats):
                break
        elapsed = time.perf_counter() - start
        rates.append(steps / elapsed)
        total_steps += steps
        total_time += elapsed
    return _best_of(rates, total_steps, total_time, finished)


def pettingzoo_steps_per_s(name: str, seconds: float, *, seed: int = 0, repeats: int = 3) -> dict[str, Any]:
    """Moves per second of PettingZoo's own env for game `name` (random legal moves, reset after each game),
    best of `repeats` runs as in batched_steps_per_s.

    Returns:
        {"env", "steps_per_s", "runs", "steps", "seconds", "games_finished"}.
    """
    import importlib

    module_name, kwargs, _ = PETTINGZOO[name]
    env = importlib.import_module(module_name).env(**kwargs)
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)

    def move() -> bool:
        obs, _, term, trunc, _ = env.last()
        if term or trunc:
            env.reset()
            return False
        env.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
        return True

    result = _one_at_a_time(move, seconds, repeats)
    env.close()
    return {"env": module_name.rsplit(".", 1)[1], **result}


def reference_steps_per_s(name: str, library: str, seconds: float, *, seed: int = 0, repeats: int = 3) -> dict:
    """Moves per second of an outside library's game `name` (envs.shogi_bench), best of `repeats` runs as in
    batched_steps_per_s.

    Returns:
        {"env", "available": True, "steps_per_s", "runs", "steps", "seconds", "games_finished"}; {"env",
        "available": False, "reason"} when the library is not installed.
    """
    try:
        move = REFERENCES[name][library](random.Random(seed))
    except ImportError as e:
        return {"env": library, "available": False, "reason": f"{library} is not installed ({e})"}
    return {"env": library, "available": True, **_one_at_a_time(move, seconds, repeats)}


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_bench(cfg: BenchConfig, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Measure every game of `cfg`; returns the JSON-ready result (see `main`).

    Raises:
        ValueError: unknown game, bad batch size, or a device that is not available.
    """
    device = pick_device(cfg.device)
    threads = cfg.threads or _cores()
    torch.set_num_threads(threads)
    unknown = [g for g in cfg.games if g not in envs.GAMES]
    if unknown:
        raise ValueError(f"unknown game(s) {', '.join(unknown)}; known: {', '.join(envs.GAMES)}")
    if not cfg.batches or min(cfg.batches) < 1 or cfg.checked_batch < 1:
        raise ValueError("batch sizes must be positive integers")
    log = log or (lambda _: None)
    if threads > 1 and os.environ.get("OMP_WAIT_POLICY", "").upper() != "PASSIVE":
        # read by OpenMP when torch loads, so it cannot be changed from here
        log("note: OMP_WAIT_POLICY is not PASSIVE: with other work on the machine, torch threads spin against it")
    ratio_batch = max(cfg.batches)
    result: dict[str, Any] = {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "cores": _cores(),
        "seconds": cfg.seconds,
        "repeats": cfg.repeats,
        "batches": list(cfg.batches),
        "checked_batch": cfg.checked_batch,
        "ratio_batch": ratio_batch,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset"),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "games": {},
    }
    for name in cfg.games:
        options = PETTINGZOO[name][2] if name in PETTINGZOO else {}
        try:
            game = envs.get_game(name, **options)
        except ModuleNotFoundError as e:
            log(f"{name}: not available ({e})")
            result["games"][name] = {"available": False, "reason": str(e)}
            continue
        row: dict[str, Any] = {"available": True, "id": game.id, "options": dict(game.options), "batched": {}}
        for b in cfg.batches:
            log(f"{name}: B={b}")
            row["batched"][str(b)] = batched_steps_per_s(
                game, b, cfg.seconds, device=device, seed=cfg.seed, repeats=cfg.repeats
            )
        log(f"{name}: B={cfg.checked_batch}, check=True")
        checked = batched_steps_per_s(
            game, cfg.checked_batch, cfg.seconds, device=device, check=True, seed=cfg.seed, repeats=cfg.repeats
        )
        row["checked"] = {"batch": cfg.checked_batch, **checked}
        row["no_mask"] = None
        if hasattr(game, "random_actions"):
            log(f"{name}: B={ratio_batch}, drawn without the mask")
            row["no_mask"] = batched_steps_per_s(
                game, ratio_batch, cfg.seconds, device=device, seed=cfg.seed, repeats=cfg.repeats, mask=False
            )
        row["pettingzoo"] = None
        row["ratio"] = None
        row["ratio_no_mask"] = None
        if cfg.pettingzoo and name in PETTINGZOO:
            log(f"{name}: PettingZoo {PETTINGZOO[name][0]}")
            pz = pettingzoo_steps_per_s(name, cfg.seconds, seed=cfg.seed, repeats=cfg.repeats)
            row["pettingzoo"] = pz
            row["ratio"] = row["batched"][str(ratio_batch)]["steps_per_s"] / pz["steps_per_s"]
            if row["no_mask"] is not None:
                row["ratio_no_mask"] = row["no_mask"]["steps_per_s"] / pz["steps_per_s"]
        row["references"] = []  # outside libraries of the game (envs.shogi_bench), one game at a time
        for library in references(name) if cfg.pettingzoo else []:
            log(f"{name}: {library}")
            ref = reference_steps_per_s(name, library, cfg.seconds, seed=cfg.seed, repeats=cfg.repeats)
            if ref["available"]:
                ref["ratio"] = row["batched"][str(ratio_batch)]["steps_per_s"] / ref["steps_per_s"]
            row["references"].append(ref)
        result["games"][name] = row
    return result


def _si(x: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= scale:
            return f"{x / scale:.3g}{unit}"
    return f"{x:.3g}"


def format_table(result: dict[str, Any]) -> str:
    """The result of run_bench as a text table (steps per second, k = 1e3, M = 1e6)."""
    batches, cb, rb = result["batches"], result["checked_batch"], result["ratio_batch"]
    head = (
        f"gamelab bench envs: device {result['device']}, {result['threads']} torch threads "
        f"({result['cores']} cores, OMP_WAIT_POLICY {result['omp_wait_policy']}), {result['seconds']:g} s per figure "
        f"(best of {result['repeats']} runs), "
        f"torch {result['torch']}\n"
        "moves per second over the whole batch: batched mask -> random legal move -> step -> outcome -> reset "
        "finished games (no mask: drawn from the game's own legal sets)\n"
    )
    cols = ["game"] + [f"B={b}" for b in batches] + [f"checked B={cb}", "PettingZoo", "env", f"ours B={rb} / PZ"]
    cols += [f"no mask B={rb}", "no mask / PZ"]
    rows = []
    for name, row in result["games"].items():
        if not row["available"]:
            rows.append([name] + ["-"] * (len(cols) - 2) + ["not available"])
            continue
        cells = [name] + [_si(row["batched"][str(b)]["steps_per_s"]) for b in batches]
        cells.append(_si(row["checked"]["steps_per_s"]))
        pz = row["pettingzoo"]
        cells += [_si(pz["steps_per_s"]), pz["env"], f"{row['ratio']:.0f}x"] if pz else ["-", "-", "-"]
        free = row.get("no_mask")
        cells.append(_si(free["steps_per_s"]) if free else "-")
        cells.append(f"{row['ratio_no_mask']:.0f}x" if row.get("ratio_no_mask") else "-")
        rows.append(cells)
    widths = [max(len(str(r[i])) for r in [cols] + rows) for i in range(len(cols))]
    lines = [
        "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in [cols] + rows
    ]
    for name, row in result["games"].items():
        for ref in row.get("references", []) if row["available"] else []:
            if ref["available"]:
                lines.append(
                    f"{name}: {ref['env']} {_si(ref['steps_per_s'])} moves/s; ours B={rb} / it {ref['ratio']:.1f}x"
                )
            else:
                lines.append(f"{name}: {ref['env']} skipped: {ref['reason']}")
    opts = [f"{n}: {r['options']}" for n, r in result["games"].items() if r["available"] and r["options"]]
    foot = f"\noptions: {'; '.join(opts)}" if opts else ""
    return head + "\n".join(lines) + foot


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from e
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _name_list(text: str) -> tuple[str, ...]:
    names = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = [n for n in names if n not in envs.GAMES]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"unknown game(s) in {text!r}; known: {', '.join(envs.GAMES)}")
    return names


def main(argv: list[str] | None = None) -> int:
    """`gamelab bench envs`: print the steps-per-second table (or, with --json, one JSON object)."""
    d = BenchConfig()
    p = JobParser(
        prog="gamelab bench envs",
        description="Batched game steps per second (random legal moves, finished games reset in place), and "
        "PettingZoo's own connect_four_v3, tictactoe_v3, go_v5 (9x9) and chess_v6 measured in the same run.",
    )
    p.add_argument("--device", default=d.device, help="cpu (default), cuda, cuda:N, mps or auto")
    p.add_argument("--games", type=_name_list, default=d.games, help="comma-separated games (default: all)")
    p.add_argument(
        "--batches", type=_int_list, default=d.batches, help="comma-separated batch sizes B (default 1,64,1024,4096)"
    )
    p.add_argument(
        "--seconds",
        type=option_type(BenchConfig, "seconds"),
        default=d.seconds,
        help="time per figure (default %(default)s)",
    )
    p.add_argument(
        "--checked-batch",
        type=option_type(BenchConfig, "checked_batch"),
        default=d.checked_batch,
        help="B of the check=True figure (default %(default)s)",
    )
    p.add_argument(
        "--threads",
        type=option_type(BenchConfig, "threads"),
        default=None,
        help="torch CPU threads (default: all cores)",
    )
    p.add_argument("--no-pettingzoo", dest="pettingzoo", action="store_false", help="skip PettingZoo's envs")
    p.add_argument(
        "--repeats",
        type=option_type(BenchConfig, "repeats"),
        default=d.repeats,
        help="runs per figure, best counts (default %(default)s)",
    )
    p.add_argument("--seed", type=option_type(BenchConfig, "seed"), default=d.seed)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = p.parse_args(argv)
    cfg = BenchConfig(**{k: v for k, v in vars(args).items() if k != "json"})

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    return print_figures(lambda: run_bench(cfg, log=log), format_table, args.json)


if __name__ == "__main__":
    sys.exit(main())
