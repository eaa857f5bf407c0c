"""A self-check of the batched game protocol for any game object: `check_game(game)`.

    from envs import get_game, check_game
    check_game(get_game("othello", size=6))       # raises AssertionError naming the game, the ply and the problem

Dimension letters: B games, K symmetries, A actions, C/H/W planes.

What it checks (in the spirit of Gymnasium's ``check_env``):
    - attributes: id, name, num_actions, planes_shape, board_shape, max_moves, options, pass_action agree;
    - ``init``: a frozen dataclass of tensors with leading dim B; player 0 to move, no moves, last_action -1, live;
    - random games (seeded) played to the end, each also in its image under every symmetry, all in one batch of
      K * B rows; at every ply:
        * masks and outcomes: shapes and dtypes; a game is over exactly when it has no legal action; values in
          {-1, 0, +1} and 0 while not over; finished games stay finished with the same value; every game ends
          within ``max_moves`` moves;
        * ``step`` leaves its input untouched (every field, also when it raises); finished rows come back unchanged;
          live rows count one more move, switch the player to move and record the action; ``check=False`` gives the
          same result as ``check=True`` on legal actions;
        * batch agrees with single games: stepping one row alone gives that row of the batched step;
        * symmetries: identity first, each permutation a permutation of the A actions; where the actions are the
          board cells (and a pass), each permutation moves the cells as its transform moves the planes (pass fixed);
          a game played in its image under each symmetry that fixes the start position (every one but Othello's
          quarter turns and axis mirrors) has planes ``transform(planes)``, legal mask ``mask[..., perm]`` and the
          same outcome at every ply (a game whose actions are not the cells should list only such symmetries);
        * bad actions: an illegal or out-of-range action of a live game raises IllegalActionError with
          ``check=True`` and no exception with ``check=False``; finished games ignore any action;
    - drawing (when pygame is installed): ``draw`` runs, and ``action_at`` finds every action at the centre of its
      ``action_rect``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import Tensor

from envs.base import Game, IllegalActionError
from envs.state import batch_size, cat, clone, rows_equal, take

__all__ = ["check_game"]


def check_game(
    game: Game,
    *,
    batch: int = 8,
    seed: int = 0,
    device: str | torch.device = "cpu",
    singles_per_ply: int = 2,
    draw: bool = True,
) -> None:
    """Check that `game` follows the batched game protocol (see the module docstring for the list).

    Args:
        game: the game object.
        batch: B random games (the checked batch holds K * B rows, K = symmetries that fix the start position).
        seed: seed of the random moves.
        device: where the states live.
        singles_per_ply: rows stepped alone and compared with the batched step at every ply.
        draw: also check drawing and hit-testing (skipped without pygame).
    Raises:
        AssertionError: naming the game and what went wrong.
    """
    name = f"{getattr(game, 'name', type(game).__name__)}{getattr(game, 'options', '')}"
    _check_attributes(game, name)
    syms = game.symmetries()
    perms = _check_symmetries(game, name, syms)
    k, a_n = len(syms), game.num_actions
    gen = torch.Generator().manual_seed(seed)

    base = game.init(batch, device)
    _check_fresh(game, name, base, batch)
    # games are played in their images under the symmetries that fix the start position (Othello's start is fixed
    # by half of the dihedral group); _check_symmetries checked the others on the cells
    start_planes, start_mask = game.planes(base), game.legal_mask(base)
    fixing = [
        s
        for s, (fn, perm) in enumerate(syms)
        if torch.equal(fn(start_planes), start_planes)
        and torch.equal(start_mask[:, perm.to(start_mask.device)], start_mask)
    ]
    syms, perms, k = [syms[s] for s in fixing], [perms[s] for s in fixing], len(fixing)
    state = cat([base] * k)  # rows s*B..(s+1)*B-1: the images under symmetry s of games 0..B-1
    inverse = torch.stack([torch.argsort(p) for p in perms]).to(base.player.device)  # [K, A]: original a -> image
    prev_done = prev_value = None
    for ply in range(game.max_moves + 1):
        where = f"{name} ply {ply}"
        mask, done, value = _check_position(game, where, state, k * batch)
        _check_images(game, where, syms, perms, state, mask, done, value, batch)
        if prev_done is not None:
            _require(bool((done | ~prev_done).all()), f"{where}: a finished game came back to life")
            _require(torch.equal(value[prev_done], prev_value[prev_done]), f"{where}: a finished game's value changed")
        prev_done, prev_value = done, value
        if bool(done.all()):
            break
        action = _random_actions(mask[:batch], gen).to(mask.device)  # [B]
        actions = inverse.gather(1, action.expand(k, batch)).reshape(-1)  # [K*B]: the same move in every image
        if ply % 4 == 0:
            _check_bad_actions(game, where, state, mask, actions, gen)
        state = _check_step(game, where, state, actions, mask, singles_per_ply, gen)
    else:
        raise AssertionError(f"{name}: games still running after max_moves = {game.max_moves} moves")

    # finished games ignore any action, even an out-of-range one
    for junk in (0, a_n, -1):
        before = clone(state)
        after = game.step(state, torch.full((k * batch,), junk, dtype=torch.long, device=mask.device))
        _require(bool(rows_equal(before, state).all()), f"{name}: step changed its input (finished games)")
        _require(bool(rows_equal(after, state).all()), f"{name}: finished games changed on action {junk}")
    if draw:
        _check_drawing(game, name, state)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise AssertionError(message)


def _check_attributes(game: Game, name: str) -> None:
    for attr in ("id", "name"):
        _require(isinstance(getattr(game, attr, None), str), f"{name}: `{attr}` must be a str")
    a_n = game.num_actions
    _require(isinstance(a_n, int) and a_n > 0, f"{name}: num_actions must be a positive int, got {a_n!r}")
    shape = tuple(game.planes_shape)
    _require(len(shape) == 3, f"{name}: planes_shape must be (C, H, W), got {shape}")
    _require(tuple(game.board_shape) == shape[1:], f"{name}: board_shape {game.board_shape} != planes H, W {shape}")
    _require(isinstance(game.max_moves, int) and game.max_moves > 0, f"{name}: max_moves must be a positive int")
    _require(isinstance(game.options, dict), f"{name}: options must be a dict")
    p = game.pass_action
    _require(p is None or (isinstance(p, int) and 0 <= p < a_n), f"{name}: pass_action {p!r} not in 0..{a_n - 1}")


def _check_symmetries(game: Game, name: str, syms: list) -> list[Tensor]:
    """The permutations (on the CPU) after checking identity first and that each is a permutation of the actions."""
    a_n = game.num_actions
    _require(len(syms) >= 1, f"{name}: symmetries() must list at least the identity")
    perms = []
    for s, (fn, perm) in enumerate(syms):
        _require(callable(fn), f"{name}: symmetry {s}: the transform is not callable")
        perm = torch.as_tensor(perm).cpu()
        _require(perm.shape == (a_n,) and perm.dtype == torch.long, f"{name}: symmetry {s}: perm must be long[{a_n}]")
        _require(torch.equal(perm.sort().values, torch.arange(a_n)), f"{name}: symmetry {s}: perm is no permutation")
        perms.append(perm)
    _require(torch.equal(perms[0], torch.arange(a_n)), f"{name}: the first symmetry must be the identity")
    h, w = game.board_shape
    if a_n - h * w in (0, 1):  # actions are the cells (then maybe a pass): a perm must move cells as the transform does
        cells = torch.arange(h * w).view(h, w)
        for s, (fn, perm) in enumerate(syms):
            _require(
                torch.equal(fn(cells).reshape(-1), perm[: h * w]),
                f"{name}: symmetry {s}: perm does not move the cells as the transform moves the planes",
            )
            _require(bool((perm[h * w :] == torch.arange(h * w, a_n)).all()), f"{name}: symmetry {s} moves the pass")
    return perms


def _check_fresh(game: Game, name: str, state: Any, batch: int) -> None:
    _require(dataclasses.is_dataclass(state), f"{name}: a State must be a dataclass")
    _require(type(state).__dataclass_params__.frozen, f"{name}: a State must be a frozen dataclass")
    for f in dataclasses.fields(state):
        x = getattr(state, f.name)
        _require(
            isinstance(x, Tensor) and x.dim() >= 1 and x.shape[0] == batch, f"{name}: field {f.name}: not [B, ...]"
        )
    for f in ("player", "moves", "last_action"):
        _require(getattr(state, f).dtype == torch.long, f"{name}: State.{f} must be a LongTensor")
    _require(bool((state.player == 0).all()), f"{name}: player 0 must move first")
    _require(bool((state.moves == 0).all()), f"{name}: moves must start at 0")
    _require(bool((state.last_action == -1).all()), f"{name}: last_action must start at -1")
    _require(not bool(game.outcome(state)[0].any()), f"{name}: a fresh game is over")


def _check_position(game: Game, where: str, state: Any, rows: int) -> tuple[Tensor, Tensor, Tensor]:
    """(mask [R, A], done [R], value [R]) after checking shapes, dtypes and their agreement."""
    mask = game.legal_mask(state)
    done, value = game.outcome(state)
    _require(mask.shape == (rows, game.num_actions) and mask.dtype == torch.bool, f"{where}: legal_mask not bool[B, A]")
    _require(done.shape == (rows,) and done.dtype == torch.bool, f"{where}: outcome done not bool[B]")
    _require(value.shape == (rows,) and value.is_floating_point(), f"{where}: outcome value not float[B]")
    _require(torch.equal(mask.any(1), ~done), f"{where}: a game must be over exactly when it has no legal action")
    _require(bool(((value == -1) | (value == 0) | (value == 1)).all()), f"{where}: values must be -1, 0 or +1")
    _require(bool((value[~done] == 0).all()), f"{where}: value must be 0 while the game is not over")
    _require(bool(((state.player == 0) | (state.player == 1)).all()), f"{where}: player must be 0 or 1")
    _require(bool((state.moves <= game.max_moves).all()), f"{where}: more moves than max_moves")
    return mask, done, value


def _check_images(
    game: Game,
    where: str,
    syms: list,
    perms: list[Tensor],
    state: Any,
    mask: Tensor,
    done: Tensor,
    value: Tensor,
    batch: int,
) -> None:
    """Rows of symmetry s must be the images of rows 0..B-1: planes transformed, masks permuted, same outcome."""
    planes = game.planes(state)
    rows = mask.shape[0]
    _require(planes.shape == (rows, *game.planes_shape), f"{where}: planes shape {tuple(planes.shape)}")
    _require(planes.is_floating_point(), f"{where}: planes must be float")
    _require(bool(((planes >= 0) & (planes <= 1)).all()), f"{where}: planes must lie in [0, 1]")
    first = planes[:batch]
    for s, ((fn, _), perm) in enumerate(zip(syms, perms)):
        part = slice(s * batch, (s + 1) * batch)
        _require(torch.equal(planes[part], fn(first)), f"{where}: symmetry {s} does not map the planes")
        _require(torch.equal(mask[part], mask[:batch][:, perm.to(mask.device)]), f"{where}: symmetry {s}: masks")
        _require(torch.equal(done[part], done[:batch]), f"{where}: symmetry {s}: the image ends differently")
        _require(torch.equal(value[part], value[:batch]), f"{where}: symmetry {s}: the image has another value")


def _random_actions(mask: Tensor, gen: torch.Generator) -> Tensor:
    """LongTensor[R] (on the CPU): a uniformly random legal action per live row, 0 for finished rows."""
    weights = mask.cpu().float()
    weights[~mask.cpu().any(1), 0] = 1.0
    return torch.multinomial(weights, 1, generator=gen)[:, 0]


def _check_step(
    game: Game, where: str, state: Any, actions: Tensor, mask: Tensor, singles: int, gen: torch.Generator
) -> Any:
    """The batched step of `actions` after checking it against the unchecked path and single-row steps."""
    before = clone(state)
    new = game.step(state, actions)
    fast = game.step(state, actions, check=False)
    _require(bool(rows_equal(before, state).all()), f"{where}: step changed its input")
    _require(bool(rows_equal(new, fast).all()), f"{where}: step(check=False) differs from step(check=True)")
    rows = batch_size(state)
    _require(type(new) is type(state) and batch_size(new) == rows, f"{where}: step returned another kind of State")
    live = mask.any(1)
    if not bool(live.all()):
        _require(bool(rows_equal(take(new, ~live), take(state, ~live)).all()), f"{where}: a finished game changed")
    _require(torch.equal(new.moves[live], state.moves[live] + 1), f"{where}: a move must add one to `moves`")
    _require(torch.equal(new.player[live], 1 - state.player[live]), f"{where}: the player to move must switch")
    _require(torch.equal(new.last_action[live], actions[live]), f"{where}: last_action must be the action played")
    for i in torch.randint(rows, (singles,), generator=gen).tolist():
        one = take(state, i)
        _require(torch.equal(game.legal_mask(one)[0], mask[i]), f"{where}: row {i}: legal mask differs when alone")
        alone = game.step(one, actions[i : i + 1])
        _require(bool(rows_equal(alone, take(new, i)).all()), f"{where}: row {i}: stepped alone it differs")
        _require(torch.equal(game.planes(alone), game.planes(new)[i : i + 1]), f"{where}: row {i}: planes differ alone")
        for x, y in zip(game.outcome(alone), game.outcome(new)):
            _require(torch.equal(x, y[i : i + 1]), f"{where}: row {i}: the outcome differs alone")
    return new


def _check_bad_actions(game: Game, where: str, state: Any, mask: Tensor, actions: Tensor, gen: torch.Generator) -> None:
    """An illegal or out-of-range action of one live row raises with check=True (input untouched) and not without."""
    live = mask.any(1)
    a_n = game.num_actions
    candidates = (live[:, None] & ~mask).nonzero()  # (row, illegal action) pairs
    bad_actions = [(-1, None), (a_n, None)]
    if len(candidates):
        row, act = candidates[int(torch.randint(len(candidates), (1,), generator=gen))].tolist()
        bad_actions.append((act, row))
    live_rows = live.nonzero()[:, 0]
    for act, row in bad_actions:
        if row is None:
            row = int(live_rows[int(torch.randint(len(live_rows), (1,), generator=gen))])
        bad = actions.clone()
        bad[row] = act
        before = clone(state)
        try:
            game.step(state, bad)
        except IllegalActionError as e:
            _require(f"game {row}" in str(e), f"{where}: the error for game {row} does not name it: {e}")
        else:
            raise AssertionError(f"{where}: action {act} in game {row} was accepted by step(check=True)")
        game.step(state, bad, check=False)  # undefined result, but no exception
        _require(bool(rows_equal(before, state).all()), f"{where}: step with a bad action changed its input")


def _check_drawing(game: Game, name: str, state: Any) -> None:
    try:
        import pygame
    except ImportError:
        return
    size = (240, 200)
    surface = pygame.Surface(size)
    game.draw(surface, state, 0)
    for a in range(game.num_actions):
        rect = game.action_rect(a, size)
        if rect is None:
            _require(a == game.pass_action, f"{name}: action {a} has no rect but is no pass")
            continue
        _require(game.action_at(rect.center, size) == a, f"{name}: action_at(action_rect({a}).center) != {a}")
