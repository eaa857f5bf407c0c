"""What chess GUIs expect of `gamelab uci chess` beyond moves, through python-chess's own UCI client: `wdl`
(UCI_ShowWDL), `multipv`, `nodes` and `nps` in info lines, and the Threads and Hash options."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import chess
import chess.engine
import pytest
import torch

import envs
from agents.uci import Engine, wdl_permille

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-m", "core.cli", "uci", "chess"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
TIMEOUT = 300  # the engine's start (Python, torch) on a loaded machine
MATE_IN_ONE = "6k1/5ppp/8/8/8/8/5PPP/3R2K1 w - - 0 1"  # Rd8#


@pytest.fixture(scope="module")
def engine():
    eng = chess.engine.SimpleEngine.popen_uci(COMMAND, env=ENV, cwd=ROOT, timeout=TIMEOUT)
    try:
        yield eng
    finally:
        try:
            eng.quit()
        except (chess.engine.EngineError, TimeoutError):
            pass
        eng.close()


def test_options_a_gui_sets(engine):
    opts = engine.options
    assert opts["Threads"].type == "spin" and opts["Hash"].type == "spin" and opts["MultiPV"].type == "spin"
    assert opts["UCI_ShowWDL"].type == "check" and opts["UCI_ShowWDL"].default is False
    engine.configure({"Threads": 1, "Hash": 32})  # accepted: python-chess raises on an option the engine lacks


def test_multipv_lines_are_distinct_moves_best_first(engine):
    board = chess.Board(MATE_IN_ONE)
    infos = engine.analyse(board, chess.engine.Limit(depth=2), multipv=3)
    assert [i["multipv"] for i in infos] == [1, 2, 3]
    moves = [i["pv"][0] for i in infos]
    assert len(set(moves)) == 3 and all(m in board.legal_moves for m in moves)
    assert moves[0] == chess.Move.from_uci("d1d8") and infos[0]["score"].white().mate() == 1
    scores = [i["score"].white().score(mate_score=100000) for i in infos]
    assert scores == sorted(scores, reverse=True)


def test_wdl_nodes_and_nps(engine):
    engine.configure({"UCI_ShowWDL": True})
    try:
        info = engine.analyse(chess.Board(MATE_IN_ONE), chess.engine.Limit(depth=2))
        assert tuple(info["wdl"].white()) == (1000, 0, 0)  # a forced mate is a certain win
        info = engine.analyse(chess.Board(), chess.engine.Limit(depth=2))
        wdl = info["wdl"].white()
        assert sum(wdl) == 1000 and wdl.wins > 0 and wdl.losses > 0
        assert info["nodes"] > 0 and info["nps"] > 0
        assert abs(info["nps"] - info["nodes"] / max(info["time"], 1e-3)) <= 0.05 * info["nps"] + 1000
    finally:
        engine.configure({"UCI_ShowWDL": False})
    assert "wdl" not in engine.analyse(chess.Board(), chess.engine.Limit(depth=1))


def test_wdl_mapping():
    assert (
        wdl_permille(1.0) == (1000, 0, 0)
        and wdl_permille(-1.0) == (0, 0, 1000)
        and wdl_permille(0.0) == (250, 500, 250)
    )
    for v in (-0.73, -0.2, 0.05, 0.6):
        w, d, lost = wdl_permille(v)
        assert w + d + lost == 1000 and abs((w - lost) / 1000 - v) <= 0.002


def test_hash_caps_the_network_tree_and_threads_sets_torch(tmp_path):
    from agents.network import PolicyValueNet
    from core.checkpoint import save_checkpoint

    game = envs.get_game("chess")
    torch.manual_seed(0)
    net = PolicyValueNet(tuple(game.planes_shape), game.num_actions, blocks=1, channels=8)
    payload = {"game": {"name": game.name, "options": dict(game.options)}, "net_config": net.config,
               "model": net.state_dict()}  # fmt: skip
    path = save_checkpoint(tmp_path / "chess.pt", payload, kind="alphazero")
    stream = io.StringIO()
    eng = Engine(stream, Path(path))
    threads = torch.get_num_threads()
    try:
        for line in ("setoption name Hash value 1", "setoption name Threads value 2", "setoption name MultiPV value 2",
                     "setoption name UCI_ShowWDL value true", "go nodes 200"):  # fmt: skip
            assert eng.handle(line)
        eng._thread.join(120)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
    cap = eng.node_budget()
    assert 2 <= cap < 200 and eng.leaf_budget() >= 64
    lines = stream.getvalue().splitlines()
    infos = [line.split() for line in lines if line.startswith("info depth")]
    nodes = [int(t[t.index("nodes") + 1]) for t in infos]
    assert max(nodes) <= cap and lines[-1].startswith("bestmove ")
    assert {t[t.index("multipv") + 1] for t in infos} == {"1", "2"} and all("wdl" in t for t in infos)
    assert eng.handle("setoption name UCI_ShowWDL value maybe") and "error" in stream.getvalue().splitlines()[-1]
