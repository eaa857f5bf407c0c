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

__all__ = [
    "POSITION_FIELDS",
    "record_positions",
    "games_positions",
    "shuffled",
    "batches",
    "supervised_step",
    "evaluate_positions",
]

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
    (out,) = games_positions(game, [(moves, result)])
    if isinstance(out, str):
        raise ValueError(out)
    return out


def games_positions(game: Game, games: Sequence[tuple[Sequence[int], float | None]]) -> list[dict | str]:
    """`record_positions` of many games at once, stepped together in one batch (much faster than one by one).

    Returns:
        per game its positions, or a message (str) saying which of its moves is illegal.
    """
    R = len(games)
    moves = [[int(m) for m in g[0]] for g in games]
    state = game.init(R)
    live = [True] * R
    errors: list[str | None] = [None] * R
    rows: list[dict[str, list]] = [{"planes": [], "mask": [], "action": [], "player": []} for _ in range(R)]
    for t in range(max((len(m) for m in moves), default=0)):
        done = state.done.cpu().tolist()
        live = [live[i] and t < len(moves[i]) and not done[i] for i in range(R)]
        if not any(live):
            break
        mask = game.legal_mask(state).cpu()  # [R, A]
        planes = game.planes(state).to(torch.float16).cpu()  # [R, C, H, W]
        player = state.player.cpu().tolist()
        action = mask.int().argmax(-1)  # a legal move where the game has none left to replay
        for i in range(R):
            if not live[i]:
                continue
            a = moves[i][t]
            if not 0 <= a < mask.shape[1] or not bool(mask[i, a]):
                errors[i], live[i] = f"move {t + 1} (action {a}) is not legal where it stands", False
                continue
            rows[i]["planes"].append(planes[i])
            rows[i]["mask"].append(mask[i])
            rows[i]["action"].append(a)
            rows[i]["player"].append(player[i])
            action[i] = a
        state = game.step(state, action.to(state.player.device), check=False)
    out: list[dict | str] = []
    for i, (_, result) in enumerate(games):
        if errors[i] is not None:
            out.append(errors[i])
            continue
        out.append(_arrays(game, rows[i], result))
    return out


def _arrays(game: Game, rows: dict[str, list], result: float | None) -> dict[str, np.ndarray]:
    n = len(rows["action"])
    if n == 0:
        return {
            "planes": np.zeros((0, *tuple(game.planes_shape)), np.float16),
            "mask": np.zeros((0, game.num_actions), np.bool_),
            "action": np.zeros(0, np.int64),
            "value": np.zeros(0, np.float32),
            "has_value": np.zeros(0, np.bool_),
        }
    first = 0.0 if result is None else 2.0 * float(result) - 1.0
    sign = np.where(np.asarray(rows["player"], dtype=np.int64) == 0, 1.0, -1.0)
    return {
        "planes": torch.stack(rows["planes"]).numpy(),
        "mask": torch.stack(rows["mask"]).numpy().astype(np.bool_),
        "action": np.asarray(rows["action"], dtype=np.int64),
        "value": (first * sign).astype(np.float32),
        "has_value": np.full(n, result is not None),
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
