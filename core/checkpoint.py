"""Atomic full-state checkpoints.

A checkpoint is one torch file holding a small envelope around the caller's payload:
``{"format": "gamelab-checkpoint", "version": FORMAT_VERSION, "kind": kind, "payload": {...}}``.
The payload carries everything a run needs to continue (config, weights, optimizer, scaler, EMA, counters, RNG).
Writing goes to a temporary file in the same folder, is flushed to disk, then renamed over the target, so a
killed process leaves either the old file or the new one, never a torn one. Loading checks the envelope and names
the file and the problem on any failure.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import tempfile
import zipfile
from pathlib import Path

import torch

__all__ = [
    "FORMAT_VERSION",
    "CheckpointError",
    "save_checkpoint",
    "load_checkpoint",
    "latest_checkpoint",
    "atomic_write",
]

FORMAT_VERSION = 1
_FORMAT = "gamelab-checkpoint"


class CheckpointError(Exception):
    """A checkpoint is missing, damaged, of another kind, or from a newer format."""


def atomic_write(path: str | os.PathLike, data: bytes) -> Path:
    """Write bytes to path through a temporary file, fsync and rename. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def save_checkpoint(path: str | os.PathLike, payload: dict, *, kind: str) -> Path:
    """Save payload atomically under an envelope naming its kind ("alphazero", "gan", "style", ...)."""
    buffer = io.BytesIO()
    torch.save({"format": _FORMAT, "version": FORMAT_VERSION, "kind": kind, "payload": payload}, buffer)
    return atomic_write(path, buffer.getvalue())


def load_checkpoint(path: str | os.PathLike, *, kind: str | None = None, map_location="cpu") -> dict:
    """Load and check a checkpoint; returns its payload.

    Raises:
        CheckpointError: the file is missing, unreadable, not a gamelab checkpoint, of another kind than `kind`,
            or written by a newer format version. The message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        envelope = torch.load(path, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, OSError) as err:
        raise CheckpointError(f"{path}: damaged or not a torch file ({type(err).__name__}: {err})") from err
    if not isinstance(envelope, dict) or envelope.get("format") != _FORMAT:
        raise CheckpointError(f"{path}: not a gamelab checkpoint (no '{_FORMAT}' envelope)")
    version = envelope.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {version} is newer than this gamelab reads ({FORMAT_VERSION})"
        )
    if kind is not None and envelope.get("kind") != kind:
        raise CheckpointError(f"{path}: a {envelope.get('kind')!r} checkpoint, but a {kind!r} checkpoint is needed")
    payload = envelope.get("payload")
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path}: checkpoint has no payload")
    return payload


def latest_checkpoint(directory: str | os.PathLike, pattern: str = "*.pt") -> Path | None:
    """The checkpoint in directory with the highest step number in its name (then the newest), or None."""
    directory = Path(directory)
    if not directory.is_dir():
        return None
    files = [p for p in directory.glob(pattern) if p.is_file() and not p.name.startswith(".")]
    if not files:
        return None

    def key(p: Path) -> tuple[int, float]:
        numbers = re.findall(r"\d+", p.stem)
        return (int(numbers[-1]) if numbers else -1, p.stat().st_mtime)

    return max(files, key=key)


def _fsync_dir(directory: Path) -> None:
    # Make the rename itself durable; not possible on every platform.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
