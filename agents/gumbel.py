"""Gumbel root search pieces (Danihelka et al. 2022, "Policy improvement by planning with Gumbel"; as in mctx).

At the root, Gumbel-top-k sampling picks `max_considered_actions` actions and sequential halving spreads the budget
over them; interior nodes use the deterministic rule argmax(pi' - N / (1 + sum N)) with pi' = softmax(log prior +
sigma(completed Q)). The policy target is softmax(log prior + sigma(completed Q)) at the root, where unvisited actions
get the mixed value approximation (the evaluator's value mixed with the prior-weighted Q of the visited actions).

The action a search returns is argmax g(a) + log prior(a) + sigma(Q(a)) over the actions left after the last halving
(those with the most visits), as in mctx. With noise that is a Gumbel-max sample of the improved policy, not its
argmax: with mctx's default value_scale 0.1, sigma spans (50 + max N) * 0.1, about 5.5 at 16 simulations, so a move
with a Q gap of 1 is still passed over as often as the improved policy gives it no mass (about 2% at 16 simulations
with a uniform prior; tests/agents/test_gumbel.py). Play without noise (gumbel_scale=0) or raise value_scale (the
paper's c_scale = 1) where the best move must always be taken.

All functions work on one node per game: B games, A actions. Q values are from the view of the player to move at
the node; `legal` masks the actions.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "considered_visit_sequence",
    "considered_visit_table",
    "gumbel_noise",
    "completed_q",
    "sigma_q",
    "root_scores",
    "interior_scores",
    "improved_policy",
]


def considered_visit_sequence(max_considered: int, num_simulations: int) -> list[int]:
    """Sequential halving schedule: the visit count an action must have to be chosen at each simulation.

    With k considered actions, each phase gives every remaining action max(1, S / (ceil(log2 k) * k)) more visits,
    then halves the remaining actions (down to 2).

    Returns:
        list of length num_simulations.
    """
    if max_considered <= 1:
        return list(range(num_simulations))
    log2max = math.ceil(math.log2(max_considered))
    sequence: list[int] = []
    visits = [0] * max_considered
    considered = max_considered
    while len(sequence) < num_simulations:
        extra = max(1, int(num_simulations / (log2max * considered)))
        for _ in range(extra):
            sequence.extend(visits[:considered])
            for i in range(considered):
                visits[i] += 1
        considered = max(2, considered // 2)
    return sequence[:num_simulations]


def considered_visit_table(num_considered: list[int], num_simulations: int, device: torch.device) -> Tensor:
    """LongTensor[B, S]: row b is the sequential halving schedule for num_considered[b] actions."""
    cache = {m: considered_visit_sequence(m, num_simulations) for m in set(num_considered)}
    rows = [cache[m] for m in num_considered]
    return torch.tensor(rows, dtype=torch.long, device=device).view(len(num_considered), num_simulations)


def gumbel_noise(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> Tensor:
    """Standard Gumbel samples -log(-log U), drawn on the generator's device and moved to `device`."""
    gdev = generator.device if generator is not None else device
    u = torch.rand(shape, generator=generator, device=gdev).to(device)
    return -torch.log(-torch.log(u.clamp(1e-20, 1.0 - 1e-7)))


def completed_q(q: Tensor, visits: Tensor, raw_value: Tensor, prior: Tensor) -> Tensor:
    """Q of visited actions, the mixed value approximation for the others.

    Args:
        q: [B, A] mean action values (anything where unvisited).
        visits: [B, A] child visit counts.
        raw_value: [B] the evaluator's value of the node.
        prior: [B, A] prior probabilities.
    Returns:
        [B, A] completed Q.
    """
    visited = visits > 0
    total = visits.sum(-1)  # [B]
    p = prior.clamp_min(torch.finfo(prior.dtype).tiny)
    p_visited = torch.where(visited, p, 0.0)
    weighted_q = (p_visited * torch.where(visited, q, 0.0)).sum(-1) / p_visited.sum(-1).clamp_min(1e-30)
    mixed = (raw_value + total * weighted_q) / (total + 1.0)  # [B]
    return torch.where(visited, q, mixed[:, None])


def sigma_q(
    q: Tensor,
    visits: Tensor,
    raw_value: Tensor,
    prior: Tensor,
    legal: Tensor,
    *,
    value_scale: float = 0.1,
    maxvisit_init: float = 50.0,
) -> Tensor:
    """sigma(completed Q) = (maxvisit_init + max N) * value_scale * Q rescaled to [0, 1] over the legal actions.

    Returns:
        [B, A] (0 on illegal actions).
    """
    cq = completed_q(q, visits, raw_value, prior)
    lo = torch.where(legal, cq, math.inf).amin(-1, keepdim=True)
    hi = torch.where(legal, cq, -math.inf).amax(-1, keepdim=True)
    scaled = (cq - lo) / (hi - lo).clamp_min(1e-8)
    scale = (maxvisit_init + visits.amax(-1, keepdim=True)) * value_scale
    return torch.where(legal, scale * scaled, 0.0)


def _log_prior(prior: Tensor, legal: Tensor) -> Tensor:
    return torch.where(legal, torch.log(prior.clamp_min(1e-30)), -math.inf)


def root_scores(
    gumbel: Tensor, prior: Tensor, sigma: Tensor, search_visits: Tensor, considered_visit: Tensor, legal: Tensor
) -> Tensor:
    """Root selection scores: g + log prior + sigma(Q) among legal actions whose visits equal the schedule's count.

    Args:
        gumbel: [B, A] Gumbel noise drawn once per search.
        search_visits: [B, A] visits this search gave each root action.
        considered_visit: [B] visit count the schedule asks for at this simulation.
    Returns:
        [B, A] scores (-inf where not selectable); argmax is the action to simulate.
    """
    base = (gumbel + _log_prior(prior, legal)).clamp_min(-1e9) + sigma
    ok = legal & (search_visits == considered_visit[:, None].to(search_visits.dtype))
    # no action at the scheduled count (possible after tree reuse): fall back to the least searched legal ones
    fallback = legal & (search_visits == torch.where(legal, search_visits, math.inf).amin(-1, keepdim=True))
    ok = torch.where(ok.any(-1, keepdim=True), ok, fallback)
    return torch.where(ok, base, -math.inf)


def interior_scores(prior: Tensor, sigma: Tensor, visits: Tensor, legal: Tensor) -> Tensor:
    """Deterministic interior selection: pi'(a) - N(a) / (1 + sum N), pi' = softmax(log prior + sigma)."""
    pi = improved_policy(prior, sigma, legal)
    score = pi - visits / (1.0 + visits.sum(-1, keepdim=True))
    return torch.where(legal, score, -math.inf)


def improved_policy(prior: Tensor, sigma: Tensor, legal: Tensor) -> Tensor:
    """softmax(log prior + sigma) over the legal actions ([B, A]; all zeros on rows without a legal action)."""
    return torch.softmax(_log_prior(prior, legal) + sigma, dim=-1).nan_to_num(0.0)
