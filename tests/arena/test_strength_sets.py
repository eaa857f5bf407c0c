"""In-loop Connect Four evaluation never depends on a folder outside the package: missing benchmark sets are
skipped with one notice, and the project's own sets stand in when none is left."""

from __future__ import annotations

from arena import strength
from arena.evaluate import OWN_SETS


def test_missing_benchmark_sets_are_skipped_once(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GAMELAB_CONNECT4_BENCH", str(tmp_path))  # an empty folder: no Pons sets here
    monkeypatch.setattr(strength, "_SKIPPED", set())
    assert strength._readable_sets(("Test_L3_R1", "Own_End")) == ("Own_End",)
    err = capsys.readouterr().err
    assert "Test_L3_R1" in err and "GAMELAB_CONNECT4_BENCH" in err
    assert strength._readable_sets(("Test_L3_R1",)) == tuple(OWN_SETS)
    assert capsys.readouterr().err == ""  # said once per run
    (tmp_path / "Test_L3_R1.scores").write_text("")
    assert strength._readable_sets(("Test_L3_R1", "Own_End")) == ("Test_L3_R1", "Own_End")
