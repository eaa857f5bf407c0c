"""GAN losses on discriminator logits, and the gradient penalties.

Dimension letters: B batch. Logits are [B] tensors; every loss returns a scalar.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["LOSSES", "d_loss", "g_loss", "gradient_penalty", "r1_penalty"]

LOSSES = ("ns", "hinge", "wgan")


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Discriminator loss.

    Args:
        kind: "ns" (the original log loss, Goodfellow et al. 2014), "hinge" (Lim & Ye 2017; SNGAN) or "wgan"
            (critic loss of Arjovsky et al. 2017, plus a small drift term 1e-3 E[D(x)^2] that keeps it centred).
        real, fake: logits [B] on real and generated images.
    """
    real, fake = real.float(), fake.float()
    if kind == "ns":
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    if kind == "wgan":
        return fake.mean() - real.mean() + 1e-3 * (real**2).mean()
    raise ValueError(f"unknown GAN loss {kind!r}: use one of {', '.join(LOSSES)}")


def g_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """Generator loss on logits [B] of generated images: non-saturating -log D for "ns", -E[D] otherwise."""
    fake = fake.float()
    if kind == "ns":
        return F.softplus(-fake).mean()
    if kind in ("hinge", "wgan"):
        return -fake.mean()
    raise ValueError(f"unknown GAN loss {kind!r}: use one of {', '.join(LOSSES)}")


def _grad_norm_sq(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    (grad,) = torch.autograd.grad(out.float().sum(), x, create_graph=True)
    return grad.float().pow(2).flatten(1).sum(1)  # [B]


def gradient_penalty(d, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """WGAN-GP penalty E[(||grad D(x_hat)|| - 1)^2] on random interpolates x_hat of real and fake (Gulrajani 2017).

    Args:
        d: the critic, called as d(x, y). real, fake: images [B, C, H, W]. y: labels [B] or None.
    """
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    norm = (_grad_norm_sq(d(x_hat, y), x_hat) + 1e-12).sqrt()
    return ((norm - 1) ** 2).mean()


def r1_penalty(d, real: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """R1 penalty E[||grad_x D(x)||^2] on real images (Mescheder et al. 2018); multiply by gamma/2 and, when lazy,
    by the interval it is applied at (StyleGAN2)."""
    x = real.detach().requires_grad_(True)
    return _grad_norm_sq(d(x, y), x).mean()
