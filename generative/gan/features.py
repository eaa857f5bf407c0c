"""Feature extractors for offline GAN metrics.

- A small classifier trained on the data set itself (its penultimate layer gives the "domain" features for Frechet
  distance and KID; its predictions give class coverage). It is cached by data-set hash, with its held-out accuracy.
- A fixed random convolutional network (multi-scale pooled features) for precision and recall; random features
  separate image sets well for small images and need no training data (Naeem et al. 2020 use them the same way).
- torchvision's Inception-v3 pool features, only from a weights file the user supplies.

Dimension letters: N images, C channels, S image side, K classes, F features.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from core.checkpoint import CheckpointError, load_checkpoint, load_tensor_file, save_checkpoint

__all__ = ["Classifier", "cache_dir", "get_classifier", "random_features", "inception_features", "embed"]


class Classifier(nn.Module):
    """Conv net for [N, C, S, S] images in [-1, 1]; `features` gives [N, F], `forward` logits [N, K]."""

    def __init__(self, channels: int, num_classes: int, width: int = 16, feature_dim: int = 64):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.Conv2d(2 * width, 4 * width, 3, stride=2, padding=1), nn.BatchNorm2d(4 * width), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * width, feature_dim), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def cache_dir() -> Path:
    """Where trained metric classifiers are kept: $GAMELAB_CACHE, else ~/.cache/gamelab."""
    return Path(os.environ.get("GAMELAB_CACHE", Path.home() / ".cache" / "gamelab")) / "gan_eval"


def _train_classifier(
    images: torch.Tensor, labels: torch.Tensor, num_classes: int, epochs: int, seed: int
) -> tuple[Classifier, float]:
    gen = torch.Generator().manual_seed(seed)
    n = images.shape[0]
    order = torch.randperm(n, generator=gen)
    n_test = max(1, n // 5)
    test, train = order[:n_test], order[n_test:]
    model = Classifier(images.shape[1], num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    steps_per_epoch = max(1, len(train) // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=epochs * steps_per_epoch)
    model.train()
    for _ in range(epochs):
        perm = train[torch.randperm(len(train), generator=gen)]
        for i in range(steps_per_epoch):
            idx = perm[i * 64 : (i + 1) * 64]
            x = images[idx]
            shift = torch.randint(-1, 2, (2,), generator=gen).tolist()  # small translations for robustness
            x = torch.roll(x, shifts=shift, dims=(2, 3))
            loss = F.cross_entropy(model(x), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        accuracy = float((embed(model, images[test], logits=True).argmax(1) == labels[test]).float().mean())
    return model, accuracy


def get_classifier(
    images: torch.Tensor, labels: torch.Tensor, num_classes: int, data_hash: str, epochs: int = 15, seed: int = 0
) -> tuple[Classifier, dict]:
    """Load the cached classifier for this data set, or train and cache one; the global random generators are left
    as they were either way (a training run that builds its probe after a resume stays on its own random path).

    Args:
        images: [N, C, S, S] in [-1, 1]. labels: [N]. data_hash: `generative.data.dataset_hash` of the set.

    Returns:
        (model in eval mode, info {"accuracy", "data_hash", "path", "cached"}).
    """
    path = cache_dir() / f"classifier_{data_hash}_{images.shape[-1]}px.pt"
    if path.is_file():
        try:
            payload = load_checkpoint(path, kind="gan-classifier")
            with torch.random.fork_rng():  # building a module draws its initial weights: keep the caller's stream
                model = Classifier(images.shape[1], num_classes)
            model.load_state_dict(payload["model"])
            if payload["data_hash"] == data_hash:
                info = {"accuracy": payload["accuracy"], "data_hash": data_hash, "path": str(path), "cached": True}
                return model.eval(), info
        except (CheckpointError, KeyError, RuntimeError):
            pass  # a stale or damaged cache entry: train again
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model, accuracy = _train_classifier(images.float().cpu(), labels.cpu(), num_classes, epochs, seed)
    payload = {"model": model.state_dict(), "accuracy": accuracy, "data_hash": data_hash, "epochs": epochs}
    save_checkpoint(path, payload, kind="gan-classifier")
    return model, {"accuracy": accuracy, "data_hash": data_hash, "path": str(path), "cached": False}


class _RandomNet(nn.Module):
    def __init__(self, channels: int, width: int = 64, seed: int = 1234):
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.convs = nn.ModuleList(
                [nn.Conv2d(channels, width, 3, padding=1), nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
                 nn.Conv2d(2 * width, 4 * width, 3, stride=2, padding=1)]
            )  # fmt: skip
            for conv in self.convs:
                nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
                nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = []
        for conv in self.convs:
            x = F.relu(conv(x))
            feats.append(F.adaptive_avg_pool2d(x, 2).flatten(1))  # coarse layout of each scale
        return torch.cat(feats, 1)


def random_features(images: torch.Tensor, seed: int = 1234) -> torch.Tensor:
    """Features [N, F] of a fixed random conv net (same seed, same net), for precision/recall."""
    return embed(_RandomNet(images.shape[1], seed=seed).eval(), images)


def load_inception(weights: str | os.PathLike) -> nn.Module:
    """torchvision's Inception-v3 (pool features) from a local weights file (no download), read without running code.

    Raises:
        CheckpointError: the file is missing, damaged, or needs code to load (the message names the file).
        RuntimeError: torchvision is not installed, or the file does not hold Inception-v3 weights.
    """
    path = Path(weights)
    state = load_tensor_file(path, what="Inception weights file")  # checked first, so a bad file fails fast
    try:
        from torchvision.models import inception_v3
    except ImportError as err:
        raise RuntimeError("Inception FID needs torchvision (pip install torchvision)") from err
    model = inception_v3(weights=None, aux_logits=True, init_weights=False)
    try:
        model.load_state_dict(state.get("state_dict", state) if isinstance(state, dict) else state)
    except (RuntimeError, AttributeError, TypeError) as err:
        raise RuntimeError(f"{path}: not torchvision Inception-v3 weights ({err})") from err
    model.fc = nn.Identity()
    return model.eval()


def inception_features(images: torch.Tensor, weights: str | os.PathLike | nn.Module) -> torch.Tensor:
    """2048-d pool features of Inception-v3: a model from `load_inception`, or its weights file.

    Raises:
        CheckpointError, RuntimeError: as `load_inception`.
    """
    model = weights if isinstance(weights, nn.Module) else load_inception(weights)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    out = []
    with torch.no_grad():
        for chunk in images.split(32):
            x = (chunk.float() + 1) / 2
            x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
            x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
            out.append(model((x - mean) / std))
    return torch.cat(out)


@torch.no_grad()
def embed(model: nn.Module, images: torch.Tensor, logits: bool = False, batch: int = 256) -> torch.Tensor:
    """Run model.features (or the logits) over images [N, C, S, S] in chunks on the CPU. Returns [N, F]."""
    fn = model if logits or not hasattr(model, "features") else model.features
    return torch.cat([fn(chunk.float().cpu()) for chunk in images.split(batch)])
