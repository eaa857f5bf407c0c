"""Tic-tac-toe: random games move for move against PettingZoo's own tictactoe_v3, and hand-written positions.

PettingZoo's tictactoe_v3 numbers the cells column by column (its action c * 3 + r is our cell r * 3 + c, row 0 at the
top) and its observation squares are [c, r, plane]; the tests map both, never our numbering.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from random_games import PettingZooGame, agree_on_random_games

from envs.base import IllegalActionError
from envs.tictactoe import TicTacToe

LINES = [  # every winning line, written out by hand as (row, col) cells
    [(0, 0), (0, 1), (0, 2)],
    [(1, 0), (1, 1), (1, 2)],
    [(2, 0), (2, 1), (2, 2)],
    [(0, 0), (1, 0), (2, 0)],
    [(0, 1), (1, 1), (2, 1)],
    [(0, 2), (1, 2), (2, 2)],
    [(0, 0), (1, 1), (2, 2)],
    [(0, 2), (1, 1), (2, 0)],
]


def _cell(r: int, c: int) -> int:
    return r * 3 + c


def _to_pz(a: int) -> int:
    r, c = divmod(a, 3)
    return c * 3 + r


def _play(game: TicTacToe, moves: list[int], batch: int = 1):
    state = game.init(batch)
    for a in moves:
        state = game.step(state, torch.full((batch,), a))
    return state


# ------------------------------------------------------------------------------------------ PettingZoo oracle


def _squares(env) -> np.ndarray:
    return np.array(env.board.squares).reshape(3, 3).T  # [r, c]: 0 empty, 1 first mover, 2 second


def _against_pettingzoo(num_games: int, seed: int) -> dict[str, int]:
    from pettingzoo.classic import tictactoe_v3

    to_pz = np.array([_to_pz(a) for a in range(9)])
    refs = [PettingZooGame(tictactoe_v3.raw_env(), _squares, to_pz) for _ in range(num_games)]
    return agree_on_random_games(TicTacToe(), refs, seed)


def test_pettingzoo_random_games():
    stats = _against_pettingzoo(1000, seed=0)
    # random play: the first mover wins about 58%, the second 29%, draws 13%
    assert stats["wins_first"] > 450 and stats["wins_second"] > 200 and stats["draws"] > 70, stats


@pytest.mark.slow
def test_pettingzoo_random_games_more():
    stats = _against_pettingzoo(10000, seed=1)
    assert stats["draws"] > 900, stats


# ------------------------------------------------------------------------------------------ hand-written


@pytest.mark.parametrize("line", range(len(LINES)))
@pytest.mark.parametrize("winner", [0, 1])
def test_every_line_wins(line: int, winner: int):
    game = TicTacToe()
    cells = [_cell(r, c) for r, c in LINES[line]]
    others = [a for a in range(9) if a not in cells]
    # fillers for the loser chosen so that they hold no line of their own (taken from the cells off the line)
    filler = next(
        f
        for f in (others[i : i + 3] for i in range(len(others)))
        if not any(all(_cell(r, c) in f for r, c in ln) for ln in LINES)
    )
    if winner == 0:
        moves = [cells[0], filler[0], cells[1], filler[1], cells[2]]
    else:
        moves = [filler[0], cells[0], filler[1], cells[1], filler[2], cells[2]]
    state = _play(game, moves[:-1])
    done, _ = game.outcome(state)
    assert not done[0]
    state = game.step(state, torch.tensor([moves[-1]]))
    done, value = game.outcome(state)
    assert done[0] and int(state.winner[0]) == winner
    assert int(state.player[0]) == 1 - winner and float(value[0]) == -1.0  # the loser is to move
    assert not game.legal_mask(state).any()


def test_win_on_the_last_cell_is_a_win_not_a_draw():
    # X O X / O X O / O X X: the ninth mark, X on (2, 2), fills the board and completes the main diagonal
    game = TicTacToe()
    moves = [_cell(0, 0), _cell(0, 1), _cell(0, 2), _cell(1, 0), _cell(1, 1), _cell(1, 2), _cell(2, 1), _cell(2, 0)]
    state = _play(game, moves)
    assert not game.outcome(state)[0][0] and int(state.moves[0]) == 8
    state = game.step(state, torch.tensor([_cell(2, 2)]))
    done, value = game.outcome(state)
    assert done[0] and int(state.winner[0]) == 0 and float(value[0]) == -1.0


def test_full_board_draw():
    # X O X / X O O / O X X: no line for anybody
    game = TicTacToe()
    x_cells = [_cell(0, 0), _cell(0, 2), _cell(1, 0), _cell(2, 1), _cell(2, 2)]
    o_cells = [_cell(0, 1), _cell(1, 1), _cell(1, 2), _cell(2, 0)]
    moves = [x_cells[0], o_cells[0], x_cells[1], o_cells[1], x_cells[2], o_cells[2], x_cells[3], o_cells[3]]
    state = _play(game, moves + [x_cells[4]])
    done, value = game.outcome(state)
    assert done[0] and float(value[0]) == 0.0 and int(state.winner[0]) == -1 and int(state.moves[0]) == 9
    assert not game.legal_mask(state).any()


def test_planes_from_the_view_of_the_player_to_move():
    game = TicTacToe()
    state = _play(game, [_cell(0, 0), _cell(2, 1)])  # X top left, O bottom middle; X to move
    planes = game.planes(state)[0]
    assert planes.shape == (3, 3, 3)
    assert planes[0, 0, 0] == 1 and planes[1, 2, 1] == 1 and planes[:2].sum() == 2 and (planes[2] == 1).all()
    state = game.step(state, torch.tensor([_cell(1, 1)]))  # O to move: own = O's marks
    planes = game.planes(state)[0]
    assert planes[0, 2, 1] == 1 and planes[1, 0, 0] == 1 and planes[1, 1, 1] == 1 and planes[0].sum() == 1
    assert (planes[2] == 0).all()


def test_illegal_and_out_of_range_actions():
    game = TicTacToe()
    state = _play(game, [4], batch=2)
    with pytest.raises(IllegalActionError, match="game 1: action 4 is illegal"):
        game.step(state, torch.tensor([0, 4]))
    with pytest.raises(IllegalActionError, match="out of range"):
        game.step(state, torch.tensor([9, 0]))
    with pytest.raises(IllegalActionError):
        game.step(state, torch.tensor([0.5, 1.0]))
    # unchecked fast path: the bad rows are left as they were, the good row moves
    fast = game.step(state, torch.tensor([4, 1]), check=False)  # row 0: an occupied cell
    assert int(fast.moves[0]) == 1 and int(fast.moves[1]) == 2
    fast = game.step(state, torch.tensor([-1, 0]), check=False)
    assert torch.equal(fast.board[0], state.board[0]) and int(fast.board[1, 0]) == 2


def test_finished_games_ignore_actions():
    game = TicTacToe()
    state = _play(game, [0, 3, 1, 4, 2])  # X wins the top row
    assert game.outcome(state)[0][0]
    for a in (5, 0, 42, -3):
        after = game.step(state, torch.tensor([a]))
        assert torch.equal(after.board, state.board) and torch.equal(after.moves, state.moves)


def test_symmetries_and_drawing():
    game = TicTacToe()
    syms = game.symmetries()
    assert len(syms) == 8 and torch.equal(syms[0][1], torch.arange(9))
    # a quarter turn counter-clockwise (torch.rot90) takes the top-right corner to the top-left
    rot = syms[1]
    state = _play(game, [_cell(0, 2)])
    assert game.planes(state)[0, 1, 0, 2] == 1 and rot[0](game.planes(state))[0, 1, 0, 0] == 1

    from envs.draw import render_array

    image = render_array(game, state, 0, (90, 90))
    assert image.shape == (90, 90, 3)
    for a in range(9):
        assert game.action_at(game.action_rect(a, (90, 90)).center, (90, 90)) == a
    assert game.action_at((0, 0), (90, 90)) is None  # the margin


def test_check_game():
    from envs.check import check_game

    check_game(TicTacToe(), batch=32)
