"""envs.check_game: every registered game passes it (default and small options), and it catches broken games."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import torch

import envs
from envs.check import check_game

CASES = [
    ("tictactoe", {}),
    ("connect_four", {}),
    ("gomoku", {}),
    ("gomoku", {"size": 9}),
    ("othello", {}),
    ("othello", {"size": 6}),
    ("hex", {}),
    ("hex", {"size": 5}),
    ("go", {}),
    ("go", {"size": 5}),
    ("chess", {"max_moves": 160}),  # the default 512 plies: test_chess_full_length_games_pass (slow)
    ("gardner_chess", {}),
    ("shogi", {"max_moves": 60}),
    ("minishogi", {"max_moves": 60}),
]
# chess moves are picked in two clicks (from, to), so a square's rect names no single action: no hit-test check
NO_HIT_TEST = {"chess", "gardner_chess", "shogi", "minishogi"}


def _id(case: tuple[str, dict]) -> str:
    name, options = case
    return name + "".join(f"-{k}{v}" for k, v in options.items())


def test_every_registered_game_is_covered():
    assert {name for name, _ in CASES} == set(envs.GAMES)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_registered_games_pass(case):
    name, options = case
    envs.check_game(envs.get_game(name, **options), seed=1, draw=name not in NO_HIT_TEST)


@pytest.mark.slow
def test_chess_full_length_games_pass():
    envs.check_game(envs.get_game("chess"), seed=1, draw=False)


@pytest.mark.cuda
@pytest.mark.parametrize("case", CASES, ids=_id)
def test_registered_games_pass_on_cuda(case):
    name, options = case
    check_game(envs.get_game(name, **options), device="cuda", draw=name not in NO_HIT_TEST)


# ------------------------------------------------------------------------------------------ broken games


class _Broken:
    """A game that behaves like `game` except for the methods a subclass overrides."""

    def __init__(self, game: Any) -> None:
        self.game = game

    def __getattr__(self, name: str) -> Any:
        return getattr(self.game, name)


class _WrongSymmetry(_Broken):
    """Swaps two actions in the permutation of the last symmetry (still a permutation)."""

    def symmetries(self):
        syms = list(self.game.symmetries())
        fn, perm = syms[-1]
        perm = perm.clone()
        perm[[0, 1]] = perm[[1, 0]]
        syms[-1] = (fn, perm)
        return syms


class _WrongTransform(_Broken):
    """The last symmetry's plane transform forgets to flip (the permutation is right)."""

    def symmetries(self):
        syms = list(self.game.symmetries())
        syms[-1] = (lambda x: x, syms[-1][1])
        return syms


class _MutatingStep(_Broken):
    """step writes the new move counts into its input."""

    def step(self, state, action, *, check=True):
        new = self.game.step(state, action, check=check)
        state.moves.copy_(new.moves)
        return new


class _SingleRowDiffers(_Broken):
    """A batch of one counts its moves twice."""

    def step(self, state, action, *, check=True):
        new = self.game.step(state, action, check=check)
        if new.moves.shape[0] == 1:
            new = dataclasses.replace(new, moves=new.moves + (new.moves - state.moves))
        return new


class _NoCheck(_Broken):
    """step never checks its actions."""

    def step(self, state, action, *, check=True):
        return self.game.step(state, action, check=False)


class _MaskAfterTheEnd(_Broken):
    """The legal mask of a finished game is not empty."""

    def legal_mask(self, state):
        mask = self.game.legal_mask(state)
        done = self.game.outcome(state)[0]
        return mask | done[:, None]


class _ValueBeforeTheEnd(_Broken):
    """outcome reports a win before the game is over."""

    def outcome(self, state):
        done, value = self.game.outcome(state)
        return done, torch.where(done, value, torch.ones_like(value))


class _FinishedGamesMove(_Broken):
    """Finished games keep counting moves."""

    def step(self, state, action, *, check=True):
        new = self.game.step(state, action, check=check)
        done = self.game.outcome(state)[0]
        return dataclasses.replace(new, moves=new.moves + done.long())


class _NeverEnds(_Broken):
    """A game whose `max_moves` is smaller than its real length."""

    max_moves = 3


@pytest.mark.parametrize(
    ("broken", "name", "message"),
    [
        (_WrongSymmetry, "tictactoe", "perm does not move the cells"),
        (_WrongSymmetry, "connect_four", "symmetry 1 does not map the planes"),
        (_WrongSymmetry, "othello", "perm does not move the cells"),
        (_WrongTransform, "go", "symmetry 7: perm does not move the cells"),
        (_WrongTransform, "connect_four", "symmetry 1 does not map the planes"),
        (_MutatingStep, "hex", "changed its input"),
        (_MutatingStep, "gomoku", "changed its input"),
        (_SingleRowDiffers, "connect_four", "stepped alone it differs"),
        (_NoCheck, "tictactoe", "was accepted by step"),
        (_MaskAfterTheEnd, "connect_four", "over exactly when it has no legal action"),
        (_ValueBeforeTheEnd, "othello", "value must be 0 while the game is not over"),
        (_FinishedGamesMove, "tictactoe", "a finished game changed"),
        (_NeverEnds, "connect_four", "still running after max_moves"),
    ],
    ids=lambda x: x.__name__.strip("_") if isinstance(x, type) else None,
)
def test_broken_games_are_caught(broken, name, message):
    options = {"size": 5} if name in ("go", "hex") else {"size": 9} if name == "gomoku" else {}
    game = broken(envs.get_game(name, **options))
    with pytest.raises(AssertionError, match=message):
        check_game(game, draw=False)
