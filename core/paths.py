"""Output paths checked before any work starts: a file path that is a folder, a folder path that is a file, a parent
that is a file, or a folder that cannot be written, each refused with a message naming the path.

    check_output_file("out.png")     # ValueError("out.png: is a directory") when out.png is a folder
    check_output_dir("runs")         # ValueError("runs: is a file, not a folder") when runs is a file

`read_text_file(path)` reads an input text file, its failures told the same way ("x.bin: not a text file (byte
0xb6 at offset 3)", "adir: is a directory", "missing.txt: no such file").

Commands call these right after parsing their arguments and print the message as their one `error:` line (exit 2);
the files themselves are then written atomically (core.checkpoint.atomic_write, or a temporary name and
os.replace), so a failure part-way leaves nothing half-written.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

__all__ = ["check_output_file", "check_output_dir", "read_text_file", "os_error_text"]


def _check_parents(path: Path, shown: str) -> None:
    """The nearest existing ancestor of `path` must be a writable folder."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        if parent.is_symlink():  # a dangling link: mkdir would fail
            raise ValueError(f"{shown}: {parent} is a broken link")
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{shown}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{shown}: permission denied (cannot write in {parent})")


def check_output_file(path: str | os.PathLike) -> Path:
    """`path` as a Path, after checking that a file can be written there (missing parents are made later).

    Raises:
        ValueError: "PATH: is a directory", "PATH: P is a file, not a folder" (a parent), or "PATH: permission
            denied ..."; the message starts with the path as given.
    """
    shown = os.fspath(path)
    if not shown:
        raise ValueError("an empty output path")
    p = Path(shown)
    if p.is_dir():
        raise ValueError(f"{shown}: is a directory")
    if p.exists() and not os.access(p, os.W_OK):
        raise ValueError(f"{shown}: permission denied")
    _check_parents(p, shown)
    return p


def check_output_dir(path: str | os.PathLike) -> Path:
    """`path` as a Path, after checking that it is (or can be made) a writable folder.

    Raises:
        ValueError: "PATH: is a file, not a folder", "PATH: P is a file, not a folder" (a parent), or "PATH:
            permission denied"; the message starts with the path as given.
    """
    shown = os.fspath(path)
    if not shown:
        raise ValueError("an empty output folder")
    p = Path(shown)
    if p.exists() and not p.is_dir():
        raise ValueError(f"{shown}: is a file, not a folder")
    if p.is_dir():
        if not os.access(p, os.W_OK | os.X_OK):
            raise ValueError(f"{shown}: permission denied")
        return p
    _check_parents(p, shown)
    return p


def os_error_text(path: str | os.PathLike, err: OSError) -> str:
    """ "PATH: what is wrong" for an OSError met reading or writing `path` (no raw `[Errno N]`)."""
    reason = {
        errno.ENOENT: "no such file",
        errno.EISDIR: "is a directory",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
    }.get(err.errno or 0, (err.strerror or str(err)).lower())
    return f"{os.fspath(path)}: {reason}"


def read_text_file(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """The text of an input file.

    Raises:
        ValueError: the file is missing, a folder, unreadable or not text in `encoding`; the message starts with
            the path.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise ValueError(os_error_text(path, err)) from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        byte = data[err.start]
        raise ValueError(
            f"{os.fspath(path)}: not a text file ({encoding}): byte 0x{byte:02x} at offset {err.start}"
        ) from None
