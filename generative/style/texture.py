"""Texture synthesis from one image (Gatys, Ecker & Bethge 2015): optimize noise until its Gram matrices match.

    gamelab style texture STYLE [-o OUT] [--size PX] [--steps N] [--weights PATH] [--dry-run] ...

STYLE is an image file or a built-in name (brick, grass, gravel, ...). Loss network as in `gamelab style transfer`.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from typing import Literal

import torch

from core.config import bounded

from ..images import load_image
from .gatys import GatysConfig, optimize_image
from .image_job import run_image_job
from .losses import StyleTargets

__all__ = ["TextureConfig", "main"]


@dataclass(frozen=True)
class TextureConfig:
    """`gamelab style texture STYLE`: every field is an option (`--size 192`, `--steps=100`, ...)."""

    style: str = ""  # texture image: a file or a built-in name
    out: str = ""  # output image file; empty: result.png in a new run directory under --runs
    size: int = bounded(256, ge=16)  # side of the square output in pixels
    style_size: int = bounded(0, ge=0)  # longer side of the texture image (0: size)
    steps: int = bounded(150, ge=1)  # optimizer steps per scale
    scales: int = bounded(3, ge=1)  # coarse-to-fine sizes
    optimizer: Literal["lbfgs", "adam"] = "lbfgs"
    lr: float | None = bounded(None, gt=0)  # step size (None: lbfgs 1.0, adam 0.02)
    tv_weight: float = bounded(1e-3, ge=0)  # total-variation weight
    frames: str = ""  # save intermediate images into this folder
    weights: str = ""  # VGG16/VGG19 torchvision state_dict (empty: the random multi-scale loss network)
    seed: int = 0
    device: str = "auto"


def _dry_run(cfg: TextureConfig) -> TextureConfig:
    return dataclasses.replace(cfg, size=min(cfg.size, 64), steps=2, scales=1)


def _work(cfg: TextureConfig, net: torch.nn.Module, device: torch.device) -> tuple[torch.Tensor, str]:
    style = load_image(cfg.style, cfg.style_size or cfg.size)
    gatys = GatysConfig(steps=cfg.steps, scales=cfg.scales, optimizer=cfg.optimizer, lr=cfg.lr,
                        tv_weight=cfg.tv_weight, content_weight=0.0, seed=cfg.seed)  # fmt: skip
    history: list[dict] = []
    targets = StyleTargets(net, style.to(device))
    out = optimize_image(targets, gatys, size=(cfg.size, cfg.size), frames=cfg.frames or None, history=history)
    return out, f"style loss {history[0]['style']:.4g} -> {history[-1]['style']:.4g}"


def main(argv: list[str] | None = None) -> int:
    """`gamelab style texture STYLE [-o OUT] [--key=value ...]`. Returns the exit code."""
    return run_image_job(argv, prog="gamelab style texture", description=__doc__.split("\n\n")[0],
                         config_cls=TextureConfig, images=("style",), dry_run=_dry_run, work=_work)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
