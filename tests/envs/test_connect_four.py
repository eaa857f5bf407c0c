"""Connect Four: random games move for move against PettingZoo's own connect_four_v3, and hand-written positions.

PettingZoo numbers the columns 0..6 left to right and keeps its board row-major with row 0 at the top, as we do.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from random_games import PettingZooGame, agree_on_random_games

from envs.base import IllegalActionError
from envs.connect_four import ConnectFour


def _play(game: ConnectFour, columns: list[int], batch: int = 1):
    state = game.init(batch)
    for c in columns:
        state = game.step(state, torch.full((batch,), c))
    return state


def _grid(state, i: int = 0) -> list[str]:
    """Rows of game i as text, top row first: '.' empty, 'x' player 0, 'o' player 1."""
    return ["".join(".xo"[int(v)] for v in state.board[i, r * 7 : r * 7 + 7]) for r in range(6)]


def _four(grid: list[str], ch: str) -> bool:
    """Brute force: does `ch` have four in a row anywhere in `grid` (rows top first)?"""
    cells = {(r, c) for r, row in enumerate(grid) for c, v in enumerate(row) if v == ch}
    steps = ((0, 1), (1, 0), (1, 1), (1, -1))
    return any(all((r + i * dr, c + i * dc) in cells for i in range(4)) for r, c in cells for dr, dc in steps)


def _state(grid: list[str], player: int):
    """A ConnectFourState holding `grid` (rows top first, gravity respected) with `player` to move."""
    from envs.connect_four import ConnectFourState

    board = torch.tensor([[".xo".index(v) for row in grid for v in row]], dtype=torch.int8)
    heights = torch.tensor([[sum(row[c] != "." for row in grid) for c in range(7)]], dtype=torch.int8)
    moves = int(heights.sum())
    return ConnectFourState(
        board=board,
        heights=heights,
        player=torch.tensor([player]),
        moves=torch.tensor([moves]),
        last_action=torch.tensor([-1]),
        done=torch.tensor([False]),
        winner=torch.tensor([-1]),
    )


def _order(grid: list[str]) -> list[int]:
    """A move order (columns, x first, alternating) that builds the full `grid`, found by depth-first search."""
    columns = [[grid[r][c] for r in range(5, -1, -1)] for c in range(7)]  # bottom up

    def search(heights: list[int], turn: str) -> list[int] | None:
        if all(h == 6 for h in heights):
            return []
        for c in range(7):
            if heights[c] < 6 and columns[c][heights[c]] == turn:
                heights[c] += 1
                rest = search(heights, "o" if turn == "x" else "x")
                heights[c] -= 1
                if rest is not None:
                    return [c] + rest
        return None

    found = search([0] * 7, "x")
    assert found is not None
    return found


# ------------------------------------------------------------------------------------------ PettingZoo oracle


def _against_pettingzoo(num_games: int, seed: int) -> dict[str, int]:
    from pettingzoo.classic import connect_four_v3  # same board layout and action ids as ours

    refs = [PettingZooGame(connect_four_v3.raw_env(), lambda env: np.array(env.board)) for _ in range(num_games)]
    return agree_on_random_games(ConnectFour(), refs, seed)


def test_pettingzoo_random_games():
    stats = _against_pettingzoo(1000, seed=0)
    # random play: both sides win often, full columns happen, draws are rare (about 0.2 %)
    assert stats["wins_first"] > 400 and stats["wins_second"] > 300 and stats["restricted"] > 1000, stats


@pytest.mark.slow
def test_pettingzoo_random_games_more():
    stats = _against_pettingzoo(10000, seed=1)
    assert stats["draws"] > 0, stats


# ------------------------------------------------------------------------------------------ hand-written


def test_discs_fall_to_the_bottom():
    game = ConnectFour()
    state = _play(game, [3, 3, 0])
    assert _grid(state) == [".......", ".......", ".......", ".......", "...o...", "x..x..."]
    assert state.heights[0].tolist() == [1, 0, 0, 2, 0, 0, 0] and int(state.last_action[0]) == 0


@pytest.mark.parametrize(
    ("columns", "line"),
    [
        ([0, 0, 1, 1, 2, 2, 3], "horizontal, bottom left"),
        ([6, 0, 5, 0, 4, 0, 3], "horizontal, bottom right edge"),
        ([0, 1, 0, 1, 0, 1, 0], "vertical, left edge"),
        ([6, 5, 6, 5, 6, 5, 6], "vertical, right edge"),
        ([0, 1, 1, 2, 2, 3, 2, 3, 3, 6, 3], "diagonal up to the right"),
        ([6, 5, 5, 4, 4, 3, 4, 3, 3, 0, 3], "diagonal up to the left"),
    ],
)
def test_four_in_a_row_wins(columns: list[int], line: str):
    game = ConnectFour()
    state = _play(game, columns[:-1])
    assert not game.outcome(state)[0][0], line
    state = game.step(state, torch.tensor([columns[-1]]))
    done, value = game.outcome(state)
    assert done[0] and int(state.winner[0]) == 0 and float(value[0]) == -1.0, line
    assert not game.legal_mask(state).any()


def test_second_player_wins():
    game = ConnectFour()
    columns = [6, 0, 6, 1, 5, 2, 5, 3]  # x: (5,6) (4,6) (5,5) (4,5); o: the bottom row, columns 0..3
    state = _play(game, columns[:-1])
    assert not game.outcome(state)[0][0]
    state = game.step(state, torch.tensor([columns[-1]]))
    done, value = game.outcome(state)
    assert done[0] and int(state.winner[0]) == 1 and int(state.player[0]) == 0 and float(value[0]) == -1.0
    assert _grid(state)[5] == "oooo.xx"


def test_diagonal_win_into_the_top_row():
    # o to move; playing column 3 lands in the top row and completes (0,3) (1,2) (2,1) (3,0)
    grid = [
        ".......",
        "..ox...",
        ".oxo...",
        "ooxo...",
        "xxox...",
        "xxoxo.x",
    ]
    assert not _four(grid, "x") and not _four(grid, "o")
    game = ConnectFour()
    state = _state(grid, player=1)
    assert not game.outcome(state)[0][0]
    state = game.step(state, torch.tensor([3]))
    done, value = game.outcome(state)
    assert done[0] and int(state.winner[0]) == 1 and float(value[0]) == -1.0
    assert _grid(state)[0] == "...o..." and not game.legal_mask(state).any()


def test_full_column_is_illegal():
    game = ConnectFour()
    state = _play(game, [2] * 6)
    assert game.legal_mask(state)[0].tolist() == [True, True, False, True, True, True, True]
    with pytest.raises(IllegalActionError, match="game 0: action 2 is illegal"):
        game.step(state, torch.tensor([2]))
    with pytest.raises(IllegalActionError, match="out of range"):
        game.step(state, torch.tensor([7]))
    fast = game.step(state, torch.tensor([2]), check=False)  # documented: the row is left unchanged
    assert torch.equal(fast.board, state.board) and int(fast.moves[0]) == 6


def test_full_board_draw():
    grid = ["xxooxxo", "ooxxoox"] * 3  # 21 discs each, no four anywhere (checked by brute force)
    assert not _four(grid, "x") and not _four(grid, "o")
    order = _order(grid)
    game = ConnectFour()
    state = game.init(1)
    for k, c in enumerate(order):
        assert not game.outcome(state)[0][0], f"ended early at move {k}"
        state = game.step(state, torch.tensor([c]))
    done, value = game.outcome(state)
    assert _grid(state) == grid
    assert done[0] and float(value[0]) == 0.0 and int(state.winner[0]) == -1 and int(state.moves[0]) == 42
    assert not game.legal_mask(state).any()


def test_planes_and_symmetry():
    game = ConnectFour()
    state = _play(game, [0, 6])  # x bottom left, o bottom right; x to move
    planes = game.planes(state)[0]
    assert planes.shape == (3, 6, 7) and planes[0, 5, 0] == 1 and planes[1, 5, 6] == 1 and (planes[2] == 1).all()
    (_, ident), (mirror, perm) = game.symmetries()
    assert torch.equal(ident, torch.arange(7)) and perm.tolist() == [6, 5, 4, 3, 2, 1, 0]
    assert mirror(game.planes(state))[0, 0, 5, 6] == 1  # x's disc seen in the mirror: bottom right


def test_draw_and_hit_test():
    from envs.draw import render_array

    game = ConnectFour()
    state = _play(game, [3])
    image = render_array(game, state, 0, (350, 300))
    assert image.shape == (300, 350, 3)
    for c in range(7):
        rect = game.action_rect(c, (350, 300))
        assert game.action_at(rect.center, (350, 300)) == c
        assert game.action_at((rect.centerx, rect.top + 2), (350, 300)) == c  # anywhere in the column
    assert game.action_rect(7, (350, 300)) is None


def test_check_game():
    from envs.check import check_game

    check_game(ConnectFour(), batch=16)
