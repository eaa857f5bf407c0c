"""Elo ratings with their uncertainty.

Two tools:

* `elo_from_score(wins, draws, losses)`: the Elo difference implied by one match's score, with a 95% interval.
* `fit_bradley_terry(records)`: a Bradley-Terry (logistic Elo) fit of many players over many games, with a
  first-move advantage term and standard errors, fitted by Newton's method on the log-likelihood.

The model: the player who moves first, rated r_i, beats the second, rated r_j, with probability
sigmoid((r_i - r_j + h) * ln(10) / 400), where h is the first-move advantage in Elo. A draw counts as half a win and
half a loss (as in KataGo's `elo.py` and most Elo tools). Dimension letters: P players, G aggregated pairings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "EloTable",
    "elo_from_score",
    "expected_score",
    "fit_bradley_terry",
    "format_elo",
    "records_from_games",
]

_Z95 = 1.959963984540054
_SCALE = 400.0 / math.log(10.0)  # Elo points per natural-log odds unit


def format_elo(x: float, digits: int = 0, *, sign: bool = True) -> str:
    """An Elo figure for people: rounded to `digits`, with its sign, and never "-0" (-0.3 shows as +0)."""
    if math.isfinite(x):
        x = round(x, digits) + 0.0  # adding 0.0 turns -0.0 into 0.0
    return f"{x:{'+' if sign else ''}.{digits}f}"


def expected_score(elo_diff: float) -> float:
    """Expected score of a player rated `elo_diff` points above its opponent."""
    return 1.0 / (1.0 + 10.0 ** (-elo_diff / 400.0))


def _score_to_elo(p: float) -> float:
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return -400.0 * math.log10(1.0 / p - 1.0)


def elo_from_score(wins: int, draws: int, losses: int) -> tuple[float, float, float]:
    """Elo difference of a player over its opponent from one match, with a 95% interval.

    The interval comes from the normal approximation of the mean score per game (draws worth one half, using the
    observed win/draw/loss variance), mapped through the Elo curve. When the observed variance is zero (all wins,
    all losses or all draws) the Wilson bound for the score is used instead, so the interval is never empty.

    Args:
        wins, draws, losses: game counts of the player.
    Returns:
        (elo, lo95, hi95): `elo` is +inf for a clean sweep and -inf for no points; the bounds are finite unless the
        score itself is 0 or 1 at that end.
    """
    n = wins + draws + losses
    if n <= 0:
        raise ValueError("elo_from_score needs at least one game")
    p = (wins + 0.5 * draws) / n
    var = (wins * (1.0 - p) ** 2 + draws * (0.5 - p) ** 2 + losses * p**2) / n  # per-game variance of the score
    if var > 0.0:
        half = _Z95 * math.sqrt(var / n)
        lo, hi = max(p - half, 0.0), min(p + half, 1.0)
    else:  # Wilson score interval at a degenerate observed score
        z2 = _Z95 * _Z95
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        half = _Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
        lo, hi = centre - half, centre + half
        if p == 0.5:  # all draws: keep the interval around the score
            lo, hi = min(lo, p), max(hi, p)
    return _score_to_elo(p), _score_to_elo(lo), _score_to_elo(hi)


@dataclass(frozen=True)
class EloTable:
    """Result of a Bradley-Terry fit.

    Attributes:
        players: names, [P].
        elo: ratings in Elo, [P]; the anchor at 0, or mean 0 without an anchor.
        stderr: standard error of each rating, [P] (relative to the anchor, or to the mean).
        first_move_elo: the first-move advantage h in Elo, and `first_move_stderr` its standard error.
        games: games played by each player, [P].
        score: points scored by each player (win 1, draw 1/2), [P].
    """

    players: list[str]
    elo: np.ndarray
    stderr: np.ndarray
    first_move_elo: float
    first_move_stderr: float
    games: np.ndarray
    score: np.ndarray

    def rating(self, name: str) -> tuple[float, float]:
        """(elo, stderr) of one player."""
        i = self.players.index(name)
        return float(self.elo[i]), float(self.stderr[i])

    def format(self) -> str:
        """A text table sorted by rating, with 95% intervals, then the first-move term."""
        width = max([len(p) for p in self.players] + [6])
        lines = [f"{'player'.ljust(width)}  {'elo':>8}  {'+/-95%':>7}  {'games':>6}  {'score':>6}"]
        for i in np.argsort(-self.elo, kind="stable"):
            pct = 100.0 * self.score[i] / max(self.games[i], 1)
            lines.append(
                f"{self.players[i].ljust(width)}  {format_elo(self.elo[i], 1, sign=False):>8}  "
                f"{_Z95 * self.stderr[i]:7.1f}  {int(self.games[i]):6d}  {pct:5.1f}%"
            )
        lines.append(
            f"first-move advantage: {format_elo(self.first_move_elo, 1, sign=False)} "
            f"+/- {_Z95 * self.first_move_stderr:.1f} Elo"
        )
        return "\n".join(lines)


def records_from_games(games: Iterable[dict]) -> list[tuple[str, str, float]]:
    """Turn game dicts (as in `MatchResult.games` or replay lines) into `(first, second, score_of_first)` records.

    Each dict needs "players": [first, second] (in move order; names, or replay-record player dicts with a "name")
    and "result": the first player's score (1, 0.5 or 0). Unfinished games (result None) are left out.
    """

    def name(p: str | dict) -> str:
        return p["name"] if isinstance(p, dict) else p

    return [
        (name(g["players"][0]), name(g["players"][1]), float(g["result"])) for g in games if g["result"] is not None
    ]


def _aggregate(records: Iterable[tuple]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    players: dict[str, int] = {}
    pairs: dict[tuple[int, int], list[float]] = {}
    for rec in records:
        first, second, result = rec[0], rec[1], float(rec[2])
        count = float(rec[3]) if len(rec) > 3 else 1.0
        if not 0.0 <= result <= 1.0:
            raise ValueError(f"result must be the first player's score in [0, 1], got {result}")
        if first == second:
            raise ValueError(f"a player cannot play itself: {first!r}")
        i = players.setdefault(first, len(players))
        j = players.setdefault(second, len(players))
        acc = pairs.setdefault((i, j), [0.0, 0.0])
        acc[0] += result * count
        acc[1] += count
    keys = np.array(list(pairs.keys()), dtype=np.int64).reshape(-1, 2)
    vals = np.array(list(pairs.values()), dtype=np.float64).reshape(-1, 2)
    return list(players), keys[:, 0], keys[:, 1], vals[:, 0], vals[:, 1]


def fit_bradley_terry(
    records: Iterable[tuple],
    anchor: str | None = None,
    *,
    first_move: bool = True,
    prior_elo: float = 2000.0,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> EloTable:
    """Fit Bradley-Terry ratings and a first-move advantage to game results by Newton's method.

    Args:
        records: `(first, second, score)` or `(first, second, score, count)` tuples: `first` moved first and
            scored `score` (1 win, 0.5 draw, 0 loss) against `second`, `count` times (default 1).
        anchor: a player whose rating is fixed at 0 (errors are then relative to it); None: ratings have mean 0.
        first_move: fit the first-move term h (else h = 0).
        prior_elo: standard deviation of a weak Gaussian prior on each rating difference to the reference, only so
            that a player who won (or lost) every game gets a finite rating; it barely moves the others.
        max_iter, tol: Newton iterations and the stopping tolerance on the step (natural units).
    Returns:
        EloTable.
    """
    players, i, j, s, n = _aggregate(records)
    P = len(players)
    if P < 2:
        raise ValueError("fit_bradley_terry needs games between at least two players")
    if anchor is not None and anchor not in players:
        raise ValueError(f"anchor {anchor!r} played no game")
    ref = players.index(anchor) if anchor is not None else 0
    free = [k for k in range(P) if k != ref]  # rating parameters; the reference is fixed at 0 during the fit
    col = {k: c for c, k in enumerate(free)}
    D = len(free) + (1 if first_move else 0)
    # design matrix X [G, D]: +1 for the first player, -1 for the second, +1 for the first-move term
    X = np.zeros((len(s), D))
    for g in range(len(s)):
        if i[g] in col:
            X[g, col[i[g]]] += 1.0
        if j[g] in col:
            X[g, col[j[g]]] -= 1.0
    if first_move:
        X[:, -1] = 1.0
    prior = np.full(D, 1.0 / (prior_elo / _SCALE) ** 2)
    if first_move:
        prior[-1] = 0.0
    theta = np.zeros(D)

    def loglik(t: np.ndarray) -> float:
        x = X @ t
        return float(np.sum(s * -np.logaddexp(0, -x) + (n - s) * -np.logaddexp(0, x)) - 0.5 * np.sum(prior * t * t))

    cur = loglik(theta)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-(X @ theta)))
        grad = X.T @ (s - n * p) - prior * theta
        hess = (X * (n * p * (1 - p))[:, None]).T @ X + np.diag(prior)
        step = np.linalg.solve(hess + 1e-12 * np.eye(D), grad)
        scale = 1.0
        while True:  # step halving keeps each iteration an ascent step
            new = loglik(theta + scale * step)
            if new >= cur - 1e-12 or scale < 1e-6:
                break
            scale *= 0.5
        theta, cur = theta + scale * step, new
        if np.max(np.abs(scale * step)) < tol:
            break
    p = 1.0 / (1.0 + np.exp(-(X @ theta)))
    hess = (X * (n * p * (1 - p))[:, None]).T @ X + np.diag(prior)
    cov = np.linalg.inv(hess)
    # embed into all P ratings (the reference row/column is zero), then centre when there is no anchor
    full = np.zeros((P, P))
    idx = np.array(free, dtype=np.int64)
    full[np.ix_(idx, idx)] = cov[: len(free), : len(free)]
    r = np.zeros(P)
    r[idx] = theta[: len(free)]
    if anchor is None:
        C = np.eye(P) - 1.0 / P
        r = C @ r
        full = C @ full @ C.T
    stderr = np.sqrt(np.clip(np.diag(full), 0.0, None))
    games = np.bincount(i, weights=n, minlength=P) + np.bincount(j, weights=n, minlength=P)
    score = np.bincount(i, weights=s, minlength=P) + np.bincount(j, weights=n - s, minlength=P)
    h, h_se = (theta[-1], math.sqrt(max(cov[-1, -1], 0.0))) if first_move else (0.0, 0.0)
    return EloTable(
        players=players,
        elo=r * _SCALE,
        stderr=stderr * _SCALE,
        first_move_elo=float(h * _SCALE),
        first_move_stderr=float(h_se * _SCALE),
        games=games,
        score=score,
    )
