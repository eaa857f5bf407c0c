"""Atomic full-state checkpoints that cannot run code when they are read.

A checkpoint is one torch zip file holding a small envelope around the caller's payload:
``{"format": "gamelab-checkpoint", "version": FORMAT_VERSION, "kind": kind, "payload": {...}}``.
The payload carries everything a run needs to continue (config, weights, optimizer, scaler, EMA, counters, RNG).

Safe to read: files are loaded with ``torch.load(weights_only=True)``, whose unpickler builds only tensors and
plain containers and refuses every other global, so a crafted file is an error, never code that runs. To stay
within those types, `save_checkpoint` stores only dicts, lists, tuples, str, bytes, int, float, bool, None and
tensors (plus torch dtypes and sizes); NumPy arrays and scalars (NumPy RNG states hold one) are written as a
tagged dict ``{"__numpy__": {"dtype", "shape", "scalar", "data": bytes}}`` and come back as the same arrays,
bit for bit. Anything else is refused when saving, with the key path that holds it.

Version history: 1 = pickled payload read with ``weights_only=False`` (could run code; refused now, convert with
``gamelab export --convert OLD NEW --trust-file``); 2 = plain types only, read with ``weights_only=True``.

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
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "FORMAT_VERSION",
    "CheckpointError",
    "DamagedCheckpointError",
    "save_checkpoint",
    "load_checkpoint",
    "convert_checkpoint",
    "load_tensor_file",
    "latest_checkpoint",
    "atomic_write",
]

FORMAT_VERSION = 2
_FORMAT = "gamelab-checkpoint"
_NUMPY_TAG = "__numpy__"
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once: the process umask, which new files should honour
_PLAIN = (str, bytes, int, float, bool, type(None), torch.dtype, torch.Size)


class CheckpointError(ValueError):
    """A checkpoint is missing, damaged, unsafe, of another kind, or from an older or newer format.

    A ValueError, so every command that reports bad input values reports a bad checkpoint file the same way.
    """


class DamagedCheckpointError(CheckpointError):
    """A checkpoint file that is torn or unreadable (a write cut short, a bad disk), as opposed to one refused as
    unsafe, of another kind or of another format version: a run may fall back to its previous checkpoint."""


def atomic_write(path: str | os.PathLike, data: bytes) -> Path:
    """Write bytes to path through a temporary file, fsync and rename. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would, or the one it replaces
        os.fchmod(fd, path.stat().st_mode & 0o777 if path.is_file() else 0o666 & ~_UMASK)
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
    """Save payload atomically under an envelope naming its kind ("alphazero", "gan", "style", ...).

    Raises:
        TypeError: the payload holds a value outside the plain types (the message gives its key path).
    """
    envelope = {"format": _FORMAT, "version": FORMAT_VERSION, "kind": kind, "payload": _encode(payload, "payload")}
    buffer = io.BytesIO()
    torch.save(envelope, buffer)
    return atomic_write(path, buffer.getvalue())


def load_checkpoint(path: str | os.PathLike, *, kind: str | None = None, map_location="cpu") -> dict:
    """Load and check a checkpoint without running any code it might carry; returns its payload.

    Raises:
        CheckpointError: the file is missing, unreadable, not a gamelab checkpoint, needs code to load (a crafted
            file or the old format), of another kind than `kind`, or of another format version. The message
            names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if not zipfile.is_zipfile(path):  # also keeps torch's legacy (non-zip) reader out of reach
        raise DamagedCheckpointError(f"{path}: damaged or not a gamelab checkpoint (not a torch zip file)")
    try:
        envelope = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"{path}: refused: {_unsafe_reason(path)}; {_convert_advice(path)}") from err
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, KeyError, TypeError) as err:
        raise _damaged(path, err) from err
    envelope = _check_envelope(path, envelope, kind)
    if envelope["version"] < FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format {envelope['version']}, which can run code when read, is no longer read; "
            + _convert_advice(path)
        )
    try:
        return _decode(envelope["payload"])
    except (TypeError, ValueError, KeyError) as err:
        raise DamagedCheckpointError(f"{path}: damaged checkpoint payload ({err})") from err


def load_tensor_file(path: str | os.PathLike, *, what: str = "weights file", map_location="cpu"):
    """Load a tensor file made elsewhere (e.g. torchvision weights) without running any code it might carry.

    Returns what the file holds, built only from tensors and plain containers.
    Raises:
        CheckpointError: the file is missing, damaged, or needs code to load; the one-line message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such {what}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"{path}: refused: {_unsafe_reason(path)}; a {what} must hold only tensors") from err
    except Exception as err:  # torch raises many kinds for a damaged or foreign file
        raise _damaged(path, err) from err


def convert_checkpoint(old: str | os.PathLike, new: str | os.PathLike) -> tuple[Path, int]:
    """Re-save a checkpoint of any earlier format in the current one. Returns (new path, the old version).

    DANGER: a format 1 file is read with the full pickle loader, which runs any code the file carries. Only
    call this on files whose origin you trust (`gamelab export --convert ... --trust-file`).

    Raises:
        CheckpointError: the file is missing, damaged or not a gamelab checkpoint.
    """
    old = Path(old)
    if not old.is_file():
        raise CheckpointError(f"{old}: no such checkpoint file")
    try:
        envelope = torch.load(old, map_location="cpu", weights_only=False)
    except Exception as err:  # the trusted legacy reader: any failure is a damaged file
        raise _damaged(old, err) from err
    envelope = _check_envelope(old, envelope, None)
    payload = envelope["payload"]
    if envelope["version"] >= 2:
        payload = _decode(payload)
    try:
        return save_checkpoint(new, payload, kind=envelope["kind"]), envelope["version"]
    except TypeError as err:
        raise CheckpointError(f"{old}: cannot be stored in format {FORMAT_VERSION}: {err}") from err


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


def _check_envelope(path: Path, envelope, kind: str | None) -> dict:
    if not isinstance(envelope, dict) or envelope.get("format") != _FORMAT:
        raise CheckpointError(f"{path}: not a gamelab checkpoint (no '{_FORMAT}' envelope)")
    version = envelope.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(f"{path}: checkpoint has no valid format version ({version!r})")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {version} is newer than this gamelab reads ({FORMAT_VERSION})"
        )
    if kind is not None and envelope.get("kind") != kind:
        found = str(envelope.get("kind"))
        raise CheckpointError(
            f"{path}: {_article(found)} {found} checkpoint, where {_article(kind)} {kind} checkpoint is needed"
        )
    if not isinstance(envelope.get("kind"), str) or not isinstance(envelope.get("payload"), dict):
        raise CheckpointError(f"{path}: checkpoint has no kind or no payload")
    return envelope


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _damaged(path: Path, err: BaseException) -> CheckpointError:
    first = (str(err).strip().splitlines() or [""])[0]  # torch's messages run over many lines
    return DamagedCheckpointError(f"{path}: damaged or not a torch file ({type(err).__name__}: {first})")


def _convert_advice(path: Path) -> str:
    return (
        "if it is a gamelab checkpoint from an older version and you trust where it came from, convert it: "
        f"gamelab export --convert {path} NEW.pt --trust-file"
    )


def _unsafe_reason(path: Path) -> str:
    # Names what the file would import, found by scanning pickle opcodes: nothing in the file runs.
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:  # a scan of a damaged file: say less rather than fail
        names = []
    shown = ", ".join(sorted(names)[:4]) + (", ..." if len(names) > 4 else "")
    return f"loading it needs code ({shown})" if names else "loading it needs code"


def _encode(value, where: str):
    """Payload -> plain types: NumPy arrays and scalars become tagged dicts; anything unknown is a TypeError."""
    if isinstance(value, torch.Tensor) or type(value) in _PLAIN:
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.hasobject or array.dtype.fields is not None:
            raise TypeError(f"{where}: a NumPy array of {array.dtype} cannot be stored in a checkpoint")
        data = {"dtype": array.dtype.str, "shape": tuple(array.shape), "scalar": isinstance(value, np.generic)}
        data["data"] = np.ascontiguousarray(array).tobytes()
        return {_NUMPY_TAG: data}
    if type(value) in (dict, OrderedDict):
        if _NUMPY_TAG in value:
            raise TypeError(f"{where}: the key {_NUMPY_TAG!r} is reserved")
        out = type(value)()
        for k, v in value.items():
            if type(k) not in _PLAIN or isinstance(k, (torch.dtype, torch.Size)):
                raise TypeError(f"{where}: dict key {k!r} of type {type(k).__name__} cannot be stored in a checkpoint")
            out[k] = _encode(v, f"{where}[{k!r}]")
        return out
    if type(value) in (list, tuple):
        return type(value)(_encode(v, f"{where}[{i}]") for i, v in enumerate(value))
    raise TypeError(f"{where}: a {type(value).__module__}.{type(value).__qualname__} cannot be stored in a checkpoint")


def _decode(value):
    """Inverse of `_encode`."""
    if type(value) in (dict, OrderedDict):
        if _NUMPY_TAG in value and len(value) == 1:
            data = value[_NUMPY_TAG]
            array = np.frombuffer(data["data"], dtype=np.dtype(data["dtype"])).reshape(data["shape"]).copy()
            return array[()] if data["scalar"] else array
        return type(value)((k, _decode(v)) for k, v in value.items())
    if type(value) in (list, tuple):
        return type(value)(_decode(v) for v in value)
    return value


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
