"""The Go ladder against real GNU Go (`gamelab bench ladder`), on a tiny setting: figures that add up, GNU Go's own
verdict as the oracle for who won, the JSON of the figures, and a run that repeats (GNU Go seeded by `--seed`).

GNU Go is a Debian package (`apt-get install gnugo`, installed by .ci/run); the test that plays it is skipped with
the reason where it is missing.
"""

from __future__ import annotations

import json
import math

import pytest

from arena.elo import elo_from_score
from arena.go_ladder import opponent_command, parse_opponents
from arena.ladder import main


def test_opponents():
    assert parse_opponents("0, 2,10,mc") == ["0", "2", "10", "mc"]
    assert opponent_command("5") == "gnugo --mode gtp --chinese-rules --level 5"
    assert opponent_command("mc", mc_level=1, mc_games_per_level=50) == (
        "gnugo --mode gtp --chinese-rules --monte-carlo --level 1 --mc-games-per-level 50"
    )
    assert opponent_command("mc", mc_level=1, seed=3).endswith("--monte-carlo --level 1 --seed 3")
    assert opponent_command("2", seed=0) == "gnugo --mode gtp --chinese-rules --level 2 --seed 0"
    assert opponent_command("2", seed=0, capture_all_dead=True).endswith("--level 2 --seed 0 --capture-all-dead")
    for bad in ("", "11", "-1", "mc2", "x"):
        with pytest.raises(ValueError):
            parse_opponents(bad)


def _sign(x: float | None) -> int:
    return 0 if not x else (1 if x > 0 else -1)


@pytest.mark.gnugo
def test_random_player_against_real_gnugo(tmp_path, capsys):
    out = tmp_path / "ladder.json"
    argv = ["--player", "random", "--size", "5", "--games", "2", "--opponents", "0,mc", "--mc-level", "1"]
    assert main([*argv, "--mc-games-per-level", "50", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("random (random) on Go (size=5, komi=7.5), 2 games per opponent")
    assert lines[1].startswith("gnugo level 0 ") and lines[2].startswith("gnugo monte-carlo ")
    figures = json.loads(out.read_text())
    assert figures["command"].startswith("gamelab bench ladder --player random") and figures["size"] == 5
    assert list(figures["opponents"]) == ["0", "mc"]
    for label, r in figures["opponents"].items():
        games = r["per_game"]
        assert len(games) == r["games"] == 2 and [g["ours_black"] for g in games] == [True, False]  # colours alternate
        ours = [_sign(g["our"] if g["ours_black"] else -g["our"]) for g in games]
        engine = [_sign(g["engine"] if g["ours_black"] else -g["engine"]) for g in games]
        assert (r["wins"], r["losses"], r["draws"]) == (ours.count(1), ours.count(-1), ours.count(0))
        elo = elo_from_score(r["wins"], r["draws"], r["losses"])  # an infinite Elo is null in the JSON
        assert [r["elo"], r["elo_lo95"], r["elo_hi95"]] == [x if math.isfinite(x) else None for x in elo]
        assert r["result_disagreements"] == sum(a != b for a, b in zip(ours, engine))
        # the oracle: by GNU Go's own count, a random player loses every game against it on 5x5
        assert r["engine_losses"] == 2 and r["engine_wins"] == 0, label
        assert f"W {r['wins']:3d}  L {r['losses']:3d}" in lines[1 + list(figures["opponents"]).index(label)]
        assert r["command"].endswith(" --seed 0")  # GNU Go seeded too: its Monte Carlo games repeat
    # the same seed, the same games (GNU Go's clock-seeded Monte Carlo mode played a different set on each run)
    again = tmp_path / "again.json"
    assert main([*argv, "--mc-games-per-level", "50", "--out", str(again)]) == 0
    games = {label: r["per_game"] for label, r in figures["opponents"].items()}
    assert {label: r["per_game"] for label, r in json.loads(again.read_text())["opponents"].items()} == games


@pytest.mark.gnugo
def test_capture_all_dead_makes_area_scores_agree(tmp_path, capsys):
    """With --capture-all-dead GNU Go takes the random player's dead stones off the board before it passes, so our
    all-stones-alive area score gives GNU Go's own verdict in every game (a GNU Go resignation, a pass in our games,
    can still leave a dead stone or two that do not change the winner)."""
    out = tmp_path / "ladder.json"
    argv = ["--player", "random", "--size", "5", "--games", "4", "--opponents", "0", "--capture-all-dead"]
    assert main([*argv, "--out", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["capture_all_dead"] is True and "--capture-all-dead" in figures["rules"]
    rung = figures["opponents"]["0"]
    assert rung["command"].endswith("--capture-all-dead")
    assert rung["result_disagreements"] == 0 and rung["engine_unscored"] == 0
    assert [g["our"] > 0 for g in rung["per_game"]] == [g["engine"] > 0 for g in rung["per_game"]]
