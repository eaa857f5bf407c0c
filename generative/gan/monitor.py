"""What a GAN run watches while it trains: fixed-noise sample grids and in-run quality figures of the EMA generator
(Frechet distance in the data-set classifier's features, diversity, class coverage, a mode-collapse alarm).

Nothing here draws from the global random generators, so probing never changes a run's random path (and a resumed
run, which builds its probe again, continues exactly).

Dimension letters: N samples, Z latent size, K classes, C channels, S image side.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import torch
from torch import nn

from generative.images import save_grid

from .features import embed, get_classifier
from .quality import class_coverage, diversity, frechet_distance
from .step import Parts

__all__ = ["make_probe", "probe_quality", "write_samples", "collapse_alarm"]


@torch.no_grad()
def _generate(g: nn.Module, z: torch.Tensor, y: torch.Tensor | None, batch: int = 500) -> torch.Tensor:
    out = [g(z[i : i + batch], None if y is None else y[i : i + batch]).float() for i in range(0, len(z), batch)]
    return torch.cat(out)


def make_probe(parts: Parts, x: torch.Tensor, y: torch.Tensor | None, k: int, data_hash: str) -> dict:
    """Fixed noise for sample grids and, on rank 0 with labelled data, the classifier and real features for the
    in-run Frechet distance (`eval_samples` of them, with the real-vs-real floor).

    Args:
        x: the data set [N, C, S, S] in [-1, 1]; y: labels [N] or None; k: classes.
    """
    cfg, dev = parts.cfg, parts.device
    gen = torch.Generator().manual_seed(cfg.seed + 12345)
    cond = parts.model_config["num_classes"] > 0
    n_fixed = 8 * k if cond and k <= 16 else 64
    probe = {
        "fixed_z": torch.randn(n_fixed, cfg.z_dim, generator=gen).to(dev),
        "fixed_y": (torch.arange(n_fixed) % k).to(dev) if cond else None,
        "nrow": k if cond and k <= 16 else 8,
        "num_classes": k,
    }
    idx = torch.randperm(len(x), generator=gen)
    probe["real_diversity"] = diversity(x[idx[:64]].cpu())
    if cfg.eval_samples > 0 and y is not None and k > 1 and parts.rank == 0:  # only rank 0 writes samples
        clf, info = get_classifier(x.cpu(), y.cpu(), k, data_hash)
        n = min(cfg.eval_samples, len(x) // 2)
        real_feats = embed(clf, x[idx[:n]].cpu())
        floor = frechet_distance(embed(clf, x[idx[n : 2 * n]].cpu()), real_feats)
        eval_y = y[torch.randint(len(y), (n,), generator=gen)].to(dev) if cond else None
        probe.update(classifier=clf, real_features=real_feats, labels=y.cpu(), eval_n=n, eval_y=eval_y,
                     fd_floor=floor, classifier_accuracy=info["accuracy"])  # fmt: skip
    return probe


def probe_quality(parts: Parts, probe: dict) -> dict:
    """In-run figures from the EMA generator: "diversity_ratio" (fixed samples against real images), and with a
    classifier "fd" (Frechet distance) and "coverage" (classes covered)."""
    g = parts.ema.module
    fixed = _generate(g, probe["fixed_z"], probe["fixed_y"])
    out = {"diversity_ratio": diversity(fixed.cpu()) / probe["real_diversity"]}
    if probe.get("classifier") is not None:
        gen = torch.Generator(device=parts.device).manual_seed(1)
        z = torch.randn(probe["eval_n"], parts.cfg.z_dim, generator=gen, device=parts.device)
        samples = _generate(g, z, probe["eval_y"]).cpu()
        clf = probe["classifier"]
        out["fd"] = frechet_distance(embed(clf, samples), probe["real_features"])
        pred = embed(clf, samples, logits=True).argmax(1)
        out["coverage"] = class_coverage(pred, probe["labels"], probe["num_classes"])["covered"]
    return out


def collapse_alarm(quality: dict, k: int, step: int, steps: int) -> bool:
    """Mode collapse suspected: low diversity or too few classes covered, once past the fresh-generator phase."""
    collapsed = quality["diversity_ratio"] < 0.35 or quality.get("coverage", k) < max(1, math.ceil(0.7 * k))
    return collapsed and step >= min(1000, max(200, steps // 2))  # a fresh generator looks collapsed


def write_samples(parts: Parts, probe: dict, run_dir: Path, step: int) -> Path:
    """samples/step_NNNNNNN.png (the fixed noise through the EMA generator) and a copy as samples/latest.png."""
    images = _generate(parts.ema.module, probe["fixed_z"], probe["fixed_y"])
    path = save_grid((images.cpu() + 1) / 2, run_dir / "samples" / f"step_{step:07d}.png", nrow=probe["nrow"])
    shutil.copyfile(path, run_dir / "samples" / "latest.png")
    return path
