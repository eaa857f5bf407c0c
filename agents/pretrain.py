"""Learning from game records: positions of a recorded game, a bounded shuffle buffer, and supervised steps that train
the policy on the expert's move and the value on the game's result (the AlphaGo way, before self-play).

The stage that drives this inside a training run (reading files, held-out split, checkpoints, resume) is
`arena.pretrain`. Nothing here draws from the global random generators: every random choice comes from a numpy
generator the caller seeds, so a resumed stage repeats the same batches.

Dimension letters: P positions, S batch, A actions, C/H/W planes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from agents.buffer import apply_symmetry
from core.optim import clip_gradients
from envs.base import Game

__all__ = ["POSITION_FIELDS", "record_positions", "shuffled", "batches", "supervised_step", "evaluate_positions"]

# planes float16 [P, C, H, W], mask bool [P, A] (legal moves), action int64 [P] (the expert's move),
# value float32 [P] (the result from the view of the side to move), has_value bool [P] (the game has a result)
POSITION_FIELDS = ("planes", "mask", "action", "value", "has_value")


def record_positions(game: Game, moves: Sequence[int], result: float | None) -> dict[str, np.ndarray]:
    """Every position of a recorded game before one of its moves, with the move played and the result.

    Args:
        game: the game the moves are played in (its options: board size, ...).
        moves: action ids from the start position; moves after the game ended in `game` are ignored.
        result: the first player's score (1 win, 0.5 draw, 0 loss), or None for an unfinished game.
    Raises:
        ValueError: a move that is illegal where it stands (naming its number and the move).
    """
    state = game.init(1)
    planes, masks, actions, players = [], [], [], []
    for n, move in enumerate(moves):
        if bool(state.done[0]):
            break
        mask = game.legal_mask(state)[0]
        move = int(move)
        if not 0 <= move < mask.shape[0] or not bool(mask[move]):
            raise ValueError(f"move {n + 1} (action {move}) is not legal where it stands")
        planes.append(game.planes(state)[0].to(torch.float16))
        masks.append(mask)
        actions.append(move)
        players.append(int(state.player[0]))
        state = game.step(state, torch.tensor([move]), check=False)
    first = 0.0 if result is None else 2.0 * float(result) - 1.0
    sign = np.where(np.asarray(players, dtype=np.int64) == 0, 1.0, -1.0)
    if not planes:
        shape = tuple(game.planes_shape)
        return {
            "planes": np.zeros((0, *shape), np.float16),
            "mask": np.zeros((0, game.num_actions), np.bool_),
            "action": np.zeros(0, np.int64),
            "value": np.zeros(0, np.float32),
            "has_value": np.zeros(0, np.bool_),
        }
    return {
        "planes": torch.stack(planes).numpy(),
        "mask": torch.stack(masks).numpy().astype(np.bool_),
        "action": np.asarray(actions, dtype=np.int64),
        "value": (first * sign).astype(np.float32),
        "has_value": np.full(len(actions), result is not None),
    }


def shuffled(chunks: Iterable[dict[str, np.ndarray]], capacity: int, generator: np.random.Generator) -> Iterator[dict]:
    """Positions of a stream of chunks in a random order, holding at most `capacity` positions at a time.

    Each position enters a buffer; once the buffer is full, each new position pushes out a uniformly chosen one.
    At the end the rest leave in a random order. Yields one position (a dict of the POSITION_FIELDS) at a time.
    """
    buffer: list[dict] = []
    for chunk in chunks:
        for i in range(len(chunk["action"])):
            item = {k: chunk[k][i] for k in POSITION_FIELDS}
            if len(buffer) < capacity:
                buffer.append(item)
                continue
            j = int(generator.integers(0, capacity))
            buffer[j], item = item, buffer[j]
            yield item
    for j in generator.permutation(len(buffer)):
        yield buffer[j]


def batches(positions: Iterable[dict], size: int) -> Iterator[dict[str, np.ndarray]]:
    """Stack positions into batches of `size` (the last one may be smaller)."""
    items: list[dict] = []
    for item in positions:
        items.append(item)
        if len(items) == size:
            yield {k: np.stack([it[k] for it in items]) for k in POSITION_FIELDS}
            items = []
    if items:
        yield {k: np.stack([it[k] for it in items]) for k in POSITION_FIELDS}


def _tensors(batch: dict[str, np.ndarray], device: torch.device | str) -> dict[str, torch.Tensor]:
    out = {k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in batch.items()}
    out["planes"] = out["planes"].float()
    return out


def _with_symmetries(
    batch: dict[str, torch.Tensor], symmetries: list, generator: np.random.Generator
) -> dict[str, torch.Tensor]:
    """Each position under a random symmetry of the game (the expert's move mapped with it)."""
    if not symmetries or len(symmetries) < 2:
        return batch
    S, A = batch["mask"].shape
    which = generator.integers(0, len(symmetries), size=S)
    onehot = F.one_hot(batch["action"], A).float()
    planes, policy, mask = batch["planes"].clone(), onehot.clone(), batch["mask"].clone()
    for s, sym in enumerate(symmetries[1:], 1):
        rows = torch.from_numpy(np.nonzero(which == s)[0])
        if rows.numel():
            planes[rows], policy[rows], mask[rows] = apply_symmetry(sym, batch["planes"][rows], onehot[rows],
                                                                    batch["mask"][rows])  # fmt: skip
    return {**batch, "planes": planes, "mask": mask, "action": policy.argmax(-1)}


def _losses(net: torch.nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    logits, value = net(batch["planes"])
    logits = logits.float().masked_fill(~batch["mask"], -1e9)  # [S, A]
    policy_loss = F.cross_entropy(logits, batch["action"])
    has = batch["has_value"].float()
    value_loss = ((value.float() - batch["value"]) ** 2 * has).sum() / has.sum().clamp(min=1.0)
    top1 = (logits.argmax(-1) == batch["action"]).float().mean()
    return {"policy_loss": policy_loss, "value_loss": value_loss, "top1": top1}


def supervised_step(
    net: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    batch: dict[str, np.ndarray],
    *,
    symmetries: list,
    generator: np.random.Generator,
    value_weight: float = 1.0,
    grad_clip: float = 0.0,
    device: torch.device | str = "cpu",
) -> dict[str, float]:
    """One optimizer step: cross-entropy of the policy against the expert's move plus `value_weight` times the
    squared error of the value against the result, each position under a random game symmetry.

    Returns:
        loss, policy_loss, value_loss, top1 (the share of the batch where the policy's first choice is the expert's).
    """
    net.train()
    parts = _losses(net, _with_symmetries(_tensors(batch, device), symmetries, generator))
    loss = parts["policy_loss"] + value_weight * parts["value_loss"]
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip > 0:
        clip_gradients(net, grad_clip)
    optimizer.step()
    net.eval()
    return {"loss": float(loss.detach()), **{k: float(v.detach()) for k, v in parts.items()}}


@torch.no_grad()
def evaluate_positions(
    net: torch.nn.Module, positions: dict[str, np.ndarray], *, batch: int = 512, device: torch.device | str = "cpu"
) -> dict[str, float]:
    """Policy and value loss, top-1 agreement with the expert and the chance level (mean 1 / legal moves) on a set
    of positions (no symmetries). Empty set: {}."""
    n = len(positions["action"])
    if n == 0:
        return {}
    net.eval()
    sums = {"policy_loss": 0.0, "value_loss": 0.0, "top1": 0.0}
    has_total = float(positions["has_value"].sum())
    for lo in range(0, n, batch):
        part = _tensors({k: v[lo : lo + batch] for k, v in positions.items()}, device)
        out = _losses(net, part)
        rows = len(part["action"])
        sums["policy_loss"] += float(out["policy_loss"]) * rows
        sums["top1"] += float(out["top1"]) * rows
        sums["value_loss"] += float(out["value_loss"]) * float(part["has_value"].sum())
    return {
        "policy_loss": sums["policy_loss"] / n,
        "value_loss": sums["value_loss"] / max(has_total, 1.0),
        "top1": sums["top1"] / n,
        "chance": float((1.0 / positions["mask"].sum(-1).clip(min=1)).mean()),
    }
