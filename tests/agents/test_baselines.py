"""Baseline players against independent oracles: a brute-force tic-tac-toe minimax, random play, known positions."""

import functools

import pytest
import torch

from agents.alphabeta import AlphaBetaPlayer, _alphabeta, _Limits, negamax_values
from agents.heuristics import heuristic
from agents.player import Player, RandomPlayer, ThinkingPlayer
from agents.search_player import rollout_player
from envs import get_game
from envs import state as state_ops

LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


def _won(board, mark):
    return any(all(board[i] == mark for i in line) for line in LINES)


@functools.cache
def _solve(board, mark):
    """Brute-force minimax of a tic-tac-toe board (string of '.xo') for `mark` to move: +1 / 0 / -1."""
    other = "o" if mark == "x" else "x"
    if _won(board, other):
        return -1
    if "." not in board:
        return 0
    return max(-_solve(board[:i] + mark + board[i + 1 :], other) for i in range(9) if board[i] == ".")


def _all_positions():
    """Every reachable unfinished tic-tac-toe position as (moves, board string)."""
    out, seen, stack = [], set(), [("", ".........", [])]
    while stack:
        _, board, moves = stack.pop()
        if board in seen:
            continue
        seen.add(board)
        mark = "x" if len(moves) % 2 == 0 else "o"
        if _won(board, "x") or _won(board, "o") or "." not in board:
            continue
        out.append((moves, board))
        for i in range(9):
            if board[i] == ".":
                stack.append(("", board[:i] + mark + board[i + 1 :], [*moves, i]))
    return out


def _states(game, sequences):
    """States after each sequence of equal length."""
    state = game.init(len(sequences))
    for k in range(len(sequences[0])):
        state = game.step(state, torch.tensor([s[k] for s in sequences]))
    return state


def test_alphabeta_depth9_is_perfect_at_tictactoe():
    game = get_game("tictactoe")
    player = AlphaBetaPlayer(9, seed=1)
    positions = _all_positions()
    assert len(positions) == 4520  # the known count of reachable non-terminal positions
    by_ply = {}
    for moves, board in positions:
        by_ply.setdefault(len(moves), []).append((moves, board))
    bad = 0
    for ply, group in by_ply.items():
        state = _states(game, [m for m, _ in group]) if ply else game.init(1)
        actions = player(game, state).tolist()
        for (_, board), a in zip(group, actions):
            mark, other = ("x", "o") if ply % 2 == 0 else ("o", "x")
            assert board[a] == ".", f"illegal move {a} in {board}"
            best = _solve(board, mark)
            bad += -_solve(board[:a] + mark + board[a + 1 :], other) < best
    assert bad == 0


def test_alphabeta_beats_random_at_connect_four():
    from arena.match import play_games

    game = get_game("connect_four")
    res = play_games(game, AlphaBetaPlayer(4, seed=0), RandomPlayer(seed=1), 40, progress=False, opening_plies=0)
    assert res.wins_a >= 36, (res.wins_a, res.draws, res.losses_a)


def test_pruned_search_equals_full_width():
    """Alpha-beta with pruning (no batched shortcut) gives the exact full-width negamax value."""
    game = get_game("connect_four")
    gen = torch.Generator().manual_seed(3)
    state = game.init(6)
    for _ in range(8):
        legal = game.legal_mask(state)
        state = game.step(state, torch.where(legal, torch.rand(legal.shape, generator=gen), -1.0).argmax(-1))
    full = negamax_values(game, state, 3)
    for i in range(6):
        s1 = state_ops.take(state, i)
        assert _alphabeta(
            game, s1, 3, -float("inf"), float("inf"), 0, _Limits(budget=1, max_width=99)
        ) == pytest.approx(float(full[i]))


CONNECT_FOUR_TACTICS = [
    ([0, 6, 0, 5, 0, 4], 0),  # X wins in column 0 (O threatens column 3, but X moves first)
    ([0, 6, 0, 5, 0], 0),  # O must block column 0
    ([0, 0, 1, 1, 2], 3),  # O must block the bottom row at column 3
    ([6, 6, 5, 5, 4, 4], 3),  # X wins on the bottom row at column 3
]


@pytest.mark.parametrize("moves,answer", CONNECT_FOUR_TACTICS, ids=["win", "block-column", "block-row", "win-row"])
def test_rollout_mcts_finds_wins_and_blocks(moves, answer):
    game = get_game("connect_four")
    player = rollout_player(game, 200, seed=0)
    assert int(player(game, _states(game, [moves]))[0]) == answer


@pytest.mark.parametrize("moves,answer", CONNECT_FOUR_TACTICS, ids=["win", "block-column", "block-row", "win-row"])
def test_alphabeta_finds_wins_and_blocks(moves, answer):
    game = get_game("connect_four")
    assert int(AlphaBetaPlayer(2)(game, _states(game, [moves]))[0]) == answer


@pytest.mark.parametrize(
    "name,options",
    [
        ("tictactoe", {}),
        ("connect_four", {}),
        ("gomoku", {"size": 7}),
        ("othello", {"size": 6}),
        ("hex", {"size": 5}),
        ("go", {"size": 5}),
    ],
)
def test_heuristic_and_alphabeta_every_game(name, options):
    game = get_game(name, **options)
    gen = torch.Generator().manual_seed(0)
    state = game.init(3)
    for _ in range(4):
        legal = game.legal_mask(state)
        state = game.step(state, torch.where(legal, torch.rand(legal.shape, generator=gen), -1.0).argmax(-1))
    h = heuristic(game, state)
    assert h.shape == (3,) and bool((h.abs() < 1).all())
    player = AlphaBetaPlayer(2)
    a = player(game, state)
    legal = game.legal_mask(state)
    live = legal.any(-1)
    assert bool(legal[torch.arange(3), a][live].all())
    assert player.info["value"].shape == (3,) and player.info["policy"].shape == (3, game.num_actions)


@pytest.mark.parametrize("spec", ["random", "rollout:8", "mcts:8", "alphabeta:2"])
def test_every_player_kind_keeps_the_player_contract(spec):
    from agents.players import make_player

    game = get_game("connect_four")
    player = make_player(spec, game, seed=3)
    assert isinstance(player, Player)
    assert isinstance(player, ThinkingPlayer) == (spec != "random")
    state = _states(game, [[], [3, 3], [0, 1, 0, 1, 0, 1, 0]])
    action = player(game, state)
    assert action.shape == (3,) and action.dtype == torch.long
    live = ~game.outcome(state)[0]
    assert bool(game.legal_mask(state)[torch.arange(3), action][live].all())
    assert player.name.startswith(spec.split(":")[0]) and player.checkpoint is None
