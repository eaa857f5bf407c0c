"""`gamelab generate RUN_OR_CHECKPOINT`: images from a trained GAN generator.

    gamelab generate RUN [--n N] [--grid PATH] [--out DIR] [--seed S] [--class K] [--ema|--raw]
                         [--interpolate STEPS --gif PATH] [--truncation PSI]
                         [--mix-rows SEEDS --mix-cols SEEDS [--mix-layers A-B|coarse|fine] [--mix-grid PATH]]
                         [--project IMAGE [--project-steps N] [--project-out PATH]]

Writes a grid PNG (default RUN/generated/grid_seed<S>.png, or ./generated_grid.png for a checkpoint file), single
PNGs with --out, and with --interpolate a GIF walking the latent space between random points (spherical
interpolation) plus a PNG strip of the same frames next to it (PATH with the suffix .png).

StyleGAN runs (arch stylegan) add: `--truncation PSI` (w pulled toward the tracked mean w_avg; default 1, none);
interpolation as straight lines in W; a style-mixing table (`--mix-rows 1,2,3 --mix-cols 4,5,6`: each row seed's
image with the column seed's styles in `--mix-layers`, default coarse, i.e. the first half of the layers); and
`--project IMAGE`, which optimizes a w to reconstruct the image (resized to the run's size) and reports the error.

Dimension letters: N images, T interpolation steps, R interpolation rows, Z latent size, C/H/W image.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from core.checkpoint import CheckpointError
from core.job import JobParser, fail
from core.paths import check_output_dir, check_output_file
from generative.images import load_image, make_gif, make_grid, save_grid, save_image

from . import latent
from .models import load_generator

__all__ = ["sample", "interpolate", "slerp", "main"]


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between latent batches a, b [R, Z] at fraction t (linear when nearly parallel)."""
    an, bn = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    omega = torch.acos((an * bn).sum(1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    linear = (1 - t) * a + t * b
    spherical = (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b
    return torch.where(so.abs() < 1e-5, linear, spherical)


def _labels(g, n: int, class_id: int | None, gen: torch.Generator) -> torch.Tensor | None:
    k = getattr(g, "num_classes", 0)
    if class_id is not None:
        if k == 0:
            raise ValueError("--class needs a class-conditional generator (train with --cond)")
        if not 0 <= class_id < k:
            raise ValueError(f"--class must be in 0..{k - 1}, got {class_id}")
        return torch.full((n,), class_id, dtype=torch.long)
    return torch.randint(k, (n,), generator=gen) if k else None


@torch.no_grad()
def sample(g, n: int, seed: int = 0, class_id: int | None = None) -> torch.Tensor:
    """n images [N, C, H, W] in [0, 1] from generator g, reproducible by seed."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, g.z_dim, generator=gen)
    y = _labels(g, n, class_id, gen)
    out = [g(z[i : i + 256], None if y is None else y[i : i + 256]).float() for i in range(0, n, 256)]
    return ((torch.cat(out) + 1) / 2).clamp(0, 1)


@torch.no_grad()
def interpolate(g, rows: int, steps: int, seed: int = 0, class_id: int | None = None) -> torch.Tensor:
    """Latent walks: rows random start/end pairs, steps frames each. Returns [T, R, C, H, W] in [0, 1]."""
    if steps < 2:
        raise ValueError(f"--interpolate needs at least 2 steps, got {steps}")
    gen = torch.Generator().manual_seed(seed)
    a, b = torch.randn(rows, g.z_dim, generator=gen), torch.randn(rows, g.z_dim, generator=gen)
    y = _labels(g, rows, class_id, gen)
    frames = [g(slerp(a, b, t), y).float() for t in torch.linspace(0, 1, steps).tolist()]
    return ((torch.stack(frames) + 1) / 2).clamp(0, 1)


def _seeds(text: str) -> list[int]:
    try:
        return [int(s) for s in text.split(",") if s.strip()] or _bad(text)
    except ValueError:
        return _bad(text)


def _bad(text: str):
    raise argparse.ArgumentTypeError(f"expected comma-separated integer seeds, got {text!r}")


def main(argv: list[str] | None = None) -> int:
    """Generate a grid, single images and/or an interpolation. Returns the exit code."""
    parser = JobParser(prog="gamelab generate", description="Generate images from a GAN run.")
    parser.add_argument("run", help="run directory (latest checkpoint) or checkpoint file")
    parser.add_argument("--n", type=int, default=64, help="images to generate")
    parser.add_argument("--grid", metavar="PATH", help="write the images as one grid PNG")
    parser.add_argument("--out", metavar="DIR", help="write each image as DIR/sample_NNNN.png")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--class", dest="class_id", type=int, help="class label (conditional generators)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--ema", dest="ema", action="store_true", default=True, help="EMA generator (default)")
    which.add_argument("--raw", dest="ema", action="store_false", help="the raw (non-averaged) generator")
    parser.add_argument("--interpolate", type=int, metavar="STEPS", help="latent interpolation frames")
    parser.add_argument("--gif", metavar="PATH", help="GIF of the interpolation (needs --interpolate)")
    parser.add_argument("--nrow", type=int, help="images per grid row")
    parser.add_argument("--truncation", type=float, default=1.0, metavar="PSI", help="StyleGAN truncation (1: none)")
    parser.add_argument("--mix-rows", type=_seeds, metavar="SEEDS", help="style-mixing table: row seeds (1,2,3)")
    parser.add_argument("--mix-cols", type=_seeds, metavar="SEEDS", help="style-mixing table: column seeds")
    parser.add_argument("--mix-layers", default="coarse", help="layers the columns give: A-B, coarse or fine")
    parser.add_argument("--mix-grid", metavar="PATH", help="where the style-mixing table goes")
    parser.add_argument("--project", metavar="IMAGE", help="find the w that reconstructs IMAGE")
    parser.add_argument("--project-steps", type=int, default=300, help="optimizer steps of --project")
    parser.add_argument("--project-out", metavar="PATH", help="target beside reconstruction PNG of --project")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"--n must be at least 1, got {args.n}")
    if args.gif and not args.interpolate:
        parser.error("--gif needs --interpolate STEPS")
    if bool(args.mix_rows) != bool(args.mix_cols):
        parser.error("a style-mixing table needs both --mix-rows and --mix-cols")
    if not 0 <= args.truncation <= 2:
        parser.error(f"--truncation must be in [0, 2], got {args.truncation}")
    if args.project_steps < 1:
        parser.error(f"--project-steps must be at least 1, got {args.project_steps}")
    try:
        for path in (args.grid, args.gif):
            if path:
                check_output_file(path)
        if args.out:
            check_output_dir(args.out)
        g, info = load_generator(args.run, ema=args.ema)
        run = Path(args.run)
        where = run / "generated" if run.is_dir() else Path(".")
        style = latent.is_style_generator(g)
        needs_style = args.truncation != 1 or args.mix_rows or args.project
        if needs_style and not style:
            raise ValueError("--truncation, --mix-rows/--mix-cols and --project need a StyleGAN run (arch stylegan)")
        written, report = [], []
        if args.mix_rows:
            layers = latent.parse_layers(args.mix_layers, g.num_ws)
            table = latent.mixing_grid(g, args.mix_rows, args.mix_cols, layers, psi=args.truncation)
            written.append(save_grid(table, args.mix_grid or where / "style_mix.png", nrow=len(args.mix_cols) + 1))
        if args.project:
            side = info["model_config"]["size"]
            target = load_image(args.project, (side, side))[0]  # [3, S, S]
            if info["model_config"]["channels"] == 1:
                target = target.mean(0, keepdim=True)
            result = latent.project(g, target, steps=args.project_steps, seed=args.seed)
            out = Path(args.project_out or where / f"projection_{Path(args.project).stem}.png")
            written.append(save_grid(torch.stack([target, result["image"]]), out, nrow=2))
            report.append(
                f"projection of {args.project}: MSE {result['mse']:.5f} (PSNR {result['psnr']:.2f} dB; "
                f"the mean image's MSE {result['start_mse']:.5f}) after {args.project_steps} steps"
            )
        if args.interpolate:
            rows = min(args.n, 8)
            if style:
                frames = latent.interpolate_w(g, rows, args.interpolate, seed=args.seed, psi=args.truncation)
            else:
                frames = interpolate(g, rows, args.interpolate, seed=args.seed, class_id=args.class_id)  # [T, R, ...]
            gif = Path(args.gif or (run / "generated" if run.is_dir() else Path(".")) / "interpolation.gif")
            pictures = [make_grid(f, nrow=rows) for f in frames]
            written.append(make_gif(pictures + pictures[-2:0:-1], gif, duration_ms=80))
            strip = frames.transpose(0, 1).reshape(-1, *frames.shape[2:])  # row r holds pair r's walk
            written.append(save_grid(strip, gif.with_suffix(".png"), nrow=args.interpolate))
        if args.grid or args.out or not (args.interpolate or args.mix_rows or args.project):
            if style:
                images = latent.sample_w(g, args.n, seed=args.seed, psi=args.truncation)
            else:
                images = sample(g, args.n, seed=args.seed, class_id=args.class_id)
            default = run / "generated" / f"grid_seed{args.seed}.png" if run.is_dir() else Path("generated_grid.png")
            grid = args.grid or default
            written.append(save_grid(images, grid, nrow=args.nrow))
            if args.out:
                for i, image in enumerate(images):
                    save_image(image, Path(args.out) / f"sample_{i:04d}.png")
                written.append(Path(args.out))
    except (CheckpointError, FileNotFoundError, ValueError) as err:
        return fail(err)
    print(f"{info['path']} (step {info['step']}, {'ema' if args.ema else 'raw'} generator)")
    for line in report:
        print(line)
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
