"""`gamelab bench gan [--json]`: GAN training throughput at 32 px, fp32 eager against the tuned path, same run.

Tuned path: bf16 autocast, channels_last, fused Adam and (with --compile, or on CUDA by default) torch.compile. On a
CPU, bf16 autocast and fused Adam do not apply (see core.device), so there the tuned path is channels_last only.
Images per second count generator-batch images per training iteration (one G update and its D updates).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

import torch

from core.device import pick_device, set_cpu_threads, synchronize
from core.job import JobParser, ranged

from .step import build_parts, train_step
from .trainer import GanConfig

__all__ = ["BenchConfig", "bench_one", "main"]


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    """Benchmark settings."""

    archs: tuple[str, ...] = ("dcgan", "sngan")
    size: int = 32
    batch: int = 64
    width: int = 32
    steps: int = 10
    warmup: int = 3
    device: str = "auto"
    compile: str = "auto"  # auto: on CUDA only


def bench_one(arch: str, tuned: bool, cfg: BenchConfig, device: torch.device) -> dict:
    """Time `cfg.steps` training iterations of one architecture. Returns {"arch", "path", "images_per_s", ...}."""
    use_compile = tuned and (cfg.compile == "on" or (cfg.compile == "auto" and device.type == "cuda"))
    gan = GanConfig(
        arch=arch, size=cfg.size, batch=cfg.batch, g_width=cfg.width, d_width=cfg.width, z_dim=128, n_critic=1,
        precision="auto" if tuned else "fp32", channels_last=tuned, compile=use_compile, ema_decay=0.999,
    )  # fmt: skip
    torch.manual_seed(0)
    parts = build_parts(gan, 3, 0, device)
    if tuned and device.type != "cuda":
        parts.g.to(memory_format=torch.channels_last)
        parts.d.to(memory_format=torch.channels_last)
    data = torch.rand(512, 3, cfg.size, cfg.size, device=device) * 2 - 1

    def batch_fn():
        idx = torch.randint(len(data), (cfg.batch,), device=device)
        return data[idx], None

    t0 = time.perf_counter()
    for i in range(cfg.warmup):
        train_step(parts, batch_fn, i)
    synchronize(device)
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(cfg.steps):
        out = train_step(parts, batch_fn, i)
    float(out["loss_d"])
    synchronize(device)
    seconds = time.perf_counter() - t0
    return {"arch": arch, "path": "tuned" if tuned else "eager-fp32", "images_per_s": cfg.steps * cfg.batch / seconds,
            "step_ms": 1000 * seconds / cfg.steps, "warmup_s": warm, "compile": use_compile,
            "finite": bool(torch.isfinite(out["loss_d"]))}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table (or JSON). Returns the exit code."""
    parser = JobParser(prog="gamelab bench gan", description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--steps", type=ranged(int, ge=1), default=BenchConfig.steps)
    parser.add_argument("--warmup", type=ranged(int, ge=0), default=BenchConfig.warmup)
    parser.add_argument("--batch", type=ranged(int, ge=1), default=BenchConfig.batch)
    parser.add_argument("--width", type=ranged(int, ge=1), default=BenchConfig.width)
    parser.add_argument("--archs", default=",".join(BenchConfig.archs))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--compile", choices=["auto", "on", "off"], default="auto")
    parser.add_argument(
        "--threads", type=ranged(int, ge=1), help="CPU threads (default: $GAMELAB_THREADS, else all cores)"
    )
    args = parser.parse_args(argv)
    set_cpu_threads(args.threads)
    cfg = BenchConfig(archs=tuple(a for a in args.archs.split(",") if a), batch=args.batch, width=args.width,
                      steps=args.steps, warmup=args.warmup, device=args.device, compile=args.compile)  # fmt: skip
    device = pick_device(cfg.device)
    rows = []
    for arch in cfg.archs:
        eager = bench_one(arch, False, cfg, device)
        tuned = bench_one(arch, True, cfg, device)
        tuned["speedup"] = tuned["images_per_s"] / eager["images_per_s"]
        rows += [eager, tuned]
    meta = {"device": str(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "size": cfg.size, "batch": cfg.batch, "width": cfg.width, "steps": cfg.steps}  # fmt: skip
    if device.type == "cuda":
        meta["gpu"] = torch.cuda.get_device_name(device)
    if args.json:
        print(json.dumps({"meta": meta, "results": rows}, indent=2))
        return 0
    print(", ".join(f"{k} {v}" for k, v in meta.items()))
    print(f"{'arch':8}{'path':12}{'images/s':>12}{'ms/step':>10}{'speedup':>9}")
    for r in rows:
        speed = f"{r['speedup']:.2f}x" if "speedup" in r else ""
        print(f"{r['arch']:8}{r['path']:12}{r['images_per_s']:12.1f}{r['step_ms']:10.1f}{speed:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
