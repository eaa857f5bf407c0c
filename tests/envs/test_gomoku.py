"""Gomoku: hand-written lines at the edges and corners, overlines, both diagonals, a full-board draw, the size option,
and random games against a plain cell-by-cell reference written here."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import envs
from envs.base import IllegalActionError
from envs.gomoku import Gomoku

S = 15  # the default size
FILLER = [(1, 6), (1, 8), (3, 6), (3, 8), (6, 1), (6, 3), (8, 1)]  # white's spread-out replies: off every tested line


def _play(game: Gomoku, moves: list[tuple[int, int]]):
    state = game.init(1)
    for r, c in moves:
        state = game.step(state, torch.tensor([r * game.size + c]))
    return state


def _interleave(first: list[tuple[int, int]], second: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for i, cell in enumerate(first):
        out.append(cell)
        if i < len(second):
            out.append(second[i])
    return out


def _five(cells: set[tuple[int, int]], size: int) -> bool:
    """Brute force: five of `cells` in an unbroken straight line on a size x size board."""
    steps = ((0, 1), (1, 0), (1, 1), (1, -1))
    return any(
        all((r + i * dr, c + i * dc) in cells and 0 <= c + i * dc < size for i in range(5))
        for r, c in cells
        for dr, dc in steps
    )


def _black_wins_with(game: Gomoku, line: list[tuple[int, int]]) -> None:
    """Black plays `line` (the last stone completes it), white plays fillers; check the win comes exactly then."""
    moves = _interleave(line, FILLER[: len(line) - 1])
    state = _play(game, moves[:-1])
    assert not game.outcome(state)[0][0], f"ended before the last stone of {line}"
    r, c = moves[-1]
    state = game.step(state, torch.tensor([r * game.size + c]))
    done, value = game.outcome(state)
    assert done[0] and int(state.winner[0]) == 0 and int(state.player[0]) == 1 and float(value[0]) == -1.0, line
    assert not game.legal_mask(state).any()


# ------------------------------------------------------------------------------------------ lines and edges


@pytest.mark.parametrize(
    "line",
    [
        [(0, 10), (0, 11), (0, 12), (0, 13), (0, 14)],  # top row into the top-right corner
        [(14, 4), (14, 3), (14, 2), (14, 1), (14, 0)],  # bottom row into the bottom-left corner
        [(10, 0), (11, 0), (12, 0), (13, 0), (14, 0)],  # left column into the corner
        [(0, 14), (1, 14), (2, 14), (3, 14), (4, 14)],  # right column from the corner
        [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4)],  # down-right diagonal from the top-left corner
        [(14, 14), (13, 13), (12, 12), (11, 11), (10, 10)],  # down-right diagonal into the bottom-right corner
        [(0, 14), (1, 13), (2, 12), (3, 11), (4, 10)],  # down-left diagonal from the top-right corner
        [(10, 4), (11, 3), (12, 2), (13, 1), (14, 0)],  # down-left diagonal into the bottom-left corner
    ],
)
def test_five_at_the_edges_and_corners(line):
    _black_wins_with(Gomoku(), line)


@pytest.mark.parametrize("middle_last", [True, False])
def test_both_diagonals_in_the_middle(middle_last: bool):
    down_right = [(5, 5), (6, 6), (8, 8), (9, 9), (7, 7)]
    down_left = [(5, 9), (6, 8), (8, 6), (9, 5), (7, 7)]
    for line in (down_right, down_left):
        _black_wins_with(Gomoku(), line if middle_last else line[::-1])


def test_overline_wins():
    game = Gomoku()
    # three and three with a gap: filling it makes seven in a row, which wins (free-style gomoku)
    line = [(12, 0), (12, 1), (12, 2), (12, 4), (12, 5), (12, 6), (12, 3)]
    _black_wins_with(game, line)
    # six on a diagonal, closed by the sixth stone at the end
    _black_wins_with(game, [(9, 14), (10, 13), (11, 12), (12, 11), (14, 9), (13, 10)])


def test_four_broken_and_blocked_lines_do_not_win():
    game = Gomoku()
    black = [(3, 3), (3, 4), (3, 5), (3, 6), (3, 8), (5, 0), (5, 1), (5, 2), (5, 3)]
    white = [(3, 7), (5, 4), (0, 14), (14, 14), (14, 12), (12, 14), (0, 12), (2, 14)]
    state = _play(game, _interleave(black, white))
    assert not game.outcome(state)[0][0]  # 4 + gap blocked by white, four blocked by white
    assert int(state.moves[0]) == 17


def test_rows_do_not_wrap_around_the_edge():
    # consecutive action ids across the end of a row, and a stride-16 run that is no diagonal, do not win
    game = Gomoku()
    wrap_row = [(0, 12), (0, 13), (0, 14), (1, 0), (1, 1)]
    wrap_diag = [(2, 12), (3, 13), (4, 14), (6, 0), (7, 1)]  # ids 42, 58, 74, 90, 106: stride 16
    wrap_col = [(12, 5), (13, 5), (14, 5), (0, 6), (1, 6)]  # ids stride 15 through the bottom edge
    black = wrap_row + wrap_diag + wrap_col
    white = [(r, c) for r in (9, 11) for c in range(0, 15, 2)][: len(black)]
    assert not _five(set(black), S) and not _five(set(white), S)
    state = _play(game, _interleave(black, white))
    assert not game.outcome(state)[0][0] and int(state.moves[0]) == 30


def test_white_wins():
    game = Gomoku()
    white = [(14, 10), (14, 11), (14, 12), (14, 13), (14, 14)]
    black = [(0, 0), (0, 2), (0, 4), (0, 6), (2, 0), (2, 2)]
    moves = _interleave(black, white)
    state = _play(game, moves[:-2])
    assert not game.outcome(state)[0][0]
    state = _play(game, moves[:-1])
    done, value = game.outcome(state)
    assert done[0] and int(state.winner[0]) == 1 and int(state.player[0]) == 0 and float(value[0]) == -1.0


def test_full_board_draw_on_a_small_board():
    rows = ["xxoox", "ooxxo", "xxoox", "ooxxo", "xxoox"]
    xs = [(r, c) for r in range(5) for c in range(5) if rows[r][c] == "x"]
    os_ = [(r, c) for r in range(5) for c in range(5) if rows[r][c] == "o"]
    assert not _five(set(xs), 5) and not _five(set(os_), 5) and len(xs) == 13
    game = Gomoku(size=5)
    state = _play(game, _interleave(xs, os_))
    done, value = game.outcome(state)
    assert done[0] and float(value[0]) == 0.0 and int(state.winner[0]) == -1 and int(state.moves[0]) == 25
    assert not game.legal_mask(state).any()
    # while one cell is left the game goes on
    state = _play(game, _interleave(xs, os_)[:-1])
    assert not game.outcome(state)[0][0] and int(game.legal_mask(state).sum()) == 1


def test_size_option():
    game = envs.get_game("gomoku", size=9)
    assert isinstance(game, Gomoku) and game.options == {"size": 9}
    assert game.num_actions == 81 and game.planes_shape == (3, 9, 9) and game.board_shape == (9, 9)
    assert game.max_moves == 81 and game.pass_action is None
    default = envs.get_game("gomoku")
    assert default.num_actions == 225 and default.planes_shape == (3, 15, 15)
    for bad in (4, 26, 9.0, True):
        with pytest.raises(ValueError, match="size"):
            Gomoku(size=bad)
    with pytest.raises(ValueError, match="komi"):
        envs.get_game("gomoku", komi=6.5)
    # a five on the edge of the small board
    _black_wins_with(game, [(8, 4), (8, 5), (8, 6), (8, 7), (8, 8)])


def test_illegal_and_out_of_range_actions():
    game = Gomoku(size=9)
    state = game.init(2)
    state = game.step(state, torch.tensor([40, 41]))
    with pytest.raises(IllegalActionError, match="game 0: action 40 is illegal"):
        game.step(state, torch.tensor([40, 0]))
    with pytest.raises(IllegalActionError, match="game 1: action 81 is out of range"):
        game.step(state, torch.tensor([0, 81]))
    fast = game.step(state, torch.tensor([40, 81]), check=False)  # documented: bad rows are left unchanged
    assert torch.equal(fast.board, state.board) and torch.equal(fast.moves, state.moves)


def test_planes():
    game = Gomoku(size=9)
    state = _play(game, [(0, 0), (8, 8)])  # black to move
    planes = game.planes(state)[0]
    assert planes[0, 0, 0] == 1 and planes[1, 8, 8] == 1 and planes[:2].sum() == 2 and (planes[2] == 1).all()
    state = game.step(state, torch.tensor([4 * 9 + 4]))
    planes = game.planes(state)[0]  # white to move
    assert planes[0, 8, 8] == 1 and planes[1, 0, 0] == 1 and planes[1, 4, 4] == 1 and (planes[2] == 0).all()


# ------------------------------------------------------------------------------------------ reference


def test_random_games_match_reference():
    # small boards so that random play makes fives; the reference checks the whole board after every move
    size, num_games = 7, 300
    game = Gomoku(size=size)
    rng = np.random.default_rng(0)
    state = game.init(num_games)
    stones: list[list[set]] = [[set(), set()] for _ in range(num_games)]
    over = [False] * num_games
    wins = 0
    while not all(over):
        mask = game.legal_mask(state).numpy()
        done, value = (x.numpy() for x in game.outcome(state))
        actions = np.zeros(num_games, dtype=np.int64)
        for i in range(num_games):
            assert bool(done[i]) == over[i], f"game {i} move {int(state.moves[i])}"
            if over[i]:
                continue
            occupied = stones[i][0] | stones[i][1]
            assert mask[i].tolist() == [divmod(a, size) not in occupied for a in range(size * size)]
            actions[i] = rng.choice(np.flatnonzero(mask[i]))
        movers = state.player.numpy()
        state = game.step(state, torch.from_numpy(actions))
        done, value = (x.numpy() for x in game.outcome(state))
        for i in range(num_games):
            if over[i]:
                continue
            p = int(movers[i])
            stones[i][p].add(divmod(int(actions[i]), size))
            won = _five(stones[i][p], size)
            full = len(stones[i][0]) + len(stones[i][1]) == size * size
            over[i] = won or full
            if over[i]:
                assert done[i] and float(value[i]) == (-1.0 if won else 0.0), f"game {i}"
                wins += won
    assert wins > 200


def test_draw_and_hit_test():
    from envs.draw import render_array

    game = Gomoku(size=9)
    state = _play(game, [(4, 4), (0, 0)])
    image = render_array(game, state, 0, (300, 300))
    x, y = game.action_rect(40, (300, 300)).center
    assert tuple(image[y, x]) == (25, 25, 25)  # the centre pixel of a black stone
    for a in (0, 8, 40, 80):
        assert game.action_at(game.action_rect(a, (300, 300)).center, (300, 300)) == a
    assert game.action_rect(81, (300, 300)) is None


def test_check_game():
    from envs.check import check_game

    check_game(Gomoku(size=9))
