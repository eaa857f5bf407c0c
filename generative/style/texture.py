"""Texture synthesis from one image (Gatys, Ecker & Bethge 2015): optimize noise until its Gram matrices match.

    gamelab style texture STYLE -o OUT [--size PX] [--steps N] [--weights PATH]

STYLE is an image file or a built-in name (brick, grass, gravel, ...). Loss network as in `gamelab style transfer`.
"""

from __future__ import annotations

import argparse
import sys
import time

from core.device import pick_device, set_cpu_threads

from ..images import ImageError, load_image, save_image
from .features import RANDOM_SEED, LossNetworkError, add_run_arguments, make_loss_network
from .gatys import GatysConfig, optimize_image
from .losses import StyleTargets

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gamelab style texture", description=__doc__.split("\n\n")[0])
    p.add_argument("style", help="texture image: a file or a built-in name")
    p.add_argument("-o", "--out", required=True, help="output image file (.png, .jpg)")
    p.add_argument("--size", type=int, default=256, help="side of the square output in pixels (default 256)")
    p.add_argument("--style-size", type=int, default=None, help="longer side of the texture image (default: --size)")
    p.add_argument("--steps", type=int, default=150, help="optimizer steps per scale (default 150)")
    p.add_argument("--scales", type=int, default=3, help="coarse-to-fine sizes (default 3)")
    p.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs")
    p.add_argument("--tv-weight", type=float, default=1e-3, help="total-variation weight (default 0.001)")
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
        tv_weight=args.tv_weight,
        content_weight=0.0,
        seed=args.seed,
    )
    history: list[dict] = []
    try:
        style = load_image(args.style, args.style_size or args.size)
        device = pick_device(args.device)
        targets = StyleTargets(make_loss_network(args.weights, seed=RANDOM_SEED).to(device), style.to(device))
        tic = time.perf_counter()
        out = optimize_image(targets, cfg, size=(args.size, args.size), frames=args.frames, history=history)
    except (ImageError, LossNetworkError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    save_image(out.cpu(), args.out)
    print(
        f"wrote {args.out} ({args.size}x{args.size}) in {time.perf_counter() - tic:.1f} s; "
        f"style loss {history[0]['style']:.4g} -> {history[-1]['style']:.4g}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
