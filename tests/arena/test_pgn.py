"""PGN both ways (arena.pgn), checked against python-chess: a game recorded by the viewer goes to PGN, python-chess
reads the same moves, players and result, and `gamelab replay` loads it back to the same game; PGN that python-chess
writes (comments, variations, NAGs, several games) reads to python-chess's main line; bad files are one error."""

from __future__ import annotations

import io
import random

import pygame
import pytest
import torch

from arena.pgn import read_pgn, to_pgn
from arena.records import append_records, load_replays, make_record
from arena.viewer.controller import Viewer
from arena.viewer.recording import load_session
from arena.viewer.replay import main as replay_main
from envs import get_game
from envs.chess_san import legal_uci, parse_san

chess = pytest.importorskip("chess")
pytest.importorskip("chess.pgn")

SCHOLAR = "e4 e5 Bc4 Nc6 Qh5 Nf6 Qxf7#".split()


def _viewer_game(tmp_path, sans=None, resign=False, seed=0, plies=60):
    """A game played in the viewer (SAN moves, or random ones) and recorded to tmp_path; returns its record."""
    pygame.font.init()
    viewer = Viewer("chess", seats=("human", "human"), record_dir=tmp_path)
    rng = random.Random(seed)
    for n in range(len(sans) if sans else plies):
        legal = legal_uci(viewer.game, viewer.session.state)
        if not legal:
            break
        action = parse_san(viewer.game, viewer.session.state, sans[n]) if sans else legal[rng.choice(sorted(legal))]
        viewer.try_move(action)
    if resign:
        viewer.resign()
    viewer.close()
    return load_replays(next(tmp_path.glob("chess*.jsonl")))[-1]


def _python_chess_uci(pgn_text):
    game = chess.pgn.read_game(io.StringIO(pgn_text))
    assert not game.errors, game.errors
    return game, [m.uci() for m in game.mainline_moves()]


def _our_uci(record):
    game = get_game("chess", **record["game"]["options"])
    state, out = game.init(1), []
    for a in record["moves"]:
        out.append(game.move_to_uci(state, 0, a))
        state = game.step(state, torch.tensor([a]))
    return out


@pytest.mark.parametrize("kind", ["checkmate", "resignation", "unfinished"])
def test_recorded_game_round_trips_through_pgn(tmp_path, kind):
    record = _viewer_game(
        tmp_path, sans=SCHOLAR if kind == "checkmate" else None, resign=kind == "resignation", seed=len(kind)
    )
    pgn_path = tmp_path / "game.pgn"
    assert replay_main([str(next(tmp_path.glob("chess*.jsonl"))), "--pgn", str(pgn_path)]) == 0
    text = pgn_path.read_text()
    game, moves = _python_chess_uci(text)
    assert moves == _our_uci(record)
    assert game.headers["White"] == game.headers["Black"] == "human"
    expected = {"checkmate": "1-0", "resignation": "0-1" if len(moves) % 2 == 0 else "1-0", "unfinished": "*"}[kind]
    assert game.headers["Result"] == expected
    board = game.end().board()
    assert board.is_checkmate() == (kind == "checkmate")
    # and back: the PGN file opens in the viewer as the same game with the same result
    back = read_pgn(text)[0]
    assert back["moves"] == record["moves"] and back["result"] == record["result"]
    session = load_session(pgn_path)
    session.jump(len(session.states) - 1)
    assert session.actions == record["moves"]
    assert session.players == ["human", "human"]
    assert session.result()["score"] == record["result"]
    if kind == "checkmate":
        assert "{checkmate} 1-0" in text and session.result()["termination"] == "checkmate"
    if kind == "resignation":
        assert session.resigned is not None and "resigns}" in text


def test_pgn_written_by_python_chess_reads_to_its_main_line(tmp_path):
    texts = []
    rng = random.Random(5)
    expected = []
    for g in range(2):
        board, node = chess.Board(), chess.pgn.Game()
        node.headers["White"], node.headers["Black"] = f"white {g}", f"black {g}"
        for ply in range(30 + 11 * g):
            move = rng.choice(sorted(board.legal_moves, key=lambda m: m.uci()))
            if ply == 4:  # a side line that must be skipped
                alternative = next(m for m in board.legal_moves if m != move)
                node.add_variation(alternative).comment = "a side line"
            node = node.add_main_variation(move, comment="a comment; with a semicolon" if ply == 7 else "")
            if ply == 9:
                node.nags.add(chess.pgn.NAG_GOOD_MOVE)
            board.push(move)
        node.game().headers["Result"] = "1/2-1/2"
        texts.append(str(node.game()))
        expected.append([m.uci() for m in board.move_stack])
    path = tmp_path / "two.pgn"
    path.write_text("\n\n".join(texts) + "\n")
    for index in (0, 1):
        session = load_session(path, index)
        session.jump(len(session.states) - 1)
        assert _our_uci({"game": {"options": {}}, "moves": session.actions}) == expected[index]
        assert session.players == [f"white {index}", f"black {index}"]
    records = read_pgn(path.read_text())
    assert [r["result"] for r in records] == [0.5, 0.5]


def test_every_termination_round_trips(tmp_path):
    stalemate = "e3 a5 Qh5 Ra6 Qxa5 h5 h4 Rah6 Qxc7 f6 Qxd7+ Kf7 Qxb7 Qd3 Qxb8 Qh7 Qxc8 Kg6 Qe6".split()
    record = _viewer_game(tmp_path, sans=stalemate)
    assert record["termination"] == "stalemate" and record["result"] == 0.5
    record["players"][1]["name"] = 'Bob "the rook" Smith'
    text = to_pgn(record)
    assert '[Result "1/2-1/2"]' in text and "{stalemate}" in text
    game, _ = _python_chess_uci(text)
    # the standard escapes a quote in a tag (\"); python-chess keeps the backslash where it reads one
    assert game.end().board().is_stalemate() and game.headers["Black"] == 'Bob \\"the rook\\" Smith'
    assert game.headers["White"] == "human" and game.headers["Termination"] == "normal"
    assert read_pgn(text)[0]["termination"] == "stalemate"
    assert read_pgn(text)[0]["players"][1]["name"] == 'Bob "the rook" Smith'
    unescaped = text.replace('\\"', '"')  # as python-chess writes such a name
    assert read_pgn(unescaped)[0]["players"][1]["name"] == 'Bob "the rook" Smith'


@pytest.mark.parametrize(
    "text,named",
    [
        ('[Event "x"]\n\n1. e4 e5 2. Ke3 *\n', "move 2. Ke3"),
        ('[Variant "Crazyhouse"]\n\n1. e4 *\n', "Crazyhouse"),
        ('[FEN "8/8/8/4k3/8/8/3K4/8 w - - 0 1"]\n[SetUp "1"]\n\n1. Kd3 *\n', "set-up position"),
        ("", "no PGN game"),
    ],
    ids=["illegal", "variant", "setup", "empty"],
)
def test_bad_pgn_is_one_error_line(tmp_path, capsys, text, named):
    path = tmp_path / "bad.pgn"
    path.write_text(text)
    assert replay_main([str(path), "--list"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and named in err[0] and str(path) in err[0], err


def test_pgn_export_of_another_game_is_refused(tmp_path, capsys):
    game = get_game("connect_four")
    path = append_records(tmp_path / "c4.jsonl", [make_record(game, [3, 3], None, ["a", "b"])])
    assert replay_main([str(path), "--pgn", str(tmp_path / "x.pgn")]) == 2
    assert "chess" in capsys.readouterr().err


def test_the_shipped_example_pgn_is_the_game_played_under_xvfb():
    from pathlib import Path

    path = Path(__file__).parents[2] / "replays" / "examples" / "chess.pgn"
    session = load_session(path)
    session.jump(len(session.states) - 1)
    assert session.over and session.winner == 0 and session.result()["termination"] == "checkmate"
    assert len(session.actions) == 45 and session.players[1] == "uci:stockfish:nodes=300"
    _, moves = _python_chess_uci(path.read_text())
    assert moves == _our_uci({"game": {"options": {}}, "moves": session.actions})


def test_gardner_games_round_trip_through_pgn_with_a_variant_tag(tmp_path):
    game = get_game("gardner_chess")
    rng = random.Random(2)
    state, moves = game.init(1), []
    while not bool(state.done[0]):
        legal = legal_uci(game, state)
        moves.append(legal[rng.choice(sorted(legal))])
        state = game.step(state, torch.tensor([moves[-1]]))
    result = {0: 1.0, 1: 0.0}.get(int(state.winner[0]), 0.5)
    record = make_record(game, moves, result, ["alphabeta:2", "human"], termination=game.termination(state)[0])
    path = append_records(tmp_path / "g.jsonl", [record])
    pgn = tmp_path / "g.pgn"
    assert replay_main([str(path), "--pgn", str(pgn)]) == 0
    text = pgn.read_text()
    assert '[Variant "gardner"]' in text and '[FEN "rnbqk/ppppp/5/PPPPP/RNBQK w - - 0 1"]' in text
    back = read_pgn(text)[0]
    assert back["game"]["name"] == "gardner_chess" and back["moves"] == moves and back["result"] == result
    session = load_session(pgn)
    session.jump(len(moves))
    assert session.over and session.result()["termination"] == game.termination(state)[0]
    with pytest.raises(ValueError, match="set-up position"):
        read_pgn(text.replace("rnbqk/ppppp/5/PPPPP/RNBQK", "rnbqk/ppppp/5/PPPP1/RNBQK"))
