"""Content hashes of files (a checkpoint's identity in player names, records and caches)."""

from __future__ import annotations

import hashlib
import os

__all__ = ["file_hash"]


def file_hash(path: str | os.PathLike, length: int = 8) -> str:
    """First `length` hex digits of the SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:length]
