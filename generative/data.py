"""Image data sets for the generative models, all offline.

`load_dataset(spec, size)` turns a data spec into one tensor of square images in [-1, 1]. Specs:

- ``digits``: scikit-learn's 1797 real 8x8 hand-written digits (10 labelled classes), upsampled to ``size``.
- ``faces``: the 100 face crops of scikit-image's LFW subset (25x25 grey, resized to ``size``) less a fixed held-out
  fifth (every fifth face, ``FACES_HELDOUT``): 80 training faces; ``faces-heldout`` is the other 20, for checks.
- ``photos``, ``textures``, ``builtin:NAME[,NAME...]``: random square patches cut from scikit-image's bundled
  pictures (photos: astronaut, coffee, chelsea; textures: brick, grass, gravel); the label is the source picture.
- a folder of images, optionally with one sub-folder per class (the sub-folder names, sorted, are the classes);
- MNIST / Fashion-MNIST IDX files (``train-images-idx3-ubyte`` raw or ``.gz``; the matching ``labels-idx1`` file next
  to it is used when present), or a folder holding them;
- CIFAR-10 / CIFAR-100 python batches (one batch file, or the ``cifar-10-batches-py`` folder: all ``data_batch_*``);
- a ``.npz`` holding images (key ``images``, ``x``, ``x_train`` or ``arr_0``; layout [N, H, W], [N, H, W, C] or
  [N, C, H, W]; uint8 or float) and optionally labels (``labels``, ``y``, ``y_train`` or ``arr_1``).

A prefix (``folder:``, ``idx:``, ``cifar:``, ``npz:``) forces the format. A missing or malformed file raises
`DataError` naming the file and the problem.

Dimension letters: N images, C channels (1 or 3), H/W pixels (H = W = size).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import struct
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["DataError", "load_dataset", "dataset_hash", "PHOTOS", "TEXTURES", "IMAGE_SUFFIXES", "FACES_HELDOUT"]

PHOTOS = ("astronaut", "coffee", "chelsea")
TEXTURES = ("brick", "grass", "gravel")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
FACES_HELDOUT = tuple(range(4, 100, 5))  # indices into lfw_subset()[:100] kept out of `faces`
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataError(ValueError):
    """A data set file is missing or malformed; the message names the file."""


# ----------------------------------------------------------------------------------------------------------------------
# conversion helpers


def _to_unit_nchw(array: np.ndarray, where: str) -> torch.Tensor:
    """Any image array ([N,H,W], [N,H,W,C], [N,C,H,W]; uint8 or float) -> float tensor [N, C, H, W] in [0, 1]."""
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4:
        if array.shape[-1] in (1, 3, 4) and array.shape[1] not in (1, 3, 4):
            array = array.transpose(0, 3, 1, 2)
        elif array.shape[1] not in (1, 3, 4):
            raise DataError(f"{where}: cannot tell the channel axis of images shaped {array.shape}")
    else:
        raise DataError(f"{where}: images must be [N, H, W] or [N, H, W, C] or [N, C, H, W], got shape {array.shape}")
    if array.shape[0] == 0:
        raise DataError(f"{where}: holds no images")
    if array.shape[1] == 4:
        array = array[:, :3]  # drop alpha
    if array.dtype == np.uint8:
        return torch.from_numpy(np.ascontiguousarray(array)).float() / 255.0
    if array.dtype == bool:
        return torch.from_numpy(np.ascontiguousarray(array)).float()
    if not np.issubdtype(array.dtype, np.number):
        raise DataError(f"{where}: images have a non-numeric dtype {array.dtype}")
    x = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    if not torch.isfinite(x).all():
        raise DataError(f"{where}: images contain NaN or infinite values")
    lo, hi = float(x.min()), float(x.max())
    if lo >= -1.0 - 1e-6 and hi <= 1.0 + 1e-6:
        return (x + 1) / 2 if lo < 0 else x
    return (x / 255.0).clamp(0, 1)


def _square_resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Centre-crop [N, C, H, W] to a square and resize it to size x size (antialiased when shrinking)."""
    _, _, h, w = x.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    x = x[:, :, top : top + side, left : left + side]
    if side == size:
        return x.contiguous()
    out = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=side > size)
    return out.clamp(0, 1)


def _labels_tensor(labels, n: int, where: str) -> tuple[torch.Tensor, int]:
    y = np.asarray(labels).reshape(-1)
    if y.shape[0] != n:
        raise DataError(f"{where}: {y.shape[0]} labels for {n} images")
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0):
            y = y.astype(np.int64)
        else:
            raise DataError(f"{where}: labels must be integers, got dtype {y.dtype}")
    if y.min() < 0:
        raise DataError(f"{where}: labels must be non-negative, found {int(y.min())}")
    return torch.from_numpy(y.astype(np.int64)), int(y.max()) + 1


def dataset_hash(images: torch.Tensor, labels: torch.Tensor | None = None) -> str:
    """A short content hash of a data set (images quantized to 8 bits, plus labels), for caches."""
    digest = hashlib.sha1()
    digest.update(str(tuple(images.shape)).encode())
    q = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    digest.update(q.numpy().tobytes())
    if labels is not None:
        digest.update(labels.cpu().numpy().astype(np.int64).tobytes())
    return digest.hexdigest()[:16]


# ----------------------------------------------------------------------------------------------------------------------
# built-in sets


def _digits(size: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy(bunch.images.astype(np.float32) / 16.0)[:, None]  # [N, 1, 8, 8]
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    return x, torch.from_numpy(bunch.target.astype(np.int64)), 10


def _faces(size: int, heldout: bool) -> torch.Tensor:
    from skimage.data import lfw_subset

    faces = torch.from_numpy(lfw_subset()[:100].astype(np.float32))[:, None]  # [100, 1, 25, 25] in [0, 1]
    keep = [i for i in range(100) if (i in FACES_HELDOUT) == heldout]
    return _square_resize(faces[keep], size)


def _patches(
    names: list[str], size: int, per_image: int = 600, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, int]:
    from .images import builtin_image

    rng = np.random.default_rng(seed)
    pictures = []
    for name in names:
        try:
            pictures.append(builtin_image(name))
        except ValueError as err:
            raise DataError(str(err)) from err
    gray = all(np.array_equal(p[:, :, 0], p[:, :, 1]) and np.array_equal(p[:, :, 0], p[:, :, 2]) for p in pictures)
    out, labels = [], []
    for label, pic in enumerate(pictures):
        h, w, _ = pic.shape
        img = torch.from_numpy(pic).permute(2, 0, 1).float() / 255.0  # [3, H, W]
        if gray:
            img = img[:1]
        lo, hi = min(2 * size, min(h, w)), min(4 * size, min(h, w))
        for _ in range(per_image):
            side = int(rng.integers(lo, hi + 1))
            top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
            crop = img[:, top : top + side, left : left + side][None]
            out.append(_square_resize(crop, size))
            labels.append(label)
    return torch.cat(out), torch.tensor(labels), len(pictures)


# ----------------------------------------------------------------------------------------------------------------------
# file formats


def _open_maybe_gz(path: Path) -> bytes:
    if not path.exists():
        raise DataError(f"data file {str(path)!r} does not exist")
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataError(f"cannot read data file {str(path)!r}: {err}") from err


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (raw or gzipped) into an array (MNIST / Fashion-MNIST layout)."""
    path = Path(path)
    raw = _open_maybe_gz(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{str(path)!r} is not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{str(path)!r}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(
            f"{str(path)!r}: IDX header says {dims} ({expected} bytes) but the file has {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def _idx_label_path(images_path: Path) -> Path | None:
    name = images_path.name
    for a, b in (("images-idx3", "labels-idx1"), ("images.idx3", "labels.idx1"), ("images", "labels")):
        if a in name:
            candidate = images_path.with_name(name.replace(a, b))
            for c in (candidate, Path(str(candidate) + ".gz"), Path(str(candidate).removesuffix(".gz"))):
                if c.exists() and c != images_path:
                    return c
    return None


def _load_idx(path: Path):
    images = read_idx(path)
    if images.ndim != 3:
        raise DataError(f"{str(path)!r}: expected an IDX image file [N, H, W], got {images.ndim} dimensions")
    x = _to_unit_nchw(images, str(path))
    label_path = _idx_label_path(path)
    if label_path is None:
        return x, None, 0
    y, k = _labels_tensor(read_idx(label_path), x.shape[0], str(label_path))
    return x, y, max(k, 10)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    # CIFAR batches hold only dicts, lists, bytes and numpy arrays; refuse anything else a pickle could run.
    _allowed = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    }

    def find_class(self, module, name):
        if (module, name) in self._allowed:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _load_cifar_batch(path: Path):
    raw = _open_maybe_gz(path)
    try:
        batch = _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as err:
        raise DataError(f"{str(path)!r} is not a CIFAR python batch: {err}") from err
    if not isinstance(batch, dict):
        raise DataError(f"{str(path)!r} is not a CIFAR python batch (no dict inside)")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch:
        raise DataError(f"{str(path)!r}: CIFAR batch has no 'data' entry")
    data = np.asarray(batch["data"])
    if data.ndim != 2 or data.shape[1] != 3072:
        raise DataError(f"{str(path)!r}: CIFAR 'data' must be [N, 3072] uint8, got shape {data.shape}")
    labels = batch.get("labels", batch.get("fine_labels"))
    return data.reshape(-1, 3, 32, 32), labels


def _load_cifar(path: Path):
    if path.is_dir():
        files = sorted(path.glob("data_batch_*")) or sorted(path.glob("train*"))
        if not files:
            raise DataError(f"{str(path)!r}: no CIFAR 'data_batch_*' files in this folder")
    else:
        files = [path]
    arrays, labels = [], []
    for f in files:
        data, y = _load_cifar_batch(f)
        arrays.append(data)
        labels.append(None if y is None else np.asarray(y))
    x = _to_unit_nchw(np.concatenate(arrays), str(path))
    if any(y is None for y in labels):
        return x, None, 0
    y, k = _labels_tensor(np.concatenate(labels), x.shape[0], str(path))
    return x, y, max(k, 10) if k <= 10 else k


def _load_npz(path: Path):
    if not path.exists():
        raise DataError(f"data file {str(path)!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except Exception as err:
        raise DataError(f"cannot read .npz file {str(path)!r}: {err}") from err
    key = next((k for k in ("images", "x", "x_train", "arr_0") if k in arrays), None)
    if key is None:
        raise DataError(f"{str(path)!r}: no image array (looked for images, x, x_train, arr_0; found {list(arrays)})")
    x = _to_unit_nchw(arrays[key], f"{path}[{key}]")
    label_key = next((k for k in ("labels", "y", "y_train", "arr_1") if k in arrays), None)
    if label_key is None:
        return x, None, 0
    y, k = _labels_tensor(arrays[label_key], x.shape[0], f"{path}[{label_key}]")
    return x, y, k


def _load_folder(path: Path, size: int):
    from PIL import Image, UnidentifiedImageError

    def images_in(folder: Path) -> list[Path]:
        return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)

    class_dirs = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    class_dirs = [d for d in class_dirs if images_in(d)]
    items: list[tuple[Path, int]] = []
    if class_dirs:
        for label, d in enumerate(class_dirs):
            items += [(p, label) for p in images_in(d)]
    items += [(p, -1) for p in images_in(path)]
    if not items:
        raise DataError(f"image folder {str(path)!r} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    pictures, gray = [], True
    for p, _ in items:
        try:
            with Image.open(p) as img:
                gray = gray and img.mode in ("1", "L", "I", "I;16", "F")
                pictures.append(img.convert("RGB"))
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
            raise DataError(f"cannot read image file {str(p)!r}: {err}") from err
    out = []
    for pic in pictures:
        t = torch.from_numpy(np.asarray(pic, dtype=np.uint8).copy()).permute(2, 0, 1)[None].float() / 255.0
        out.append(_square_resize(t[:, :1] if gray else t, size))
    x = torch.cat(out)
    if not class_dirs or any(label < 0 for _, label in items):
        return x, None, 0
    return x, torch.tensor([label for _, label in items]), len(class_dirs)


def _detect(path: Path) -> str:
    if path.is_dir():
        names = [p.name for p in path.iterdir()]
        if any("idx3" in n for n in names):
            return "idx"
        if any(n.startswith("data_batch_") for n in names):
            return "cifar"
        return "folder"
    name = path.name.lower()
    if name.endswith(".npz"):
        return "npz"
    if "idx" in name or "ubyte" in name:
        return "idx"
    if "batch" in name or name.endswith((".pkl", ".pickle")):
        return "cifar"
    raise DataError(f"cannot tell the format of {str(path)!r}; prefix it with folder:, idx:, cifar: or npz:")


def _idx_in_folder(path: Path) -> Path:
    candidates = sorted(p for p in path.iterdir() if "idx3" in p.name)
    train = [p for p in candidates if p.name.startswith("train")]
    return (train or candidates)[0]


# ----------------------------------------------------------------------------------------------------------------------


def load_dataset(spec: str, size: int, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None, int]:
    """Load a data set as square images.

    Args:
        spec: ``digits``, ``faces``, ``faces-heldout``, ``photos``, ``textures``, ``builtin:NAME[,NAME]``, or a path
            (folder, IDX, CIFAR batch, .npz), optionally prefixed with its format (``folder:``, ``idx:``, ``cifar:``,
            ``npz:``).
        size: side of the square output images in pixels.
        limit: keep only the first ``limit`` images.

    Returns:
        (images float32 [N, C, size, size] in [-1, 1], labels LongTensor [N] or None, num_classes (0 if unlabelled)).

    Raises:
        DataError: the file is missing, of an unknown format, or malformed; the message names it.
    """
    if size < 4:
        raise ValueError(f"image size must be at least 4, got {size}")
    if spec == "digits":
        x, y, k = _digits(size)
    elif spec in ("faces", "faces-heldout"):
        x, y, k = _faces(size, heldout=spec == "faces-heldout"), None, 0
    elif spec in ("photos", "textures") or spec.startswith("builtin:"):
        names = list(PHOTOS if spec == "photos" else TEXTURES if spec == "textures" else spec[8:].split(","))
        x, y, k = _patches(names, size)
        if k == 1:
            y, k = None, 0
    else:
        fmt, _, rest = spec.partition(":")
        if fmt in ("folder", "idx", "cifar", "npz") and rest:
            path = Path(rest).expanduser()
        else:
            fmt, path = None, Path(spec).expanduser()
        if not path.exists():
            raise DataError(
                f"data set {str(path)!r} does not exist (built-in sets: digits, faces, photos, textures, builtin:NAME)"
            )
        fmt = fmt or _detect(path)
        if fmt == "folder":
            if not path.is_dir():
                raise DataError(f"{str(path)!r} is not a folder")
            x, y, k = _load_folder(path, size)
        elif fmt == "idx":
            x, y, k = _load_idx(_idx_in_folder(path) if path.is_dir() else path)
        elif fmt == "cifar":
            x, y, k = _load_cifar(path)
        else:
            x, y, k = _load_npz(path)
        x = _square_resize(x, size)
    if limit is not None:
        x, y = x[:limit], None if y is None else y[:limit]
    return (x * 2 - 1).contiguous(), y, k
