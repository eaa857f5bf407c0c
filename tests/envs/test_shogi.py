"""Shogi and minishogi (envs.shogi): perft from the start and published positions, divide counts and random games
move for move against cshogi (9x9) and minishogilib (5x5): legal moves as USI text and as dlshogi action ids, SFEN
after every move, check and game end; hand-written corner cases (nifu, uchifuzume, forced promotion, sennichite,
perpetual check, impasse); SFEN and USI text both ways."""

from __future__ import annotations

import random
import re

import pytest
import torch

import envs

START9 = "lnsgkgsnl/1r5b1/ppppppppp/9/9/9/PPPPPPPPP/1B5R1/LNSGKGSNL b - 1"
MATSURI = "l6nl/5+P1gk/2np1S3/p1p4Pp/3P2Sp1/1PPb2P1P/P5GS1/R8/LN4bKL w RGgsn5p 1"
MAX_MOVES = "R8/2K1S1SSk/4B4/9/9/9/9/9/1L1L1L3 b RBGSNLP3g3n17p 1"


@pytest.fixture(scope="module")
def shogi():
    return envs.get_game("shogi")


@pytest.fixture(scope="module")
def mini():
    return envs.get_game("minishogi")


def _cshogi():
    return pytest.importorskip("cshogi", reason="cshogi (the 9x9 oracle, a test dependency) is not installed")


def _minishogilib():
    return pytest.importorskip("minishogilib", reason="minishogilib (the 5x5 oracle) is not installed")


def _total(game, sfen: str, depth: int) -> int:
    return sum(game.perft(game.from_sfen(sfen), depth)[0].values())


# ------------------------------------------------------------------------------------------------------ perft
@pytest.mark.parametrize("depth, count", [(1, 30), (2, 900), (3, 25_470)])
def test_perft_start(shogi, depth, count):
    assert _total(shogi, START9, depth) == count


@pytest.mark.slow
@pytest.mark.parametrize("depth, count", [(4, 719_731), (5, 19_861_490)])
def test_perft_start_deep(shogi, depth, count):
    assert _total(shogi, START9, depth) == count


@pytest.mark.slow
def test_perft_start_depth5_divide(shogi):
    """Depth 5 from the start, per root move (as USI text) against cshogi, and the published total 19,861,490."""
    cshogi = _cshogi()
    state = shogi.init(1)
    ours = {shogi.move_to_usi(state, 0, a): c for a, c in shogi.perft(state, 5)[0].items()}
    assert sum(ours.values()) == 19_861_490
    assert ours == _cshogi_divide(cshogi, cshogi.Board(), 5)


@pytest.mark.parametrize("sfen, depth, count", [(MATSURI, 1, 207), (MATSURI, 2, 28_684), (MAX_MOVES, 1, 593)])
def test_perft_published(shogi, sfen, depth, count):
    """Published counts (ShogiLibSharp's perft tests): the Matsuri position and the one with most legal moves."""
    assert _total(shogi, sfen, depth) == count


@pytest.mark.slow
def test_perft_published_deep(shogi):
    assert _total(shogi, MAX_MOVES, 2) == 105_677
    assert _total(shogi, MATSURI, 3) == 4_809_015


@pytest.mark.parametrize("depth, count", [(1, 14), (2, 181), (3, 2_512), (4, 35_401)])
def test_perft_minishogi(mini, depth, count):
    assert _total(mini, "startpos", depth) == count


@pytest.mark.slow
@pytest.mark.parametrize("depth, count", [(5, 533_203), (6, 8_276_188)])
def test_perft_minishogi_deep(mini, depth, count):
    assert _total(mini, "startpos", depth) == count


def _cshogi_divide(cshogi, board, depth: int) -> dict[str, int]:
    def count(d: int) -> int:
        if d == 1:
            return len(board.legal_moves)
        total = 0
        for m in list(board.legal_moves):
            board.push(m)
            total += count(d - 1)
            board.pop()
        return total

    out = {}
    for m in list(board.legal_moves):
        board.push(m)
        out[cshogi.move_to_usi(m)] = count(depth - 1) if depth > 1 else 1
        board.pop()
    return out


def _random_positions(cshogi, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        board = cshogi.Board()
        for _ in range(rng.randrange(20, 160)):
            moves = list(board.legal_moves)
            if not moves:
                break
            board.push(rng.choice(moves))
        if board.legal_moves:
            out.append(board.sfen())
    return out


def test_divide_against_cshogi(shogi):
    """Depth-2 divide counts per root move (as USI text) of published and random positions agree with cshogi."""
    cshogi = _cshogi()
    sfens = [MATSURI, MAX_MOVES] + _random_positions(cshogi, 6, seed=3)
    state = shogi.from_sfen(sfens)
    mine = shogi.perft(state, 2)
    for i, sfen in enumerate(sfens):
        ours = {shogi.move_to_usi(state, i, a): c for a, c in mine[i].items()}
        assert ours == _cshogi_divide(cshogi, cshogi.Board(sfen), 2), sfen


def test_divide_against_minishogilib(mini):
    """Depth-3 divide counts per root move of positions reached by random play agree with minishogilib."""
    msl = _minishogilib()
    rng = random.Random(5)

    def count(pos, d: int) -> int:
        moves = pos.generate_moves()
        if d == 1:
            return len(moves)
        total = 0
        for m in moves:
            pos.do_move(m)
            total += count(pos, d - 1)
            pos.undo_move()
        return total

    sfens, expected = [], []
    for _ in range(6):
        pos = msl.Position()
        pos.set_start_position()
        for _ in range(rng.randrange(4, 40)):
            moves = pos.generate_moves()
            if not moves:
                break
            pos.do_move(rng.choice(moves))
        divide = {}
        for m in pos.generate_moves():
            pos.do_move(m)
            divide[m.sfen()] = count(pos, 2)
            pos.undo_move()
        sfens.append(pos.sfen(False))
        expected.append(divide)
    state = mini.from_sfen(sfens)
    for i, counts in enumerate(mini.perft(state, 3)):
        assert {mini.move_to_usi(state, i, a): c for a, c in counts.items()} == expected[i], sfens[i]


# ------------------------------------------------------------------------------------------------ random games
def _play_against_cshogi(shogi, games: int, seed: int) -> int:
    """Random games move for move with cshogi; returns the plies compared."""
    cshogi = _cshogi()
    from cshogi.dlshogi import make_move_label

    rng = random.Random(seed)
    state = shogi.init(games)
    boards = [cshogi.Board() for _ in range(games)]
    seen: list[dict[int, int]] = [{b.zobrist_hash(): 1} for b in boards]
    ended: set[int] = set()
    plies = 0
    while len(ended) < games:
        mask = shogi.legal_mask(state)
        sfens = shogi.to_sfen(state)
        reasons = shogi.termination(state)
        actions = [0] * games
        for i, board in enumerate(boards):
            if i in ended:
                continue
            assert sfens[i] == board.sfen()
            assert bool(state.check[i]) == board.is_check()
            count = seen[i][board.zobrist_hash()]
            assert int(state.rep[i]) == count
            if board.is_draw(16) in (1, 2, 3):  # cshogi reports a repetition from the second occurrence on
                assert count >= 2
            legal = list(board.legal_moves)
            if reasons[i]:
                ended.add(i)
                if reasons[i] == "checkmate":
                    assert not legal and board.is_check() and board.is_game_over()
                elif reasons[i] in ("repetition", "perpetual_check"):
                    assert count == 4
                else:
                    assert reasons[i] == "max_moves" and int(state.moves[i]) == shogi.max_moves
                continue
            assert legal and count < 4
            labels = {make_move_label(m, board.turn): m for m in legal}
            assert set(mask[i].nonzero()[:, 0].tolist()) == set(labels)
            if i == 0 or plies % 11 == 0:  # the USI text of every legal move, now and then
                assert set(shogi.legal_usi(state, i).values()) == {cshogi.move_to_usi(m) for m in legal}
            move = rng.choice(legal)
            a = make_move_label(move, board.turn)
            assert shogi.usi_to_action(state, i, cshogi.move_to_usi(move)) == a
            board.push(move)
            key = board.zobrist_hash()
            seen[i][key] = seen[i].get(key, 0) + 1
            actions[i] = a
            plies += 1
        state = shogi.step(state, torch.tensor(actions))
    return plies


def test_random_games_against_cshogi():
    """100 random games to their end (checkmate or an 80-ply cap) agree with cshogi at every ply."""
    assert _play_against_cshogi(envs.get_game("shogi", max_moves=80), 100, seed=11) > 7_000


@pytest.mark.slow
def test_many_random_games_against_cshogi(shogi):
    """1,000 random games to their end at the default 512-ply cap."""
    assert _play_against_cshogi(shogi, 1000, seed=12) > 100_000


def _play_against_minishogilib(mini, games: int, seed: int) -> int:
    """Random minishogi games move for move with minishogilib; returns the plies compared."""
    msl = _minishogilib()
    rng = random.Random(seed)
    state = mini.init(games)
    positions = []
    for _ in range(games):
        p = msl.Position()
        p.set_start_position()
        positions.append(p)
    ended: set[int] = set()
    plies = drop_mates = 0
    while len(ended) < games:
        sfens = mini.to_sfen(state)
        reasons = mini.termination(state)
        actions = [0] * games
        for i, pos in enumerate(positions):
            if i in ended:
                continue
            assert _canonical(sfens[i]) == _canonical(pos.sfen(False))
            assert bool(state.check[i]) == pos.is_in_check()
            legal = pos.generate_moves()
            repeated, _, _ = pos.is_repetition()  # true at the fourth occurrence
            assert repeated == (reasons[i] in ("repetition", "perpetual_check"))
            if reasons[i]:
                ended.add(i)
                if reasons[i] in ("checkmate", "no_legal_move"):
                    assert not legal and pos.is_in_check() == (reasons[i] == "checkmate")
                elif reasons[i] == "max_moves":
                    assert int(state.moves[i]) == mini.max_moves
                continue
            mine = set(mini.legal_usi(state, i).values())
            theirs = {m.sfen(): m for m in legal}
            assert mine <= set(theirs)
            for text in set(theirs) - mine:  # minishogilib generates pawn-drop mates; here they are illegal
                assert text.startswith("P*")
                pos.do_move(theirs[text])
                assert pos.is_in_check() and not pos.generate_moves()
                pos.undo_move()
                drop_mates += 1
            move = rng.choice(legal)
            if move.sfen() not in mine:
                move = rng.choice([m for m in legal if m.sfen() in mine])
            actions[i] = mini.usi_to_action(state, i, move.sfen())
            pos.do_move(move)
            plies += 1
        state = mini.step(state, torch.tensor(actions))
    return plies, drop_mates


def _canonical(sfen: str) -> tuple[str, str, dict[str, int]]:
    """Board, side and hand counts of an SFEN: minishogilib writes its hand in another order ("rP", "1P") and keeps
    the move number at 1, so those are compared as counts and not at all."""
    board, side, hand = sfen.split()[:3]
    counts = {letter: int(n or 1) for n, letter in re.findall(r"([0-9]*)([A-Za-z])", hand)}
    return board, side, counts


def test_random_games_against_minishogilib(mini):
    """40 random minishogi games to their end agree with minishogilib at every ply (moves, SFEN, check, end),
    except that minishogilib generates pawn drops that mate, which are illegal here (and mate there)."""
    plies, drop_mates = _play_against_minishogilib(mini, 40, seed=13)
    assert plies > 3_000 and drop_mates >= 1


@pytest.mark.slow
def test_many_random_games_against_minishogilib(mini):
    plies, drop_mates = _play_against_minishogilib(mini, 400, seed=14)
    assert plies > 30_000 and drop_mates >= 5


# ------------------------------------------------------------------------------------------------ corner cases
def _usi_moves(game, sfen: str) -> set[str]:
    state = game.from_sfen(sfen)
    return {game.move_to_usi(state, 0, a) for a in game.legal_mask(state)[0].nonzero()[:, 0].tolist()}


def test_nifu(shogi):
    """No pawn drop on a file that holds the dropper's unpromoted pawn; a promoted pawn does not count."""
    moves = _usi_moves(shogi, "4k4/9/9/9/4P4/9/9/9/4K2+P1 b P 1")
    assert not any(m.startswith("P*5") for m in moves)
    assert "P*2c" in moves and "P*4c" in moves
    assert "P*5c" in _usi_moves(shogi, "4k4/9/9/9/4+P4/9/9/9/4K4 b P 1")


def test_uchifuzume(shogi):
    """A pawn drop that mates is illegal; the same check with an escape square left is legal (cshogi agrees)."""
    cshogi = _cshogi()
    mate, escape = "7lk/9/7G1/9/9/9/9/9/4K4 b P 1", "8k/9/7G1/9/9/9/9/9/4K4 b P 1"
    for sfen, legal in ((mate, False), (escape, True)):
        assert ("P*1b" in _usi_moves(shogi, sfen)) is legal
        assert ("P*1b" in {cshogi.move_to_usi(m) for m in cshogi.Board(sfen).legal_moves}) is legal
    # only a pawn drop: a gold dropped there mates and is legal
    state = shogi.from_sfen("7lk/9/7G1/9/9/9/9/9/4K4 b G 1")
    state = shogi.step(state, torch.tensor([shogi.usi_to_action(state, 0, "G*1b")]))
    assert shogi.termination(state) == ["checkmate"] and int(state.winner[0]) == 0


def test_forced_promotion(shogi):
    """Pawn and lance to the last rank and knight to the last two must promote; elsewhere in the zone it is a
    choice; gote's the same from its side."""
    moves = _usi_moves(shogi, "k8/2P6/2L6/9/1N7/9/9/9/K8 b - 1")  # pawn 7b, lance 7c, knight 8e
    assert "7b7a+" in moves and "7b7a" not in moves
    assert "8e7c" not in moves  # 7c holds the lance
    moves = _usi_moves(shogi, "k8/9/9/2L6/1N7/9/9/9/K8 b - 1")
    assert "7d7a+" in moves and "7d7a" not in moves and {"7d7b", "7d7b+", "7d7c", "7d7c+"} <= moves
    assert {"8e9c", "8e9c+", "8e7c", "8e7c+"} <= moves
    moves = _usi_moves(shogi, "k8/9/1N7/9/9/9/9/9/K8 b - 1")
    assert moves >= {"8c9a+", "8c7a+"} and not moves & {"8c9a", "8c7a"}
    moves = _usi_moves(shogi, "k8/9/9/9/9/9/6p2/9/K8 w - 1")
    assert "3g3h+" in moves and "3g3h" in moves
    assert _usi_moves(shogi, "k8/9/9/9/9/9/9/6p2/K8 w - 1") & {"3h3i", "3h3i+"} == {"3h3i+"}
    mini = envs.get_game("minishogi")
    moves = _usi_moves(mini, "k4/2P2/5/5/4K b - 1")
    assert "3b3a+" in moves and "3b3a" not in moves


def _play(game, sfen: str, moves: list[str]):
    state = game.from_sfen(sfen)
    for m in moves:
        assert not bool(state.done[0]), (m, game.termination(state))
        state = game.step(state, torch.tensor([game.usi_to_action(state, 0, m)]))
    return state


def test_perpetual_check_and_repetition(shogi):
    """The fourth occurrence ends the game: the side that checked with every move loses; otherwise a draw."""
    cshogi = _cshogi()
    sfen = "8k/9/9/9/9/9/9/9/K6R1 b - 1"
    cycle = ["2i1i", "1a2a", "1i2i", "2a1a"]
    state = _play(shogi, sfen, cycle * 2 + cycle[:3])
    assert not bool(state.done[0]) and int(state.rep[0]) == 3
    state = _play(shogi, sfen, cycle * 3)
    assert shogi.termination(state) == ["perpetual_check"] and int(state.winner[0]) == 1
    board = cshogi.Board(sfen)
    for m in cycle * 3:
        board.push_usi(m)
    assert board.is_draw() == cshogi.REPETITION_LOSE  # cshogi: the side to move (sente) checked throughout
    quiet = "8k/9/9/9/9/9/9/9/K5R2 b - 1"  # the rook shuffles without checking
    state = _play(shogi, quiet, ["3i4i", "1a2a", "4i3i", "2a1a"] * 3)
    assert shogi.termination(state) == ["repetition"] and int(state.winner[0]) == -1
    _, value = shogi.outcome(state)
    assert float(value[0]) == 0.0
    mini = envs.get_game("minishogi")
    state = _play(mini, "startpos", ["1e1d", "5a5b", "1d1e", "5b5a"] * 3)
    assert mini.termination(state) == ["repetition"] and int(state.winner[0]) == 1  # minishogi: sente loses


def test_impasse(shogi):
    """With impasse=True a side to move that meets the 27-point rule wins at once (cshogi's is_nyugyoku agrees)."""
    cshogi = _cshogi()
    win = "4K4/8G/+P+P+P+P+P+P+P+P+P/9/9/9/9/9/k8 b 2R2B 1"
    short = "4K4/8G/+P+P+P+P+P+P+P+P+P/9/9/9/9/9/k8 b 2R 1"  # 10 pieces but 20 points
    game = envs.get_game("shogi", **envs.parse_options(["impasse=true"]))
    assert game.impasse and game.options == {"impasse": True}
    with pytest.raises(ValueError, match="impasse"):
        envs.get_game("shogi", impasse="maybe")
    for sfen, declares in ((win, True), (short, False)):
        assert cshogi.Board(sfen).is_nyugyoku() is declares
        state = game.from_sfen(sfen)
        assert bool(state.done[0]) is declares
        if declares:
            assert game.termination(state) == ["impasse"] and int(state.winner[0]) == 0
        assert not bool(shogi.from_sfen(sfen).done[0])  # off by default


def test_no_legal_move_loses_and_ply_limit(shogi):
    game = envs.get_game("shogi", max_moves=2)
    state = _play(game, "startpos", ["7g7f", "3c3d"])
    assert game.termination(state) == ["max_moves"] and int(state.winner[0]) == -1
    state = shogi.from_sfen("k8/1G7/1G7/9/9/9/9/9/K8 w - 1")  # gote's king is mated
    assert shogi.termination(state) == ["checkmate"] and int(state.winner[0]) == 0


# ------------------------------------------------------------------------------------------------------ notation
def test_sfen_and_usi_round_trip(shogi, mini):
    cshogi = _cshogi()
    sfens = [START9, MATSURI, MAX_MOVES]
    assert shogi.to_sfen(shogi.from_sfen(sfens)) == [cshogi.Board(s).sfen() for s in sfens]
    assert shogi.to_sfen(shogi.init(2)) == [START9] * 2
    assert mini.to_sfen(mini.init(1)) == ["rbsgk/4p/5/P4/KGSBR b - 1"]
    state = shogi.init(1)
    assert shogi.move_to_usi(state, 0, shogi.usi_to_action(state, 0, "7g7f")) == "7g7f"
    for bad in ("7g7e", "7g7f=", "x", "P*5e", "0a1a"):
        with pytest.raises(ValueError, match="USI move"):
            shogi.usi_to_action(state, 0, bad)
    for bad in ("", "9/9 b - 1", START9.replace(" b ", " x "), START9.replace("K", "G"), "lnsgkgsnl/1r5b1 b - 1"):
        with pytest.raises(ValueError, match="SFEN"):
            shogi.from_sfen(bad)


def test_traits(shogi, mini):
    from envs import traits

    assert traits.side_names(shogi) == ("sente", "gote")
    assert traits.display_name(mini) == "Minishogi"
    assert "usi" in traits.engine_protocols(shogi)
    state = mini.init(1)
    assert traits.text_to_move(mini, state, 0, "1e1d") in traits_legal(mini, state)
    assert set(traits.option_specs(shogi)) == {"max_moves", "impasse"}
    assert shogi.num_actions == 2187 and mini.num_actions == 625
    assert shogi.planes(shogi.init(2)).shape == (2, *shogi.planes_shape) == (2, 362, 9, 9)
    assert mini.planes(state).shape == (1, 266, 5, 5)


def traits_legal(game, state) -> list[int]:
    return game.legal_mask(state)[0].nonzero()[:, 0].tolist()
