"""The learner of an AlphaZero run: its config, the network and search settings built from it, and training steps.

The job that drives it (self-play -> learn -> checkpoint -> evaluate) is `arena.train` (`gamelab train`), which sits
above both this learner and the evaluation. Presets live in agents/presets/GAME.toml ("tiny" for tests, "cpu" for
2 cores, "gpu").

Dimension letters: S sampled batch, A actions, C/H/W planes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from agents.buffer import ReplayBuffer
from agents.mcts import SearchSettings
from agents.network import PolicyValueNet
from agents.selfplay import SelfPlay
from core.config import bounded, load_toml_presets
from core.device import autocast
from core.optim import clip_gradients
from core.progress import progress
from envs.base import Game

__all__ = [
    "TrainConfig",
    "FIXED_ON_RESUME",
    "PRESET_DIR",
    "load_presets",
    "make_net",
    "make_buffer",
    "search_settings",
    "make_selfplay",
    "train_steps",
]

PRESET_DIR = Path(__file__).parent / "presets"


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a training run (presets and --key=value set these); ranges are checked when it is built."""

    seed: int = bounded(0, ge=0)
    size: int = bounded(0, ge=0)  # board size option of the game (0: the game's default)
    # network
    blocks: int = bounded(2, ge=1)
    channels: int = bounded(32, ge=1)
    global_pool: bool = False
    # self-play and search (`search_settings` turns these into the one SearchSettings)
    num_games: int = bounded(64, ge=1)  # G games in lockstep
    simulations: int = bounded(32, ge=1)
    c_puct: float = bounded(1.5, gt=0)
    fpu_reduction: float = bounded(0.0, ge=0)  # unvisited children: Q = parent's mean value - fpu_reduction
    dirichlet_alpha: float = bounded(0.3, gt=0)
    dirichlet_fraction: float = bounded(0.25, ge=0, le=1)
    forced_playouts: bool = False  # KataGo's forced playouts with policy target pruning (PUCT only)
    forced_k: float = bounded(2.0, gt=0)
    leaf_batch: int = bounded(0, ge=0)  # leaves per tree per network call (0: 8 when at most 4 games search, else 1)
    temperature: float = bounded(1.0, ge=0)
    temperature_moves: int = bounded(4, ge=0)  # moves of each game played with `temperature`, then greedy
    tree_reuse: bool = True
    gumbel: bool = False
    max_considered_actions: int = bounded(16, ge=1)
    gumbel_scale: float = bounded(1.0, ge=0)
    value_scale: float = bounded(0.1, gt=0)
    maxvisit_init: float = bounded(50.0, ge=0)
    full_search_prob: float = bounded(1.0, ge=0, le=1)  # playout cap randomization (1.0: off)
    fast_simulations: int = bounded(8, ge=1)
    value_mix: float = bounded(0.0, ge=0, le=1)  # value target = (1 - value_mix) * outcome + value_mix * root value
    positions_per_iteration: int = bounded(1024, ge=1)  # at least this many new positions per iteration
    # self-play actors on Ray (arena.actors); 0: self-play in the job's own process, and Ray is never imported
    actors: int = bounded(0, ge=0)
    max_policy_lag: int = bounded(2, ge=0)  # actors' positions from weights older than this many versions: dropped
    max_steps_per_position: float = bounded(0.0, ge=0)  # learner steps per new position (0: steps/positions per iter)
    # replay buffer and training
    buffer_window: int = bounded(20000, ge=1)
    # sample the window's distinct positions (same planes and legal moves), each with its copies' mean value and
    # mean full-search policy, uniformly: a position played 40 times is one sample, not 40 (agents.buffer)
    merge_duplicates: bool = False
    batch_size: int = bounded(256, ge=1)
    steps_per_iteration: int = bounded(50, ge=0)
    optimizer: str = "adamw"
    lr: float = bounded(2e-3, gt=0)
    weight_decay: float = bounded(1e-4, ge=0)
    momentum: float = bounded(0.9, ge=0, le=1)
    scheduler: str = "constant"
    warmup_steps: int = bounded(0, ge=0)
    total_steps: int = bounded(10000, ge=1)  # horizon of decaying schedules
    value_weight: float = bounded(1.0, ge=0)
    grad_clip: float = bounded(0.0, ge=0)  # 0: no clipping
    # evaluation (every `eval_every` iterations; 0: never)
    eval_every: int = bounded(1, ge=0)
    eval_simulations: int = bounded(32, ge=1)  # search budget of the evaluated agent (same settings, no noise)
    eval_games: int = bounded(20, ge=0)  # games against each baseline and the previous checkpoint
    eval_baselines: str = "random,rollout:64"  # comma-separated player specs
    eval_previous: bool = True  # also play the previous checkpoint (for the Bradley-Terry Elo)
    eval_solver: bool = True  # tictactoe: exhaustive minimax check; connect four: test sets
    eval_bench_sets: str = "Own_End,Own_Middle,Own_Begin"  # shipped in the package; Pons' Test_* where present
    eval_bench_limit: int = bounded(100, ge=0)  # positions per connect four test set (0: all)
    # length of the run
    iterations: int = bounded(10, ge=0)
    minutes: float = bounded(0.0, ge=0)  # 0: no time limit
    # checkpoints kept on disk: the last `keep_checkpoints` (the newest is what --resume needs; the one before is
    # the fallback when the newest is damaged) plus every `milestone_every`-th iteration (0: no milestones)
    keep_checkpoints: int = bounded(3, ge=1)
    milestone_every: int = bounded(10, ge=0)
    # pretraining on game records (PGN, SGF, JSONL) before self-play, a stage of the run (arena.pretrain)
    pretrain: tuple[str, ...] = ()  # record files; (): no pretraining
    pretrain_epochs: int = bounded(1, ge=1)
    pretrain_steps: int = bounded(0, ge=0)  # stop after this many steps (0: when the epochs are done)
    pretrain_batch: int = bounded(256, ge=1)
    pretrain_lr: float = bounded(1e-3, gt=0)
    pretrain_holdout: float = bounded(0.1, ge=0, lt=1)  # share of the games held out for the accuracy
    pretrain_shuffle: int = bounded(20000, ge=1)  # positions in the shuffle buffer
    pretrain_eval_every: int = bounded(100, ge=1)  # steps between held-out evaluations and checkpoints
    pretrain_skip_bad: bool = False  # skip games that cannot be read (a warning line each) instead of stopping


# fields a resumed run cannot change: the saved network, games in progress and random streams depend on them
FIXED_ON_RESUME = ("seed", "size", "blocks", "channels", "global_pool", "num_games")


def load_presets(game_name: str) -> dict[str, dict]:
    """Presets of a game from agents/presets/GAME.toml (empty when the file is missing)."""
    path = PRESET_DIR / f"{game_name}.toml"
    return load_toml_presets(path) if path.is_file() else {}


def make_net(game: Game, cfg: TrainConfig) -> PolicyValueNet:
    """The policy-value network the config describes, for `game`."""
    return PolicyValueNet(
        tuple(game.planes_shape),
        game.num_actions,
        blocks=cfg.blocks,
        channels=cfg.channels,
        global_pool=cfg.global_pool,
    )


def search_settings(cfg: TrainConfig) -> SearchSettings:
    """The run's one search settings object: self-play uses it as is, evaluation without root noise."""
    return SearchSettings(
        num_simulations=cfg.simulations,
        c_puct=cfg.c_puct,
        fpu_reduction=cfg.fpu_reduction,
        dirichlet_alpha=cfg.dirichlet_alpha,
        dirichlet_fraction=cfg.dirichlet_fraction,
        gumbel=cfg.gumbel,
        max_considered_actions=cfg.max_considered_actions,
        gumbel_scale=cfg.gumbel_scale,
        value_scale=cfg.value_scale,
        maxvisit_init=cfg.maxvisit_init,
        forced_playouts=cfg.forced_playouts,
        forced_k=cfg.forced_k,
        leaf_batch=cfg.leaf_batch,
    )


def make_buffer(game: Game, cfg: TrainConfig, directory: str | Path) -> ReplayBuffer:
    """The run's replay buffer in `directory`: its window, the game's symmetries, duplicate merging as configured."""
    return ReplayBuffer(directory, cfg.buffer_window, game.symmetries(), merge_duplicates=cfg.merge_duplicates)


def make_selfplay(game: Game, cfg: TrainConfig, device: torch.device) -> SelfPlay:
    """The run's self-play games, searching with `search_settings(cfg)`."""
    return SelfPlay(
        game, cfg.num_games, search_settings(cfg), device=device, temperature=cfg.temperature,
        temperature_moves=cfg.temperature_moves, tree_reuse=cfg.tree_reuse, full_search_prob=cfg.full_search_prob,
        fast_simulations=cfg.fast_simulations, value_mix=cfg.value_mix, seed=cfg.seed,
    )  # fmt: skip


def train_steps(
    net: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    buffer: ReplayBuffer,
    cfg: TrainConfig,
    generator: np.random.Generator,
    device: torch.device,
    steps: int,
    *,
    show_progress: bool = True,
) -> dict[str, float]:
    """Run `steps` optimizer steps on batches sampled from the buffer.

    Loss = policy cross-entropy against the search policy (full-search positions only) + value_weight * value MSE
    against the game outcome; weight decay comes from the optimizer.
    Returns:
        means of loss, policy_loss, value_loss, policy_entropy over the steps, and lr: the optimizer's learning rate
        in the last step (the next step's when no step ran).
    """
    net.train()
    sums = {"loss": 0.0, "policy_loss": 0.0, "value_loss": 0.0, "policy_entropy": 0.0}
    lr = optimizer.param_groups[0]["lr"]
    bar = progress(range(steps), desc="train", unit="step", disable=not show_progress or None)
    for i in bar:
        batch = buffer.sample(cfg.batch_size, generator, device)
        with autocast(device):
            logits, value = net(batch["planes"])
        logits = logits.float().masked_fill(~batch["mask"], -1e9)  # [S, A]
        log_p = F.log_softmax(logits, dim=-1)
        full = batch["full"].float()  # [S]
        cross = -(batch["policy"] * log_p).sum(-1)  # [S]
        policy_loss = (cross * full).sum() / full.sum().clamp(min=1.0)
        value_loss = F.mse_loss(value.float(), batch["value"])
        loss = policy_loss + cfg.value_weight * value_loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            clip_gradients(net, cfg.grad_clip)
        lr = optimizer.param_groups[0]["lr"]
        optimizer.step()
        scheduler.step()
        with torch.no_grad():
            entropy = -(log_p.exp() * log_p).sum(-1).mean()
        for key, v in (
            ("loss", loss),
            ("policy_loss", policy_loss),
            ("value_loss", value_loss),
            ("policy_entropy", entropy),
        ):
            sums[key] += float(v.detach())
        bar.set_postfix(loss=f"{sums['loss'] / (i + 1):.3f}", refresh=False)
    net.eval()
    out = {k: v / max(steps, 1) for k, v in sums.items()}
    out["lr"] = float(lr)
    return out
