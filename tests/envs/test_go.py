"""Go: random games against PettingZoo's go_v5 (MiniGo) and OpenSpiel's go, and hand-written positions.

Both oracles use area (Tromp-Taylor) scoring, forbid suicide and use the simple ko rule (one stone captured by a stone
played into an eye, cleared by a pass). Where they differ from us the comparison is restricted:
- PettingZoo's go has no move limit: when our game stops at max_moves, its score of the same board is compared.
- OpenSpiel ends a game on any repeated board (superko, scored a draw): such games are compared up to that move.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from envs.base import IllegalActionError
from envs.go import Go, fixed_handicap_points
from envs.state import take

# ----------------------------------------------------------------------------------------------------- helpers


def _board(text: str) -> torch.Tensor:
    """Int8Tensor[H, W] from a diagram: X black, O white, . empty (row 0 first)."""
    rows = [line.split() for line in text.strip().splitlines()]
    values = {"X": 1, "O": -1, ".": 0}
    return torch.tensor([[values[v] for v in row] for row in rows], dtype=torch.int8)


def _point(game: Go, r: int, c: int) -> int:
    return r * game.size + c


def _random_actions(
    rng: np.random.Generator, mask: np.ndarray, moves: np.ndarray, pass_after: np.ndarray
) -> np.ndarray:
    """One random action per game: a random legal point, or the pass with probability 1/2 once a game has played
    `pass_after` moves (or when no point is legal). Keeps early passes out so games are long."""
    n = mask.shape[1] - 1
    actions = np.full(mask.shape[0], n)
    for i in range(mask.shape[0]):
        points = np.flatnonzero(mask[i, :n])
        if len(points) and (moves[i] < pass_after[i] or rng.random() < 0.5):
            actions[i] = rng.choice(points)
    return actions


def _minigo_planes(go, size: int) -> np.ndarray:
    """The 8 planes of our encoding built from a PettingZoo (MiniGo) position and its own liberty counts."""
    own, opp = go.board == go.to_play, go.board == -go.to_play
    libs = go.lib_tracker.liberty_cache
    ko = np.zeros((size, size), dtype=bool)
    if go.ko is not None:
        ko[go.ko] = True
    black = np.full((size, size), go.to_play == 1)
    planes = [own, opp, own & (libs == 1), own & (libs == 2), opp & (libs == 1), opp & (libs == 2), ko, black]
    return np.stack(planes).astype(np.float32)


def _black_value(game: Go, state) -> torch.Tensor:
    """Outcome value from black's view."""
    _, value = game.outcome(state)
    return torch.where(state.player == 0, value, -value)


# ------------------------------------------------------------------------------------------ PettingZoo oracle


def _against_pettingzoo(num_games: int, size: int = 9, komi: float = 7.5, seed: int = 0) -> dict[str, int]:
    """Play `num_games` random games in lockstep in our batch and in PettingZoo's go_v5; assert they agree move for
    move (board, player to move, ko point, planes with liberty counts, legal moves, end) and at the end (score,
    winner). Returns counts."""
    from pettingzoo.classic import go_v5

    game = Go(size=size, komi=komi)
    n = game.num_points
    rng = np.random.default_rng(seed)
    envs = [go_v5.raw_env(board_size=size, komi=komi) for _ in range(num_games)]  # same size: shared module globals
    for env in envs:
        env.reset()
    pass_after = rng.integers(size * size // 4, game.max_moves + 20, size=num_games)
    state = game.init(num_games)
    stats = {"games": num_games, "two_passes": 0, "max_moves": 0, "captures": 0, "ko": 0, "moves": 0}
    open_games = set(range(num_games))
    while open_games:
        mask = game.legal_mask(state).numpy()
        board = state.board.numpy()
        player = state.player.numpy()
        ko = state.ko.numpy()
        done = state.done.numpy()
        moves = state.moves.numpy()
        planes = game.planes(state).numpy()
        for i in sorted(open_games):
            go = envs[i]._go
            pz_done = envs[i].terminations[envs[i].agent_selection]
            assert (board[i].reshape(size, size) == go.board).all(), f"game {i} move {moves[i]}: boards differ"
            assert player[i] == (0 if go.to_play == 1 else 1), f"game {i}: player to move differs"
            assert (planes[i] == _minigo_planes(go, size)).all(), f"game {i} move {moves[i]}: planes differ"
            assert ko[i] == (-1 if go.ko is None else go.ko[0] * size + go.ko[1]), f"game {i}: ko point differs"
            stats["ko"] += int(ko[i] >= 0)
            if done[i]:
                score = float(state.score[i])
                assert score == pytest.approx(go.score()), f"game {i}: score {score} vs {go.score()}"
                if pz_done:  # two passes in both
                    stats["two_passes"] += 1
                    black_reward = envs[i].rewards["black_0"]
                    assert float(_black_value(game, take(state, i))[0]) == black_reward, f"game {i}: winner differs"
                else:  # our move limit; PettingZoo has none
                    assert moves[i] == game.max_moves, f"game {i}: ended early at move {moves[i]}"
                    stats["max_moves"] += 1
                open_games.discard(i)
                continue
            assert not pz_done, f"game {i}: PettingZoo ended at move {moves[i]}, we did not"
            pz_mask = np.zeros(n + 1, dtype=bool)
            pz_mask[envs[i].next_legal_moves] = True
            assert (mask[i] == pz_mask).all(), (
                f"game {i} move {moves[i]}: legal moves differ at {np.flatnonzero(mask[i] != pz_mask).tolist()}"
            )
        actions = _random_actions(rng, mask, moves, pass_after)
        for i in open_games:
            if not done[i]:
                stones = np.count_nonzero(envs[i]._go.board)
                envs[i].step(int(actions[i]))
                stats["captures"] += int(np.count_nonzero(envs[i]._go.board) <= stones and actions[i] != n)
                stats["moves"] += 1
        state = game.step(state, torch.from_numpy(actions))
    return stats


def test_pettingzoo_random_games():
    # 200 games by default; with the slow run below, 1,200 games at 9x9, komi 7.5
    stats = _against_pettingzoo(200, seed=1)
    # the sample covers both endings, captures and ko
    assert stats["two_passes"] > 100 and stats["max_moves"] > 20, stats
    assert stats["captures"] > 1000 and stats["ko"] > 50, stats


@pytest.mark.slow
def test_pettingzoo_random_games_more():
    stats = _against_pettingzoo(1000, seed=2)
    assert stats["two_passes"] > 500 and stats["max_moves"] > 100, stats
    assert stats["captures"] > 5000 and stats["ko"] > 250, stats


@pytest.mark.parametrize("size", [5, 19])
def test_pettingzoo_other_sizes(size):
    stats = _against_pettingzoo(100 if size == 5 else 6, size=size, komi=0.5, seed=size)
    assert stats["moves"] > (2000 if size == 5 else 1000), stats


@pytest.mark.slow
@pytest.mark.parametrize("size", [7, 13, 19])
def test_pettingzoo_other_sizes_more(size):
    stats = _against_pettingzoo(200, size=size, komi=6.5, seed=10 + size)
    assert stats["two_passes"] > 0 and stats["max_moves"] > 0, stats


# ------------------------------------------------------------------------------------------- OpenSpiel oracle


def _os_action(size: int, a: int) -> int:
    """Our action (row 0 at the top) -> OpenSpiel's (row 0 at the bottom, a1 = 0); the pass is size*size in both."""
    if a == size * size:
        return a
    r, c = divmod(a, size)
    return (size - 1 - r) * size + c


def _against_openspiel(num_games: int, size: int = 9, komi: float = 7.5, seed: int = 0) -> dict[str, int]:
    pyspiel = pytest.importorskip("pyspiel")
    game = Go(size=size, komi=komi)
    n = game.num_points
    to_os = np.array([_os_action(size, a) for a in range(n + 1)])
    os_game = pyspiel.load_game("go", {"board_size": size, "komi": komi})
    assert os_game.max_game_length() == game.max_moves
    rng = np.random.default_rng(seed)
    os_states = [os_game.new_initial_state() for _ in range(num_games)]
    pass_after = rng.integers(size * size // 4, game.max_moves + 20, size=num_games)
    state = game.init(num_games)
    stats = {"games": num_games, "ended": 0, "superko": 0, "draws": 0}
    open_games = set(range(num_games))
    while open_games:
        mask = game.legal_mask(state).numpy()
        done = state.done.numpy()
        player = state.player.numpy()
        moves = state.moves.numpy()
        black_value = _black_value(game, state).numpy()
        for i in sorted(open_games):
            s = os_states[i]
            if s.is_terminal() and not done[i]:
                # OpenSpiel stops on a repeated board (superko) and scores a draw; we play on. Compare up to here.
                assert s.returns() == [0.0, 0.0] and s.history()[-1] != n
                stats["superko"] += 1
                open_games.discard(i)
                continue
            assert s.is_terminal() == bool(done[i]), f"game {i} move {moves[i]}: end differs"
            if done[i]:
                assert s.returns()[0] == black_value[i], f"game {i}: winner differs"
                stats["ended"] += 1
                stats["draws"] += int(black_value[i] == 0)
                open_games.discard(i)
                continue
            assert s.current_player() == player[i]
            os_mask = np.zeros(n + 1, dtype=bool)
            os_mask[s.legal_actions()] = True
            assert (mask[i] == os_mask[to_os]).all(), f"game {i} move {moves[i]}: legal moves differ"
        actions = _random_actions(rng, mask, moves, pass_after)
        for i in open_games:
            os_states[i].apply_action(int(to_os[actions[i]]))
        state = game.step(state, torch.from_numpy(actions))
    return stats


def test_openspiel_random_games():
    stats = _against_openspiel(500, seed=3)
    assert stats["ended"] > 450, stats


def test_openspiel_integer_komi_draws():
    stats = _against_openspiel(100, size=5, komi=0.0, seed=4)
    assert stats["ended"] > 80 and stats["draws"] > 0, stats


# -------------------------------------------------------------------------------------- hand-written positions


def test_start_position():
    for size in (5, 9, 19):
        game = Go(size=size)
        state = game.init(2)
        assert game.num_actions == size * size + 1 and game.pass_action == size * size
        assert game.max_moves == 2 * size * size
        assert game.legal_mask(state).all()
        done, value = game.outcome(state)
        assert not done.any() and (value == 0).all()
        planes = game.planes(state)
        assert planes.shape == (2, 8, size, size)
        assert (planes[:, :7] == 0).all() and (planes[:, 7] == 1).all()  # empty board, black to move


def test_ko_recapture_illegal_then_legal_later():
    game = Go(size=5)
    ko_shape = _board(
        """
        . X O . .
        X O . O .
        . X O . .
        . . . . .
        . . . . .
        """
    )
    state = game.position(ko_shape, player=0)
    state = game.step(state, torch.tensor([_point(game, 1, 2)]))  # black captures the white stone at (1, 1)
    assert state.board[0, _point(game, 1, 1)] == 0 and state.board[0, _point(game, 1, 2)] == 1
    ko = _point(game, 1, 1)
    assert int(state.ko[0]) == ko
    assert not game.legal_mask(state)[0, ko]  # white may not retake at once
    assert game.planes(state)[0, 6].flatten()[ko] == 1
    with pytest.raises(IllegalActionError, match="game 0"):
        game.step(state, torch.tensor([ko]))
    later = game.step(state, torch.tensor([_point(game, 4, 4)]))  # white plays elsewhere
    assert int(later.ko[0]) == -1
    later = game.step(later, torch.tensor([_point(game, 4, 0)]))  # black too
    assert game.legal_mask(later)[0, ko]  # now white may retake
    later = game.step(later, torch.tensor([ko]))
    assert later.board[0, _point(game, 1, 2)] == 0 and later.board[0, ko] == -1
    assert int(later.ko[0]) == _point(game, 1, 2)  # and black may not retake at once
    # a pass clears the ko: after white passes, black's turn has no ko point
    passed = game.step(state, torch.tensor([game.pass_action]))
    assert int(passed.ko[0]) == -1 and game.legal_mask(passed)[0, ko]


def test_snapback_is_not_ko():
    # capturing one stone with a stone that has own neighbours is no ko: the opponent may recapture at once
    game = Go(size=5)
    state = game.position(
        _board(
            """
            . X O . .
            X O . O .
            . X X O .
            . . . . .
            . . . . .
            """
        ),
        player=0,
    )
    state = game.step(state, torch.tensor([_point(game, 1, 2)]))  # captures (1, 1); (2, 2) is black
    assert state.board[0, _point(game, 1, 1)] == 0
    assert int(state.ko[0]) == -1


def test_suicide_illegal():
    game = Go(size=5)
    state = game.position(
        _board(
            """
            . X . O .
            X . X O .
            . X O O .
            . . . . .
            . . . . .
            """
        ),
        player=1,
    )
    mask = game.legal_mask(state)[0]
    assert not mask[_point(game, 0, 0)]  # single-stone suicide in the corner
    assert not mask[_point(game, 1, 1)]  # single-stone suicide in the middle
    assert mask[_point(game, 0, 2)]  # joins the white chain, which keeps liberties
    with pytest.raises(IllegalActionError, match="illegal"):
        game.step(state, torch.tensor([_point(game, 0, 0)]))
    # multi-stone suicide: filling the last liberty of an own chain
    state = game.position(
        _board(
            """
            O O X . .
            X . X . .
            . X . . .
            . . . . .
            . . . . .
            """
        ),
        player=1,
    )
    assert not game.legal_mask(state)[0, _point(game, 1, 1)]
    # black may play there: it captures the two white stones
    assert game.legal_mask(game.position(state.board, player=0))[0, _point(game, 1, 1)]


def test_capture_that_would_be_suicide_is_legal():
    game = Go(size=5)
    state = game.position(
        _board(
            """
            . O X . .
            O X . . .
            X . . . .
            . . . . .
            . . . . .
            """
        ),
        player=0,
    )
    corner = _point(game, 0, 0)
    assert game.legal_mask(state)[0, corner]  # surrounded by white, but captures both white stones in atari
    after = game.step(state, torch.tensor([corner]))
    expected = _board(
        """
        X . X . .
        . X . . .
        X . . . .
        . . . . .
        . . . . .
        """
    )
    assert torch.equal(after.board[0], expected.flatten())
    assert int(after.ko[0]) == -1  # two stones captured: no ko


def test_multi_stone_capture():
    game = Go(size=5)
    state = game.position(
        _board(
            """
            X X X . O
            O O O X .
            . . . . .
            . . . . .
            . . . . .
            """
        ),
        player=1,
    )
    after = game.step(state, torch.tensor([_point(game, 0, 3)]))  # fills the last liberty of the three stones
    assert (after.board[0, :3] == 0).all() and after.board[0, 3] == -1
    libs = game.position(after.board).libs  # liberties counted from scratch agree with the stepped ones
    assert torch.equal(after.libs, libs)
    # one move capturing two separate chains
    state = game.position(
        _board(
            """
            X O . O X
            . X O X .
            . . X . .
            . . . . .
            . . . . .
            """
        ),
        player=0,
    )
    after = game.step(state, torch.tensor([_point(game, 0, 2)]))  # three chains in atari, one stone each
    assert (after.board[0, [1, 3, _point(game, 1, 2)]] == 0).all()
    assert int((after.board[0] == -1).sum()) == 0 and int(after.ko[0]) == -1


def test_two_passes_end_and_scoring():
    game = Go(size=5, komi=0.5)
    wall = _board(
        """
        . X O . .
        . X O . .
        . X O . .
        . X O . .
        . X O . .
        """
    )
    state = game.position(wall, player=0)
    # area by hand: black 5 stones + 5 points = 10, white 5 + 10 = 15; 10 - 15 - 0.5 = -5.5
    assert float(game.score(state)[0]) == -5.5
    one = game.step(state, torch.tensor([game.pass_action]))
    assert not one.done[0]
    play = game.step(one, torch.tensor([_point(game, 0, 4)]))  # pass then a move: not over
    assert not play.done[0]
    two = game.step(one, torch.tensor([game.pass_action]))
    done, value = game.outcome(two)
    assert done[0] and float(two.score[0]) == -5.5
    assert int(two.player[0]) == 0 and float(value[0]) == -1.0  # black to move has lost
    assert not game.legal_mask(two).any()
    # a finished game ignores further actions
    after = game.step(two, torch.tensor([3]))
    assert torch.equal(after.board, two.board) and int(after.moves[0]) == int(two.moves[0])


def test_scoring_dame_eyes_and_draw():
    game = Go(size=5, komi=0.0)
    # the middle column touches both colours: dame, counted for nobody
    state = game.position(
        _board(
            """
            . X . O .
            . X . O .
            . X . O .
            . X . O .
            . X . O .
            """
        ),
        player=1,
    )
    assert float(game.score(state)[0]) == 0.0
    two = game.step(game.step(state, torch.tensor([25])), torch.tensor([25]))
    done, value = game.outcome(two)
    assert done[0] and float(value[0]) == 0.0  # integer komi: a draw
    # stones with eyes: the white eye at (0, 4) counts for white, the black region for black
    state = Go(size=5, komi=2.5).position(
        _board(
            """
            X X O . O
            . X O O O
            X X O . .
            . X O . .
            X X O . .
            """
        )
    )
    # black: 8 stones + the eyes (1, 0) and (3, 0); white: 8 stones + the eye (0, 3) + the 6 points on the right
    black, white = 8 + 2, 8 + 1 + 6
    assert float(Go(size=5, komi=2.5).score(state)[0]) == black - white - 2.5


def test_max_moves_ends_and_scores():
    game = Go(size=5)
    rng = np.random.default_rng(0)
    state = game.init(8)
    pass_after = np.full(8, 10**6)
    while not state.done.all():
        actions = _random_actions(rng, game.legal_mask(state).numpy(), state.moves.numpy(), pass_after)
        state = game.step(state, torch.from_numpy(actions))
    ended_by_limit = state.moves == game.max_moves
    assert ended_by_limit.any()
    assert (state.moves <= game.max_moves).all()
    assert torch.equal(state.score, game.score(state))


def test_illegal_and_out_of_range_actions():
    game = Go(size=5)
    state = game.step(game.init(3), torch.tensor([0, 1, 2]))
    with pytest.raises(IllegalActionError, match="game 1"):
        game.step(state, torch.tensor([5, 1, 7]))  # occupied point in game 1
    with pytest.raises(IllegalActionError, match="out of range"):
        game.step(state, torch.tensor([5, 6, 26]))
    with pytest.raises(IllegalActionError):
        game.step(state, torch.tensor([-1, 6, 7]))
    # the unchecked path never raises
    for bad in ([0, 1, 2], [26, -3, 99], [25, 25, 25]):
        game.step(state, torch.tensor(bad), check=False)


def test_incremental_chains_match_flood_fill():
    for size in (5, 9, 19):
        game = Go(size=size)
        rng = np.random.default_rng(size)
        state = game.init(16)
        pass_after = np.full(16, 10**6)
        for _ in range(min(game.max_moves, 150)):
            actions = _random_actions(rng, game.legal_mask(state).numpy(), state.moves.numpy(), pass_after)
            state = game.step(state, torch.from_numpy(actions))
        fresh = game.position(state.board, player=state.player)
        assert torch.equal(state.libs, fresh.libs)
        # the same partition into chains: two stones share an id here iff they share one there
        a, b = state.chain.long(), fresh.chain.long()
        same_a = a[:, :, None] == a[:, None, :]
        same_b = b[:, :, None] == b[:, None, :]
        assert torch.equal(same_a, same_b)
        # position() knows neither the ko point nor the end
        fresh = dataclasses.replace(fresh, ko=state.ko, done=state.done)
        assert torch.equal(game.legal_mask(state), game.legal_mask(fresh))


def test_options_validated():
    for bad in (4, 20, 9.0, "9"):
        with pytest.raises(ValueError):
            Go(size=bad)
    with pytest.raises(ValueError):
        Go(komi="7.5")
    assert Go(size=13, komi=6).options == {"size": 13, "komi": 6.0}
    for bad in ({"superko": "maybe"}, {"superko": 2}, {"handicap": 1}, {"handicap": True}, {"komi": 1e9}):
        with pytest.raises(ValueError):
            Go(**bad)
    assert Go(superko="true").options == {"size": 9, "komi": 7.5, "superko": True}  # as --option superko=true
    assert Go(superko=0).options == {"size": 9, "komi": 7.5}


def test_draw_and_hit_test():
    pygame = pytest.importorskip("pygame")
    game = Go(size=9)
    state = game.step(game.init(1), torch.tensor([_point(game, 4, 4)]))
    state = game.step(state, torch.tensor([_point(game, 2, 6)]))
    surface = pygame.Surface((360, 360))
    game.draw(surface, state, 0)
    size = surface.get_size()
    for a, colour in ((_point(game, 4, 4), (25, 25, 25)), (_point(game, 2, 6), (235, 235, 235))):
        rect = game.action_rect(a, size)
        assert tuple(surface.get_at(rect.center))[:3] == colour
        assert game.action_at(rect.center, size) == a
    empty = game.action_rect(_point(game, 0, 1), size)
    assert tuple(surface.get_at((empty.centerx + empty.width // 4, empty.centery + 2)))[:3] == (220, 179, 92)
    assert game.action_rect(game.pass_action, size) is None
    assert game.action_at((0, 0), size) is None


def test_check_game():
    check = pytest.importorskip("envs.check")
    check.check_game(Go(size=9))
    check.check_game(Go(size=5))
    check.check_game(Go(size=5, superko=True))


def test_symmetries_map_games():
    # a random game and its image under each symmetry: planes transform, legal masks permute, scores agree
    game = Go(size=7)
    syms = game.symmetries()
    assert len(syms) == 8 and torch.equal(syms[0][1], torch.arange(game.num_actions))
    rng = np.random.default_rng(5)
    batch = 4
    states = [game.init(batch) for _ in syms]
    pass_after = np.full(batch, 60)
    while not states[0].done.all():
        mask = game.legal_mask(states[0])
        planes = game.planes(states[0])
        for (transform, perm), state in zip(syms, states):
            assert torch.equal(game.planes(state), transform(planes))
            assert torch.equal(game.legal_mask(state), mask[:, perm])
            assert perm[-1] == game.pass_action
        actions = torch.from_numpy(_random_actions(rng, mask.numpy(), states[0].moves.numpy(), pass_after))
        states = [game.step(state, torch.argsort(perm)[actions]) for (_, perm), state in zip(syms, states)]
    for state in states[1:]:
        assert torch.equal(state.score, states[0].score)


# ----------------------------------------------------------------------------------------- superko and handicap


def _triple_ko(game: Go) -> tuple[torch.Tensor, list[tuple[int, int]]]:
    """A 9x9 board with three kos and, per ko, (left point, right point): white's ko stone sits on the left point
    (black captures it by playing the right one) or black's on the right point (white captures by playing left)."""
    board = torch.zeros(9, 9, dtype=torch.int8)
    kos = []
    for k, (r, c) in enumerate(((0, 0), (0, 5), (5, 0))):
        shape = _board(
            """
            . X O .
            X . . O
            . X O .
            """
        )
        board[r : r + 3, c : c + 4] = shape
        left, right = (r + 1, c + 1), (r + 1, c + 2)
        if k == 1:
            board[right] = 1  # ko 2 is black's
        else:
            board[left] = -1  # kos 1 and 3 are white's
        kos.append((_point(game, *left), _point(game, *right)))
    return board, kos


def test_superko_forbids_the_triple_ko_cycle():
    # every move takes a ko (never the one just taken): after six moves the first board would come back
    plain, superko = Go(size=9), Go(size=9, superko=True)
    board, kos = _triple_ko(plain)
    (l1, r1), (l2, r2), (l3, r3) = kos
    cycle = [r1, l2, r3, l1, r2, l3]
    states = {g: g.position(board, player=0) for g in (plain, superko)}
    for n, a in enumerate(cycle):
        for g, s in states.items():
            assert bool(g.legal_mask(s)[0, a]) == (g is plain or n < 5), f"move {n}: {'superko' if g.superko else ''}"
        if n < 5:
            states = {g: g.step(s, torch.tensor([a])) for g, s in states.items()}
            assert torch.equal(states[plain].board, states[superko].board)
            assert int(states[plain].ko[0]) >= 0  # each capture is a simple ko...
    s = states[superko]
    # ...so simple ko alone allows the sixth, which recreates the first board; superko forbids it, names it in
    # plane 6, and the step check refuses it
    assert torch.equal(plain.step(states[plain], torch.tensor([l3])).board[0], board.flatten())
    ko_plane = superko.planes(s)[0, 6].flatten()
    assert ko_plane.nonzero()[:, 0].tolist() == sorted([l2, l3])  # the simple ko point and the superko one
    with pytest.raises(IllegalActionError):
        superko.step(s, torch.tensor([l3]))
    # a pass, then another move, and the board of move 6 is no repeat any more: white may play there later
    s = superko.step(superko.step(s, torch.tensor([_point(superko, 8, 8)])), torch.tensor([_point(superko, 8, 6)]))
    assert bool(superko.legal_mask(s)[0, l3])


def test_superko_random_games_against_board_sets():
    # oracle: the set of boards seen so far in each game, compared exactly; a point is superko-illegal iff the
    # simple-ko rules allow it and the board it makes is in the set; no move ever makes a board of the set.
    # Random games from the triple-ko board that mostly take kos, so boards come back often.
    plain, superko = Go(size=9), Go(size=9, superko=True)
    board, kos = _triple_ko(plain)
    rng = np.random.default_rng(7)
    batch = 32
    state = superko.position(board.expand(batch, 9, 9), player=0)
    seen = [{bytes(state.board[i].numpy())} for i in range(batch)]
    pass_after = np.full(batch, 10**6)
    forbidden = 0
    for _ in range(60):
        live = (~state.done).nonzero()[:, 0].tolist()
        mask = superko.legal_mask(state)
        bare = dataclasses.replace(state, history=state.history[:, :1])  # the same state without superko
        extra = (plain.legal_mask(bare) & ~mask).nonzero().tolist()
        for i, a in extra:
            after = plain.step(take(bare, i), torch.tensor([a]))
            assert bytes(after.board[0].numpy()) in seen[i], f"game {i}: point {a} forbidden without a repeat"
        forbidden += len(extra)
        actions = _random_actions(rng, mask.numpy(), state.moves.numpy(), pass_after)
        stones = state.board.numpy()
        for i in live:  # a legal ko capture: black on a right point next to white's stone, white on a left one
            black = int(state.player[i]) == 0
            takes = [r if black else l for l, r in kos if stones[i, l if black else r] == (-1 if black else 1)]
            takes = [a for a in takes if mask[i, a]]
            if takes and rng.random() < 0.9:
                actions[i] = rng.choice(takes)
        state = superko.step(state, torch.from_numpy(actions))
        for i in live:
            key = bytes(state.board[i].numpy())
            assert actions[i] == superko.pass_action or key not in seen[i], f"game {i}: a board came back"
            seen[i].add(key)
    assert forbidden > 50, forbidden  # the sample reaches superko positions (beyond plain ko)


def test_handicap_points_are_gnu_gos():
    # GNU Go 3.8's answers to `fixed_handicap N` (list_stones black), in GTP coordinates
    expected = {
        (9, 3): "C7 G7 C3",
        (9, 5): "C7 G7 E5 C3 G3",
        (7, 4): "C5 E5 C3 E3",
        (8, 4): "C6 F6 C3 F3",
        (12, 4): "D9 J9 D4 J4",
        (13, 2): "K10 D4",
        (13, 3): "D10 K10 D4",
        (13, 6): "D10 K10 D7 K7 D4 K4",
        (13, 8): "D10 G10 K10 D7 K7 D4 G4 K4",
        (13, 9): "D10 G10 K10 D7 G7 K7 D4 G4 K4",
    }
    letters = "ABCDEFGHJKLMNOPQRST"
    for (size, stones), text in expected.items():
        want = sorted((size - int(v[1:])) * size + letters.index(v[0]) for v in text.split())
        assert fixed_handicap_points(size, stones) == want, (size, stones)
    for size, stones in ((7, 5), (10, 5), (5, 2), (9, 1), (19, 10)):
        with pytest.raises(ValueError, match="handicap"):
            Go(size=size, handicap=stones)


def test_handicap_game_starts_with_white():
    game = Go(size=9, komi=0.5, handicap=4)
    state = game.init(2)
    assert int((state.board == 1).sum()) == 8 and (state.player == 1).all() and (state.moves == 0).all()
    assert game.options == {"size": 9, "komi": 0.5, "handicap": 4}
    assert not game.legal_mask(state)[:, fixed_handicap_points(9, 4)].any()
    assert (game.planes(state)[:, 7] == 0).all()  # white to move
    # two passes: black's four stones own the empty board (area score 81 - 0.5)
    two = game.step(game.step(state, torch.tensor([81, 81])), torch.tensor([81, 81]))
    assert two.done.all() and (two.score == 80.5).all()


def test_dead_stones_by_playouts():
    # a black stone inside white's living group and a white stone inside black's area are dead; the rest lives
    game = Go(size=5, komi=0.5)
    board = _board(
        """
        . X O . O
        X X O O O
        . X O X .
        O X O O O
        . X O . O
        """
    )
    state = game.position(torch.stack([board, -board]), player=torch.tensor([0, 1]))
    dead = game.dead_stones(state, generator=torch.Generator().manual_seed(0))
    expected = torch.zeros(25, dtype=torch.bool)
    expected[[_point(game, 2, 3), _point(game, 3, 0)]] = True
    assert torch.equal(dead[0], expected) and torch.equal(dead[1], expected)  # colours swapped: the same points
    assert not game.dead_stones(game.init(1))[0].any()
