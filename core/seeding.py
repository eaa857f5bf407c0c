"""Seeding and the capture/restore of every random number generator a run uses (Python, NumPy, torch, CUDA)."""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["seed_everything", "rng_state", "set_rng_state"]


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's (CPU and all CUDA devices) global generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict:
    """The state of every global generator, for a checkpoint."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore generators saved by `rng_state` (CUDA states only where CUDA is present)."""
    random.setstate(_as_python_state(state["python"]))
    np.random.set_state(state["numpy"])
    torch.set_rng_state(torch.as_tensor(state["torch"], dtype=torch.uint8).cpu())
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = [torch.as_tensor(s, dtype=torch.uint8).cpu() for s in state["cuda"]]
        torch.cuda.set_rng_state_all(cuda_states[: torch.cuda.device_count()])


def _as_python_state(state):
    # Python's state is a nested tuple; a round trip through some serializers turns the tuples into lists.
    version, internal, gauss = state
    return (version, tuple(internal), gauss)
