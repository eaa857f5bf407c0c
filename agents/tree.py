"""The search tree: a struct of arrays over B games and N nodes, on the device of the game states (mctx style).

Visit counts, value sums, evaluator values, priors, legal masks, children and parents over [B, N] / [B, N, A], plus
the game State of every node with leading [B, N]. Values are stored from the view of the player to move at each node.
This module holds the storage and the tree surgery (growing, merging, re-rooting for tree reuse); the search itself
is agents.mcts.

Dimension letters: B games, N nodes, A actions.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "Leaf",
    "Tree",
    "new_tree",
    "grow",
    "merge",
    "child_stats",
    "state_fields",
    "state_gather",
    "state_write",
    "advance_tree",
    "reset_rows",
]


@dataclass(frozen=True)
class Leaf:
    """A batch of evaluated positions: prior [B, A] (0 on illegal actions), value [B] (the outcome where done,
    player-to-move view), legal [B, A] bool, done [B] bool."""

    prior: Tensor
    value: Tensor
    legal: Tensor
    done: Tensor


@dataclass
class Tree:
    """Search tree of B games with capacity N nodes (node 0 is the root). Arrays are updated in place by `search`.

    Fields: visits, value_sum, raw_value [B, N] float (node player's view); virtual [B, N] float: virtual losses of
    the leaf batch being selected (agents.mcts; each counts as a visit that lost for the player who moved into the
    node; all 0 between steps); prior [B, N, A] float; legal [B, N, A]
    bool; children [B, N, A] int32 (-1: not expanded); parent [B, N] long (-1 at the root); depth [B, N] long;
    terminal [B, N] bool; num_nodes [B] long (0: no tree for that game); states: a game State with fields [B, N, ...];
    max_depth: upper bound on the depth of any node (int).
    """

    visits: Tensor
    value_sum: Tensor
    raw_value: Tensor
    prior: Tensor
    legal: Tensor
    children: Tensor
    parent: Tensor
    depth: Tensor
    terminal: Tensor
    virtual: Tensor
    num_nodes: Tensor
    states: Any
    max_depth: int


_NODE_FIELDS = (
    "visits", "value_sum", "raw_value", "prior", "legal", "children", "parent", "depth", "terminal", "virtual"
)  # fmt: skip
_FILL = {"children": -1, "parent": -1}


def state_fields(state: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(state)]


def state_gather(states: Any, rows: Tensor, node: Tensor) -> Any:
    """The State at node[b] of every game: fields [B, ...]."""
    return type(states)(**{k: getattr(states, k)[rows, node] for k in state_fields(states)})


def state_write(states: Any, rows: Tensor, node: Tensor, state: Any) -> None:
    for k in state_fields(states):
        getattr(states, k)[rows, node] = getattr(state, k)


def new_tree(state: Any, leaf: Leaf, capacity: int) -> Tree:
    """A tree with room for `capacity` nodes holding only the root `state`, evaluated as `leaf`."""
    prior, value, legal, done = leaf.prior, leaf.value, leaf.legal, leaf.done
    b, a = prior.shape
    dev = prior.device
    states = type(state)(
        **{
            k: torch.zeros((b, capacity, *getattr(state, k).shape[1:]), dtype=getattr(state, k).dtype, device=dev)
            for k in state_fields(state)
        }
    )
    tree = Tree(
        visits=torch.zeros(b, capacity, device=dev),
        value_sum=torch.zeros(b, capacity, device=dev),
        raw_value=torch.zeros(b, capacity, device=dev),
        prior=torch.zeros(b, capacity, a, device=dev),
        legal=torch.zeros(b, capacity, a, dtype=torch.bool, device=dev),
        children=torch.full((b, capacity, a), -1, dtype=torch.int32, device=dev),
        parent=torch.full((b, capacity), -1, dtype=torch.long, device=dev),
        depth=torch.zeros(b, capacity, dtype=torch.long, device=dev),
        terminal=torch.zeros(b, capacity, dtype=torch.bool, device=dev),
        virtual=torch.zeros(b, capacity, device=dev),
        num_nodes=torch.ones(b, dtype=torch.long, device=dev),
        states=states,
        max_depth=0,
    )
    tree.visits[:, 0] = 1.0
    tree.value_sum[:, 0] = value
    tree.raw_value[:, 0] = value
    tree.prior[:, 0] = prior
    tree.legal[:, 0] = legal
    tree.terminal[:, 0] = done
    state_write(states, torch.arange(b, device=dev), torch.zeros(b, dtype=torch.long, device=dev), state)
    return tree


def grow(tree: Tree, capacity: int) -> Tree:
    """The same tree with room for `capacity` nodes (copies when it must grow)."""
    n = tree.visits.shape[1]
    if capacity <= n:
        return tree

    def pad(x: Tensor, fill: float) -> Tensor:
        out = torch.full((x.shape[0], capacity, *x.shape[2:]), fill, dtype=x.dtype, device=x.device)
        out[:, :n] = x
        return out

    fields = {k: pad(getattr(tree, k), _FILL.get(k, 0)) for k in _NODE_FIELDS}
    states = type(tree.states)(**{k: pad(getattr(tree.states, k), 0) for k in state_fields(tree.states)})
    return dataclasses.replace(tree, states=states, **fields)


def merge(keep: Tensor, a: Tree, b: Tree) -> Tree:
    """Rows of `a` where keep[B], rows of `b` elsewhere (same capacity)."""

    def pick(x: Tensor, y: Tensor) -> Tensor:
        return torch.where(keep.view(-1, *([1] * (x.dim() - 1))), x, y)

    fields = {k: pick(getattr(a, k), getattr(b, k)) for k in (*_NODE_FIELDS, "num_nodes")}
    states = type(a.states)(**{k: pick(getattr(a.states, k), getattr(b.states, k)) for k in state_fields(a.states)})
    return Tree(states=states, max_depth=max(a.max_depth, b.max_depth), **fields)


def child_stats(tree: Tree, rows: Tensor, node: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(children [B, A] long, visits [B, A], q [B, A] from node[b]'s player view, 0 where unvisited).

    Virtual losses count: each adds a visit worth -1 from node[b]'s player view (none outside a leaf batch)."""
    child = tree.children[rows, node].long()
    c = child.clamp_min(0)
    virtual = tree.virtual.gather(1, c)
    n = torch.where(child >= 0, tree.visits.gather(1, c) + virtual, 0.0)
    s = tree.value_sum.gather(1, c)
    player = tree.states.player
    same = player.gather(1, c) == player[rows, node][:, None]
    q = torch.where(n > 0, (torch.where(same, s, -s) - virtual) / n.clamp_min(1.0), 0.0)
    return child, n, q


def advance_tree(tree: Tree, action: Tensor) -> Tree:
    """The subtree under the played action of every game, re-rooted and compacted (node ids renumbered).

    Games whose child was never expanded get an empty tree (num_nodes 0); the next `search` builds it afresh.

    Args:
        tree: a Tree from SearchResult.tree.
        action: LongTensor[B] played at the root.
    Returns:
        a new Tree (the input is left untouched).
    """
    b, cap = tree.parent.shape
    dev = tree.parent.device
    rows = torch.arange(b, device=dev)
    new_root = tree.children[rows, 0, action.to(dev).long()].long()  # [B]
    ids = torch.arange(cap, device=dev).expand(b, cap)
    used = ids < tree.num_nodes[:, None]
    inside = torch.zeros(b, cap, dtype=torch.bool, device=dev)
    anc = ids
    for _ in range(tree.max_depth + 1):  # a node is inside if new_root is among its ancestors (or itself)
        inside |= anc == new_root[:, None]
        anc = tree.parent.gather(1, anc.clamp_min(0))
    inside &= used & (new_root >= 0)[:, None]
    new_id = inside.long().cumsum(1) - 1  # children have larger ids than parents, so the new root maps to 0
    count = inside.sum(1)
    bi, ni = inside.nonzero(as_tuple=True)
    dst = new_id[bi, ni]

    def move(x: Tensor, fill: float) -> Tensor:
        out = torch.full_like(x, fill)
        out[bi, dst] = x[bi, ni]
        return out

    def renumber(ref: Tensor) -> Tensor:  # old node ids -> new ids (-1 stays -1)
        flat = ref.reshape(b, -1).long()
        mapped = new_id.gather(1, flat.clamp_min(0))
        return torch.where(flat >= 0, mapped, -1).view(ref.shape)

    fields = {k: move(getattr(tree, k), _FILL.get(k, 0)) for k in _NODE_FIELDS if k not in ("children", "parent")}
    fields["children"] = renumber(move(tree.children, -1)).to(torch.int32)
    parent = renumber(move(tree.parent, -1))
    parent[:, 0] = -1
    fields["parent"] = parent
    fields["depth"] = (fields["depth"] - 1).clamp_min(0)
    states = type(tree.states)(**{k: move(getattr(tree.states, k), 0) for k in state_fields(tree.states)})
    return Tree(states=states, num_nodes=count, max_depth=max(tree.max_depth - 1, 0), **fields)


def reset_rows(tree: Tree, rows: Tensor) -> Tree:
    """The tree with the games where rows[B] is True emptied (e.g. restarted games); the next search rebuilds them."""
    return dataclasses.replace(tree, num_nodes=torch.where(rows.to(tree.num_nodes.device), 0, tree.num_nodes))
