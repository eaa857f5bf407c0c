"""Deep Dream (Mordvintsev, Olah & Tyka 2015): gradient ascent on a layer's activations, over octaves.

    gamelab dream IMAGE -o OUT [--layer L] [--octaves K] [--steps N] [--weights PATH]

The image is shrunk by ``--octave-scale`` per octave; from the smallest octave up, each octave adds the detail lost
by shrinking back and then climbs the mean squared activation of the layer with normalized gradient steps and a
random shift (jitter) each step against grid artifacts. The loss network is VGG from ``--weights`` or the random
multi-scale default (generative.style.features): with random filters the dream paints the filters' own patterns.

Dimension letters: B images (1), C channels, H/W pixels.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
import torch.nn.functional as F

from core.device import pick_device, set_cpu_threads
from core.progress import progress

from ..images import ImageError, load_image, save_image
from .features import RANDOM_SEED, LossNetworkError, add_run_arguments, make_loss_network

__all__ = ["layer_activation", "dream", "main"]


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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gamelab dream", description=__doc__.split("\n\n")[0])
    p.add_argument("image", help="an image file or a built-in name")
    p.add_argument("-o", "--out", required=True, help="output image file")
    p.add_argument("--layer", default=None, help="layer to excite (default: relu3_1 random, relu4_1 VGG)")
    p.add_argument("--octaves", type=int, default=4, help="number of octaves (default 4)")
    p.add_argument("--octave-scale", type=float, default=1.4, help="size ratio between octaves (default 1.4)")
    p.add_argument("--steps", type=int, default=10, help="gradient steps per octave (default 10)")
    p.add_argument("--lr", type=float, default=0.01, help="step size in pixel units (default 0.01)")
    p.add_argument("--luminance", action="store_true", help="dream in light and shade only, keep the colours")
    p.add_argument("--size", type=int, default=256, help="longer side of the image in pixels (default 256)")
    add_run_arguments(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    set_cpu_threads(args.threads)
    try:
        device = pick_device(args.device)
        net = make_loss_network(args.weights, seed=RANDOM_SEED).to(device)
        layer = args.layer or net.dream_layer
        if layer not in net.names:
            raise ValueError(f"unknown layer {layer!r}; choose from {', '.join(net.names)}")
        image = load_image(args.image, args.size).to(device)
        tic = time.perf_counter()
        out = dream(
            net,
            image,
            layer,
            args.octaves,
            args.octave_scale,
            args.steps,
            args.lr,
            seed=args.seed,
            luminance=args.luminance,
        )
        with torch.no_grad():
            before, after = layer_activation(net, image, layer).item(), layer_activation(net, out, layer).item()
    except (ImageError, LossNetworkError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    save_image(out.cpu(), args.out)
    print(f"wrote {args.out} in {time.perf_counter() - tic:.1f} s; {layer} activation {before:.4g} -> {after:.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
