"""The project's own Connect Four positions: the shipped file agrees with the solver, and regenerating works."""

from __future__ import annotations

import os

import pytest

from agents import connect4_solver as c4s
from arena import connect4_positions as cp

needs_solver = pytest.mark.skipif(
    not c4s.available() and not os.environ.get("CI"),
    reason="the solver's C extension is not built (pip install -e . or python setup.py build_ext --inplace)",
)


@needs_solver
@pytest.mark.parametrize("name,count", [("Own_End", 40), ("Own_Middle", 20), ("Own_Begin", 3)])
def test_shipped_scores_agree_with_the_solver(name, count):
    rows = cp.load_own_set(name)
    for moves, scores in rows[:count]:
        assert c4s.analyze(moves) == scores, moves


@needs_solver
@pytest.mark.slow
def test_every_shipped_score_agrees_with_the_solver():
    for rows in cp.own_sets().values():
        for moves, scores in rows:
            assert c4s.analyze(moves) == scores, moves


def test_shipped_positions_are_distinct_and_live():
    seen = set()
    for rows in cp.own_sets().values():
        for moves, scores in rows:
            c4s.position_from_moves(moves)  # raises if a move follows four in a row or overfills a column
            key = min(cp._board_key(moves), cp._board_key("".join(str(8 - int(ch)) for ch in moves)))
            assert key not in seen
            seen.add(key)
            assert any(s is not None for s in scores)


@needs_solver
def test_regenerate_small_file(tmp_path):
    path = tmp_path / "p.txt"
    assert cp.main(["--per-set", "3", "--seed", "5", "--max-nodes", "200000", "--out", str(path)]) == 0
    sets = cp.own_sets(path)
    assert list(sets) == list(cp.OWN_SETS) and all(len(rows) == 3 for rows in sets.values())
    assert "python -m arena.connect4_positions --per-set 3 --seed 5" in path.read_text()
    moves, scores = sets["Own_End"][0]
    assert c4s.analyze(moves) == scores


def test_unknown_set_names_the_sets():
    with pytest.raises(KeyError, match="Own_End"):
        cp.load_own_set("Own_Nope")


def test_without_the_solver_extension_the_generator_says_so_in_one_line(monkeypatch, capsys, tmp_path):
    def unbuilt(*args, **kwargs):
        raise c4s.SolverUnavailableError("the connect four solver's C extension is not built: build it")

    monkeypatch.setattr(c4s, "analyze", unbuilt)
    assert cp.main(["--per-set", "1", "--out", str(tmp_path / "p.txt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "not built" in err[0], err
    assert not (tmp_path / "p.txt").exists()


@needs_solver
def test_positions_from_other_players(tmp_path, capsys):
    path = tmp_path / "q.txt"
    argv = ["--per-set", "2", "--seed", "4", "--max-nodes", "100000", "--out", str(path)]
    assert cp.main([*argv, "--players", "random", "alphabeta:2"]) == 0
    sets = cp.own_sets(path)
    assert all(len(rows) == 2 for rows in sets.values())
    assert "--players random alphabeta:2" in path.read_text()
    for name, rows in sets.items():
        lo, hi = cp.STAGES[name]
        for moves, scores in rows:
            assert lo <= len(moves) <= hi
            assert c4s.analyze(moves) == scores
    bad = tmp_path / "bad.txt"
    assert cp.main([*argv[:-1], str(bad), "--players", "nosuchplayer:3"]) == 2
    assert "error:" in capsys.readouterr().err and not bad.exists()
