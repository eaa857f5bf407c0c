"""Live analysis for Go programs (Sabaki, Lizzie, KaTrain) over GTP: Leela Zero's and KataGo's analysis commands.

    lz-analyze [colour] [interval] [interval CS] [minmoves N] [maxmoves N]
    kata-analyze [colour] [interval] [interval CS] [minmoves N] [maxmoves N] [ownership true|false]
    lz-genmove_analyze / kata-genmove_analyze [colour] [interval] ...   (genmove with the same output while it thinks)

The reply starts at once with `=[id]`; then, every `interval` centiseconds (0: none), one line with a candidate
move's statistics after another, as the two programs write them (KataGo's docs/GTP_Extensions.md):

    lz-analyze:   info move D4 visits 120 winrate 5321 prior 2211 lcb 5102 order 0 pv D4 C3 info move ...
    kata-analyze: info move D4 visits 120 utility 0.064208 winrate 0.532104 scoreMean 1.5 scoreLead 1.5
                  prior 0.221102 lcb 0.510237 order 0 pv D4 C3 info ...
                  ... ownership 0.82 0.75 ... (with `ownership true`: size*size values, row by row from the top left)

lz-analyze gives win rate, prior and LCB as integers out of 10000, kata-analyze as fractions. The analysis goes on
(searching one growing tree, up to MAX_ANALYSIS_VISITS simulations) until the next line arrives on stdin, then ends
the reply with an empty line. The genmove forms search the move's budget (simulations or time), and end with
`play VERTEX` (or `play resign`) and the empty line.

The figures, from the view of the side to move: visits are the child's simulations; winrate = (1 + Q) / 2 with Q the
child's mean value; prior the network's policy (uniform with rollouts); lcb = winrate - 1.96 * 0.5 / sqrt(visits)
(a lower bound with the largest spread a value in [0, 1] can have; the search keeps no variances), at least 0;
order by visits (ties by winrate); pv the most visited line from the move on. Moves with no visits are listed only
to fill `minmoves`. kata-analyze adds utility = 2 * winrate - 1 (the search's value; it has no score utility), and
scoreMean = scoreLead (as KataGo writes both) where the network has a score head: the expected final area score in
points for the side to move (komi counted; the head's mean final score of self-play, KataGo's scoreSelfplay), the
visit-weighted mean over the move's subtree as for ownership below, shifted by the difference between the komi the
net learnt under (the player's `score_komi`) and the game's; without a score head they are left out.

Ownership, +1 where the side to move at the root owns the point, -1 the opponent:
- with a network that has an ownership head (the player's `aux_evaluate`, agents.leaf_evaluators), the head's
  values averaged over the search tree as KataGo does (Search::getAverageTreeOwnership): each node counts as many
  times as simulations ended there (one for an expanded node, the visits of a finished game's node, whose owner is
  exact: envs.go.Go.ownership), so a subtree weighs its visits; each node's values are turned to the root player's
  view. The heads come with the search's own network calls (TreeAux), not from calls of their own.
- otherwise it is estimated from the search: the position at the end of the principal variation (the line the
  search expects, as far as its moves have been searched more than once) is played out `OWNERSHIP_PLAYOUTS` times
  with random moves that fill no own eyes (envs.go.Go.playout_ownership), and each point's mean final area owner is
  reported. So it works with a network without the head and with the rollout fallback alike.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from agents.gtp_coords import GtpError, format_vertex, parse_colour
from agents.leaf_evaluators import AuxEvaluator
from agents.mcts import SearchResult, search
from agents.tree import Tree, grow, state_gather

__all__ = [
    "ANALYSIS_COMMANDS",
    "MAX_ANALYSIS_VISITS",
    "OWNERSHIP_PLAYOUTS",
    "AnalyzeRequest",
    "MoveStats",
    "parse_request",
    "move_stats",
    "info_line",
    "ownership_estimate",
    "TreeAux",
    "run_analysis",
]

ANALYSIS_COMMANDS = ("lz-analyze", "kata-analyze", "lz-genmove_analyze", "kata-genmove_analyze")
MAX_ANALYSIS_VISITS = 20_000  # an analysis stops searching here (the tree's memory) and goes on reporting
OWNERSHIP_PLAYOUTS = 16
AUX_BATCH = 256  # tree nodes per network call of the auxiliary heads


@dataclass(frozen=True)
class AnalyzeRequest:
    """The arguments of an analysis command: colour (None: the side to move), interval in seconds (0: no reports
    while searching), minmoves, maxmoves (0: all visited moves), ownership."""

    colour: int | None = None
    interval_s: float = 0.0
    minmoves: int = 0
    maxmoves: int = 0
    ownership: bool = False


def _count(text: str, what: str) -> int:
    if not (text.isdigit() and len(text) <= 9):
        raise GtpError(f"syntax error ({what} must be a whole number, got {text[:20]!r})")
    return int(text)


def parse_request(args: list[str], *, kata: bool) -> AnalyzeRequest:
    """Parse `[colour] [interval] key value ...` (keys: interval, minmoves, maxmoves, and with kata ownership).

    Raises:
        GtpError: a bad colour, number or key.
    """
    colour, interval, minmoves, maxmoves, ownership = None, 0, 0, 0, False
    i = 0
    if i < len(args) and args[i].lower() in ("b", "w", "black", "white"):
        colour, i = parse_colour(args[i]), i + 1
    if i < len(args) and args[i].isdigit():
        interval, i = _count(args[i], "interval"), i + 1
    while i < len(args):
        key = args[i].lower()
        if i + 1 >= len(args):
            raise GtpError(f"syntax error ({key[:20]!r} needs a value)")
        value = args[i + 1]
        if key == "interval":
            interval = _count(value, "interval")
        elif key == "minmoves":
            minmoves = _count(value, "minmoves")
        elif key == "maxmoves":
            maxmoves = _count(value, "maxmoves")
        elif key == "ownership" and kata:
            if value.lower() not in ("true", "false"):
                raise GtpError(f"syntax error (ownership true or false, got {value[:20]!r})")
            ownership = value.lower() == "true"
        else:
            raise GtpError(f"syntax error (unknown analysis key {key[:20]!r})")
        i += 2
    return AnalyzeRequest(colour, interval / 100.0, minmoves, maxmoves, ownership)


@dataclass(frozen=True)
class MoveStats:
    """One candidate move of a report (see the module docstring for the figures)."""

    action: int
    visits: int
    winrate: float
    prior: float
    lcb: float
    order: int
    pv: list[int]
    score: float | None = None


def _principal_variation(children: np.ndarray, visits: np.ndarray, action: int, limit: int = 30) -> list[int]:
    """The action, then the most visited child at each node below it while there are visits (children [N, A] and
    visits [N] of game 0's tree)."""
    pv, node = [action], int(children[0, action])
    while node >= 0 and len(pv) < limit:
        kids = children[node]
        seen = np.where(kids >= 0, visits[np.maximum(kids, 0)], 0.0)
        best = int(seen.argmax())
        if seen[best] <= 0:
            break
        pv.append(best)
        node = int(kids[best])
    return pv


def move_stats(
    result: SearchResult, request: AnalyzeRequest, scores: dict[int, float] | None = None
) -> list[MoveStats]:
    """The candidate moves of game 0 of a search, best first: every visited move (at most maxmoves), then moves by
    prior with no visits up to minmoves. scores: the root's and its visited children's scores (TreeAux.means)
    where there is a score head."""
    visits, q, prior = result.visits[0].tolist(), result.q[0].tolist(), result.prior[0].tolist()
    legal = result.tree.legal[0, 0].tolist()
    children = result.tree.children[0].cpu().numpy()
    node_visits = result.tree.visits[0].cpu().numpy()
    root_winrate = (1.0 + float(result.value[0])) / 2.0
    actions = [a for a in range(len(visits)) if legal[a]]
    visited = sorted((a for a in actions if visits[a] > 0), key=lambda a: (-visits[a], -q[a]))
    unvisited = sorted((a for a in actions if visits[a] <= 0), key=lambda a: -prior[a])
    chosen = visited[: request.maxmoves] if request.maxmoves > 0 else visited
    if len(chosen) < request.minmoves:
        chosen += unvisited[: request.minmoves - len(chosen)]
    out = []
    for order, a in enumerate(chosen):
        n = int(visits[a])
        winrate = (1.0 + q[a]) / 2.0 if n > 0 else root_winrate
        lcb = max(0.0, winrate - 1.96 * 0.5 / math.sqrt(n)) if n > 0 else 0.0
        pv = _principal_variation(children, node_visits, a) if n > 0 else [a]
        score = None
        if scores is not None:  # a move with no visits: the root's
            score = scores[int(children[0, a])] if n > 0 else scores[0]
        out.append(MoveStats(a, n, winrate, prior[a], lcb, order, pv, score))
    return out


def _clip01(x: float) -> float:
    return min(1.0, max(0.0, x))


def info_line(stats: list[MoveStats], size: int, *, kata: bool, ownership: list[float] | None = None) -> str:
    """One report line (without the newline) in Leela Zero's (kata=False) or KataGo's format."""
    parts = []
    for m in stats:
        pv = " ".join(format_vertex(a, size) for a in m.pv)
        if kata:
            w = _clip01(m.winrate)
            score = "" if m.score is None else f"scoreMean {m.score + 0.0:.6f} scoreLead {m.score + 0.0:.6f} "
            figures = (
                f"utility {2 * w - 1 + 0.0:.6f} winrate {w:.6f} {score}"
                f"prior {_clip01(m.prior):.6f} lcb {_clip01(m.lcb):.6f}"
            )
        else:
            w, p, lcb = (round(10000 * _clip01(x)) for x in (m.winrate, m.prior, m.lcb))
            figures = f"winrate {w} prior {p} lcb {lcb}"
        parts.append(f"info move {format_vertex(m.action, size)} visits {m.visits} {figures} order {m.order} pv {pv}")
    line = " ".join(parts)
    if ownership is not None:
        line += " ownership " + " ".join(f"{min(1.0, max(-1.0, x)) + 0.0:.4f}" for x in ownership)
    return line


def ownership_estimate(game: Any, result: SearchResult, generator: torch.Generator | None = None) -> list[float]:
    """Each point's expected final owner from the view of the side to move at the root (+1 its own), by playouts
    from the end of the principal variation (see the module docstring)."""
    tree = result.tree
    node = 0
    while True:  # down the principal variation while its next move has been searched more than once
        kids = tree.children[0, node].long()
        visits = torch.where(kids >= 0, tree.visits[0, kids.clamp_min(0)], 0.0)
        if float(visits.max()) < 2:
            break
        node = int(kids[int(visits.argmax())])
    zero = torch.zeros(1, dtype=torch.long)
    end = state_gather(tree.states, zero, torch.tensor([node]))
    owner = game.playout_ownership(end, OWNERSHIP_PLAYOUTS, generator)[0]  # +1 black
    sign = 1.0 if int(tree.states.player[0, 0]) == 0 else -1.0
    return (sign * owner).tolist()


class TreeAux:
    """The network's auxiliary heads (ownership, score) at the nodes of one growing search tree (game 0), and their
    visit-weighted means over subtrees from the root player's view (see the module docstring). The search hands its
    evaluations to `sink` (`evaluator()` is the search's evaluator), so the net runs once per node; a node's values
    are looked up by its input planes, and the net is run only for nodes missing there (counted in `misses`).
    Finished games' nodes take their exact owners and score.

    Args:
        game: the game searched (Go: `ownership`, `final_score`, `komi`).
        aux: the net's auxiliary evaluator (agents.leaf_evaluators.network_aux_evaluator).
        score_komi: the komi the score head learnt under (None: the game's).
    """

    def __init__(self, game: Any, aux: AuxEvaluator, score_komi: float | None = None):
        self.game, self.aux = game, aux
        self.komi_shift = 0.0 if score_komi is None else float(score_komi) - float(game.komi)
        self.own: Tensor | None = None  # [N, H*W], the node player's view
        self.score: Tensor | None = None  # [N]
        self.count = 0  # nodes evaluated so far
        self.misses = 0
        self._top: list[int] = []  # each node's ancestor among the root's children (the root: 0)
        self._seen: dict[int, dict[str, Tensor]] = {}  # hash of a position's planes -> its heads' values

    @staticmethod
    def _keys(planes: Tensor) -> list[int]:
        flat = planes.detach().cpu().flatten(1).numpy()
        return [hash(row.tobytes()) for row in flat]

    def sink(self, planes: Tensor, got: dict[str, Tensor]) -> None:
        """Keep the heads' values of a batch the search evaluated (AuxSink)."""
        for i, key in enumerate(self._keys(planes)):
            self._seen[key] = {k: v[i] for k, v in got.items()}

    def evaluator(self) -> Any:
        """The search's evaluator: the net's, handing its heads to `sink`."""
        return self.aux.searching(self.sink)

    def update(self, tree: Tree) -> None:
        """Take the values of the nodes added since the last call (node ids only grow within an analysis)."""
        n = int(tree.num_nodes[0])
        for start in range(self.count, n, AUX_BATCH):
            ids = torch.arange(start, min(n, start + AUX_BATCH))
            states = state_gather(tree.states, torch.zeros_like(ids), ids)
            planes = self.game.planes(states)
            rows = [self._seen.get(key) for key in self._keys(planes)]
            miss = [i for i, row in enumerate(rows) if row is None]
            if miss:
                at = torch.tensor(miss)
                got = self.aux(planes[at], state_gather(tree.states, torch.zeros_like(at), ids[at]))
                for j, i in enumerate(miss):
                    rows[i] = {k: v[j] for k, v in got.items()}
                self.misses += len(miss)
            for node, up in zip(ids.tolist(), tree.parent[0, ids].tolist()):  # parents come before their children
                self._top.append(0 if up < 0 else node if up == 0 else self._top[up])
            done = tree.terminal[0, ids].nonzero()[:, 0]  # finished games: exact (counted only where there are any)
            ended = state_gather(tree.states, torch.zeros_like(done), ids[done]) if len(done) else None
            if "ownership" in rows[0]:
                own = torch.stack([row["ownership"].float() for row in rows])
                if ended is not None:
                    own[done] = self.game.ownership(ended).float()
                self.own = own if self.own is None else torch.cat([self.own, own])
            if "score" in rows[0]:  # score under komi k = score under k0 + (k0 - k) for black, - (k0 - k) for white
                shift = torch.where(states.player == 0, self.komi_shift, -self.komi_shift)
                score = torch.stack([row["score"].float() for row in rows]) + shift
                if ended is not None:
                    score[done] = self.game.final_score(ended).float()
                self.score = score if self.score is None else torch.cat([self.score, score])
        self.count = max(self.count, n)

    def means(self, tree: Tree) -> tuple[list[float] | None, dict[int, float] | None]:
        """(the tree's mean ownership, {node: mean score in points} of the root (0) and of each root child's subtree),
        from the root player's view, a node weighing the simulations that ended there (its visits less its
        children's); None for a head the net lacks. Call `update` first."""
        n = self.count
        visits, parent = tree.visits[0, :n].double(), tree.parent[0, :n]
        below = torch.zeros(n, dtype=torch.float64).index_add_(0, parent[1:], visits[1:])
        weight = (visits - below).clamp_min(0.0)
        player = tree.states.player[0, :n]
        signed = torch.where(player == player[0], 1.0, -1.0).double() * weight
        total = float(weight.sum())
        own = None if self.own is None else (signed @ self.own[:n].double() / total).tolist()
        if self.score is None:
            return own, None
        score = signed * self.score[:n].double()
        top = torch.tensor(self._top, dtype=torch.long)
        sums = torch.zeros(n, dtype=torch.float64).index_add_(0, top, score).tolist()
        weights = torch.zeros(n, dtype=torch.float64).index_add_(0, top, weight).tolist()
        scores = {0: float(score.sum()) / total}
        for node in tree.children[0, 0].tolist():
            if 0 < node < n and weights[node] > 0:
                scores[node] = sums[node] / weights[node]
        return own, scores


def run_analysis(
    game: Any,
    state: Any,
    player: Any,
    request: AnalyzeRequest,
    *,
    kata: bool,
    emit: Callable[[str], None],
    stop: Callable[[int], bool],
    max_visits: int = MAX_ANALYSIS_VISITS,
    seed: int = 0,
) -> SearchResult:
    """Search `state` with the player's evaluator and settings on one growing tree, emitting a report line every
    request.interval_s, until stop(simulations so far) is true (checked after every chunk of simulations; at least
    one chunk is searched). Returns the last SearchResult.

    Raises:
        GtpError: the player searches no tree (it has no evaluator).
    """
    evaluate, settings = getattr(player, "evaluate", None), getattr(player, "search_settings", None)
    if evaluate is None or settings is None:
        raise GtpError("analysis needs a searching player")
    aux = getattr(player, "aux_evaluate", None)
    needed = {"score"} | ({"ownership"} if request.ownership else set())
    use_heads = kata and aux is not None and bool(aux.heads & needed)
    heads = TreeAux(game, aux, getattr(player, "score_komi", None)) if use_heads else None
    if heads is not None:
        evaluate = heads.evaluator()  # the same search, the heads kept on the way
    chunk = settings.leaves_per_call(1)  # one network call a chunk: the input is checked that often
    generator = torch.Generator().manual_seed(seed)
    tree, done, result = None, 0, None
    last = time.monotonic()
    with torch.no_grad():
        while True:
            if done < max_visits:
                k = min(chunk, max_visits - done)
                if tree is not None and int(tree.num_nodes.max()) + k + 1 > tree.visits.shape[1]:
                    tree = grow(tree, 2 * tree.visits.shape[1] + k)  # room doubles: few copies over a long analysis
                result = search(game, state, evaluate, settings, num_simulations=k, tree=tree)
                tree, done = result.tree, done + k
            else:
                time.sleep(0.005)
            if stop(done):
                return result
            now = time.monotonic()
            if request.interval_s > 0 and now - last >= request.interval_s and not stop(done):
                own, scores = None, None
                if heads is not None:
                    heads.update(result.tree)
                    own, scores = heads.means(result.tree)
                    own = own if request.ownership else None
                if kata and request.ownership and own is None:
                    own = ownership_estimate(game, result, generator)
                emit(info_line(move_stats(result, request, scores), game.size, kata=kata, ownership=own) + "\n")
                last = now
                if stop(done):  # the last report is of the tree returned
                    return result
