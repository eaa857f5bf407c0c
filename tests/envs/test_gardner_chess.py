"""Gardner 5x5 minichess: move generation proven against Fairy-Stockfish's `gardner` variant (`go perft` divide
counts from the start and from positions reached by random play, and the FEN after each move list), pgx's action
ids and legal-move counts (the values of pgx's own tests/test_gardner_chess.py), and the game end."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import torch

import envs

ENGINE = shutil.which("fairy-stockfish") or shutil.which("/usr/games/fairy-stockfish")
needs_engine = pytest.mark.skipif(
    ENGINE is None, reason="fairy-stockfish is not installed (apt-get install fairy-stockfish)"
)


class _Engine:
    """Fairy-Stockfish in the `gardner` variant, spoken to line by line."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([ENGINE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.send("uci")
        self.until("uciok")
        self.send("setoption name UCI_Variant value gardner")
        self.send("isready")
        self.until("readyok")

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def until(self, prefix: str) -> list[str]:
        lines = []
        while True:
            line = self.proc.stdout.readline()
            assert line, "fairy-stockfish closed its output"
            lines.append(line.strip())
            if line.startswith(prefix):
                return lines

    def perft(self, position: str, depth: int) -> dict[str, int]:
        """{uci move: leaves} of `go perft depth` from "fen FEN" or "startpos moves ..."."""
        self.send(f"position {position}")
        self.send(f"go perft {depth}")
        lines = self.until("Nodes searched")
        out = {}
        for line in lines:
            move, sep, count = line.partition(": ")
            if sep and move != "Nodes searched":
                out[move] = int(count)
        return out

    def fen(self, position: str) -> str:
        self.send(f"position {position}")
        self.send("d")
        return next(line[5:] for line in self.until("Checkers") if line.startswith("Fen: "))

    def close(self) -> None:
        self.send("quit")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def engine():
    eng = _Engine()
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def game():
    return envs.get_game("gardner_chess")


def _divide(game, state, depth: int) -> list[dict[str, int]]:
    return [{game.move_to_uci(state, i, a): c for a, c in d.items()} for i, d in enumerate(game.perft(state, depth))]


def _random_positions(game, games: int = 12, seed: int = 3) -> list[tuple[str, list[str]]]:
    """(FEN, UCI moves from the start) of positions of random games, every 7th ply from ply 3 while live."""
    gen = torch.Generator().manual_seed(seed)
    state = game.init(games)
    moves: list[list[str]] = [[] for _ in range(games)]
    out = []
    for ply in range(80):
        if ply % 7 == 3:
            fens = game.to_fen(state)
            out += [(fens[i], list(moves[i])) for i in range(games) if not bool(state.done[i])]
        actions = game.random_actions(state, gen)
        for i in range(games):
            if not bool(state.done[i]):
                moves[i].append(game.move_to_uci(state, i, int(actions[i])))
        state = game.step(state, actions)
    return out


@needs_engine
def test_perft_from_the_start_agrees_with_fairy_stockfish(game, engine):
    ours = _divide(game, game.init(1), 6)[0]
    theirs = engine.perft("startpos", 6)
    assert ours == theirs
    assert sum(ours.values()) == 572874  # the total both counted (Fairy-Stockfish 11.1, `go perft 6`)


@needs_engine
def test_perft_from_random_positions_agrees_with_fairy_stockfish(game, engine):
    positions = _random_positions(game)
    assert len(positions) >= 48
    fens = [fen for fen, _ in positions]
    state = game.from_fen(fens)
    ours2, ours3 = _divide(game, state, 2), _divide(game, state, 3)
    for i, (fen, moves) in enumerate(positions):
        # the move list played from the start by Fairy-Stockfish reaches the same position (move making, notation)
        assert engine.fen("startpos moves " + " ".join(moves)).split()[:2] == fen.split()[:2], moves
        depth, ours = (3, ours3[i]) if i % 2 else (2, ours2[i])
        assert ours == engine.perft(f"fen {fen}", depth), (fen, depth)


@needs_engine
def test_promotions_and_pins_agree_with_fairy_stockfish(game, engine):
    fens = [
        "r1r1k/1P3/5/5/4K w - - 0 1",  # promotions by push and capture, four pieces each
        "4k/5/5/1p3/BB2K b - - 0 1",  # black promotes, pinned pieces
        "4k/5/r1b2/BP3/KBr2 w - - 0 1",
        "5/R1B1k/1b3/5/K4 w - - 0 1",
        "k4/4P/5/5/K3r w - - 0 1",
    ]
    state = game.from_fen(fens)
    for fen, ours in zip(fens, _divide(game, state, 3)):
        assert ours == engine.perft(f"fen {fen}", 3), fen


def test_pgx_action_ids(game):
    """The ids and counts of pgx's own gardner_chess tests (tests/test_gardner_chess.py: test_action,
    test_legal_action_mask; INIT_LEGAL_ACTION_MASK)."""
    start = game.init(1)
    assert game.legal_mask(start)[0].nonzero()[:, 0].tolist() == [62, 289, 293, 307, 552, 797, 1042]
    cases = {
        "k4/5/5/1Q3/4K w - - 0 1": {
            306: "b2b1",
            309: "b2b5",
            314: "b2a2",
            317: "b2e2",
            322: "b2a1",
            325: "b2e5",
            330: "b2a3",
            331: "b2c1",
        },
        "k4/5/2N2/5/4K w - - 0 1": dict(zip(range(629, 637), "c3a2 c3a4 c3b1 c3b5 c3e2 c3e4 c3d1 c3d5".split())),
        "r1r1k/1P3/5/5/4K w - - 0 1": {392: "b4b5r", 393: "b4c5r", 394: "b4a5r"},
        "k4/3q1/5/5/4K b - - 0 1": {797: "d4d3", 805: "d4e4"},
    }
    for fen, moves in cases.items():
        state = game.from_fen(fen)
        for action, uci in moves.items():
            assert game.move_to_uci(state, 0, action) == uci
            assert game.uci_to_action(state, 0, uci) == action
    counts = {
        "5/5/4k/4P/4K w - - 0 1": 1,
        "4k/5/3r1/4P/4K w - - 0 1": 2,
        "2r1k/1P3/5/5/4K w - - 0 1": 11,
        "4k/5/5/1p3/BB2K b - - 0 1": 6,
        "4k/5/2b2/5/KRR2 w - - 0 1": 3,
        "4k/5/r1b2/BP3/KBr2 w - - 0 1": 1,
        "k3b/5/5/1Q3/K4 w - - 0 1": 5,
    }
    state = game.from_fen(list(counts))
    assert game.legal_mask(state).sum(1).tolist() == list(counts.values())
    remote = game.from_fen(["5/R1B1k/1b3/5/K4 w - - 0 1"] * 2)
    assert game.legal_mask(game.step(remote, [673, 666])).sum(1).tolist() == [5, 4]  # check, double check


def test_fen_round_trip_and_start(game):
    start = game.init(2)
    assert game.to_fen(start) == ["rnbqk/ppppp/5/PPPPP/RNBQK w - - 0 1"] * 2
    for fen in ["bbkqr/Ppppp/5/1PPP1/RNBQK b - - 0 1", "4k/5/2b2/5/KRR2 w - - 7 12"]:
        assert game.to_fen(game.from_fen(fen)) == [fen]
    with pytest.raises(ValueError, match="5 ranks"):
        game.from_fen("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1")


def test_no_double_step_no_castling_promotion_to_queen(game):
    state = game.init(1)
    assert {game.move_to_uci(state, 0, a) for a in game.legal_mask(state)[0].nonzero()[:, 0].tolist()} == {
        "a2a3",
        "b2b3",
        "c2c3",
        "d2d3",
        "e2e3",
        "b1a3",
        "b1c3",
    }
    state = game.from_fen("k4/4P/5/5/K4 w - - 0 1")
    action = game.uci_to_action(state, 0, "e4e5q")
    assert game.move_to_uci(state, 0, action) == "e4e5q"
    after = game.step(state, [action])
    assert game.to_fen(after) == ["k3Q/5/5/5/K4 b - - 0 1"]
    with pytest.raises(ValueError):
        game.uci_to_action(state, 0, "e4f5")  # no f-file


def test_game_end(game):
    names = {
        "4k/4R/2N2/5/K4 b - - 0 1": ("checkmate", 0),  # pgx's test_terminal: white mates
        "k4/2Q2/1K3/5/5 b - - 0 1": ("stalemate", -1),
        "k4/5/5/5/K3N w - - 0 1": ("insufficient_material", -1),
        "k4/5/5/5/K3R w - - 100 80": ("fifty_moves", -1),
    }
    state = game.from_fen(list(names))
    assert game.termination(state) == [n for n, _ in names.values()]
    assert state.winner.tolist() == [w for _, w in names.values()]
    done, value = game.outcome(state)
    assert done.all() and value.tolist() == [-1.0, 0.0, 0.0, 0.0]
    # threefold: the knights out and back twice; the start occurs a third time and the game ends at once
    state = game.init(1)
    for uci in "b1c3 b5a3 c3b1 a3b5 b1c3 b5a3 c3b1".split() + ["a3b5"]:
        assert not bool(state.done[0])
        state = game.step(state, [game.uci_to_action(state, 0, uci)])
    assert game.termination(state) == ["threefold_repetition"]
    # the length cap: a draw after max_moves plies
    short = envs.get_game("gardner_chess", max_moves=4)
    state = short.init(1)
    for uci in "b1c3 b5a3 c3b1 a3b5".split():
        state = short.step(state, [short.uci_to_action(state, 0, uci)])
    assert short.termination(state) == ["max_moves"] and bool(short.outcome(state)[0][0])


def test_planes_from_the_movers_view(game):
    state = game.init(1)
    planes = game.planes(state)
    assert planes.shape == (1, 115, 5, 5)
    assert planes[0, 0].sum() == 5 and planes[0, 0, 3].sum() == 5  # own pawns on the second row from the bottom
    assert planes[0, 5, 4, 4] == 1 and planes[0, 11, 0, 4] == 1  # own king e1, the opponent's e5
    after = game.step(state, [game.uci_to_action(state, 0, "a2a3")])
    black = game.planes(after)
    assert black[0, 5, 4, 4] == 1 and black[0, 6, 2, 0] == 1  # black's king at the bottom; white's a3 pawn mirrored
    assert black[0, 112].sum() == 0 and planes[0, 112].sum() == 25  # white to move
