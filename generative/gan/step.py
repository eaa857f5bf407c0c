"""One GAN training iteration and the live objects it works on (models, optimizers, EMA, augmentation controller).

One iteration: `n_critic` discriminator updates (loss per architecture, WGAN-GP penalty, lazy R1), one generator
update, an EMA update of the generator, and an ADA adjustment of the augmentation probability. Under `torchrun` G and
D are wrapped in DDP separately (`broadcast_buffers=False`: batch-norm statistics stay per rank).

Dimension letters: B batch, Z latent size, K classes, C channels, S image side.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from core.device import autocast
from core.distributed import all_reduce_sum, rank_and_world
from core.ema import EMA
from core.optim import make_optimizer

from .augment import AdaptiveP, diff_augment
from .losses import d_loss, g_loss, gradient_penalty, r1_penalty
from .models import build_models, model_config
from .stylegan_step import lazy_optimizer_settings, stylegan_d_loss, stylegan_g_loss

__all__ = ["Parts", "build_parts", "train_step", "DEFAULT_LOSS", "DEFAULT_CRITIC"]

DEFAULT_LOSS = {"dcgan": "ns", "sngan": "hinge", "wgan-gp": "wgan", "stylegan": "ns"}
DEFAULT_CRITIC = {"dcgan": 1, "sngan": 1, "wgan-gp": 5, "stylegan": 1}
BatchFn = Callable[[], tuple[torch.Tensor, "torch.Tensor | None"]]


@dataclass
class Parts:
    """The live objects of a run (plain container; the loop is the functions below)."""

    cfg: Any  # trainer.GanConfig
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


def build_parts(cfg: Any, channels: int, num_classes: int, device: torch.device) -> Parts:
    """Models, optimizers, EMA and the augmentation controller for a GanConfig (DDP-wrapped when distributed)."""
    rank, world = rank_and_world()
    style = dict(w_dim=cfg.w_dim, map_depth=cfg.map_depth, map_lr_mul=cfg.map_lr_mul)
    mc = model_config(cfg.arch, cfg.size, channels, cfg.z_dim, cfg.g_width, cfg.d_width, num_classes if cfg.cond else 0,
                      **style)  # fmt: skip
    g, d = build_models(mc)
    g, d = g.to(device), d.to(device)
    if device.type == "cuda" and cfg.channels_last:
        g, d = g.to(memory_format=torch.channels_last), d.to(memory_format=torch.channels_last)
    fused = None if device.type == "cuda" and cfg.precision != "fp32" else False
    (lr_g, betas_g), (lr_d, betas_d) = ((cfg.lr_g, (cfg.beta1, cfg.beta2)), (cfg.lr_d, (cfg.beta1, cfg.beta2)))
    if cfg.arch == "stylegan":  # StyleGAN2's lazy regularization adjusts lr and betas by k/(k+1)
        lr_g, betas_g = lazy_optimizer_settings(lr_g, betas_g, cfg.pl_every if cfg.pl_weight > 0 else 0)
        lr_d, betas_d = lazy_optimizer_settings(lr_d, betas_d, cfg.r1_every if cfg.r1_gamma > 0 else 0)
    opt_g = make_optimizer(g, "adam", lr=lr_g, betas=betas_g, fused=fused)
    opt_d = make_optimizer(d, "adam", lr=lr_d, betas=betas_d, fused=fused)
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
        loss=cfg.loss or DEFAULT_LOSS[cfg.arch], n_critic=cfg.n_critic or DEFAULT_CRITIC[cfg.arch],
        model_config=mc, rank=rank, world=world,
    )  # fmt: skip


def train_step(parts: Parts, batch_fn: BatchFn, step: int, fault: bool = False) -> dict[str, torch.Tensor]:
    """One iteration: n_critic D updates then one G update, the EMA update and the ADA bookkeeping. The losses are
    the architecture's (`stylegan_d_loss` and `stylegan_g_loss` for stylegan, which takes one D update); the updates
    and the bookkeeping are these, for every architecture.

    Args:
        batch_fn: () -> (real images [B, C, S, S] on the device, labels [B] or None).
        step: the generator step being taken (for lazy R1 and the ADA interval).
        fault: multiply the D loss by NaN (tests the guard).

    Returns:
        Detached scalars (no host sync): "loss_d" (adversarial part), "loss_g", "penalty" (gradient penalty or lazy
        R1 of the last D update, 0 without), the architecture's own (stylegan: "pl", "pl_mean"), "real" and "fake"
        (mean logits).
    """
    stylegan = parts.model_config["arch"] == "stylegan"
    d_side, g_side = (stylegan_d_loss, stylegan_g_loss) if stylegan else (_d_loss, _g_loss)
    for _ in range(1 if stylegan else parts.n_critic):
        loss_d, penalty, r, f = d_side(parts, batch_fn, step)
        if fault:
            loss_d = loss_d * float("nan")
        parts.opt_d.zero_grad(set_to_none=True)
        (loss_d + penalty).backward()
        parts.opt_d.step()
        parts.ada.accumulate(r)
    parts.d.requires_grad_(False)
    objective, loss_g, extra = g_side(parts, step)
    parts.opt_g.zero_grad(set_to_none=True)
    objective.backward()
    parts.opt_g.step()
    parts.d.requires_grad_(True)
    parts.ema.update(parts.g)
    cfg, dev = parts.cfg, parts.device
    if cfg.augment and cfg.ada_target > 0 and step % cfg.ada_interval == 0:
        totals = all_reduce_sum(torch.tensor([parts.ada.signs, float(parts.ada.count)], dtype=torch.float64), dev)
        parts.ada.adjust(float(totals[0]), int(totals[1]))
    return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "penalty": penalty.detach(), **extra,
            "real": r.detach().float().mean(), "fake": f.detach().float().mean()}  # fmt: skip


def _d_loss(parts: Parts, batch_fn: BatchFn, step: int) -> tuple[torch.Tensor, ...]:
    """One D update's terms for dcgan, sngan and wgan-gp: (adversarial loss, penalty, logits real [B], fake [B])."""
    cfg, dev = parts.cfg, parts.device
    amp = autocast(dev, enabled=cfg.precision != "fp32")
    cond = parts.model_config["num_classes"] > 0
    policy, p = cfg.augment, parts.ada.p
    mem = torch.channels_last if dev.type == "cuda" and cfg.channels_last else torch.contiguous_format
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
    return loss_d, penalty, r, f


def _g_loss(parts: Parts, step: int) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """The G update's loss for dcgan, sngan and wgan-gp: (what to minimise, the adversarial loss, no extras)."""
    cfg, dev = parts.cfg, parts.device
    amp = autocast(dev, enabled=cfg.precision != "fp32")
    cond = parts.model_config["num_classes"] > 0
    yf = torch.randint(parts.model_config["num_classes"], (cfg.batch,), device=dev) if cond else None
    z = torch.randn(cfg.batch, cfg.z_dim, device=dev)
    with amp:
        fake = parts.g_run(z, yf)
        f_g = parts.d(diff_augment(fake.float(), cfg.augment, parts.ada.p), yf)  # raw D: no gradient sync here
        loss_g = g_loss(parts.loss, f_g)
    return loss_g, loss_g, {}
