"""GAN training loop on the shared core.

One iteration: `n_critic` discriminator updates (loss per architecture, WGAN-GP penalty, lazy R1), one generator
update, an EMA update of the generator, and an ADA adjustment of the augmentation probability. Everything needed to
continue bit-for-bit (G, D, EMA, both optimizers, step, augmentation state, every RNG) goes into each checkpoint;
a non-finite loss rewinds to the last good checkpoint. Under `torchrun` the same loop runs with DDP (gloo on CPU,
nccl on GPU; G and D wrapped separately, `broadcast_buffers=False`); rank 0 writes files.

Run files: config.json, metrics.jsonl, metrics.png, checkpoints/step_NNNNNNN.pt, samples/step_NNNNNNN.png (fixed noise,
EMA generator) and samples/latest.png.

Dimension letters: B batch, Z latent size, K classes, C channels, S image side, N data-set size.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.distributed as dist
from torch import nn

from core.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from core.config import config_from_dict, config_to_dict, load_toml_presets
from core.device import autocast, pick_device
from core.ema import EMA
from core.metrics import MetricsLog, plot_metrics
from core.optim import make_optimizer
from core.progress import progress
from core.run import make_run_dir, write_json_atomic
from core.seeding import rng_state, seed_everything, set_rng_state
from generative.data import dataset_hash, load_dataset
from generative.images import save_grid

from .augment import AdaptiveP, diff_augment
from .losses import d_loss, g_loss, gradient_penalty, r1_penalty
from .metrics import class_coverage, diversity, frechet_distance
from .models import build_models, model_config

__all__ = ["GanConfig", "PRESETS", "Parts", "build_parts", "train_step", "train", "load_generator", "KIND"]

KIND = "gan"
PRESETS: dict[str, dict] = load_toml_presets(Path(__file__).with_name("presets.toml"))
_DEFAULT_LOSS = {"dcgan": "ns", "sngan": "hinge", "wgan-gp": "wgan"}
_DEFAULT_CRITIC = {"dcgan": 1, "sngan": 1, "wgan-gp": 5}


@dataclass(frozen=True)
class GanConfig:
    """A GAN training run. `loss` and `n_critic` left empty/0 take the architecture's usual choice."""

    data: str = "digits"  # digits, photos, textures, builtin:NAME, or a path (folder, IDX, CIFAR, .npz)
    size: int = 16  # image side in pixels (power of two)
    limit: int = 0  # use only the first N images (0: all)
    arch: Literal["dcgan", "sngan", "wgan-gp"] = "dcgan"
    loss: str = ""  # ns | hinge | wgan ("": dcgan ns, sngan hinge, wgan-gp wgan)
    cond: bool = False  # class-conditional (needs labels): label embedding in G, projection D
    z_dim: int = 64
    g_width: int = 32
    d_width: int = 32
    batch: int = 64  # per process
    steps: int = 2000  # generator updates
    minutes: float = 0.0  # wall-clock budget (0: none); the run stops and saves when it is spent
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    n_critic: int = 0  # D updates per G update (0: 5 for wgan-gp, else 1)
    gp_weight: float = 10.0  # WGAN-GP
    r1_gamma: float = 0.0  # R1 weight (0: off)
    r1_every: int = 16  # lazy R1 interval
    ema_decay: float = 0.999
    augment: str = ""  # DiffAugment ops: color,translation,cutout ("": none)
    aug_p: float = 0.0  # start (or fixed) augmentation probability
    ada_target: float = 0.6  # ADA target for E[sign D(real)] (<= 0: p stays fixed)
    ada_interval: int = 4  # steps between p adjustments
    ada_speed: int = 20000  # images over which p can move by 1
    sample_every: int = 250
    ckpt_every: int = 500
    keep_ckpts: int = 3
    log_every: int = 25
    eval_samples: int = 500  # samples for the in-run Frechet distance and coverage (0: off)
    seed: int = 0
    device: str = "auto"
    precision: Literal["auto", "fp32"] = "auto"  # auto: bf16 autocast on CUDA
    channels_last: bool = True  # on CUDA
    compile: bool = False  # torch.compile G and D (CUDA)
    threads: int = 0  # CPU threads per process (0: leave as is)
    max_rewinds: int = 5  # non-finite guard: give up after this many rewinds
    fault_step: int = -1  # inject a non-finite loss at this step once (exercises the guard)
    name: str = ""  # run name (default: data-arch)
    root: str = "runs"


@dataclass
class Parts:
    """The live objects of a run (plain container; the loop is the functions below)."""

    cfg: GanConfig
    device: torch.device
    g: nn.Module  # raw generator
    d: nn.Module  # raw discriminator
    g_run: nn.Module  # what the loop calls: DDP / compiled wrappers or the raw modules
    d_run: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    ema: EMA
    ada: AdaptiveP
    loss: str
    n_critic: int
    model_config: dict
    rank: int = 0
    world: int = 1


def _dist() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _setup_distributed(device_name: str) -> tuple[torch.device, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        use_cuda = torch.cuda.is_available() and device_name in ("auto", "cuda")
        dist.init_process_group("nccl" if use_cuda else "gloo")
        if use_cuda:
            local = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local)
            return torch.device("cuda", local), *_dist()
        return torch.device("cpu"), *_dist()
    rank, world = _dist()
    if world > 1:
        return (torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl"
                else torch.device("cpu")), rank, world  # fmt: skip
    return pick_device(device_name), 0, 1


def build_parts(cfg: GanConfig, channels: int, num_classes: int, device: torch.device) -> Parts:
    """Models, optimizers, EMA and the augmentation controller for a config (DDP-wrapped when distributed)."""
    rank, world = _dist()
    mc = model_config(cfg.arch, cfg.size, channels, cfg.z_dim, cfg.g_width, cfg.d_width, num_classes if cfg.cond else 0)
    g, d = build_models(mc)
    g, d = g.to(device), d.to(device)
    if device.type == "cuda" and cfg.channels_last:
        g, d = g.to(memory_format=torch.channels_last), d.to(memory_format=torch.channels_last)
    fused = None if device.type == "cuda" and cfg.precision != "fp32" else False
    betas = (cfg.beta1, cfg.beta2)
    opt_g = make_optimizer(g, "adam", lr=cfg.lr_g, betas=betas, fused=fused)
    opt_d = make_optimizer(d, "adam", lr=cfg.lr_d, betas=betas, fused=fused)
    g_run, d_run = g, d
    if world > 1:
        ids = [device.index] if device.type == "cuda" else None
        with warnings.catch_warnings():  # newer torch renames the flag; its replacement still syncs at init
            warnings.simplefilter("ignore", FutureWarning)
            g_run = nn.parallel.DistributedDataParallel(g, device_ids=ids, broadcast_buffers=False)
            d_run = nn.parallel.DistributedDataParallel(d, device_ids=ids, broadcast_buffers=False)
    if cfg.compile:
        g_run, d_run = torch.compile(g_run), torch.compile(d_run)
    return Parts(
        cfg=cfg, device=device, g=g, d=d, g_run=g_run, d_run=d_run, opt_g=opt_g, opt_d=opt_d,
        ema=EMA(g, decay=cfg.ema_decay), ada=AdaptiveP(cfg.aug_p, cfg.ada_target, cfg.ada_speed),
        loss=cfg.loss or _DEFAULT_LOSS[cfg.arch], n_critic=cfg.n_critic or _DEFAULT_CRITIC[cfg.arch],
        model_config=mc, rank=rank, world=world,
    )  # fmt: skip


def train_step(parts: Parts, batch_fn, step: int, fault: bool = False) -> dict[str, torch.Tensor]:
    """One iteration: n_critic D updates then one G update, the EMA update and the ADA bookkeeping.

    Args:
        batch_fn: () -> (real images [B, C, S, S] on the device, labels [B] or None).
        step: the generator step being taken (for lazy R1).
        fault: multiply the D loss by NaN (tests the guard).

    Returns:
        Detached scalars (no host sync): "loss_d" (adversarial part), "loss_g", "penalty" (gradient penalty or lazy
        R1 of the last D update, 0 without), "real" and "fake" (mean logits).
    """
    cfg, dev = parts.cfg, parts.device
    amp = autocast(dev, enabled=cfg.precision != "fp32")
    cond = parts.model_config["num_classes"] > 0
    policy, p = cfg.augment, parts.ada.p
    mem = torch.channels_last if dev.type == "cuda" and cfg.channels_last else torch.contiguous_format
    for _ in range(parts.n_critic):
        real, y = batch_fn()
        y = y if cond else None
        real = real.contiguous(memory_format=mem)
        z = torch.randn(real.shape[0], cfg.z_dim, device=dev)
        with torch.no_grad(), amp:
            fake = parts.g_run(z, y)
        with amp:
            real_aug, fake_aug = diff_augment(real, policy, p), diff_augment(fake.float(), policy, p)
            if parts.model_config["arch"] == "dcgan":  # batch norm: real and fake in batches of their own
                r, f = parts.d_run(real_aug, y), parts.d_run(fake_aug, y)
            else:
                out = parts.d_run(torch.cat([real_aug, fake_aug]), None if y is None else torch.cat([y, y]))
                r, f = out.split(real.shape[0])
            loss_d = d_loss(parts.loss, r, f)
            penalty = torch.zeros((), device=dev)
            if parts.loss == "wgan":
                penalty = penalty + cfg.gp_weight * gradient_penalty(parts.d, real_aug, fake_aug, y)
            if cfg.r1_gamma > 0 and step % cfg.r1_every == 0:
                penalty = penalty + 0.5 * cfg.r1_gamma * cfg.r1_every * r1_penalty(parts.d, real_aug, y)
        if fault:
            loss_d = loss_d * float("nan")
        parts.opt_d.zero_grad(set_to_none=True)
        (loss_d + penalty).backward()
        parts.opt_d.step()
        parts.ada.accumulate(r)
    parts.d.requires_grad_(False)
    yf = torch.randint(parts.model_config["num_classes"], (cfg.batch,), device=dev) if cond else None
    z = torch.randn(cfg.batch, cfg.z_dim, device=dev)
    with amp:
        fake = parts.g_run(z, yf)
        f_g = parts.d(diff_augment(fake.float(), policy, p), yf)  # raw D: no gradient sync needed for D here
        loss_g = g_loss(parts.loss, f_g)
    parts.opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    parts.opt_g.step()
    parts.d.requires_grad_(True)
    parts.ema.update(parts.g)
    if cfg.augment and cfg.ada_target > 0 and step % cfg.ada_interval == 0:
        totals = torch.tensor([parts.ada.signs, float(parts.ada.count)], dtype=torch.float64)
        if parts.world > 1:
            totals = totals.to(dev)
            dist.all_reduce(totals)
        parts.ada.adjust(float(totals[0]), int(totals[1]))
    return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "penalty": penalty.detach(),
            "real": r.detach().float().mean(), "fake": f.detach().float().mean()}  # fmt: skip


# ----------------------------------------------------------------------------------------------------------------------
# checkpoints


def _payload(parts: Parts, step: int, data_gen: torch.Generator, extra: dict) -> dict:
    state = (rng_state(), data_gen.get_state())
    states = [state]
    if parts.world > 1:
        states = [None] * parts.world
        dist.all_gather_object(states, state)
    return {
        "config": config_to_dict(parts.cfg), "model_config": parts.model_config, "step": step,
        "G": parts.g.state_dict(), "D": parts.d.state_dict(), "ema": parts.ema.state_dict(),
        "opt_g": parts.opt_g.state_dict(), "opt_d": parts.opt_d.state_dict(), "ada": parts.ada.state_dict(),
        "rng": [s[0] for s in states], "data_rng": [s[1] for s in states], **extra,
    }  # fmt: skip


def _restore(parts: Parts, payload: dict, data_gen: torch.Generator) -> int:
    parts.g.load_state_dict(payload["G"])
    parts.d.load_state_dict(payload["D"])
    parts.ema.load_state_dict(payload["ema"])
    parts.opt_g.load_state_dict(payload["opt_g"])
    parts.opt_d.load_state_dict(payload["opt_d"])
    parts.ada.load_state_dict(payload["ada"])
    if len(payload["rng"]) == parts.world:
        set_rng_state(payload["rng"][parts.rank])
        data_gen.set_state(payload["data_rng"][parts.rank])
    else:  # another world size: fresh per-rank streams
        torch.manual_seed(parts.cfg.seed + 1000 * parts.rank + payload["step"])
        data_gen.manual_seed(parts.cfg.seed + 1000 * parts.rank + payload["step"] + 1)
    return int(payload["step"])


def _save(parts: Parts, run_dir: Path, step: int, data_gen: torch.Generator, extra: dict) -> Path | None:
    payload = _payload(parts, step, data_gen, extra)  # every rank joins the gather
    if parts.rank != 0:
        return None
    path = save_checkpoint(run_dir / "checkpoints" / f"step_{step:07d}.pt", payload, kind=KIND)
    old = sorted((run_dir / "checkpoints").glob("step_*.pt"))[: -max(1, parts.cfg.keep_ckpts)]
    for p in old:
        p.unlink(missing_ok=True)
    return path


def load_generator(
    path: str | os.PathLike, ema: bool = True, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict]:
    """Load a generator from a checkpoint file or a run directory (its latest checkpoint).

    Returns:
        (generator in eval mode, checkpoint payload without the large states).
    """
    path = Path(path)
    if path.is_dir():
        found = latest_checkpoint(path / "checkpoints", "step_*.pt") or latest_checkpoint(path, "step_*.pt")
        if found is None:
            raise FileNotFoundError(f"{path}: no GAN checkpoint (checkpoints/step_*.pt) in this run directory")
        path = found
    payload = load_checkpoint(path, kind=KIND, map_location="cpu")
    g, _ = build_models(payload["model_config"])
    g.load_state_dict(payload["ema"]["module"] if ema else payload["G"])
    info = {k: v for k, v in payload.items() if k not in ("G", "D", "ema", "opt_g", "opt_d", "rng", "data_rng")}
    info["path"] = str(path)
    return g.to(device).eval(), info


# ----------------------------------------------------------------------------------------------------------------------
# the run


@torch.no_grad()
def _generate(g: nn.Module, z: torch.Tensor, y: torch.Tensor | None, batch: int = 500) -> torch.Tensor:
    out = [g(z[i : i + batch], None if y is None else y[i : i + batch]).float() for i in range(0, len(z), batch)]
    return torch.cat(out)


def _quality(parts: Parts, probe: dict) -> dict:
    """In-run figures from the EMA generator: Frechet distance (classifier features), diversity, coverage."""
    g = parts.ema.module
    fixed = _generate(g, probe["fixed_z"], probe["fixed_y"])
    out = {"diversity_ratio": diversity(fixed.cpu()) / probe["real_diversity"]}
    if probe.get("classifier") is not None:
        from .features import embed

        gen = torch.Generator(device=parts.device).manual_seed(1)
        n = probe["eval_n"]
        z = torch.randn(n, parts.cfg.z_dim, generator=gen, device=parts.device)
        y = probe["eval_y"]
        samples = _generate(g, z, y).cpu()
        clf = probe["classifier"]
        out["fd"] = frechet_distance(embed(clf, samples), probe["real_features"])
        pred = embed(clf, samples, logits=True).argmax(1)
        out["coverage"] = class_coverage(pred, probe["labels"], probe["num_classes"])["covered"]
    return out


def _make_probe(parts: Parts, x: torch.Tensor, y: torch.Tensor | None, k: int, dhash: str) -> dict:
    cfg, dev = parts.cfg, parts.device
    gen = torch.Generator().manual_seed(cfg.seed + 12345)
    cond = parts.model_config["num_classes"] > 0
    n_fixed = 8 * k if cond and k <= 16 else 64
    probe = {
        "fixed_z": torch.randn(n_fixed, cfg.z_dim, generator=gen).to(dev),
        "fixed_y": (torch.arange(n_fixed) % k).to(dev) if cond else None,
        "nrow": k if cond and k <= 16 else 8,
    }
    idx = torch.randperm(len(x), generator=gen)
    probe["real_diversity"] = diversity(x[idx[:64]].cpu())
    if cfg.eval_samples > 0 and y is not None and k > 1 and parts.rank == 0:  # only rank 0 writes samples
        from .features import embed, get_classifier

        clf, info = get_classifier(x.cpu(), y.cpu(), k, dhash)
        n = min(cfg.eval_samples, len(x) // 2)
        real_feats = embed(clf, x[idx[:n]].cpu())
        floor = frechet_distance(embed(clf, x[idx[n : 2 * n]].cpu()), real_feats)
        eval_y = y[torch.randint(len(y), (n,), generator=gen)].to(dev) if cond else None
        probe.update(classifier=clf, real_features=real_feats, labels=y.cpu(), num_classes=k, eval_n=n,
                     eval_y=eval_y, fd_floor=floor, classifier_accuracy=info["accuracy"])  # fmt: skip
    return probe


def _write_samples(parts: Parts, probe: dict, run_dir: Path, step: int) -> Path:
    images = _generate(parts.ema.module, probe["fixed_z"], probe["fixed_y"])
    path = save_grid((images.cpu() + 1) / 2, run_dir / "samples" / f"step_{step:07d}.png", nrow=probe["nrow"])
    shutil.copyfile(path, run_dir / "samples" / "latest.png")
    return path


def train(cfg: GanConfig, resume: str | os.PathLike | None = None) -> dict:
    """Run (or continue) a training run.

    Args:
        cfg: the configuration (on resume: the saved one with the caller's overrides applied).
        resume: a run directory to continue from its latest checkpoint.

    Returns:
        {"run_dir", "step", "rewinds", "final": last logged record, "checkpoint": path of the last checkpoint,
        "parts": the live models and optimizers}.
    """
    device, rank, world = _setup_distributed(cfg.device)
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed + 1000 * rank)
    data_gen = torch.Generator().manual_seed(cfg.seed + 1000 * rank + 1)
    x, y, k = load_dataset(cfg.data, cfg.size, limit=cfg.limit or None)
    if cfg.cond and (y is None or k < 2):
        raise ValueError(f"--cond needs a labelled data set; {cfg.data!r} has no labels")
    dhash = dataset_hash(x, y)
    parts = build_parts(cfg, x.shape[1], k, device)
    x_dev, y_dev = x.to(device), None if y is None else y.to(device)

    def batch_fn():
        idx = torch.randint(len(x), (cfg.batch,), generator=data_gen).to(device)
        return x_dev[idx], None if y_dev is None else y_dev[idx]

    if resume is not None:
        run_dir = Path(resume)
    elif rank == 0:
        name = cfg.name or f"{Path(cfg.data).stem or 'data'}-{cfg.arch}{'-cond' if cfg.cond else ''}"
        run_dir = make_run_dir("gan", name, cfg.seed, root=cfg.root)
    else:
        run_dir = None
    if world > 1 and resume is None:
        holder = [str(run_dir) if rank == 0 else None]
        dist.broadcast_object_list(holder, src=0)
        run_dir = Path(holder[0])
    step, rewinds = 0, 0
    ckpt = latest_checkpoint(run_dir / "checkpoints", "step_*.pt") if resume is not None else None
    if ckpt is not None:
        payload = load_checkpoint(ckpt, kind=KIND, map_location=device)
        step, rewinds = _restore(parts, payload, data_gen), payload.get("rewinds", 0)
    elif resume is not None:
        raise FileNotFoundError(f"{run_dir}: nothing to resume (no checkpoints/step_*.pt)")
    probe = _make_probe(parts, x, y, k, dhash)
    extra = {"data_hash": dhash, "num_classes": k, "channels": x.shape[1]}
    if rank == 0:
        write_json_atomic(run_dir / "config.json", {**config_to_dict(cfg), "model_config": parts.model_config,
                                                    "data_hash": dhash, "world_size": world})  # fmt: skip
    log = MetricsLog(run_dir / "metrics.jsonl") if rank == 0 else None
    if log is not None and "fd_floor" in probe:
        log.log(step=step, event="start", fd_floor=probe["fd_floor"], classifier_accuracy=probe["classifier_accuracy"],
                data_hash=dhash, images=len(x), world_size=world)  # fmt: skip
    last_ckpt = _save(parts, run_dir, step, data_gen, {**extra, "rewinds": rewinds}) if ckpt is None else ckpt
    bar = progress(total=cfg.steps, desc="gan", unit="step", disable=None if rank == 0 else True)
    bar.update(step)
    start, last_log_time, last_log_step, record = time.time(), time.time(), step, {}
    fault_done = False
    while step < cfg.steps:
        fault = step == cfg.fault_step and not fault_done
        fault_done = fault_done or fault
        out = train_step(parts, batch_fn, step, fault=fault)
        step += 1
        finite = torch.isfinite(torch.stack([out["loss_d"], out["loss_g"], out["penalty"].to(out["loss_d"])]))
        bad = torch.tensor(0.0 if bool(finite.all()) else 1.0)
        if world > 1:
            bad = bad.to(device)
            dist.all_reduce(bad)
        if float(bad) > 0:  # rewind to the last good checkpoint, then take a different random path
            rewinds += 1
            if rewinds > cfg.max_rewinds:
                raise RuntimeError(f"non-finite losses at step {step}; gave up after {cfg.max_rewinds} rewinds")
            payload = load_checkpoint(last_ckpt, kind=KIND, map_location=device)
            bad_step, step = step, _restore(parts, payload, data_gen)
            torch.manual_seed(cfg.seed + 7919 * rewinds + 1000 * rank + step)
            data_gen.manual_seed(cfg.seed + 7919 * rewinds + 1000 * rank + step + 1)
            if log is not None:
                log.log(step=step, event="rewind", bad_step=bad_step, rewinds=rewinds, checkpoint=str(last_ckpt))
            print(f"gan: non-finite loss at step {bad_step}; rewound to {last_ckpt}", file=sys.stderr)
            bar.reset(total=cfg.steps)
            bar.update(step)
            continue
        bar.update(1)
        out_of_time = cfg.minutes > 0 and time.time() - start > cfg.minutes * 60
        if world > 1 and cfg.minutes > 0:
            flag = torch.tensor(float(out_of_time), device=device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            out_of_time = bool(flag > 0)
        finished = step >= cfg.steps or out_of_time
        if step % cfg.log_every == 0 or finished:
            now = time.time()
            rate = (step - last_log_step) * cfg.batch * world / max(now - last_log_time, 1e-9)
            last_log_time, last_log_step = now, step
            record = {k2: float(v) for k2, v in out.items()}
            record.update(step=step, aug_p=parts.ada.p, rt=parts.ada.rt, images_per_s=rate, rewinds=rewinds)
            if log is not None:
                log.log(**record)
            bar.set_postfix(d=f"{record['loss_d']:.3f}", g=f"{record['loss_g']:.3f}", p=f"{parts.ada.p:.2f}")
        if rank == 0 and (step % cfg.sample_every == 0 or finished):
            _write_samples(parts, probe, run_dir, step)
            quality = _quality(parts, probe)
            collapsed = quality["diversity_ratio"] < 0.35 or quality.get("coverage", k) < max(1, math.ceil(0.7 * k))
            alarm = collapsed and step >= min(1000, max(200, cfg.steps // 2))  # a fresh generator looks collapsed
            quality = {**quality, "alarm": "mode collapse suspected" if alarm else ""}
            record.update(quality)
            log.log(step=step, event="quality", **quality, fd_floor=probe.get("fd_floor"))
            if alarm:
                print(f"gan: step {step}: mode collapse suspected ({quality})", file=sys.stderr)
            keys = ["loss_d", "loss_g", "penalty", "real", "fake", "aug_p", "fd", "diversity_ratio", "coverage"]
            plot_metrics(run_dir / "metrics.jsonl", run_dir / "metrics.png", keys=keys)
        if step % cfg.ckpt_every == 0 or finished:
            saved = _save(parts, run_dir, step, data_gen, {**extra, "rewinds": rewinds})
            last_ckpt = saved or run_dir / "checkpoints" / f"step_{step:07d}.pt"
        if finished:
            break
    bar.close()
    if log is not None:
        log.close()
    return {"run_dir": run_dir, "step": step, "rewinds": rewinds, "final": record, "checkpoint": last_ckpt,
            "parts": parts}  # fmt: skip


def config_from_checkpoint_dir(run_dir: str | os.PathLike, overrides: dict | None = None) -> GanConfig:
    """The saved config of a run directory, with overrides applied (for --resume)."""
    from core.run import read_json

    saved = read_json(Path(run_dir) / "config.json")
    fields = {f.name for f in dataclasses.fields(GanConfig)}
    values = {k: v for k, v in saved.items() if k in fields}
    values.update(overrides or {})
    return config_from_dict(GanConfig, values)
