"""Sample-quality statistics on feature vectors: Frechet distance, KID, precision/recall, class coverage, and the
nearest-neighbour copy check.

Dimension letters: N, M set sizes, F features, K classes.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["frechet_distance", "kid", "precision_recall", "class_coverage", "nearest_neighbour", "diversity"]


def frechet_distance(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)) between Gaussians fitted to a [N, F] and b [M, F].

    The matrix square root's trace is taken from the eigenvalues of S_a^(1/2) S_b S_a^(1/2) (symmetric PSD), which
    is stable where sqrtm of the non-symmetric product is not.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(cov_a)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    middle = root_a @ cov_b @ root_a
    tr_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * tr_root)


def kid(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray, subsets: int = 20, subset_size: int = 500,
        seed: int = 0) -> tuple[float, float]:  # fmt: skip
    """Kernel Inception Distance (Binkowski et al. 2018): unbiased MMD^2 with the kernel (x.y / F + 1)^3, averaged
    over random subsets. Returns (mean, std over subsets)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    rng = np.random.default_rng(seed)
    m = min(subset_size, len(a), len(b))
    f = a.shape[1]
    values = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = (x @ x.T / f + 1) ** 3, (y @ y.T / f + 1) ** 3, (x @ y.T / f + 1) ** 3
        mmd = (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        values.append(mmd - 2 * kxy.mean())
    return float(np.mean(values)), float(np.std(values))


def _knn_radius(x: torch.Tensor, k: int) -> torch.Tensor:
    d = torch.cdist(x, x)
    return d.kthvalue(k + 1, dim=1).values  # [N]; the 0th neighbour is the point itself


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) with k-NN manifolds.

    Precision: share of fake [M, F] inside the real manifold; recall: share of real [N, F] inside the fake manifold.
    """
    real, fake = real.double(), fake.double()
    r_real, r_fake = _knn_radius(real, k), _knn_radius(fake, k)
    d = torch.cdist(fake, real)  # [M, N]
    precision = (d <= r_real[None]).any(1).double().mean()
    recall = (d.T <= r_fake[None]).any(1).double().mean()
    return float(precision), float(recall)


def class_coverage(predicted: torch.Tensor, real_labels: torch.Tensor, num_classes: int,
                   min_share: float = 0.25) -> dict:  # fmt: skip
    """How many classes the samples cover.

    A class counts as covered when its share among the samples' predicted labels [M] is at least `min_share` times
    its share among the real labels [N].

    Returns:
        {"covered": int, "classes": K, "histogram": [K] sample shares, "entropy_ratio": H(samples) / H(real)}.
    """
    fake_hist = torch.bincount(predicted.cpu(), minlength=num_classes).double()
    real_hist = torch.bincount(real_labels.cpu(), minlength=num_classes).double()
    fake_share, real_share = fake_hist / fake_hist.sum(), real_hist / real_hist.sum()
    covered = int(((fake_share >= min_share * real_share) & (real_share > 0)).sum())

    def entropy(p: torch.Tensor) -> float:
        p = p[p > 0]
        return float(-(p * p.log()).sum())

    return {"covered": covered, "classes": num_classes, "histogram": [round(float(s), 4) for s in fake_share],
            "entropy_ratio": entropy(fake_share) / max(entropy(real_share), 1e-12)}  # fmt: skip


def nearest_neighbour(samples: torch.Tensor, train: torch.Tensor, reference: torch.Tensor | None = None) -> dict:
    """Copy check in pixel space: distance of each sample [M, ...] to its nearest training image [N, ...].

    The reference is each of a subset of training images to its nearest *other* training image (the usual spacing of
    the data). Samples much closer than that spacing are near-copies.

    Returns:
        {"median_sample_nn", "median_train_nn", "ratio", "close_fraction"}: close_fraction is the share of samples
        nearer than the 5th percentile of the training spacing (about 0.05 for a generator that does not copy).
    """
    s, t = samples.flatten(1).double(), train.flatten(1).double()
    d_sample = torch.cdist(s, t).min(1).values
    ref = t if reference is None else reference.flatten(1).double()
    ref = ref[: min(len(ref), 1000)]
    d_ref = torch.cdist(ref, t)
    d_ref[d_ref < 1e-9] = float("inf")  # the image itself (and exact duplicates)
    d_ref = d_ref.min(1).values
    d_ref = d_ref[torch.isfinite(d_ref)]
    low = torch.quantile(d_ref, 0.05)
    median_s, median_t = float(d_sample.median()), float(d_ref.median())
    return {"median_sample_nn": median_s, "median_train_nn": median_t, "ratio": median_s / max(median_t, 1e-12),
            "close_fraction": float((d_sample < low).double().mean())}  # fmt: skip


def diversity(images: torch.Tensor) -> float:
    """Mean pairwise pixel distance within a batch [N, ...] (falls toward 0 under mode collapse)."""
    x = images.flatten(1).double()
    d = torch.cdist(x, x)
    n = x.shape[0]
    return float(d.sum() / max(n * (n - 1), 1))
