"""`gamelab gan train`: a GAN training run on the shared core.

    gamelab gan train [--preset NAME] [--key=value | --key value ...] [--resume RUN] [--runs DIR] [--threads N]
                      [--dry-run] [--print-config] [--quiet]

Every field of `GanConfig` is an option (`--data=digits --arch sngan --cond --lr_g=1e-4 ...`; see core.job). The
iteration itself is `step.train_step`; sample grids and in-run quality are `monitor`. Everything needed to continue
bit-for-bit (G, D, EMA, both optimizers, step, augmentation state, every rank's random generators) goes into each
checkpoint, and `--resume RUN` continues exactly, whenever the run was killed; learning rates, betas, EMA decay,
augmentation targets and budgets may change on resume, the data, image size and network shape may not. A
non-finite loss rewinds to the last good checkpoint. Under `torchrun` the same loop runs with DDP (core.distributed);
rank 0 writes files. The run directory is a `core.run.RunDir`: `--resume` falls back past a torn newest checkpoint,
and Ctrl-C or SIGTERM stops the run with one line (`interrupted at step N; ...`), exit status 130 or 143.

Run files (runs/gan__NAME__SEED__TIME/): config.json, metrics.jsonl, metrics.png, checkpoints/step_NNNNNNN.pt,
samples/step_NNNNNNN.png (fixed noise, EMA generator) and samples/latest.png.

Dimension letters: B batch, Z latent size, K classes, C channels, S image side, N data-set size.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from core.checkpoint import CheckpointError, load_checkpoint
from core.config import ConfigError, bounded, check_ranges, config_to_dict, load_toml_presets
from core.distributed import all_reduce_max, all_reduce_sum, broadcast_object, gather_objects, setup_distributed
from core.job import fail, job_parser, parse_job
from core.metrics import plot_metrics
from core.optim import load_optimizer_state
from core.progress import progress
from core.run import Budget, RunDir, make_run_dir
from core.seeding import rng_state, seed_everything, set_rng_state
from generative.data import dataset_hash, load_dataset

from .augment import OPS
from .models import KIND
from .monitor import collapse_alarm, make_probe, probe_quality, write_samples
from .step import Parts, build_parts, train_step

__all__ = ["GanConfig", "PRESETS", "FIXED_ON_RESUME", "train", "main"]

PRESETS: dict[str, dict] = load_toml_presets(Path(__file__).with_name("presets.toml"))
# what the saved weights and random paths depend on: refused by name when changed on --resume
FIXED_ON_RESUME = ("data", "size", "limit", "arch", "cond", "z_dim", "g_width", "d_width", "seed", "w_dim", "map_depth",
                   "map_lr_mul")  # fmt: skip


@dataclass(frozen=True)
class GanConfig:
    """A GAN training run. `loss` and `n_critic` left empty/0 take the architecture's usual choice."""

    data: str = "digits"  # digits, photos, textures, builtin:NAME, or a path (folder, IDX, CIFAR, .npz)
    size: int = bounded(16, ge=8)  # image side in pixels (power of two)
    limit: int = bounded(0, ge=0)  # use only the first N images (0: all)
    arch: Literal["dcgan", "sngan", "wgan-gp", "stylegan"] = "dcgan"
    loss: Literal["", "ns", "hinge", "wgan"] = ""  # "": dcgan ns, sngan hinge, wgan-gp wgan
    cond: bool = False  # class-conditional (needs labels): label embedding in G, projection D
    z_dim: int = bounded(64, ge=1)  # latent size Z
    g_width: int = bounded(32, ge=1)  # base channel width of the generator
    d_width: int = bounded(32, ge=1)  # base channel width of the discriminator
    batch: int = bounded(64, ge=1)  # per process
    steps: int = bounded(2000, ge=0)  # generator updates
    minutes: float = bounded(0.0, ge=0)  # wall-clock budget of this process (0: none); then the run saves and stops
    cpu_minutes: float = bounded(0.0, ge=0)  # CPU-time budget of this process (0: none); then the run saves and stops
    lr_g: float = bounded(2e-4, gt=0)  # learning rate of the generator
    lr_d: float = bounded(2e-4, gt=0)  # learning rate of the discriminator
    beta1: float = bounded(0.5, ge=0, lt=1)  # Adam beta1 of both optimizers
    beta2: float = bounded(0.999, ge=0, lt=1)  # Adam beta2 of both optimizers
    n_critic: int = bounded(0, ge=0)  # D updates per G update (0: 5 for wgan-gp, else 1)
    gp_weight: float = bounded(10.0, ge=0)  # WGAN-GP
    r1_gamma: float = bounded(0.0, ge=0)  # R1 weight (0: off)
    r1_every: int = bounded(16, ge=1)  # lazy R1 interval
    ema_decay: float = bounded(0.999, ge=0, lt=1)  # decay of the generator's weight average (samples use it)
    augment: str = ""  # DiffAugment ops: color,translation,cutout ("": none)
    aug_p: float = bounded(0.0, ge=0, le=1)  # start (or fixed) augmentation probability
    ada_target: float = bounded(0.6, le=1)  # ADA target for E[sign D(real)] (<= 0: p stays fixed)
    ada_interval: int = bounded(4, ge=1)  # steps between p adjustments
    ada_speed: int = bounded(20000, ge=1)  # images over which p can move by 1
    sample_every: int = bounded(250, ge=1)  # steps between sample grids and in-run quality checks
    ckpt_every: int = bounded(500, ge=1)  # steps between checkpoints
    keep_ckpts: int = bounded(3, ge=1)  # newest checkpoints kept on disk
    log_every: int = bounded(25, ge=1)  # steps between metrics lines
    eval_samples: int = bounded(500, ge=0)  # samples for the in-run Frechet distance and coverage (0: off)
    seed: int = 0  # seeds every random generator of the run
    device: str = "auto"  # auto, cpu, cuda, cuda:N or mps
    precision: Literal["auto", "fp32"] = "auto"  # auto: bf16 autocast on CUDA
    channels_last: bool = True  # on CUDA
    compile: bool = False  # torch.compile G and D (CUDA)
    max_rewinds: int = bounded(5, ge=0)  # non-finite guard: give up after this many rewinds
    fault_step: int = -1  # inject a non-finite loss at this step once (exercises the guard)
    name: str = ""  # run name (default: data-arch, e.g. digits-dcgan)
    # arch = "stylegan" only (generative/gan/stylegan.py)
    w_dim: int = bounded(0, ge=0)  # style size W (0: z_dim)
    map_depth: int = bounded(2, ge=1)  # mapping-network layers
    map_lr_mul: float = bounded(0.01, gt=0)  # mapping-network learning-rate multiplier
    style_mixing: float = bounded(0.9, ge=0, le=1)  # style-mixing regularization probability
    pl_weight: float = bounded(2.0, ge=0)  # path-length regularization weight (0: off)
    pl_every: int = bounded(4, ge=1)  # lazy path-length interval

    def __post_init__(self) -> None:
        check_ranges(self)  # also for configs made with dataclasses.replace
        if self.size & (self.size - 1):
            raise ConfigError(f"size must be a power of two (8, 16, 32, ...), got {self.size}")
        if self.arch == "stylegan" and (self.cond or self.loss not in ("", "ns")):
            raise ConfigError("arch=stylegan trains unconditionally with the non-saturating loss (no cond, loss ns)")
        unknown = [op for op in self.augment.split(",") if op and op not in OPS]
        if unknown:
            raise ConfigError(f"augment: unknown op(s) {', '.join(unknown)}; use some of {', '.join(OPS)}")


# ----------------------------------------------------------------------------------------------------------------------
# checkpoints


def _payload(parts: Parts, step: int, data_gen: torch.Generator, extra: dict) -> dict:
    states = gather_objects((rng_state(), data_gen.get_state()))  # every rank's generators, for an exact resume
    return {
        "config": config_to_dict(parts.cfg), "model_config": parts.model_config, "step": step,
        "G": parts.g.state_dict(), "D": parts.d.state_dict(), "ema": parts.ema.state_dict(),
        "opt_g": parts.opt_g.state_dict(), "opt_d": parts.opt_d.state_dict(), "ada": parts.ada.state_dict(),
        "rng": [s[0] for s in states], "data_rng": [s[1] for s in states], **extra,
    }  # fmt: skip


def _restore(parts: Parts, payload: dict, data_gen: torch.Generator) -> int:
    """Load a checkpoint's state into the live parts; the config's hyper-parameters (learning rates, betas, EMA
    decay, augmentation target and speed) stay those of the current config. Returns the step."""
    parts.g.load_state_dict(payload["G"])
    parts.d.load_state_dict(payload["D"])
    parts.ema.load_state_dict(payload["ema"])
    parts.ema.decay = parts.cfg.ema_decay
    load_optimizer_state(parts.opt_g, payload["opt_g"])
    load_optimizer_state(parts.opt_d, payload["opt_d"])
    parts.ada.load_state_dict(payload["ada"])
    if len(payload["rng"]) == parts.world:
        set_rng_state(payload["rng"][parts.rank])
        data_gen.set_state(payload["data_rng"][parts.rank])
    else:  # another world size: fresh per-rank streams
        torch.manual_seed(parts.cfg.seed + 1000 * parts.rank + payload["step"])
        data_gen.manual_seed(parts.cfg.seed + 1000 * parts.rank + payload["step"] + 1)
    return int(payload["step"])


def _run_dir(path: str | os.PathLike, cfg: GanConfig | None = None) -> RunDir:
    """The run directory's checkpoints: step_NNNNNNN.pt, the last `keep_ckpts` of them."""
    return RunDir(path, kind=KIND, prefix="step", digits=7, keep=cfg.keep_ckpts if cfg is not None else 0)


def _save(parts: Parts, run: RunDir, step: int, data_gen: torch.Generator, extra: dict) -> Path:
    payload = _payload(parts, step, data_gen, extra)  # every rank joins the gather
    if parts.rank != 0:
        return run.checkpoint_path(step)
    return run.save(step, payload)


def _saved_config(run: Path, args: argparse.Namespace | None = None) -> dict:
    """The config a run's latest checkpoint was saved with (fields of GanConfig only), for --resume."""
    payload, path = _run_dir(run).resume_point(say=False)  # train() says which checkpoint it continues from
    config = payload.get("config")
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: checkpoint holds no config")
    fields = {f.name for f in dataclasses.fields(GanConfig)}
    return {k: v for k, v in config.items() if k in fields}  # older runs also saved root and threads


# ----------------------------------------------------------------------------------------------------------------------
# the run


class _Bar:
    """The progress bar of a run's real budget: seconds of `minutes` when that is set, else CPU seconds of
    `cpu_minutes` when that is (the step budget is then shown beside it), else steps."""

    def __init__(self, cfg: GanConfig, step: int, show: bool, budget: Budget):
        self.steps = cfg.steps
        self.clock = budget.wall_s if cfg.minutes > 0 else budget.cpu_s if cfg.cpu_minutes > 0 else None
        self.timed = self.clock is not None
        if self.timed:  # whole seconds
            total, unit = round((cfg.minutes or cfg.cpu_minutes) * 60), "s" if cfg.minutes > 0 else "cpu-s"
        else:
            total, unit = cfg.steps, "step"
        self.bar = progress(total=total, desc="gan", unit=unit, disable=None if show else True)
        if not self.timed:
            self.bar.update(step)

    def update(self, step: int, **postfix) -> None:
        if self.timed:
            self.bar.update(int(min(self.clock(), self.bar.total)) - self.bar.n)
        else:
            self.bar.update(step - self.bar.n)
        if postfix:
            self.bar.set_postfix({"step": f"{step}/{self.steps}"} | postfix if self.timed else postfix)

    def close(self) -> None:
        self.bar.close()


def train(
    cfg: GanConfig, runs: str | os.PathLike = "runs", resume: str | os.PathLike | None = None, quiet: bool = False
) -> dict:
    """Run (or continue) a training run.

    Args:
        cfg: the configuration (on resume: the saved one with the caller's changes applied).
        runs: the folder that receives a new run directory.
        resume: a run directory to continue from its latest checkpoint.
        quiet: no progress bar.

    Returns:
        {"run_dir", "step", "rewinds", "final": last logged record, "checkpoint": path of the last checkpoint,
        "parts": the live models and optimizers, "stopped": which budget ended the run ("" : the step budget),
        "cpu_s": CPU seconds the run used in this process}.
    Raises:
        DataError, ConfigError: the data set cannot be used (before any run directory is made).
        CheckpointError: the checkpoint to resume from is missing or damaged.
    """
    budget = Budget(cfg.minutes, cfg.cpu_minutes)  # loading and probes count too
    device, rank, world = setup_distributed(cfg.device)
    seed_everything(cfg.seed + 1000 * rank)
    data_gen = torch.Generator().manual_seed(cfg.seed + 1000 * rank + 1)
    x, y, k = load_dataset(cfg.data, cfg.size, limit=cfg.limit or None)
    if cfg.cond and (y is None or k < 2):
        raise ConfigError(f"cond=true needs a labelled data set; {cfg.data!r} has no labels")
    dhash = dataset_hash(x, y)
    parts = build_parts(cfg, x.shape[1], k, device)
    probe = make_probe(parts, x, y, k, dhash)  # draws from no global generator
    x_dev, y_dev = x.to(device), None if y is None else y.to(device)

    def batch_fn():
        idx = torch.randint(len(x), (cfg.batch,), generator=data_gen).to(device)
        return x_dev[idx], None if y_dev is None else y_dev[idx]

    step, rewinds, ckpt = 0, 0, None
    if resume is not None:
        run = _run_dir(resume, cfg)
        payload, ckpt = run.resume_point(map_location=device, say=rank == 0)
        if rank == 0:
            print(f"resuming {run.path} from {ckpt.name}", file=sys.stderr)
        step, rewinds = _restore(parts, payload, data_gen), payload.get("rewinds", 0)
        if rank == 0:  # the steps after the checkpoint are taken again: drop what the killed process logged of them
            run.truncate_metrics(step)
    else:
        name = cfg.name or f"{Path(cfg.data).stem or 'data'}-{cfg.arch}{'-cond' if cfg.cond else ''}"
        run = _run_dir(
            broadcast_object(str(make_run_dir("gan", name, cfg.seed, root=runs)) if rank == 0 else None), cfg
        )
    run_dir = run.path
    extra = {"data_hash": dhash, "num_classes": k, "channels": x.shape[1]}
    if rank == 0:
        run.write_config({**config_to_dict(cfg), "model_config": parts.model_config, "data_hash": dhash,
                          "world_size": world})  # fmt: skip
    with run.interruptible("step", f"gamelab gan train --resume {run_dir}", say=rank == 0) as at:
        at.value = step
        log = run.metrics() if rank == 0 else None
        if log is not None:
            log.log(step=step, event="resume" if resume else "start", fd_floor=probe.get("fd_floor"),
                    classifier_accuracy=probe.get("classifier_accuracy"), data_hash=dhash, images=len(x),
                    world_size=world, lr_g=cfg.lr_g, lr_d=cfg.lr_d)  # fmt: skip
        last_ckpt = ckpt or _save(parts, run, step, data_gen, {**extra, "rewinds": rewinds})
        bar = _Bar(cfg, step, show=rank == 0 and not quiet, budget=budget)
        last_log_time, last_log_step, record = time.time(), step, {}
        fault_done = False
        while step < cfg.steps:
            fault = step == cfg.fault_step and not fault_done
            fault_done = fault_done or fault
            out = train_step(parts, batch_fn, step, fault=fault)
            step += 1
            at.value = step
            finite = torch.isfinite(torch.stack([out["loss_d"], out["loss_g"], out["penalty"].to(out["loss_d"])]))
            if float(all_reduce_sum(torch.tensor(0.0 if bool(finite.all()) else 1.0), device)) > 0:
                rewinds += 1  # rewind to the last good checkpoint, then take a different random path
                if rewinds > cfg.max_rewinds:
                    raise RuntimeError(f"non-finite losses at step {step}; gave up after {cfg.max_rewinds} rewinds")
                payload = load_checkpoint(last_ckpt, kind=KIND, map_location=device)
                bad_step, step = step, _restore(parts, payload, data_gen)
                at.value = step
                torch.manual_seed(cfg.seed + 7919 * rewinds + 1000 * rank + step)
                data_gen.manual_seed(cfg.seed + 7919 * rewinds + 1000 * rank + step + 1)
                if log is not None:
                    log.log(step=step, event="rewind", bad_step=bad_step, rewinds=rewinds, checkpoint=str(last_ckpt))
                print(f"gan: non-finite loss at step {bad_step}; rewound to {last_ckpt}", file=sys.stderr)
                continue
            out_of_time = bool(budget.spent())
            if budget.limited:  # every rank stops at the same step
                out_of_time = bool(all_reduce_max(torch.tensor(float(out_of_time)), device) > 0)
            finished = step >= cfg.steps or out_of_time
            if step % cfg.log_every == 0 or finished:
                now = time.time()
                rate = (step - last_log_step) * cfg.batch * world / max(now - last_log_time, 1e-9)
                last_log_time, last_log_step = now, step
                record = {k2: float(v) for k2, v in out.items()}
                lrs = {"lr_g": parts.opt_g.param_groups[0]["lr"], "lr_d": parts.opt_d.param_groups[0]["lr"]}
                record.update(step=step, aug_p=parts.ada.p, rt=parts.ada.rt, images_per_s=rate, rewinds=rewinds, **lrs,
                              cpu_s=round(budget.cpu_s(), 2))  # fmt: skip
                if log is not None:
                    log.log(**record)
                bar.update(step, d=f"{record['loss_d']:.3f}", g=f"{record['loss_g']:.3f}", p=f"{parts.ada.p:.2f}")
            else:
                bar.update(step)
            if rank == 0 and (step % cfg.sample_every == 0 or finished):
                write_samples(parts, probe, run_dir, step)
                quality = probe_quality(parts, probe)
                alarm = collapse_alarm(quality, k, step, cfg.steps)
                quality = {**quality, "alarm": "mode collapse suspected" if alarm else ""}
                record.update(quality)
                log.log(step=step, event="quality", **quality, fd_floor=probe.get("fd_floor"))
                if alarm:
                    print(f"gan: step {step}: mode collapse suspected ({quality})", file=sys.stderr)
                keys = ["loss_d", "loss_g", "penalty", "real", "fake", "aug_p", "fd", "diversity_ratio", "coverage"]
                plot_metrics(run_dir / "metrics.jsonl", run_dir / "metrics.png", keys=keys)
            if step % cfg.ckpt_every == 0 or finished:
                last_ckpt = _save(parts, run, step, data_gen, {**extra, "rewinds": rewinds})
            if finished:
                break
        bar.close()
        if log is not None:
            log.close()
        return {"run_dir": run_dir, "step": step, "rewinds": rewinds, "final": record, "checkpoint": last_ckpt,
                "parts": parts, "stopped": budget.spent() if step < cfg.steps else "",
                "cpu_s": budget.cpu_s()}  # fmt: skip


def _dry_run(cfg: GanConfig) -> GanConfig:
    return dataclasses.replace(
        cfg, steps=min(cfg.steps, 10), sample_every=5, ckpt_every=5, minutes=0.0, cpu_minutes=0.0
    )


def main(argv: list[str] | None = None) -> int:
    """`gamelab gan train ...`. Returns the exit code (2 with one `error:` line for bad input)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = job_parser(
        "gamelab gan train", "Train a GAN (DCGAN, SNGAN, WGAN-GP, StyleGAN2; conditional; adaptive DiffAugment).",
        GanConfig,
        presets=PRESETS,
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    try:
        job = parse_job(
            parser, argv, GanConfig, presets=PRESETS, default_preset="tiny" if "--dry-run" in argv else None,
            saved_config=_saved_config, fixed_on_resume=FIXED_ON_RESUME, dry_run=_dry_run,
        )  # fmt: skip
        torch.set_num_threads(job.args.threads)
        result = train(job.cfg, runs=job.args.runs, resume=job.resume, quiet=job.args.quiet)
    except (ValueError, CheckpointError) as err:  # ConfigError, DataError, or a model these settings cannot build
        return fail(err)
    except SystemExit as done:  # --help, --print-config, or a malformed command line (already reported)
        return int(done.code or 0)
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun only rank 0 reports
        return 0
    final = result["final"]
    print(f"run: {result['run_dir']}")
    if result["stopped"]:
        print(f"{result['stopped']} reached")
    print(f"step {result['step']}  cpu {result['cpu_s']:.1f} s  loss_d {final.get('loss_d', float('nan')):.4f}  "
          f"loss_g {final.get('loss_g', float('nan')):.4f}  rewinds {result['rewinds']}")  # fmt: skip
    if "fd" in final:
        print(f"in-run Frechet distance {final['fd']:.3f}  coverage {final.get('coverage')}")
    print(f"samples: {result['run_dir']}/samples/latest.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
