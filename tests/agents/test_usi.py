"""`gamelab usi shogi|minishogi`: line by line through a pipe and through cshogi's USI client (a real client no one
here wrote), `go perft` against cshogi's move counts, time budgets, bad input; the `usi:` player with
Fairy-Stockfish's minishogi in a short match."""

from __future__ import annotations

import io
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import envs
from agents.external_engine import find_engine
from agents.usi import UsiEngine, parse_usi_go

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
START_TIMEOUT = 300  # seconds: a Python engine start (torch) is slow on a loaded machine


class _Pipe:
    """The engine as a subprocess, spoken to line by line."""

    def __init__(self, game: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "usi", game],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=ENV,
            cwd=ROOT,
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(b"")

    def send(self, line: str) -> None:
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def read(self, timeout: float = START_TIMEOUT) -> str:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("the engine did not answer in time") from None
        assert line, "the engine closed its output"
        return line.decode().rstrip("\n")

    def until(self, first_word: str, timeout: float = START_TIMEOUT) -> list[str]:
        lines = []
        while True:
            lines.append(self.read(timeout))
            if lines[-1].split()[:1] == [first_word]:
                return lines

    def close(self) -> None:
        self.send("quit")
        assert self.proc.wait(60) == 0


@pytest.fixture(scope="module")
def pipe():
    p = _Pipe("shogi")
    yield p
    p.close()


def test_handshake_perft_and_go(pipe):
    cshogi = pytest.importorskip("cshogi", reason="cshogi (the oracle of the move counts) is not installed")
    pipe.send("usi")
    lines = pipe.until("usiok")
    assert "id name gamelab" in lines and any(x.startswith("option name Simulations") for x in lines)
    pipe.send("isready")
    assert pipe.until("readyok")[-1] == "readyok"
    pipe.send("usinewgame")
    pipe.send("position startpos moves 7g7f 3c3d")
    pipe.send("go perft 2")
    lines = pipe.until("Nodes")
    board = cshogi.Board()
    for m in ("7g7f", "3c3d"):
        board.push_usi(m)
    expected = {}
    for m in list(board.legal_moves):
        board.push(m)
        expected[cshogi.move_to_usi(m)] = len(board.legal_moves)
        board.pop()
    divide = dict(line.split(": ") for line in lines[:-1] if ": " in line)
    assert {k: int(v) for k, v in divide.items()} == expected
    assert lines[-1] == f"Nodes searched: {sum(expected.values())}"
    assert pipe.read() == ""  # Fairy-Stockfish's trailing blank line
    # a search answers with a legal move within its budget (byoyomi 500 ms, plus start-up slack on a loaded machine)
    pipe.send("position sfen " + "l6nl/5+P1gk/2np1S3/p1p4Pp/3P2Sp1/1PPb2P1P/P5GS1/R8/LN4bKL w RGgsn5p 1")
    t = time.perf_counter()
    pipe.send("go btime 0 wtime 0 byoyomi 500")
    lines = pipe.until("bestmove", timeout=30)
    elapsed = time.perf_counter() - t
    assert elapsed < 5.0
    assert any(x.startswith("info string no network") for x in lines)
    info = [x for x in lines if x.startswith("info depth")]
    assert info and all(w in info[-1].split() for w in ("depth", "nodes", "score", "pv"))
    move = lines[-1].split()[1]
    board = cshogi.Board("l6nl/5+P1gk/2np1S3/p1p4Pp/3P2Sp1/1PPb2P1P/P5GS1/R8/LN4bKL w RGgsn5p 1")
    assert move in {cshogi.move_to_usi(m) for m in board.legal_moves}


def test_infinite_stop_mate_and_bad_input(pipe):
    pipe.send("position startpos")
    pipe.send("go infinite")
    time.sleep(0.5)
    pipe.send("stop")
    assert pipe.until("bestmove", timeout=30)[-1].split()[0] == "bestmove"
    pipe.send("go ponder btime 1000 wtime 1000")
    pipe.send("ponderhit")
    assert pipe.until("bestmove", timeout=30)[-1].startswith("bestmove ")
    pipe.send("position sfen k8/1G7/1G7/9/9/9/9/9/K8 w - 1")  # gote is mated
    pipe.send("go byoyomi 100")
    assert pipe.until("bestmove", timeout=30)[-1] == "bestmove resign"
    for bad, word in (
        ("position sfen 9/9 b - 1", "SFEN"),
        ("position startpos moves 7g7e", "7g7e"),
        ("go byoyomi x", "byoyomi"),
        ("go perft 0", "perft"),
        ("frobnicate", "frobnicate"),
        ("setoption name Nope value 1", "Nope"),
        ("x" * 70_000, "longer"),
    ):
        pipe.send(bad)
        line = pipe.read(30)
        assert line.startswith("info string error:") and word in line, (bad, line)
    pipe.send("setoption name USI_Hash value 256")
    pipe.send("gameover win")
    pipe.send("isready")
    assert pipe.read(30) == "readyok"  # the engine read on


def test_cshogi_usi_client(tmp_path):
    """cshogi's own USI client drives the engine through a game opening."""
    cshogi = pytest.importorskip("cshogi", reason="cshogi's USI client is not installed")
    usi = pytest.importorskip("cshogi.usi", reason="cshogi's USI client is not installed")

    script = tmp_path / "engine.sh"
    command = f"PYTHONPATH={ROOT} OMP_NUM_THREADS=1 exec {sys.executable} -m core.cli usi shogi"
    script.write_text(f"#!/bin/sh\ncd {ROOT}\n{command}\n")
    script.chmod(0o755)
    engine = usi.Engine(str(script))
    try:
        engine.isready()
        engine.usinewgame()
        board, moves = cshogi.Board(), []
        for _ in range(3):
            engine.position(moves=moves)
            best, _ = engine.go(byoyomi=200)
            assert best in {cshogi.move_to_usi(m) for m in board.legal_moves}
            board.push_usi(best)
            moves.append(best)
        engine.position(sfen="sfen " + board.sfen())
        best, _ = engine.go(btime=1000, wtime=1000, binc=100, winc=100)
        assert best in {cshogi.move_to_usi(m) for m in board.legal_moves}
    finally:
        engine.quit()


def test_parse_go_and_budget():
    limits, byoyomi, ponder = parse_usi_go(["btime", "60000", "wtime", "1000", "byoyomi", "2000"])
    assert (limits.wtime, limits.btime, byoyomi, ponder) == (60000, 1000, 2000, False)  # wtime holds sente's clock
    engine = UsiEngine(io.StringIO(), game="minishogi")
    engine._byoyomi = 2000
    assert 1800 < engine._budget_ms(limits) < 60000 / 30 + 1800
    with pytest.raises(ValueError):
        parse_usi_go(["byoyomi"])


def test_cli_rejects_other_games(capsys):
    from agents.usi import main

    assert main(["chess"]) == 2
    assert "error:" in capsys.readouterr().err


def test_usi_player_match_with_fairy_stockfish(tmp_path):
    """`gamelab match minishogi alphabeta:1 usi:fairy-stockfish:...` plays two whole games."""
    try:
        find_engine("fairy-stockfish")
    except ValueError:
        pytest.skip("fairy-stockfish is not installed (apt-get install fairy-stockfish)")
    from core.cli import main

    spec = "usi:fairy-stockfish:UCI_Variant=minishogi:Skill Level=0:nodes=300"
    assert main(["match", "minishogi", "alphabeta:1", spec, "--games", "2", "--quiet", "--record", str(tmp_path)]) == 0
    records = list(tmp_path.glob("*.jsonl"))
    assert records and len(records[0].read_text().splitlines()) == 2


def test_usi_player_refuses_other_games():
    from agents.players import make_player

    with pytest.raises(ValueError, match="shogi"):
        make_player("usi:fairy-stockfish", envs.get_game("chess"))
