"""Go's auxiliary targets (ownership, final score) and optional input features, against references written
differently: pure-Python flood fills over lists, hand-made boards, OpenSpiel's go returns, and GNU Go's final status
of the points of its finished games."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import torch

from envs import traits
from envs.go import Go


def _board(text: str) -> torch.Tensor:
    rows = [line.split() for line in text.strip().splitlines()]
    return torch.tensor([[{"X": 1, "O": -1, ".": 0}[v] for v in row] for row in rows], dtype=torch.int8)


def _neighbours(p: int, size: int) -> list[int]:
    r, c = divmod(p, size)
    return [
        rr * size + cc
        for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
        if 0 <= rr < size and 0 <= cc < size
    ]


def _region(board: list[int], p: int, size: int) -> tuple[set[int], set[int]]:
    """(the points connected to p with p's value, the values of the points bordering them)."""
    seen, todo, border = {p}, [p], set()
    while todo:
        q = todo.pop()
        for r in _neighbours(q, size):
            if board[r] == board[p] and r not in seen:
                seen.add(r)
                todo.append(r)
            elif board[r] != board[p]:
                border.add(r)
    return seen, border


def _owner_reference(board: list[int], size: int) -> list[int]:
    """Area owner per point (+1 black, -1 white, 0 neither) by flood fill over a list."""
    owner = list(board)
    for p, v in enumerate(board):
        if v == 0:
            region, border = _region(board, p, size)
            colours = {board[q] for q in border}
            owner[p] = 1 if colours == {1} else -1 if colours == {-1} else 0
    return owner


def _random_finished(game: Go, batch: int, seed: int):
    """`batch` random games played to their end (random legal moves, passes more likely as a game goes on)."""
    gen = torch.Generator().manual_seed(seed)
    state = game.init(batch)
    while not bool(state.done.all()):
        mask = game.legal_mask(state).float()
        late = (state.moves.float() / game.max_moves)[:, None]
        mask[:, game.pass_action] *= 0.02 + 4 * late[:, 0]
        mask[state.done, game.pass_action] = 1.0
        state = game.step(state, torch.multinomial(mask, 1, generator=gen)[:, 0])
    return state


def test_traits_present_for_go_absent_elsewhere():
    import envs

    go = Go(size=5)
    assert traits.ownership(go) is not None and traits.final_score(go) is not None
    ttt = envs.get_game("tictactoe")
    assert traits.ownership(ttt) is None and traits.final_score(ttt) is None


def test_ownership_of_a_hand_made_finished_game():
    game = Go(size=5, komi=0.5)
    board = _board(
        """
        . X O . .
        . X O O O
        X X . O .
        . X O O .
        X . X O .
        """
    )
    for player, sign in ((0, 1), (1, -1)):
        state = game.position(board, player=player)
        own = game.ownership(state)[0].view(5, 5) * sign  # black's view
        expected = torch.tensor(
            [[1, 1, -1, -1, -1], [1, 1, -1, -1, -1], [1, 1, 0, -1, -1], [1, 1, -1, -1, -1], [1, 1, 1, -1, -1]]
        ).float()  # (2, 2) touches both colours: neither's
        assert torch.equal(own, expected)
        # black 11, white 13: 11 - 13 - 0.5
        assert float(game.final_score(state)[0]) == pytest.approx(-2.5 * sign)
        assert float(game.ownership(state).sum()) * sign - game.komi == pytest.approx(-2.5)


@pytest.mark.parametrize("size", [5, 7])
def test_ownership_of_random_finished_games_is_area_scoring(size):
    game = Go(size=size, komi=6.5)
    state = _random_finished(game, 60, seed=size)
    own = game.ownership(state)
    score = game.final_score(state)
    for i in range(60):
        board = state.board[i].tolist()
        sign = 1 if int(state.player[i]) == 0 else -1
        ref = _owner_reference(board, size)
        assert own[i].tolist() == [sign * v for v in ref], f"game {i}"
        black_score = sum(ref) - game.komi
        assert float(score[i]) == pytest.approx(sign * black_score)
        assert float(state.score[i]) == pytest.approx(black_score)  # the game's own final score agrees
        _, value = game.outcome(state)
        assert float(value[i]) == float(np.sign(score[i]))


def test_final_score_against_openspiel_returns():
    pyspiel = pytest.importorskip("pyspiel")
    size, komi = 5, 2.5
    game = Go(size=size, komi=komi)
    os_game = pyspiel.load_game("go", {"board_size": size, "komi": komi})
    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(24):
        state, os_state = game.init(1), os_game.new_initial_state()
        while not bool(state.done[0]) and not os_state.is_terminal():
            legal = game.legal_mask(state)[0].nonzero()[:, 0].tolist()
            moves = int(state.moves[0])
            a = game.pass_action if rng.random() < 0.02 + moves / game.max_moves else int(rng.choice(legal))
            r, c = divmod(a, size)
            os_state.apply_action(
                a if a == game.pass_action else (size - 1 - r) * size + c
            )  # OpenSpiel: row 0 at the bottom
            state = game.step(state, torch.tensor([a]))
        if not bool(state.done[0]) or not os_state.is_terminal() or os_state.returns() == [0.0, 0.0]:
            continue  # OpenSpiel stopped on a repeated board: no score to compare
        sign = 1.0 if int(state.player[0]) == 0 else -1.0
        black_score = sign * float(game.final_score(state)[0])
        assert np.sign(black_score) == os_state.returns()[0]
        assert sign * float(game.ownership(state)[0].sum()) - komi == pytest.approx(black_score)
        checked += 1
    assert checked >= 12


# ------------------------------------------------------------------------------------------ input features


def _features_reference(board: list[int], player: int, ko: int, size: int) -> dict[str, list[bool]]:
    """Planes 8-11 by playing each move on a copy of the list board."""
    me = 1 if player == 0 else -1
    n = size * size

    def libs(b: list[int], p: int) -> int:
        region, border = _region(b, p, size)
        return sum(1 for q in border if b[q] == 0)

    out = {k: [False] * n for k in ("own3", "opp3", "capture", "atari")}
    for p in range(n):
        if board[p]:
            key = "own3" if board[p] == me else "opp3"
            out[key][p] = libs(board, p) >= 3
            continue
        if p == ko:
            continue
        after = list(board)
        after[p] = me
        captured = False
        for q in _neighbours(p, size):
            if after[q] == -me and libs(after, q) == 0:
                for r in _region(after, q, size)[0]:
                    after[r] = 0
                captured = True
        left = libs(after, p)
        if left == 0:
            continue  # suicide: not a move
        out["capture"][p] = captured
        out["atari"][p] = left == 1
    return out


@pytest.mark.parametrize("size", [5, 7, pytest.param(9, marks=pytest.mark.slow)])
def test_input_features_against_a_list_reference(size):
    game = Go(size=size, features=True)
    plain = Go(size=size)
    assert game.planes_shape == (12, size, size) and game.options["features"] is True
    assert "features" not in plain.options and plain.planes_shape == (8, size, size)
    gen = torch.Generator().manual_seed(size)
    state = game.init(12)
    seen = {"capture": 0, "atari": 0}
    for move in range(3 * size * size // 2):
        planes = game.planes(state)
        assert torch.equal(planes[:, :8], plain.planes(state))
        if move % 4 == 0:
            for i in range(12):
                if bool(state.done[i]):
                    continue
                ref = _features_reference(state.board[i].tolist(), int(state.player[i]), int(state.ko[i]), size)
                for c, key in enumerate(("own3", "opp3", "capture", "atari")):
                    got = planes[i, 8 + c].flatten().bool().tolist()
                    assert got == ref[key], f"size {size} move {move} game {i}: {key}"
                seen["capture"] += sum(ref["capture"])
                seen["atari"] += sum(ref["atari"])
        mask = game.legal_mask(state).float()
        mask[:, game.pass_action] = 0.05
        mask[state.done, game.pass_action] = 1.0
        state = game.step(state, torch.multinomial(mask, 1, generator=gen)[:, 0])
    assert seen["capture"] > 20 and seen["atari"] > 20, seen  # the positions did test both


# ------------------------------------------------------------------------------------- against GNU Go's judgement


def _gnugo_games(size: int, komi: float, openings: int, seed: int) -> list[dict[str, list[str]]]:
    """GNU Go (level 1, Chinese rules, --capture-all-dead) plays itself to two passes from `openings` random
    openings of two stones each; for each finished game, its stones and final_status_list answers by status. One
    process per game, its commands in one batch (GNU Go answers in order)."""
    from agents.external_engine import find_engine

    rng = np.random.default_rng(seed)
    columns = "ABCDEFGHJKLMNOPQRST"[:size]
    statuses = ("alive", "dead", "seki", "black_territory", "white_territory", "dame")
    games = []
    for _ in range(openings):
        first = rng.choice(size * size, 2, replace=False)
        lines = [f"boardsize {size}", f"komi {komi}"]
        lines += [f"play {c} {columns[p % size]}{size - p // size}" for c, p in zip("bw", first)]
        lines += ["genmove b", "genmove w"] * (2 * size * size)
        lines += ["list_stones black", "list_stones white", *(f"final_status_list {s}" for s in statuses), "quit"]
        argv = find_engine("gnugo --mode gtp --chinese-rules --capture-all-dead --level 1")
        out = subprocess.run(argv, input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120).stdout
        replies = [r.strip()[1:].split() for r in out.strip().split("\n\n")]
        moves = [r[0].lower() for r in replies[4 : 4 + 4 * size * size] if r]
        if "resign" in moves or moves[-2:] != ["pass", "pass"]:
            continue  # a resigned or unfinished game: no final position to compare
        answers = replies[4 + 4 * size * size :]
        games.append(dict(zip(("black", "white", *statuses), answers)))
    return games


@pytest.mark.gnugo
def test_ownership_of_finished_games_against_gnugo():
    """Ownership of GNU Go's finished games (no dead stones left: --capture-all-dead) is its final status of every
    point: its stones, alive or in seki, its territory; dame neither. The final score is GNU Go's area count too."""
    size, komi = 7, 9.0
    game = Go(size=size, komi=komi)
    games = _gnugo_games(size, komi, openings=3, seed=0)
    assert len(games) >= 2
    for g in games:
        assert g["dead"] == []
        point = {f"{c}{size - r}": r * size + i for r in range(size) for i, c in enumerate("ABCDEFG")}
        board = torch.zeros(1, size * size, dtype=torch.int8)
        board[0, [point[v] for v in g["black"]]] = 1
        board[0, [point[v] for v in g["white"]]] = -1
        want = [0] * (size * size)
        for key, owner in (("black_territory", 1), ("white_territory", -1)):
            for v in g[key]:
                want[point[v]] = owner
        for v in g["alive"] + g["seki"]:
            want[point[v]] = int(board[0, point[v]])
        assert any(w == 1 for w in want) and any(w == -1 for w in want)  # both sides own something
        for player, sign in ((0, 1), (1, -1)):
            state = game.position(board, player=player)
            assert (game.ownership(state)[0] * sign).tolist() == [float(w) for w in want]
            assert float(game.final_score(state)[0]) * sign == pytest.approx(sum(want) - komi)
