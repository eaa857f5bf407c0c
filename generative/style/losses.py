"""Losses of neural style transfer: content, Gram-matrix style, total variation.

Dimension letters: B images, C channels, H/W pixels. Features come from a loss network (generative.style.features) as
a dict layer name -> [B, C, H, W].
"""

from __future__ import annotations

import torch

__all__ = ["gram_matrix", "content_loss", "style_loss", "tv_loss", "StyleTargets"]


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Channel correlations averaged over positions: G[c, d] = mean_p F[c, p] F[d, p].

    Averaging (not summing) makes the Gram independent of the image size, so a style image of any size serves any
    output size, and the losses at every scale of a coarse-to-fine run are comparable.

    Args:
        features: [B, C, H, W].
    Returns:
        [B, C, C].
    """
    b, c, h, w = features.shape
    f = features.reshape(b, c, h * w).float()
    return f @ f.transpose(1, 2) / (h * w)


def content_loss(features: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean squared difference of activations, summed over the target layers (each normalized by its target's
    mean square, so layers of any scale weigh alike).

    Args:
        features, targets: layer -> [B, C, H, W] (targets may have batch 1 and broadcast).
    Returns:
        scalar.
    """
    total = torch.zeros((), device=next(iter(targets.values())).device)
    for name, target in targets.items():
        scale = target.pow(2).mean().clamp_min(1e-8)
        total = total + (features[name].float() - target).pow(2).mean() / scale
    return total


def style_loss(
    features: dict[str, torch.Tensor],
    target_grams: dict[str, torch.Tensor],
    scale_free: bool = False,
) -> torch.Tensor:
    """Squared Frobenius distance of Gram matrices, each layer divided by its target Gram's squared norm.

    The per-layer normalization gives every layer an equal say whatever its activation scale (important for random
    loss networks, whose layers differ in scale by orders of magnitude).

    Args:
        features: layer -> [B, C, H, W].
        target_grams: layer -> [1 or B, C, C].
        scale_free: compare the Grams' shapes and sizes apart: the squared distance of the unit-norm Grams plus the
            squared log ratio of their norms. Shrinking all activations (a darker, flatter image) then costs more and
            more instead of bringing the loss down to 1 per layer, so a trained network has no such plateau to sit on.
    Returns:
        scalar (mean over the batch, sum over layers).
    """
    total = torch.zeros((), device=next(iter(target_grams.values())).device)
    for name, target in target_grams.items():
        g = gram_matrix(features[name])
        if scale_free:
            g_norm = g.flatten(1).norm(dim=1).clamp_min(1e-12)[:, None, None]  # [B, 1, 1]
            t_norm = target.flatten(1).norm(dim=1).clamp_min(1e-12)[:, None, None]
            shape = (g / g_norm - target / t_norm).pow(2).sum(dim=(1, 2))
            total = total + (shape + torch.log(g_norm / t_norm).flatten().pow(2)).mean()
            continue
        scale = target.pow(2).sum(dim=(1, 2)).clamp_min(1e-12)  # [1 or B]
        total = total + ((g - target).pow(2).sum(dim=(1, 2)) / scale).mean()
    return total


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference of neighbouring pixels, [B, C, H, W] -> scalar."""
    dh = (image[:, :, 1:, :] - image[:, :, :-1, :]).pow(2).mean()
    dw = (image[:, :, :, 1:] - image[:, :, :, :-1]).pow(2).mean()
    return dh + dw


class StyleTargets:
    """The fixed targets of one style (and optionally one content) image for a loss network.

    Args:
        net: a loss network (generative.style.features).
        style: style image [1, 3, H, W] in [0, 1].
        style_layers, content_layers: layer names (default: the network's own choice).
        pixels: add the image's own pixels as one more style layer ("pixels": the 3 x 3 Gram of the RGB values), so
            overall brightness and colour count: a loss network with zero-mean filters hardly sees them, and a trained
            network is otherwise free to darken everything to lower the contrast.
        scale_free: see `style_loss`.
    """

    def __init__(
        self,
        net: torch.nn.Module,
        style: torch.Tensor,
        style_layers: tuple[str, ...] | None = None,
        content_layers: tuple[str, ...] | None = None,
        pixels: bool = False,
        scale_free: bool = False,
    ):
        self.net = net
        self.scale_free = scale_free
        self.pixels = pixels
        self.style_layers = tuple(style_layers or net.style_layers)
        self.content_layers = tuple(content_layers or net.content_layers)
        with torch.no_grad():
            feats = net(style, self.style_layers)
            if pixels:
                feats["pixels"] = style.float()
            self.grams = {k: gram_matrix(v) for k, v in feats.items()}

    def content(self, content: torch.Tensor) -> dict[str, torch.Tensor]:
        """Content targets of a content image [B, 3, H, W]: layer -> activations (no gradient)."""
        with torch.no_grad():
            return {k: v.float() for k, v in self.net(content, self.content_layers).items()}

    def losses(
        self, image: torch.Tensor, content_targets: dict[str, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(style loss, content loss) of images [B, 3, H, W]; content loss is 0 without content targets."""
        layers = self.style_layers + (self.content_layers if content_targets else ())
        feats = self.net(image, tuple(dict.fromkeys(layers)))
        if self.pixels:
            feats["pixels"] = image.float()
        s = style_loss(feats, self.grams, self.scale_free)
        c = content_loss(feats, content_targets) if content_targets else torch.zeros((), device=image.device)
        return s, c
