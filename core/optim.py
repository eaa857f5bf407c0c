"""Optimizers, learning-rate schedules and gradient clipping."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "make_optimizer",
    "make_scheduler",
    "load_optimizer_state",
    "clip_gradients",
    "param_groups",
]

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "rprop")
SCHEDULES = ("constant", "cosine", "linear", "step", "onecycle")


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Split trainable parameters: weight decay on matrices and conv kernels, none on biases and norm scales."""
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(
    model_or_params: nn.Module | Iterable,
    name: str = "adamw",
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    nesterov: bool = False,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    fused: bool | None = None,
) -> torch.optim.Optimizer:
    """Build an optimizer by name.

    Args:
        model_or_params: a module (weight decay then skips biases and 1-d parameters) or an iterable of parameters.
        name: one of OPTIMIZERS.
        fused: use the fused CUDA kernels of Adam/AdamW/SGD (None: automatic, on when every parameter is on CUDA).
    """
    name = name.lower()
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}: use one of {', '.join(OPTIMIZERS)}")
    if isinstance(model_or_params, nn.Module):
        groups = param_groups(model_or_params, weight_decay)
    else:
        groups = [{"params": list(model_or_params), "weight_decay": weight_decay}]
    params = [p for g in groups for p in g["params"]]
    if fused is None:
        fused = bool(params) and all(p.is_cuda for p in params)
    if name == "sgd":
        return torch.optim.SGD(
            groups, lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0, fused=fused or None
        )
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr, betas=betas, eps=eps, fused=fused or None)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, fused=fused or None)
    if name == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, momentum=momentum, eps=eps)
    if name == "adagrad":
        return torch.optim.Adagrad(groups, lr=lr, eps=eps)
    return torch.optim.Rprop(params, lr=lr)  # full-batch method: no weight decay


def make_scheduler(
    optimizer: torch.optim.Optimizer,
    name: str = "constant",
    total_steps: int = 1,
    warmup_steps: int = 0,
    step_size: int | None = None,
    gamma: float = 0.1,
    min_lr_ratio: float = 0.0,
) -> torch.optim.lr_scheduler.LRScheduler:
    """A learning-rate schedule stepped once per optimizer step, with optional linear warm-up.

    Args:
        name: "constant", "cosine" (to min_lr_ratio at total_steps), "linear" (to min_lr_ratio), "step" (times gamma
            every step_size steps) or "onecycle" (warm-up over 30% then cosine down).
    """
    name = name.lower()
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}: use one of {', '.join(SCHEDULES)}")
    total_steps = max(1, int(total_steps))
    if name == "onecycle":
        warmup_steps = max(warmup_steps, int(0.3 * total_steps))
    step_size = step_size or max(1, total_steps // 3)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        if name in ("cosine", "onecycle"):
            return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
        if name == "linear":
            return 1 - (1 - min_lr_ratio) * progress
        if name == "step":
            return gamma ** (step // step_size)
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def load_optimizer_state(
    optimizer: torch.optim.Optimizer,
    optimizer_state: dict,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    scheduler_state: dict | None = None,
) -> None:
    """Restore a resumed run's optimizer and schedule state while keeping the hyper-parameters they were built with.

    `optimizer` and `scheduler` must be freshly built from the (possibly changed) config. The saved moments, step
    counts and the schedule's position are restored; the learning rate, weight decay, momentum, betas and the
    schedule's shape stay those of the current config, so a changed `lr` takes effect at once (at the schedule's
    value for the current step). With an unchanged config this restores the state exactly.
    """
    fresh = [{k: v for k, v in group.items() if k != "params"} for group in optimizer.param_groups]
    optimizer.load_state_dict(optimizer_state)
    for group, hyper in zip(optimizer.param_groups, fresh):
        group.update(hyper)
    if scheduler is None or scheduler_state is None:
        return
    scheduler.load_state_dict(scheduler_state)
    scheduler.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
    lambdas = getattr(scheduler, "lr_lambdas", None)
    if lambdas is None:
        raise ValueError(f"cannot re-target a {type(scheduler).__name__} schedule (LambdaLR expected)")
    for group, base, factor in zip(optimizer.param_groups, scheduler.base_lrs, lambdas):
        group["lr"] = base * factor(scheduler.last_epoch)
    scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]


def clip_gradients(model_or_params: nn.Module | Iterable, max_norm: float) -> float:
    """Clip the global gradient norm to max_norm (no clipping when max_norm <= 0). Returns the norm before clipping."""
    params = model_or_params.parameters() if isinstance(model_or_params, nn.Module) else model_or_params
    params = [p for p in params if p.grad is not None]
    if not params:
        return 0.0
    if max_norm <= 0:
        return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params])))
    return float(torch.nn.utils.clip_grad_norm_(params, max_norm))
