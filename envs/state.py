"""Generic helpers over game States: frozen dataclasses whose fields are all tensors with a leading batch dim B.

Every helper returns a new State of the same class; none modifies its inputs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch
from torch import Tensor

__all__ = ["take", "where", "cat", "to", "state_map", "batch_size", "rows_equal", "clone"]

S = TypeVar("S")


def state_map(fn: Callable[..., Tensor], *states: S) -> S:
    """Apply `fn` field by field: new.f = fn(states[0].f, states[1].f, ...). All states must share one class."""
    first = states[0]
    values = {f.name: fn(*(getattr(s, f.name) for s in states)) for f in dataclasses.fields(first)}
    return type(first)(**values)


def take(state: S, idx: Any) -> S:
    """Index the rows of every field: an int (kept as a batch of 1), a slice, a LongTensor or BoolTensor[B]."""
    if isinstance(idx, int):
        idx = slice(idx, idx + 1) if idx != -1 else slice(-1, None)
    return state_map(lambda x: x[idx], state)


def where(cond: Tensor, a: S, b: S) -> S:
    """Row-wise select: rows of `a` where cond[B] is True, rows of `b` elsewhere."""

    def pick(x: Tensor, y: Tensor) -> Tensor:
        c = cond.view(cond.shape[0], *([1] * (x.dim() - 1)))
        return torch.where(c, x, y)

    return state_map(pick, a, b)


def cat(states: Sequence[S]) -> S:
    """Concatenate states along the batch dim."""
    return state_map(lambda *xs: torch.cat(xs, dim=0), *states)


def to(state: S, device: str | torch.device) -> S:
    """Move every field to `device`."""
    return state_map(lambda x: x.to(device), state)


def clone(state: S) -> S:
    """A deep copy of every field."""
    return state_map(lambda x: x.clone(), state)


def batch_size(state: Any) -> int:
    """B, the number of games in the state."""
    return int(getattr(state, dataclasses.fields(state)[0].name).shape[0])


def rows_equal(a: S, b: S) -> Tensor:
    """BoolTensor[B]: True where every field of row i is equal in `a` and `b`."""
    eq = None
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        e = (x == y).reshape(x.shape[0], -1).all(dim=1) if x[0:1].numel() else (x == y).reshape(x.shape[0])
        eq = e if eq is None else eq & e
    assert eq is not None
    return eq
