"""Gatys et al. (2016) image optimization: style transfer and texture synthesis by descending the loss network's
losses with respect to the pixels, coarse to fine.

The image is optimized first at a small size, then upsampled and refined at larger sizes (scales halve the side
each step down), which settles the large structures cheaply and leaves the fine strokes to the full size. L-BFGS
(the PyTorch tutorial's choice) or Adam. Texture synthesis is the same with no content image, starting from noise.

Dimension letters: B images (here 1), C channels, H/W pixels.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from core.progress import progress

from ..images import save_image
from .losses import StyleTargets, tv_loss

__all__ = [
    "default_style_weight",
    "GatysConfig",
    "optimize_image",
    "scale_sizes",
    "preserve_color",
    "rgb_to_yiq",
    "yiq_to_rgb",
]


def default_style_weight(size: int) -> float:
    """The style transfer command's default style weight (content weight 1) for an output of `size` px.

    The balance shifts with the size: a weight that leaves the content recognizable at 256 px paints it over at 128 px
    (measured with chelsea and brick, 50 L-BFGS steps per scale, 3 scales: weight 2 keeps the cat at 256 px and
    erases it at 128 px, where 0.5 keeps it). The default follows the area: 2 at 256 px, 0.5 at 128 px, 8 at 512 px.
    """
    return 2.0 * (size / 256) ** 2


@dataclass(frozen=True)
class GatysConfig:
    """Settings of one optimization.

    steps: optimizer steps at the full size; each coarser scale gets the same number (they are cheap).
    scales: number of sizes in the coarse-to-fine pyramid (1: full size only).
    optimizer: "lbfgs" or "adam".
    lr: step size (L-BFGS: 1.0 is standard; Adam on pixels in [0, 1]: about 0.02).
    style_weight, content_weight, tv_weight: weights of the three losses.
    """

    steps: int = 200
    scales: int = 3
    optimizer: str = "lbfgs"
    lr: float | None = None
    style_weight: float = 1.0
    content_weight: float = 1.0
    tv_weight: float = 1e-3
    seed: int = 0


def scale_sizes(height: int, width: int, scales: int, min_side: int = 32) -> list[tuple[int, int]]:
    """The sizes of a coarse-to-fine run, smallest first, ending at (height, width); no side below min_side."""
    sizes = []
    for k in range(max(1, scales) - 1, -1, -1):
        f = 2**k
        h, w = round(height / f), round(width / f)
        if k > 0 and min(h, w) < min_side:
            continue
        sizes.append((max(1, h), max(1, w)))
    return sizes


def rgb_to_yiq(x: torch.Tensor) -> torch.Tensor:
    """RGB [B, 3, H, W] -> YIQ (luminance Y, chroma I and Q)."""
    m = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], device=x.device)
    return torch.einsum("ij,bjhw->bihw", m, x)


def yiq_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """YIQ [B, 3, H, W] -> RGB."""
    m = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], device=x.device)
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(m), x)


def preserve_color(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Keep the content's colours: the stylized luminance with the content's chroma (Gatys et al. 2016, "Preserving
    color in neural artistic style transfer"). Both [B, 3, H, W] of the same size; returns [B, 3, H, W] in [0, 1]."""
    y = rgb_to_yiq(stylized)[:, :1]
    iq = rgb_to_yiq(content)[:, 1:]
    return yiq_to_rgb(torch.cat([y, iq], dim=1)).clamp(0, 1)


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == size:
        return x
    shrink = size[0] < x.shape[-2]
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=shrink).clamp(0, 1)


def optimize_image(
    targets: StyleTargets,
    cfg: GatysConfig,
    content: torch.Tensor | None = None,
    size: tuple[int, int] | None = None,
    frames: str | os.PathLike | None = None,
    frame_every: int = 10,
    history: list[dict] | None = None,
    callback: Callable[[int, torch.Tensor], None] | None = None,
) -> torch.Tensor:
    """Optimize an image so its features match the style (and content) targets.

    Args:
        targets: the style image's targets on a loss network.
        cfg: optimization settings.
        content: content image [1, 3, H, W] in [0, 1] (style transfer), or None (texture synthesis from noise).
        size: output (H, W) for texture synthesis (default: the content's size).
        frames: folder to write intermediate images to (frame_00000.png, ...), or None.
        history: if a list, one dict per step is appended: {"scale", "step", "style", "content", "tv", "loss"}.
        callback: called with (global step, image) after every step.

    Returns:
        The result [1, 3, H, W] in [0, 1].
    """
    if content is None and size is None:
        raise ValueError("texture synthesis needs an output size")
    device = targets.grams[next(iter(targets.grams))].device
    full = tuple(content.shape[-2:]) if content is not None else tuple(size)
    sizes = scale_sizes(full[0], full[1], cfg.scales)
    generator = torch.Generator().manual_seed(cfg.seed)
    image = None
    frame_dir = Path(frames) if frames else None
    global_step, frame_count = 0, 0
    bar = progress(total=cfg.steps * len(sizes), desc="stylize" if content is not None else "texture", unit="step")
    for scale_index, hw in enumerate(sizes):
        if image is None:
            if content is not None:
                image = _resize(content, hw).clone()
            else:  # texture: mid-grey plus noise
                image = (0.5 + 0.1 * torch.randn((1, 3, *hw), generator=generator)).clamp(0, 1).to(device)
        else:
            image = _resize(image, hw)
        image = image.detach().to(device).requires_grad_(True)
        content_targets = targets.content(_resize(content, hw).to(device)) if content is not None else None
        if cfg.optimizer == "lbfgs":
            opt = torch.optim.LBFGS([image], lr=cfg.lr or 1.0, max_iter=1, history_size=50)
        elif cfg.optimizer == "adam":
            opt = torch.optim.Adam([image], lr=cfg.lr or 0.02)
        else:
            raise ValueError(f"unknown optimizer {cfg.optimizer!r}: use lbfgs or adam")
        last: dict = {}

        def closure(opt=opt, image=image, content_targets=content_targets, last=last) -> torch.Tensor:
            opt.zero_grad(set_to_none=True)
            s, c = targets.losses(image, content_targets)
            t = tv_loss(image)
            loss = cfg.style_weight * s + cfg.content_weight * c + cfg.tv_weight * t
            loss.backward()
            last.update(style=s.item(), content=c.item(), tv=t.item(), loss=loss.item())
            return loss

        for step in range(cfg.steps):
            opt.step(closure)
            with torch.no_grad():
                image.clamp_(0, 1)
            global_step += 1
            if history is not None:
                history.append({"scale": scale_index, "step": step, **last})
            bar.update(1)
            bar.set_postfix(loss=f"{last.get('loss', float('nan')):.4g}", size=f"{hw[1]}x{hw[0]}")
            if frame_dir is not None and (step % frame_every == 0 or step == cfg.steps - 1):
                save_image(_resize(image.detach(), full), frame_dir / f"frame_{frame_count:05d}.png")
                frame_count += 1
            if callback is not None:
                callback(global_step, image.detach())
    bar.close()
    return image.detach().clamp(0, 1)
