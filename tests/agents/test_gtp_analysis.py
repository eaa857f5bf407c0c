"""Live analysis over GTP (lz-analyze, kata-analyze, the genmove forms), read line by line as Sabaki and Lizzie read
it. The reader below follows the published format (KataGo's docs/GTP_Extensions.md, Leela Zero's lz-analyze): a
line is a run of `info` records of key-value pairs, `pv` takes the vertices up to the next `info` (or `ownership`),
and `ownership` takes size * size values in [-1, 1], row by row from the top left; lz-analyze's winrate, prior and
lcb are integers out of 10000, kata-analyze's fractions in [0, 1]."""

from __future__ import annotations

import time

import pytest
import torch
from test_gtp import Engine

from agents.gtp import GtpEngine, _player_maker
from agents.gtp_coords import parse_vertex


def read_analysis(line: str, size: int, *, kata: bool) -> tuple[list[dict], list[float] | None]:
    """The move records and the ownership values of one report line (AssertionError where the format is off)."""
    words = line.split()
    assert words and words[0] == "info", line[:80]
    moves, ownership, i = [], None, 0
    while i < len(words):
        if words[i] == "ownership":
            ownership = [float(x) for x in words[i + 1 :]]
            assert len(ownership) == size * size and all(-1 <= x <= 1 for x in ownership)
            break
        assert words[i] == "info"
        record, i = {}, i + 1
        while i < len(words) and words[i] not in ("info", "ownership"):
            key = words[i]
            if key == "pv":
                j = i + 1
                while j < len(words) and words[j] not in ("info", "ownership"):
                    j += 1
                record["pv"] = words[i + 1 : j]
                i = j
            else:
                record[key] = words[i + 1]
                i += 2
        for key in ("move", "visits", "winrate", "prior", "lcb", "order", "pv"):
            assert key in record, (key, record)
        parse_vertex(record["move"], size)
        for vertex in record["pv"]:
            parse_vertex(vertex, size)
        assert record["pv"][0] == record["move"]
        assert int(record["visits"]) >= 0 and int(record["order"]) == len(moves)
        for key in ("winrate", "prior", "lcb"):
            if kata:
                assert 0.0 <= float(record[key]) <= 1.0
            else:
                assert record[key].isdigit() and 0 <= int(record[key]) <= 10000
        moves.append(record)
    return moves, ownership


def make_engine(size: int, sims: int = 32) -> tuple[GtpEngine, list[str]]:
    out: list[str] = []
    engine = GtpEngine(_player_maker(None, sims, 0), size=size, sims=sims)
    engine.emit = out.append
    return engine, out


def stop_after(out: list[str], reports: int):
    """input_waiting for an engine: true once `reports` report lines have been written."""
    return lambda: sum(1 for x in out if x.startswith("info")) >= reports


@pytest.mark.parametrize(
    "size", [5, 7, pytest.param(9, marks=pytest.mark.slow), pytest.param(19, marks=pytest.mark.slow)]
)
def test_lz_and_kata_analyze_report_lines_at_every_size(size):
    engine, out = make_engine(size)
    engine.input_waiting = stop_after(out, 2)
    for text in ("play b c3", "play w d4"):
        assert engine.execute(text) == "=\n\n"
    rest = engine.execute("5 lz-analyze 1")
    assert out[0] == "=5\n" and rest == "\n"
    reports = out[1:]
    assert len(reports) == 2 and all(x.endswith("\n") and x.count("\n") == 1 for x in reports)
    first, _ = read_analysis(reports[0], size, kata=False)
    last, own = read_analysis(reports[-1], size, kata=False)
    assert own is None
    visits = [int(m["visits"]) for m in last]
    assert visits == sorted(visits, reverse=True) and sum(visits) > sum(int(m["visits"]) for m in first)
    occupied = {parse_vertex("C3", size), parse_vertex("D4", size)}
    assert not occupied & {parse_vertex(m["move"], size) for m in last}  # candidates are legal moves
    out.clear()
    engine.input_waiting = stop_after(out, 1)
    assert engine.execute("kata-analyze W interval 1 ownership true minmoves 3") == "\n"
    moves, own = read_analysis(out[1], size, kata=True)
    assert len(moves) >= 3 and own is not None
    for point in occupied:  # the stones' points: +1 owned by white (to move, D4) or -1 (black's C3), or between
        assert -1 <= own[point] <= 1


def test_ownership_of_a_settled_board_is_exact():
    """Black fills a 5x5 board but two eyes: white, to move, has only the pass; every point is black's."""
    engine, out = make_engine(5, sims=16)
    points = [f"{c}{r}" for c in "ABCDE" for r in range(1, 6) if f"{c}{r}" not in ("A1", "E5")]
    for p in points:
        assert engine.execute(f"play b {p}") == "=\n\n"
    engine.input_waiting = stop_after(out, 4)  # 32 simulations: the search has seen that black passes too
    engine.execute("kata-analyze w 1 ownership true")
    moves, own = read_analysis(out[-1], 5, kata=True)
    assert own == [-1.0] * 25  # from white's view, all black's
    assert [m["move"] for m in moves] == ["pass"]
    out.clear()
    engine.execute("kata-analyze b 1 ownership true")
    _, own = read_analysis(out[-1], 5, kata=True)
    assert own == [1.0] * 25


def test_genmove_analyze_plays_the_move_after_its_reports():
    engine, out = make_engine(7, sims=24)
    rest = engine.execute("3 kata-genmove_analyze b 1")
    assert out[0] == "=3\n" and rest.startswith("play ") and rest.endswith("\n\n")
    vertex = rest.split()[1]
    assert engine.execute(f"play w {vertex}").startswith("? ")  # the point is taken now
    for line in out[1:]:
        read_analysis(line, 7, kata=True)
    out.clear()
    rest = engine.execute("lz-genmove_analyze w 0")  # interval 0: no reports, just the move
    assert out == ["=\n"] and rest.startswith("play ")


def test_bad_analysis_arguments_get_an_error_and_nothing_else():
    engine, out = make_engine(7)
    for bad in ("lz-analyze x", "lz-analyze b 10 ownership true", "kata-analyze 10 ownership maybe", "lz-analyze 1e3"):
        assert engine.execute(f"4 {bad}").startswith("?4 syntax error"), bad
    assert out == []


def test_analysis_streams_until_the_next_command_through_a_pipe():
    """The engine as a child process, as Sabaki runs it: reports keep coming until a command arrives, which ends the
    reply with an empty line and is answered next; a bare newline ends it too."""
    engine = Engine("--sims", "16", "--size", "7")
    try:
        assert engine.ask("1 list_commands").count("analyze") == 4
        engine.send(b"2 kata-analyze b 5 ownership true\n")
        assert engine.lines.get(timeout=120) == b"=2\n"
        for _ in range(3):
            read_analysis(engine.lines.get(timeout=120).decode(), 7, kata=True)
        engine.send(b"3 name\n")
        while (line := engine.lines.get(timeout=120)) != b"\n":
            read_analysis(line.decode(), 7, kata=True)
        assert engine.reply() == "=3 gamelab"
        engine.send(b"lz-analyze 5\n")
        assert engine.lines.get(timeout=120) == b"=\n"
        read_analysis(engine.lines.get(timeout=120).decode(), 7, kata=False)
        start = time.monotonic()
        engine.send(b"\n")  # a bare newline ends it too
        while engine.lines.get(timeout=120) != b"\n":
            pass
        assert time.monotonic() - start < 60
        assert engine.quit() == 0
    finally:
        engine.kill()


def test_playout_ownership_counts_the_area():
    from envs.go import Go

    game = Go(size=5)
    board = torch.zeros(1, 25, dtype=torch.int8)
    board[0, [i for i in range(25) if i not in (0, 24)]] = 1
    owner = game.playout_ownership(game.position(board, player=1), playouts=4)
    assert owner.tolist() == [[1.0] * 25]
