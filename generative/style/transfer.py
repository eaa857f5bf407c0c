"""Style transfer by image optimization (Gatys et al. 2016).

    gamelab style transfer CONTENT STYLE -o OUT [--size PX] [--steps N] [--optimizer lbfgs|adam]
                           [--style-weight W] [--preserve-color] [--frames DIR] [--weights PATH]

CONTENT and STYLE are image files or built-in names (astronaut, chelsea, coffee, brick, grass, gravel, ...). The loss
network is VGG16/VGG19 from ``--weights PATH`` (a torchvision state_dict), else the offline random multi-scale
network (generative.style.features). Optimization runs coarse to fine over ``--scales`` sizes.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from core.device import pick_device, set_cpu_threads

from ..images import ImageError, load_image, save_image
from .features import RANDOM_SEED, LossNetworkError, add_run_arguments, make_loss_network
from .gatys import GatysConfig, optimize_image, preserve_color
from .losses import StyleTargets

__all__ = ["stylize", "main"]


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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gamelab style transfer", description=__doc__.split("\n\n")[0])
    p.add_argument("content", help="content image: a file or a built-in name")
    p.add_argument("style", help="style image: a file or a built-in name")
    p.add_argument("-o", "--out", required=True, help="output image file (.png, .jpg)")
    p.add_argument("--size", type=int, default=256, help="longer side of the output in pixels (default 256)")
    p.add_argument("--style-size", type=int, default=None, help="longer side of the style image (default: --size)")
    p.add_argument("--steps", type=int, default=150, help="optimizer steps per scale (default 150)")
    p.add_argument("--scales", type=int, default=3, help="coarse-to-fine sizes, each half the next (default 3)")
    p.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs")
    p.add_argument("--lr", type=float, default=None, help="step size (default: lbfgs 1.0, adam 0.02)")
    p.add_argument("--style-weight", type=float, default=10.0, help="style loss weight (default 10)")
    p.add_argument("--content-weight", type=float, default=1.0, help="content loss weight (default 1)")
    p.add_argument("--tv-weight", type=float, default=3e-3, help="total-variation weight (default 0.003)")
    p.add_argument("--preserve-color", action="store_true", help="keep the content's colours (luminance transfer)")
    p.add_argument("--frames", metavar="DIR", help="save intermediate images into this folder")
    add_run_arguments(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    set_cpu_threads(args.threads)
    cfg = GatysConfig(
        steps=args.steps,
        scales=args.scales,
        optimizer=args.optimizer,
        lr=args.lr,
        style_weight=args.style_weight,
        content_weight=args.content_weight,
        tv_weight=args.tv_weight,
        seed=args.seed,
    )
    try:
        content = load_image(args.content, args.size)
        style = load_image(args.style, args.style_size or args.size)
        tic = time.perf_counter()
        history: list[dict] = []
        out = stylize(content, style, cfg, args.weights, args.preserve_color, args.frames, history, args.device)
    except (ImageError, LossNetworkError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    save_image(out, args.out)
    first, last = history[0], history[-1]
    print(
        f"wrote {args.out} ({out.shape[-1]}x{out.shape[-2]}) in {time.perf_counter() - tic:.1f} s; "
        f"style loss {first['style']:.4g} -> {last['style']:.4g}, content loss {last['content']:.4g}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
