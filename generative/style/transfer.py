"""Style transfer by image optimization (Gatys et al. 2016).

    gamelab style transfer CONTENT STYLE [-o OUT] [--size PX] [--steps N] [--optimizer lbfgs|adam]
                           [--style-weight W] [--preserve-color] [--frames DIR] [--weights PATH] [--dry-run] ...

CONTENT and STYLE are image files or built-in names (astronaut, chelsea, coffee, brick, grass, gravel, ...). The loss
network is VGG16/VGG19 from ``--weights PATH`` (a torchvision state_dict), else the offline random multi-scale
network (generative.style.features). Optimization runs coarse to fine over ``--scales`` sizes.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from typing import Literal

import torch

from core.config import bounded
from core.device import pick_device

from ..images import load_image
from .features import RANDOM_SEED, make_loss_network
from .gatys import GatysConfig, default_style_weight, optimize_image, preserve_color
from .image_job import run_image_job
from .losses import StyleTargets

__all__ = ["TransferConfig", "stylize", "main"]


def stylize(
    content: torch.Tensor,
    style: torch.Tensor,
    cfg: GatysConfig,
    weights: str | None = None,
    keep_color: bool = False,
    frames: str | None = None,
    history: list[dict] | None = None,
    device: str = "auto",
) -> torch.Tensor:
    """Stylize a content image [1, 3, H, W] with a style image [1, 3, H', W'] (both in [0, 1]).

    Returns the result [1, 3, H, W] in [0, 1] on the CPU.
    """
    dev = pick_device(device)
    net = make_loss_network(weights, seed=RANDOM_SEED).to(dev)
    targets = StyleTargets(net, style.to(dev))
    out = optimize_image(targets, cfg, content=content.to(dev), frames=frames, history=history).cpu()
    return preserve_color(out, content) if keep_color else out


@dataclass(frozen=True)
class TransferConfig:
    """`gamelab style transfer CONTENT STYLE`: every field is an option (`--style-weight 5`, `--steps=50`, ...)."""

    content: str = ""  # content image: a file or a built-in name
    style: str = ""  # style image: a file or a built-in name
    out: str = ""  # output image file (.png, .jpg); empty: result.png in a new run directory under --runs
    size: int = bounded(256, ge=16)  # longer side of the output in pixels
    style_size: int = bounded(0, ge=0)  # longer side of the style image (0: size)
    steps: int = bounded(150, ge=1)  # optimizer steps per scale
    scales: int = bounded(3, ge=1)  # coarse-to-fine sizes, each half the next
    optimizer: Literal["lbfgs", "adam"] = "lbfgs"
    lr: float | None = bounded(None, gt=0)  # step size (None: lbfgs 1.0, adam 0.02)
    style_weight: float | None = bounded(None, ge=0)  # style loss weight (None: 2 * (size / 256)^2, see gatys)
    content_weight: float = bounded(1.0, ge=0)
    tv_weight: float = bounded(3e-3, ge=0)  # total-variation weight
    preserve_color: bool = False  # keep the content's colours (luminance transfer)
    frames: str = ""  # save intermediate images into this folder
    weights: str = ""  # VGG16/VGG19 torchvision state_dict (empty: the random multi-scale loss network)
    seed: int = 0
    device: str = "auto"


def _dry_run(cfg: TransferConfig) -> TransferConfig:
    return dataclasses.replace(cfg, size=min(cfg.size, 64), steps=2, scales=1)


def _work(cfg: TransferConfig, net: torch.nn.Module, device: torch.device) -> tuple[torch.Tensor, str]:
    content = load_image(cfg.content, cfg.size)
    style = load_image(cfg.style, cfg.style_size or cfg.size)
    gatys = GatysConfig(steps=cfg.steps, scales=cfg.scales, optimizer=cfg.optimizer, lr=cfg.lr,
                        style_weight=default_style_weight(cfg.size) if cfg.style_weight is None else cfg.style_weight,
                        content_weight=cfg.content_weight, tv_weight=cfg.tv_weight,
                        seed=cfg.seed)  # fmt: skip
    history: list[dict] = []
    targets = StyleTargets(net, style.to(device))
    out = optimize_image(targets, gatys, content=content.to(device), frames=cfg.frames or None, history=history).cpu()
    if cfg.preserve_color:
        out = preserve_color(out, content)
    first, last = history[0], history[-1]
    return out, f"style loss {first['style']:.4g} -> {last['style']:.4g}, content loss {last['content']:.4g}"


def main(argv: list[str] | None = None) -> int:
    """`gamelab style transfer CONTENT STYLE [-o OUT] [--key=value ...]`. Returns the exit code."""
    return run_image_job(
        argv, prog="gamelab style transfer", description=__doc__.split("\n\n")[0], config_cls=TransferConfig,
        images=("content", "style"), dry_run=_dry_run, work=_work,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
