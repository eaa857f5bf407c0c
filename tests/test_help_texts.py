"""Help texts say what the commands take: player specs, positional images, presets, example files that ship."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _help(capsys, *argv: str) -> str:
    try:
        code = main([*argv, "--help"])
    except SystemExit as done:
        code = done.code
    assert code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", ["match", "tournament"])
def test_player_specs_name_engines_and_the_solver(capsys, command):
    text = " ".join(_help(capsys, command).split())
    assert all(spec in text for spec in ("gtp:COMMAND", "uci:COMMAND", "solver", "alphabeta:K", "bundled"))


@pytest.mark.parametrize(
    "argv, usage",
    [
        (["style", "transfer"], "CONTENT STYLE [-o OUT]"),
        (["style", "texture"], "STYLE [-o OUT]"),
        (["dream"], "IMAGE [-o OUT]"),
        (["style", "train"], "STYLE [--data builtin|DIR] [--preset NAME]"),
    ],
)
def test_image_commands_show_their_arguments(capsys, argv, usage):
    text = _help(capsys, *argv)
    assert usage in text.splitlines()[0]
    if argv == ["style", "train"]:
        assert "named preset: tiny" in " ".join(text.split())


def test_replay_help_example_ships(capsys):
    files = re.findall(r"gamelab replay (replays/\S+)", _help(capsys, "replay"))
    assert files and all((ROOT / f).is_file() for f in files)


def test_gtp_note_names_the_think_time():
    from agents.gtp import _player_maker
    from envs.go import Go

    _, note = _player_maker(None, 10**6, 0, "1 s a move")(Go(size=6))
    assert note is not None and "1 s a move" in note and "1000000" not in note
