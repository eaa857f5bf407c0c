"""`gamelab train --option KEY=VALUE`: game options for training (Go's komi, superko, handicap), checked against the
game's option specs, saved in the run and its checkpoints, kept on resume (a different one is refused by name);
`--size=N` stays a short alias. A game without presets gets the ones derived from its shape."""

import json

import pytest

from agents.learner import derive_presets, load_presets
from arena import train
from core.checkpoint import load_checkpoint
from envs import get_game


def test_go_options_are_saved_and_kept_on_resume(tmp_path, capsys):
    argv = ["go", "--preset=tiny", "--dry-run", "--quiet", "--runs", str(tmp_path), "--num_games=2", "--simulations=2"]
    assert train.main([*argv, "--size=5", "--option", "komi=5.5", "--option", "superko=true"]) == 0
    (run,) = tmp_path.glob("train__go__*")
    want = {"size": 5, "komi": 5.5, "superko": True}
    assert json.loads((run / "config.json").read_text())["options"] == want
    (ckpt,) = run.glob("checkpoints/iter_*.pt")
    assert load_checkpoint(ckpt, kind="alphazero")["game"]["options"] == want
    capsys.readouterr()
    assert train.main(["go", "--resume", str(run), "--option", "komi=7.5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "komi=7.5" in err and "5.5" in err


def test_bad_options_are_named(tmp_path, capsys):
    runs = ["--runs", str(tmp_path), "--preset=tiny", "--dry-run", "--quiet"]
    for argv, needle in (
        (["go", "--option", "komi=lots"], "komi='lots'"),
        (["go", "--option", "handicap=20"], "handicap=20"),
        (["othello", "--option", "size=7"], "size=7"),
        (["go", "--option", "colour=red"], "colour"),
        (["go", "--size=9", "--option", "size=7"], "size"),
    ):
        assert train.main([*argv, *runs]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error:") and needle in err, (argv, err)
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_presets_derived_from_a_game_s_shape():
    game = get_game("go", size=19)
    presets = derive_presets(game)
    assert set(presets) == {"tiny", "cpu", "gpu"}
    assert presets["gpu"]["blocks"] > presets["cpu"]["blocks"] and presets["cpu"]["global_pool"]
    assert presets["cpu"]["dirichlet_alpha"] < derive_presets(get_game("tictactoe"))["cpu"]["dirichlet_alpha"]
    assert load_presets("tictactoe")["tiny"]["iterations"] == 6  # shipped presets win over derived ones


def test_print_config_and_help_show_the_game_options(capsys):
    with pytest.raises(SystemExit) as done:
        train.main(["go", "--preset=tiny", "--size=7", "--option", "komi=5.5", "--print-config"])
    assert done.value.code == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["game"] == "go" and shown["simulations"] > 0  # the game and its options beside the fields
    assert shown["options"] == {"size": 7, "komi": 5.5, "superko": False, "handicap": 0, "features": False}
    assert train.main(["go", "--print-config", "--option", "komi=lots"]) == 2
    assert capsys.readouterr().err.startswith("error: option komi='lots'")
    with pytest.raises(SystemExit):
        train.main(["othello", "--help"])
    text = capsys.readouterr().out
    assert "game options of othello" in text and "size INT (or --size=N)" in text and "one of 6, 8, default 8" in text
