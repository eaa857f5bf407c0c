"""Working in a StyleGAN generator's W space: truncated sampling, style mixing, interpolation and projection.

All functions take a `stylegan.StyleGenerator` in eval mode (fixed noise, so an image is a function of its styles)
and return images in [0, 1]. Dimension letters: N images, R/K rows/columns, T frames, L style layers, W style size,
C/S image.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["is_style_generator", "seed_w", "to_unit", "sample_w", "mixing_grid", "interpolate_w", "project",
           "parse_layers"]  # fmt: skip


def is_style_generator(g) -> bool:
    """Whether g has a mapping network and per-layer styles (a StyleGAN generator)."""
    return hasattr(g, "mapping") and hasattr(g, "synthesis")


def to_unit(images: torch.Tensor) -> torch.Tensor:
    return ((images.float() + 1) / 2).clamp(0, 1)


@torch.no_grad()
def seed_w(g, seeds: list[int], psi: float = 1.0) -> torch.Tensor:
    """One w [N, W] per seed (z drawn from a generator seeded with it), truncated by psi."""
    z = torch.stack([torch.randn(g.z_dim, generator=torch.Generator().manual_seed(s)) for s in seeds])
    return g.truncate(g.mapping(z), psi)


@torch.no_grad()
def sample_w(g, n: int, seed: int = 0, psi: float = 1.0) -> torch.Tensor:
    """n images [N, C, S, S] at truncation psi (z as `generate.sample` draws them)."""
    z = torch.randn(n, g.z_dim, generator=torch.Generator().manual_seed(seed))
    return to_unit(torch.cat([g(z[i : i + 256], psi=psi) for i in range(0, n, 256)]))


def parse_layers(text: str, num_ws: int) -> range:
    """'A-B' (inclusive) or 'A' -> a range of style layers within 0..L-1; 'coarse' (first half), 'fine' (second)."""
    if text == "coarse":
        return range(0, num_ws // 2)
    if text == "fine":
        return range(num_ws // 2, num_ws)
    try:
        lo, _, hi = text.partition("-")
        layers = range(int(lo), int(hi or lo) + 1)
    except ValueError:
        raise ValueError(f"--mix-layers must be A-B, A, coarse or fine, got {text!r}") from None
    if not layers or layers.start < 0 or layers.stop > num_ws:
        raise ValueError(f"--mix-layers {text!r} is outside the generator's style layers 0-{num_ws - 1}")
    return layers


@torch.no_grad()
def mixing_grid(g, row_seeds: list[int], col_seeds: list[int], layers: range, psi: float = 1.0) -> torch.Tensor:
    """A style-mixing table as images [(R+1)*(K+1), C, S, S] in row-major order: the first row holds a blank then the
    column seeds' images, each later row its row seed's image then that image with the column seed's styles in
    `layers` (the rest of the styles stay the row seed's)."""
    rows, cols = seed_w(g, row_seeds, psi), seed_w(g, col_seeds, psi)
    img = lambda ws: g.synthesis(ws)  # noqa: E731
    L = g.num_ws
    out = [torch.full_like(img(cols[:1, None].expand(-1, L, -1)), -1)]
    out.append(img(cols[:, None].expand(-1, L, -1)))
    mask = torch.zeros(L, 1, dtype=torch.bool)
    mask[list(layers)] = True
    for w in rows:
        base = w[None, None].expand(len(cols), L, -1)
        mixed = torch.where(mask, cols[:, None].expand(-1, L, -1), base)
        out += [img(w[None, None].expand(1, L, -1)), img(mixed)]
    return to_unit(torch.cat(out))


@torch.no_grad()
def interpolate_w(g, rows: int, steps: int, seed: int = 0, psi: float = 1.0) -> torch.Tensor:
    """Straight walks in W between random pairs of styles: rows walks, steps frames each -> [T, R, C, S, S]."""
    if steps < 2:
        raise ValueError(f"--interpolate needs at least 2 steps, got {steps}")
    gen = torch.Generator().manual_seed(seed)
    a = g.truncate(g.mapping(torch.randn(rows, g.z_dim, generator=gen)), psi)
    b = g.truncate(g.mapping(torch.randn(rows, g.z_dim, generator=gen)), psi)
    frames = [g.synthesis(torch.lerp(a, b, t)[:, None].expand(-1, g.num_ws, -1)) for t in torch.linspace(0, 1, steps)]
    return to_unit(torch.stack(frames))


def project(g, target: torch.Tensor, steps: int = 300, lr: float = 0.05, seed: int = 0) -> dict:
    """Find the w whose image best reconstructs target [C, S, S] (values in [0, 1]): Adam on one w (shared by all
    layers) from w_avg, mean squared pixel error. Returns {"w" [W], "image" [C, S, S] in [0, 1], "mse", "psnr",
    "start_mse" (the w_avg image's error)}."""
    target = target.float()[None] * 2 - 1  # [1, C, S, S] in [-1, 1]
    w = g.mapping.w_avg.detach().clone()[None].requires_grad_(True)
    opt = torch.optim.Adam([w], lr=lr)
    torch.manual_seed(seed)

    def render(v: torch.Tensor) -> torch.Tensor:
        return g.synthesis(v[:, None].expand(-1, g.num_ws, -1))

    with torch.no_grad():
        start = float(F.mse_loss(to_unit(render(w)), (target + 1) / 2))
    for _ in range(steps):
        loss = F.mse_loss(render(w), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        image = to_unit(render(w))[0]
        mse = float(F.mse_loss(image, (target[0] + 1) / 2))
    psnr = float(10 * torch.log10(torch.tensor(1.0 / max(mse, 1e-12))))
    return {"w": w.detach()[0], "image": image, "mse": mse, "psnr": psnr, "start_mse": start}
