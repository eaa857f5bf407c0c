"""Device choice and mixed precision.

`pick_device("auto")` takes CUDA, then Apple MPS, then the CPU. On CUDA, `autocast` runs the forward pass in
bfloat16 (no loss scaler needed); elsewhere it is a no-op, since CPU bf16 autocast is slower than fp32 on most CPUs.
"""

from __future__ import annotations

import contextlib
import os

import torch

__all__ = ["pick_device", "autocast", "set_cpu_threads", "synchronize"]


def pick_device(name: str = "auto") -> torch.device:
    """Return the torch device for a name.

    Args:
        name: "auto" (CUDA, then MPS, then CPU), or an explicit device such as "cpu", "cuda", "cuda:1", "mps".

    Raises:
        ValueError: the name is not a device, or the device is not available on this machine.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise ValueError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps") from err
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r} asked for, but CUDA is not available on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device {name!r} asked for, but only {torch.cuda.device_count()} CUDA devices exist")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device {name!r} asked for, but MPS is not available on this machine")
    return device


def autocast(device: torch.device | str, enabled: bool = True) -> contextlib.AbstractContextManager:
    """Mixed-precision context: bf16 autocast on CUDA, nothing elsewhere."""
    device = torch.device(device)
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def set_cpu_threads(n: int | None = None) -> int:
    """Set torch's intra-op CPU threads (default: $GAMELAB_THREADS, else all cores). Returns the count set."""
    if n is None:
        n = int(os.environ.get("GAMELAB_THREADS", os.cpu_count() or 1))
    n = max(1, int(n))
    torch.set_num_threads(n)
    return n


def synchronize(device: torch.device | str) -> None:
    """Wait for queued work on the device (for honest timings)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
