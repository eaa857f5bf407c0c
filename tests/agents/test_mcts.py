"""Batched PUCT search on positions with known answers (no network): wins, blocks, minimax-optimal tic-tac-toe moves,
batch/single agreement, visit accounting, tree reuse, root noise, forced playouts with policy target pruning."""

from __future__ import annotations

import functools
import math

import pytest
import torch
from played_positions import play_moves

import envs
from agents import mcts
from agents.leaf_evaluators import rollout_evaluator, uniform_evaluator
from envs import state as state_ops


def _gen(seed: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


# Connect Four (moves are 0-based columns). (moves, the only non-losing move, kind)
C4_POSITIONS = [
    ([3, 0, 3, 0, 3], 3, "block vertical"),
    ([3, 0, 3, 0, 3, 1], 3, "win vertical"),
    ([0, 0, 1, 1, 2, 2], 3, "win horizontal"),
    ([0, 6, 1, 6, 2], 3, "block horizontal"),
]


@pytest.fixture(scope="module")
def c4():
    return envs.get_game("connect_four")


@pytest.fixture(scope="module")
def ttt():
    return envs.get_game("tictactoe")


def test_connect_four_wins_and_blocks_with_rollouts(c4):
    positions = [(m, a) for m, a, _ in C4_POSITIONS]
    state = play_moves(c4, [m for m, _ in positions])
    result = mcts.search(c4, state, rollout_evaluator(c4, rollouts=2, generator=_gen(0)), num_simulations=160)
    expected = torch.tensor([a for _, a in positions])
    assert torch.equal(result.action, expected)
    # the winning moves really win (the rules say so), and the search's value sees it
    won = c4.step(state, expected)
    done, value = c4.outcome(won)
    for i, (_, _, kind) in enumerate(C4_POSITIONS):
        if kind.startswith("win"):
            assert bool(done[i]) and float(value[i]) == -1.0  # the loser is to move
            assert float(result.value[i]) > 0.5


def test_tictactoe_win_and_block_with_uniform_prior(ttt):
    # cells 0..8 row-major. X: 0, 1 -> X to move wins at 2. O to move after X 0, 4, X 1... must block 2.
    state = play_moves(ttt, [[0, 3, 1, 4], [0, 4, 1]])
    result = mcts.search(ttt, state, uniform_evaluator(ttt), num_simulations=200)
    assert result.action.tolist() == [2, 2]


def test_visits_sum_to_simulations_and_finished_games_get_none(c4):
    state = play_moves(c4, [[], [3, 3], [0, 1, 0, 1, 0, 1, 0]])  # the last game is over (vertical four)
    sims = 37
    result = mcts.search(c4, state, uniform_evaluator(c4), num_simulations=sims, dirichlet_fraction=0.25)
    assert result.visits[:2].sum(-1).tolist() == [sims, sims]
    assert result.visits[2].sum() == 0 and result.policy[2].sum() == 0
    assert torch.allclose(result.policy[:2].sum(-1), torch.ones(2))
    assert torch.equal(result.tree.visits[:2, 0], torch.full((2,), sims + 1.0))
    assert bool((result.visits[:2] >= 0).all()) and bool((result.visits * ~c4.legal_mask(state) == 0).all())


def _integer_evaluator(num_actions: int, planes_shape: tuple[int, int, int]):
    """A deterministic row-wise evaluator with exact (integer-valued) arithmetic: batching cannot change its output."""
    weights = torch.randint(-3, 4, (math.prod(planes_shape), num_actions), generator=_gen(7)).float()
    vweights = torch.randint(-3, 4, (math.prod(planes_shape),), generator=_gen(8)).float()

    def evaluate(planes, mask, state=None):
        flat = planes.flatten(1)
        logits = (flat[:, :, None] * weights).sum(1) / 4.0  # exact sums of small integers / 4
        value = torch.tanh((flat * vweights).sum(1) / 8.0)
        return logits, value

    return evaluate


@pytest.mark.parametrize("leaf_batch", [1, 4], ids=["one-leaf", "4-leaves"])
@pytest.mark.parametrize("gumbel", [False, True], ids=["puct", "gumbel"])
def test_batch_gives_the_same_answers_as_each_game_alone(c4, gumbel, leaf_batch):
    moves = [[], [3], [3, 3, 2], [0, 1, 2, 3, 4, 5, 6, 0], [3, 0, 3, 0, 3]]
    state = play_moves(c4, moves)
    evaluate = _integer_evaluator(c4.num_actions, c4.planes_shape)
    kw = {"num_simulations": 24, "gumbel": gumbel, "gumbel_scale": 0.0, "max_considered_actions": 4}
    kw["leaf_batch"] = leaf_batch
    batch = mcts.search(c4, state, evaluate, **kw)
    for i in range(len(moves)):
        alone = mcts.search(c4, state_ops.take(state, i), evaluate, **kw)
        assert torch.equal(alone.visits[0], batch.visits[i])
        assert torch.equal(alone.action[0], batch.action[i])
        assert torch.allclose(alone.policy[0], batch.policy[i], atol=1e-6)
        assert torch.allclose(alone.value[0], batch.value[i], atol=1e-6)


def test_tree_reuse_keeps_the_subtree(c4):
    state = play_moves(c4, [[], [2, 4]])
    evaluate = _integer_evaluator(c4.num_actions, c4.planes_shape)
    first = mcts.search(c4, state, evaluate, num_simulations=60)
    action = first.action
    child = first.tree.children[torch.arange(2), 0, action].long()
    child_visits = first.tree.visits[torch.arange(2), child]
    tree = mcts.advance_tree(first.tree, action)
    next_state = c4.step(state, action)
    # the new root is the played child: its state, its visits, its children's visits
    assert torch.equal(tree.visits[:, 0], child_visits)
    assert bool(
        state_ops.rows_equal(
            mcts._state_gather(tree.states, torch.arange(2), torch.zeros(2, dtype=torch.long)), next_state
        ).all()
    )
    reused_children = mcts._child_stats(tree, torch.arange(2), torch.zeros(2, dtype=torch.long))[1]
    old_grandchildren = mcts._child_stats(first.tree, torch.arange(2), child)[1]
    assert torch.equal(reused_children, old_grandchildren)
    # searching on: the kept visits plus the new simulations
    second = mcts.search(c4, next_state, evaluate, num_simulations=20, tree=tree)
    assert torch.equal(second.visits.sum(-1), child_visits - 1 + 20)
    # every expanded non-terminal node has one visit of its own plus its children's
    t = second.tree
    for b in range(2):
        for node in range(int(t.num_nodes[b])):
            if not bool(t.terminal[b, node]):
                kids = t.children[b, node].long()
                assert t.visits[b, node] == 1 + t.visits[b, kids[kids >= 0]].sum()


def test_tree_reuse_with_empty_rows(c4):
    state = play_moves(c4, [[], [1]])
    evaluate = uniform_evaluator(c4)
    first = mcts.search(c4, state, evaluate, num_simulations=10)
    tree = mcts.reset_rows(mcts.advance_tree(first.tree, first.action), torch.tensor([False, True]))
    nxt = c4.step(state, first.action)
    second = mcts.search(c4, nxt, evaluate, num_simulations=10, tree=tree)
    assert second.visits[1].sum() == 10
    assert second.visits[0].sum() == tree.visits[0, 0] - 1 + 10


def test_dirichlet_noise_is_a_distribution_over_legal_moves(c4):
    state = play_moves(c4, [[0, 0, 0, 0, 0, 0], []])  # column 0 full in game 0
    evaluate = uniform_evaluator(c4)
    a = mcts.search(c4, state, evaluate, num_simulations=4, dirichlet_fraction=0.5, generator=_gen(1))
    b = mcts.search(c4, state, evaluate, num_simulations=4, dirichlet_fraction=0.5, generator=_gen(1))
    assert torch.equal(a.prior, b.prior)
    assert torch.allclose(a.prior.sum(-1), torch.ones(2))
    assert a.prior[0, 0] == 0
    assert not torch.allclose(a.prior[1], torch.full((7,), 1 / 7))
    # the Dirichlet mean is uniform: average many noisy priors
    many = torch.stack([mcts._sample_dirichlet(0.3, torch.ones(64, 7, dtype=torch.bool), _gen(s)) for s in range(20)])
    assert torch.allclose(many.mean((0, 1)), torch.full((7,), 1 / 7), atol=0.03)


def test_select_action_temperature(c4):
    state = play_moves(c4, [[]] * 4000)
    visits = torch.tensor([1.0, 0.0, 2.0, 5.0, 0.0, 0.0, 2.0])
    res = mcts.SearchResult(
        visits=visits.expand(4000, 7),
        policy=visits.expand(4000, 7) / 10,
        value=torch.zeros(4000),
        q=torch.zeros(4000, 7),
        prior=torch.full((4000, 7), 1 / 7),
        action=torch.full((4000,), 3),
        tree=None,
    )
    assert bool((mcts.select_action(res, 0.0) == 3).all())
    counts = torch.bincount(mcts.select_action(res, 1.0, generator=_gen(3)), minlength=7).float() / 4000
    assert torch.allclose(counts, visits / 10, atol=0.03)
    assert counts[1] == 0 and counts[4] == 0
    temps = torch.where(torch.arange(4000) % 2 == 0, 0.0, 1.0)
    mixed = mcts.select_action(res, temps, generator=_gen(4))
    assert bool((mixed[::2] == 3).all()) and bool((mixed[1::2] != 3).any())
    del state


def test_forced_playouts_and_pruning_keep_the_target_on_the_best_move(c4):
    state = play_moves(c4, [[3, 0, 3, 0, 3, 1], [0, 0, 1, 1, 2, 2]])  # both: the mover wins at column 3
    evaluate = uniform_evaluator(c4)
    sims = 200  # without the exact win check (tactics), which would leave the winning move alone in the prior
    plain = mcts.search(c4, state, evaluate, num_simulations=sims, tactics=0)
    forced = mcts.search(c4, state, evaluate, num_simulations=sims, forced_playouts=True, forced_k=2.0, tactics=0)
    # every legal child got at least (about) its forced playouts sqrt(k * P * total)
    n_forced = (2.0 * forced.prior * sims).sqrt()
    assert bool((forced.visits >= torch.floor(n_forced) - 1).all())
    assert float(forced.visits[:, 3].min()) < float(plain.visits[:, 3].min())  # forced visits went elsewhere
    # after pruning the target is back on the winning move, at least as sharp as the plain visit distribution
    assert bool((forced.policy.argmax(-1) == 3).all())
    assert bool((forced.policy[:, 3] >= plain.policy[:, 3] - 0.02).all())
    assert torch.allclose(forced.policy.sum(-1), torch.ones(2))


# ---------------------------------------------------------------------------------------- tic-tac-toe vs minimax
_LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


@functools.cache
def _minimax(board: tuple[int, ...], mover: int) -> int:
    """Game value for `mover` (1 or 2) with perfect play: +1 win, 0 draw, -1 loss."""
    for a, b, c in _LINES:
        if board[a] and board[a] == board[b] == board[c]:
            return 1 if board[a] == mover else -1
    empty = [i for i in range(9) if not board[i]]
    if not empty:
        return 0
    return max(-_minimax(board[:i] + (mover,) + board[i + 1 :], 3 - mover) for i in empty)


def _move_values(moves: list[int]) -> tuple[dict[int, int], bool]:
    board = [0] * 9
    for k, a in enumerate(moves):
        board[a] = 1 + k % 2
    mover = 1 + len(moves) % 2
    vals = {}
    for i in range(9):
        if not board[i]:
            nb = tuple(board[:i] + [mover] + board[i + 1 :])
            vals[i] = -_minimax(nb, 3 - mover)
    over = any(board[a] and board[a] == board[b] == board[c] for a, b, c in _LINES)
    return vals, over


def _instructive_positions(count: int, seed: int) -> list[list[int]]:
    """Random reachable positions, not over, where some legal move is worse than the best one."""
    g = torch.Generator().manual_seed(seed)
    out: list[list[int]] = []
    while len(out) < count:
        length = int(torch.randint(0, 7, (1,), generator=g))
        moves: list[int] = []
        for _ in range(length):
            vals, over = _move_values(moves)
            if over or not vals:
                break
            legal = sorted(vals)
            moves.append(legal[int(torch.randint(len(legal), (1,), generator=g))])
        vals, over = _move_values(moves)
        if not over and vals and len(set(vals.values())) > 1 and moves not in out:
            out.append(moves)
    return out


def test_tictactoe_puct_with_rollouts_plays_minimax_optimal_moves(ttt):
    positions = _instructive_positions(16, seed=0)
    state = play_moves(ttt, positions)
    result = mcts.search(ttt, state, rollout_evaluator(ttt, rollouts=4, generator=_gen(5)), num_simulations=600)
    for i, moves in enumerate(positions):
        vals, _ = _move_values(moves)
        assert vals[int(result.action[i])] == max(vals.values()), (moves, vals, result.visits[i].tolist())
