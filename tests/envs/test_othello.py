"""Othello: random games against OpenSpiel (8x8) and a plain scalar reference (6x6), perft from the start position,
and hand-written positions (forced passes, early ends, the 6x6 start).

OpenSpiel's othello numbers actions like us (a = r * 8 + c, row 0 at the top, pass = 64, legal only when a player has
no other move; the game ends when neither player can move) and starts with black (player 0) to move.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from envs.base import IllegalActionError
from envs.othello import Othello
from envs.state import cat, take

# published perft counts of 8x8 Othello from the start position, passes counted as moves (depth 1..9)
PERFT = [4, 12, 56, 244, 1396, 8200, 55092, 390216, 3005288]

_DIRECTIONS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def _board(text: str) -> torch.Tensor:
    """Int8Tensor[1, H, W] from a diagram: X black, O white, . empty (row 0 first)."""
    values = {"X": 1, "O": -1, ".": 0}
    rows = [[values[v] for v in line.split()] for line in text.strip().splitlines()]
    return torch.tensor([rows], dtype=torch.int8)


def _random_actions(legal: torch.Tensor, done: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """A uniformly random legal action per live game (0 for finished games)."""
    weights = legal.float()
    weights[done, 0] = 1.0
    return torch.multinomial(weights, 1, generator=gen)[:, 0]


def _legal(mask_row: torch.Tensor) -> list[int]:
    return mask_row.nonzero()[:, 0].tolist()


# ----------------------------------------------------------------------------------------------------- oracles


def test_random_games_match_openspiel():
    pyspiel = pytest.importorskip("pyspiel")
    game, num_games = Othello(), 300
    gen = torch.Generator().manual_seed(1)
    oracle = pyspiel.load_game("othello")
    games = [oracle.new_initial_state() for _ in range(num_games)]
    state = game.init(num_games)
    passes = 0
    while True:
        legal = game.legal_mask(state)
        done, value = game.outcome(state)
        boards = state.board.numpy()
        for i, s in enumerate(games):
            assert s.is_terminal() == bool(done[i]), f"game {i} move {int(state.moves[i])}"
            obs = np.asarray(s.observation_tensor(0)).reshape(3, 64)  # empty, black, white
            np.testing.assert_array_equal(boards[i] == 1, obs[1] == 1)
            np.testing.assert_array_equal(boards[i] == -1, obs[2] == 1)
            if s.is_terminal():
                assert s.returns()[int(state.player[i])] == float(value[i])
                assert not bool(legal[i].any())
            else:
                assert s.current_player() == int(state.player[i])
                assert s.legal_actions() == _legal(legal[i]), f"game {i} move {int(state.moves[i])}"
        if bool(done.all()):
            break
        action = _random_actions(legal, done, gen)
        state = game.step(state, action)
        for i, s in enumerate(games):
            if not s.is_terminal():
                passes += int(action[i]) == 64
                s.apply_action(int(action[i]))
    assert passes > 0  # the forced pass was exercised
    assert int((state.winner == -1).sum()) < num_games  # and decided games


def _perft(game: Othello, depth: int, chunk: int = 16384) -> list[int]:
    """Leaf counts at depths 1..depth, expanding every legal move of a whole level with one batched step per chunk."""
    frontier = game.init(1)
    counts = []
    for d in range(depth):
        legal = game.legal_mask(frontier)
        counts.append(int(legal.sum()))
        if d == depth - 1:
            break
        rows, actions = legal.nonzero(as_tuple=True)
        children = [
            game.step(take(frontier, rows[i : i + chunk]), actions[i : i + chunk]) for i in range(0, len(rows), chunk)
        ]
        frontier = cat(children)
    return counts


def test_perft_start_position():
    assert _perft(Othello(), 7) == PERFT[:7]


@pytest.mark.slow
def test_perft_start_position_deep():
    assert _perft(Othello(), 9) == PERFT[:9]


class _Reference:
    """A plain scalar Othello for one game, written out cell by cell (an oracle for the 6x6 board)."""

    def __init__(self, size: int) -> None:
        self.n = size
        self.board = [[0] * size for _ in range(size)]
        m = size // 2
        self.board[m - 1][m - 1] = self.board[m][m] = -1
        self.board[m - 1][m] = self.board[m][m - 1] = 1
        self.colour = 1  # black to move

    def _flips(self, r: int, c: int, colour: int) -> list[tuple[int, int]]:
        if self.board[r][c] != 0:
            return []
        out = []
        for dr, dc in _DIRECTIONS:
            line, rr, cc = [], r + dr, c + dc
            while 0 <= rr < self.n and 0 <= cc < self.n and self.board[rr][cc] == -colour:
                line.append((rr, cc))
                rr, cc = rr + dr, cc + dc
            if line and 0 <= rr < self.n and 0 <= cc < self.n and self.board[rr][cc] == colour:
                out += line
        return out

    def moves(self, colour: int) -> list[int]:
        return [r * self.n + c for r in range(self.n) for c in range(self.n) if self._flips(r, c, colour)]

    def legal(self) -> list[int]:
        own = self.moves(self.colour)
        if own:
            return own
        return [self.n * self.n] if self.moves(-self.colour) else []

    def play(self, a: int) -> None:
        if a < self.n * self.n:
            r, c = divmod(a, self.n)
            for rr, cc in self._flips(r, c, self.colour):
                self.board[rr][cc] = self.colour
            self.board[r][c] = self.colour
        self.colour = -self.colour

    def winner(self) -> int:
        diff = sum(map(sum, self.board))
        return 0 if diff > 0 else 1 if diff < 0 else -1


def test_random_6x6_games_match_reference():
    game, num_games = Othello(size=6), 100
    gen = torch.Generator().manual_seed(2)
    refs = [_Reference(6) for _ in range(num_games)]
    state = game.init(num_games)
    while True:
        legal = game.legal_mask(state)
        done = state.done
        for i, ref in enumerate(refs):
            assert ref.legal() == _legal(legal[i])
            assert bool(done[i]) == (not ref.legal())
            assert state.board[i].view(6, 6).tolist() == ref.board
            if bool(done[i]):
                assert int(state.winner[i]) == ref.winner()
        if bool(done.all()):
            break
        action = _random_actions(legal, done, gen)
        state = game.step(state, action)
        for i, ref in enumerate(refs):
            if ref.legal():
                ref.play(int(action[i]))


# ----------------------------------------------------------------------------------------------------- positions


def test_forced_pass_then_game_ends_with_empty_squares():
    game = Othello()
    # black cannot bracket the white corner disc; white can take b1 by playing c1
    board = torch.zeros(1, 8, 8, dtype=torch.int8)
    board[0, 0, 0], board[0, 0, 1] = -1, 1
    state = game.position(board, torch.tensor([0]))
    assert _legal(game.legal_mask(state)[0]) == [64]  # the pass, and only the pass
    with pytest.raises(IllegalActionError, match="game 0: action 2"):
        game.step(state, torch.tensor([2]))
    state = game.step(state, torch.tensor([64]))
    assert int(state.player[0]) == 1 and int(state.last_action[0]) == 64
    assert _legal(game.legal_mask(state)[0]) == [2]
    with pytest.raises(IllegalActionError, match="action 64"):
        game.step(state, torch.tensor([64]))  # passing is illegal when a move exists
    state = game.step(state, torch.tensor([2]))
    # three white discs, 61 empty squares: nobody can move, white wins
    done, value = game.outcome(state)
    assert bool(done[0]) and int(state.winner[0]) == 1
    assert int(state.player[0]) == 0 and float(value[0]) == -1.0  # black to move has lost
    assert int((state.board == 0).sum()) == 61
    assert not bool(game.legal_mask(state).any())


def test_blocked_positions_are_scored():
    game = Othello()
    boards = torch.zeros(3, 8, 8, dtype=torch.int8)
    boards[0, 0, 0], boards[0, 7, 7] = 1, -1  # one disc each, nobody can move: draw
    boards[1, 0, 0], boards[1, 0, 7], boards[1, 7, 7] = 1, 1, -1  # black 2, white 1
    boards[2, 3, 3] = 1  # white wiped out
    state = game.position(boards, torch.tensor([1, 1, 1]))
    done, value = game.outcome(state)
    assert done.tolist() == [True, True, True]
    assert state.winner.tolist() == [-1, 0, 0]
    assert value.tolist() == [0.0, -1.0, -1.0]  # white to move


def test_pass_sequence_mid_game():
    game = Othello()
    # a full board but for h1 and h2, one white disc on g2
    state = game.position(
        _board("""
            X X X X X X X .
            X X X X X X O .
            X X X X X X X X
            X X X X X X X X
            X X X X X X X X
            X X X X X X X X
            X X X X X X X X
            X X X X X X X X
        """),
        torch.tensor([1]),
    )
    # white's g2 disc has no black disc to bracket beyond it on a line with an empty end: white must pass
    assert _legal(game.legal_mask(state)[0]) == [64]
    state = game.step(state, torch.tensor([64]))
    # black: h2 (15) brackets g2 from f2; h1 (7) brackets g2 diagonally from f3
    assert _legal(game.legal_mask(state)[0]) == [7, 15]
    state = game.step(state, torch.tensor([15]))
    done, _ = game.outcome(state)
    assert bool(done[0]) and int(state.winner[0]) == 0
    assert int((state.board == 1).sum()) == 63


def test_six_by_six_start():
    game = Othello(size=6)
    assert game.num_actions == 37 and game.pass_action == 36 and game.planes_shape == (2, 6, 6)
    state = game.init(2)
    # white on (2,2) and (3,3), black on (2,3) and (3,2): black brackets a white disc from (1,2), (2,1), (3,4), (4,3)
    assert state.board[0].view(6, 6)[2:4, 2:4].tolist() == [[-1, 1], [1, -1]]
    assert _legal(game.legal_mask(state)[0]) == [8, 13, 22, 27]
    state = game.step(state, torch.tensor([8, 27]))
    assert state.board[0].view(6, 6)[1:4, 2:4].tolist() == [[1, 0], [1, 1], [1, -1]]
    assert state.board[1].view(6, 6)[2:5, 2:4].tolist() == [[-1, 1], [1, 1], [0, 1]]
    planes = game.planes(state)  # white to move: plane 0 holds white's single disc
    assert planes.shape == (2, 2, 6, 6) and planes[:, 0].sum(dim=(1, 2)).tolist() == [1.0, 1.0]


# ----------------------------------------------------------------------------------------------------- protocol


def test_illegal_and_out_of_range_actions():
    game = Othello()
    state = game.init(3)
    for bad in (65, -1, 0, 27):  # out of range, out of range, not bracketing, occupied
        with pytest.raises(IllegalActionError, match="game 1"):
            game.step(state, torch.tensor([19, bad, 19]))
    loose = game.step(state, torch.tensor([19, 70, 27]), check=False)  # unchecked: no exception
    assert loose.board.shape == state.board.shape


def test_finished_games_are_left_unchanged():
    game = Othello()
    board = torch.zeros(1, 8, 8, dtype=torch.int8)
    board[0, 0, 0], board[0, 7, 7] = 1, -1  # over
    state = cat([game.position(board, torch.tensor([0])), game.init(1)])
    after = game.step(state, torch.tensor([5, 19]))
    assert torch.equal(after.board[0], state.board[0]) and int(after.moves[0]) == 0
    assert int(after.moves[1]) == 1


def test_symmetric_games_stay_symmetric():
    game = Othello()
    gen = torch.Generator().manual_seed(3)
    symmetries = game.symmetries()
    assert len(symmetries) == 8 and torch.equal(symmetries[0][1], torch.arange(65))
    start = game.planes(game.init(1))  # the start position is fixed by half of the dihedral group
    symmetries = [(transform, perm) for transform, perm in symmetries if torch.equal(transform(start), start)]
    assert len(symmetries) == 4
    batch = 16
    states = [game.init(batch) for _ in symmetries]
    while not bool(states[0].done.all()):
        action = _random_actions(game.legal_mask(states[0]), states[0].done, gen)
        base_planes, base_mask = game.planes(states[0]), game.legal_mask(states[0])
        for k, (transform, perm) in enumerate(symmetries):
            assert torch.equal(game.planes(states[k]), transform(base_planes))
            assert torch.equal(game.legal_mask(states[k]), base_mask[:, perm])
            inverse = torch.argsort(perm)  # the transformed game plays the image of each action
            states[k] = game.step(states[k], inverse[action])
    for k in range(1, len(symmetries)):
        assert torch.equal(states[k].winner, states[0].winner)


def test_draw_and_hit_test():
    from envs.draw import render_array

    game = Othello()
    state = game.init(1)
    image = render_array(game, state, 0, (320, 320))
    assert image.shape == (320, 320, 3)
    x, y = game.action_rect(27, (320, 320)).center  # white start disc
    assert tuple(image[y, x]) == (235, 235, 235)
    x, y = game.action_rect(28, (320, 320)).center  # black start disc
    assert tuple(image[y, x]) == (25, 25, 25)
    assert game.action_rect(64, (320, 320)) is None
    for size in [(320, 320), (500, 300)]:
        for a in range(64):
            assert game.action_at(game.action_rect(a, size).center, size) == a


def test_check_game():
    check = pytest.importorskip("envs.check")
    check.check_game(Othello())
    check.check_game(Othello(size=6))
