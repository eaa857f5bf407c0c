"""Batched Monte Carlo tree search over B games at once, mctx style (PUCT or Gumbel root search).

A simulation has three steps, each tensor ops over the B games: `select` walks down from the root to a leaf (a loop
over depth), `expand` steps all leaf states with one batched `game.step(check=False)` and evaluates them with one
call of the evaluator, and `backup` adds the values along the path with a sign flip wherever the player to move
changes. Python work per simulation is O(depth) tensor ops. The tree itself (storage, tree reuse) is agents.tree.

The evaluator contract: the search calls `evaluate(planes, mask, state)` with the network input planes [B, C, H, W],
the legal mask bool [B, A] and the leaf states [B] themselves, and takes (logits [B, A], value [B]) for the player to
move. A network uses the planes; random rollouts (agents.leaf_evaluators) play on from the states. Terminal nodes take
`game.outcome` instead of the evaluator. The root counts one visit of its own, so root visits = 1 + the simulations
below it.

Leaf batching (leaf parallelism with virtual loss, as KataGo searches one game): a step selects K leaves per tree
one after another, each adding a virtual loss along its path (a visit that lost for the player who moved there) so
the next selection looks elsewhere; a new leaf's node is reserved at once and counts as terminal until it is
evaluated; a later selection that ends there anyway (a collision) is dropped and does not count as a simulation.
Then all new leaves of all games are evaluated in one call, the virtual losses are taken off (they live in their
own array, `Tree.virtual`, so the undo is exact) and the counted paths are backed up in order. Every game still
gets exactly `num_simulations` backed-up simulations. One game alone then still fills a network batch; with K = 1
the search is exactly the plain one-leaf-per-call search.

The knobs of a search are one `SearchSettings` object, built once from a job's config: root Dirichlet noise,
first-play urgency, forced playouts with policy target pruning (KataGo, Wu 2019), Gumbel root search with
sequential halving and completed-Q policy targets (Danihelka et al. 2022; agents/gumbel.py).

Dimension letters: B games, N nodes, A actions, C/H/W planes, K leaves per tree per step.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor

from agents import gumbel as gum
from agents.host_tree import backup_one as host_backup
from agents.host_tree import current_walk, host_tree, native_walker
from agents.host_tree import reserve_one as host_reserve
from agents.host_tree import select_one as host_select
from agents.tactics import tactical
from agents.tree import (
    Leaf,
    Tree,
    advance_tree,
    child_stats,
    grow,
    merge,
    new_tree,
    reset_rows,
    state_fields,
    state_gather,
    state_write,
)
from core.config import bounded
from envs import traits
from envs.base import Game

__all__ = [
    "Evaluator",
    "SearchSettings",
    "Tree",
    "SearchResult",
    "search",
    "evaluate_leaves",
    "select",
    "expand",
    "backup",
    "reserve",
    "expand_reserved",
    "leaf_batch_step",
    "select_action",
    "advance_tree",
    "reset_rows",
    "PLAY_SIMULATIONS",
]

# the private names tests reach for live in agents.tree
_state_gather, _child_stats = state_gather, child_stats

_FORCED_BONUS = 1e4  # added to the PUCT score of a root child below its forced playout count
FEW_GAMES = 4  # searches of at most this many games batch leaves by default (leaf_batch=0)
FEW_GAMES_LEAF_BATCH = 8  # ... this many per tree per network call


class Evaluator(Protocol):
    """Leaf evaluation: (planes [B, C, H, W], legal mask bool [B, A], leaf states [B]) -> (logits [B, A], value [B]),
    the value from the view of the player to move. Evaluators that need only the planes may default `state`."""

    def __call__(self, planes: Tensor, mask: Tensor, state: Any) -> tuple[Tensor, Tensor]: ...


# The one default search budget of play: `gamelab agent`, `gtp`, the players' specs (`bundled`, `az:PATH`, `rollout`,
# `mcts`), `replay` and `bench agent`; `--sims N` means simulations per move everywhere.
PLAY_SIMULATIONS = 200


@dataclass(frozen=True)
class SearchSettings:
    """Every knob of one search, built once from a job's config and used alike by self-play, evaluation, matches,
    the viewer and `gamelab agent` (see `search` for their meaning).

    `dirichlet_fraction` may also be a tensor [B] (a fraction per game). The ranges are checked where a job's config
    embeds these settings (`core.config.embedded`: `agents.learner.TrainConfig`).
    """

    num_simulations: int = bounded(PLAY_SIMULATIONS, ge=1)  # search simulations per move
    c_puct: float = bounded(1.5, gt=0)  # exploration constant of PUCT
    fpu_reduction: float = bounded(0.0, ge=0)  # unvisited children: Q = parent's mean value - fpu_reduction
    dirichlet_alpha: float = bounded(0.3, gt=0)  # concentration of the root noise
    dirichlet_fraction: float | Tensor = bounded(0.0, ge=0, le=1)  # share of root noise in the root prior
    gumbel: bool = False  # Gumbel AlphaZero root search (sequential halving) instead of PUCT
    max_considered_actions: int = bounded(16, ge=1)  # Gumbel: actions sampled at the root
    gumbel_scale: float = bounded(1.0, ge=0)  # Gumbel: scale of the Gumbel noise (0: none)
    value_scale: float = bounded(0.1, gt=0)  # Gumbel: c_scale of the completed-Q transform
    maxvisit_init: float = bounded(50.0, ge=0)  # Gumbel: c_visit of the completed-Q transform
    forced_playouts: bool = False  # KataGo's forced playouts with policy target pruning (PUCT only)
    forced_k: float = bounded(2.0, gt=0)  # forced playouts of a child: sqrt(forced_k * prior * parent visits)
    leaf_batch: int = bounded(0, ge=0)  # leaves per tree per network call (0: 8 when at most 4 games search, else 1)
    tactics: int = bounded(-1, ge=-1, le=2)  # plies of the exact win check at each new node (-1: the game's default)

    def __post_init__(self) -> None:
        if not isinstance(self.leaf_batch, int) or self.leaf_batch < 0:
            raise ValueError(f"leaf_batch must be an integer >= 0 (0: automatic), got {self.leaf_batch!r}")

    def leaves_per_call(self, num_games: int) -> int:
        """K, the leaves selected per tree for one evaluator call: `leaf_batch`, or where it is 0 (automatic)
        FEW_GAMES_LEAF_BATCH for a search of at most FEW_GAMES games and 1 for more (their batch is full already)."""
        if self.leaf_batch > 0:
            return self.leaf_batch
        return FEW_GAMES_LEAF_BATCH if num_games <= FEW_GAMES else 1

    def replace(self, **changes: Any) -> SearchSettings:
        """A copy with some knobs changed (unknown names are a TypeError)."""
        return dataclasses.replace(self, **changes)

    def for_play(self, num_simulations: int | None = None) -> SearchSettings:
        """The settings for playing to win (no root noise), optionally with another budget."""
        return self.replace(dirichlet_fraction=0.0, num_simulations=num_simulations or self.num_simulations)

    def describe(self) -> dict[str, Any]:
        """The knobs as plain values (for records and logs)."""
        out = dataclasses.asdict(self)
        if torch.is_tensor(out["dirichlet_fraction"]):
            out["dirichlet_fraction"] = out["dirichlet_fraction"].tolist()
        return out


@dataclass
class SearchResult:
    """What a search returns (root statistics; all from the view of the player to move at the root).

    visits [B, A] float: child visit counts. policy [B, A]: the training target (visit distribution, pruned with forced
    playouts; completed-Q policy with Gumbel). value [B]: root value estimate. q [B, A]: mean action values (0 where
    unvisited). prior [B, A]: the root prior used (with noise). action [B]: the search's choice (most visits, ties by Q;
    the sequential halving winner with Gumbel). tree: for `advance_tree`.
    """

    visits: Tensor
    policy: Tensor
    value: Tensor
    q: Tensor
    prior: Tensor
    action: Tensor
    tree: Tree


# ------------------------------------------------------------------------------------------------------- selection
def _puct_scores(
    tree: Tree,
    rows: Tensor,
    node: Tensor,
    n: Tensor,
    q: Tensor,
    prior: Tensor,
    legal: Tensor,
    c_puct: float,
    fpu: float,
) -> Tensor:
    visits = tree.visits[rows, node]
    node_visits = visits + tree.virtual[rows, node]  # [B] = 1 + sum(n), virtual visits included
    node_value = tree.value_sum[rows, node] / visits.clamp_min(1.0)
    q = torch.where(n > 0, q, (node_value - fpu)[:, None])
    u = c_puct * prior * node_visits.sqrt()[:, None] / (1.0 + n)
    return torch.where(legal, q + u, -math.inf)


def _sample_dirichlet(alpha: float, legal: Tensor, generator: torch.Generator | None) -> Tensor:
    """Dirichlet(alpha) over the legal actions of every row ([B, A]), by Marsaglia-Tsang gamma sampling in log space."""
    gdev = generator.device if generator is not None else legal.device
    a = alpha + 1.0 if alpha < 1.0 else alpha
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    tries = 8
    x = torch.randn((tries, *legal.shape), generator=generator, device=gdev).to(legal.device)
    u = torch.rand((tries, *legal.shape), generator=generator, device=gdev).to(legal.device)
    v = (1.0 + c * x) ** 3
    ok = (v > 0) & (torch.log(u.clamp_min(1e-30)) < 0.5 * x * x + d - d * v + d * torch.log(v.clamp_min(1e-30)))
    first = ok.float().argmax(0, keepdim=True)  # first accepted try (0 if none: accept the candidate anyway)
    log_g = math.log(d) + torch.log(v.clamp_min(1e-6)).gather(0, first)[0]
    if alpha < 1.0:  # Gamma(alpha) = Gamma(alpha + 1) * U^(1 / alpha)
        u2 = torch.rand(legal.shape, generator=generator, device=gdev).to(legal.device)
        log_g = log_g + torch.log(u2.clamp_min(1e-30)) / alpha
    return torch.softmax(torch.where(legal, log_g, -math.inf), dim=-1).nan_to_num(0.0)


# ------------------------------------------------------------------------------------------------- the three steps
def evaluate_leaves(game: Game, state: Any, evaluate: Evaluator) -> Leaf:
    """Evaluate positions State [B]: the prior (softmax over the legal logits), the value (the outcome where the game
    is over), the legal mask and the finished flags."""
    legal = game.legal_mask(state)
    logits, value = evaluate(game.planes(state), legal, state)
    device = legal.device
    logits = logits.to(device=device, dtype=torch.float32).masked_fill(~legal, -math.inf)
    prior = torch.softmax(logits, dim=-1).nan_to_num(0.0)
    done, outcome = game.outcome(state)
    value = torch.where(done, outcome.float(), value.to(device=device, dtype=torch.float32))
    return Leaf(prior=prior, value=value, legal=legal, done=done)


@dataclass
class _Root:
    """What selection needs at the roots: the prior with noise, the legal mask, live games, and with Gumbel the root
    noise, the sequential halving table [B, S] and the visits before this search."""

    prior: Tensor
    legal: Tensor
    live: Tensor
    gumbel: Tensor | None = None
    table: Tensor | None = None
    start_visits: Tensor | None = None
    host: Any = None  # the root prior and legal mask as numpy arrays, for the C walker
    native: Any = None  # the C walker of this search's tree (agents.host_tree.native_walker), made on first use


def _root(tree: Tree, s: SearchSettings, generator: torch.Generator | None) -> _Root:
    b, dev = tree.visits.shape[0], tree.visits.device
    root = _Root(prior=tree.prior[:, 0], legal=tree.legal[:, 0], live=~tree.terminal[:, 0])
    if s.gumbel:
        root.gumbel = s.gumbel_scale * gum.gumbel_noise(root.prior.shape, generator, dev)
        num_legal = root.legal.sum(-1).clamp_min(1).tolist()
        sizes = [min(s.max_considered_actions, m) for m in num_legal]
        root.table = gum.considered_visit_table(sizes, s.num_simulations, dev)
        rows, zero = torch.arange(b, device=dev), torch.zeros(b, dtype=torch.long, device=dev)
        root.start_visits = child_stats(tree, rows, zero)[1]
    elif torch.is_tensor(s.dirichlet_fraction) or s.dirichlet_fraction > 0:
        frac = torch.as_tensor(s.dirichlet_fraction, dtype=torch.float32, device=dev).expand(b)[:, None]
        noise = _sample_dirichlet(s.dirichlet_alpha, root.legal, generator)
        root.prior = (1 - frac) * root.prior + frac * noise
    return root


def _choose(tree: Tree, root: _Root, s: SearchSettings, node: Tensor, at_root: bool, sim: int | Tensor) -> Tensor:
    """The action to follow at node[b] of every game ([B]); `sim` is the simulation number (or one per game [B])."""
    rows = torch.arange(node.shape[0], device=node.device)
    _, n, q = child_stats(tree, rows, node)
    prior, legal = (root.prior, root.legal) if at_root else (tree.prior[rows, node], tree.legal[rows, node])
    if s.gumbel:
        sigma = gum.sigma_q(
            q, n, tree.raw_value[rows, node], prior, legal, value_scale=s.value_scale, maxvisit_init=s.maxvisit_init
        )
        if at_root:
            if torch.is_tensor(sim):
                target = root.table.gather(1, sim.clamp(0, root.table.shape[1] - 1)[:, None])[:, 0]
            else:
                target = root.table[:, sim]
            return gum.root_scores(root.gumbel, prior, sigma, n - root.start_visits, target, legal).argmax(-1)
        return gum.interior_scores(prior, sigma, n, legal).argmax(-1)
    score = _puct_scores(tree, rows, node, n, q, prior, legal, s.c_puct, s.fpu_reduction)
    if at_root and s.forced_playouts:
        forced = legal & (n < (s.forced_k * prior * n.sum(-1, keepdim=True)).sqrt())
        score = score + forced * _FORCED_BONUS
    return score.argmax(-1)


def select(
    tree: Tree, root: _Root, s: SearchSettings, sim: int | Tensor, live: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Walk down from the roots while the chosen child exists and is not terminal.

    Args:
        sim: the simulation number (for Gumbel's sequential halving), or one per game [B].
        live: the games that select [B] (default: those not finished at the root).
    Returns:
        (node [B], action [B]): the last node reached and the action chosen there (its child is new or terminal).
    """
    b, dev = tree.visits.shape[0], tree.visits.device
    rows = torch.arange(b, device=dev)
    node = action = torch.zeros(b, dtype=torch.long, device=dev)
    active = root.live if live is None else live
    on_cpu = dev.type == "cpu"
    for d in range(tree.max_depth + 1):
        if on_cpu and d > 0 and not bool(active.any()):  # every path has ended (a free check on the CPU)
            break
        a = _choose(tree, root, s, node, d == 0, sim)
        action = torch.where(active, a, action)
        child = tree.children[rows, node, action].long()
        descend = active & (child >= 0) & ~tree.terminal[rows, child.clamp_min(0)]
        node = torch.where(descend, child, node)
        active = descend
    return node, action


def expand(game: Game, tree: Tree, node: Tensor, action: Tensor, live: Tensor, evaluate: Evaluator) -> Tensor:
    """Step every game's (node, action), evaluate the new states in one call and add them as nodes where the child
    is new (in place).

    Returns:
        leaf [B]: the node to back up from: the new node, an existing terminal child, or the root of a finished game.
    """
    rows = torch.arange(node.shape[0], device=node.device)
    child = tree.children[rows, node, action].long()
    is_new = live & (child < 0)
    leaf_state = game.step(state_gather(tree.states, rows, node), action, check=False)
    leaf = evaluate_leaves(game, leaf_state, evaluate)
    slot = tree.num_nodes
    state_write(tree.states, rows, slot, leaf_state)
    tree.raw_value[rows, slot] = leaf.value
    tree.prior[rows, slot] = leaf.prior
    tree.legal[rows, slot] = leaf.legal
    tree.terminal[rows, slot] = leaf.done
    tree.parent[rows, slot] = node
    tree.depth[rows, slot] = tree.depth[rows, node] + 1
    tree.visits[rows, slot] = 0.0
    tree.value_sum[rows, slot] = 0.0
    tree.children[rows, node, action] = torch.where(is_new, slot, child).to(torch.int32)
    tree.num_nodes = slot + is_new.long()
    tree.max_depth = max(tree.max_depth, int(torch.where(is_new, tree.depth[rows, slot], 0).max()))
    return torch.where(is_new, slot, torch.where(live, child, torch.zeros_like(child)))


def reserve(tree: Tree, node: Tensor, action: Tensor, live: Tensor) -> tuple[Tensor, Tensor]:
    """Leaf batching: give every game's new child (node, action) its node id at once, marked terminal until
    `expand_reserved` evaluates it, and add a virtual loss along the path from the leaf to the root (in place).

    Returns:
        (leaf [B], is_new [B]): the reserved node, an existing terminal (or reserved) child, or the root of a
        finished game; whether the leaf is a new node.
    """
    rows = torch.arange(node.shape[0], device=node.device)
    child = tree.children[rows, node, action].long()
    is_new = live & (child < 0)
    slot = tree.num_nodes  # unused by the games where nothing is new: written, never counted
    tree.parent[rows, slot] = node
    tree.depth[rows, slot] = tree.depth[rows, node] + 1
    tree.visits[rows, slot] = 0.0
    tree.value_sum[rows, slot] = 0.0
    tree.virtual[rows, slot] = 0.0
    tree.terminal[rows, slot] = True  # pending: selection stops here until the leaf is evaluated
    tree.children[rows, node, action] = torch.where(is_new, slot, child).to(torch.int32)
    tree.num_nodes = slot + is_new.long()
    tree.max_depth = max(tree.max_depth, int(torch.where(is_new, tree.depth[rows, slot], 0).max()))
    leaf = torch.where(is_new, slot, torch.where(live, child, torch.zeros_like(child)))
    cur, on = leaf, torch.ones_like(is_new)
    on_cpu = leaf.device.type == "cpu"
    for _ in range(tree.max_depth + 1):
        if on_cpu and not bool(on.any()):
            break
        tree.virtual[rows, cur] += on.float()
        par = tree.parent[rows, cur]
        on = on & (par >= 0)
        cur = par.clamp_min(0)
    return leaf, is_new


def expand_reserved(
    game: Game, tree: Tree, node: Tensor, action: Tensor, leaf: Tensor, is_new: Tensor, evaluate: Evaluator
) -> None:
    """Evaluate the reserved leaves of a leaf batch in one call and fill in their nodes (in place).

    Args:
        node, action, leaf, is_new: [K, B], the K selections and reservations of the step.
    """
    k, b = leaf.shape
    rows = torch.arange(b, device=leaf.device).repeat(k)
    pick = is_new.reshape(-1).nonzero().squeeze(1)
    if pick.numel() > 0:
        flat = (x.reshape(-1)[pick] for x in (node, action, leaf))
        _fill_leaves(game, tree, rows[pick], *flat, evaluate)


def _fill_leaves(
    game: Game, tree: Tree, rows: Tensor, node: Tensor, action: Tensor, leaf: Tensor, evaluate: Evaluator
) -> None:
    """Step (rows, node) by action, evaluate the states in one call, write them into the reserved nodes `leaf`."""
    leaf_state = game.step(state_gather(tree.states, rows, node), action, check=False)
    new = evaluate_leaves(game, leaf_state, evaluate)
    state_write(tree.states, rows, leaf, leaf_state)
    tree.raw_value[rows, leaf] = new.value
    tree.prior[rows, leaf] = new.prior
    tree.legal[rows, leaf] = new.legal
    tree.terminal[rows, leaf] = new.done


def leaf_batch_step(
    game: Game, tree: Tree, root: _Root, s: SearchSettings, evaluate: Evaluator, done: Tensor, k: int
) -> Tensor:
    """Up to K simulations of every game with one evaluator call (in place): select and reserve K leaves under
    virtual loss, evaluate the new ones, take the virtual losses off, back up the counted paths in order.

    Args:
        done: LongTensor[B], simulations each game has had (games stop at `s.num_simulations`).
    Returns:
        LongTensor[B]: simulations counted in this step (K minus collisions; at least 1 for a game still searching).
    """
    if _on_host(tree, s):
        if root.native is None:
            root.native = native_walker(tree) or False
        if root.native:
            return _native_leaf_batch_step(game, tree, root, s, evaluate, done, k)
        return _host_leaf_batch_step(game, tree, root, s, evaluate, done, k)
    first_new = tree.num_nodes.clone()  # nodes reserved in this step get ids from here on
    taken = torch.zeros_like(done)
    picks = []
    for _ in range(k):
        active = root.live & (done + taken < s.num_simulations)
        node, action = select(tree, root, s, done + taken, active)
        leaf, is_new = reserve(tree, node, action, active)
        counted = active & (is_new | (leaf < first_new))  # not a collision with a leaf reserved in this step
        taken = taken + counted.long()
        picks.append((node, action, leaf, is_new, counted))
    node, action, leaf, is_new, counted = (torch.stack(x) for x in zip(*picks))
    expand_reserved(game, tree, node, action, leaf, is_new, evaluate)
    tree.virtual.zero_()  # every virtual loss of the step comes off at once, exactly
    for j in range(k):
        backup(tree, leaf[j], counted[j])
    return taken


def _on_host(tree: Tree, s: SearchSettings) -> bool:
    """Whether the walks of a search go to agents.host_tree (a few games on the CPU, PUCT)."""
    return tree.visits.device.type == "cpu" and not s.gumbel and tree.visits.shape[0] <= FEW_GAMES


def _native_leaf_batch_step(
    game: Game, tree: Tree, root: _Root, s: SearchSettings, evaluate: Evaluator, done: Tensor, k: int
) -> Tensor:
    """`leaf_batch_step` with the walks in C (agents._search_walk): the same step as `_host_leaf_batch_step`."""
    b = done.shape[0]
    remaining = torch.where(root.live, s.num_simulations - done, 0)
    before = remaining.clone()
    new, counted = torch.empty(k * b, 4, dtype=torch.long), torch.empty(k * b, 2, dtype=torch.long)
    if root.host is None:
        root.host = (root.prior.contiguous().numpy(), root.legal.contiguous().numpy())
    forced_k = s.forced_k if s.forced_playouts else -1.0
    n_new, n_counted, depth = root.native.walk(
        *root.host, remaining.numpy(), k, s.c_puct, s.fpu_reduction, forced_k, new.numpy(), counted.numpy()
    )
    tree.max_depth = max(tree.max_depth, depth)
    if n_new:
        _fill_host_leaves(game, tree, new[:n_new], evaluate)
    root.native.backup(counted.numpy(), n_counted)  # takes every virtual loss off first
    return before - remaining


def _fill_host_leaves(game: Game, tree: Tree, new: Tensor, evaluate: Evaluator) -> None:
    """`_fill_leaves` for a CPU tree with contiguous arrays, new [L, 4] the (game, node, action, leaf) rows: the same
    writes, by flat node indices (one index op a field, the cheapest on few rows)."""
    n = tree.visits.shape[1]
    rows, node, action, leaf = new.unbind(1)
    src, dst = rows * n + node, rows * n + leaf
    fields = state_fields(tree.states)
    states = [getattr(tree.states, k).flatten(0, 1) for k in fields]
    start = type(tree.states)(**{k: x.index_select(0, src) for k, x in zip(fields, states)})
    leaf_state = game.step(start, action, check=False)
    got = evaluate_leaves(game, leaf_state, evaluate)
    for k, x in zip(fields, states):
        x.index_copy_(0, dst, getattr(leaf_state, k).to(x.dtype))
    tree.raw_value.view(-1).index_copy_(0, dst, got.value)
    tree.prior.flatten(0, 1).index_copy_(0, dst, got.prior)
    tree.legal.flatten(0, 1).index_copy_(0, dst, got.legal)
    tree.terminal.view(-1).index_copy_(0, dst, got.done)


def _host_leaf_batch_step(
    game: Game, tree: Tree, root: _Root, s: SearchSettings, evaluate: Evaluator, done: Tensor, k: int
) -> Tensor:
    """`leaf_batch_step` for a few games on the CPU: the same step, with the walks in numpy (agents.host_tree)."""
    t = host_tree(tree)
    prior, legal = root.prior.contiguous().numpy(), root.legal.contiguous().numpy()
    live, done_l = root.live.tolist(), done.tolist()
    first_new = tree.num_nodes.tolist()
    forced_k = s.forced_k if s.forced_playouts else None
    taken = [0] * len(live)
    new, counted = [], []  # (game, node, action, leaf) of new leaves; (game, leaf) of counted simulations
    for _ in range(k):
        for b, alive in enumerate(live):
            if not alive or done_l[b] + taken[b] >= s.num_simulations:
                continue
            node, action = host_select(t, b, prior[b], legal[b], s.c_puct, s.fpu_reduction, forced_k)
            leaf, is_new = host_reserve(t, b, node, action)
            if is_new:
                new.append((b, node, action, leaf))
            if is_new or leaf < first_new[b]:  # not a collision with a leaf reserved in this step
                taken[b] += 1
                counted.append((b, leaf))
    if new:
        rows, node, action, leaf = torch.tensor(new, dtype=torch.long).unbind(1)
        _fill_leaves(game, tree, rows, node, action, leaf, evaluate)
    tree.virtual.zero_()  # every virtual loss of the step comes off at once, exactly
    for b, leaf in counted:
        host_backup(t, b, leaf)
    return torch.tensor(taken, dtype=done.dtype)


def backup(tree: Tree, leaf: Tensor, on: Tensor | None = None) -> None:
    """Add the leaf's value to every node on its path to the root (in place), negated wherever the player to move
    differs from the leaf's; only in the games where on[B] is True (default: all)."""
    b = leaf.shape[0]
    rows = torch.arange(b, device=leaf.device)
    v = tree.raw_value[rows, leaf]
    cur = leaf
    on = torch.ones(b, dtype=torch.bool, device=leaf.device) if on is None else on
    player = tree.states.player
    on_cpu = leaf.device.type == "cpu"
    for _ in range(tree.max_depth + 1):
        if on_cpu and not bool(on.any()):  # every path has reached its root
            break
        tree.visits[rows, cur] += on.float()
        tree.value_sum[rows, cur] += torch.where(on, v, 0.0)
        par = tree.parent[rows, cur]
        on = on & (par >= 0)
        par = par.clamp_min(0)
        v = torch.where(player[rows, par] == player[rows, cur], v, -v)
        cur = par


# ---------------------------------------------------------------------------------------------------------- search
def _prepare(game: Game, state: Any, evaluate: Evaluator, tree: Tree | None, num_simulations: int) -> Tree:
    """A tree with room for the search: the given one grown, with fresh roots (one evaluate call) where it has none."""
    if tree is not None and bool((tree.num_nodes > 0).all()):
        return grow(tree, int(tree.num_nodes.max()) + num_simulations + 1)
    capacity = (int(tree.num_nodes.max()) if tree is not None else 1) + num_simulations + 1
    capacity = max(capacity, tree.visits.shape[1]) if tree is not None else capacity
    fresh = new_tree(state, evaluate_leaves(game, state, evaluate), capacity)
    return merge(tree.num_nodes > 0, grow(tree, capacity), fresh) if tree is not None else fresh


def search(
    game: Game,
    state: Any,
    evaluate: Evaluator,
    settings: SearchSettings | None = None,
    *,
    tree: Tree | None = None,
    generator: torch.Generator | None = None,
    **knobs: Any,
) -> SearchResult:
    """Run `settings.num_simulations` simulations for every game of the batch.

    Args:
        game: a game of the envs protocol.
        state: State [B] of the positions to search (finished games get zero visits).
        evaluate: Evaluator, e.g. from agents.leaf_evaluators.
        settings: the search knobs (default `SearchSettings()`); keyword `knobs` override single ones, e.g.
            `search(game, state, evaluate, num_simulations=64, c_puct=2.0)`. The knobs:
            num_simulations: simulations per game (one evaluate call each, for all games).
            c_puct: PUCT exploration constant (score = Q + c_puct * P * sqrt(N_parent) / (1 + N)).
            dirichlet_alpha, dirichlet_fraction: root noise P = (1 - f) P + f Dir(alpha) (PUCT only); f may be [B].
            gumbel: Gumbel root search with sequential halving; interior nodes by the deterministic Gumbel rule.
            max_considered_actions: root actions sampled by Gumbel-top-k.
            gumbel_scale: scale of the root Gumbel noise (0: deterministic).
            value_scale, maxvisit_init: sigma(q) = (maxvisit_init + max N) * value_scale * q (q rescaled to [0, 1]).
            leaf_batch: K, leaves selected per tree (under virtual loss) for each evaluator call; 0 (the default):
                8 when at most 4 games are searched, else 1. K = 1 is the plain one-leaf simulation.
            forced_playouts: KataGo's forced playouts at the root (n_forced = sqrt(forced_k * P * total)) and policy
                target pruning of the forced visits (PUCT only).
            fpu_reduction: unvisited children take Q = (parent's mean value) - fpu_reduction.
            tactics: plies of the exact win check at each evaluated position (agents.tactics; 0: none, 1: a move
                that wins at once makes the value +1, 2: also moves that let the opponent win at once leave the
                prior, and the value is -1 where every move does); -1 (the default): the game's `tactics_depth`.
        tree: a tree from `advance_tree` whose roots are `state` (games with no tree are searched afresh).
        generator: torch generator for the noise.
    Returns:
        SearchResult.
    """
    s = (settings or SearchSettings()).replace(**knobs) if knobs else (settings or SearchSettings())
    depth = s.tactics if s.tactics >= 0 else traits.tactics_depth(game)
    if depth > 0:
        evaluate = tactical(game, evaluate, depth)
    tree = _prepare(game, state, evaluate, tree, s.num_simulations)
    root = _root(tree, s, generator)
    per_call = s.leaves_per_call(tree.visits.shape[0])
    # one game with one leaf a call walks in C too (several games keep one batched call over all of them, as before)
    if per_call == 1 and not (tree.visits.shape[0] == 1 and _on_host(tree, s) and current_walk() == "native"):
        for sim in range(s.num_simulations):
            node, action = select(tree, root, s, sim)
            leaf = expand(game, tree, node, action, root.live, evaluate)
            backup(tree, leaf)
        return _result(tree, root, s)
    done = torch.zeros_like(tree.num_nodes)
    while True:
        most = int(torch.where(root.live, s.num_simulations - done, 0).max())
        if most <= 0:
            break
        done = done + leaf_batch_step(game, tree, root, s, evaluate, done, min(per_call, most))
    return _result(tree, root, s)


def _result(tree: Tree, root: _Root, s: SearchSettings) -> SearchResult:
    """Root statistics after the simulations."""
    rows = torch.arange(root.prior.shape[0], device=root.prior.device)
    legal = tree.legal[:, 0]
    _, n, q = child_stats(tree, rows, torch.zeros_like(rows))
    value = tree.value_sum[:, 0] / tree.visits[:, 0].clamp_min(1.0)
    if s.gumbel:
        sigma = gum.sigma_q(
            q, n, tree.raw_value[:, 0], root.prior, legal, value_scale=s.value_scale, maxvisit_init=s.maxvisit_init
        )
        policy = gum.improved_policy(root.prior, sigma, legal)
        searched = n - root.start_visits
        top = searched.amax(-1)
        action = gum.root_scores(root.gumbel, root.prior, sigma, searched, top, legal).argmax(-1)
    else:
        kept = _prune_forced(tree, n, q, root.prior, legal, s.c_puct, s.forced_k) if s.forced_playouts else n
        policy = kept / kept.sum(-1, keepdim=True).clamp_min(1.0)
        action = torch.where(legal, n + 0.25 * (q + 1.0), -1.0).argmax(-1)  # most visits, ties by Q
    policy = torch.where(root.live[:, None], policy, 0.0)
    return SearchResult(visits=n, policy=policy, value=value, q=q, prior=root.prior, action=action, tree=tree)


def _prune_forced(tree: Tree, n: Tensor, q: Tensor, prior: Tensor, legal: Tensor, c_puct: float, k: float) -> Tensor:
    """Policy target pruning (KataGo): take back up to n_forced visits from every child but the best, as long as its
    PUCT score stays below the best child's; children left with one visit or fewer drop out. Returns [B, A]."""
    total = n.sum(-1, keepdim=True)
    sqrt_parent = tree.visits[:, :1].sqrt()  # [B, 1]
    best = torch.where(legal, n, -1.0).argmax(-1, keepdim=True)
    coef = c_puct * prior * sqrt_parent  # U = coef / (1 + n)
    best_score = q.gather(1, best) + coef.gather(1, best) / (1.0 + n.gather(1, best))
    gap = best_score - q
    # smallest n' with q + coef / (1 + n') <= best_score
    n_min = torch.where(gap > 0, torch.ceil(coef / gap.clamp_min(1e-12) - 1.0), n).clamp_min(0.0)
    n_forced = (k * prior * total).sqrt()
    kept = torch.maximum(n - n_forced.floor(), n_min).clamp(max=n).clamp_min(0.0)
    kept = torch.where(kept <= 1.0, 0.0, kept)
    is_best = torch.zeros_like(legal).scatter_(1, best, True)
    return torch.where(is_best, n, kept)


# ------------------------------------------------------------------------------------------------- after the search
def select_action(
    result: SearchResult, temperature: float | Tensor, generator: torch.Generator | None = None
) -> Tensor:
    """Pick one action per game: temperature 0 takes `result.action`, else sample with probability ~ visits^(1/T).

    Args:
        result: a SearchResult.
        temperature: float or [B].
        generator: torch generator for the sampling.
    Returns:
        LongTensor[B] (0 for finished games).
    """
    n = result.visits
    t = torch.as_tensor(temperature, dtype=torch.float32, device=n.device).expand(n.shape[0])
    logits = torch.where(n > 0, torch.log(n.clamp_min(1e-30)) / torch.where(t > 0, t, 1.0)[:, None], -math.inf)
    sampled = (logits + gum.gumbel_noise(tuple(n.shape), generator, n.device)).argmax(-1)
    return torch.where((t > 0) & (n.sum(-1) > 0), sampled, result.action)
