"""Shogi records (envs.shogi_records): KIF and CSA written here and read by cshogi's parsers, written by cshogi's
exporters and read here, random games move for move; set-up start positions (CSA P-lines, KIF board diagrams
as cshogi draws them); endings; minishogi KIF both ways; the CLI's `games generate`, `match --record` and `replay`
on .kif and .csa files; bad records as errors naming the file, the game and the move."""

from __future__ import annotations

import datetime as dt

import pytest
import torch

import envs
from arena.games import iter_records
from core.cli import main
from envs.shogi_records import _decode, read_records, write_record

MATE_IN_ONE = "4k4/9/4P4/9/9/9/9/9/4K4 b G 1"  # G*5b mates


def _cshogi():
    return pytest.importorskip("cshogi", reason="cshogi (the record oracle, a test dependency) is not installed")


def _random_game(game, plies: int, seed: int, start: str | None = None) -> tuple[list[int], list[str], object]:
    """(actions, USI texts, final state) of a random game of at most `plies` plies."""
    gen = torch.Generator().manual_seed(seed)
    state = game.from_sfen(start) if start else game.init(1)
    actions, usis = [], []
    while not bool(state.done[0]) and len(actions) < plies:
        a = int(torch.multinomial(state.legal[0].float(), 1, generator=gen))
        usis.append(game.move_to_usi(state, 0, a))
        actions.append(a)
        state = game.step(state, torch.tensor([a]))
    return actions, usis, state


def _record(game, moves, result=None, start=None, **extra) -> dict:
    rec = {"game": {"name": game.name, "options": dict(game.options)}, "players": ["sente one", "gote two"]}
    rec.update(moves=moves, result=result, time="2026-01-02T03:04:05Z", **extra)
    if start:
        rec["start"] = start
    return rec


def _push_all(cshogi, sfen: str, moves: list[int]) -> list[str]:
    board = cshogi.Board(sfen)
    out = []
    for m in moves:
        out.append(cshogi.move_to_usi(m))
        assert board.is_legal(m)
        board.push(m)
    return out


def test_random_games_both_ways_through_cshogi(seed=1):
    cshogi = _cshogi()
    csa_io, kif_io = pytest.importorskip("cshogi.CSA"), pytest.importorskip("cshogi.KIF")

    game = envs.get_game("shogi")
    actions, usis, final = _random_game(game, 24, seed)
    rec = _record(game, actions)
    kif, csa = write_record(game, "kif", rec), write_record(game, "csa", rec)
    kif.encode("cp932")  # a .kif file is Shift_JIS
    parsed = kif_io.Parser.parse_str(kif)
    assert parsed.names == ["sente one", "gote two"] and parsed.endgame == "%CHUDAN"
    assert _push_all(cshogi, cshogi.STARTING_SFEN, parsed.moves) == usis
    (pcsa,) = csa_io.Parser.parse_str(csa)
    assert pcsa.sfen == cshogi.STARTING_SFEN and pcsa.names == ["sente one", "gote two"]
    assert _push_all(cshogi, pcsa.sfen, pcsa.moves) == usis
    assert _decode(kif.encode("utf-8"), "x.kif") == _decode(kif.encode("cp932"), "x.kif") == kif
    for fmt, data in (("kif", kif.encode("cp932")), ("csa", csa.encode())):
        (back,) = read_records(fmt, data, f"x.{fmt}")
        assert back["moves"] == actions and back["players"] == ["sente one", "gote two"]
        assert back["result"] is None and back["reason"] == "unfinished" and "start" not in back
    # cshogi's own exporters, read here
    board = cshogi.Board()
    kif_path, csa_path = f"/tmp/shogi_records_{seed}.kif", f"/tmp/shogi_records_{seed}.csa"
    kx, cx = kif_io.Exporter(kif_path), csa_io.Exporter(csa_path, encoding="utf-8")
    kx.header(["a", "b"], dt.datetime(2026, 1, 1))
    cx.info(board, ["a", "b"])
    for usi in usis:
        m = board.move_from_usi(usi)
        kx.move(m)
        cx.move(m)
        board.push(m)
    kx.end("resign")
    cx.endgame("%TORYO")
    kx.close()
    cx.close()
    for fmt, path in (("kif", kif_path), ("csa", csa_path)):
        (back,) = read_records(fmt, open(path, "rb").read(), path)
        assert back["moves"] == actions, fmt
        loser = len(actions) % 2  # the side to move resigned
        assert back["reason"] == "resignation" and back["winner"] == 1 - loser, fmt
        assert back["players"] == ["a", "b"]


def test_set_up_start_positions_and_the_end():
    cshogi = _cshogi()
    csa_io, kif_io = pytest.importorskip("cshogi.CSA"), pytest.importorskip("cshogi.KIF")

    game = envs.get_game("shogi")
    state = game.from_sfen(MATE_IN_ONE)
    mate = game.usi_to_action(state, 0, "G*5b")
    rec = _record(game, [mate], result=1.0, start=MATE_IN_ONE)
    csa, kif = write_record(game, "csa", rec), write_record(game, "kif", rec)
    (pcsa,) = csa_io.Parser.parse_str(csa)
    assert pcsa.sfen == MATE_IN_ONE and pcsa.endgame == "%TSUMI"
    assert [cshogi.move_to_usi(m) for m in pcsa.moves] == ["G*5b"]
    assert "詰み" in kif and "まで1手で先手の勝ち" in kif
    for fmt, text in (("csa", csa), ("kif", kif)):
        (back,) = read_records(fmt, text.encode(), f"x.{fmt}")
        assert back["start"] == MATE_IN_ONE and back["moves"] == [mate]
        assert back["winner"] == 0 and back["termination"] == "checkmate"
    # board diagrams as cshogi draws them (KIF with a set-up position), gote to move, hands of many kinds
    for sfen in ("l6nl/5+P1gk/2np1S3/p1p4Pp/3P2Sp1/1PPb2P1P/P5GS1/R8/LN4bKL w RGgsn5p 1", MATE_IN_ONE):
        bod = kif_io.board_to_bod(cshogi.Board(sfen))
        text = "手数----指手---------消費時間--\n".join([bod + "\n", "まで0手で中断\n"])
        (back,) = read_records("kif", text.encode("cp932"), "bod.kif")
        assert back["start"] == sfen and back["moves"] == []
        assert write_record(game, "kif", _record(game, [], start=sfen)).count("|") == 18


def test_minishogi_kif_both_ways_and_a_finished_game():
    game = envs.get_game("minishogi")
    actions, usis, final = _random_game(game, 400, 8)  # a checkmate after 14 plies
    assert bool(final.done[0])
    kif = write_record(game, "kif", _record(game, actions))
    assert "手合割：５五将棋" in kif
    (back,) = read_records("kif", kif.encode("cp932"), "m.kif")
    assert back["game"]["name"] == "minishogi" and back["moves"] == actions
    assert back["termination"] == game.termination(final)[0]
    assert back["winner"] == (None if int(final.winner[0]) < 0 else int(final.winner[0]))
    with pytest.raises(ValueError, match="CSA"):
        write_record(game, "csa", _record(game, actions))
    start = "rbsgk/5/4p/P4/KGSBR w S 3"
    kif = write_record(game, "kif", _record(game, [], start=start))
    (back,) = read_records("kif", kif.encode("cp932"), "m.kif")
    assert back["start"] == "rbsgk/5/4p/P4/KGSBR w S 1"  # a KIF diagram has no move number


BAD = [
    ("kif", "手合割：平手\n   1 ７五歩(77)\n", "bad.kif: game 1: move 1 (1 ７五歩(77)) is illegal in this position"),
    ("kif", "手合割：平手\n   1 ７六飛(77)\n", "bad.kif: game 1: move 1 (1 ７六飛(77)): no such piece"),
    ("kif", "手合割：香落ち\n", "handicap '香落ち' is not supported"),
    ("kif", "hello\n", "bad.kif: game 1: no KIF moves"),
    ("kif", "手合割：平手\n   1 投了\n   2 ７六歩(77)\n", "move 1 (2 ７六歩(77)) comes after the end of the game"),
    ("csa", "V2.2\nPI\n+\n+7776FU\n+3334FU\n", "bad.csa: game 1: move 2 (+3334FU): not the side to move"),
    ("csa", "V2.2\nPI\n+\n+7776XX\n", "bad.csa: game 1: move 1 (+7776XX): not a CSA move"),
    ("csa", "V2.2\nPI\n+\n+7776FU\n/\nPI\n+\n+2824HI\n", "bad.csa: game 2: move 1 (+2824HI) is illegal"),
    ("csa", "V2.2\nP1 *\n+\n", "bad.csa: game 1: CSA board of 1 lines"),
    ("csa", "\x00\x01", "bad.csa: binary data"),
    ("csa", "V2.2\nPI\n+\n%BANANA\n", "unknown CSA ending '%BANANA'"),
]


@pytest.mark.parametrize("fmt, text, message", BAD)
def test_bad_records_are_errors_naming_file_game_and_move(fmt, text, message):
    with pytest.raises(ValueError) as err:
        read_records(fmt, text.encode("utf-8"), f"bad.{fmt}")
    assert message in str(err.value)


def test_cli_generate_match_and_replay_with_kif_and_csa(tmp_path, capsys):
    _cshogi()
    csa_io, kif_io = pytest.importorskip("cshogi.CSA"), pytest.importorskip("cshogi.KIF")

    kif, csa = tmp_path / "g.kif", tmp_path / "m.csa"
    args = ["--white", "random", "--black", "random", "--games", "2", "--quiet", "--option", "max_moves=12"]
    assert main(["games", "generate", "shogi", *args, "--out", str(kif)]) == 0
    assert kif_io.Parser.parse_file(str(kif)).names == ["random", "random"]  # the first game, Shift_JIS
    games = list(iter_records(kif))
    assert [n for n, _ in games] == [1, 2] and all(len(r["moves"]) == 12 and r["result"] == 0.5 for _, r in games)
    assert games[0][1]["game"]["options"] == {"max_moves": 12}
    match = ["match", "shogi", "random", "random", "--games", "2", "--quiet", "--option", "max_moves=10"]
    assert main([*match, "--record", str(csa)]) == 0
    assert main([*match, "--record", str(csa), "--seed", "3"]) == 0  # appended after a "/" line
    parsed = csa_io.Parser.parse_file(str(csa))
    assert len(parsed) == 4 and all(len(p.moves) == 10 and p.endgame == "%MAX_MOVES" for p in parsed)
    capsys.readouterr()
    assert main(["replay", str(csa), "--list"]) == 0
    assert capsys.readouterr().out.count("shogi           10 moves  result 0.5") == 4
    shot = tmp_path / "end.png"
    assert main(["replay", str(kif), "--index", "0", "--screenshot", str(shot)]) == 0
    assert shot.stat().st_size > 1000
    assert main(["match", "minishogi", "random", "random", "--record", str(tmp_path / "x.csa")]) == 2
    assert "minishogi games cannot be written as CSA" in capsys.readouterr().err


@pytest.mark.slow
def test_many_random_games_through_cshogi():
    cshogi = _cshogi()
    csa_io, kif_io = pytest.importorskip("cshogi.CSA"), pytest.importorskip("cshogi.KIF")

    game = envs.get_game("shogi")
    for seed in range(20):
        actions, usis, final = _random_game(game, 300, 100 + seed)
        rec = _record(game, actions, result=None)
        kif, csa = write_record(game, "kif", rec), write_record(game, "csa", rec)
        assert _push_all(cshogi, cshogi.STARTING_SFEN, kif_io.Parser.parse_str(kif).moves) == usis
        assert _push_all(cshogi, cshogi.STARTING_SFEN, csa_io.Parser.parse_str(csa)[0].moves) == usis
        for fmt, text in (("kif", kif), ("csa", csa)):
            (back,) = read_records(fmt, text.encode("cp932"), f"x.{fmt}")
            assert back["moves"] == actions
            assert back.get("termination", "") == game.termination(final)[0] or not bool(final.done[0])
