"""Self-play: G games in lockstep with the batched search; finished games restart in place.

Every move, one batched search runs for all G games (one network call per simulation for all of them), one action per
game is chosen (temperature `temperature` for the first `temperature_moves` moves of a game, then greedy), and all games
step together. A finished game is replaced in its slot by a fresh one at once, so the batch stays full. Games still
running when `SelfPlay.run` returns continue in the next call (with the newer network).

Options: root Dirichlet noise, tree reuse between moves, Gumbel root search, and KataGo's playout cap randomization
(with probability `full_search_prob` a move gets the full budget and noise and its policy is a training target; else a
fast search with `fast_simulations` and no noise; every position still trains the value head), and value targets
mixed with the search's root value (`value_mix`). Auxiliary targets (KataGo), as asked by `aux_targets`:
"ownership" and "score" of each game's final position (the game's `ownership` / `final_score` traits) seen by each
position's player to move, and "reply": the search policy of the next position (the opponent's reply), valid where
that position had a full search. `state_dict` / `load_state_dict` carry the games in progress
across a checkpoint, so a resumed run continues them exactly.

Dimension letters: G games in the batch, P positions, A actions, C/H/W planes.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch

from agents import mcts
from agents.mcts import Evaluator, SearchSettings
from core.progress import progress
from envs import state as state_ops
from envs import traits
from envs.base import Game

__all__ = ["SelfPlay"]


class SelfPlay:
    """G concurrent self-play games that persist across calls to `run`.

    Args:
        game: a game from `envs.get_game`.
        num_games: G, games played in lockstep.
        device: where states, trees and the network live.
        settings: the search settings of a full search (its root noise included); fast searches use them with
            `fast_simulations` and no noise.
        temperature: move-selection temperature for the first `temperature_moves` moves of each game (then 0); with
            Gumbel search the move is always the search's own choice (its root Gumbel noise explores).
        tree_reuse: keep the subtree under the played move for the next search.
        full_search_prob: playout cap randomization; 1.0 turns it off (every move a full search).
        fast_simulations: budget of the fast searches.
        value_mix: value target = (1 - value_mix) * game outcome + value_mix * the search's root value (lowers the
            noise of outcomes of games played with exploration).
        seed: seed of the generator used for noise-free move sampling and playout cap draws.
        aux_targets: auxiliary targets to record: any of "ownership", "score" (games with those traits), "reply".
    """

    def __init__(
        self,
        game: Game,
        num_games: int,
        settings: SearchSettings,
        *,
        device: str | torch.device = "cpu",
        temperature: float = 1.0,
        temperature_moves: int = 8,
        tree_reuse: bool = True,
        full_search_prob: float = 1.0,
        fast_simulations: int = 16,
        value_mix: float = 0.0,
        seed: int = 0,
        aux_targets: tuple[str, ...] = (),
    ) -> None:
        self.game = game
        self.num_games = int(num_games)
        self.device = torch.device(device)
        self.settings = settings
        self.num_simulations = settings.num_simulations
        self.temperature = float(temperature)
        self.temperature_moves = int(temperature_moves)
        self.tree_reuse = bool(tree_reuse)
        self.full_search_prob = float(full_search_prob)
        self.fast_simulations = int(fast_simulations)
        self.fast_settings = settings.replace(num_simulations=self.fast_simulations, dirichlet_fraction=0.0)
        self.value_mix = float(value_mix)
        self.aux_targets = tuple(aux_targets)
        self._final = {"ownership": traits.ownership(game), "score": traits.final_score(game)}
        for name in self.aux_targets:
            if name not in ("ownership", "score", "reply"):
                raise ValueError(f"unknown auxiliary target {name!r} (ownership, score, reply)")
            if name != "reply" and self._final[name] is None:
                raise ValueError(f"{game.name} has no {name} target")
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(int(seed))
        self.rng = np.random.default_rng(int(seed))
        self.reset()

    def reset(self) -> None:
        """Start G fresh games and forget any unfinished trajectories."""
        g = self.num_games
        self.state = self.game.init(g, device=self.device)
        self.tree = None
        self.episode = torch.arange(g)  # [G] id of the episode in each slot (host)
        self.next_episode = g
        self.outcomes: dict[int, float] = {}  # episode id -> outcome from the first player's view
        self.finals: dict[str, dict[int, torch.Tensor]] = {}  # "ownership"/"score" -> episode id -> first player's view
        self.records: list[dict[str, torch.Tensor]] = []  # one per move, on the host
        self.ready = 0  # recorded positions of finished games

    def _search(self, evaluate: Evaluator, full: bool) -> mcts.SearchResult:
        settings = self.settings if full else self.fast_settings
        tree = self.tree if self.tree_reuse else None
        return mcts.search(self.game, self.state, evaluate, settings, tree=tree, generator=self.generator)

    def step(self, evaluate: Evaluator) -> tuple[int, int]:
        """Play one move in every game.

        Returns:
            (games finished by this move, simulations run per game).
        """
        game, state = self.game, self.state
        full = bool(self.full_search_prob >= 1.0 or self.rng.random() < self.full_search_prob)
        result = self._search(evaluate, full)
        temp = torch.where(state.moves < self.temperature_moves, self.temperature, 0.0).to(self.device)
        if self.settings.gumbel:
            temp = torch.zeros_like(temp)  # the sequential halving winner: its root Gumbel noise already explores
        action = mcts.select_action(result, temp, generator=self.generator)  # [G]
        self.records.append(
            {
                "planes": game.planes(state).to(torch.float16).cpu(),
                "policy": result.policy.float().cpu(),
                "mask": game.legal_mask(state).cpu(),
                "player": state.player.cpu(),
                "root_value": result.value.float().cpu(),
                "episode": self.episode.clone(),
                "full": torch.full((self.num_games,), full),
            }
        )
        state = game.step(state, action, check=False)
        tree = mcts.advance_tree(result.tree, action) if self.tree_reuse else None
        done, value = game.outcome(state)
        finished = 0
        if bool(done.any()):
            rows = done.nonzero().squeeze(1).cpu()
            z_first = torch.where(state.player == 0, value, -value)[done].float().cpu()  # first player's view
            for ep, z in zip(self.episode[rows].tolist(), z_first.tolist(), strict=True):
                self.outcomes[ep] = z
            for name in self.aux_targets:
                if name != "reply":
                    final = self._final[name](state)[done].float().cpu()  # the final position, mover's view
                    sign = torch.where(state.player[done] == 0, 1.0, -1.0).cpu()
                    final = final * (sign[:, None] if final.dim() == 2 else sign)
                    self.finals.setdefault(name, {}).update(zip(self.episode[rows].tolist(), final, strict=True))
            self.ready += int(state.moves[done].sum())  # every move of a game is one recorded position
            finished = len(rows)
            self.episode[rows] = torch.arange(self.next_episode, self.next_episode + finished)
            self.next_episode += finished
            state = state_ops.where(done, game.init(self.num_games, device=self.device), state)
            if tree is not None:
                tree = mcts.reset_rows(tree, done)  # the restarted slots get a fresh tree in the next search
        self.state, self.tree = state, tree
        return finished, (self.num_simulations if full else self.fast_simulations)

    def run(
        self, evaluate: Evaluator, min_positions: int, *, show_progress: bool = True
    ) -> tuple[dict[str, np.ndarray], dict]:
        """Play until at least `min_positions` positions of finished games are collected.

        Args:
            evaluate: an Evaluator (agents.mcts): (planes, mask, states) -> (logits [G,A], value [G]).
            min_positions: lower bound on P.
        Returns:
            (trajectories, stats). trajectories: planes float16 [P,C,H,W], policy [P,A], mask bool [P,A],
            value [P] (outcome from the view of the position's player to move), full bool [P];
            stats: games, positions, moves, simulations, seconds, first_wins, draws, second_wins, mean_length.
        """
        start = time.perf_counter()
        games = moves = sims = 0
        ready = self.ready
        self.tree = None  # built by an older network; dropping it also makes a resumed run continue exactly
        bar = progress(total=min_positions, desc="self-play", unit="pos", disable=not show_progress or None)
        bar.update(min(ready, min_positions))
        while ready < min_positions:
            finished, used = self.step(evaluate)
            moves += 1
            sims += used * self.num_games
            games += finished
            if finished:
                new_ready = self.ready
                bar.update(min(new_ready, min_positions) - min(ready, min_positions))
                ready = new_ready
        bar.close()
        data, z_games = self._collect()
        seconds = time.perf_counter() - start
        z = np.asarray(z_games, dtype=np.float32)
        stats = {
            "games": games,
            "positions": len(data["value"]),
            "moves": moves,
            "simulations": sims,
            "seconds": seconds,
            "first_wins": int((z > 0).sum()),
            "draws": int((z == 0).sum()),
            "second_wins": int((z < 0).sum()),
            "mean_length": float(len(data["value"]) / max(len(z), 1)),
        }
        return data, stats

    def state_dict(self) -> dict:
        """Everything needed to continue the games in progress exactly (states, their recorded moves, generators)."""
        return {
            "state": {f.name: getattr(self.state, f.name).cpu() for f in dataclasses.fields(self.state)},
            "episode": self.episode.clone(),
            "next_episode": self.next_episode,
            "outcomes": dict(self.outcomes),
            "finals": {k: dict(v) for k, v in self.finals.items()},
            "records": list(self.records),
            "ready": self.ready,
            "generator": self.generator.get_state(),
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, sd: dict) -> None:
        """Restore what `state_dict` saved (the search tree is rebuilt by the next search)."""
        self.state = type(self.state)(**{k: v.to(self.device) for k, v in sd["state"].items()})
        self.episode = sd["episode"].clone()
        self.next_episode = int(sd["next_episode"])
        self.outcomes = dict(sd["outcomes"])
        self.finals = {k: dict(v) for k, v in sd.get("finals", {}).items()}
        self.records = list(sd["records"])
        self.ready = int(sd["ready"])
        self.generator.set_state(sd["generator"].cpu())
        self.rng.bit_generator.state = sd["rng"]
        self.tree = None

    def _collect(self) -> tuple[dict[str, np.ndarray], list[float]]:
        """Split the records into finished trajectories (returned) and unfinished ones (kept)."""
        cat = {k: torch.cat([r[k] for r in self.records]) for k in self.records[0]} if self.records else None
        z_games = list(self.outcomes.values())
        if cat is None:
            return {}, z_games
        ids = torch.tensor(sorted(self.outcomes), dtype=torch.long)
        z_by_id = torch.tensor([self.outcomes[i] for i in ids.tolist()], dtype=torch.float32)
        ready = torch.isin(cat["episode"], ids)
        pos = torch.searchsorted(ids, cat["episode"][ready])
        z_first = z_by_id[pos]
        value = torch.where(cat["player"][ready] == 0, z_first, -z_first)
        value = (1.0 - self.value_mix) * value + self.value_mix * cat["root_value"][ready]
        data = {
            "planes": cat["planes"][ready].numpy(),
            "policy": cat["policy"][ready].numpy(),
            "mask": cat["mask"][ready].numpy(),
            "value": value.numpy(),
            "full": cat["full"][ready].numpy(),
        }
        sign = torch.where(cat["player"][ready] == 0, 1.0, -1.0)
        for name in self.aux_targets:
            if name == "reply":
                data["reply"], data["reply_valid"] = self._replies(cat["episode"][ready], cat["policy"][ready],
                                                                   cat["full"][ready])  # fmt: skip
            else:
                final = torch.stack([self.finals[name][i] for i in ids.tolist()])[pos]  # [P] or [P, N]
                data[name] = (final * (sign[:, None] if final.dim() == 2 else sign)).numpy()
        keep = ~ready
        self.records = [{k: v[keep] for k, v in cat.items()}] if bool(keep.any()) else []
        self.outcomes = {}
        self.finals = {}
        self.ready = 0
        return data, z_games

    @staticmethod
    def _replies(episode: torch.Tensor, policy: torch.Tensor, full: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(reply [P, A], valid [P]): each position's next position's policy in its episode (rows are in move order
        within an episode), valid where there is a next position and it had a full search."""
        order = torch.argsort(episode, stable=True)
        same = episode[order[1:]] == episode[order[:-1]]
        nxt = torch.arange(len(episode))
        nxt[order[:-1][same]] = order[1:][same]
        valid = torch.zeros(len(episode), dtype=torch.bool)
        valid[order[:-1][same]] = True
        valid &= full[nxt]
        return (policy[nxt] * valid[:, None]).numpy(), valid.numpy()
