"""Replay buffer of self-play positions, kept as shards on disk and sampled with a random symmetry of the game.

Each call to `ReplayBuffer.add` writes one shard `shard_NNNNNN.npz` (atomically, by `core.checkpoint.atomic_write`)
into the buffer directory and appends it to an in-memory window of the most recent `window` positions. Shards that
fall wholly outside the window are deleted once no saved checkpoint needs them. A resumed run rebuilds the
checkpoint's window from the shards on disk, removing shards written after the checkpoint it resumes from; a missing
or damaged shard of that window is an error naming it (skipping it would train on other data than the run saved).

Dimension letters: P positions, S sampled batch, A actions, C/H/W planes.

Shard fields: planes float16 [P, C, H, W], policy float32 [P, A] (search policy target), mask bool [P, A] (legal moves),
value float32 [P] (final outcome from the view of the position's player to move), full bool [P] (position searched
with the full simulation budget; only these train the policy head).
Optional auxiliary fields (`AUX_FIELDS`; a shard has all of them or those its run records): ownership float16
[P, H*W], score float32 [P], reply float32 [P, A] (the opponent's reply policy), reply_valid bool [P]. The window
offers one only when every shard in it has it.

Merging duplicates (`merge_duplicates=True`, off by default): the window is sampled as its distinct positions, each
with the mean of its copies' targets (Clausen 2020, on Connect Four). Two positions are the same when their
observation planes (the network's whole input: in every game of the project, the side to move is part of it, as
its own plane or as the "mover's stones" view) and their legal-move masks are equal byte for byte; mirror images are
not merged (sampling still applies a random symmetry to each). A merged position has value = mean value of all
its copies, policy = mean policy of its full-search copies (of all copies when none was a full search; the loss
ignores it then), full = any copy full. Sampling is uniform over the U distinct positions: a position played 40
times in the window is drawn as often as one played once, with averaged targets, not 40 times as often. The merged
window is rebuilt from the window itself whenever the window changes (it is not saved: a resumed run rebuilds the
same merged window, in the same order, from the shards).
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import torch

from core.checkpoint import atomic_write

__all__ = ["FIELDS", "AUX_FIELDS", "ReplayBuffer", "apply_symmetry", "group_positions", "merge_duplicates"]

FIELDS = ("planes", "policy", "mask", "value", "full")
AUX_FIELDS = ("ownership", "score", "reply", "reply_valid")
_DTYPES = {"planes": np.float16, "policy": np.float32, "mask": np.bool_, "value": np.float32, "full": np.bool_,
           "ownership": np.float16, "score": np.float32, "reply": np.float32, "reply_valid": np.bool_}  # fmt: skip
_SHARD = re.compile(r"^shard_(\d{6})\.npz$")
_CHUNK = 1 << 13  # rows hashed and compared at a time
_HASH_MUL = np.random.default_rng(20261127).integers(1, 2**63, size=4096, dtype=np.uint64) | np.uint64(1)  # odd


def merge_duplicates(arrays: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Merge the positions with equal planes and legal-move masks into one each, averaging their targets.

    Args:
        arrays: the FIELDS with leading dim P (planes float16 [P, C, H, W], policy [P, A], mask [P, A], value [P],
            full [P]).
    Returns:
        (merged, counts): merged holds the FIELDS with leading dim U (distinct positions, in order of first
        occurrence): planes and mask of the position, value = mean over its copies, policy = mean over its
        full-search copies (over all copies when none is full), full = any copy full; counts int64 [U] (copies).
    """
    first, inverse = group_positions(arrays["planes"], arrays["mask"])  # [U], [P]
    count = len(first)
    order = np.argsort(inverse, kind="stable")  # copies of each position together, positions in first-seen order
    counts = np.bincount(inverse, minlength=count)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    full = arrays["full"].astype(bool)
    any_full = np.logical_or.reduceat(full[order], starts)  # [U]
    weight = (full | ~any_full[inverse]).astype(np.float64)  # [P]: the copies whose policies are averaged
    policy_sum = np.add.reduceat(arrays["policy"][order].astype(np.float64) * weight[order, None], starts, axis=0)
    weight_sum = np.add.reduceat(weight[order], starts)
    value_sum = np.add.reduceat(arrays["value"][order].astype(np.float64), starts)
    merged = {
        "planes": arrays["planes"][first],
        "policy": (policy_sum / weight_sum[:, None]).astype(np.float32),  # [U, A]
        "mask": arrays["mask"][first],
        "value": (value_sum / counts).astype(np.float32),  # [U]
        "full": any_full,
    }
    for key in ("ownership", "score"):
        if key in arrays:
            total = np.add.reduceat(arrays[key][order].astype(np.float64), starts, axis=0)
            merged[key] = (total / (counts[:, None] if total.ndim == 2 else counts)).astype(_DTYPES[key])
    if "reply" in arrays:
        valid = arrays["reply_valid"].astype(np.float64)
        total = np.add.reduceat(arrays["reply"][order].astype(np.float64) * valid[order, None], starts, axis=0)
        n_valid = np.add.reduceat(valid[order], starts)
        merged["reply"] = (total / np.maximum(n_valid, 1)[:, None]).astype(np.float32)
        merged["reply_valid"] = n_valid > 0
    return merged, counts


def group_positions(planes: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group equal positions: equal planes and legal-move masks, byte for byte.

    Args:
        planes: [P, C, H, W]; mask: [P, A].
    Returns:
        (first, group): first int64 [U], the first row of each distinct position, increasing; group int64 [P], each
        row's position as an index into `first`.

    A 64-bit hash groups the rows; every row is then compared byte for byte with its group's first row, and a hash
    collision (never seen, but possible) falls back to grouping by the bytes themselves.
    """
    count = len(mask)
    chunks = [(lo, min(lo + _CHUNK, count)) for lo in range(0, count, _CHUNK)]  # bounds the memory of the copies
    hashes = [_hash_rows(_row_bytes(planes[lo:hi], mask[lo:hi])) for lo, hi in chunks]
    hashes = np.concatenate(hashes or [np.zeros(0, np.uint64)])  # [P]
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    same = all(
        np.array_equal(_row_bytes(planes[lo:hi], mask[lo:hi]), _row_bytes(planes[rep], mask[rep]))
        for (lo, hi), rep in ((c, first[inverse[c[0] : c[1]]]) for c in chunks)
    )
    if not same:  # a collision: group by the bytes themselves
        rows = _row_bytes(planes, mask)
        _, first, inverse = np.unique(rows.view(np.dtype((np.void, rows.shape[1]))).ravel(), return_index=True,
                                      return_inverse=True)  # fmt: skip
        inverse = inverse.ravel()
    rank = np.empty(len(first), np.int64)
    by_first = np.argsort(first)
    rank[by_first] = np.arange(len(first))
    return first[by_first], rank[inverse]


def _row_bytes(planes: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """uint8 [n, 8K]: each row's plane and mask bytes, zero-padded to whole 64-bit words."""
    count = len(mask)
    plane_bytes = np.ascontiguousarray(planes).reshape(count, -1).view(np.uint8)
    mask_bytes = np.ascontiguousarray(mask).reshape(count, -1).view(np.uint8)
    width = plane_bytes.shape[1] + mask_bytes.shape[1]
    rows = np.zeros((count, -(-width // 8) * 8), np.uint8)
    rows[:, : plane_bytes.shape[1]] = plane_bytes
    rows[:, plane_bytes.shape[1] : width] = mask_bytes
    return rows


def _hash_rows(rows: np.ndarray) -> np.ndarray:
    """uint64 [n]: a 64-bit hash of each row of `_row_bytes`."""
    words = rows.view(np.uint64)  # [n, K]
    mul = np.resize(_HASH_MUL, words.shape[1])
    with np.errstate(over="ignore"):
        mixed = words * mul
        mixed ^= mixed >> np.uint64(29)
        return (mixed * mul[::-1]).sum(axis=1)  # wraps modulo 2**64


def apply_symmetry(
    symmetry: tuple, planes: torch.Tensor, policy: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Map a batch of positions through one game symmetry.

    Args:
        symmetry: (transform, perm) from `game.symmetries()`.
        planes: [S, C, H, W]; policy: [S, A]; mask: [S, A].
    Returns:
        (transform(planes), policy[:, perm], mask[:, perm]).
    """
    transform, perm = symmetry
    perm = perm.to(policy.device)
    return transform(planes), policy[:, perm], mask[:, perm]


class ReplayBuffer:
    """A window of the most recent positions, backed by npz shards in `directory`.

    Args:
        directory: the run's buffer/ folder (created if missing).
        window: number of most recent positions kept for sampling.
        symmetries: `game.symmetries()`; sampling applies one at random per position (None: identity only).
        merge_duplicates: sample the window's distinct positions with averaged targets (module docstring).
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        window: int,
        symmetries: list | None = None,
        *,
        merge_duplicates: bool = False,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.window = int(window)
        self.symmetries = list(symmetries) if symmetries else None
        self.next_shard = 0  # index of the next shard to write
        self.positions_total = 0  # positions ever added
        self._shards: list[tuple[int, dict[str, np.ndarray]]] = []  # (index, arrays) in order, newest last
        self.merge_duplicates = bool(merge_duplicates)
        self._cache: dict[str, np.ndarray] | None = None
        self._merged: dict[str, np.ndarray] | None = None  # the window's distinct positions (merge_duplicates)
        self._saved_first = 0  # oldest shard the last saved checkpoint needs

    def __len__(self) -> int:
        return sum(len(arrays["value"]) for _, arrays in self._shards)

    def add(self, data: dict[str, np.ndarray | torch.Tensor]) -> Path | None:
        """Write one shard of positions and add it to the window.

        Args:
            data: the FIELDS as arrays or tensors with leading dim P.
        Returns:
            The shard path (None when P == 0).
        """
        keys = FIELDS + tuple(k for k in AUX_FIELDS if k in data)
        arrays = {k: _to_numpy(data[k]).astype(_DTYPES[k], copy=False) for k in keys}
        count = len(arrays["value"])
        if count == 0:
            return None
        if any(len(a) != count for a in arrays.values()):
            raise ValueError(f"replay buffer: fields have different lengths {[len(a) for a in arrays.values()]}")
        path = self.directory / f"shard_{self.next_shard:06d}.npz"
        data_bytes = io.BytesIO()
        np.savez_compressed(data_bytes, **arrays)
        atomic_write(path, data_bytes.getvalue())
        self._shards.append((self.next_shard, arrays))
        self.next_shard += 1
        self.positions_total += count
        self._trim()
        return path

    def _trim(self) -> None:
        """Drop the oldest shards that lie wholly outside the window from memory (their files go in `state_dict`)."""
        while len(self._shards) > 1 and len(self) - len(self._shards[0][1]["value"]) >= self.window:
            self._shards.pop(0)
        self._cache = None
        self._merged = None

    def _delete_before(self, first: int) -> None:
        for path in self.directory.iterdir():
            m = _SHARD.match(path.name)
            if m and int(m.group(1)) < first:
                path.unlink(missing_ok=True)

    def _window_arrays(self) -> dict[str, np.ndarray]:
        if self._cache is None:
            if not self._shards:
                raise ValueError("replay buffer is empty")
            keys = FIELDS + tuple(k for k in AUX_FIELDS if all(k in arrays for _, arrays in self._shards))
            cat = {k: np.concatenate([arrays[k] for _, arrays in self._shards]) for k in keys}
            self._cache = {k: v[-self.window :] for k, v in cat.items()}
        return self._cache

    def _sampled_arrays(self) -> dict[str, np.ndarray]:
        """What `sample` draws from: the window, or its distinct positions when merging duplicates."""
        if not self.merge_duplicates:
            return self._window_arrays()
        if self._merged is None:
            self._merged = merge_duplicates(self._window_arrays())[0]
        return self._merged

    def distinct(self) -> int:
        """Number of positions `sample` draws from: distinct positions when merging duplicates, else len(self)."""
        return len(self._sampled_arrays()["value"]) if self._shards else 0

    def sample(self, batch: int, generator: np.random.Generator, device: str | torch.device = "cpu") -> dict:
        """Sample positions uniformly from the window (from its distinct positions when merging duplicates), each
        under a random game symmetry.

        Args:
            batch: S, the number of positions.
            generator: numpy random generator (part of the run's saved RNG state through numpy's global seed).
            device: where the returned tensors live.
        Returns:
            dict with planes float32 [S, C, H, W], policy [S, A], mask bool [S, A], value [S], full bool [S], and
            the auxiliary fields the window has (ownership float32 [S, H*W], score [S], reply [S, A], reply_valid).
        """
        arrays = self._sampled_arrays()
        idx = generator.integers(0, len(arrays["value"]), size=batch)
        out = {k: torch.from_numpy(np.ascontiguousarray(v[idx])).to(device) for k, v in arrays.items()}
        out["planes"] = out["planes"].float()
        if "ownership" in out:
            out["ownership"] = out["ownership"].float()
        if self.symmetries and len(self.symmetries) > 1:
            which = torch.from_numpy(generator.integers(0, len(self.symmetries), size=batch)).to(device)
            planes, policy, mask = out["planes"].clone(), out["policy"].clone(), out["mask"].clone()
            reply = out["reply"].clone() if "reply" in out else None
            ownership = out["ownership"].clone() if "ownership" in out else None
            for s, sym in enumerate(self.symmetries):
                rows = (which == s).nonzero().squeeze(1)
                if s == 0 or rows.numel() == 0:
                    continue  # identity first
                p, q, m = apply_symmetry(sym, out["planes"][rows], out["policy"][rows], out["mask"][rows])
                planes[rows], policy[rows], mask[rows] = p, q, m
                if "reply" in out:
                    reply[rows] = out["reply"][rows][:, sym[1].to(device)]
                if "ownership" in out:
                    h, w = out["planes"].shape[-2:]
                    ownership[rows] = sym[0](out["ownership"][rows].view(-1, 1, h, w)).flatten(1)
            out.update(planes=planes, policy=policy, mask=mask)
            if "reply" in out:
                out["reply"] = reply
            if "ownership" in out:
                out["ownership"] = ownership
        return out

    def state_dict(self) -> dict:
        """Counters saved in each checkpoint (the data itself lives in the shards).

        Shard files leave the disk one checkpoint late: those older than the window of the previous call, which the
        checkpoint about to be written replaces (a run killed before that write still finds its window on disk).
        """
        first = self._shards[0][0] if self._shards else self.next_shard
        self._delete_before(self._saved_first)
        self._saved_first = first
        return {
            "next_shard": self.next_shard,
            "first_shard": first,
            "positions_total": self.positions_total,
            "window": self.window,
        }

    def load_state_dict(self, state: dict) -> None:
        """Rebuild the window from the shards on disk written before the checkpoint; remove later ones.

        Raises:
            ValueError: a shard of the window is missing or damaged (the message names it). Skipping it would
                train on another window than the run saved, so the run stops rather than lose those positions.
        """
        self.next_shard = int(state["next_shard"])
        self.positions_total = int(state["positions_total"])
        found = []
        for path in self.directory.iterdir():
            m = _SHARD.match(path.name)
            if path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)  # a write cut short
            elif m and int(m.group(1)) >= self.next_shard:
                path.unlink()  # written by the unfinished iteration after the checkpoint
            elif m:
                found.append(int(m.group(1)))
        first = int(state.get("first_shard", 0))
        self._delete_before(first)
        missing = sorted(set(range(first, self.next_shard)) - set(found))
        if missing:
            names = ", ".join(f"shard_{i:06d}.npz" for i in missing)
            raise ValueError(f"replay buffer {self.directory}: {names} missing (the saved window needs them)")
        self._shards = [(index, self._read_shard(index)) for index in range(first, self.next_shard)]
        self._saved_first = first
        self._trim()

    def _read_shard(self, index: int) -> dict[str, np.ndarray]:
        """One shard's arrays (never unpickled: allow_pickle stays off). Raises ValueError naming a damaged shard."""
        path = self.directory / f"shard_{index:06d}.npz"
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in FIELDS + tuple(k for k in AUX_FIELDS if k in z.files)}
        except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile) as err:
            first = (str(err).strip().splitlines() or [""])[0]
            raise ValueError(f"replay buffer shard {path} is damaged ({type(err).__name__}: {first})") from None
        counts = {len(a) for a in arrays.values()}
        if len(counts) != 1:
            raise ValueError(f"replay buffer shard {path} is damaged (fields of different lengths)")
        return arrays


def _to_numpy(x: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)
