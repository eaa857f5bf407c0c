"""GAN generators and discriminators: DCGAN, a ResNet GAN with spectral norm (SNGAN), a WGAN-GP critic, and
class-conditional variants (label embedding into the generator, projection discriminator, Miyato & Koyama 2018).

Dimension letters: B batch, Z latent size, K classes, C image channels, H = W = S image side (a power of two, >= 8),
F feature channels.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from core.blocks import init_weights
from core.checkpoint import CheckpointError, latest_checkpoint, load_checkpoint

from .stylegan import StyleDiscriminator, StyleGenerator

__all__ = ["ARCHS", "KIND", "Generator", "Discriminator", "build_models", "model_config", "find_checkpoint",
           "load_generator"]  # fmt: skip

ARCHS = ("dcgan", "sngan", "wgan-gp", "stylegan")
KIND = "gan"  # the checkpoint kind of GAN training runs


def _sn(module: nn.Module, on: bool) -> nn.Module:
    return spectral_norm(module) if on else module


def _levels(size: int) -> int:
    levels = int(math.log2(size)) - 2  # 4x4 base, doubled per level
    if size < 8 or 2 ** (levels + 2) != size:
        raise ValueError(f"image size must be a power of two >= 8, got {size}")
    return levels


class _UpBlock(nn.Module):
    """SNGAN generator block: BN-ReLU-up-conv-BN-ReLU-conv plus an upsampled 1x1 shortcut. [B,Fi,H,W] -> [B,Fo,2H,2W]"""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.main = nn.Sequential(
            nn.BatchNorm2d(cin), nn.ReLU(), nn.Upsample(scale_factor=2), nn.Conv2d(cin, cout, 3, padding=1),
            nn.BatchNorm2d(cout), nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1),
        )  # fmt: skip
        self.skip = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(cin, cout, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x) + self.skip(x)


class _DownBlock(nn.Module):
    """SNGAN discriminator block with spectral norm: (ReLU)-conv-ReLU-conv-avgpool plus a 1x1 shortcut."""

    def __init__(self, cin: int, cout: int, first: bool = False, down: bool = True):
        super().__init__()
        pool = nn.AvgPool2d(2) if down else nn.Identity()
        layers = [] if first else [nn.ReLU()]
        layers += [spectral_norm(nn.Conv2d(cin, cout, 3, padding=1)), nn.ReLU()]
        layers += [spectral_norm(nn.Conv2d(cout, cout, 3, padding=1)), pool]
        self.main = nn.Sequential(*layers)
        if first:
            self.skip = nn.Sequential(pool, spectral_norm(nn.Conv2d(cin, cout, 1)))
        else:
            self.skip = nn.Sequential(spectral_norm(nn.Conv2d(cin, cout, 1)), pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x) + self.skip(x)


class Generator(nn.Module):
    """Maps noise z [B, Z] (and labels y [B] when conditional) to images [B, C, S, S] in [-1, 1].

    Args:
        arch: "dcgan" or "wgan-gp" (transposed convolutions with batch norm) or "sngan" (ResNet up-blocks).
        size: image side S. channels: C. z_dim: Z. width: F of the last block (doubles per level toward 4x4).
        num_classes: K > 0 makes it conditional (a label embedding concatenated to z).
    """

    def __init__(self, arch: str, size: int, channels: int, z_dim: int, width: int, num_classes: int = 0):
        super().__init__()
        levels = _levels(size)
        self.z_dim, self.num_classes = z_dim, num_classes
        self.embed = nn.Embedding(num_classes, z_dim) if num_classes else None
        zin = z_dim * (2 if num_classes else 1)
        widths = [width * 2 ** (levels - i) for i in range(levels + 1)]  # 4x4 ... SxS
        self.fc = nn.Linear(zin, widths[0] * 16)
        self.base = widths[0]
        if arch == "sngan":
            blocks = [_UpBlock(widths[i], widths[i + 1]) for i in range(levels)]
            head = [nn.BatchNorm2d(widths[-1]), nn.ReLU(), nn.Conv2d(widths[-1], channels, 3, padding=1), nn.Tanh()]
            self.body = nn.Sequential(*blocks, *head)
            self.pre = nn.Identity()
        else:
            self.pre = nn.Sequential(nn.BatchNorm2d(widths[0]), nn.ReLU())
            blocks = []
            for i in range(levels):
                blocks += [nn.ConvTranspose2d(widths[i], widths[i + 1], 4, 2, 1, bias=False)]
                blocks += [nn.BatchNorm2d(widths[i + 1]), nn.ReLU()]
            self.body = nn.Sequential(*blocks, nn.Conv2d(widths[-1], channels, 3, padding=1), nn.Tanh())
        init_weights(self, "normal" if arch != "sngan" else "xavier")

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if y is None:
                raise ValueError("a conditional generator needs labels y")
            z = torch.cat([z, self.embed(y)], dim=1)  # [B, 2Z]
        h = self.fc(z).view(z.shape[0], self.base, 4, 4)
        return self.body(self.pre(h))


class Discriminator(nn.Module):
    """Maps images [B, C, S, S] (and labels y [B] when conditional) to one logit per image [B].

    Args:
        arch: "dcgan" (strided convs, batch norm, leaky ReLU), "wgan-gp" (same without batch norm: the gradient
            penalty is per sample) or "sngan" (ResNet down-blocks, spectral norm everywhere).
        num_classes: K > 0 adds the projection term <embed(y), phi(x)>.
    """

    def __init__(self, arch: str, size: int, channels: int, width: int, num_classes: int = 0):
        super().__init__()
        levels = _levels(size)
        widths = [width * 2**i for i in range(levels + 1)]  # S ... 4x4
        sn = arch == "sngan"
        if sn:
            blocks = [_DownBlock(channels, widths[0], first=True)]
            blocks += [_DownBlock(widths[i], widths[i + 1]) for i in range(levels - 1)]
            blocks += [_DownBlock(widths[levels - 1], widths[levels], down=False), nn.ReLU()]
            features = widths[levels]
        else:
            norm = arch == "dcgan"
            blocks = [nn.Conv2d(channels, widths[0], 3, 1, 1), nn.LeakyReLU(0.2)]
            for i in range(levels):
                blocks += [nn.Conv2d(widths[i], widths[i + 1], 4, 2, 1, bias=not norm)]
                blocks += [nn.BatchNorm2d(widths[i + 1]) if norm else nn.Identity(), nn.LeakyReLU(0.2)]
            features = widths[levels]
        self.body = nn.Sequential(*blocks)
        self.fc = _sn(nn.Linear(features, 1), sn)
        self.embed = _sn(nn.Embedding(num_classes, features), sn) if num_classes else None
        self.num_classes = num_classes
        init_weights(self, "normal" if not sn else "xavier")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Globally summed features phi(x) [B, F]."""
        return self.body(x).sum(dim=(2, 3))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x)
        out = self.fc(h).squeeze(1)  # [B]
        if self.embed is not None:
            if y is None:
                raise ValueError("a conditional discriminator needs labels y")
            out = out + (self.embed(y) * h).sum(dim=1)
        return out


def model_config(
    arch: str, size: int, channels: int, z_dim: int = 64, g_width: int = 32, d_width: int = 32, num_classes: int = 0,
    **style,
) -> dict:
    """The keyword arguments that rebuild a model pair (stored in checkpoints). `style`: the StyleGAN generator's
    w_dim, map_depth and map_lr_mul (arch "stylegan" only)."""
    if arch not in ARCHS:
        raise ValueError(f"unknown GAN architecture {arch!r}: use one of {', '.join(ARCHS)}")
    _levels(size)
    if arch == "stylegan" and num_classes:
        raise ValueError("the stylegan architecture is not class-conditional (drop --cond)")
    extra = {k: style[k] for k in ("w_dim", "map_depth", "map_lr_mul") if k in style} if arch == "stylegan" else {}
    return dict(arch=arch, size=size, channels=channels, z_dim=z_dim, g_width=g_width, d_width=d_width,
                num_classes=num_classes, **extra)  # fmt: skip


def build_models(config: dict) -> tuple[nn.Module, nn.Module]:
    """Build (G, D) from a `model_config` dict."""
    c = model_config(**config)
    if c["arch"] == "stylegan":
        style = {k: c[k] for k in ("w_dim", "map_depth", "map_lr_mul") if k in c}
        return (StyleGenerator(c["size"], c["channels"], c["z_dim"], c["g_width"], **style),
                StyleDiscriminator(c["size"], c["channels"], c["d_width"]))  # fmt: skip
    g = Generator(c["arch"], c["size"], c["channels"], c["z_dim"], c["g_width"], c["num_classes"])
    d = Discriminator(c["arch"], c["size"], c["channels"], c["d_width"], c["num_classes"])
    return g, d


def find_checkpoint(path: str | os.PathLike) -> Path:
    """A GAN checkpoint file itself, or a run directory's latest one (checkpoints/step_*.pt).

    Raises:
        CheckpointError: nothing there, or a run directory without checkpoints (the message names the path).
    """
    path = Path(path)
    if path.is_dir():
        found = latest_checkpoint(path / "checkpoints", "step_*.pt") or latest_checkpoint(path, "step_*.pt")
        if found is None:
            raise CheckpointError(f"{path}: no GAN checkpoint (checkpoints/step_*.pt) in this run directory")
        return found
    if not path.exists():
        raise CheckpointError(f"{path}: no such run directory or checkpoint file")
    return path


def load_generator(
    path: str | os.PathLike, ema: bool = True, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict]:
    """Load a generator from a checkpoint file or a run directory (its latest checkpoint).

    Args:
        ema: the averaged generator (what samples and metrics use) rather than the raw one.

    Returns:
        (generator in eval mode, checkpoint payload without the large states, plus "path").
    Raises:
        CheckpointError: missing, damaged, not a GAN checkpoint, or its weights do not fit its model config.
    """
    path = find_checkpoint(path)
    payload = load_checkpoint(path, kind=KIND, map_location="cpu")
    try:
        g, _ = build_models(payload["model_config"])
        g.load_state_dict(payload["ema"]["module"] if ema else payload["G"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path}: not a usable GAN checkpoint ({type(err).__name__}: {err})") from err
    info = {k: v for k, v in payload.items() if k not in ("G", "D", "ema", "opt_g", "opt_d", "rng", "data_rng")}
    info["path"] = str(path)
    return g.to(device).eval(), info
