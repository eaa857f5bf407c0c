"""Johnson et al. (2016) fast style network: one forward pass stylizes an image.

Layout (pytorch/examples ``fast_neural_style`` with the usual fixes): a 9x9 convolution, two stride-2 convolutions
down, residual blocks, two upsample-then-convolve stages up (nearest 2x upsampling and a 3x3 convolution instead of a
transposed convolution, against checkerboard artifacts; Odena et al. 2016), a 9x9 convolution to RGB. Reflection
padding everywhere and instance normalization (Ulyanov et al. 2016). The output is a sigmoid, an image in [0, 1].

With ``skip=True`` (the default) the network predicts a change of the input: the output is
``sigmoid(logit(input) + net(input))`` and the last convolution starts at zero, so a fresh network returns its input,
as a Gatys optimization starts from the content image. It then learns the style in hundreds of steps instead of the
tens of thousands Johnson's network needs to first learn to reproduce photos; ``skip=False`` is the original.
With ``color_match=True`` the change is applied to the input with its colour statistics matched to the style
image's (each channel shifted and scaled to the style's mean and standard deviation, Reinhard et al. 2001; the
style's statistics are buffers, saved with the weights): the network starts from a picture with the style's palette
and contrast and only has to learn the pattern. Without it, a low-contrast style such as a brick wall is first
approached by darkening everything, a plateau a short training run does not leave.
Any input size works: the input is reflection-padded to a multiple of 4 and the output cropped back.

Dimension letters: B images, C channels, H/W pixels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.blocks import ConvNormAct, ResidualBlock

__all__ = ["StyleNet"]


class StyleNet(nn.Module):
    """Image-to-image style network.

    Args:
        channels: width of the first stage (the next two are 2x and 4x it; Johnson's network: 32).
        blocks: residual blocks at the lowest resolution (Johnson: 5).
        skip: predict a change of the input (see the module docstring).
        color_match: start from the input with the style's colour statistics (see the module docstring; set them
            with `set_style`).
    Input [B, 3, H, W] in [0, 1]; output [B, 3, H, W] in [0, 1].
    """

    def __init__(self, channels: int = 32, blocks: int = 5, skip: bool = True, color_match: bool = False):
        super().__init__()
        c1, c2, c3 = channels, 2 * channels, 4 * channels
        self.config = {
            "channels": channels,
            "blocks": blocks,
            "skip": skip,
            "color_match": color_match,
        }
        self.skip = skip
        self.color_match = color_match
        if color_match:
            self.register_buffer("style_mean", torch.full((1, 3, 1, 1), 0.5))
            self.register_buffer("style_std", torch.full((1, 3, 1, 1), 0.25))
        pad = "reflect"
        self.down = nn.Sequential(
            ConvNormAct(3, c1, 9, norm="instance", padding_mode=pad),
            ConvNormAct(c1, c2, 3, stride=2, norm="instance", padding_mode=pad),
            ConvNormAct(c2, c3, 3, stride=2, norm="instance", padding_mode=pad),
        )
        self.res = nn.Sequential(*[ResidualBlock(c3, norm="instance", padding_mode=pad) for _ in range(blocks)])
        self.up = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            ConvNormAct(c3, c2, 3, norm="instance", padding_mode=pad),
            nn.Upsample(scale_factor=2, mode="nearest"),
            ConvNormAct(c2, c1, 3, norm="instance", padding_mode=pad),
            ConvNormAct(c1, 3, 9, norm="none", act="none", padding_mode=pad),
        )
        if skip:
            nn.init.zeros_(self.up[-1][0].weight)
            nn.init.zeros_(self.up[-1][0].bias)

    @classmethod
    def from_config(cls, config: dict) -> StyleNet:
        """Rebuild from `net.config`."""
        return cls(**config)

    @torch.no_grad()
    def set_style(self, style: torch.Tensor) -> None:
        """Store the colour statistics of a style image [1, 3, H, W] (used with color_match)."""
        self.style_mean.copy_(style.float().mean(dim=(2, 3), keepdim=True))
        self.style_std.copy_(style.float().std(dim=(2, 3), keepdim=True))

    def matched(self, x: torch.Tensor) -> torch.Tensor:
        """Images [B, 3, H, W] with each channel's mean and std set to the style's (clamped to [0, 1])."""
        mean = x.mean(dim=(2, 3), keepdim=True)
        std = x.std(dim=(2, 3), keepdim=True) if x.shape[-2] * x.shape[-1] > 1 else torch.ones_like(mean)
        return ((x - mean) / (std + 1e-5) * self.style_std + self.style_mean).clamp(0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.color_match:
            x = self.matched(x)
        h, w = x.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        if ph or pw:
            mode = "reflect" if min(h, w) > max(ph, pw) else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        y = self.up(self.res(self.down(x)))[..., :h, :w]
        if self.skip:
            y = y + torch.logit(x[..., :h, :w].clamp(1e-3, 1 - 1e-3))
        return torch.sigmoid(y)
