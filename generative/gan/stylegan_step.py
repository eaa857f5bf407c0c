"""The losses of one StyleGAN2 training iteration on the GAN job's live objects (`step.Parts`), for
`arch = "stylegan"`: `stylegan_d_loss` and `stylegan_g_loss`; `step.train_step` takes the updates.

One iteration: a discriminator update with the non-saturating logistic loss on augmented real and generated images
(separate D calls, so the minibatch-stddev groups never mix real and fake), lazy R1 on the real images every
`r1_every` steps (weight gamma/2 times the interval); then a generator update with the non-saturating loss, style
mixing (probability `style_mixing`) and, every `pl_every` steps, the path-length penalty on half a batch (weight
`pl_weight` times the interval, running mean `pl_mean` with decay 0.01, kept in the generator's buffers so that
checkpoints carry it); then the EMA update (the generator's buffers, `w_avg` among them, are copied, not averaged)
and the ADA bookkeeping. The whole step runs in fp32.

As in StyleGAN2, the lazy intervals k shrink the learning rate by k/(k+1) and raise the betas to that power
(`lazy_optimizer_settings`). Dimension letters: B batch, Z latent size, L style layers, W style size.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from .augment import diff_augment

__all__ = ["stylegan_d_loss", "stylegan_g_loss", "lazy_optimizer_settings", "r1_due", "pl_due", "PL_DECAY"]

PL_DECAY = 0.01


def lazy_optimizer_settings(lr: float, betas: tuple[float, float], interval: int) -> tuple[float, tuple]:
    """Learning rate and betas for an optimizer whose regularizer runs every `interval` steps (0: none)."""
    if interval <= 0:
        return lr, betas
    ratio = interval / (interval + 1)
    return lr * ratio, (betas[0] ** ratio, betas[1] ** ratio)


def r1_due(cfg: Any, step: int) -> bool:
    """Whether lazy R1 runs at this generator step."""
    return cfg.r1_gamma > 0 and step % cfg.r1_every == 0


def pl_due(cfg: Any, step: int) -> bool:
    """Whether the lazy path-length penalty runs at this generator step."""
    return cfg.pl_weight > 0 and step % cfg.pl_every == 0


def _path_length_penalty(g, cfg: Any, batch: int, device: torch.device) -> torch.Tensor:
    """pl_weight * interval * (|J_w^T y| - a)^2 with y ~ N(0, 1/(H W)) image-space noise, a the running mean."""
    n = max(1, batch // 2)
    ws = g.styles(torch.randn(n, cfg.z_dim, device=device), mixing=cfg.style_mixing)  # [n, L, W]
    img = g.synthesis(ws)
    noise = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
    (grad,) = torch.autograd.grad((img * noise).sum(), ws, create_graph=True)
    lengths = grad.square().sum(2).mean(1).sqrt()  # [n]
    pl_mean = g.pl_mean.lerp(lengths.detach().mean(), PL_DECAY)
    g.pl_mean.copy_(pl_mean)
    return (lengths - pl_mean).square().mean() * cfg.pl_weight * cfg.pl_every


def stylegan_d_loss(parts: Any, batch_fn, step: int) -> tuple[torch.Tensor, ...]:
    """The D update's terms (see the module docstring; `step.train_step` takes the update): (non-saturating loss,
    the R1 term of this step (0 when not due), logits real [B], fake [B])."""
    cfg, dev, g, d = parts.cfg, parts.device, parts.g_run, parts.d_run
    policy, p = cfg.augment, parts.ada.p
    do_r1 = r1_due(cfg, step)
    real, _ = batch_fn()
    real = real.detach().requires_grad_(do_r1)
    with torch.no_grad():
        fake = g(torch.randn(real.shape[0], cfg.z_dim, device=dev), mixing=cfg.style_mixing)
    r = d(diff_augment(real, policy, p))
    f = d(diff_augment(fake, policy, p))
    loss_d = F.softplus(-r).mean() + F.softplus(f).mean()
    penalty = torch.zeros((), device=dev)
    if do_r1:
        (grad,) = torch.autograd.grad(r.sum(), real, create_graph=True)
        penalty = grad.square().flatten(1).sum(1).mean() * (0.5 * cfg.r1_gamma * cfg.r1_every)
    return loss_d, penalty, r, f


def stylegan_g_loss(parts: Any, step: int) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """The G update's loss (`step.train_step` takes the update): (loss_g + pl to minimise, the non-saturating loss
    loss_g, {"pl": the path-length term (0 when not due), "pl_mean"}). The EMA generator's buffers are copied here."""
    cfg, dev, g, d = parts.cfg, parts.device, parts.g_run, parts.d_run
    z = torch.randn(cfg.batch, cfg.z_dim, device=dev)
    fake_g = g(z, mixing=cfg.style_mixing, update_w_avg=True)
    f_g = d(diff_augment(fake_g, cfg.augment, parts.ada.p))
    loss_g = F.softplus(-f_g).mean()
    pl = _path_length_penalty(parts.g, cfg, cfg.batch, dev) if pl_due(cfg, step) else torch.zeros((), device=dev)
    # buffers (w_avg, pl_mean, fixed noise) are copied, not averaged: they are final here (the G update leaves them
    # alone), and the EMA update after it keeps a buffer equal to its source as it is
    with torch.no_grad():
        for target, source in zip(parts.ema.module.buffers(), parts.g.buffers()):
            target.copy_(source)
    return loss_g + pl, loss_g, {"pl": pl.detach(), "pl_mean": parts.g.pl_mean.detach().clone()}
