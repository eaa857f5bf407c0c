"""`gamelab gan eval RUN [--json]`: offline quality figures of a GAN run, each beside its real-versus-real floor.

- Frechet distance and KID in the features of a small classifier trained on the data set itself (cached with its
  held-out accuracy and the data set's hash). The floor is the same statistic between two disjoint sets of real
  images of the same size as the sample set: a generator cannot be expected to beat it at that sample count.
- Precision and recall (k-NN manifolds) on the features of a fixed random network, with the real-vs-real values.
- Class coverage: the classifier's labels for the samples against the data's class shares.
- Copy check: each sample's nearest training image in pixel space, against the data's own spacing.
- Inception FID only when `--inception WEIGHTS` names a local torchvision Inception-v3 weights file.

Unlabelled data sets have no classifier: Frechet distance and KID then use the random-network features.
Dimension letters: N images, C channels, S side, K classes, F features.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from core.checkpoint import CheckpointError
from core.job import JobParser, fail
from core.run import write_json_atomic
from generative.data import dataset_hash, load_dataset

from .features import embed, get_classifier, inception_features, load_inception, random_features
from .models import load_generator
from .quality import class_coverage, frechet_distance, kid, nearest_neighbour, precision_recall

__all__ = ["score_run", "score_samples", "main"]


def score_samples(
    samples: torch.Tensor,
    images: torch.Tensor,
    labels: torch.Tensor | None,
    num_classes: int,
    n: int | None = None,
    seed: int = 0,
    inception: str | torch.nn.Module | None = None,
) -> dict:
    """All figures for a sample set against a data set.

    Args:
        samples: generated images [M, C, S, S] in [-1, 1] (the first n are used).
        images, labels, num_classes: the data set (labels [N] or None).
        n: sample count for every statistic and its floor (default min(M, N // 2)).

    Returns:
        A dict of figures; every distance comes with its "_floor" (real vs real, same n).
    """
    gen = torch.Generator().manual_seed(seed)
    n = min(n or len(samples), len(samples), len(images) // 2)
    perm = torch.randperm(len(images), generator=gen)
    real_a, real_b, fake = images[perm[:n]], images[perm[n : 2 * n]], samples[:n].float().cpu()
    out: dict = {"n": n, "images": len(images), "data_hash": dataset_hash(images, labels)}
    rand_a, rand_b, rand_f = random_features(real_a), random_features(real_b), random_features(fake)
    clf = None
    if labels is not None and num_classes > 1:
        clf, info = get_classifier(images, labels, num_classes, out["data_hash"])
        out["classifier_accuracy"] = info["accuracy"]
        out["classifier_path"] = info["path"]
        feat_a, feat_b, feat_f = embed(clf, real_a), embed(clf, real_b), embed(clf, fake)
        out["features"] = "classifier"
    else:
        feat_a, feat_b, feat_f = rand_a, rand_b, rand_f
        out["features"] = "random"
    out["fd"] = frechet_distance(feat_f, feat_a)
    out["fd_floor"] = frechet_distance(feat_b, feat_a)
    out["fd_ratio"] = out["fd"] / max(out["fd_floor"], 1e-12)
    out["kid"], out["kid_std"] = kid(feat_f, feat_a, seed=seed)
    out["kid_floor"], _ = kid(feat_b, feat_a, seed=seed)
    out["precision"], out["recall"] = precision_recall(rand_a, rand_f)
    out["precision_floor"], out["recall_floor"] = precision_recall(rand_a, rand_b)
    if clf is not None:
        predicted = embed(clf, fake, logits=True).argmax(1)
        out["coverage"] = class_coverage(predicted, labels, num_classes)
    out["copy_check"] = nearest_neighbour(fake, images, reference=real_b)
    if inception is not None:
        inc_a, inc_b, inc_f = (inception_features(x, inception) for x in (real_a, real_b, fake))
        out["inception_fid"] = frechet_distance(inc_f, inc_a)
        out["inception_fid_floor"] = frechet_distance(inc_b, inc_a)
    return out


@torch.no_grad()
def score_run(
    run: str | Path, n: int | None = None, ema: bool = True, seed: int = 0, inception: str | None = None
) -> dict:
    """Score a run directory or checkpoint: sample n images from its generator and call `score_samples`."""
    inception = load_inception(inception) if inception else None  # a bad weights file fails before the work
    g, info = load_generator(run, ema=ema)
    cfg = info["config"]
    images, labels, k = load_dataset(cfg["data"], cfg["size"], limit=cfg.get("limit") or None)
    n = min(n or 1000, len(images) // 2)
    gen = torch.Generator().manual_seed(seed + 1)
    z = torch.randn(n, info["model_config"]["z_dim"], generator=gen)
    y = None
    if info["model_config"]["num_classes"] > 0:
        y = labels[torch.randint(len(labels), (n,), generator=gen)]  # the data's class mix
    samples = torch.cat([g(z[i : i + 256], None if y is None else y[i : i + 256]) for i in range(0, n, 256)])
    out = score_samples(samples, images, labels, k, n=n, seed=seed, inception=inception)
    out.update(run=str(run), checkpoint=info["path"], step=info["step"], generator="ema" if ema else "raw")
    if info.get("data_hash") and info["data_hash"] != out["data_hash"]:
        out["warning"] = "the data set differs from the one the run trained on"
    return out


# KID is an unbiased estimate of the squared MMD: for two sets from one distribution it scatters around 0, so a value
# (or a floor) slightly below 0 is expected and means "indistinguishable at this n", not an error.
_KID_NOTE = "unbiased: values near or below 0 mean no measurable difference"


def _report(r: dict) -> str:
    lines = [f"{r['checkpoint']}  step {r['step']}  ({r['generator']} generator, n = {r['n']} of {r['images']} images)"]
    if r["features"] == "classifier":
        lines.append(f"features: data-set classifier, held-out accuracy {r['classifier_accuracy']:.3f}")
    else:
        lines.append("features: random network (unlabelled data set: no classifier)")
    lines.append(f"{'':22}{'samples':>12}{'real floor':>12}")
    lines.append(f"{'Frechet distance':22}{r['fd']:12.3f}{r['fd_floor']:12.3f}   ratio {r['fd_ratio']:.2f}x")
    lines.append(f"{'KID':22}{r['kid']:12.5f}{r['kid_floor']:12.5f}   (std {r['kid_std']:.5f}; {_KID_NOTE})")
    lines.append(f"{'precision':22}{r['precision']:12.3f}{r['precision_floor']:12.3f}")
    lines.append(f"{'recall':22}{r['recall']:12.3f}{r['recall_floor']:12.3f}")
    if "inception_fid" in r:
        lines.append(f"{'Inception FID':22}{r['inception_fid']:12.3f}{r['inception_fid_floor']:12.3f}")
    if "coverage" in r:
        c = r["coverage"]
        lines.append(f"class coverage: {c['covered']}/{c['classes']}  entropy ratio {c['entropy_ratio']:.3f}")
        lines.append("class shares: " + " ".join(f"{s:.2f}" for s in c["histogram"]))
    cc = r["copy_check"]
    lines.append(
        f"copy check: median nearest-training distance {cc['median_sample_nn']:.3f} vs data spacing "
        f"{cc['median_train_nn']:.3f} (ratio {cc['ratio']:.2f}); {cc['close_fraction']:.1%} of samples closer "
        "than the 5th percentile of the spacing (about 5% when nothing is copied)"
    )
    if "warning" in r:
        lines.append(f"warning: {r['warning']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`gamelab gan eval RUN [--json] [--n N] [--raw] [--seed S] [--inception WEIGHTS]`. Returns the exit code."""
    parser = JobParser(prog="gamelab gan eval", description=__doc__.split("\n")[0])
    parser.add_argument("run", help="run directory or checkpoint file")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--n", type=int, default=1000, help="samples (and real images per floor set); capped at N/2")
    parser.add_argument("--raw", action="store_true", help="the raw generator instead of the EMA one")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--inception", metavar="WEIGHTS", help="torchvision Inception-v3 weights file for FID")
    args = parser.parse_args(argv)
    if args.n < 2:
        return fail(f"--n must be at least 2, got {args.n}")
    try:
        result = score_run(args.run, n=args.n, ema=not args.raw, seed=args.seed, inception=args.inception)
    except (CheckpointError, FileNotFoundError, RuntimeError, ValueError) as err:
        return fail(err)
    run = Path(args.run)
    if run.is_dir():
        write_json_atomic(run / "eval.json", result)
    print(json.dumps(result, indent=2) if args.json else _report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
