"""Image files in and out for the generative half: load, save, grids and GIFs (Pillow).

Images live in tensors with values in [0, 1]. Dimension letters: N images, T frames, C channels (1 or 3), H/W pixels.

Built-in images ship with scikit-image and need no download: pass ``"builtin:NAME"`` (``builtin:astronaut``,
``builtin:brick``, ...; see ``BUILTIN_IMAGES``) or the bare name (``astronaut``, when no file of that name exists)
wherever a path is accepted. Files are written atomically: to a
temporary file in the same folder, then renamed, so a reader never sees half an image.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from core.checkpoint import atomic_write

__all__ = [
    "BUILTIN_IMAGES",
    "ImageError",
    "builtin_image",
    "load_image",
    "to_pil",
    "save_image",
    "make_grid",
    "save_grid",
    "make_gif",
]

# Photos and textures bundled in scikit-image's wheel (no network needed).
BUILTIN_IMAGES = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "immunohistochemistry",
    "colorwheel",
    "brick",
    "grass",
    "gravel",
    "camera",
    "moon",
    "coins",
    "checkerboard",
    "clock",
    "page",
    "text",
)


class ImageError(ValueError):
    """An image file is missing, unreadable, or a built-in name is unknown; the message names it."""


def builtin_image(name: str) -> np.ndarray:
    """Return a built-in scikit-image picture as uint8 RGB.

    Args:
        name: one of ``BUILTIN_IMAGES`` (with or without the ``builtin:`` prefix).

    Returns:
        uint8 array [H, W, 3].
    """
    name = name.removeprefix("builtin:")
    if name not in BUILTIN_IMAGES:
        raise ImageError(f"unknown built-in image {name!r}; choose from {', '.join(BUILTIN_IMAGES)}")
    import skimage.data

    array = np.asarray(getattr(skimage.data, name)())
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    return np.ascontiguousarray(array[:, :, :3].astype(np.uint8))


def _resize(img: Image.Image, size: int | tuple[int, int] | None) -> Image.Image:
    if size is None:
        return img
    if isinstance(size, int):
        if size <= 0:
            raise ValueError(f"size must be positive, got {size}")
        scale = size / max(img.width, img.height)
        new = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    else:
        new = (int(size[1]), int(size[0]))
    if new == img.size:
        return img
    return img.resize(new, Image.Resampling.LANCZOS if new[0] < img.width else Image.Resampling.BICUBIC)


def load_image(path_or_builtin: str | os.PathLike, size: int | tuple[int, int] | None = None) -> torch.Tensor:
    """Read an image file (or a built-in picture) as an RGB float tensor.

    Args:
        path_or_builtin: a file path Pillow can read, ``"builtin:NAME"``, or a bare built-in name that is not
            an existing file.
        size: None keeps the size; an int resizes so the longer side is ``size`` pixels (aspect kept);
            a pair (H, W) resizes to exactly that.

    Returns:
        float32 tensor [1, 3, H, W] in [0, 1].

    Raises:
        ImageError: the file is missing or not an image Pillow can read, or the built-in name is unknown.
    """
    spec = str(path_or_builtin)
    if spec in BUILTIN_IMAGES and not Path(spec).exists():
        spec = f"builtin:{spec}"
    if spec.startswith("builtin:"):
        img = Image.fromarray(builtin_image(spec))
    else:
        path = Path(spec).expanduser()
        if not path.exists():
            raise ImageError(f"image file {str(path)!r} does not exist (built-in images: {', '.join(BUILTIN_IMAGES)})")
        if not path.is_file():
            raise ImageError(f"image path {str(path)!r} is not a file")
        try:
            with Image.open(path) as opened:
                img = opened.convert("RGB")
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
            raise ImageError(f"cannot read image file {str(path)!r}: {err}") from err
    img = _resize(img, size)
    array = np.asarray(img, dtype=np.float32) / 255.0  # [H, W, 3]
    return torch.from_numpy(array.copy()).permute(2, 0, 1).unsqueeze(0).contiguous()


def to_pil(image: torch.Tensor) -> Image.Image:
    """Convert a tensor [C, H, W] or [1, C, H, W] in [0, 1] (C = 1 or 3) to a Pillow image (values clamped)."""
    if image.dim() == 4:
        if image.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of shape {tuple(image.shape)}")
        image = image[0]
    if image.dim() != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"expected an image tensor [C, H, W] with C in (1, 3), got shape {tuple(image.shape)}")
    array = (image.detach().float().cpu().clamp(0, 1) * 255.0 + 0.5).to(torch.uint8)
    array = array.permute(1, 2, 0).numpy()
    if array.shape[2] == 1:
        return Image.fromarray(np.ascontiguousarray(array[:, :, 0]))
    return Image.fromarray(np.ascontiguousarray(array))


def _atomic_save(save, path: str | os.PathLike) -> Path:
    """Render with save(file object) into memory, then write the bytes atomically (core.checkpoint.atomic_write)."""
    buffer = io.BytesIO()
    save(buffer)
    path = atomic_write(path, buffer.getvalue())
    os.chmod(path, 0o644)  # the temporary file was private
    return path


def save_image(image: torch.Tensor, path: str | os.PathLike) -> Path:
    """Write one image atomically; the format follows the file suffix (PNG when there is none).

    Args:
        image: tensor [3, H, W] or [1, 3, H, W] (or one channel) in [0, 1].
        path: destination file.

    Returns:
        The path written.
    """
    pil = to_pil(image)
    fmt = None if Path(path).suffix else "PNG"
    fmt = fmt or Image.registered_extensions().get(Path(path).suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unknown image file type {Path(path).suffix!r} (use .png, .jpg, ...)")
    return _atomic_save(lambda f: pil.save(f, format=fmt), path)


def make_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2, pad_value: float = 1.0) -> torch.Tensor:
    """Tile a batch into one image.

    Args:
        images: tensor [N, C, H, W] in [0, 1].
        nrow: images per row (default: about sqrt(N)).
        padding: pixels between and around tiles.
        pad_value: value of the padding pixels.

    Returns:
        tensor [C, rows * (H + padding) + padding, nrow * (W + padding) + padding].
    """
    if images.dim() != 4:
        raise ValueError(f"expected images [N, C, H, W], got shape {tuple(images.shape)}")
    n, c, h, w = images.shape
    if n == 0:
        raise ValueError("cannot make a grid of zero images")
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / nrow)
    grid = torch.full((c, rows * (h + padding) + padding, nrow * (w + padding) + padding), float(pad_value))
    images = images.detach().float().cpu()
    for i in range(n):
        r, col = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, top : top + h, left : left + w] = images[i]
    return grid


def save_grid(
    images: torch.Tensor, path: str | os.PathLike, nrow: int | None = None, padding: int = 2, pad_value: float = 1.0
) -> Path:
    """Write a batch [N, C, H, W] in [0, 1] as one tiled image (see `make_grid`), atomically. Returns the path."""
    return save_image(make_grid(images, nrow=nrow, padding=padding, pad_value=pad_value), path)


def make_gif(
    frames: torch.Tensor | Sequence[torch.Tensor | Image.Image],
    path: str | os.PathLike,
    duration_ms: int = 100,
    loop: int = 0,
) -> Path:
    """Write an animated GIF atomically.

    Args:
        frames: tensor [T, C, H, W] in [0, 1], or a sequence of tensors [C, H, W] / Pillow images.
        path: destination file (.gif).
        duration_ms: display time of each frame.
        loop: 0 loops forever.

    Returns:
        The path written.
    """
    pil_frames = [f.convert("RGB") if isinstance(f, Image.Image) else to_pil(f).convert("RGB") for f in frames]
    if not pil_frames:
        raise ValueError("make_gif needs at least one frame")
    first, rest = pil_frames[0], pil_frames[1:]

    def save(f) -> None:
        first.save(f, format="GIF", save_all=True, append_images=rest, duration=int(duration_ms), loop=loop)

    return _atomic_save(save, path)
