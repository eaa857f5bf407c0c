"""The relapse check on synthetic runs: metrics.jsonl and config.json written as `gamelab train` writes them."""

import json
import math

import pytest

from arena import relapse

SETS = ("Test_L3_R1", "Test_L2_R1", "Test_L2_R2")


def _write_run(root, rates_by_iteration, last_iteration=None, limit=400):
    run = root / "train__connect_four__0__20260101-000000"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"eval_bench_sets": ",".join(SETS), "eval_bench_limit": limit}))
    last = last_iteration or max(rates_by_iteration)
    lines = []
    for it in range(1, last + 1):
        rec = {"iteration": it, "loss": 1.0}
        if it in rates_by_iteration:
            p = rates_by_iteration[it]
            rec.update({f"mistake_rate_{s}": p for s in SETS}, mistake_rate=p)
        lines.append(json.dumps(rec))
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    return run


def test_standard_error_of_an_evaluation(tmp_path):
    run = _write_run(tmp_path, {2: 0.10, 4: 0.09})
    evals, last = relapse.run_evaluations(run)
    assert last == 4
    # three sets of 400 at 10%: the mean's standard error is sqrt(3 * 0.1 * 0.9 / 400) / 3 = sqrt(0.09 / 1200)
    assert evals[0].se == pytest.approx(math.sqrt(0.09 / 1200))
    assert [e.iteration for e in evals] == [2, 4]


def test_improving_and_noisy_curves_pass(tmp_path):
    # ups and downs within two standard errors (about 0.87 points at 10%) are noise, not relapses
    rates = {2: 0.14, 4: 0.12, 6: 0.10, 8: 0.105, 10: 0.095, 12: 0.10, 14: 0.09, 16: 0.095}
    res = relapse.check_run(_write_run(tmp_path, rates))
    assert res["relapse"] is False and res["worst"] is None and res["evaluations"] == 8


def test_late_relapse_is_found(tmp_path):
    rates = {2: 0.14, 4: 0.10, 6: 0.07, 8: 0.08, 10: 0.095, 12: 0.09}
    _write_run(tmp_path, rates)
    res = relapse.check_run(tmp_path, 2.0)  # the folder holding the run is accepted too
    assert res["relapse"] is True
    worst = res["worst"]
    assert (worst["earlier"]["iteration"], worst["later"]["iteration"]) == (6, 10)
    se = math.sqrt(3 * 0.095 * 0.905 / 400) / 3
    assert worst["sigmas"] == pytest.approx(0.025 / se)


def test_swings_in_the_first_quarter_do_not_count(tmp_path):
    # iteration 4 is worse than iteration 2 by far, but lies in the first quarter of a 20-iteration run
    rates = {2: 0.10, 4: 0.16, 10: 0.09, 20: 0.085}
    assert relapse.check_run(_write_run(tmp_path, rates))["relapse"] is False
    evals, _ = relapse.run_evaluations(tmp_path / "train__connect_four__0__20260101-000000")
    assert relapse.find_relapses(evals, last_iteration=12)  # a 12-iteration run: iteration 4 is past its quarter


def test_cli_prints_one_line_per_run_and_fails_cleanly(tmp_path, capsys):
    run = _write_run(tmp_path, {2: 0.10, 4: 0.07, 6: 0.11})
    assert relapse.main([str(run)]) == 0
    out = capsys.readouterr().out
    assert "RELAPSE" in out and "iteration 6 11.0%" in out and "iteration 4 7.0%" in out
    assert relapse.main([str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
