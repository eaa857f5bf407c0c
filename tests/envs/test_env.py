"""BoardGameEnv, the PettingZoo AEC wrapper of every registered game: PettingZoo's api_test, PettingZoo's own
connect_four_v3 / tictactoe_v3 as oracles for observations, masks, rewards and terminations, agreement with the
batched game, rendering (rgb_array and a headless "human" window), bad actions, and seeding."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import torch

import envs
from envs.env import BoardGameEnv

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

# small boards keep the random games short; every option here is documented in the game's module
SMALL = {
    "tictactoe": {},
    "connect_four": {},
    "othello": {"size": 6},
    "gomoku": {"size": 9},
    "hex": {"size": 5},
    "go": {"size": 5},
    "chess": {"max_moves": 100},
    "gardner_chess": {"max_moves": 100},
    "shogi": {"max_moves": 100},
    "minishogi": {"max_moves": 100},
}
NAMES = sorted(envs.GAMES)


def _game(name: str, **options):
    """The game, or a skip while its module has not been written yet."""
    module = envs.GAMES[name].split(":")[0]
    try:
        return envs.get_game(name, **options)
    except ModuleNotFoundError as e:
        if e.name == module:
            pytest.skip(f"{module} is registered but not written yet")
        raise


def _env(name: str, render_mode: str | None = None, small: bool = True) -> BoardGameEnv:
    return BoardGameEnv(_game(name, **(SMALL[name] if small else {})), render_mode=render_mode)


def _random_action(env: BoardGameEnv, obs: dict, rng: np.random.Generator) -> int:
    return int(rng.choice(np.flatnonzero(obs["action_mask"])))


@pytest.mark.parametrize("small", [True, False], ids=["small", "default"])
@pytest.mark.parametrize("name", NAMES)
def test_api_test(name: str, small: bool) -> None:
    from pettingzoo.test import api_test

    env = _env(name, small=small)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # api_test warns about names it keeps in lists (e.g. dict observations)
        api_test(env, num_cycles=1000)
    env.close()


# --- PettingZoo's own environments as oracles ---------------------------------------------------------------------
# (PettingZoo action id <-> ours, PettingZoo observation [.., .., 2] -> our planes 0 and 1 [2, H, W])
def _c4_action(a: int) -> int:
    return a


def _c4_obs(o: np.ndarray) -> np.ndarray:
    return o.transpose(2, 0, 1)  # PettingZoo: [row, col, plane], row 0 at the top, as ours


def _ttt_action(a: int) -> int:
    r, c = divmod(a, 3)
    return c * 3 + r  # PettingZoo numbers tic-tac-toe cells column by column


def _ttt_obs(o: np.ndarray) -> np.ndarray:
    return o.transpose(2, 1, 0)  # PettingZoo's squares are column-major: o[c, r, plane]


@pytest.mark.parametrize("name", ["connect_four", "tictactoe"])
def test_agrees_with_pettingzoo(name: str) -> None:
    from pettingzoo.classic import connect_four_v3, tictactoe_v3

    ours = _env(name)
    theirs = {"connect_four": connect_four_v3, "tictactoe": tictactoe_v3}[name].env()
    to_theirs, their_obs = {"connect_four": (_c4_action, _c4_obs), "tictactoe": (_ttt_action, _ttt_obs)}[name]
    num_actions = ours.game.num_actions
    perm = np.array([to_theirs(a) for a in range(num_actions)])  # ours a -> theirs perm[a]
    name = dict(zip(theirs.possible_agents, ours.possible_agents))  # tictactoe_v3 calls them player_1, player_2

    def by_ours(d: dict) -> dict:
        return {name[k]: v for k, v in d.items()}

    rng = np.random.default_rng(0)
    for game in range(60):
        ours.reset(seed=game)
        theirs.reset(seed=game)
        moves = 0
        while ours.agents or theirs.agents:
            assert ours.agent_selection == name[theirs.agent_selection]
            for agent, their_agent in zip(ours.agents, theirs.agents):
                o, t = ours.observe(agent), theirs.observe(their_agent)
                np.testing.assert_array_equal(o["observation"][:2], their_obs(t["observation"]), err_msg=f"game {game}")
                if not ours.terminations[agent]:  # (PettingZoo's connect four still shows moves once the game is over)
                    np.testing.assert_array_equal(o["action_mask"], t["action_mask"][perm], err_msg=f"game {game}")
            obs, reward, term, trunc, _ = ours.last()
            t_obs, t_reward, t_term, t_trunc, _ = theirs.last()
            assert (reward, term, trunc) == (t_reward, t_term, t_trunc), f"game {game} move {moves}"
            action = None if term or trunc else _random_action(ours, obs, rng)
            ours.step(action)
            theirs.step(None if action is None else to_theirs(action))
            assert dict(ours.rewards) == by_ours(theirs.rewards)
            assert dict(ours.terminations) == by_ours(theirs.terminations)
            assert dict(ours.truncations) == by_ours(theirs.truncations)
            moves += 1
        assert ours.agents == theirs.agents == []


# --- agreement with the batched game ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_random_play_matches_batched_game(name: str) -> None:
    env = _env(name)
    game = env.game
    rng = np.random.default_rng(1)
    for g in range(3):
        env.reset(seed=g)
        state = game.init(1)
        totals = {agent: 0.0 for agent in env.possible_agents}
        while True:
            agent = env.agent_selection
            obs, reward, term, trunc, _ = env.last()
            if term or trunc:
                break
            totals[agent] += reward  # (0 until the end)
            assert agent == f"player_{int(state.player[0])}"
            np.testing.assert_array_equal(obs["observation"], game.planes(state)[0].numpy())
            np.testing.assert_array_equal(obs["action_mask"], game.legal_mask(state)[0].numpy().astype(np.int8))
            # the other agent sees the same stones with own and opponent planes swapped
            other = env.observe(env.possible_agents[1 - int(state.player[0])])
            if name in ("chess", "gardner_chess"):  # 6 piece planes per side, the board turned to the other side
                np.testing.assert_array_equal(other["observation"][:6], obs["observation"][6:12, ::-1])
            elif name in ("shogi", "minishogi"):  # piece planes per side, the board turned to the other side
                t = len(game.types)
                np.testing.assert_array_equal(other["observation"][:t], obs["observation"][t : 2 * t, ::-1, ::-1])
            else:
                np.testing.assert_array_equal(other["observation"][[1, 0]], obs["observation"][:2])
            assert not other["action_mask"].any()
            a = _random_action(env, obs, rng)
            env.step(a)
            state = game.step(state, torch.tensor([a]))
        done, value = game.outcome(state)
        assert bool(done[0]) and not trunc
        # finish the dead steps and collect every agent's final reward
        for agent in env.agent_iter():
            _, reward, term, _, _ = env.last()
            assert term
            totals[agent] += reward
            env.step(None)
        mover = int(state.player[0])
        assert totals[f"player_{mover}"] == float(value[0])
        assert totals[f"player_{1 - mover}"] == -float(value[0])
        assert env.agents == []


# --- rendering ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_render_rgb_array(name: str) -> None:
    env = _env(name, render_mode="rgb_array")
    env.reset()
    first = env.render()
    width, height = env.render_size
    assert isinstance(first, np.ndarray) and first.dtype == np.uint8 and first.shape == (height, width, 3)
    obs, *_ = env.last()
    env.step(int(np.flatnonzero(obs["action_mask"])[0]))
    second = env.render()
    assert second.shape == first.shape and (second != first).any(axis=-1).sum() > 20
    env.close()


def test_render_without_mode_warns_and_returns_none() -> None:
    env = _env("connect_four")
    env.reset()
    with pytest.warns(UserWarning, match="render mode"):
        assert env.render() is None


def test_render_human_headless() -> None:
    import pygame

    env = _env("connect_four", render_mode="human")
    env.metadata["render_fps"] = 1000  # no pause between frames in the test
    env.reset()
    window = pygame.display.get_surface()
    assert window is not None and window.get_size() == env.render_size
    for a in (3, 3, 4):
        env.step(a)
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_a))  # events are consumed, nothing breaks
    env.step(5)
    shown = np.transpose(pygame.surfarray.array3d(pygame.display.get_surface()), (1, 0, 2))
    offscreen = BoardGameEnv(env.game, render_mode="rgb_array")
    offscreen.reset()
    for a in (3, 3, 4, 5):
        offscreen.step(a)
    np.testing.assert_array_equal(shown, offscreen.render())
    env.close()
    assert not pygame.display.get_init()


# --- bad actions --------------------------------------------------------------------------------------------------
def _finish(env: BoardGameEnv) -> dict[str, float]:
    """Step every dead agent with None; return each agent's reward seen in last()."""
    seen = {}
    for agent in env.agent_iter():
        _, reward, term, _, _ = env.last()
        assert term
        seen[agent] = reward
        env.step(None)
    return seen


def test_illegal_action_loses_with_warning() -> None:
    env = _env("connect_four")
    env.reset()
    for _ in range(6):  # fill column 0 (no four in a row: the colours alternate)
        env.step(0)
    assert env.agent_selection == "player_0" and env.observe("player_0")["action_mask"][0] == 0
    with pytest.warns(UserWarning, match="illegal action 0"):
        env.step(0)
    assert env.rewards == {"player_0": -1.0, "player_1": 0.0}
    assert all(env.terminations.values()) and not any(env.truncations.values())
    assert not env.observe("player_0")["action_mask"].any() and not env.observe("player_1")["action_mask"].any()
    assert _finish(env) == {"player_0": -1.0, "player_1": 0.0}
    assert env.agents == []


@pytest.mark.parametrize("action", [7, -1, 10**30, np.int64(99)])
def test_out_of_range_action_loses(action) -> None:
    env = _env("connect_four")
    env.reset()
    env.step(3)
    with pytest.warns(UserWarning, match="out of range"):
        env.step(action)
    assert env.rewards == {"player_0": 0.0, "player_1": -1.0}
    assert _finish(env) == {"player_0": 0.0, "player_1": -1.0}


@pytest.mark.parametrize("action", [1.5, 2.0, "3", [1, 2], np.array([1.0]), True, None, object()])
def test_non_integer_action_is_a_value_error(action) -> None:
    env = _env("connect_four")
    env.reset()
    env.step(3)
    before = env.observe("player_1")
    with pytest.raises(ValueError, match="player_1"):
        env.step(action)
    # nothing changed: the same agent is to move in the same position and can go on
    assert env.agent_selection == "player_1" and not any(env.terminations.values())
    after = env.observe("player_1")
    np.testing.assert_array_equal(before["observation"], after["observation"])
    env.step(np.array(4))  # numpy and torch integers are actions
    env.step(torch.tensor(4))
    assert int(env.game_state.moves[0]) == 3


def test_dead_agent_takes_only_none() -> None:
    env = _env("connect_four")
    env.reset()
    for a in (0, 1, 0, 1, 0, 1, 0):  # player_0 wins vertically in column 0
        env.step(a)
    assert env.terminations == {"player_0": True, "player_1": True}
    assert env.agent_selection == "player_1" and env._cumulative_rewards["player_1"] == -1.0
    with pytest.raises(ValueError):
        env.step(2)
    assert _finish(env) == {"player_1": -1.0, "player_0": 1.0}
    with pytest.warns(UserWarning, match="reset"):  # nobody left to move: a warning, as PettingZoo's wrappers do
        env.step(0)


def test_step_before_reset_is_a_clear_error() -> None:
    env = _env("connect_four")
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    with pytest.raises(RuntimeError, match="reset"):
        env.observe("player_0")


# --- seeding ------------------------------------------------------------------------------------------------------
def _sampled_game(env: BoardGameEnv, seed: int) -> list[int]:
    env.reset(seed=seed)
    actions = []
    for agent in env.agent_iter():
        obs, _, term, trunc, _ = env.last()
        a = None if term or trunc else int(env.action_space(agent).sample(obs["action_mask"]))
        if a is not None:
            actions.append(a)
        env.step(a)
    return actions


@pytest.mark.parametrize("name", ["connect_four", "go"])
def test_seeding_reproduces_sampled_games(name: str) -> None:
    env = _env(name)
    first = _sampled_game(env, 7)
    assert _sampled_game(env, 7) == first
    assert _sampled_game(_env(name), 7) == first
    assert any(_sampled_game(env, s) != first for s in (8, 9, 10))


def test_truncation_when_max_moves_is_not_scored_by_the_rules() -> None:
    game = _game("connect_four")
    game.max_moves = 4  # this instance only: its rules still play to 42 moves, so move 4 ends nothing
    env = BoardGameEnv(game)
    env.reset()
    for a in (0, 1, 2, 3):
        assert not any(env.truncations.values())
        env.step(a)
    assert env.truncations == {"player_0": True, "player_1": True}
    assert not any(env.terminations.values()) and env.rewards == {"player_0": 0.0, "player_1": 0.0}
    for _ in env.agent_iter():
        assert env.last()[3]
        env.step(None)
    assert env.agents == []
