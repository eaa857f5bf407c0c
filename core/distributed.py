"""Distributed helpers for jobs launched by `torchrun` (DDP: gloo on CPU, nccl on GPU).

The single-process path needs none of this: `setup_distributed` then returns the picked device, rank 0 and world 1,
and the collectives below are no-ops (or return their input) when no process group is running.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist

from core.device import pick_device

__all__ = [
    "rank_and_world",
    "setup_distributed",
    "all_reduce_sum",
    "all_reduce_max",
    "gather_objects",
    "broadcast_object",
]


def rank_and_world() -> tuple[int, int]:
    """(rank, world size) of the running process group, or (0, 1) without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def setup_distributed(device_name: str = "auto") -> tuple[torch.device, int, int]:
    """Join the process group `torchrun` describes (WORLD_SIZE > 1), once; returns (device, rank, world).

    Under torchrun the backend is nccl with one GPU per local rank when CUDA is available and `device_name` allows
    it (auto or cuda), else gloo on the CPU. Without torchrun: `pick_device(device_name)`, rank 0, world 1.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        use_cuda = torch.cuda.is_available() and device_name in ("auto", "cuda")
        dist.init_process_group("nccl" if use_cuda else "gloo")
        if use_cuda:
            local = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local)
            return torch.device("cuda", local), *rank_and_world()
        return torch.device("cpu"), *rank_and_world()
    rank, world = rank_and_world()
    if world > 1:
        cuda = dist.get_backend() == "nccl"
        return (torch.device("cuda", torch.cuda.current_device()) if cuda else torch.device("cpu")), rank, world
    return pick_device(device_name), 0, 1


def all_reduce_sum(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """The sum of x over all ranks (x itself with one process); the result lives on `device`."""
    if rank_and_world()[1] == 1:
        return x
    x = x.to(device)
    dist.all_reduce(x)
    return x


def all_reduce_max(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """The largest x over all ranks (x itself with one process)."""
    if rank_and_world()[1] == 1:
        return x
    x = x.to(device)
    dist.all_reduce(x, op=dist.ReduceOp.MAX)
    return x


def gather_objects(obj: Any) -> list[Any]:
    """Every rank's picklable obj, in rank order (every rank must call it); [obj] with one process."""
    world = rank_and_world()[1]
    if world == 1:
        return [obj]
    out: list[Any] = [None] * world
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """Rank src's picklable obj on every rank (every rank must call it); obj itself with one process."""
    if rank_and_world()[1] == 1:
        return obj
    holder = [obj]
    dist.broadcast_object_list(holder, src=src)
    return holder[0]
