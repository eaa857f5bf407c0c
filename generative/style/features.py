"""Loss networks for style transfer, texture synthesis and Deep Dream.

Two kinds, with one layer vocabulary (``conv{b}_{i}``, ``relu{b}_{i}``, ``pool{b}``, as in the papers):

- `VGGFeatures`: the convolutional part of VGG16 or VGG19 in torchvision's layout (``features.{index}.weight`` /
  ``.bias``), filled from a user's pretrained state_dict file (`load_vgg`). Nothing is downloaded.
- `RandomFeatures`: the offline default, a network of random convolutions (no training, no file). Random features
  are enough for textures and style (Ustyuzhaninov et al., ICLR 2017, "What does it take to generate natural
  textures?"; He, Wang & Hopcroft, NeurIPS 2016, "A powerful generative model using random weights for the deep
  image representation"). Ours follows Ustyuzhaninov's multi-scale model: each of five stages holds random filters of
  several sizes side by side (3, 5 and 7 pixels), then a ReLU and a 2x average pooling, so the stages see windows from
  3 to over 100 pixels; stage b's output is ``relu{b}_1``. The weights are drawn from their own generator seeded with
  `RANDOM_SEED` (they never touch the global random state), He-scaled, with zero-mean filters so that each feature
  responds to structure rather than to brightness.

Input to both: RGB images [B, 3, H, W] in [0, 1]; they are normalized with the ImageNet mean and std inside.
Dimension letters: B images, C channels, H/W pixels.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from core.checkpoint import CheckpointError, load_tensor_file

__all__ = [
    "RANDOM_SEED",
    "VGG_LAYOUTS",
    "LossNetworkError",
    "VGGFeatures",
    "RandomFeatures",
    "load_vgg",
    "make_loss_network",
]

RANDOM_SEED = 2017  # the offline default loss network's weights: fixed, so results repeat on every machine

# torchvision's VGG "features" configurations: channel counts of the 3x3 convolutions, "M" for a 2x2 pooling.
VGG_LAYOUTS: dict[str, list[int | str]] = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


class LossNetworkError(ValueError):
    """A VGG weights file is missing, unreadable, or not a torchvision VGG16/VGG19 state_dict; names the file."""


class _Normalize(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class _FeatureNet(nn.Module):
    """A sequence of named layers; `forward` returns the outputs of the layers asked for."""

    style_layers: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    content_layers: tuple[str, ...] = ("relu4_2",)
    dream_layer: str = "relu4_1"

    def __init__(self, names: list[str], layers: list[nn.Module]):
        super().__init__()
        self.normalize = _Normalize()
        self.names = list(names)
        self.features = nn.Sequential(*layers)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor, layers: list[str] | tuple[str, ...]) -> dict[str, torch.Tensor]:
        """Run up to the deepest layer asked for.

        Args:
            x: images [B, 3, H, W] in [0, 1].
            layers: layer names (see `names`).
        Returns:
            name -> activations [B, C, H', W'].
        """
        wanted = set(layers)
        unknown = wanted - set(self.names)
        if unknown:
            raise ValueError(f"unknown layer(s) {', '.join(sorted(unknown))}; this network has {', '.join(self.names)}")
        out: dict[str, torch.Tensor] = {}
        h = self.normalize(x)
        for name, layer in zip(self.names, self.features):
            h = layer(h)
            if name in wanted:
                out[name] = h
                if len(out) == len(wanted):
                    break
        return out


class VGGFeatures(_FeatureNet):
    """VGG16/VGG19 convolutional layers with torchvision's indices, so a torchvision state_dict loads as is.

    Args:
        arch: "vgg16" or "vgg19".
        pool: "max" (as trained) or "avg" (smoother images, as Gatys et al. 2016 recommend for synthesis).
    """

    def __init__(self, arch: str = "vgg19", pool: str = "avg"):
        if arch not in VGG_LAYOUTS:
            raise ValueError(f"unknown VGG {arch!r}: use {' or '.join(VGG_LAYOUTS)}")
        names, layers, block, conv, cin = [], [], 1, 1, 3
        for item in VGG_LAYOUTS[arch]:
            if item == "M":
                names.append(f"pool{block}")
                layers.append(nn.MaxPool2d(2, 2) if pool == "max" else nn.AvgPool2d(2, 2))
                block, conv = block + 1, 1
                continue
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
            layers += [nn.Conv2d(cin, int(item), 3, padding=1), nn.ReLU()]
            cin, conv = int(item), conv + 1
        super().__init__(names, layers)
        self.arch = arch


class _MultiScaleConv(nn.Module):
    """Random filters of several sizes side by side: [B, Cin, H, W] -> [B, sum(widths), H, W]."""

    def __init__(self, cin: int, widths: dict[int, int], generator: torch.Generator):
        super().__init__()
        self.convs = nn.ModuleList()
        for kernel, cout in widths.items():
            with torch.random.fork_rng(devices=[]):  # nn.Conv2d's own init would draw from the global generator
                conv = nn.Conv2d(cin, cout, kernel, padding=kernel // 2, padding_mode="replicate")
            w = torch.randn(conv.weight.shape, generator=generator)
            w = w - w.mean(dim=(1, 2, 3), keepdim=True)  # zero-mean filters: respond to structure, not brightness
            w = w * (2.0 / (cin * kernel * kernel)) ** 0.5  # He scaling keeps activations of similar size per stage
            conv.weight.data.copy_(w)
            conv.bias.data.zero_()
            self.convs.append(conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([conv(x) for conv in self.convs], dim=1)


class RandomFeatures(_FeatureNet):
    """The offline default loss network: five stages of random multi-scale filters (see the module docstring).

    Args:
        seed: seed of the weights (default `RANDOM_SEED`).
        widths: per stage, filters per kernel size.
    """

    style_layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    content_layers = ("relu3_1",)
    dream_layer = "relu3_1"

    def __init__(
        self,
        seed: int = RANDOM_SEED,
        widths: tuple[dict[int, int], ...] = (
            {3: 32, 5: 32, 7: 32},
            {3: 64, 5: 32, 7: 32},
            {3: 96, 5: 32, 7: 32},
            {3: 128, 5: 64},
            {3: 128, 5: 64},
        ),
    ):
        generator = torch.Generator().manual_seed(int(seed))
        names, layers, cin = [], [], 3
        for b, stage in enumerate(widths, start=1):
            conv = _MultiScaleConv(cin, stage, generator)
            names += [f"conv{b}_1", f"relu{b}_1", f"pool{b}"]
            layers += [conv, nn.ReLU(), nn.AvgPool2d(2, 2, ceil_mode=True)]
            cin = sum(stage.values())
        super().__init__(names, layers)
        self.seed = int(seed)


def load_vgg(path: str | os.PathLike, pool: str = "avg") -> VGGFeatures:
    """Build VGG16 or VGG19 (told apart by the number of conv layers) from a torchvision-layout state_dict file.

    The file is what ``torch.save(torchvision.models.vgg19(weights=...).state_dict(), path)`` writes (a whole model's
    ``features.*`` and ``classifier.*`` keys; only ``features.*`` is used; a ``module.`` prefix from DataParallel is
    accepted).

    Raises:
        LossNetworkError: the file is missing, unreadable, or not a VGG16/VGG19 state_dict (the message names the file
            and what is wrong).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise LossNetworkError(f"VGG weights file {str(path)!r} does not exist")
    try:
        state = load_tensor_file(path, what="VGG weights file")  # never runs code a crafted file carries
    except CheckpointError as err:
        raise LossNetworkError(f"cannot read VGG weights file {err}") from err
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise LossNetworkError(f"{str(path)!r} is not a state_dict (a dict of tensors)")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    features = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
    convs = sum(1 for k, v in features.items() if k.endswith(".weight") and v.dim() == 4)
    arch = {13: "vgg16", 16: "vgg19"}.get(convs)
    if arch is None:
        raise LossNetworkError(
            f"{str(path)!r} is not a torchvision VGG16/VGG19 state_dict: found {convs} 'features.N.weight' conv "
            "kernels (VGG16 has 13, VGG19 has 16)"
        )
    net = VGGFeatures(arch, pool=pool)
    try:
        net.features.load_state_dict(features, strict=True)
    except RuntimeError as err:
        raise LossNetworkError(f"{str(path)!r} does not match torchvision's {arch} layout: {err}") from err
    return net


def make_loss_network(weights: str | os.PathLike | None = None, seed: int = RANDOM_SEED) -> _FeatureNet:
    """The loss network: VGG from a weights file when one is given, else the random multi-scale default."""
    if weights:
        return load_vgg(weights)
    return RandomFeatures(seed=seed)
