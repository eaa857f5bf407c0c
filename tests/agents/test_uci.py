"""`gamelab uci chess` through python-chess's own UCI client (a real client no one here wrote), Stockfish's
`go perft` output, bad input, and the `uci:` player spec with Stockfish where it is installed."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import chess
import chess.engine
import pytest

import envs
from agents.external_engine import find_engine
from agents.players import make_player
from agents.uci import MAX_LINE, Engine, main, parse_go
from agents.uci_player import parse_uci_spec

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-m", "core.cli", "uci", "chess"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
# seconds a session with the engine may take: its start alone (Python, torch) took 15 s at a load average of 8
TIMEOUT = 300
KIWIPETE = "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1"


def _has_stockfish() -> bool:
    try:
        find_engine("stockfish")
    except ValueError:
        return False
    return True


@pytest.fixture(scope="module")
def engine():
    eng = chess.engine.SimpleEngine.popen_uci(COMMAND, env=ENV, cwd=ROOT, timeout=TIMEOUT)
    try:
        yield eng
    finally:  # a failed quit must not leave python-chess's event-loop thread keeping the test process alive
        try:
            eng.quit()
        except (chess.engine.EngineError, TimeoutError):
            pass
        eng.close()


def test_python_chess_client_plays_full_games(engine):
    assert engine.id["name"] == "gamelab"
    assert {"Simulations", "ThinkTime", "Threads"} <= set(engine.options)
    engine.configure({"Threads": 1})
    for game in range(1):
        board = chess.Board()
        rng = __import__("random").Random(game)
        while not board.is_game_over(claim_draw=True):
            if board.turn == (game == 0):  # our engine plays white in game 0, black in game 1
                result = engine.play(board, chess.engine.Limit(time=0.02))
                assert result.move in board.legal_moves
                board.push(result.move)
            else:
                board.push(rng.choice(list(board.legal_moves)))
        assert board.outcome(claim_draw=True) is not None


def test_analysis_info_lines(engine):
    board = chess.Board("6k1/5ppp/8/8/8/8/5PPP/3R2K1 w - - 0 1")  # back-rank mate in one: Rd8#
    info = engine.analyse(board, chess.engine.Limit(time=1.0))
    assert info["pv"][0] == chess.Move.from_uci("d1d8")
    assert info["score"].white().mate() == 1
    assert info["nodes"] > 0 and "nps" in info and info["depth"] >= 1
    info = engine.analyse(chess.Board(), chess.engine.Limit(nodes=300))
    assert abs(info["score"].white().score()) < 200
    # a node limit and a clock both end the search
    engine.play(chess.Board(), chess.engine.Limit(white_clock=2.0, black_clock=2.0, white_inc=0.1))


def _raw(lines: list[str], timeout: float = TIMEOUT) -> list[str]:
    out = subprocess.run(
        COMMAND, input="\n".join(lines) + "\n", capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=timeout
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_go_perft_as_stockfish_prints_it_and_bad_input_gets_an_error_line():
    out = _raw(
        [
            "uci",
            "frobnicate",
            "position fen 8/8/8 w - - 0 1",
            "position startpos moves e2e5",
            "go wtime x",
            "setoption name Contempt value 16",
            "setoption name Threads value 0",
            "x" * (MAX_LINE + 10),
            f"position fen {KIWIPETE}",
            "go perft 2",
            "isready",
            "quit",
        ]
    )
    errors = [line for line in out if line.startswith("info string error")]
    assert len(errors) == 7 and "longer than 65536" in errors[-1] and "'frobnicate'" in errors[0]
    assert out[-1] == "readyok"
    protocol = ("id", "option", "uciok", "info", "readyok", "Nodes")
    assert all(line.split()[0] in protocol or ": " in line for line in out if line)  # stdout: protocol lines only
    board = chess.Board(KIWIPETE)
    want = []
    for move in board.legal_moves:
        board.push(move)
        want.append(f"{move.uci()}: {board.legal_moves.count()}")
        board.pop()
    first = out.index(min(want))
    assert out[first : first + 48] == sorted(want) and out[first + 48 : first + 51] == ["", "Nodes searched: 2039", ""]


def test_infinite_waits_for_stop_mate_has_no_move_and_claimed_draws_play_on():
    shuffle = "g1f3 g8f6 f3g1 f6g8 " * 2  # the start position a third time: python-chess could claim, a GUI plays on
    out = _raw(
        [
            "position startpos",
            "go infinite",
            "isready",
            "stop",
            "position fen 7k/6Q1/6K1/8/8/8/8/8 b - - 0 1",
            "go movetime 50",
            "isready",
            f"position startpos moves {shuffle}g1f3",
            "go nodes 50",
            "quit",
        ]
    )
    bestmoves = [line for line in out if line.startswith("bestmove")]
    assert out.index("readyok") < out.index(bestmoves[0])
    assert bestmoves[1] == "bestmove (none)" and bestmoves[2] != "bestmove (none)" and len(bestmoves) == 3


def test_engine_in_process_and_cli_errors(capsys):
    stream = io.StringIO()
    eng = Engine(stream)
    assert eng.handle("position startpos moves e2e4") and eng.handle("go perft 1")
    assert stream.getvalue().splitlines()[-2] == "Nodes searched: 20"
    assert not eng.handle("quit")
    assert parse_go(["wtime", "100", "btime", "200", "movestogo", "5"]).movestogo == 5
    with pytest.raises(ValueError, match="ponder"):
        parse_go(["ponder"])
    assert main(["go"]) == 2 and "not chess" in capsys.readouterr().err
    assert main(["chess", "--checkpoint", "/nonexistent.pt"]) == 2 and "nonexistent" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["chess", "--depth", "3"])
    assert exit_.value.code == 2 and capsys.readouterr().err.count("\n") == 1


# ------------------------------------------------------------------------------------------ the uci: player spec
def test_uci_spec_parsing():
    assert parse_uci_spec("stockfish") == ("stockfish", {}, {"nodes": "10000"})
    command, options, go = parse_uci_spec("stockfish --x:Skill Level=0:movetime=50")
    assert command == "stockfish --x" and options == {"Skill Level": "0"} and go == {"movetime": "50"}
    for bad in ("", "stockfish:nodes=-3", "stockfish:Skill Level"):
        with pytest.raises(ValueError):
            parse_uci_spec(bad)
    with pytest.raises(ValueError, match="not found"):
        make_player("uci:no-such-engine-here", envs.get_game("chess"))
    with pytest.raises(ValueError, match="chess"):
        make_player("uci:stockfish", envs.get_game("connect_four"))


def test_our_engine_as_a_uci_player_against_alphabeta():
    from arena.match import play_games

    game = envs.get_game("chess", max_moves=40)
    ours = make_player(f"uci:{sys.executable} -m core.cli uci chess:movetime=20", game)
    try:
        result = play_games(game, ours, make_player("alphabeta:1", game), 2, batch=2, record=None, progress=False)
    finally:
        ours.close()
    assert result.wins_a + result.draws + result.losses_a == 2


@pytest.mark.skipif(not _has_stockfish(), reason="stockfish is not installed")
def test_stockfish_plays_a_match(tmp_path):
    from arena.match import main as match_main

    assert os.access(find_engine("stockfish")[0], os.X_OK)
    argv = ["chess", "alphabeta:1", "uci:stockfish:Skill Level=0:nodes=200", "--games", "2", "--record", str(tmp_path)]
    assert match_main(argv) == 0


def test_engine_with_a_network_checkpoint(tmp_path):
    import torch

    from agents.network import PolicyValueNet
    from core.checkpoint import save_checkpoint

    game = envs.get_game("chess")
    torch.manual_seed(0)
    net = PolicyValueNet(tuple(game.planes_shape), game.num_actions, blocks=1, channels=8)
    payload = {"game": {"name": game.name, "options": dict(game.options)}, "net_config": net.config}
    payload["model"] = net.state_dict()
    path = save_checkpoint(tmp_path / "chess.pt", payload, kind="alphazero")
    stream = io.StringIO()
    eng = Engine(stream, Path(path))
    assert eng.handle("position startpos moves e2e4") and eng.handle("go nodes 16")
    eng._thread.join(60)
    lines = stream.getvalue().splitlines()
    assert lines[-1].startswith("bestmove ") and any(" score cp " in line and " pv " in line for line in lines)
    assert not any("no network" in line for line in lines)
    move = chess.Move.from_uci(lines[-1].split()[1])
    assert move in chess.Board("rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR b KQkq - 0 1").legal_moves


# ------------------------------------------------------------------------------------- Gardner minichess (5x5)
def _has_fairy_stockfish() -> bool:
    try:
        find_engine("fairy-stockfish")
    except ValueError:
        return False
    return True


def test_uci_player_sets_the_gardner_variant():
    gardner = envs.get_game("gardner_chess")
    ours = make_player(f"uci:{sys.executable} -m core.cli uci gardner_chess:depth=1", gardner)
    try:
        assert ours.search["options"] == {"UCI_Variant": "gardner"}  # sent first, unless the spec sets it
        state = gardner.init(2)
        action = ours(gardner, state)
        assert gardner.legal_mask(state).gather(1, action[:, None]).all()
    finally:
        ours.close()
    with pytest.raises(ValueError, match="gardner_chess"):
        make_player("uci:stockfish", envs.get_game("go", size=5))


def test_gamelab_uci_gardner_perft_and_variant_option():
    out = subprocess.run(
        [sys.executable, "-m", "core.cli", "uci", "gardner_chess"],
        input="uci\nsetoption name UCI_Variant value chess\nsetoption name UCI_Variant value gardner\n"
        "position startpos moves a2a3 b4b3\ngo perft 2\nisready\nquit\n",
        capture_output=True,
        text=True,
        env=ENV,
        cwd=ROOT,
        timeout=TIMEOUT,
    ).stdout.splitlines()
    assert "option name UCI_Variant type combo default gardner var gardner" in out
    assert [line for line in out if "error" in line] == [
        "info string error: UCI_Variant must be gardner (this engine plays gardner_chess)"
    ]
    assert (
        out[-1] == "readyok"
        and out[-3] == f"Nodes searched: {sum(int(x.split(': ')[1]) for x in out if x[:1] in 'abcde' and ': ' in x)}"
    )


@pytest.mark.skipif(
    not _has_fairy_stockfish(), reason="fairy-stockfish is not installed (apt-get install fairy-stockfish)"
)
def test_fairy_stockfish_plays_gardner_against_alphabeta(tmp_path):
    import json

    from arena.match import main as match_main

    argv = ["gardner_chess", "alphabeta:1", "uci:fairy-stockfish:Skill Level=-20:depth=1", "--games", "2"]
    assert match_main([*argv, "--record", str(tmp_path)]) == 0
    games = [json.loads(line) for path in tmp_path.glob("*.jsonl") for line in path.read_text().splitlines()]
    assert len(games) == 2 and all(len(g["moves"]) >= 4 for g in games)


@pytest.mark.skipif(
    not _has_fairy_stockfish(), reason="fairy-stockfish is not installed (apt-get install fairy-stockfish)"
)
def test_fairy_stockfish_against_our_gardner_engine():
    from arena.match import play_games

    game = envs.get_game("gardner_chess", max_moves=60)
    ours = make_player(f"uci:{sys.executable} -m core.cli uci gardner_chess:depth=1", game)
    theirs = make_player("uci:fairy-stockfish:Skill Level=-20:depth=1", game)
    try:
        result = play_games(game, ours, theirs, 2, batch=2, record=None, progress=False)
    finally:
        ours.close()
        theirs.close()
    assert result.wins_a + result.draws + result.losses_a == 2
