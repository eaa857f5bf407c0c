"""Stylize images with a trained fast style network.

    gamelab style apply CHECKPOINT INPUT... -o OUT [--size PX] [--onnx FILE]

CHECKPOINT is a ``style`` checkpoint file or a run directory (its latest checkpoint). Each INPUT is an image file, a
built-in name, or a folder of frames (all its images, in name order). With one input image and an OUT that ends in an
image suffix, OUT is the output file; otherwise OUT is a folder and each result keeps its input's name (as .png).
``--onnx FILE`` also exports the network to ONNX, when the ``onnx`` package is installed.

Dimension letters: B images, C channels, H/W pixels.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

import torch

from core.checkpoint import CheckpointError, latest_checkpoint, load_checkpoint
from core.device import autocast, pick_device, set_cpu_threads
from core.job import DEFAULT_THREADS, JobParser
from core.paths import check_output_dir, check_output_file

from ..data import IMAGE_SUFFIXES
from ..images import ImageError, load_image, save_image
from .network import StyleNet

__all__ = ["load_style_net", "stylize_images", "export_onnx", "main"]


def load_style_net(path: str | os.PathLike, device: str | torch.device = "cpu") -> StyleNet:
    """Load the network of a ``style`` checkpoint (a file, or a run directory: its latest checkpoint), eval mode.

    Raises:
        CheckpointError: no checkpoint there, or the file is missing, damaged or of another kind.
    """
    path = Path(path)
    if path.is_dir():
        found = latest_checkpoint(path / "checkpoints") or latest_checkpoint(path)
        if found is None:
            raise CheckpointError(f"{path}: no style checkpoint in this folder or its checkpoints/ folder")
        path = found
    payload = load_checkpoint(path, kind="style")
    net = StyleNet.from_config(payload["net_config"])
    net.load_state_dict(payload["model"])
    return net.to(device).eval()


@torch.no_grad()
def stylize_images(net: StyleNet, images: torch.Tensor) -> torch.Tensor:
    """Run the network on images [B, 3, H, W] in [0, 1] (on the network's device). Returns [B, 3, H, W] in [0, 1]."""
    device = next(net.parameters()).device
    with autocast(device):
        out = net(images.to(device))
    return out.float().clamp(0, 1)


def export_onnx(net: StyleNet, path: str | os.PathLike, size: int = 256) -> Path:
    """Export to ONNX with dynamic batch and image size. Raises RuntimeError when the onnx package is missing."""
    if importlib.util.find_spec("onnx") is None:
        raise RuntimeError("ONNX export needs the 'onnx' package (pip install onnx); it is not installed")
    example = torch.rand(1, 3, size, size, device=next(net.parameters()).device)
    axes = {0: "batch", 2: "height", 3: "width"}
    torch.onnx.export(
        net,
        (example,),
        str(path),
        input_names=["image"],
        output_names=["stylized"],
        dynamic_axes={"image": axes, "stylized": axes},
        dynamo=False,
    )
    return Path(path)


def _expand(inputs: list[str]) -> list[tuple[str, str]]:
    """(source, output stem) for each input; folders expand to their images in name order."""
    items = []
    for spec in inputs:
        path = Path(spec).expanduser()
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise ImageError(f"folder {str(path)!r} holds no images ({', '.join(IMAGE_SUFFIXES)})")
            items += [(str(p), p.stem) for p in files]
        else:
            items.append((spec, Path(spec.removeprefix("builtin:")).stem))
    return items


def _parser() -> argparse.ArgumentParser:
    p = JobParser(prog="gamelab style apply", description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", help="a style checkpoint file or a run directory")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, built-in names or folders of frames")
    p.add_argument("-o", "--out", required=True, help="output file (one input) or folder")
    p.add_argument("--size", type=int, default=None, help="resize inputs so the longer side is PX (default: keep)")
    p.add_argument("--onnx", metavar="FILE", help="also export the network to this ONNX file (needs onnx)")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="torch CPU threads (default 1)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    set_cpu_threads(args.threads)
    try:
        out = Path(args.out)
        if out.suffix.lower() in IMAGE_SUFFIXES and not out.is_dir():
            check_output_file(out)
        else:
            check_output_dir(out)
        if args.onnx:
            check_output_file(args.onnx)
        net = load_style_net(args.checkpoint, pick_device(args.device))
        items = _expand(args.inputs)
        single = len(items) == 1 and out.suffix.lower() in IMAGE_SUFFIXES
        tic = time.perf_counter()
        for source, stem in items:
            image = load_image(source, args.size)
            target = out if single else out / f"{stem}.png"
            save_image(stylize_images(net, image).cpu(), target)
        print(f"stylized {len(items)} image(s) into {out} in {time.perf_counter() - tic:.2f} s")
        if args.onnx:
            print(f"exported {export_onnx(net, args.onnx)}")
    except (ImageError, CheckpointError, RuntimeError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
