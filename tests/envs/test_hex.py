"""Hex: random games move for move against OpenSpiel's hex, and hand-written edge connections.

OpenSpiel's ``hex(board_size=N)`` (no swap) numbers the cells like us (a = r * N + c, row 0 at the top, each row drawn
half a cell to the right of the one above, so (r, c) touches (r+1, c-1) and (r+1, c)). Its player 0 ('x', moves
first) joins the top and bottom rows and its player 1 ('o') the left and right columns, as our players 0 and 1: the
players, the actions and the winner map one to one.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from random_games import agree_on_random_games

import envs
from envs.base import IllegalActionError
from envs.hex import Hex


def _play(game: Hex, cells: list[tuple[int, int]], state=None):
    state = game.init(1) if state is None else state
    for r, c in cells:
        state = game.step(state, torch.tensor([r * game.size + c]))
    return state


def _interleave(first: list[tuple[int, int]], second: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for i, cell in enumerate(first):
        out.append(cell)
        if i < len(second):
            out.append(second[i])
    return out


# ------------------------------------------------------------------------------------------- OpenSpiel oracle


def _os_board(s, size: int) -> np.ndarray:
    """OpenSpiel's board as +1 ('x', player 0), -1 ('o', player 1), 0 ('.'), row-major, read from its text."""
    tokens = str(s).split()
    assert len(tokens) == size * size and set(tokens) <= {"x", "o", "."}, str(s)
    return np.array([{"x": 1, "o": -1, ".": 0}[t] for t in tokens], dtype=np.int8)


class _OpenSpiel:
    """OpenSpiel's hex as a reference game (same cells, players and winner as ours)."""

    def __init__(self, oracle, size: int) -> None:
        self.s, self.size = oracle.new_initial_state(), size

    def board(self) -> np.ndarray:
        return _os_board(self.s, self.size)

    def done(self) -> bool:
        return self.s.is_terminal()

    def first_result(self) -> float:
        return self.s.returns()[0]

    def to_move(self) -> int:
        return self.s.current_player()

    def legal(self) -> np.ndarray:
        mask = np.zeros(self.size * self.size, dtype=bool)
        mask[self.s.legal_actions()] = True
        return mask

    def play(self, action: int) -> None:
        self.s.apply_action(action)


def _against_openspiel(num_games: int, size: int, seed: int) -> dict[str, int]:
    pyspiel = pytest.importorskip("pyspiel")
    oracle = pyspiel.load_game(f"hex(board_size={size})")
    stats = agree_on_random_games(Hex(size=size), [_OpenSpiel(oracle, size) for _ in range(num_games)], seed)
    assert stats["draws"] == 0  # hex has no draws
    return stats


def test_openspiel_edges_and_players():
    # OpenSpiel's player 0 wins with a column (top to bottom), its player 1 with a row (left to right): as ours
    pyspiel = pytest.importorskip("pyspiel")
    oracle = pyspiel.load_game("hex(board_size=3)")
    game = Hex(size=3)
    for moves, winner in (([0, 1, 3, 2, 6], 0), ([1, 3, 2, 4, 6, 5], 1)):
        s = oracle.new_initial_state()
        state = game.init(1)
        for a in moves:
            assert not s.is_terminal() and not bool(state.done[0])
            s.apply_action(a)
            state = game.step(state, torch.tensor([a]))
        assert s.is_terminal() and s.returns()[winner] == 1.0
        assert bool(state.done[0]) and int(state.winner[0]) == winner


@pytest.mark.parametrize(("size", "num_games"), [(11, 200), (5, 300), (2, 20)])
def test_openspiel_random_games(size: int, num_games: int):
    stats = _against_openspiel(num_games, size, seed=size)
    assert min(stats["wins_first"], stats["wins_second"]) > num_games // 5, (
        stats
    )  # both players win (random play: roughly even)


@pytest.mark.slow
@pytest.mark.parametrize("size", [3, 7, 11, 13])
def test_openspiel_random_games_more(size: int):
    stats = _against_openspiel(1000, size, seed=100 + size)
    assert min(stats["wins_first"], stats["wins_second"]) > 300, stats


# ------------------------------------------------------------------------------------------ hand-written


def _wins(game: Hex, state) -> tuple[bool, int]:
    done, _ = game.outcome(state)
    return bool(done[0]), int(state.winner[0])


def test_player_0_joins_top_and_bottom():
    game = Hex(size=5)
    red = [(r, 2) for r in range(5)]  # a straight column
    blue = [(0, 0), (1, 0), (2, 0), (3, 0)]  # four in the left column: touches top and bottom, but is blue
    state = _play(game, _interleave(red, blue)[:-1])
    assert _wins(game, state) == (False, -1)
    state = _play(game, red[-1:], state)
    done, value = game.outcome(state)
    assert done[0] and int(state.winner[0]) == 0 and int(state.player[0]) == 1 and float(value[0]) == -1.0


def test_player_1_joins_left_and_right():
    game = Hex(size=5)
    red = [(0, 0), (0, 1), (0, 2), (0, 3), (4, 4)]  # red along the top row touches left and right: no win for red
    blue = [(3, c) for c in range(5)]
    moves = _interleave(red, blue)
    state = _play(game, moves[:-1])
    assert _wins(game, state) == (False, -1)
    state = _play(game, moves[-1:], state)
    assert _wins(game, state) == (True, 1)
    assert int(state.player[0]) == 0 and float(game.outcome(state)[1][0]) == -1.0


def test_hex_adjacency_down_left_not_down_right():
    game = Hex(size=3)
    # (0,2) (1,1) (2,0) are neighbours along the short diagonal: a chain from top to bottom
    state = _play(game, [(0, 2), (0, 0), (1, 1), (1, 0), (2, 0)])
    assert _wins(game, state) == (True, 0)
    # (0,0) (1,1) (2,2) are not neighbours: no chain, the game goes on
    state = _play(game, [(0, 0), (0, 1), (1, 1), (1, 0), (2, 2)])
    assert _wins(game, state) == (False, -1)


def test_acute_corners_and_the_two_by_two_board():
    game = Hex(size=2)
    # (0,1) and (1,0) touch; (0,0) and (1,1) do not
    assert _wins(game, _play(game, [(0, 1), (0, 0), (1, 0)])) == (True, 0)
    state = _play(game, [(0, 0), (0, 1), (1, 1)])
    assert _wins(game, state) == (False, -1)
    assert _wins(game, _play(game, [(1, 0)], state)) == (True, 1)  # blue (0,1)-(1,0) joins left and right


def test_merging_chains_wins_at_the_joining_stone():
    game = Hex(size=7)
    top = [(0, 3), (1, 3), (2, 3)]
    bottom = [(6, 2), (5, 2), (4, 2)]
    middle = (3, 2)  # touches (2,3) [up-right] and (4,2) [down]
    blue = [(0, 0), (1, 0), (2, 0), (4, 6), (5, 6), (6, 6)]
    moves = _interleave(top + bottom, blue)
    state = _play(game, moves)
    assert _wins(game, state) == (False, -1) and int(state.player[0]) == 0
    # the chain labels: the two red chains are two chains before the join and one after
    red = state.board[0] == 1
    assert len(set(state.label[0][red].tolist())) == 2
    state = _play(game, [middle], state)
    assert _wins(game, state) == (True, 0)
    assert len(set(state.label[0][state.board[0] == 1].tolist())) == 1


def test_winding_path():
    # red snakes down with sideways steps; blue plays elsewhere
    game = Hex(size=5)
    red = [(0, 4), (1, 3), (1, 2), (1, 1), (2, 1), (3, 0), (3, 1), (3, 2), (4, 1)]
    blue = [(0, 0), (0, 1), (2, 3), (2, 4), (4, 3), (4, 4), (0, 2), (2, 0)]
    moves = _interleave(red, blue)
    state = _play(game, moves[:-1])
    assert _wins(game, state) == (False, -1)
    state = _play(game, moves[-1:], state)
    assert _wins(game, state) == (True, 0)


def test_illegal_and_out_of_range_actions():
    game = Hex(size=5)
    state = game.step(game.init(2), torch.tensor([12, 0]))
    with pytest.raises(IllegalActionError, match="game 0: action 12 is illegal"):
        game.step(state, torch.tensor([12, 1]))
    with pytest.raises(IllegalActionError, match="game 1: action 25 is out of range"):
        game.step(state, torch.tensor([1, 25]))
    game.step(state, torch.tensor([12, 25]), check=False)  # no exception


def test_size_option_and_planes():
    assert envs.get_game("hex").num_actions == 121
    game = envs.get_game("hex", size=5)
    assert game.options == {"size": 5} and game.planes_shape == (3, 5, 5) and game.max_moves == 25
    with pytest.raises(ValueError):
        Hex(size=1)
    state = _play(game, [(0, 0)])  # blue (player 1) to move
    planes = game.planes(state)[0]
    assert planes[1, 0, 0] == 1 and planes[0].sum() == 0 and (planes[2] == 1).all()
    syms = game.symmetries()
    assert len(syms) == 2 and syms[1][1][0] == 24  # the 180-degree turn keeps each player's edges


def test_draw_and_hit_test():
    from envs.draw import render_array

    game = Hex(size=5)
    image = render_array(game, _play(game, [(2, 2)]), 0, (400, 300))
    assert image.shape == (300, 400, 3)
    for a in range(25):
        assert game.action_at(game.action_rect(a, (400, 300)).center, (400, 300)) == a


def test_check_game():
    from envs.check import check_game

    check_game(Hex(size=5))
    check_game(Hex(size=11), batch=4)
