"""One PettingZoo AEC environment for every registered board game: `BoardGameEnv(game)`.

    env = envs.make_env("connect_four", render_mode="rgb_array")
    env.reset(seed=0)
    for agent in env.agent_iter():
        obs, reward, terminated, truncated, info = env.last()
        action = None if terminated or truncated else env.action_space(agent).sample(obs["action_mask"])
        env.step(action)

Dimension letters: A actions, C/H/W planes (the game's `planes_shape`).

Agents: "player_0" (moves first) and "player_1"; `agent_selection` always names the player to move of the game.

Observation (a gymnasium Dict per agent):
    "observation": float32 [C, H, W] in [0, 1], the game's planes (channels first, as the networks read them) from
        that agent's view: for the player to move exactly `game.planes(state)`; for the other agent the planes of the
        same position with the side to move switched (plane 0 its own stones, plane 1 the opponent's). float32 because
        that is what `planes` returns and what a network takes: no conversion on either side.
    "action_mask": int8 [A], 1 for legal actions of the agent to move; all zeros for the other agent and once the game
        is over (PettingZoo's classic convention).
Actions: Discrete(A), the game's action ids (envs/<game>.py documents them; pass = H*W where the game has one).
Rewards: +1 to the winner and -1 to the loser on the move that ends the game, 0 to both on a draw and on every other
    move. Terminations: both agents when the game is over. Truncations: only if a game reaches `max_moves` without its
    rules ending and scoring it; every game registered today ends and scores at `max_moves`, so this never happens.

Bad input, following PettingZoo's classic environments (their `env()` wraps `raw_env` in TerminateIllegalWrapper with
illegal_reward=-1): an integer action that is illegal in the position or out of range 0..A-1 ends the game at once
with a UserWarning; the acting agent gets -1, the other 0, and both are terminated (PettingZoo's wrapper also sets
the truncation flags; here they stay False: the game did end). Anything that is not one integer (a float, a string,
an array of several values, None for an agent whose game is still running) raises a ValueError that names the agent
and the value, and leaves the environment untouched. `step(None)` is the required action of an agent that is
terminated or truncated (the AEC API: each one steps once with None and is then removed from `agents`).

Rendering: "rgb_array" returns uint8 [height, width, 3] drawn by `game.draw` on an offscreen pygame surface (no
display needed); "human" opens a pygame window, draws after `reset` and every `step`, and processes its events
(closing the window stops the drawing). Seeding: `reset(seed=s)` seeds `np_random` and the agents' action spaces,
so `action_space(agent).sample(mask)` repeats after the same seed (the games themselves are deterministic).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import gymnasium
import numpy as np
import torch
from gymnasium import spaces
from pettingzoo import AECEnv

from envs.base import Game

__all__ = ["BoardGameEnv", "AGENTS"]

AGENTS = ["player_0", "player_1"]


class BoardGameEnv(AECEnv):
    """PettingZoo AEC environment over one game (a batch of 1) of any batched game (see the module docstring).

    Args:
        game: a game object of the envs protocol (e.g. envs.get_game("go", size=9)).
        render_mode: None, "rgb_array" or "human".
        render_size: (width, height) of rendered images and of the window; default 480 wide, the board's aspect.
        device: where the game state lives (the env is for single games; the CPU is the sensible place).
    Attributes:
        game: the game; game_state: the current State (batch 1), read-only by convention.
    """

    metadata = {
        "render_modes": ["human", "rgb_array"],
        "name": "board_game",
        "is_parallelizable": False,
        "render_fps": 2,
    }

    def __init__(
        self,
        game: Game,
        render_mode: str | None = None,
        *,
        render_size: tuple[int, int] | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__()
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.game = game
        self.metadata = {**type(self).metadata, "name": game.id}
        self.render_mode = render_mode
        h, w = game.board_shape
        self.render_size = tuple(render_size) if render_size else (480, max(1, round(480 * h / w)))
        self.device = torch.device(device)
        self.possible_agents = list(AGENTS)
        num_actions = game.num_actions
        self.observation_spaces = {
            agent: spaces.Dict(
                {
                    "observation": spaces.Box(low=0.0, high=1.0, shape=tuple(game.planes_shape), dtype=np.float32),
                    "action_mask": spaces.Box(low=0, high=1, shape=(num_actions,), dtype=np.int8),
                }
            )
            for agent in self.possible_agents
        }
        self.action_spaces = {agent: spaces.Discrete(num_actions) for agent in self.possible_agents}
        self.game_state: Any = None
        self._ended_by_illegal = False
        self._window: Any = None
        self._clock: Any = None
        self._window_closed = False

    def __repr__(self) -> str:
        return f"BoardGameEnv({self.game!r}, render_mode={self.render_mode!r})"

    # spaces ---------------------------------------------------------------------------------------------------
    def observation_space(self, agent: str) -> spaces.Space:
        """The Dict space of `agent` (the same object on every call)."""
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        """Discrete(A) (the same object on every call)."""
        return self.action_spaces[agent]

    # AEC API --------------------------------------------------------------------------------------------------
    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """Start a new game with player_0 to move; `seed` seeds np_random and the action spaces; `options` unused."""
        if seed is not None:
            self._np_random, self._np_random_seed = gymnasium.utils.seeding.np_random(seed)
            for i, agent in enumerate(self.possible_agents):
                self.action_spaces[agent].seed(seed + i)
        self.game_state = self.game.init(1, self.device)
        self._ended_by_illegal = False
        self.agents = list(self.possible_agents)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {agent: {} for agent in self.agents}
        self.agent_selection = self._agent_to_move()
        self._skip_agent_selection = None
        if self.render_mode == "human":
            self.render()

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        """{"observation": float32 [C, H, W], "action_mask": int8 [A]} from `agent`'s view."""
        if self.game_state is None:
            raise RuntimeError("call reset() before observe()")
        player = self.possible_agents.index(agent)
        state = self.game_state
        to_move = int(state.player[0])
        if player != to_move:
            state = dataclasses.replace(state, player=1 - state.player)
        planes = self.game.planes(state)[0].to("cpu", torch.float32).numpy()
        mask = np.zeros(self.game.num_actions, dtype=np.int8)
        if player == to_move and not self._ended_by_illegal:
            mask[:] = self.game.legal_mask(self.game_state)[0].cpu().numpy()
        return {"observation": np.ascontiguousarray(planes), "action_mask": mask}

    def step(self, action: Any) -> None:
        """Play `action` for `agent_selection` (None for an agent that is terminated or truncated).

        Raises:
            ValueError: `action` is not a single integer (the environment is left unchanged).
            RuntimeError: before the first reset().
        """
        if self.game_state is None:
            raise RuntimeError("call reset() before step()")
        if not self.agents:
            warnings.warn("step() called after every agent is done; call reset() to play again", UserWarning, 2)
            return
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        a = self._read_action(agent, action)
        self._cumulative_rewards[agent] = 0.0
        self._clear_rewards()
        num_actions = self.game.num_actions
        legal = 0 <= a < num_actions and bool(self.game.legal_mask(self.game_state)[0, a])
        if not legal:
            why = "out of range" if not 0 <= a < num_actions else "illegal"
            warnings.warn(
                f"{self.game.id}: {agent} played {why} action {a}; the game ends and {agent} loses "
                f"(observation['action_mask'] holds the legal actions)",
                UserWarning,
                stacklevel=2,
            )
            self._ended_by_illegal = True
            self.rewards[agent] = -1.0
            self.terminations = dict.fromkeys(self.agents, True)
            self._accumulate_rewards()
            self._deads_step_first()
        else:
            action_tensor = torch.tensor([a], dtype=torch.long, device=self.device)
            self.game_state = self.game.step(self.game_state, action_tensor, check=True)
            done, value = self.game.outcome(self.game_state)
            if bool(done[0]):
                mover = self._agent_to_move()
                v = float(value[0])
                for other in self.agents:
                    self.rewards[other] = v if other == mover else -v
                self.terminations = dict.fromkeys(self.agents, True)
            elif int(self.game_state.moves[0]) >= self.game.max_moves:
                self.truncations = dict.fromkeys(self.agents, True)
            self.agent_selection = self._agent_to_move()
            self._accumulate_rewards()
        if self.render_mode == "human":
            self.render()

    def render(self) -> np.ndarray | None:
        """The image: uint8 [height, width, 3] for "rgb_array"; None for "human" (drawn in the window) and without
        a render_mode (with a warning)."""
        if self.render_mode is None:
            gymnasium.logger.warn("You are calling render method without specifying any render mode.")
            return None
        if self.game_state is None:
            raise RuntimeError("call reset() before render()")
        if self.render_mode == "rgb_array":
            from envs.draw import render_array

            return render_array(self.game, self.game_state, 0, self.render_size)
        self._render_window()
        return None

    def close(self) -> None:
        """Close the window, if one is open."""
        if self._window is not None:
            import pygame

            pygame.display.quit()
            self._window = None

    # helpers --------------------------------------------------------------------------------------------------
    def _agent_to_move(self) -> str:
        return self.possible_agents[int(self.game_state.player[0])]

    def _read_action(self, agent: str, action: Any) -> int:
        """The action as a Python int; ValueError for anything that is not exactly one integer."""
        value: Any = action
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        if isinstance(value, np.ndarray) and value.size == 1:
            value = value.reshape(())[()]
        if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            return int(value)
        if action is None:
            raise ValueError(f"{self.game.id}: {agent} is still playing; None is only the action of a finished agent")
        raise ValueError(
            f"{self.game.id}: {agent} sent {action!r}; an action is one integer in 0..{self.game.num_actions - 1}"
        )

    def _render_window(self) -> None:
        if self._window_closed:
            return
        import pygame

        if self._window is None:
            pygame.display.init()
            pygame.display.set_caption(self.game.name.replace("_", " ").title())
            self._window = pygame.display.set_mode(self.render_size)
            self._clock = pygame.time.Clock()
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                self._window_closed = True
                self.close()
                return
        self.game.draw(self._window, self.game_state, 0)
        pygame.display.flip()
        self._clock.tick(self.metadata["render_fps"])
