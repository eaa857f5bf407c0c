"""A StyleGAN2-style generator and discriminator in plain PyTorch (Karras et al. 2019, 2020), for CPU and CUDA.

Generator: a mapping network (z normalised by its second moment, `map_depth` equalized fully connected layers with
learning-rate multiplier `map_lr_mul`) turns z into w; a tracked average `w_avg` serves the truncation trick. The
synthesis network starts from a learned 4x4 constant; every 3x3 convolution is modulated by a per-layer style
(an affine map of w, bias 1) and demodulated (each output channel rescaled to unit expected norm), followed by
per-pixel noise with a learned strength (starts at 0) and a bias plus leaky ReLU. Each resolution adds its own
1x1 toRGB (modulated, not demodulated) into an upsampled running image ("skip" generator).

Discriminator: fromRGB at full resolution, residual blocks (two 3x3 convolutions beside a 1x1 shortcut, both
downsampled, summed with gain sqrt(1/2)), then minibatch standard deviation, a 3x3 convolution and two fully
connected layers. Resampling uses the [1,3,3,1] filter as ordinary depthwise (transposed) convolutions, so no
custom operator is needed and double backward (R1, path length) works everywhere.

Every weight uses the equalized learning rate: stored as N(0, 1) / lr_mul and scaled at run time by
lr_mul / sqrt(fan_in). `noise_mode` "auto" draws fresh noise in training mode and uses fixed per-layer noise
buffers in eval mode, so an evaluated generator is a deterministic function of z.

Dimension letters: B batch, Z latent size, W style size (w_dim), L style layers (num_ws), C image channels,
F feature channels, H = W_px = S image side.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["EqualLinear", "EqualConv2d", "ModulatedConv2d", "MappingNetwork", "StyleGenerator",
           "StyleDiscriminator", "num_ws", "style_widths"]  # fmt: skip

_GAIN = math.sqrt(2.0)  # leaky-ReLU gain: keeps the activations' scale


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2) * _GAIN


def _filter(device, dtype) -> torch.Tensor:
    k = torch.tensor([1.0, 3.0, 3.0, 1.0], device=device, dtype=dtype)
    k = k[:, None] * k[None, :]
    return k / k.sum()  # [4, 4], sums to 1


def upsample(x: torch.Tensor) -> torch.Tensor:
    """[B, F, H, W] -> [B, F, 2H, 2W]: zero insertion then the [1,3,3,1] filter (a depthwise transposed conv)."""
    c = x.shape[1]
    k = (_filter(x.device, x.dtype) * 4).expand(c, 1, 4, 4)
    return F.conv_transpose2d(x, k, stride=2, padding=1, groups=c)


def downsample(x: torch.Tensor) -> torch.Tensor:
    """[B, F, H, W] -> [B, F, H/2, W/2]: the [1,3,3,1] filter then every second pixel (a depthwise strided conv)."""
    c = x.shape[1]
    k = _filter(x.device, x.dtype).expand(c, 1, 4, 4)
    return F.conv2d(x, k, stride=2, padding=1, groups=c)


class EqualLinear(nn.Module):
    """Fully connected layer with the equalized learning rate: weight N(0,1)/lr_mul, used as weight*lr_mul/sqrt(in).

    Args:
        bias_init: initial bias (1 for style affines, so styles start near 1). act: leaky ReLU with gain sqrt(2).
    """

    def __init__(self, cin: int, cout: int, bias_init: float = 0.0, lr_mul: float = 1.0, act: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin) / lr_mul)
        self.bias = nn.Parameter(torch.full((cout,), float(bias_init) / lr_mul))
        self.weight_gain, self.lr_mul, self.act = lr_mul / math.sqrt(cin), lr_mul, act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight * self.weight_gain, self.bias * self.lr_mul)
        return _lrelu(out) if self.act else out


class EqualConv2d(nn.Module):
    """Convolution with the equalized learning rate (scale 1/sqrt(in*k*k) at run time), optional bias, leaky ReLU
    and a [1,3,3,1] downsampling before it (`down`)."""

    def __init__(self, cin: int, cout: int, kernel: int, bias: bool = True, act: bool = True, down: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.weight_gain, self.act, self.down, self.pad = 1 / math.sqrt(cin * kernel * kernel), act, down, kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.down:
            x = downsample(x)
        out = F.conv2d(x, self.weight * self.weight_gain, self.bias, padding=self.pad)
        return _lrelu(out) if self.act else out


class ModulatedConv2d(nn.Module):
    """Modulated convolution with optional demodulation (StyleGAN2), computed without per-sample weights:
    x * s, a shared convolution, then * d with d = 1/sqrt(sum_{i,k} (w_oik s_i)^2 + 1e-8) per sample and output
    channel; this equals convolving with the modulated and demodulated weights w_oik s_i d_o.

    Args:
        w_dim: style input size. up: [1,3,3,1] upsampling before the convolution. demodulate: False for toRGB.
    """

    def __init__(self, cin: int, cout: int, kernel: int, w_dim: int, demodulate: bool = True, up: bool = False):
        super().__init__()
        self.affine = EqualLinear(w_dim, cin, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.weight_gain = 1 / math.sqrt(cin * kernel * kernel)
        self.demodulate, self.up, self.pad = demodulate, up, kernel // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """x [B, Fi, H, W], w [B, W] -> [B, Fo, H', W'] (no bias, no activation)."""
        s = self.affine(w)  # [B, Fi]
        weight = self.weight * self.weight_gain
        if self.up:
            x = upsample(x)
        out = F.conv2d(x * s[:, :, None, None], weight, padding=self.pad)
        if self.demodulate:
            d = torch.rsqrt(s.square() @ weight.square().sum(dim=(2, 3)).t() + 1e-8)  # [B, Fo]
            out = out * d[:, :, None, None]
        return out


class _StyleLayer(nn.Module):
    """Modulated 3x3 conv, per-pixel noise with a learned strength (starts at 0), bias, leaky ReLU."""

    def __init__(self, cin: int, cout: int, w_dim: int, res: int, up: bool = False):
        super().__init__()
        self.conv = ModulatedConv2d(cin, cout, 3, w_dim, up=up)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.register_buffer("noise_const", torch.randn(1, 1, res, res, generator=torch.Generator().manual_seed(res)))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str) -> torch.Tensor:
        x = self.conv(x, w)
        if noise_mode == "random":
            x = x + torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device, dtype=x.dtype) * self.noise_strength
        elif noise_mode == "const":
            x = x + self.noise_const * self.noise_strength
        return _lrelu(x + self.bias[None, :, None, None])


class _ToRGB(nn.Module):
    def __init__(self, cin: int, channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(cin, channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[None, :, None, None]


def _levels(size: int) -> int:
    levels = int(math.log2(size)) - 2
    if size < 8 or 2 ** (levels + 2) != size:
        raise ValueError(f"image size must be a power of two >= 8, got {size}")
    return levels


def style_widths(size: int, width: int) -> list[int]:
    """Feature channels per resolution 4x4 ... SxS: `width` at S, doubling toward 4x4, at most 8 * width."""
    levels = _levels(size)
    return [min(width * 2 ** (levels - i), 8 * width) for i in range(levels + 1)]


def num_ws(size: int) -> int:
    """Style layers L of a generator at side S: one conv at 4x4, two per higher resolution, plus the last toRGB."""
    return 2 * _levels(size) + 2


class MappingNetwork(nn.Module):
    """z [B, Z] -> w [B, W]: second-moment normalisation of z, then `depth` equalized layers with leaky ReLU at
    learning-rate multiplier `lr_mul`. Keeps `w_avg` [W], the running mean of w for truncation."""

    def __init__(self, z_dim: int, w_dim: int, depth: int = 2, lr_mul: float = 0.01, w_avg_beta: float = 0.995):
        super().__init__()
        dims = [z_dim] + [w_dim] * depth
        self.layers = nn.Sequential(*[EqualLinear(dims[i], dims[i + 1], lr_mul=lr_mul, act=True) for i in range(depth)])
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.w_avg_beta = w_avg_beta

    def forward(self, z: torch.Tensor, update_w_avg: bool = False) -> torch.Tensor:
        x = z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8)
        w = self.layers(x)
        if update_w_avg:
            self.w_avg.copy_(w.detach().mean(0).lerp(self.w_avg, self.w_avg_beta))
        return w


class StyleGenerator(nn.Module):
    """StyleGAN2-style skip generator: z [B, Z] -> images [B, C, S, S] (about [-1, 1]; not squashed).

    Args:
        size: S. channels: C. z_dim: Z. width: F at S (doubling toward 4x4, see `style_widths`). w_dim: W.
        map_depth, map_lr_mul: mapping network depth and learning-rate multiplier.
    """

    def __init__(self, size: int, channels: int, z_dim: int, width: int, w_dim: int = 0, map_depth: int = 2,
                 map_lr_mul: float = 0.01):  # fmt: skip
        super().__init__()
        self.z_dim, self.w_dim, self.num_classes = z_dim, w_dim or z_dim, 0
        self.num_ws = num_ws(size)
        self.noise_mode = "auto"  # random in training mode, the fixed buffers in eval mode; or random/const/none
        self.mapping = MappingNetwork(z_dim, self.w_dim, map_depth, map_lr_mul)
        widths = style_widths(size, width)
        self.const = nn.Parameter(torch.randn(1, widths[0], 4, 4))
        layers, rgbs = [_StyleLayer(widths[0], widths[0], self.w_dim, 4)], [_ToRGB(widths[0], channels, self.w_dim)]
        for i in range(1, len(widths)):
            res = 4 * 2**i
            layers += [_StyleLayer(widths[i - 1], widths[i], self.w_dim, res, up=True)]
            layers += [_StyleLayer(widths[i], widths[i], self.w_dim, res)]
            rgbs += [_ToRGB(widths[i], channels, self.w_dim)]
        self.layers, self.to_rgb = nn.ModuleList(layers), nn.ModuleList(rgbs)
        self.register_buffer("pl_mean", torch.zeros(()))  # running mean path length (path-length regularization)

    def truncate(self, w: torch.Tensor, psi: float) -> torch.Tensor:
        """Move w [..., W] toward w_avg: w_avg + psi (w - w_avg) (psi 1: unchanged, 0: the average style)."""
        return w if psi == 1 else self.mapping.w_avg.lerp(w, psi)

    def styles(self, z: torch.Tensor, psi: float = 1.0, mixing: float = 0.0, update_w_avg: bool = False
               ) -> torch.Tensor:  # fmt: skip
        """Per-layer styles ws [B, L, W] for z [B, Z]: with probability `mixing` the layers from a random cutoff on
        take the w of a second random z (style-mixing regularization, one cutoff per batch)."""
        w = self.truncate(self.mapping(z, update_w_avg), psi)
        ws = w[:, None].expand(-1, self.num_ws, -1)
        if mixing > 0 and float(torch.rand(())) < mixing:
            cutoff = int(torch.randint(1, self.num_ws, ()))
            w2 = self.truncate(self.mapping(torch.randn_like(z)), psi)
            keep = (torch.arange(self.num_ws, device=z.device) < cutoff)[None, :, None]
            ws = torch.where(keep, ws, w2[:, None])
        return ws

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        """ws [B, L, W] -> images [B, C, S, S]. Layer l uses ws[:, l]; the toRGB after layer l uses ws[:, l + 1]."""
        mode = self.noise_mode if self.noise_mode != "auto" else ("random" if self.training else "const")
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        x = self.layers[0](x, ws[:, 0], mode)
        img = self.to_rgb[0](x, ws[:, 1])
        for i in range(1, len(self.to_rgb)):
            x = self.layers[2 * i - 1](x, ws[:, 2 * i - 1], mode)
            x = self.layers[2 * i](x, ws[:, 2 * i], mode)
            img = upsample(img) + self.to_rgb[i](x, ws[:, 2 * i + 1])
        return img

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None, psi: float = 1.0, mixing: float = 0.0,
                update_w_avg: bool = False) -> torch.Tensor:  # fmt: skip
        """z [B, Z] -> images [B, C, S, S]; y must be None (not class-conditional)."""
        if y is not None:
            raise ValueError("the StyleGAN generator is not class-conditional")
        return self.synthesis(self.styles(z, psi, mixing, update_w_avg))


class _DBlock(nn.Module):
    """Residual discriminator block: conv3x3, down + conv3x3, beside a down + 1x1 shortcut; sum times sqrt(1/2)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv0 = EqualConv2d(cin, cin, 3)
        self.conv1 = EqualConv2d(cin, cout, 3, down=True)
        self.skip = EqualConv2d(cin, cout, 1, bias=False, act=False, down=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.skip(x) + self.conv1(self.conv0(x))) * math.sqrt(0.5)


def minibatch_stddev(x: torch.Tensor, group: int = 4) -> torch.Tensor:
    """Append one feature map: the standard deviation of each feature over a group of samples, averaged over
    features and pixels, for each sample's group. [B, F, H, W] -> [B, F+1, H, W]. The group is the largest size
    <= `group` that divides B; sample b is grouped with b + B/G, b + 2B/G, ..."""
    b, c, h, w = x.shape
    g = max(d for d in range(1, min(group, b) + 1) if b % d == 0)
    y = x.reshape(g, -1, c, h, w)
    y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt()  # [B/G, F, H, W]
    y = y.mean(dim=(1, 2, 3))  # [B/G]
    y = y.repeat(g)[:, None, None, None].expand(b, 1, h, w)  # sample b -> group statistic b % (B/G)
    return torch.cat([x, y], dim=1)


class StyleDiscriminator(nn.Module):
    """StyleGAN2-style residual discriminator: images [B, C, S, S] -> logits [B].

    Args:
        width: F at S (doubling toward 4x4, at most 8 * width). mbstd_group: minibatch-stddev group size.
    """

    def __init__(self, size: int, channels: int, width: int, mbstd_group: int = 4):
        super().__init__()
        widths = style_widths(size, width)[::-1]  # S ... 4x4
        self.num_classes, self.mbstd_group = 0, mbstd_group
        self.from_rgb = EqualConv2d(channels, widths[0], 1)
        self.blocks = nn.Sequential(*[_DBlock(widths[i], widths[i + 1]) for i in range(len(widths) - 1)])
        top = widths[-1]
        self.conv = EqualConv2d(top + 1, top, 3)
        self.fc = EqualLinear(top * 16, top, act=True)
        self.out = EqualLinear(top, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is not None:
            raise ValueError("the StyleGAN discriminator is not class-conditional")
        h = self.blocks(self.from_rgb(x))
        h = self.conv(minibatch_stddev(h, self.mbstd_group))
        return self.out(self.fc(h.flatten(1))).squeeze(1)
