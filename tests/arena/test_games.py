"""`gamelab games generate` and the record readers: every format read back gives the games that were played, and a
damaged record is an error naming the file and the game (or, asked to, a warning and the game is skipped)."""

from __future__ import annotations

import json

import pytest
import torch

from arena.games import iter_records
from core.cli import main
from envs import get_game


def _generate(tmp_path, game, white, black, out, *extra):
    argv = ["games", "generate", game, "--white", white, "--black", black, "--out", str(tmp_path / out), "--quiet"]
    assert main([*argv, *extra]) == 0
    return tmp_path / out


def _replay_ok(record):
    game = get_game(record["game"]["name"], **record["game"]["options"])
    state = game.init(1)
    for a in record["moves"]:
        assert bool(game.legal_mask(state)[0, a])
        state = game.step(state, torch.tensor([a]))
    done, value = game.outcome(state)
    first = float(value[0]) if int(state.player[0]) == 0 else -float(value[0])
    assert bool(done[0]) and record["result"] == (first + 1) / 2


@pytest.mark.parametrize(
    ("game", "white", "black", "ext", "extra"),
    [
        ("gardner_chess", "alphabeta:1", "random", "pgn", []),
        ("hex", "random", "random", "sgf", ["--option", "size=5"]),
    ],
)
def test_a_generated_file_reads_back_as_the_games_played(tmp_path, game, white, black, ext, extra):
    """The same seeded games written as PGN or SGF and as JSONL: the readers give the same moves and results."""
    args = ["--games", "4", "--noise", "0.3", "--seed", "3", *extra]
    text = _generate(tmp_path, game, white, black, f"g.{ext}", *args)
    plain = _generate(tmp_path, game, white, black, "g.jsonl", *args)
    read = list(iter_records(text))
    jsonl = list(iter_records(plain))
    assert [n for n, _ in read] == [1, 2, 3, 4] and len(jsonl) == 4
    for (_, a), (_, b) in zip(read, jsonl, strict=True):
        assert a["moves"] == b["moves"] and a["result"] == b["result"] and a["game"]["name"] == game
        _replay_ok(b)
    assert [r["players"][0]["name"] for _, r in jsonl] == [white] * 4  # White's spec always moves first
    assert len({tuple(r["moves"]) for _, r in jsonl}) == 4  # random openings and noise: four different games


@pytest.mark.slow
def test_games_in_two_processes(tmp_path):
    out = _generate(tmp_path, "tictactoe", "alphabeta:9", "alphabeta:9", "t.jsonl", "--games", "6", "--jobs", "2",
                    "--opening-plies", "1", "--noise", "0.5")  # fmt: skip
    records = [r for _, r in iter_records(out)]
    assert len(records) == 6 and not list(tmp_path.glob(".*part"))
    for r in records:
        _replay_ok(r)
        assert 0 <= r["noise"] <= 0.5


PGN_GAME = '[Event "x"]\n[Result "{result}"]\n\n{moves} {result}\n\n'


def test_damaged_records_name_the_file_and_the_game(tmp_path):
    pgn = tmp_path / "d.pgn"
    pgn.write_text(PGN_GAME.format(moves="1. e4 e5", result="*") + PGN_GAME.format(moves="1. e4 Ke2", result="*")
                   + PGN_GAME.format(moves="1. d4 d5 2. c4", result="1-0"))  # fmt: skip
    with pytest.raises(ValueError, match=r"d\.pgn: game 2: move 1\.\.\. Ke2"):
        list(iter_records(pgn))
    bad = []
    assert [n for n, _ in iter_records(pgn, bad.append)] == [1, 3] and "game 2" in bad[0]

    sgf = tmp_path / "d.sgf"
    sgf.write_text("(;GM[1]SZ[5];B[aa];W[bb])\n(;GM[1]SZ[x5];B[aa])\n(;GM[1]SZ[5]RE[W+R];B[cc])\n")
    with pytest.raises(ValueError, match=r"d\.sgf: game 2: .*SZ"):
        list(iter_records(sgf))
    records = [r for _, r in iter_records(sgf, bad.append)]
    assert [r["moves"] for r in records] == [[0, 6], [12]] and records[1]["result"] == 0.0

    jsonl = tmp_path / "d.jsonl"
    good = {"game": {"name": "tictactoe", "options": {}}, "moves": [4, 0], "result": None}
    jsonl.write_text(json.dumps(good) + "\n" + '{"game": {"name": "tic\n' + json.dumps(good) + "\n")
    with pytest.raises(ValueError, match=r"d\.jsonl: game 2 \(line 2\)"):
        list(iter_records(jsonl))
    assert [n for n, _ in iter_records(jsonl, bad.append)] == [1, 3]

    (tmp_path / "empty.pgn").write_text("\n")
    with pytest.raises(ValueError, match="no PGN game"):
        list(iter_records(tmp_path / "empty.pgn"))
