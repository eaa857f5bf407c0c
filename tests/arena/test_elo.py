"""Elo from a match score and the Bradley-Terry fit, checked on synthetic games with known ratings."""

import math

import numpy as np
import pytest

from arena.elo import elo_from_score, expected_score, fit_bradley_terry, format_elo, records_from_games


def test_elo_from_score_known_points():
    # the Elo curve: 50% is 0, 75% is 400*log10(3) ~ 190.8, 90.9% (10:1 odds) is 400
    assert elo_from_score(50, 0, 50)[0] == pytest.approx(0.0)
    assert elo_from_score(0, 100, 0)[0] == pytest.approx(0.0)
    assert elo_from_score(75, 0, 25)[0] == pytest.approx(400 * math.log10(3))
    assert elo_from_score(100, 0, 10)[0] == pytest.approx(400.0)
    elo, lo, hi = elo_from_score(60, 20, 20)
    assert lo < elo < hi
    # symmetry: swapping wins and losses negates everything
    e2, lo2, hi2 = elo_from_score(20, 20, 60)
    assert (e2, lo2, hi2) == pytest.approx((-elo, -hi, -lo))


def test_elo_from_score_degenerate():
    elo, lo, hi = elo_from_score(20, 0, 0)
    assert elo == math.inf and math.isfinite(lo) and lo > 0 and hi == math.inf
    elo, lo, hi = elo_from_score(0, 0, 20)
    assert elo == -math.inf and math.isfinite(hi) and hi < 0
    elo, lo, hi = elo_from_score(0, 10, 0)
    assert lo < 0 < hi
    with pytest.raises(ValueError):
        elo_from_score(0, 0, 0)


def test_elo_interval_coverage():
    # 200-game matches between players 120 Elo apart (with draws): the 95% interval covers the truth ~95% of the time
    rng = np.random.default_rng(0)
    true, n, reps, covered = 120.0, 200, 400, 0
    p = expected_score(true)
    p_draw = 0.2
    p_win = p - p_draw / 2
    for _ in range(reps):
        u = rng.random(n)
        w = int(np.sum(u < p_win))
        d = int(np.sum((u >= p_win) & (u < p_win + p_draw)))
        _, lo, hi = elo_from_score(w, d, n - w - d)
        covered += lo <= true <= hi
    assert 0.91 <= covered / reps <= 0.985


def _synthetic_games(rng, ratings, first_adv, games_per_pair):
    names = list(ratings)
    records = []
    for a in names:
        for b in names:
            if a == b:
                continue
            p = expected_score(ratings[a] - ratings[b] + first_adv)
            wins = rng.random(games_per_pair) < p
            records += [(a, b, float(x)) for x in wins]
    return records


def test_bradley_terry_recovers_known_ratings():
    rng = np.random.default_rng(1)
    ratings = {"a": 0.0, "b": 150.0, "c": -200.0, "d": 400.0, "e": 60.0}
    mean = np.mean(list(ratings.values()))
    table = fit_bradley_terry(_synthetic_games(rng, ratings, 70.0, 150))
    for name, r in ratings.items():
        est, se = table.rating(name)
        assert 5 < se < 60
        assert abs(est - (r - mean)) < 3 * se, (name, est, r - mean, se)
    assert abs(table.first_move_elo - 70.0) < 3 * table.first_move_stderr
    assert table.elo.mean() == pytest.approx(0.0, abs=1e-6)
    # anchored: the anchor is at 0 with zero error, others relative to it
    anchored = fit_bradley_terry(_synthetic_games(rng, ratings, 70.0, 150), anchor="a")
    assert anchored.rating("a") == (0.0, 0.0)
    est, se = anchored.rating("d")
    assert abs(est - 400.0) < 3 * se
    assert "first-move advantage" in anchored.format()


def test_bradley_terry_standard_errors_are_calibrated():
    # over many synthetic tournaments, |estimate - truth| < 1.96 se about 95% of the time
    rng = np.random.default_rng(2)
    ratings = {"a": 0.0, "b": 100.0, "c": -100.0}
    inside, total = 0, 0
    for _ in range(100):
        table = fit_bradley_terry(_synthetic_games(rng, ratings, 30.0, 40), anchor="a")
        for name in ("b", "c"):
            est, se = table.rating(name)
            inside += abs(est - ratings[name]) < 1.96 * se
            total += 1
    assert 0.89 <= inside / total <= 0.99


def test_bradley_terry_draws_and_sweeps():
    # only draws: equal ratings and no first-move advantage
    table = fit_bradley_terry([("x", "y", 0.5)] * 20 + [("y", "x", 0.5)] * 20)
    assert table.elo == pytest.approx([0.0, 0.0], abs=1e-6)
    assert table.first_move_elo == pytest.approx(0.0, abs=1e-6)
    # one player wins everything: finite, clearly higher rating with a large error
    table = fit_bradley_terry([("x", "y", 1.0)] * 10 + [("y", "x", 0.0)] * 10, anchor="y")
    est, se = table.rating("x")
    assert math.isfinite(est) and est > 400 and se > 100
    assert records_from_games([{"players": ["p", "q"], "result": 0.5}]) == [("p", "q", 0.5)]
    with pytest.raises(ValueError):
        fit_bradley_terry([("x", "x", 1.0)])


def test_elo_figures_never_show_minus_zero():
    assert [format_elo(x) for x in (-0.3, 0.0, -0.0, 0.4, -1.6, 12.5)] == ["+0", "+0", "+0", "+0", "-2", "+12"]
    assert format_elo(-0.04, 1, sign=False) == "0.0"
