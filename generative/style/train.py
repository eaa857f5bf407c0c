"""Train a fast style network (Johnson et al. 2016) for one style image.

    gamelab style train STYLE [--data DIR|builtin] [--preset NAME] [--key=value | --key value ...] [--resume RUN]
                        [--runs DIR] [--threads N] [--dry-run] [--print-config]

Content images are random crops (random size, random flip) of scikit-image's built-in photos (``--data builtin``,
offline) or of the images in a folder. The loss network is the offline random multi-scale default, or VGG from a
``--weights=PATH`` file. A run directory ``runs/style__NAME__SEED__TIME/`` receives config.json, metrics.jsonl (and
metrics.png), samples/step_NNNNNN.png (fixed photos stylized as training goes) and checkpoints/step_NNNNNN.pt (full
state: config, weights, optimizer, step, random generators); ``--resume RUN_DIR`` continues the same run exactly,
whenever it was killed. The learning rate, warm-up, weights of the losses, batch, crop size, data and budgets may
change on resume (and take effect at once); the style, the network's shape and the loss network may not. The run
directory is a `core.run.RunDir`: Ctrl-C or SIGTERM stops the run with one line, exit status 130 or 143.

Dimension letters: B images, C channels, H/W pixels (S: the square training crop side).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from core.checkpoint import CheckpointError
from core.config import ConfigError, bounded, check_ranges, config_to_dict, load_toml_presets
from core.device import autocast, pick_device, set_cpu_threads
from core.job import fail, job_parser, parse_job
from core.metrics import plot_metrics
from core.optim import load_optimizer_state, make_optimizer, make_scheduler
from core.progress import progress
from core.run import RunDir, make_run_dir
from core.seeding import rng_state, seed_everything, set_rng_state

from ..data import IMAGE_SUFFIXES
from ..images import ImageError, load_image, save_grid
from .features import RANDOM_SEED, LossNetworkError, make_loss_network
from .losses import StyleTargets, tv_loss
from .network import StyleNet

__all__ = ["StyleTrainConfig", "PRESETS", "FIXED_ON_RESUME", "ContentSampler", "train", "main"]

PRESETS_FILE = Path(__file__).with_name("presets.toml")
PRESETS: dict[str, dict] = load_toml_presets(PRESETS_FILE)
BUILTIN_CONTENT = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "clock", "immunohistochemistry")
SAMPLE_IMAGES = ("astronaut", "chelsea")
_BEFORE_RECIPE = {"color_match": False, "scale_free": False, "pixels": False, "warmup_steps": 0}


@dataclass(frozen=True)
class StyleTrainConfig:
    style: str = ""  # style image: a path or a built-in name
    data: str = "builtin"  # "builtin" or a folder of content images
    size: int = bounded(256, ge=16)  # training crop side S
    style_size: int = bounded(256, ge=16)  # longer side of the style image
    batch: int = bounded(4, ge=1)  # content crops per step
    steps: int = bounded(2000, ge=0)  # optimizer steps of the run
    lr: float = bounded(1e-3, gt=0)  # learning rate of Adam
    channels: int = bounded(32, ge=1)  # base channel width of the style network
    blocks: int = bounded(5, ge=0)  # residual blocks of the style network
    color_match: bool = True  # start from the content with the style's colour statistics (see network.StyleNet)
    content_weight: float = bounded(1.0, ge=0)  # weight of the content loss
    style_weight: float = bounded(0.5, ge=0)  # weight of the style loss
    tv_weight: float = bounded(1e-3, ge=0)  # weight of the total-variation loss
    scale_free: bool = True  # style loss on the Grams' shapes and log sizes (see losses.style_loss)
    pixels: bool = True  # the style loss also matches the RGB statistics (see losses.StyleTargets)
    style_layers: str = ""  # comma-separated loss-network layers; empty: the network's own choice
    warmup_steps: int = bounded(0, ge=0)  # linear learning-rate warm-up
    weights: str = ""  # VGG16/19 state_dict file; empty: the random multi-scale loss network
    network_seed: int = RANDOM_SEED  # seed of the random loss network's weights
    sample_every: int = bounded(100, ge=1)  # steps between sample images
    checkpoint_every: int = bounded(200, ge=1)  # steps between checkpoints
    log_every: int = bounded(10, ge=1)  # steps between metrics lines
    seed: int = 0  # seeds every random generator of the run
    device: str = "auto"  # auto, cpu, cuda, cuda:N or mps
    name: str = ""  # run name (default: the style image's name)

    def __post_init__(self) -> None:
        check_ranges(self)  # also for configs made with dataclasses.replace


# what the saved network and its targets depend on: refused by name when changed on --resume
FIXED_ON_RESUME = ("style", "style_size", "channels", "blocks", "color_match", "style_layers", "weights",
                   "network_seed", "seed")  # fmt: skip


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


def _run_dir(path: str | Path) -> RunDir:
    """The run directory's checkpoints: step_NNNNNN.pt, every one kept."""
    return RunDir(path, kind="style", prefix="step", digits=6)


def train(cfg: StyleTrainConfig, run_dir: Path, resume: dict | None = None) -> Path:
    """Train (or continue, from a checkpoint's payload) a fast style network in run_dir. Returns the last checkpoint.

    On resume the weights, the optimizer's moments, the schedule's position and the random generators continue where
    the checkpoint left them, while the config's learning rate and warm-up take effect (core.optim).
    """
    device = pick_device(cfg.device)
    seed_everything(cfg.seed)
    net = StyleNet(cfg.channels, cfg.blocks, color_match=cfg.color_match).to(device)
    opt = make_optimizer(net, "adam", lr=cfg.lr)
    sched = make_scheduler(opt, "constant", total_steps=cfg.steps, warmup_steps=cfg.warmup_steps)
    loss_net = make_loss_network(cfg.weights or None, seed=cfg.network_seed).to(device)
    layers = tuple(name.strip() for name in cfg.style_layers.split(",") if name.strip()) or None
    style_image = load_image(cfg.style, cfg.style_size).to(device)
    if cfg.color_match:
        net.set_style(style_image)
    targets = StyleTargets(loss_net, style_image, layers, pixels=cfg.pixels, scale_free=cfg.scale_free)
    sampler = ContentSampler(cfg.data, cfg.size)
    samples = _sample_batch(cfg.size).to(device)
    step = 0
    if resume is not None:  # last, so that nothing above draws from the restored generators
        net.load_state_dict(resume["model"])
        load_optimizer_state(opt, resume["optimizer"], sched, resume.get("scheduler"))
        step = int(resume["step"])
        set_rng_state(resume["rng"])
    run = _run_dir(run_dir)
    if resume is not None:
        run.truncate_metrics(step)  # those steps come again
    run.checkpoint_dir.mkdir(parents=True, exist_ok=True)
    run.write_config(config_to_dict(cfg))
    last = run.latest()

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
        return run.save(step, payload)

    with run.interruptible("step", f"gamelab style train --resume {run_dir}") as at:
        at.value = step
        metrics = run.metrics()
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
            lr = opt.param_groups[0]["lr"]  # the rate this step uses
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            at.value = step
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
                    lr=lr,
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


def _latest(run_dir: Path, say: bool = True) -> tuple[Path, dict]:
    payload, ckpt = _run_dir(run_dir).resume_point(say=say)
    if not isinstance(payload.get("config"), dict):
        raise CheckpointError(f"{ckpt}: checkpoint holds no config")
    return ckpt, payload


def _saved_config(run_dir: Path, args: argparse.Namespace | None = None) -> dict:
    payload = _latest(run_dir, say=False)[1]  # main says which checkpoint it continues from
    return {**_BEFORE_RECIPE, **payload["config"]}  # runs saved before these options used the plain recipe


def _dry_run(cfg: StyleTrainConfig) -> StyleTrainConfig:
    return dataclasses.replace(cfg, steps=min(cfg.steps, 2), sample_every=1, checkpoint_every=1, log_every=1)


def main(argv: list[str] | None = None) -> int:
    """`gamelab style train [STYLE] ...` (STYLE first, or --style NAME). Returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and not argv[0].startswith("-"):
        argv = [f"--style={argv[0]}", *argv[1:]]
    parser = job_parser(
        "gamelab style train",
        "Train a fast feed-forward style network (Johnson et al. 2016) for one style image: "
        "gamelab style train STYLE [--data builtin|DIR] [--preset NAME] [--key=value ...].",
        StyleTrainConfig,
        presets=PRESETS,
    )
    parser.usage = (
        "gamelab style train STYLE [--data builtin|DIR] [--preset NAME] [--key=value ...] [--resume RUN] [--runs DIR] "
        "[--threads N] [--dry-run] [--print-config]"
    )
    try:
        job = parse_job(
            parser, argv, StyleTrainConfig, presets=PRESETS, default_preset="tiny" if "--dry-run" in argv else None,
            saved_config=_saved_config, fixed_on_resume=FIXED_ON_RESUME, dry_run=_dry_run,
        )  # fmt: skip
        set_cpu_threads(job.args.threads)
        cfg = job.cfg
        if job.resume is not None:
            run_dir = job.resume
            ckpt, payload = _latest(run_dir)
            print(f"resuming {run_dir} from {ckpt.name} (step {payload['step']})", file=sys.stderr)
        else:
            payload = None
            if not cfg.style:
                raise ConfigError("give a STYLE image (a file or a built-in name such as brick)")
            load_image(cfg.style)  # fail now, before making a run directory, if it is missing
            ContentSampler(cfg.data, cfg.size)  # the same for the content folder
            name = cfg.name or Path(cfg.style.removeprefix("builtin:")).stem
            run_dir = make_run_dir("style", name, cfg.seed, root=job.args.runs)
        last = train(cfg, run_dir, payload)
    except (ImageError, LossNetworkError, ConfigError, CheckpointError) as err:
        return fail(err)
    except SystemExit as done:  # --help, --print-config, or a malformed command line (already reported)
        return int(done.code or 0)
    print(f"run: {run_dir}\ncheckpoint: {last}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
