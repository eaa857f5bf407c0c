"""The C walks (agents._search_walk) against the Python ones (numpy, and torch with one leaf per call): searches of
Connect Four, Go and chess (marked slow) with the same evaluator agree node for node, also on a reused tree. Skipped
where the extension is not built (then every search takes the Python walks)."""

from __future__ import annotations

import pytest
import torch

import envs
from agents import mcts
from agents.host_tree import current_walk, native_walk_available, use_walk
from agents.mcts import SearchSettings
from agents.tree import state_fields

pytestmark = pytest.mark.skipif(not native_walk_available(), reason="agents._search_walk is not built")

# (game, option overrides, plies into the game of up to 3 games)
CASES = [
    pytest.param("connect_four", {}, [3, 5, 6], 48, id="connect_four"),
    pytest.param("go", {"size": 7}, [3, 0, 4], 48, id="go"),
    pytest.param("chess", {}, [2, 0, 3], 12, id="chess", marks=pytest.mark.slow),  # chess steps slowly: 96 s at load 20
]
SETTINGS = [
    SearchSettings(leaf_batch=1),
    SearchSettings(leaf_batch=8),
    SearchSettings(leaf_batch=4, fpu_reduction=0.2, forced_playouts=True, c_puct=2.0),
]


def projection_evaluator(game, seed: int = 0):
    """A fixed random linear function of the planes: distinct priors and values at every position, row by row."""
    gen = torch.Generator().manual_seed(seed)
    size = 1
    for d in game.planes_shape:
        size *= d
    w = torch.randn(size, game.num_actions, generator=gen) / size**0.5
    v = torch.randn(size, generator=gen) / size**0.5

    def evaluate(planes, mask, state=None):
        x = planes.flatten(1)
        logits = (x @ w).masked_fill(~mask, -float("inf"))
        return logits, torch.tanh(x @ v)

    return evaluate


def _game(name, options):
    return envs.get_game(name, **options) if options else envs.get_game(name)


def _positions(game, plies: list[int]):
    """State [B]: game i after plies[i] moves, each the middle one of the legal moves (by action id)."""
    state = game.init(len(plies))
    for ply in range(max(plies)):
        legal = game.legal_mask(state)
        middle = [int(row.nonzero()[len(row.nonzero()) // 2]) for row in legal]
        moving = torch.tensor(plies) > ply
        if bool(moving.any()):
            nxt = game.step(state, torch.tensor(middle), check=False)
            state = type(state)(**{k: _where(moving, getattr(nxt, k), getattr(state, k)) for k in state_fields(state)})
    return state


def _where(rows, a, b):
    return torch.where(rows.view(-1, *[1] * (a.dim() - 1)), a, b)


def _search_twice(game, state, evaluate, settings):
    """A search, then one more on the tree reused after its move; returns both results."""
    first = mcts.search(game, state, evaluate, settings)
    nxt = game.step(state, first.action, check=False)
    second = mcts.search(game, nxt, evaluate, settings, tree=mcts.advance_tree(first.tree, first.action))
    return first, second


def _same(a, b) -> None:
    assert a.visits.tolist() == b.visits.tolist()
    assert a.value.tolist() == b.value.tolist()  # bit for bit
    assert a.action.tolist() == b.action.tolist()
    for name in ("visits", "value_sum", "children", "parent", "terminal", "num_nodes"):
        assert getattr(a.tree, name).tolist() == getattr(b.tree, name).tolist(), name


@pytest.mark.parametrize("name,options,plies,sims", CASES)
def test_native_walk_searches_as_the_python_walk(name, options, plies, sims, monkeypatch):
    game = _game(name, options)
    evaluate = projection_evaluator(game)
    assert current_walk() == "native"
    native_steps = []
    step = mcts._native_leaf_batch_step
    monkeypatch.setattr(mcts, "_native_leaf_batch_step", lambda *a: native_steps.append(a[-1]) or step(*a))
    for settings in (s.replace(num_simulations=sims) for s in SETTINGS):
        batches = [plies[:1], plies] if settings.leaf_batch > 1 else [plies[:1], plies[1:2]]
        for ms in batches:
            state = _positions(game, ms)
            with torch.no_grad():
                with use_walk("python"):
                    want = _search_twice(game, state, evaluate, settings)
                got = _search_twice(game, state, evaluate, settings)
            for a, b in zip(got, want):
                _same(a, b)
            assert int(got[0].tree.visits[0, 0]) == 1 + settings.num_simulations
    assert {1, 4, 8} <= set(native_steps)  # the C walks ran, with one leaf per call too


def test_use_walk_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown walk 'fast'"):
        with use_walk("fast"):
            pass
    assert current_walk() == "native"
