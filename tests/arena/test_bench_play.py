"""`gamelab bench play` runs in-process with tiny budgets: one row per K, speedups against the first K, and bad
input answered with one error line and status 2."""

from __future__ import annotations

import json

import pytest

from agents.host_tree import native_walk_available
from arena.bench import play as bench_play
from core import cli


def test_bench_play_prints_one_row_per_leaf_batch(capsys):
    rc = cli.main(["bench", "play", "--sims", "4", "--leaf-batches", "1,4", "--seconds", "0.01", "--positions", "0"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "search/net" in out and "mistake rates: Connect Four only" in out
    rc = bench_play.main(["--sims", "4", "--leaf-batches", "1,4", "--seconds", "0.01", "--positions", "0", "--json"])
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert rc == 0 and [r["leaf_batch"] for r in rows] == [1, 4]
    assert rows[0]["speedup_over_first"] == 1.0 and all(r["sims_per_s"] > 0 for r in rows)


def test_bench_play_rejects_bad_input(capsys, tmp_path):
    with pytest.raises(SystemExit) as stop:
        bench_play.main(["--sims", "0"])
    assert stop.value.code == 2 and capsys.readouterr().err.startswith("error: --sims")
    assert bench_play.main(["--checkpoint", str(tmp_path / "missing.pt")]) == 2
    assert "missing.pt" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench_play.main(["--leaf-batches", "0,2"])


def test_bench_agent_times_both_ways_with_the_same_answers(capsys):
    rc = cli.main(["bench", "agent", "--positions", "12", "--sims", "8", "--json"])
    r = json.loads(capsys.readouterr().out)
    assert rc == 0 and r["positions"] == 12
    assert r["same_answers"] == 12  # a deterministic search answers the same either way
    assert r["one_at_a_time_s"] > 0 and r["at_once_s"] > 0


def test_bench_play_compares_the_walks_in_one_run(capsys):
    walks = "python,native" if native_walk_available() else "python"
    argv = ["--sims", "4", "--leaf-batches", "1,4", "--seconds", "0.01", "--positions", "0", "--walks", walks]
    assert bench_play.main(argv) == 0
    out = capsys.readouterr().out
    assert "load " in out.splitlines()[0]
    assert bench_play.main([*argv, "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    want = walks.split(",")
    assert [(row["walk"], row["leaf_batch"]) for row in r["rows"]] == [(w, k) for w in want for k in (1, 4)]
    assert all(row["speedup_over_first"] == 1.0 for row in r["rows"] if row["leaf_batch"] == 1)
    assert bench_play.main(["--walks", "fast", "--sims", "4", "--seconds", "0.01", "--positions", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown walk 'fast'")
