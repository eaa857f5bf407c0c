"""`gamelab gan memorisation RUN`: does a generator copy its training images?

Each generated image's distance to its nearest training image is set against the same distance for held-out real
images (never trained on). A generator that produces new faces sits about as far from the training set as
held-out faces do (ratio near 1 or above); one that copies sits much closer (ratio well below 1, and many samples
nearer than any held-out face). Distances are root-mean-square pixel differences with pixels in [0, 1].

    gamelab gan memorisation RUN [--n N] [--heldout SPEC] [--picture PATH] [--seed S] [--json]

Data sets with a fixed held-out split know it (``faces`` -> ``faces-heldout``); others need ``--heldout SPEC``.
The picture shows samples over their nearest training images, then held-out images over theirs.
Dimension letters: N samples, M training images, H held-out images, C/S image.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from core.checkpoint import CheckpointError
from core.job import JobParser, fail
from generative.data import load_dataset
from generative.images import save_grid

from .models import load_generator

__all__ = ["HELDOUT", "nearest", "memorisation", "memorisation_picture", "check_run", "main"]

HELDOUT = {"faces": "faces-heldout"}  # data sets with a fixed held-out split


def nearest(images: torch.Tensor, train: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """RMS pixel distance [N] of each image [N, C, S, S] (values in [-1, 1]) to its nearest training image, and that
    image's index [N]."""
    a, b = (images.flatten(1).double() + 1) / 2, (train.flatten(1).double() + 1) / 2
    d = torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist") / a.shape[1] ** 0.5  # exact 0 for copies
    best = d.min(1)
    return best.values, best.indices


def memorisation(samples: torch.Tensor, train: torch.Tensor, heldout: torch.Tensor) -> dict:
    """The memorisation figures of samples [N, C, S, S] against a training set [M, ...] and held-out images [H, ...].

    Returns:
        {"sample_nn_median", "heldout_nn_median", "ratio" (sample over held-out median), "closer_than_heldout"
        (share of samples nearer to the training set than the nearest held-out image is), "n", "heldout"}.
    """
    ds, _ = nearest(samples, train)
    dh, _ = nearest(heldout, train)
    ms, mh = float(ds.median()), float(dh.median())
    return {"sample_nn_median": ms, "heldout_nn_median": mh, "ratio": ms / max(mh, 1e-12),
            "closer_than_heldout": float((ds < dh.min()).double().mean()), "n": len(samples),
            "heldout": len(heldout)}  # fmt: skip


def memorisation_picture(samples: torch.Tensor, train: torch.Tensor, heldout: torch.Tensor, path: str | Path,
                         per_row: int = 8) -> Path:  # fmt: skip
    """A PNG grid: rows of samples, each over a row of their nearest training images; then held-out images over
    theirs. Uses the first `per_row` * 2 samples and the first `per_row` held-out images."""
    rows = []
    for group in (samples[: per_row * 2], heldout[:per_row]):
        for i in range(0, len(group), per_row):
            chunk = group[i : i + per_row]
            _, idx = nearest(chunk, train)
            rows += [chunk, train[idx]]
    return save_grid((torch.cat(rows).clamp(-1, 1) + 1) / 2, path, nrow=per_row)


@torch.no_grad()
def check_run(run: str | Path, n: int = 200, heldout: str | None = None, seed: int = 0,
              picture: str | Path | None = None) -> dict:  # fmt: skip
    """Sample n images from a run's EMA generator and compute `memorisation` (and the picture when asked)."""
    g, info = load_generator(run)
    cfg = info["config"]
    spec = heldout or HELDOUT.get(cfg["data"])
    if spec is None:
        raise ValueError(f"data set {cfg['data']!r} has no fixed held-out split: name one with --heldout SPEC")
    train, _, _ = load_dataset(cfg["data"], cfg["size"], limit=cfg.get("limit") or None)
    held, _, _ = load_dataset(spec, cfg["size"])
    z = torch.randn(n, info["model_config"]["z_dim"], generator=torch.Generator().manual_seed(seed))
    samples = torch.cat([g(z[i : i + 256]).float() for i in range(0, n, 256)])
    out = memorisation(samples, train, held)
    out.update(checkpoint=info["path"], step=info["step"], data=cfg["data"], heldout_spec=spec)
    if picture is not None:
        out["picture"] = str(memorisation_picture(samples, train, held, picture))
    return out


def main(argv: list[str] | None = None) -> int:
    """`gamelab gan memorisation RUN ...`. Returns the exit code."""
    parser = JobParser(prog="gamelab gan memorisation", description=__doc__.split("\n")[0])
    parser.add_argument("run", help="run directory or checkpoint file")
    parser.add_argument("--n", type=int, default=200, help="samples")
    parser.add_argument("--heldout", metavar="SPEC", help="held-out data set (default: the data set's fixed split)")
    parser.add_argument("--picture", metavar="PATH", help="write samples beside their nearest training images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.n < 1:
        return fail(f"--n must be at least 1, got {args.n}")
    try:
        r = check_run(args.run, n=args.n, heldout=args.heldout, seed=args.seed, picture=args.picture)
    except (CheckpointError, FileNotFoundError, ValueError) as err:
        return fail(err)
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    print(f"{r['checkpoint']}  step {r['step']}  ({r['n']} samples, {r['heldout']} held-out images of {r['data']})")
    print(f"median RMS distance to the nearest training image: samples {r['sample_nn_median']:.4f}, "
          f"held-out {r['heldout_nn_median']:.4f} (ratio {r['ratio']:.2f}; well below 1 means copying)")  # fmt: skip
    print(f"{r['closer_than_heldout']:.1%} of samples are nearer to a training image than any held-out image is")
    if "picture" in r:
        print(f"wrote {r['picture']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
