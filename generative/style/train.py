"""Train a fast style network (Johnson et al. 2016) for one style image.

    gamelab style train STYLE --data DIR|builtin [--preset NAME] [--resume DIR] [--key=value ...]

Content images are random crops (random size, random flip) of scikit-image's built-in photos (``--data builtin``,
offline) or of the images in a folder. The loss network is the offline random multi-scale default, or VGG from a
``--weights=PATH`` file. A run directory ``runs/style__NAME__SEED__TIME/`` receives config.json, metrics.jsonl (and
metrics.png), samples/step_NNNNNN.png (fixed photos stylized as training goes) and checkpoints/step_NNNNNN.pt (full
state: config, weights, optimizer, step, random generators); ``--resume RUN_DIR`` continues the same run exactly.

Dimension letters: B images, C channels, H/W pixels (S: the square training crop side).
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from core.checkpoint import CheckpointError, latest_checkpoint, load_checkpoint, save_checkpoint
from core.config import ConfigError, config_from_dict, config_to_dict, load_toml_presets, parse_config
from core.device import autocast, pick_device, set_cpu_threads
from core.metrics import MetricsLog, plot_metrics
from core.optim import make_optimizer, make_scheduler
from core.progress import progress
from core.run import make_run_dir, write_json_atomic
from core.seeding import rng_state, seed_everything, set_rng_state

from ..data import IMAGE_SUFFIXES
from ..images import ImageError, load_image, save_grid
from .features import RANDOM_SEED, LossNetworkError, make_loss_network
from .losses import StyleTargets, tv_loss
from .network import StyleNet

__all__ = ["StyleTrainConfig", "PRESETS", "ContentSampler", "train", "main"]

PRESETS_FILE = Path(__file__).with_name("presets.toml")
PRESETS: dict[str, dict] = load_toml_presets(PRESETS_FILE)
BUILTIN_CONTENT = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "clock", "immunohistochemistry")
SAMPLE_IMAGES = ("astronaut", "chelsea")
_BEFORE_RECIPE = {"color_match": False, "scale_free": False, "pixels": False, "warmup_steps": 0}


@dataclass(frozen=True)
class StyleTrainConfig:
    style: str = ""  # style image: a path or a built-in name
    data: str = "builtin"  # "builtin" or a folder of content images
    size: int = 256  # training crop side S
    style_size: int = 256  # longer side of the style image
    batch: int = 4
    steps: int = 2000
    lr: float = 1e-3
    channels: int = 32
    blocks: int = 5
    color_match: bool = True  # start from the content with the style's colour statistics (see network.StyleNet)
    content_weight: float = 1.0
    style_weight: float = 0.5
    tv_weight: float = 1e-3
    scale_free: bool = True  # style loss on the Grams' shapes and log sizes (see losses.style_loss)
    pixels: bool = True  # the style loss also matches the RGB statistics (see losses.StyleTargets)
    style_layers: str = ""  # comma-separated loss-network layers; empty: the network's own choice
    warmup_steps: int = 0  # linear learning-rate warm-up
    weights: str = ""  # VGG16/19 state_dict file; empty: the random multi-scale loss network
    network_seed: int = RANDOM_SEED
    sample_every: int = 100
    checkpoint_every: int = 200
    log_every: int = 10
    seed: int = 0
    device: str = "auto"
    name: str = ""


class ContentSampler:
    """Random square crops of content images.

    Args:
        data: "builtin" (scikit-image's photos) or a folder (searched recursively for image files).
        size: crop side S; crops of a random side in [S, shorter image side] are resized to S, flipped half the time.
    Uses the global torch generator, which checkpoints save and restore.
    """

    def __init__(self, data: str, size: int):
        self.size = size
        if data == "builtin":
            self.sources: list[str] = [f"builtin:{name}" for name in BUILTIN_CONTENT]
        else:
            folder = Path(data).expanduser()
            if not folder.is_dir():
                raise ImageError(f"content folder {str(folder)!r} does not exist (or use --data builtin)")
            self.sources = sorted(
                str(p) for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
            if not self.sources:
                raise ImageError(f"content folder {str(folder)!r} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        self._load = functools.lru_cache(maxsize=64)(self._read)

    def _read(self, source: str) -> torch.Tensor:
        image = load_image(source)[0]  # [3, H, W]
        short = min(image.shape[-2:])
        if short < self.size:  # small pictures are enlarged so a crop fits
            image = load_image(source, round(max(image.shape[-2:]) * self.size / short) + 1)[0]
        elif short > 3 * self.size:  # keep crops of a sensible scale and decoding cheap
            image = load_image(source, round(max(image.shape[-2:]) * 3 * self.size / short))[0]
        return image

    def batch(self, n: int) -> torch.Tensor:
        """n crops [n, 3, S, S] in [0, 1]."""
        out = []
        for _ in range(n):
            image = self._load(self.sources[int(torch.randint(len(self.sources), ()))])
            h, w = image.shape[-2:]
            side = int(torch.randint(self.size, min(h, w) + 1, ()))
            top = int(torch.randint(h - side + 1, ()))
            left = int(torch.randint(w - side + 1, ()))
            crop = image[None, :, top : top + side, left : left + side]
            if side != self.size:
                crop = F.interpolate(crop, size=(self.size, self.size), mode="bilinear", antialias=True)
            if bool(torch.rand(()) < 0.5):
                crop = crop.flip(-1)
            out.append(crop.clamp(0, 1))
        return torch.cat(out)


def _sample_batch(size: int) -> torch.Tensor:
    side = max(size, 128)
    return torch.cat([load_image(f"builtin:{name}", (side, side)) for name in SAMPLE_IMAGES])


def train(cfg: StyleTrainConfig, run_dir: Path, resume: dict | None = None) -> Path:
    """Train (or continue) a fast style network in run_dir. Returns the last checkpoint's path."""
    device = pick_device(cfg.device)
    seed_everything(cfg.seed)
    net = StyleNet(cfg.channels, cfg.blocks, color_match=cfg.color_match).to(device)
    opt = make_optimizer(net, "adam", lr=cfg.lr)
    sched = make_scheduler(opt, "constant", total_steps=cfg.steps, warmup_steps=cfg.warmup_steps)
    step = 0
    if resume is not None:
        net.load_state_dict(resume["model"])
        opt.load_state_dict(resume["optimizer"])
        if "scheduler" in resume:
            sched.load_state_dict(resume["scheduler"])
        step = int(resume["step"])
        set_rng_state(resume["rng"])
    loss_net = make_loss_network(cfg.weights or None, seed=cfg.network_seed).to(device)
    layers = tuple(name.strip() for name in cfg.style_layers.split(",") if name.strip()) or None
    style_image = load_image(cfg.style, cfg.style_size).to(device)
    if cfg.color_match:
        net.set_style(style_image)
    targets = StyleTargets(
        loss_net,
        style_image,
        layers,
        pixels=cfg.pixels,
        scale_free=cfg.scale_free,
    )
    sampler = ContentSampler(cfg.data, cfg.size)
    samples = _sample_batch(cfg.size).to(device)
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_dir / "config.json", config_to_dict(cfg))
    metrics = MetricsLog(run_dir / "metrics.jsonl")
    last = latest_checkpoint(run_dir / "checkpoints")

    def checkpoint() -> Path:
        payload = {
            "config": config_to_dict(cfg),
            "net_config": dict(net.config),
            "model": net.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "step": step,
            "rng": rng_state(),
        }
        return save_checkpoint(run_dir / "checkpoints" / f"step_{step:06d}.pt", payload, kind="style")

    bar = progress(total=cfg.steps, desc="style train", unit="step")
    bar.update(step)
    net.train()
    tic, seen = time.perf_counter(), 0
    while step < cfg.steps:
        x = sampler.batch(cfg.batch).to(device)  # [B, 3, S, S]
        with autocast(device):
            y = net(x)
            style, content = targets.losses(y.float(), targets.content(x))
        tv = tv_loss(y.float())
        loss = cfg.style_weight * style + cfg.content_weight * content + cfg.tv_weight * tv
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        seen += x.shape[0]
        bar.update(1)
        if step % cfg.log_every == 0 or step == cfg.steps:
            elapsed = time.perf_counter() - tic
            metrics.log(
                step=step,
                loss=loss.item(),
                style=style.item(),
                content=content.item(),
                tv=tv.item(),
                images_per_s=seen / max(elapsed, 1e-9),
            )
            bar.set_postfix(loss=f"{loss.item():.4g}")
            tic, seen = time.perf_counter(), 0
        if step % cfg.sample_every == 0 or step == cfg.steps:
            net.eval()
            with torch.no_grad():
                save_grid(torch.cat([samples, net(samples)]).cpu(), run_dir / "samples" / f"step_{step:06d}.png", 2)
            net.train()
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            last = checkpoint()
    bar.close()
    metrics.close()
    if last is None:  # resumed a run that had already finished
        last = checkpoint()
    try:
        plot_metrics(run_dir / "metrics.jsonl", run_dir / "metrics.png", keys=["loss", "style", "content", "tv"])
    except Exception as err:  # a plot is a convenience; never lose a finished run over it
        print(f"note: no metrics plot ({err})", file=sys.stderr)
    return last


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gamelab style train",
        allow_abbrev=False,
        description="Train a fast feed-forward style network (Johnson et al. 2016) for one style image. "
        "Extra --key=value options override the config: " + ", ".join(StyleTrainConfig.__dataclass_fields__),
    )
    p.add_argument("style", nargs="?", help="style image: a file or a built-in name (brick, grass, gravel, ...)")
    p.add_argument("--data", help="content images: 'builtin' (scikit-image photos, offline) or a folder")
    p.add_argument("--preset", help=f"one of {', '.join(PRESETS)} (file {PRESETS_FILE.name})")
    p.add_argument("--resume", metavar="DIR", help="continue the run in this run directory")
    p.add_argument("--weights", metavar="PATH", help="VGG16/VGG19 torchvision state_dict for the loss network")
    p.add_argument("--runs", default="runs", help="folder for new run directories (default: runs)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: $GAMELAB_THREADS or all)")
    return p


def main(argv: list[str] | None = None) -> int:
    args, overrides = _parser().parse_known_args(argv)
    bad = [o for o in overrides if not o.startswith("--") or "=" not in o]
    if bad:
        print(f"error: unexpected argument(s) {' '.join(bad)}; config overrides look like --key=value", file=sys.stderr)
        return 2
    set_cpu_threads(args.threads)
    extra = [f"--{k}={v}" for k, v in (("style", args.style), ("data", args.data), ("weights", args.weights)) if v]
    try:
        if args.resume:
            run_dir = Path(args.resume)
            ckpt = latest_checkpoint(run_dir / "checkpoints")
            if ckpt is None:
                raise CheckpointError(f"{run_dir}: no checkpoints/step_*.pt to resume from")
            payload = load_checkpoint(ckpt, kind="style")
            saved = {**_BEFORE_RECIPE, **payload["config"]}  # runs saved before these options used the plain recipe
            cfg = config_from_dict(StyleTrainConfig, saved)
            cfg = parse_config(StyleTrainConfig, [*extra, *overrides], {"saved": config_to_dict(cfg)}, "saved")
            print(f"resuming {run_dir} from {ckpt.name} (step {payload['step']})", file=sys.stderr)
        else:
            payload = None
            cfg = parse_config(StyleTrainConfig, [*extra, *overrides], PRESETS, args.preset)
            if not cfg.style:
                print("error: give a STYLE image (a file or a built-in name such as brick)", file=sys.stderr)
                return 2
            load_image(cfg.style)  # fail now, before making a run directory, if it is missing
            name = cfg.name or Path(cfg.style.removeprefix("builtin:")).stem
            run_dir = make_run_dir("style", name, cfg.seed, root=args.runs)
        last = train(cfg, run_dir, payload)
    except (ImageError, LossNetworkError, ConfigError, CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"run: {run_dir}\ncheckpoint: {last}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
