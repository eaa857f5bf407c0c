"""Every engine keeps its clock in every position, on a loaded machine: `gamelab uci` through python-chess's UCI
client (in check, among many captures, with a huge number of moves; with and without a network), `gamelab usi
minishogi` through cshogi's USI client (`go byoyomi`, in check and with every piece in hand) and `gamelab gtp` with
`time_settings`, each while a busy loop holds another core; and `bestmove (none)` / `bestmove resign` at once where
no move is legal.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import chess
import chess.engine
import pytest
import torch

import envs
from agents.network import PolicyValueNet
from core.checkpoint import save_checkpoint

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
START_TIMEOUT = 300  # seconds an engine may take to start on a loaded machine (Python and torch imports)
GRACE_S = 1.0  # the most a move may take beyond its budget
WORST_CASES = {
    "check, few replies, wide below": "rnbk3r/ppp2ppp/8/2bP2Q1/5P2/2P3P1/PP1NNq1P/R2K3R b - - 3 18",
    "double check": "r1b1r1k1/ppp2ppp/2n5/8/8/3n4/PPP2PPP/RNBQK1NR w KQ - 0 1",
    "check in the opening": "rnbqkbnr/ppp2ppp/8/1B1pp3/4P3/8/PPPP1PPP/RNBQK1NR b KQkq - 1 3",
    "many captures (kiwipete)": "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1",
    "huge branching (218 moves)": "R6R/3Q4/1Q4Q1/4Q3/2Q4Q/Q4Q2/pp1Q4/kBNN1KB1 w - - 0 1",
}
NO_MOVE = {"checkmate": "7k/6Q1/6K1/8/8/8/8/8 b - - 0 1", "stalemate": "7k/5Q2/6K1/8/8/8/8/8 b - - 0 1"}


@pytest.fixture(scope="module")
def busy_core():
    """A busy loop on another core for the whole module (the loaded machine the clocks must hold on)."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _uci(*args: str) -> chess.engine.SimpleEngine:
    command = [sys.executable, "-m", "core.cli", "uci", *args]
    return chess.engine.SimpleEngine.popen_uci(command, env=ENV, cwd=ROOT, timeout=START_TIMEOUT)


def _timed_moves(engine: chess.engine.SimpleEngine, fens: dict[str, str], seconds: float = 0.2) -> dict[str, float]:
    """Seconds each position's `go movetime` took, from python-chess sending it to the legal bestmove."""
    took = {}
    for name, fen in fens.items():
        board = chess.Board(fen)
        start = time.perf_counter()
        result = engine.play(board, chess.engine.Limit(time=seconds))
        took[name] = time.perf_counter() - start
        assert result.move in board.legal_moves, name
    return took


def _close(engine: chess.engine.SimpleEngine) -> None:
    try:
        engine.quit()
    except (chess.engine.EngineError, TimeoutError):
        pass
    engine.close()


def _tiny_checkpoint(folder: Path, game_name: str) -> Path:
    game = envs.get_game(game_name)
    torch.manual_seed(0)
    net = PolicyValueNet(tuple(game.planes_shape), game.num_actions, blocks=2, channels=16)
    payload = {"game": {"name": game.name, "options": dict(game.options)}, "net_config": dict(net.config)}
    payload["model"] = net.state_dict()
    return Path(save_checkpoint(folder / f"{game_name}.pt", payload, kind="alphazero"))


def test_uci_alphabeta_keeps_movetime_in_the_worst_positions(busy_core):
    engine = _uci("chess")
    try:
        took = _timed_moves(engine, WORST_CASES)
        for name, fen in NO_MOVE.items():  # python-chess sends go; the engine answers bestmove (none) at once
            start = time.perf_counter()
            result = engine.play(chess.Board(fen), chess.engine.Limit(time=5.0))
            took[name] = time.perf_counter() - start
            assert result.move is None, name
    finally:
        _close(engine)
    late = {name: round(s, 2) for name, s in took.items() if s > 0.2 + GRACE_S}
    assert not late, f"over movetime 200 + {GRACE_S} s: {late}"
    assert max(took[name] for name in NO_MOVE) < 1.0, took


@pytest.mark.slow
def test_uci_with_a_network_keeps_movetime(busy_core, tmp_path):
    engine = _uci("chess", "--checkpoint", str(_tiny_checkpoint(tmp_path, "chess")))
    try:
        engine.configure({"Simulations": 100_000})  # the clock, not the simulations, ends each search
        took = _timed_moves(engine, {k: WORST_CASES[k] for k in list(WORST_CASES)[:3]})
    finally:
        _close(engine)
    assert max(took.values()) < 0.2 + GRACE_S, took


@pytest.mark.slow
def test_uci_gardner_bundled_network_keeps_movetime(busy_core):
    """Gardner minichess with the bundled model (5x5 FENs, which python-chess does not read: raw protocol lines)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "uci", "gardner_chess"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
        cwd=ROOT,
    )

    def until(word: str) -> str:
        while not (line := proc.stdout.readline()).startswith(word):
            assert line, "the engine ended"
        return line

    try:
        proc.stdin.write("uci\nsetoption name Simulations value 100000\nisready\n")
        proc.stdin.flush()
        until("readyok")
        took = []
        for fen in ("rnbqk/ppppp/5/PPPPP/RNBQK w - - 0 1", "rnb1k/pp1pp/2p2/PPPqP/RNBQK w - - 0 1"):
            start = time.perf_counter()
            proc.stdin.write(f"position fen {fen}\ngo movetime 200\n")
            proc.stdin.flush()
            best = until("bestmove")
            took.append(time.perf_counter() - start)
            assert best.split()[1] != "(none)"
    finally:
        proc.communicate("quit\n", timeout=60)
    assert max(took) < 0.2 + GRACE_S, took


MINISHOGI_WORST = {
    "check, answered by drops": "k4/r4/5/5/K4 b RBGSPbgsp 1",
    "every piece in hand (114 moves)": "k4/5/5/5/4K b RBGSPrbgsp 1",
    "start": "rbsgk/4p/5/P4/KGSBR b - 1",
}
MINISHOGI_MATED = "kG3/1G3/5/5/4K w - 1"  # gote to move, mated


@pytest.mark.parametrize("network", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["alphabeta", "network"])
def test_usi_minishogi_keeps_byoyomi_in_the_worst_positions(busy_core, tmp_path, network):
    """`gamelab usi minishogi` through cshogi's USI client: `go byoyomi 200` in check, with every piece in hand and
    at the start, then `bestmove resign` at once when mated; without a model (alpha-beta) and with a network whose
    simulations the clock, not their number, ends."""
    usi = pytest.importorskip("cshogi.usi", reason="cshogi's USI client is not installed")
    game = envs.get_game("minishogi")
    script = tmp_path / "engine.sh"
    command = f"PYTHONPATH={ROOT} OMP_NUM_THREADS=1 exec {sys.executable} -m core.cli usi minishogi"
    if network:
        command += f" --checkpoint {_tiny_checkpoint(tmp_path, 'minishogi')}"
    script.write_text(f"#!/bin/sh\ncd {ROOT}\n{command}\n")
    script.chmod(0o755)
    engine = usi.Engine(str(script))  # answers usiok once its imports are done, before any clock runs
    took = {}
    try:
        if network:
            engine.setoption("Simulations", 100_000)
        engine.isready()
        for name, sfen in {**MINISHOGI_WORST, "mated": MINISHOGI_MATED}.items():
            engine.position(sfen=f"sfen {sfen}")
            start = time.perf_counter()
            best, _ = engine.go(byoyomi=200)
            took[name] = time.perf_counter() - start
            legal = set(game.legal_usi(game.from_sfen(sfen), 0).values())
            assert best in legal if legal else best == "resign", (name, best)
    finally:
        engine.quit()
    late = {name: round(s, 2) for name, s in took.items() if s > 0.2 + GRACE_S}
    assert not late, f"over byoyomi 200 + {GRACE_S} s: {late}"
    assert took["mated"] < 1.0, took


class _Gtp:
    """`gamelab gtp go` over pipes; ask(line) returns the reply text."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "gtp", "go", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=ENV,
            cwd=ROOT,
        )

    def ask(self, line: str) -> str:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        lines = []
        while True:
            text = self.proc.stdout.readline()
            if text in ("\n", ""):
                return "\n".join(lines)
            lines.append(text.rstrip("\n"))

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(60)


@pytest.mark.slow
@pytest.mark.parametrize("args", [["--size", "9"], ["--size", "7"]], ids=["9x9", "7x7"])
def test_gtp_genmove_keeps_time_settings(busy_core, args):
    engine = _Gtp(*args)
    try:
        assert engine.ask("name") == "= gamelab"  # started (imports done) before the clock runs
        assert engine.ask("time_settings 0 1 1") == "="  # byo-yomi: 1 s for each move
        took = []
        for colour in ("b", "w", "b", "w"):
            assert engine.ask(f"time_left {colour} 1 1") == "="
            start = time.perf_counter()
            reply = engine.ask(f"genmove {colour}")
            took.append(time.perf_counter() - start)
            assert reply.startswith("= ") and reply != "= resign", reply
    finally:
        engine.close()
    assert max(took) < 1.0 + GRACE_S, took


def test_gtp_rollout_fallback_keeps_byo_yomi_and_opens_off_the_edge(busy_core, model_dir):
    """No model of the size: rollout search with the game's move prior, in the engine itself (no process start)."""
    import io

    from agents.gtp import GtpEngine, _player_maker

    engine = GtpEngine(_player_maker(None, 10**6, 0), size=9, log=io.StringIO())
    assert engine.execute("time_settings 0 1 1") == "=\n\n"
    took, moves = [], []
    for colour in "bwbwbw":
        engine.execute(f"time_left {colour} 1 1")
        start = time.perf_counter()
        reply = engine.execute(f"genmove {colour}")
        took.append(time.perf_counter() - start)
        moves.append(reply.split()[1])
    assert max(took) < 0.8 + GRACE_S, took
    edge = [m for m in moves if m[0] in "AJ" or m[1:] in ("1", "9")]
    assert not edge and "PASS" not in moves, moves  # the first line is left alone while the board is empty


def test_uci_takes_a_run_directory(tmp_path, monkeypatch, capsys):
    """`gamelab uci chess --checkpoint RUN` plays the run's latest checkpoint, as `agent` and `gtp` do."""
    import io
    import types

    from agents.uci import main

    _tiny_checkpoint(tmp_path / "run" / "checkpoints", "chess").rename(
        tmp_path / "run" / "checkpoints" / "iter_000003.pt"
    )
    stdin = types.SimpleNamespace(buffer=io.BytesIO(b"position startpos\ngo nodes 8\nisready\nquit\n"))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["chess", "--checkpoint", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert any(line.startswith("bestmove ") for line in out) and not any("no network" in line for line in out)
