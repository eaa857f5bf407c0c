"""The pretraining stage of a training run: learn from game records first, then self-play from that network.

    gamelab train gardner_chess --pretrain games.pgn more.pgn --pretrain-epochs 3

The files (PGN, SGF, JSONL: arena.games.iter_records) are streamed game by game, every epoch in the same order
(PGN and SGF files are parsed once, streamed into the run's pretrain/NNN.jsonl, and read from there after);
their positions pass through a bounded shuffle buffer (`pretrain_shuffle` positions) into batches of
`pretrain_batch`, each position under a random symmetry of the game (agents.pretrain). Every k-th game
(`pretrain_holdout`: 0.1 holds out games 10, 20, ...) is held out: up to HELDOUT_MAX of their positions measure the
policy's top-1 agreement with the expert, the chance level and the losses every `pretrain_eval_every` steps, as
lines of metrics.jsonl (`"stage": "pretrain"`, x: `pretrain_step`) drawn in pretrain.png.

The stage has its own optimizer (AdamW at `pretrain_lr`); self-play then starts with a fresh one. It stops after
`pretrain_epochs` epochs or `pretrain_steps` steps (0: no step limit), whichever comes first. Every evaluation
writes the run's checkpoint iter_000000.pt with the stage's position ({"done", "epoch", "batch", "step",
"optimizer"}) beside the usual payload; `--resume` continues the stage from there, exactly: the batches of an epoch
come from generators seeded by (seed, epoch) and (seed, step), so the resumed stage replays the epoch's stream up to
its position without training and goes on with the same batches.

A game that cannot be read or replayed is an error naming the file and the game number, or with
`pretrain_skip_bad`, a warning line and the game is skipped.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.pretrain import POSITION_FIELDS, batches, evaluate_positions, games_positions, shuffled, supervised_step
from arena.games import iter_records
from core.metrics import MetricsLog, keep_metrics, plot_metrics, read_metrics
from core.optim import make_optimizer
from core.progress import progress
from envs.base import Game

__all__ = ["HELDOUT_MAX", "check_files", "run_pretrain"]

HELDOUT_MAX = 4000  # held-out positions kept for the evaluation
GROUP = 64  # games replayed together in one batch
_PLOT_KEYS = ["heldout_top1", "heldout_chance", "train_top1", "pretrain_policy_loss", "heldout_policy_loss",
              "pretrain_value_loss", "heldout_value_loss"]  # fmt: skip


def check_files(files: tuple[str, ...]) -> None:
    """Raise FileNotFoundError naming the first record file that is not there."""
    for f in files:
        if not Path(f).is_file():
            raise FileNotFoundError(f"pretrain: {f}: no such record file")


def _held_out(index: int, share: float) -> bool:
    """Whether game `index` (from 0, over all files) is held out: every round(1 / share)-th game."""
    return share > 0 and int((index + 1) * share) > int(index * share)


def _positions(game: Game, files: tuple[str, ...], cfg: Any, held_out: bool) -> Iterator[dict[str, np.ndarray]]:
    """The positions of every training (or held-out) game of the files, one game's worth at a time, in file order
    (the games are replayed GROUP at a time, in one batch)."""

    def warn(message: str) -> None:
        print(f"warning: {message}; skipped", file=sys.stderr)

    def bad(message: str) -> None:
        if on_bad is None:
            raise ValueError(message)
        warn(message)

    on_bad = warn if cfg.pretrain_skip_bad else None
    index, group = 0, []
    for path in files:
        for number, record in iter_records(path, on_bad):
            index += 1
            if _held_out(index - 1, cfg.pretrain_holdout) != held_out:
                continue
            where = record.get("origin") or f"{path}: game {number}"
            info = record.get("game") or {}
            if info.get("name") != game.name:
                bad(f"{where}: a {info.get('name')} game, the run trains {game.name}")
                continue
            if list(info.get("board_shape") or game.board_shape) != list(game.board_shape):
                bad(f"{where}: board {info.get('board_shape')}, the run's is {list(game.board_shape)}")
                continue
            if record.get("start"):
                bad(f"{where}: starts from a set-up position, not the game's start")
                continue
            try:
                moves = [int(m) for m in record["moves"]]
            except (KeyError, TypeError, ValueError):
                bad(f"{where}: its moves are not a list of action ids")
                continue
            group.append((where, record, moves))
            if len(group) == GROUP:
                yield from _replayed(game, group, bad)
                group = []
    if group:
        yield from _replayed(game, group, bad)


def _replayed(game: Game, group: list, bad: Callable[[str], None]) -> Iterator[dict[str, np.ndarray]]:
    games = [(moves, r.get("result")) for _, r, moves in group]
    for (where, _, _), out in zip(group, games_positions(game, games), strict=True):
        if isinstance(out, str):
            bad(f"{where}: {out}")
            continue
        yield out


def _cached(files: tuple[str, ...], run_dir: Path, skip_bad: bool) -> tuple[str, ...]:
    """The record files as the stage reads them: PGN and SGF files are read (and their moves parsed) once, streamed
    into the run's pretrain/NNN.jsonl with each game's origin ("FILE: game N") kept for messages; JSONL as is."""
    out = []
    for i, path in enumerate(files):
        if Path(path).suffix.lower() == ".jsonl":
            out.append(path)
            continue
        cache = run_dir / "pretrain" / f"{i:03d}.jsonl"
        if not cache.is_file():
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f".{cache.name}.part")
            on_bad = (lambda m: print(f"warning: {m}; skipped", file=sys.stderr)) if skip_bad else None
            try:
                with open(tmp, "w", encoding="utf-8") as f:
                    for number, record in iter_records(path, on_bad):
                        record["origin"] = f"{path}: game {number}"
                        f.write(json.dumps(record, separators=(",", ":")) + "\n")
                os.replace(tmp, cache)
            finally:
                tmp.unlink(missing_ok=True)
        out.append(str(cache))
    return tuple(out)


def _heldout_set(game: Game, files: tuple[str, ...], cfg: Any) -> dict[str, np.ndarray]:
    parts, n = [], 0
    for chunk in _positions(game, files, cfg, held_out=True):
        parts.append(chunk)
        n += len(chunk["action"])
        if n >= HELDOUT_MAX:
            break
    if not parts:
        return {k: np.zeros(0) for k in POSITION_FIELDS}
    return {k: np.concatenate([p[k] for p in parts])[:HELDOUT_MAX] for k in POSITION_FIELDS}


def _epoch_batches(game: Game, files: tuple[str, ...], cfg: Any, epoch: int) -> Iterator[dict[str, np.ndarray]]:
    generator = np.random.default_rng([cfg.seed, 1, epoch])
    stream = shuffled(_positions(game, files, cfg, held_out=False), cfg.pretrain_shuffle, generator)
    return batches(stream, cfg.pretrain_batch)


def run_pretrain(
    game: Game,
    net: torch.nn.Module,
    cfg: Any,
    run_dir: Path,
    device: torch.device,
    *,
    saved: dict | None,
    save: Callable[[dict], None],
    show: bool = True,
) -> dict:
    """Run (or continue) the pretraining stage; returns its final state ({"done": True, ...}).

    Args:
        saved: the stage's state from the checkpoint a run resumes from (None: start).
        save: writes the run's checkpoint with the stage's state (called after every evaluation and at the end).
    Raises:
        FileNotFoundError, ValueError: a missing file, or a game that cannot be read (naming the file and game).
    """
    check_files(cfg.pretrain)
    optimizer = make_optimizer(net, "adamw", lr=cfg.pretrain_lr, weight_decay=cfg.weight_decay, momentum=0.9)
    state = {"done": False, "epoch": 0, "batch": 0, "step": 0}
    metrics = run_dir / "metrics.jsonl"
    if saved is not None:
        state.update({k: saved[k] for k in state})
        optimizer.load_state_dict(saved["optimizer"])
        if metrics.is_file():  # lines written after the checkpoint: the resumed stage writes them again
            keep_metrics(metrics, lambda r: r.get("stage") != "pretrain" or r["pretrain_step"] <= state["step"])
    files = _cached(cfg.pretrain, run_dir, cfg.pretrain_skip_bad)
    heldout = _heldout_set(game, files, cfg)
    symmetries = game.symmetries()
    log = MetricsLog(metrics)
    bar = progress(total=cfg.pretrain_steps or None, desc="pretrain", unit="step", disable=not show or None)
    bar.update(state["step"])
    sums = {"loss": 0.0, "policy_loss": 0.0, "value_loss": 0.0, "top1": 0.0, "n": 0}

    logged = [-1]

    def checkpoint() -> None:
        if logged[0] == state["step"]:  # the stage ended right after an evaluation: only its state changed
            save({**state, "optimizer": optimizer.state_dict()})
            return
        logged[0] = state["step"]
        evals = evaluate_positions(net, heldout, device=device)
        n = max(sums["n"], 1)
        record = log.log(
            stage="pretrain", pretrain_step=state["step"], pretrain_epoch=state["epoch"],
            **{f"pretrain_{k}": sums[k] / n for k in ("loss", "policy_loss", "value_loss") if sums["n"]},
            **({"train_top1": sums["top1"] / n} if sums["n"] else {}),
            **{f"heldout_{k}": v for k, v in evals.items()}, heldout_positions=len(heldout["action"]),
        )  # fmt: skip
        sums.update(loss=0.0, policy_loss=0.0, value_loss=0.0, top1=0.0, n=0)
        save({**state, "optimizer": optimizer.state_dict()})
        _plot(run_dir)
        if show or state["done"]:
            top1 = record.get("heldout_top1")
            chance = record.get("heldout_chance")
            said = f", held-out top-1 {100 * top1:.1f}% (chance {100 * chance:.1f}%)" if top1 is not None else ""
            print(f"pretrain step {state['step']} epoch {state['epoch']}{said}", flush=True)

    try:
        if saved is None:
            checkpoint()  # step 0: the untrained network's agreement, the curve's first point
        while not state["done"]:
            skip = state["batch"]
            for k, batch in enumerate(_epoch_batches(game, files, cfg, state["epoch"])):
                if k < skip:
                    continue  # a resumed epoch: the batches trained before the checkpoint
                out = supervised_step(
                    net, optimizer, batch, symmetries=symmetries,
                    generator=np.random.default_rng([cfg.seed, 2, state["step"]]),
                    value_weight=cfg.value_weight, grad_clip=cfg.grad_clip, device=device,
                )  # fmt: skip
                for key in ("loss", "policy_loss", "value_loss", "top1"):
                    sums[key] += out[key]
                sums["n"] += 1
                state["step"] += 1
                state["batch"] = k + 1
                bar.update(1)
                if cfg.pretrain_steps and state["step"] >= cfg.pretrain_steps:
                    state["done"] = True
                    break
                if state["step"] % cfg.pretrain_eval_every == 0:
                    checkpoint()
            else:
                if skip == 0 and state["batch"] == 0:
                    raise ValueError(f"pretrain: no training positions in {', '.join(cfg.pretrain)}")
                state["epoch"] += 1
                state["batch"] = 0
                state["done"] = state["epoch"] >= cfg.pretrain_epochs
            if state["done"]:
                checkpoint()
    finally:
        bar.close()
        log.close()
    return state


def _plot(run_dir: Path) -> None:
    records = [r for r in read_metrics(run_dir / "metrics.jsonl") if r.get("stage") == "pretrain"]
    keys = [k for k in _PLOT_KEYS if any(k in r for r in records)]
    if keys:
        plot_metrics(run_dir / "metrics.jsonl", run_dir / "pretrain.png", keys=keys, x="pretrain_step")
