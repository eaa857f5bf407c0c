"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) with an adaptive probability (ADA, Karras et al. 2020).

Every image shown to the discriminator, real or generated, goes through the same random policy; each operation is
applied to each image with probability p. `AdaptiveP` raises p while the discriminator overfits (the sign of its
outputs on real images, r_t = E[sign D(x)], sits above a target) and lowers it otherwise.

Dimension letters: B batch, C channels, H/W pixels. Images are in [-1, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["OPS", "diff_augment", "AdaptiveP"]

OPS = ("color", "translation", "cutout")


def _mask(b: int, p: float, device) -> torch.Tensor:
    return (torch.rand(b, 1, 1, 1, device=device) < p).float()  # [B, 1, 1, 1]


def _color(x: torch.Tensor, p: float) -> torch.Tensor:
    b = x.shape[0]
    r = lambda: torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype)  # noqa: E731
    m = _mask(b, p, x.device).to(x.dtype)
    x = x + m * (r() - 0.5)  # brightness
    if x.shape[1] > 1:
        mean = x.mean(dim=1, keepdim=True)
        x = mean + (x - mean) * (1 + m * (r() * 2 - 1))  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return mean + (x - mean) * (1 + m * (r() - 0.5))  # contrast


def _translation(x: torch.Tensor, p: float, ratio: float = 0.125) -> torch.Tensor:
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    m = _mask(b, p, x.device).view(b, 1, 1).long()
    ty = torch.randint(-sh, sh + 1, (b, 1, 1), device=x.device) * m
    tx = torch.randint(-sw, sw + 1, (b, 1, 1), device=x.device) * m
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    gy = (gy[None] + ty).clamp(-1, h) + 1  # [B, H, W] indices into the zero-padded image
    gx = (gx[None] + tx).clamp(-1, w) + 1
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)  # [B, H+2, W+2, C]
    bi = torch.arange(b, device=x.device).view(b, 1, 1)
    return padded[bi, gy, gx].permute(0, 3, 1, 2).contiguous(memory_format=torch.contiguous_format)


def _cutout(x: torch.Tensor, p: float, ratio: float = 0.5) -> torch.Tensor:
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    m = _mask(b, p, x.device).view(b, 1, 1)
    y0 = torch.randint(0, h, (b, 1, 1), device=x.device) - ch // 2  # square centred anywhere in the image
    x0 = torch.randint(0, w, (b, 1, 1), device=x.device) - cw // 2
    gy = torch.arange(h, device=x.device).view(1, h, 1)
    gx = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (gy >= y0) & (gy < y0 + ch) & (gx >= x0) & (gx < x0 + cw)  # [B, H, W]
    keep = 1 - inside.float() * m
    return x * keep[:, None].to(x.dtype)


def diff_augment(x: torch.Tensor, policy: str | tuple[str, ...], p: float) -> torch.Tensor:
    """Apply the augmentation policy to a batch [B, C, H, W], each op to each image with probability p.

    Args:
        policy: comma-separated ops from OPS (e.g. "color,translation,cutout"), or "" for none.
        p: probability in [0, 1]; p = 0 returns x unchanged.
    """
    ops = [o for o in (policy.split(",") if isinstance(policy, str) else policy) if o]
    if p <= 0 or not ops:
        return x
    for op in ops:
        if op == "color":
            x = _color(x, p)
        elif op == "translation":
            x = _translation(x, p)
        elif op == "cutout":
            x = _cutout(x, p)
        else:
            raise ValueError(f"unknown augmentation {op!r}: use some of {', '.join(OPS)}")
    return x


class AdaptiveP:
    """ADA controller for the augmentation probability.

    Args:
        p: start value. target: the wanted r_t = E[sign D(real)] (0.6 in ADA; <= 0 keeps p fixed).
        speed_images: images over which p may move by 1 (ADA uses 500k; small sets want far fewer).
        p_max: upper bound of p.
    """

    def __init__(self, p: float = 0.0, target: float = 0.6, speed_images: int = 20_000, p_max: float = 0.8):
        self.p, self.target, self.speed_images, self.p_max = float(p), float(target), speed_images, p_max
        self.signs, self.count = 0.0, 0
        self.rt = 0.0

    def accumulate(self, real_logits: torch.Tensor) -> None:
        """Add the signs of the discriminator's logits on (augmented) real images [B]."""
        self.signs += float(torch.sign(real_logits.detach().float()).sum())
        self.count += real_logits.numel()

    def adjust(self, signs: float | None = None, count: int | None = None) -> float:
        """Move p from the accumulated signs (or the given totals, e.g. summed across ranks); returns p."""
        signs = self.signs if signs is None else signs
        count = self.count if count is None else count
        if self.target > 0 and count > 0:
            self.rt = signs / count
            step = count / self.speed_images
            self.p = min(self.p_max, max(0.0, self.p + (step if self.rt > self.target else -step)))
        self.signs, self.count = 0.0, 0
        return self.p

    def state_dict(self) -> dict:
        return {"p": self.p, "signs": self.signs, "count": self.count, "rt": self.rt}

    def load_state_dict(self, state: dict) -> None:
        self.p, self.signs, self.count, self.rt = state["p"], state["signs"], state["count"], state.get("rt", 0.0)
