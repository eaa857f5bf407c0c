"""Style transfer speed: Gatys iterations per second and feed-forward images per second.

    gamelab bench style [--json] [--sizes 256,512] [--seconds S] [--device DEV]

One Gatys iteration is a forward and backward pass of the loss network (the default random multi-scale network, or
VGG from --weights) on one image plus an Adam step on its pixels; L-BFGS costs about the same per function
evaluation. Feed-forward is the Johnson network (channels 32, 5 residual blocks) in eval mode, batches of
--batch images, bf16 autocast and channels_last on CUDA. Every device present is measured unless --device is given.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import torch

from core.device import autocast, set_cpu_threads, synchronize
from core.job import JobParser, ranged

from .features import LossNetworkError, make_loss_network
from .losses import StyleTargets, tv_loss
from .network import StyleNet

MIN_SIZE = 32  # smallest image side the loss networks' pooling stages accept

__all__ = ["bench_gatys", "bench_feedforward", "main"]


def _timed(fn, device: torch.device, seconds: float, max_iters: int) -> float:
    """Calls per second of fn after one warm-up call, measured for about `seconds`."""
    fn()
    synchronize(device)
    n, tic = 0, time.perf_counter()
    while n < max_iters and (n < 2 or time.perf_counter() - tic < seconds):
        fn()
        n += 1
    synchronize(device)
    return n / (time.perf_counter() - tic)


def bench_gatys(size: int, device: torch.device, seconds: float = 3.0, weights: str | None = None) -> float:
    """Gatys iterations per second at size x size."""
    net = make_loss_network(weights).to(device)
    targets = StyleTargets(net, torch.rand(1, 3, size, size, device=device))
    content = torch.rand(1, 3, size, size, device=device)
    content_targets = targets.content(content)
    image = content.clone().requires_grad_(True)
    opt = torch.optim.Adam([image], lr=0.02)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        s, c = targets.losses(image, content_targets)
        (10 * s + c + 1e-3 * tv_loss(image)).backward()
        opt.step()

    return _timed(step, device, seconds, 1000)


def bench_feedforward(size: int, device: torch.device, batch: int, seconds: float = 3.0) -> float:
    """Images per second of the default fast style network at size x size."""
    net = StyleNet().to(device).eval()
    x = torch.rand(batch, 3, size, size, device=device)
    if device.type == "cuda":
        net = net.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)

    @torch.no_grad()
    def run() -> None:
        with autocast(device):
            net(x)

    return batch * _timed(run, device, seconds, 1000)


def _devices(name: str | None) -> list[torch.device]:
    if name:
        return [torch.device(name)]
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append(torch.device("mps"))
    return devices


def _sizes(text: str) -> list[int]:
    """`--sizes` as a list of image sides, each at least MIN_SIZE pixels."""
    read = ranged(int, ge=MIN_SIZE)
    sizes = [read(s) for s in text.split(",") if s.strip()]
    if not sizes:
        raise argparse.ArgumentTypeError(f"no image size in {text!r}")
    return sizes


def _parser() -> argparse.ArgumentParser:
    p = JobParser(prog="gamelab bench style", description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--sizes", type=_sizes, default="256,512", help="image sides, comma-separated (default 256,512)")
    p.add_argument("--seconds", type=ranged(float, gt=0), default=3.0, help="measuring time per figure (default 3)")
    p.add_argument(
        "--batch", type=ranged(int, ge=1), default=None, help="feed-forward batch (default: 16 on GPUs, 1 on the CPU)"
    )
    p.add_argument("--device", default=None, help="measure only this device (default: every device present)")
    p.add_argument("--weights", metavar="PATH", help="VGG16/VGG19 state_dict for the Gatys loss network")
    p.add_argument(
        "--threads", type=ranged(int, ge=1), default=None, help="CPU threads (default: $GAMELAB_THREADS or all)"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    threads = set_cpu_threads(args.threads)
    sizes = args.sizes
    results = []
    try:
        for device in _devices(args.device):
            batch = args.batch or (1 if device.type == "cpu" else 16)
            for size in sizes:
                results.append(
                    {
                        "device": str(device),
                        "size": size,
                        "gatys_iters_per_s": round(bench_gatys(size, device, args.seconds, args.weights), 3),
                        "feedforward_images_per_s": round(bench_feedforward(size, device, batch, args.seconds), 3),
                        "feedforward_batch": batch,
                    }
                )
    except LossNetworkError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    info = {
        "torch": torch.__version__,
        "cpu_threads": threads,
        "machine": platform.machine(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "loss_network": "vgg" if args.weights else "random multi-scale",
        "results": results,
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"torch {info['torch']}, {threads} CPU thread(s), gpu: {info['gpu']}, loss network: {info['loss_network']}")
    print(f"{'device':8} {'size':>5} {'gatys it/s':>11} {'ff img/s':>10} {'ff batch':>9}")
    for r in results:
        print(
            f"{r['device']:8} {r['size']:>5} {r['gatys_iters_per_s']:>11.3f} {r['feedforward_images_per_s']:>10.2f} "
            f"{r['feedforward_batch']:>9}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
