"""Deep Dream (Mordvintsev, Olah & Tyka 2015): gradient ascent on a layer's activations, over octaves.

    gamelab dream IMAGE [-o OUT] [--layer L] [--octaves K] [--steps N] [--weights PATH] [--dry-run] ...

The image is shrunk by ``--octave-scale`` per octave; from the smallest octave up, each octave adds the detail lost
by shrinking back and then climbs the mean squared activation of the layer with normalized gradient steps and a
random shift (jitter) each step against grid artifacts. The loss network is VGG from ``--weights`` or the random
multi-scale default (generative.style.features): with random filters the dream paints the filters' own patterns.

Dimension letters: B images (1), C channels, H/W pixels.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from core.config import bounded
from core.progress import progress

from ..images import load_image
from .image_job import run_image_job

__all__ = ["DreamConfig", "layer_activation", "dream", "main"]


def layer_activation(net: torch.nn.Module, image: torch.Tensor, layer: str) -> torch.Tensor:
    """The dream objective: mean squared activation of `layer` for images [B, 3, H, W] -> scalar."""
    return net(image, [layer])[layer].float().pow(2).mean()


def _smooth(grad: torch.Tensor) -> torch.Tensor:
    # a 5x5 binomial blur of the gradient: pixel-level noise does not build up into the picture
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], device=grad.device)
    k = (k[:, None] * k[None, :] / 256.0).expand(grad.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(grad, (2, 2, 2, 2), mode="replicate"), k, groups=grad.shape[1])


def dream(
    net: torch.nn.Module,
    image: torch.Tensor,
    layer: str,
    octaves: int = 4,
    octave_scale: float = 1.4,
    steps: int = 10,
    lr: float = 0.01,
    jitter: int = 16,
    seed: int = 0,
    luminance: bool = False,
) -> torch.Tensor:
    """Deep Dream an image [1, 3, H, W] in [0, 1] on `layer`; returns [1, 3, H, W] in [0, 1].

    Args:
        net: a loss network (generative.style.features).
        layer: the layer whose mean squared activation is climbed.
        octaves, octave_scale: number of sizes and the ratio between them.
        steps, lr: gradient steps per octave and their size (normalized gradient, pixel units).
        jitter: largest random shift in pixels.
        luminance: change only light and shade (the same step in all channels), keeping the colours.
    """
    generator = torch.Generator().manual_seed(seed)
    h, w = image.shape[-2:]
    sizes = [(max(8, round(h / octave_scale**k)), max(8, round(w / octave_scale**k))) for k in range(octaves)][::-1]
    base = [F.interpolate(image, size=s, mode="bilinear", align_corners=False, antialias=True) for s in sizes]
    detail = torch.zeros_like(base[0])
    out = base[0]
    bar = progress(total=steps * len(sizes), desc="dream", unit="step")
    for octave, size in enumerate(sizes):
        detail = F.interpolate(detail, size=size, mode="bilinear", align_corners=False)
        x = (base[octave] + detail).clamp(0, 1)
        for _ in range(steps):
            dy, dx = (int(v) for v in torch.randint(-jitter, jitter + 1, (2,), generator=generator))
            x = torch.roll(x.detach(), (dy, dx), dims=(2, 3)).requires_grad_(True)
            objective = layer_activation(net, x, layer)
            (grad,) = torch.autograd.grad(objective, x)
            with torch.no_grad():
                grad = _smooth(grad - grad.mean(dim=(2, 3), keepdim=True))  # no flat colour cast; coherent strokes
                if luminance:  # the same change in every channel: patterns in light and shade, colours kept
                    grad = grad.mean(dim=1, keepdim=True).expand_as(grad)
                x = x + lr * grad / grad.abs().mean().clamp_min(1e-12)
                x = torch.roll(x, (-dy, -dx), dims=(2, 3)).clamp(0, 1)
            bar.update(1)
        detail = x.detach() - base[octave]
        out = x.detach()
    bar.close()
    return out.clamp(0, 1)


@dataclass(frozen=True)
class DreamConfig:
    """`gamelab dream IMAGE`: every field is an option (`--octaves 3`, `--layer=relu2_1`, ...)."""

    image: str = ""  # an image file or a built-in name
    out: str = ""  # output image file; empty: result.png in a new run directory under --runs
    layer: str = ""  # layer to excite (empty: relu3_1 random, relu4_1 VGG)
    octaves: int = bounded(4, ge=1)
    octave_scale: float = bounded(1.4, ge=1)  # size ratio between octaves
    steps: int = bounded(10, ge=1)  # gradient steps per octave
    lr: float = bounded(0.01, gt=0)  # step size in pixel units
    luminance: bool = False  # dream in light and shade only, keep the colours
    size: int = bounded(256, ge=16)  # longer side of the image in pixels
    weights: str = ""  # VGG16/VGG19 torchvision state_dict (empty: the random multi-scale loss network)
    seed: int = 0
    device: str = "auto"


def _dry_run(cfg: DreamConfig) -> DreamConfig:
    return dataclasses.replace(cfg, size=min(cfg.size, 64), steps=2, octaves=2)


def _work(cfg: DreamConfig, net: torch.nn.Module, device: torch.device) -> tuple[torch.Tensor, str]:
    layer = cfg.layer or net.dream_layer
    if layer not in net.names:
        raise ValueError(f"unknown layer {layer!r}; choose from {', '.join(net.names)}")
    image = load_image(cfg.image, cfg.size).to(device)
    out = dream(net, image, layer, cfg.octaves, cfg.octave_scale, cfg.steps, cfg.lr, seed=cfg.seed,
                luminance=cfg.luminance)  # fmt: skip
    with torch.no_grad():
        before, after = layer_activation(net, image, layer).item(), layer_activation(net, out, layer).item()
    return out, f"{layer} activation {before:.4g} -> {after:.4g}"


def main(argv: list[str] | None = None) -> int:
    """`gamelab dream IMAGE [-o OUT] [--key=value ...]`. Returns the exit code."""
    return run_image_job(argv, prog="gamelab dream", description=__doc__.split("\n\n")[0], config_cls=DreamConfig,
                         images=("image",), dry_run=_dry_run, work=_work)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
