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

The knobs of a search are one `SearchSettings` object, built once from a job's config: root Dirichlet noise,
first-play urgency, forced playouts with policy target pruning (KataGo, Wu 2019), Gumbel root search with
sequential halving and completed-Q policy targets (Danihelka et al. 2022; agents/gumbel.py).

Dimension letters: B games, N nodes, A actions, C/H/W planes.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor

from agents import gumbel as gum
from agents.tree import (
    Leaf,
    Tree,
    advance_tree,
    child_stats,
    grow,
    merge,
    new_tree,
    reset_rows,
    state_gather,
    state_write,
)
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
    "select_action",
    "advance_tree",
    "reset_rows",
]

# the private names tests reach for live in agents.tree
_state_gather, _child_stats = state_gather, child_stats

_FORCED_BONUS = 1e4  # added to the PUCT score of a root child below its forced playout count


class Evaluator(Protocol):
    """Leaf evaluation: (planes [B, C, H, W], legal mask bool [B, A], leaf states [B]) -> (logits [B, A], value [B]),
    the value from the view of the player to move. Evaluators that need only the planes may default `state`."""

    def __call__(self, planes: Tensor, mask: Tensor, state: Any) -> tuple[Tensor, Tensor]: ...


@dataclass(frozen=True)
class SearchSettings:
    """Every knob of one search, built once from a job's config and used alike by self-play, evaluation, matches,
    the viewer and `gamelab agent` (see `search` for their meaning).

    `dirichlet_fraction` may also be a tensor [B] (a fraction per game).
    """

    num_simulations: int = 200
    c_puct: float = 1.5
    fpu_reduction: float = 0.0
    dirichlet_alpha: float = 0.3
    dirichlet_fraction: float | Tensor = 0.0
    gumbel: bool = False
    max_considered_actions: int = 16
    gumbel_scale: float = 1.0
    value_scale: float = 0.1
    maxvisit_init: float = 50.0
    forced_playouts: bool = False
    forced_k: float = 2.0

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
    node_visits = tree.visits[rows, node]  # [B] = 1 + sum(n)
    node_value = tree.value_sum[rows, node] / node_visits.clamp_min(1.0)
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


def _choose(tree: Tree, root: _Root, s: SearchSettings, node: Tensor, at_root: bool, sim: int) -> Tensor:
    """The action to follow at node[b] of every game ([B])."""
    rows = torch.arange(node.shape[0], device=node.device)
    _, n, q = child_stats(tree, rows, node)
    prior, legal = (root.prior, root.legal) if at_root else (tree.prior[rows, node], tree.legal[rows, node])
    if s.gumbel:
        sigma = gum.sigma_q(
            q, n, tree.raw_value[rows, node], prior, legal, value_scale=s.value_scale, maxvisit_init=s.maxvisit_init
        )
        if at_root:
            return gum.root_scores(root.gumbel, prior, sigma, n - root.start_visits, root.table[:, sim], legal).argmax(
                -1
            )
        return gum.interior_scores(prior, sigma, n, legal).argmax(-1)
    score = _puct_scores(tree, rows, node, n, q, prior, legal, s.c_puct, s.fpu_reduction)
    if at_root and s.forced_playouts:
        forced = legal & (n < (s.forced_k * prior * n.sum(-1, keepdim=True)).sqrt())
        score = score + forced * _FORCED_BONUS
    return score.argmax(-1)


def select(tree: Tree, root: _Root, s: SearchSettings, sim: int) -> tuple[Tensor, Tensor]:
    """Walk down from the roots while the chosen child exists and is not terminal.

    Returns:
        (node [B], action [B]): the last node reached and the action chosen there (its child is new or terminal).
    """
    b, dev = tree.visits.shape[0], tree.visits.device
    rows = torch.arange(b, device=dev)
    node = action = torch.zeros(b, dtype=torch.long, device=dev)
    active = root.live
    for d in range(tree.max_depth + 1):
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


def backup(tree: Tree, leaf: Tensor) -> None:
    """Add the leaf's value to every node on its path to the root (in place), negated wherever the player to move
    differs from the leaf's."""
    b = leaf.shape[0]
    rows = torch.arange(b, device=leaf.device)
    v = tree.raw_value[rows, leaf]
    cur, on = leaf, torch.ones(b, dtype=torch.bool, device=leaf.device)
    player = tree.states.player
    for _ in range(tree.max_depth + 1):
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
            forced_playouts: KataGo's forced playouts at the root (n_forced = sqrt(forced_k * P * total)) and policy
                target pruning of the forced visits (PUCT only).
            fpu_reduction: unvisited children take Q = (parent's mean value) - fpu_reduction.
        tree: a tree from `advance_tree` whose roots are `state` (games with no tree are searched afresh).
        generator: torch generator for the noise.
    Returns:
        SearchResult.
    """
    s = (settings or SearchSettings()).replace(**knobs) if knobs else (settings or SearchSettings())
    tree = _prepare(game, state, evaluate, tree, s.num_simulations)
    root = _root(tree, s, generator)
    for sim in range(s.num_simulations):
        node, action = select(tree, root, s, sim)
        leaf = expand(game, tree, node, action, root.live, evaluate)
        backup(tree, leaf)
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
