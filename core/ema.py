"""Exponential moving average of a module's weights (the EMA generator of GANs, smoothed game networks)."""

from __future__ import annotations

import copy

import torch
from torch import nn

__all__ = ["EMA"]


class EMA:
    """Keeps `module`, an averaged copy of a network, in eval mode with gradients off.

    Float parameters and buffers are averaged with `decay`; integer buffers (batch-norm counters) are copied.
    """

    def __init__(self, source: nn.Module, decay: float = 0.999):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.module = copy.deepcopy(_unwrap(source)).eval().requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, source: nn.Module) -> None:
        """Move the average toward the source's current weights."""
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))  # warm-up: early averages forget fast
        ema_state = self.module.state_dict()
        for name, value in _unwrap(source).state_dict().items():
            target = ema_state[name]
            if target.dtype.is_floating_point:
                target.lerp_(value.detach().to(target.dtype), 1.0 - decay)
            else:
                target.copy_(value)

    def state_dict(self) -> dict:
        return {"decay": self.decay, "updates": self.updates, "module": self.module.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.decay = state["decay"]
        self.updates = state["updates"]
        self.module.load_state_dict(state["module"])


def _unwrap(module: nn.Module) -> nn.Module:
    # DistributedDataParallel and torch.compile wrap the real module.
    module = getattr(module, "module", module)
    return getattr(module, "_orig_mod", module)
