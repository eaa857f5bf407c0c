"""Chess rules: perft counts of our move generator against python-chess and the published tables, FEN in and out,
UCI move text, hand-written corner cases checked against python-chess ply by ply, planes, and check_game."""

from __future__ import annotations

import chess
import pytest
import torch

import envs
from envs.chess import TERMINATIONS, Chess
from envs.state import take

GAME = Chess()

# the standard perft suite (chessprogramming.org "Perft Results"): FEN, then the counts from depth 1
PERFT = {
    "start": (chess.STARTING_FEN, [20, 400, 8902, 197281, 4865609]),
    "kiwipete": (
        "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1",
        [48, 2039, 97862, 4085603, 193690690],
    ),
    "position3": ("8/2p5/3p4/KP5r/1R3p1k/8/4P1P1/8 w - - 0 1", [14, 191, 2812, 43238, 674624, 11030083]),
    "position4": (
        "r3k2r/Pppp1ppp/1b3nbN/nP6/BBP1P3/q4N2/Pp1P2PP/R2Q1RK1 w kq - 0 1",
        [6, 264, 9467, 422333, 15833292],
    ),
    "position5": ("rnbq1k1r/pp1Pbppp/2p5/8/2B5/8/PPP1NnPP/RNBQK2R w KQ - 1 8", [44, 1486, 62379, 2103487, 89941194]),
    "position6": (
        "r4rk1/1pp1qppp/p1np1n2/2b1p1B1/2B1P1b1/P1NP1N2/1PP1QPPP/R4RK1 w - - 0 10",
        [46, 2079, 89890, 3894594, 164075551],
    ),
}
# (position, depth) run by default (about 20 s on a loaded 2-core machine); the rest of the table up to
# depth 5 / 6 where it fits in minutes is marked slow
DEFAULT_DEPTHS = {"start": 5, "kiwipete": 4, "position3": 5, "position4": 4, "position5": 4, "position6": 4}
SLOW_DEPTHS = {"position3": 6, "position4": 5}


def _python_chess_divide(board: chess.Board, depth: int) -> dict[str, int]:
    def count(b: chess.Board, d: int) -> int:
        if d == 0:
            return 1
        total = 0
        for move in b.legal_moves:
            b.push(move)
            total += count(b, d - 1)
            b.pop()
        return total

    out = {}
    for move in list(board.legal_moves):
        board.push(move)
        out[move.uci()] = count(board, depth - 1)
        board.pop()
    return out


def _divide_uci(fen: str, depth: int) -> dict[str, int]:
    state = GAME.from_fen(fen)
    return {GAME.move_to_uci(state, 0, a): n for a, n in GAME.perft(state, depth)[0].items()}


@pytest.mark.parametrize("name", list(PERFT))
def test_perft_divide_agrees_with_python_chess(name):
    fen, _ = PERFT[name]
    assert _divide_uci(fen, 2) == _python_chess_divide(chess.Board(fen), 2)


@pytest.mark.parametrize("name", list(PERFT))
def test_perft_counts(name):
    fen, counts = PERFT[name]
    state = GAME.from_fen(fen)
    depth = DEFAULT_DEPTHS[name]
    assert sum(GAME.perft(state, depth)[0].values()) == counts[depth - 1]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SLOW_DEPTHS))
def test_perft_counts_deep(name):
    fen, counts = PERFT[name]
    depth = SLOW_DEPTHS[name]
    assert sum(GAME.perft(GAME.from_fen(fen), depth)[0].values()) == counts[depth - 1]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PERFT))
def test_perft_divide_depth3_agrees_with_python_chess(name):
    fen, _ = PERFT[name]
    assert _divide_uci(fen, 3) == _python_chess_divide(chess.Board(fen), 3)


def test_perft_batch_and_depth_zero():
    fens = [PERFT["kiwipete"][0], PERFT["position4"][0]]
    both = GAME.perft(GAME.from_fen(fens), 2)
    assert [sum(d.values()) for d in both] == [2039, 264]
    assert GAME.perft(GAME.init(2), 0) == [{}, {}]


# ------------------------------------------------------------------------------------------------- FEN and UCI
def test_fen_round_trip_and_start():
    assert GAME.to_fen(GAME.init(2)) == [chess.STARTING_FEN] * 2
    for fen, _ in PERFT.values():
        assert GAME.to_fen(GAME.from_fen(fen)) == [chess.Board(fen).fen()]


def test_fen_en_passant_field_only_when_a_capture_is_legal():
    # python-chess writes the en passant square only when an en passant capture is legal
    for fen in ("rnbqkbnr/ppp1pppp/8/3p4/8/8/PPPPPPPP/RNBQKBNR w KQkq d6 0 2", "4k3/8/8/3pP3/8/8/8/4K3 w - d6 0 1"):
        assert GAME.to_fen(GAME.from_fen(fen)) == [chess.Board(fen).fen()]
    assert GAME.to_fen(GAME.from_fen("4k3/8/8/3pP3/8/8/8/4K3 w - d6 0 1"))[0].split()[3] == "d6"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "8/8/8 w - - 0 1",
        "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR x KQkq - 0 1",
        "k7/8/8/8/8/8/8/8 w - - 0 1",
        "rnbqkbnr/pppppppp/9/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1",
        "4k3/8/8/8/8/8/8/4K3 w - z9 0 1",
    ],
)
def test_bad_fen_is_a_value_error(bad):
    with pytest.raises(ValueError, match="FEN"):
        GAME.from_fen(bad)


def test_uci_text_round_trip():
    state = GAME.from_fen("r3k2r/1P6/8/8/8/8/6p1/R3K2R b KQkq - 0 1")
    legal = GAME.legal_mask(state)[0].nonzero()[:, 0].tolist()
    texts = {GAME.move_to_uci(state, 0, a) for a in legal}
    assert texts == {m.uci() for m in chess.Board("r3k2r/1P6/8/8/8/8/6p1/R3K2R b KQkq - 0 1").legal_moves}
    for a in legal:
        assert GAME.uci_to_action(state, 0, GAME.move_to_uci(state, 0, a)) == a
    for bad in ("e2", "e2e4x", "e9e4", "g2h1k"):
        with pytest.raises(ValueError, match="UCI"):
            GAME.uci_to_action(state, 0, bad)


# ----------------------------------------------------------------------------------------------- corner cases
def _legal_uci(state) -> set[str]:
    return {GAME.move_to_uci(state, 0, a) for a in GAME.legal_mask(state)[0].nonzero()[:, 0].tolist()}


def _play(fen: str, moves: list[str]) -> tuple[object, chess.Board]:
    """Play `moves` from `fen` in both; after every ply the FEN, legal moves and game end must agree."""
    state, board = GAME.from_fen(fen), chess.Board(fen)
    for ply in range(len(moves) + 1):
        assert GAME.to_fen(state)[0] == board.fen(), f"ply {ply}"
        outcome = board.outcome(claim_draw=True)
        done = bool(state.done[0])
        assert done == (outcome is not None), f"ply {ply}: ours {GAME.termination(state)}, python-chess {outcome}"
        if done:
            assert GAME.termination(state)[0] == outcome.termination.name.lower()
            break
        assert _legal_uci(state) == {m.uci() for m in board.legal_moves}, f"ply {ply}"
        if ply < len(moves):
            state = GAME.step(state, torch.tensor([GAME.uci_to_action(state, 0, moves[ply])]))
            board.push_uci(moves[ply])
    return state, board


def test_castling_through_or_out_of_check_is_illegal():
    state, _ = _play("5r1k/8/8/8/8/8/8/R3K2R w KQ - 0 1", [])  # f1 attacked: no O-O; O-O-O fine
    assert "e1g1" not in _legal_uci(state) and "e1c1" in _legal_uci(state)
    state, _ = _play("1r5k/8/8/8/8/8/8/R3K2R w KQ - 0 1", [])  # b1 attacked does not stop O-O-O
    assert {"e1c1", "e1g1"} <= _legal_uci(state)
    state, _ = _play("4r2k/8/8/8/8/8/8/R3K2R w KQ - 0 1", [])  # in check: no castling
    assert not {"e1c1", "e1g1"} & _legal_uci(state)
    state, _ = _play("4k3/8/8/8/8/8/8/R3K1NR w KQ - 0 1", [])  # a piece between
    assert "e1g1" not in _legal_uci(state)
    state, _ = _play("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1", ["e1g1", "e8c8"])
    assert GAME.to_fen(state)[0].startswith("2kr3r/8/8/8/8/8/8/R4RK1 w - -")


def test_en_passant_that_uncovers_check_is_illegal():
    state, _ = _play("8/2p5/8/KP5r/8/8/8/7k b - - 0 1", ["c7c5"])
    assert "b5c6" not in _legal_uci(state) and GAME.to_fen(state)[0].split()[3] == "-"
    # en passant that takes the checking pawn is legal
    state, _ = _play("8/8/8/2k5/4p3/8/3P4/4K3 w - - 0 1", ["d2d4", "e4d3"])
    assert GAME.to_fen(state)[0].startswith("8/8/8/2k5/8/3p4/8/4K3 w")


def test_promotion_with_capture_and_underpromotion():
    fen = "1r5k/P7/8/8/8/8/8/K7 w - - 0 1"
    state, _ = _play(fen, [])
    assert {"a7a8q", "a7a8r", "a7a8b", "a7a8n", "a7b8q", "a7b8r", "a7b8b", "a7b8n"} <= _legal_uci(state)
    state, _ = _play(fen, ["a7b8n"])
    assert GAME.to_fen(state)[0].startswith("1N5k/8")
    state, _ = _play("7k/8/8/8/8/8/1p6/R1R4K b - - 0 1", ["b2c1q", "h1g2", "c1a1"])


def test_checkmate_and_stalemate():
    state, board = _play(chess.STARTING_FEN, ["f2f3", "e7e5", "g2g4", "d8h4"])
    assert GAME.termination(state) == ["checkmate"] and int(state.winner[0]) == 1
    assert GAME.outcome(state)[1].tolist() == [-1.0]  # white, to move, has lost
    state, _ = _play("7k/5Q2/8/6K1/8/8/8/8 w - - 0 1", ["g5g6"])
    assert GAME.termination(state) == ["stalemate"] and GAME.outcome(state)[1].tolist() == [0.0]


def test_repetition_across_castling_rights():
    # the king's trip loses the castling rights: the same pieces with other rights are another position
    trip = ["e1e2", "e8e7", "e2e1", "e7e8"]
    state, board = _play("r3k3/8/8/8/8/8/8/R3K3 w Qq - 0 1", trip * 3)
    assert GAME.termination(state) == ["threefold_repetition"]
    # claimed at ply 9, where Ke7 would make the third occurrence of the position after ply 2; had the start
    # position (with castling rights) counted as the position after ply 4, the claim would have come at ply 7
    assert int(state.moves[0]) == 9


def test_threefold_by_knights_and_the_claim_by_a_move():
    shuffle = ["g1f3", "g8f6", "f3g1", "f6g8"]
    state, _ = _play(chess.STARTING_FEN, shuffle * 3)
    assert GAME.termination(state) == ["threefold_repetition"] and int(state.moves[0]) == 7


def test_fifty_move_claim():
    # halfmove clock 98: one quiet move makes 99, and then black can claim with any quiet move
    state, _ = _play("8/8/8/4k3/8/8/8/R3K3 w - - 98 80", ["a1a2", "e5e4"])
    assert GAME.termination(state) == ["fifty_moves"] and int(state.moves[0]) == 1
    state, _ = _play("8/8/8/4k3/8/8/8/R3K3 w - - 100 80", [])
    assert GAME.termination(state) == ["fifty_moves"]
    # a pawn move resets the clock
    state, _ = _play("8/8/8/4k3/8/8/P7/4K3 w - - 97 80", ["a2a3", "e5e4", "e1e2"])
    assert not bool(state.done[0])


@pytest.mark.parametrize(
    "fen",
    [
        "8/8/4k3/8/8/3NK3/8/8 w - - 0 1",
        "8/8/4k3/8/8/3NK3/8/7q w - - 0 1",
        "8/8/4k3/8/8/3NK3/8/7r w - - 0 1",
        "8/8/4k3/8/8/2NNK3/8/8 w - - 0 1",
        "8/2b5/4k3/8/8/3BK3/8/8 w - - 0 1",
        "8/3b4/4k3/8/8/3BK3/8/8 w - - 0 1",
        "8/8/4k3/8/8/3BK3/8/8 w - - 0 1",
        "8/8/4k3/8/8/4K3/8/8 w - - 0 1",
        "8/8/4k3/8/3p4/3BK3/8/8 w - - 0 1",
        "8/8/4k3/8/8/3BK2n/8/8 w - - 0 1",
    ],
)
def test_insufficient_material_as_python_chess(fen):
    state = GAME.from_fen(fen)
    assert bool(state.done[0]) == chess.Board(fen).is_insufficient_material()
    assert GAME.termination(state)[0] == ("insufficient_material" if bool(state.done[0]) else "")


def test_max_moves_ends_as_a_draw():
    game = Chess(max_moves=6)
    state = game.init(1)
    for move in ["g1f3", "g8f6", "b1c3", "b8c6", "e2e4", "e7e5"]:
        assert not bool(state.done[0])
        state = game.step(state, torch.tensor([game.uci_to_action(state, 0, move)]))
    assert game.termination(state) == ["max_moves"] and game.outcome(state)[1].tolist() == [0.0]
    assert not game.legal_mask(state).any()
    with pytest.raises(ValueError, match="max_moves"):
        Chess(max_moves=0)


def test_termination_names_are_python_chess_names():
    assert {t.name.lower() for t in chess.Termination} >= set(TERMINATIONS[1:-1])


# ----------------------------------------------------------------------------------------- protocol, planes
def test_registered():
    game = envs.get_game("chess")  # check_game runs on it in tests/envs/test_check_game.py
    assert game.num_actions == 4672 and game.planes_shape == (119, 8, 8) and len(game.symmetries()) == 1
    assert envs.get_game("chess", max_moves=100).options == {"max_moves": 100}


def test_planes_and_random_actions():
    state = GAME.from_fen("r3k2r/8/8/8/8/8/P7/R3K2R b Kq - 5 20")
    planes = GAME.planes(state)[0]
    assert planes.shape == (119, 8, 8)
    # black to move: its rook on a8 is at row 7 (its first rank at the bottom), column 0
    assert planes[3, 7, 0] == 1 and planes[3, 7, 7] == 1 and planes[5, 7, 4] == 1
    assert planes[6, 1, 0] == 1 and planes[9, 0, 7] == 1  # white's pawn a2, rook h1: far side, from black's view
    assert planes[112].sum() == 0 and planes[114:118, 0, 0].tolist() == [0.0, 1.0, 1.0, 0.0]
    assert float(planes[118, 0, 0]) == pytest.approx(0.05)
    gen = torch.Generator().manual_seed(0)
    state = GAME.init(64)
    for _ in range(40):
        mask = GAME.legal_mask(state)
        action = GAME.random_actions(state, gen)
        live = mask.any(1)
        assert mask[live].gather(1, action[live, None]).all()
        state = GAME.step(state, action)
    counts = torch.zeros(20)
    start = GAME.init(4000)
    first = GAME.random_actions(start, gen)
    legal = GAME.legal_mask(start)[0].nonzero()[:, 0]
    for i, a in enumerate(legal.tolist()):
        counts[i] = (first == a).sum()
    assert counts.sum() == 4000 and counts.min() > 120  # uniform: 200 each


def _decoded_mask(legal: torch.Tensor) -> torch.Tensor:
    """The legal mask decoded in Python: bit rank * 8 + file of plane p is action (file * 8 + rank) * 73 + p."""
    rows, actions = [], []
    for row, planes in enumerate(legal.tolist()):
        for plane, bits in enumerate(planes):
            bits &= (1 << 64) - 1
            while bits:
                sq = (bits & -bits).bit_length() - 1
                bits &= bits - 1
                rows.append(row)
                actions.append(((sq % 8) * 8 + sq // 8) * 73 + plane)
    out = torch.zeros(legal.shape[0], 4672, dtype=torch.bool)
    out[rows, actions] = True
    return out


def test_legal_mask_of_many_positions_is_written_move_by_move_and_agrees():
    """Many rows (the move list path of chess_end.dense_mask) give the same mask as few rows at a time (the byte
    table path, the one the PettingZoo oracle games check), and both the bitboards decoded in Python; move_ids lists
    each legal move once."""
    from envs import chess_end

    rows = chess_end._SPARSE_ROWS + 8
    gen = torch.Generator().manual_seed(3)
    state = GAME.init(rows)
    for _ in range(35):  # mid-game positions: captures, checks, promotions on the way, some games over
        state = GAME.step(state, GAME.random_actions(state, gen), check=False)
    mask = GAME.legal_mask(state)
    few = torch.cat([GAME.legal_mask(take(state, list(range(i, min(i + 50, rows))))) for i in range(0, rows, 50)])
    assert torch.equal(mask, few)
    assert torch.equal(mask, _decoded_mask(state.legal))
    ids = chess_end.move_ids(state.legal)
    assert torch.equal(ids.sort().values, mask.view(-1).nonzero()[:, 0])
    assert mask.sum() > 20 * rows
    bit63 = torch.full((rows, 73), -(2**63), dtype=torch.long)  # the sign bit: square h8 in every plane
    assert torch.equal(chess_end.dense_mask(bit63), _decoded_mask(bit63))


def test_illegal_action_raises_and_names_the_game():
    state = GAME.init(2)
    bad = torch.tensor([GAME.uci_to_action(take(state, 0), 0, "e2e4"), GAME.uci_to_action(take(state, 0), 0, "e2e5")])
    with pytest.raises(envs.IllegalActionError, match="game 1"):
        GAME.step(state, bad)


@pytest.mark.cuda
def test_perft_and_check_game_on_cuda():
    state = GAME.from_fen(PERFT["kiwipete"][0], device="cuda")
    assert sum(GAME.perft(state, 3)[0].values()) == 97862
    envs.check_game(GAME, device="cuda", batch=4, draw=False)
