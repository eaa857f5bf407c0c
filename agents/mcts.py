"""Batched Monte Carlo tree search over B games at once, mctx style (PUCT or Gumbel root search).

The tree is a struct of arrays on the device of the game states: visit counts, value sums, evaluator values, priors,
legal masks, children and parents over [B, N] / [B, N, A], plus the game State of every node with leading [B, N].
A simulation selects one leaf per game (a loop over depth, tensor ops over B), steps all leaf states with one
batched `game.step(check=False)`, evaluates them with one `evaluate` call, and backs the values up with a sign flip
wherever the player to move changes. Python work per simulation is O(depth) tensor ops.

Values are stored from the view of the player to move at each node; terminal nodes take `game.outcome` instead of
the evaluator. The root counts one visit of its own, so root visits = 1 + the simulations below it.

Options: root Dirichlet noise, forced playouts with policy target pruning (KataGo, Wu 2019), Gumbel root search
with sequential halving and completed-Q policy targets (Danihelka et al. 2022; agents/gumbel.py), tree reuse
(`advance_tree`).

Dimension letters: B games, N nodes, A actions, C/H/W planes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from agents import gumbel as gum
from envs.base import Game

__all__ = [
    "EvaluateFn",
    "SearchSettings",
    "Tree",
    "SearchResult",
    "search",
    "select_action",
    "advance_tree",
    "reset_rows",
]

# (planes [B, C, H, W], mask bool [B, A]) -> (logits [B, A], value [B]) for the player to move. An evaluator with the
# attribute `wants_state = True` is called as evaluate(planes, mask, state=leaf_states) (random rollouts need it).
EvaluateFn = Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]

_FORCED_BONUS = 1e4  # added to the PUCT score of a root child below its forced playout count


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
class Tree:
    """Search tree of B games with capacity N nodes (node 0 is the root). Arrays are updated in place by `search`.

    Fields: visits, value_sum, raw_value [B, N] float (node player's view); prior [B, N, A] float; legal [B, N, A]
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
    num_nodes: Tensor
    states: Any
    max_depth: int


_NODE_FIELDS = ("visits", "value_sum", "raw_value", "prior", "legal", "children", "parent", "depth", "terminal")
_FILL = {"children": -1, "parent": -1}


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


# --------------------------------------------------------------------------------------------------- state storage
def _state_fields(state: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(state)]


def _state_gather(states: Any, rows: Tensor, node: Tensor) -> Any:
    """The State at node[b] of every game: fields [B, ...]."""
    return type(states)(**{k: getattr(states, k)[rows, node] for k in _state_fields(states)})


def _state_write(states: Any, rows: Tensor, node: Tensor, state: Any) -> None:
    for k in _state_fields(states):
        getattr(states, k)[rows, node] = getattr(state, k)


# ------------------------------------------------------------------------------------------------------ evaluation
def _evaluate(game: Any, state: Any, evaluate: EvaluateFn) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Returns (prior [B, A], value [B], legal [B, A], done [B]); value is the outcome on finished games."""
    legal = game.legal_mask(state)
    planes = game.planes(state)
    if getattr(evaluate, "wants_state", False):
        logits, value = evaluate(planes, legal, state=state)
    else:
        logits, value = evaluate(planes, legal)
    device = legal.device
    logits = logits.to(device=device, dtype=torch.float32).masked_fill(~legal, -math.inf)
    prior = torch.softmax(logits, dim=-1).nan_to_num(0.0)
    done, outcome = game.outcome(state)
    value = torch.where(done, outcome.float(), value.to(device=device, dtype=torch.float32))
    return prior, value, legal, done


def _new_tree(game: Any, state: Any, evaluate: EvaluateFn, capacity: int) -> Tree:
    """A tree holding only the evaluated root state (one evaluate call)."""
    prior, value, legal, done = _evaluate(game, state, evaluate)
    b, a = prior.shape
    dev = prior.device
    states = type(state)(
        **{
            k: torch.zeros((b, capacity, *getattr(state, k).shape[1:]), dtype=getattr(state, k).dtype, device=dev)
            for k in _state_fields(state)
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
    _state_write(states, torch.arange(b, device=dev), torch.zeros(b, dtype=torch.long, device=dev), state)
    return tree


def _grow(tree: Tree, capacity: int) -> Tree:
    """The same tree with room for `capacity` nodes (copies when it must grow)."""
    n = tree.visits.shape[1]
    if capacity <= n:
        return tree

    def pad(x: Tensor, fill: float) -> Tensor:
        out = torch.full((x.shape[0], capacity, *x.shape[2:]), fill, dtype=x.dtype, device=x.device)
        out[:, :n] = x
        return out

    fields = {k: pad(getattr(tree, k), _FILL.get(k, 0)) for k in _NODE_FIELDS}
    states = type(tree.states)(**{k: pad(getattr(tree.states, k), 0) for k in _state_fields(tree.states)})
    return dataclasses.replace(tree, states=states, **fields)


def _merge(keep: Tensor, a: Tree, b: Tree) -> Tree:
    """Rows of `a` where keep[B], rows of `b` elsewhere (same capacity)."""

    def pick(x: Tensor, y: Tensor) -> Tensor:
        return torch.where(keep.view(-1, *([1] * (x.dim() - 1))), x, y)

    fields = {k: pick(getattr(a, k), getattr(b, k)) for k in (*_NODE_FIELDS, "num_nodes")}
    states = type(a.states)(**{k: pick(getattr(a.states, k), getattr(b.states, k)) for k in _state_fields(a.states)})
    return Tree(states=states, max_depth=max(a.max_depth, b.max_depth), **fields)


# ------------------------------------------------------------------------------------------------------- selection
def _child_stats(tree: Tree, rows: Tensor, node: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(children [B, A] long, visits [B, A], q [B, A] from node[b]'s player view, 0 where unvisited)."""
    child = tree.children[rows, node].long()
    c = child.clamp_min(0)
    n = torch.where(child >= 0, tree.visits.gather(1, c), 0.0)
    s = tree.value_sum.gather(1, c)
    player = tree.states.player
    same = player.gather(1, c) == player[rows, node][:, None]
    q = torch.where(n > 0, torch.where(same, s, -s) / n.clamp_min(1.0), 0.0)
    return child, n, q


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


# ---------------------------------------------------------------------------------------------------------- search
def search(
    game: Game,
    state: Any,
    evaluate: EvaluateFn,
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
        evaluate: EvaluateFn, e.g. from agents.evaluators.
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
    num_simulations, c_puct, fpu_reduction = s.num_simulations, s.c_puct, s.fpu_reduction
    dirichlet_alpha, dirichlet_fraction = s.dirichlet_alpha, s.dirichlet_fraction
    gumbel, max_considered_actions, gumbel_scale = s.gumbel, s.max_considered_actions, s.gumbel_scale
    value_scale, maxvisit_init = s.value_scale, s.maxvisit_init
    forced_playouts, forced_k = s.forced_playouts, s.forced_k
    b = state.player.shape[0]
    if tree is not None and bool((tree.num_nodes > 0).all()):
        capacity = int(tree.num_nodes.max()) + num_simulations + 1
        tree = _grow(tree, capacity)
    else:
        capacity = (int(tree.num_nodes.max()) if tree is not None else 1) + num_simulations + 1
        capacity = max(capacity, tree.visits.shape[1]) if tree is not None else capacity
        fresh = _new_tree(game, state, evaluate, capacity)
        if tree is not None:
            tree = _merge(tree.num_nodes > 0, _grow(tree, capacity), fresh)
        else:
            tree = fresh
    dev = tree.visits.device
    rows = torch.arange(b, device=dev)
    root = torch.zeros(b, dtype=torch.long, device=dev)
    root_legal = tree.legal[:, 0]
    root_prior = tree.prior[:, 0]
    live = ~tree.terminal[:, 0]  # [B]

    if gumbel:
        g = gumbel_scale * gum.gumbel_noise(root_prior.shape, generator, dev)
        num_legal = root_legal.sum(-1).clamp_min(1).tolist()
        table = gum.considered_visit_table([min(max_considered_actions, m) for m in num_legal], num_simulations, dev)
        start_visits = _child_stats(tree, rows, root)[1]
    elif torch.is_tensor(dirichlet_fraction) or dirichlet_fraction > 0:
        frac = torch.as_tensor(dirichlet_fraction, dtype=torch.float32, device=dev).expand(b)[:, None]
        root_prior = (1 - frac) * root_prior + frac * _sample_dirichlet(dirichlet_alpha, root_legal, generator)

    def choose(node: Tensor, at_root: bool, sim: int) -> Tensor:
        _, n, q = _child_stats(tree, rows, node)
        if at_root:
            prior, legal = root_prior, root_legal
        else:
            prior, legal = tree.prior[rows, node], tree.legal[rows, node]
        if gumbel:
            sigma = gum.sigma_q(
                q, n, tree.raw_value[rows, node], prior, legal, value_scale=value_scale, maxvisit_init=maxvisit_init
            )
            if at_root:
                score = gum.root_scores(g, prior, sigma, n - start_visits, table[:, sim], legal)
            else:
                score = gum.interior_scores(prior, sigma, n, legal)
        else:
            score = _puct_scores(tree, rows, node, n, q, prior, legal, c_puct, fpu_reduction)
            if at_root and forced_playouts:
                forced = legal & (n < (forced_k * prior * n.sum(-1, keepdim=True)).sqrt())
                score = score + forced * _FORCED_BONUS
        return score.argmax(-1)

    for sim in range(num_simulations):
        # selection: walk down while the chosen child exists and is not terminal
        node, action, active = root, root, live
        for d in range(tree.max_depth + 1):
            a = choose(node, d == 0, sim)
            action = torch.where(active, a, action)
            child = tree.children[rows, node, action].long()
            descend = active & (child >= 0) & ~tree.terminal[rows, child.clamp_min(0)]
            node = torch.where(descend, child, node)
            active = descend
        child = tree.children[rows, node, action].long()
        is_new = live & (child < 0)

        # expansion: one batched step and one evaluate call for all games
        leaf_state = game.step(_state_gather(tree.states, rows, node), action, check=False)
        prior, value, legal, done = _evaluate(game, leaf_state, evaluate)
        slot = tree.num_nodes
        _state_write(tree.states, rows, slot, leaf_state)
        tree.raw_value[rows, slot] = value
        tree.prior[rows, slot] = prior
        tree.legal[rows, slot] = legal
        tree.terminal[rows, slot] = done
        tree.parent[rows, slot] = node
        tree.depth[rows, slot] = tree.depth[rows, node] + 1
        tree.visits[rows, slot] = 0.0
        tree.value_sum[rows, slot] = 0.0
        tree.children[rows, node, action] = torch.where(is_new, slot, child).to(torch.int32)
        tree.num_nodes = slot + is_new.long()
        tree.max_depth = max(tree.max_depth, int(torch.where(is_new, tree.depth[rows, slot], 0).max()))

        # backup from the leaf (new node, existing terminal child, or a finished root) to the root
        leaf = torch.where(is_new, slot, torch.where(live, child, root))
        v = tree.raw_value[rows, leaf]
        cur, on = leaf, torch.ones(b, dtype=torch.bool, device=dev)
        player = tree.states.player
        for _ in range(tree.max_depth + 1):
            tree.visits[rows, cur] += on.float()
            tree.value_sum[rows, cur] += torch.where(on, v, 0.0)
            par = tree.parent[rows, cur]
            on = on & (par >= 0)
            par = par.clamp_min(0)
            v = torch.where(player[rows, par] == player[rows, cur], v, -v)
            cur = par

    sigma_kw = {"value_scale": value_scale, "maxvisit_init": maxvisit_init}
    gumbel_root = (g, start_visits) if gumbel else None
    return _result(tree, root_prior, live, gumbel_root, sigma_kw, c_puct, forced_k if forced_playouts else None)


def _result(
    tree: Tree,
    root_prior: Tensor,
    live: Tensor,
    gumbel_root: tuple[Tensor, Tensor] | None,
    sigma_kw: dict[str, float],
    c_puct: float,
    forced_k: float | None,
) -> SearchResult:
    """Root statistics. gumbel_root: (Gumbel noise [B, A], root visits before the search [B, A]) with Gumbel."""
    rows = torch.arange(root_prior.shape[0], device=root_prior.device)
    root = torch.zeros_like(rows)
    legal = tree.legal[:, 0]
    _, n, q = _child_stats(tree, rows, root)
    value = tree.value_sum[:, 0] / tree.visits[:, 0].clamp_min(1.0)
    if gumbel_root is not None:
        g, start_visits = gumbel_root
        sigma = gum.sigma_q(q, n, tree.raw_value[:, 0], root_prior, legal, **sigma_kw)
        policy = gum.improved_policy(root_prior, sigma, legal)
        searched = n - start_visits
        top = searched.amax(-1)
        action = gum.root_scores(g, root_prior, sigma, searched, top, legal).argmax(-1)
    else:
        kept = _prune_forced(tree, n, q, root_prior, legal, c_puct, forced_k) if forced_k is not None else n
        policy = kept / kept.sum(-1, keepdim=True).clamp_min(1.0)
        action = torch.where(legal, n + 0.25 * (q + 1.0), -1.0).argmax(-1)  # most visits, ties by Q
    policy = torch.where(live[:, None], policy, 0.0)
    return SearchResult(visits=n, policy=policy, value=value, q=q, prior=root_prior, action=action, tree=tree)


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
    states = type(tree.states)(**{k: move(getattr(tree.states, k), 0) for k in _state_fields(tree.states)})
    return Tree(states=states, num_nodes=count, max_depth=max(tree.max_depth - 1, 0), **fields)


def reset_rows(tree: Tree, rows: Tensor) -> Tree:
    """The tree with the games where rows[B] is True emptied (e.g. restarted games); the next search rebuilds them."""
    return dataclasses.replace(tree, num_nodes=torch.where(rows.to(tree.num_nodes.device), 0, tree.num_nodes))
