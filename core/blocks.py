"""Network building blocks shared by the game networks and the generative models.

Shapes: B batch, C channels, H/W height and width.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ConvNormAct", "ResidualBlock", "GlobalPoolBias", "make_norm", "make_act", "init_weights"]


def make_norm(kind: str, channels: int) -> nn.Module:
    """A 2-d normalization layer: "batch", "instance" (affine), "group" (32 groups or fewer) or "none"."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "group":
        groups = math.gcd(channels, 32)
        return nn.GroupNorm(groups, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}: use batch, instance, group or none")


def make_act(kind: str) -> nn.Module:
    """An activation: "relu", "leaky_relu" (slope 0.2), "silu", "gelu", "tanh" or "none"."""
    acts = {
        "relu": lambda: nn.ReLU(inplace=True),
        "leaky_relu": lambda: nn.LeakyReLU(0.2, inplace=True),
        "silu": lambda: nn.SiLU(inplace=True),
        "gelu": nn.GELU,
        "tanh": nn.Tanh,
        "none": nn.Identity,
    }
    if kind not in acts:
        raise ValueError(f"unknown activation {kind!r}: use one of {', '.join(acts)}")
    return acts[kind]()


class ConvNormAct(nn.Sequential):
    """Conv2d, then normalization, then activation; "same" padding for odd kernels.

    Args:
        cin, cout: input and output channels.
        kernel, stride: convolution geometry.
        norm: see `make_norm`. The conv has a bias only when there is no norm.
        act: see `make_act`.
        padding_mode: "zeros" or "reflect" (reflection padding avoids border artifacts in image generators).
        spectral: wrap the conv in spectral normalization (GAN discriminators).
    """

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int = 3,
        stride: int = 1,
        norm: str = "batch",
        act: str = "relu",
        padding_mode: str = "zeros",
        spectral: bool = False,
    ):
        conv = nn.Conv2d(
            cin, cout, kernel, stride=stride, padding=kernel // 2, bias=norm == "none", padding_mode=padding_mode
        )
        if spectral:
            conv = nn.utils.parametrizations.spectral_norm(conv)
        super().__init__(conv, make_norm(norm, cout), make_act(act))


class GlobalPoolBias(nn.Module):
    """KataGo-style global pooling: mean and max of some channels become a bias on the others.

    Lets a convolutional trunk see whole-board facts (who leads, ko threats) at every point.
    Input and output [B, C, H, W].
    """

    def __init__(self, channels: int, pooled: int | None = None):
        super().__init__()
        self.pooled = pooled or max(1, channels // 4)
        self.linear = nn.Linear(2 * self.pooled, channels - self.pooled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled, rest = x[:, : self.pooled], x[:, self.pooled :]
        features = torch.cat([pooled.mean(dim=(2, 3)), pooled.amax(dim=(2, 3))], dim=1)  # [B, 2P]
        rest = rest + self.linear(features)[:, :, None, None]
        return torch.cat([pooled, rest], dim=1)


class ResidualBlock(nn.Module):
    """Two 3x3 conv-norm layers with a skip connection (He et al. 2016), optional global pooling bias between them.

    Input and output [B, C, H, W]; the last norm's scale starts at zero so a fresh block is the identity.
    """

    def __init__(
        self,
        channels: int,
        norm: str = "batch",
        act: str = "relu",
        global_pool: bool = False,
        padding_mode: str = "zeros",
    ):
        super().__init__()
        self.first = ConvNormAct(channels, channels, norm=norm, act=act, padding_mode=padding_mode)
        self.pool = GlobalPoolBias(channels) if global_pool else nn.Identity()
        self.second = ConvNormAct(channels, channels, norm=norm, act="none", padding_mode=padding_mode)
        self.act = make_act(act)
        last_norm = self.second[1]
        if getattr(last_norm, "weight", None) is not None:
            nn.init.zeros_(last_norm.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.second(self.pool(self.first(x))))


def init_weights(module: nn.Module, scheme: str = "he", gain: float = 1.0) -> nn.Module:
    """Initialize conv and linear weights in place, biases to zero; norm layers keep their own init.

    Args:
        scheme: "he" (Kaiming normal, fan-out, for ReLU nets), "xavier" (Glorot uniform) or "normal" (N(0, 0.02),
            the DCGAN init).
        gain: extra factor on the weights.
    Returns:
        The module.
    """
    if scheme not in ("he", "xavier", "normal"):
        raise ValueError(f"unknown init scheme {scheme!r}: use he, xavier or normal")
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            weight = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            if scheme == "he":
                nn.init.kaiming_normal_(weight, mode="fan_out", nonlinearity="relu")
            elif scheme == "xavier":
                nn.init.xavier_uniform_(weight)
            else:
                nn.init.normal_(weight, 0.0, 0.02)
            with torch.no_grad():
                weight.mul_(gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module
