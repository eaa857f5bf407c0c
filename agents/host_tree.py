"""The leaf batch's tree walks for a few games on the CPU, in numpy over views of the tree's tensors.

For one game the torch path of agents.mcts spends most of its time in the per-op overhead of tiny tensors (about 30
ops a level of every walk, each costing microseconds on [1, A] tensors). Here one game's walk is a loop over its
own path with numpy on A-sized rows, so a leaf costs a few tens of microseconds; the evaluation of the batch stays
one batched call. The arithmetic (PUCT with first-play urgency and virtual losses, forced playouts, backups in
float32) is the torch path's, node for node; tests compare both on the same searches.

Used only where the tree lives on the CPU and few games are searched (Python work is O(games) here); Gumbel root
search keeps the torch path.

Two walks do the same: "native", the C extension agents/_search_walk (built by `pip install -e .` or
`python setup.py build_ext --inplace`; a leaf costs about a microsecond, and a search of one game with one leaf per
call takes this path too), and "python", the numpy functions below (the fallback where the extension is not built;
with one leaf per call the search then keeps the torch path of agents.mcts). `use_walk` picks one for a block
(benchmarks and tests compare them).

Dimension letters: B games, N nodes, A actions.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from agents.tree import Tree

try:
    from agents import _search_walk
except ImportError:  # not built: the numpy walks
    _search_walk = None

__all__ = [
    "HostTree",
    "host_tree",
    "select_one",
    "reserve_one",
    "backup_one",
    "WALKS",
    "native_walk_available",
    "current_walk",
    "use_walk",
    "native_walker",
]

_FORCED_BONUS = np.float32(1e4)
WALKS = ("native", "python")
_walk = ["native" if _search_walk is not None else "python"]


def native_walk_available() -> bool:
    """Whether the C walks (agents._search_walk) are built."""
    return _search_walk is not None


def current_walk() -> str:
    """ "native" (the C walks) or "python" (numpy; the torch path with one leaf per call)."""
    return _walk[0]


@contextmanager
def use_walk(name: str) -> Iterator[None]:
    """Search with the walk `name` ("native" or "python") inside the block."""
    if name not in WALKS:
        raise ValueError(f"unknown walk {name!r}; expected one of {', '.join(WALKS)}")
    if name == "native" and _search_walk is None:
        raise ValueError("the native walk is not built: run `pip install -e .` (or `setup.py build_ext --inplace`)")
    before, _walk[0] = _walk[0], name
    try:
        yield
    finally:
        _walk[0] = before


def native_walker(tree: Tree):
    """An agents._search_walk.Walker over the arrays of `tree` (on the CPU, contiguous, int64 players), or None
    where the native walk is off or does not apply."""
    if _walk[0] != "native" or tree.states.player.dtype != torch.int64:
        return None
    names = ("visits", "value_sum", "raw_value", "prior", "legal", "children", "parent", "depth", "terminal")
    arrays = [getattr(tree, k) for k in (*names, "virtual", "num_nodes")] + [tree.states.player]
    fields = [getattr(tree.states, f.name) for f in dataclasses.fields(tree.states)]
    if not all(x.is_contiguous() and x.device.type == "cpu" for x in arrays + fields):
        return None  # the leaves are written by flat node indices (agents.mcts), which needs contiguous arrays
    return _search_walk.Walker(*(x.numpy() for x in arrays))


@dataclass
class HostTree:
    """Numpy views (shared memory) of a CPU tree's arrays; writes go to the tree itself."""

    tree: Tree
    visits: np.ndarray
    value_sum: np.ndarray
    raw_value: np.ndarray
    prior: np.ndarray
    legal: np.ndarray
    children: np.ndarray
    parent: np.ndarray
    depth: np.ndarray
    terminal: np.ndarray
    virtual: np.ndarray
    num_nodes: np.ndarray
    player: np.ndarray


def host_tree(tree: Tree) -> HostTree:
    """Views of `tree` (on the CPU, contiguous) for the walks below."""
    names = ("visits", "value_sum", "raw_value", "prior", "legal", "children", "parent", "depth", "terminal")
    views = {k: getattr(tree, k).numpy() for k in (*names, "virtual", "num_nodes")}
    return HostTree(tree=tree, player=tree.states.player.numpy(), **views)


def select_one(
    t: HostTree,
    b: int,
    root_prior: np.ndarray,
    root_legal: np.ndarray,
    c_puct: float,
    fpu: float,
    forced_k: float | None,
) -> tuple[int, int]:
    """Walk game b down from the root while the chosen child exists and is not terminal (PUCT, virtual losses
    counted as lost visits). forced_k: KataGo's forced playouts at the root (None: off). Returns (node, action)."""
    node = 0
    c_puct32, fpu32 = np.float32(c_puct), np.float32(fpu)
    while True:
        ch = t.children[b, node]
        valid = ch >= 0
        c = np.where(valid, ch, 0)
        virtual = t.virtual[b, c]
        n = np.where(valid, t.visits[b, c] + virtual, np.float32(0))
        s = t.value_sum[b, c]
        same = t.player[b, c] == t.player[b, node]
        q = np.where(n > 0, (np.where(same, s, -s) - virtual) / np.maximum(n, np.float32(1)), np.float32(0))
        prior, legal = (root_prior, root_legal) if node == 0 else (t.prior[b, node], t.legal[b, node])
        visits = t.visits[b, node]
        node_visits = visits + t.virtual[b, node]
        node_value = t.value_sum[b, node] / max(visits, np.float32(1))
        q = np.where(n > 0, q, node_value - fpu32)
        u = c_puct32 * prior * np.sqrt(node_visits) / (np.float32(1) + n)
        score = np.where(legal, q + u, np.float32(-math.inf))
        if node == 0 and forced_k is not None:
            forced = legal & (n < np.sqrt(np.float32(forced_k) * prior * n.sum()))
            score = score + forced * _FORCED_BONUS
        a = int(score.argmax())
        child = int(ch[a])
        if child < 0 or t.terminal[b, child]:
            return node, a
        node = child


def reserve_one(t: HostTree, b: int, node: int, action: int) -> tuple[int, bool]:
    """Give game b's child (node, action) its node id if it is new (terminal until evaluated) and add a virtual
    loss along the path from the leaf to the root. Returns (leaf, is_new)."""
    child = int(t.children[b, node, action])
    is_new = child < 0
    if is_new:
        child = int(t.num_nodes[b])
        t.parent[b, child] = node
        t.depth[b, child] = t.depth[b, node] + 1
        t.visits[b, child] = 0.0
        t.value_sum[b, child] = 0.0
        t.virtual[b, child] = 0.0
        t.terminal[b, child] = True  # pending: selection stops here until the leaf is evaluated
        t.children[b, node, action] = child
        t.num_nodes[b] = child + 1
        t.tree.max_depth = max(t.tree.max_depth, int(t.depth[b, child]))
    cur = child
    while cur >= 0:
        t.virtual[b, cur] += 1.0
        cur = int(t.parent[b, cur])
    return child, is_new


def backup_one(t: HostTree, b: int, leaf: int) -> None:
    """Add game b's leaf value to every node on its path, negated wherever the player to move changes."""
    v = t.raw_value[b, leaf]
    cur = leaf
    while True:
        t.visits[b, cur] += np.float32(1)
        t.value_sum[b, cur] += v
        par = int(t.parent[b, cur])
        if par < 0:
            return
        if t.player[b, par] != t.player[b, cur]:
            v = -v
        cur = par
