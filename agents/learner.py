"""The learner of an AlphaZero run: its config, the network and search settings built from it, and training steps.

The job that drives it (self-play -> learn -> checkpoint -> evaluate) is `arena.train` (`gamelab train`), which sits
above both this learner and the evaluation. Presets live in agents/presets/GAME.toml ("tiny" for tests, "cpu" for
2 cores, "gpu"); a game that ships none (a plugin game) gets the three derived from its shape (`derive_presets`).

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
from core.config import bounded, embedded, load_toml_presets
from core.device import autocast
from core.optim import clip_gradients
from core.progress import progress
from envs import traits
from envs.base import Game

__all__ = [
    "TrainConfig",
    "FIXED_ON_RESUME",
    "PRESET_DIR",
    "load_presets",
    "derive_presets",
    "aux_targets",
    "make_net",
    "make_buffer",
    "search_settings",
    "make_selfplay",
    "train_steps",
]

PRESET_DIR = Path(__file__).parent / "presets"


# self-play's search: the play defaults with a smaller budget and root noise, and no exact win check (a play-time
# aid, agents.tactics: no training run has measured it)
TRAIN_SEARCH = SearchSettings(num_simulations=32, dirichlet_fraction=0.25, tactics=0)


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a training run (presets and --key=value set these); ranges are checked when it is built."""

    seed: int = bounded(0, ge=0)  # seeds every random generator of the run
    size: int = bounded(0, ge=0)  # short for --option size=N (0: the game's default or --option size)
    # network
    blocks: int = bounded(2, ge=1)  # residual blocks of the policy-value network
    channels: int = bounded(32, ge=1)  # channels of each convolution
    global_pool: bool = False  # global pooling bias in the blocks (KataGo), for boards of any size
    # self-play and search: the one SearchSettings, its fields options under their own names (`--simulations` sets
    # `num_simulations`); self-play adds root noise, evaluation plays without it
    num_games: int = bounded(64, ge=1)  # G games in lockstep
    search: SearchSettings = embedded(TRAIN_SEARCH, names={"num_simulations": "simulations"})
    temperature: float = bounded(1.0, ge=0)  # move sampling temperature of the first `temperature_moves` moves
    temperature_moves: int = bounded(4, ge=0)  # moves of each game played with `temperature`, then greedy
    tree_reuse: bool = True  # keep the subtree of the played move for the next search
    full_search_prob: float = bounded(1.0, ge=0, le=1)  # playout cap randomization (1.0: off)
    fast_simulations: int = bounded(8, ge=1)  # simulations of the fast searches (playout cap randomization)
    value_mix: float = bounded(0.0, ge=0, le=1)  # value target = (1 - value_mix) * outcome + value_mix * root value
    positions_per_iteration: int = bounded(1024, ge=1)  # at least this many new positions per iteration
    # self-play actors on Ray (arena.actors); 0: self-play in the job's own process, and Ray is never imported
    actors: int = bounded(0, ge=0)  # self-play actor processes on Ray (0: self-play in this process)
    max_policy_lag: int = bounded(2, ge=0)  # actors' positions from weights older than this many versions: dropped
    max_steps_per_position: float = bounded(0.0, ge=0)  # learner steps per new position (0: steps/positions per iter)
    # replay buffer and training
    buffer_window: int = bounded(20000, ge=1)  # newest positions the replay buffer samples from
    # sample the window's distinct positions (same planes and legal moves), each with its copies' mean value and
    # mean full-search policy, uniformly: a position played 40 times is one sample, not 40 (agents.buffer)
    merge_duplicates: bool = False  # sample distinct positions with merged targets (see above)
    batch_size: int = bounded(256, ge=1)  # positions per training step
    steps_per_iteration: int = bounded(50, ge=0)  # optimizer steps per iteration
    optimizer: str = "adamw"  # sgd, adam, adamw, rmsprop, adagrad or rprop
    lr: float = bounded(2e-3, gt=0)  # learning rate (peak of the schedule)
    weight_decay: float = bounded(1e-4, ge=0)  # decoupled weight decay of the optimizer
    momentum: float = bounded(0.9, ge=0, le=1)  # momentum of sgd
    scheduler: str = "constant"  # learning-rate schedule: constant, cosine, linear, step or onecycle
    warmup_steps: int = bounded(0, ge=0)  # linear learning-rate warm-up steps
    total_steps: int = bounded(10000, ge=1)  # horizon of decaying schedules
    value_weight: float = bounded(1.0, ge=0)  # weight of the value loss beside the policy loss
    grad_clip: float = bounded(0.0, ge=0)  # 0: no clipping
    # evaluation (every `eval_every` iterations; 0: never)
    eval_every: int = bounded(1, ge=0)  # evaluate every this many iterations (0: never)
    eval_simulations: int = bounded(32, ge=1)  # search budget of the evaluated agent (same settings, no noise)
    eval_games: int = bounded(20, ge=0)  # games against each baseline and the previous checkpoint
    eval_baselines: str = "random,rollout:64"  # comma-separated player specs
    eval_previous: bool = True  # also play the previous checkpoint (for the Bradley-Terry Elo)
    eval_solver: bool = True  # tictactoe: exhaustive minimax check; connect four: test sets
    eval_bench_sets: str = "Own_End,Own_Middle,Own_Begin"  # shipped in the package; Pons' Test_* where present
    eval_bench_limit: int = bounded(100, ge=0)  # positions per connect four test set (0: all)
    # length of the run
    iterations: int = bounded(10, ge=0)  # iterations of the run (self-play, training, checkpoint)
    minutes: float = bounded(0.0, ge=0)  # 0: no time limit
    cpu_minutes: float = bounded(0.0, ge=0)  # CPU time of the learner process (not Ray actors); 0: no limit
    # checkpoints kept on disk: the last `keep_checkpoints` (the newest is what --resume needs; the one before is
    # the fallback when the newest is damaged) plus every `milestone_every`-th iteration (0: no milestones)
    keep_checkpoints: int = bounded(3, ge=1)  # newest checkpoints kept on disk
    milestone_every: int = bounded(10, ge=0)  # also keep every this-many-th iteration's checkpoint (0: none)
    # KataGo's auxiliary targets (Wu 2019) and input features; 0 / false: off, and the net has no such head. Ownership
    # and score apply to games with those traits (Go), and are ignored for others; the reply applies to every game.
    ownership_weight: float = bounded(0.0, ge=0)  # ownership head: mean per-cell cross-entropy (KataGo 1.5)
    score_weight: float = bounded(0.0, ge=0)  # score head: squared error of the final score / board cells
    reply_weight: float = bounded(0.0, ge=0)  # opponent's reply policy head: cross-entropy (KataGo 0.15)
    input_features: bool = False  # the game's option features=true (Go: liberties 3+, captures, self-atari planes)
    # pretraining on game records (PGN, SGF, JSONL) before self-play, a stage of the run (arena.pretrain)
    pretrain: tuple[str, ...] = ()  # record files; (): no pretraining
    pretrain_epochs: int = bounded(1, ge=1)  # passes over the record files
    pretrain_steps: int = bounded(0, ge=0)  # stop after this many steps (0: when the epochs are done)
    pretrain_batch: int = bounded(256, ge=1)  # positions per pretraining step
    pretrain_lr: float = bounded(1e-3, gt=0)  # learning rate of the pretraining optimizer (AdamW)
    pretrain_holdout: float = bounded(0.1, ge=0, lt=1)  # share of the games held out for the accuracy
    pretrain_shuffle: int = bounded(20000, ge=1)  # positions in the shuffle buffer
    pretrain_eval_every: int = bounded(100, ge=1)  # steps between held-out evaluations and checkpoints
    pretrain_skip_bad: bool = False  # skip games that cannot be read (a warning line each) instead of stopping


# fields a resumed run cannot change: the saved network, games in progress and random streams depend on them
FIXED_ON_RESUME = ("seed", "size", "blocks", "channels", "global_pool", "num_games")
FIXED_ON_RESUME += ("ownership_weight", "score_weight", "reply_weight", "input_features")


def load_presets(game_name: str) -> dict[str, dict]:
    """Presets of a game from agents/presets/GAME.toml; for a known game without that file, `derive_presets`.

    Empty for an unknown game (the job then names the game as unknown).
    """
    path = PRESET_DIR / f"{game_name}.toml"
    if path.is_file():
        return load_toml_presets(path)
    from envs import get_game

    try:
        game = get_game(game_name)
    except (KeyError, ValueError, TypeError):
        return {}
    return derive_presets(game)


def derive_presets(game: Game) -> dict[str, dict]:
    """The presets "tiny", "cpu" and "gpu" sized from a game's shape (planes_shape, num_actions, max_moves).

    tiny: a smoke run of seconds whatever the game. cpu and gpu: residual depth and width grow with the board's
    cells, root noise follows AlphaZero's alpha ~ 10 / (typical number of legal moves), the exploring opening and the
    positions per iteration follow the game's length.
    """
    _, h, w = (int(x) for x in game.planes_shape)
    cells, actions, length = h * w, int(game.num_actions), int(game.max_moves)
    alpha = round(min(1.0, max(0.03, 10.0 / max(1, min(actions, cells)))), 3)
    explore = max(2, min(30, length // 4))
    big = cells > 64
    # fmt: off
    tiny = {"blocks": 1, "channels": 16, "num_games": 16, "simulations": 8, "positions_per_iteration": 64,
            "buffer_window": 2000, "batch_size": 32, "steps_per_iteration": 2, "eval_every": 0, "iterations": 1}
    cpu = {"blocks": 2 if cells <= 16 else 4, "channels": 32 if cells <= 16 else 48, "global_pool": big,
           "num_games": 64 if big else 128, "simulations": 32, "temperature_moves": explore, "dirichlet_alpha": alpha,
           "positions_per_iteration": max(512, 8 * length), "buffer_window": max(8000, 200 * length),
           "batch_size": 256, "steps_per_iteration": 50, "eval_every": 5, "eval_games": 10,
           "eval_simulations": 32, "eval_baselines": "random,alphabeta:2", "iterations": 100}
    gpu = {**cpu, "blocks": 6 if cells <= 64 else 10, "channels": 64 if cells <= 64 else 128, "num_games": 512,
           "simulations": 64, "positions_per_iteration": max(4096, 32 * length),
           "buffer_window": max(50000, 1000 * length), "batch_size": 1024, "steps_per_iteration": 200,
           "eval_every": 2, "eval_games": 40, "eval_simulations": 64, "iterations": 1000}
    # fmt: on
    return {"tiny": tiny, "cpu": cpu, "gpu": gpu}


def aux_targets(game: Game, cfg: TrainConfig) -> tuple[str, ...]:
    """The auxiliary targets the run trains: those with a weight above 0 that apply to `game`."""
    applies = {"ownership": traits.ownership(game) is not None, "score": traits.final_score(game) is not None}
    weights = {"ownership": cfg.ownership_weight, "score": cfg.score_weight, "reply": cfg.reply_weight}
    return tuple(k for k, w in weights.items() if w > 0 and applies.get(k, True))


def make_net(game: Game, cfg: TrainConfig) -> PolicyValueNet:
    """The policy-value network the config describes, for `game`."""
    heads = aux_targets(game, cfg)
    return PolicyValueNet(
        tuple(game.planes_shape),
        game.num_actions,
        blocks=cfg.blocks,
        channels=cfg.channels,
        global_pool=cfg.global_pool,
        ownership_head="ownership" in heads,
        score_head="score" in heads,
        reply_head="reply" in heads,
    )


def search_settings(cfg: TrainConfig) -> SearchSettings:
    """The run's one search settings object: self-play uses it as is, evaluation without root noise."""
    return cfg.search


def make_buffer(game: Game, cfg: TrainConfig, directory: str | Path) -> ReplayBuffer:
    """The run's replay buffer in `directory`: its window, the game's symmetries, duplicate merging as configured."""
    return ReplayBuffer(directory, cfg.buffer_window, game.symmetries(), merge_duplicates=cfg.merge_duplicates)


def make_selfplay(game: Game, cfg: TrainConfig, device: torch.device) -> SelfPlay:
    """The run's self-play games, searching with `search_settings(cfg)`."""
    return SelfPlay(
        game, cfg.num_games, search_settings(cfg), device=device, temperature=cfg.temperature,
        temperature_moves=cfg.temperature_moves, tree_reuse=cfg.tree_reuse, full_search_prob=cfg.full_search_prob,
        fast_simulations=cfg.fast_simulations, value_mix=cfg.value_mix, seed=cfg.seed,
        aux_targets=aux_targets(game, cfg),
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
    against the game outcome, + the auxiliary losses of the heads the net has and the batch has targets for:
    ownership_weight * mean per-cell cross-entropy of (1 + tanh) / 2 against (1 + owner) / 2, score_weight *
    squared error of score / cells, reply_weight * cross-entropy against the next position's policy (where valid).
    Weight decay comes from the optimizer.
    Returns:
        means of loss, policy_loss, value_loss, policy_entropy (and ownership_loss, score_loss, reply_loss when
        trained) over the steps, and lr: the optimizer's learning rate in the last step (the next step's when no
        step ran).
    """
    net.train()
    sums = {"loss": 0.0, "policy_loss": 0.0, "value_loss": 0.0, "policy_entropy": 0.0}
    heads = set(getattr(net, "aux_heads", ()))
    lr = optimizer.param_groups[0]["lr"]
    bar = progress(range(steps), desc="train", unit="step", disable=not show_progress or None)
    for i in bar:
        batch = buffer.sample(cfg.batch_size, generator, device)
        with autocast(device):
            out = net(batch["planes"], aux=True) if heads else None
            logits, value = (out["logits"], out["value"]) if heads else net(batch["planes"])
        logits = logits.float().masked_fill(~batch["mask"], -1e9)  # [S, A]
        log_p = F.log_softmax(logits, dim=-1)
        full = batch["full"].float()  # [S]
        cross = -(batch["policy"] * log_p).sum(-1)  # [S]
        policy_loss = (cross * full).sum() / full.sum().clamp(min=1.0)
        value_loss = F.mse_loss(value.float(), batch["value"])
        loss = policy_loss + cfg.value_weight * value_loss
        aux = _aux_losses(out, batch, heads) if heads else {}
        weights = {"ownership_loss": cfg.ownership_weight, "score_loss": cfg.score_weight,
                   "reply_loss": cfg.reply_weight}  # fmt: skip
        for key, v in aux.items():
            loss = loss + weights[key] * v
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
            *aux.items(),
        ):
            sums[key] = sums.get(key, 0.0) + float(v.detach())
        bar.set_postfix(loss=f"{sums['loss'] / (i + 1):.3f}", refresh=False)
    net.eval()
    out = {k: v / max(steps, 1) for k, v in sums.items()}
    out["lr"] = float(lr)
    return out


def _aux_losses(out: dict, batch: dict, heads: set) -> dict[str, torch.Tensor]:
    """The auxiliary losses of the heads in `out` whose targets are in `batch` (see `train_steps`)."""
    losses = {}
    if "ownership" in heads and "ownership" in batch:
        # tanh(x) = 2 sigmoid(2x) - 1: a cross-entropy on the owner as a probability of "own"
        target = (1.0 + batch["ownership"]) / 2
        losses["ownership_loss"] = F.binary_cross_entropy_with_logits(2 * out["ownership"].float(), target)
    if "score" in heads and "score" in batch:
        cells = batch["planes"].shape[-1] * batch["planes"].shape[-2]
        losses["score_loss"] = F.mse_loss(out["score"].float(), batch["score"] / cells)
    if "reply" in heads and "reply" in batch:
        valid = batch["reply_valid"].float()
        cross = -(batch["reply"] * F.log_softmax(out["reply"].float(), dim=-1)).sum(-1)
        losses["reply_loss"] = (cross * valid).sum() / valid.sum().clamp(min=1.0)
    return losses
