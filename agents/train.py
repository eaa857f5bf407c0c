"""AlphaZero training run: self-play -> replay buffer -> training steps -> checkpoint -> evaluation, every iteration.

    gamelab train GAME [--preset NAME] [--minutes N] [--iterations N] [--device auto|cpu|cuda] [--resume DIR]
                       [--dry-run] [--key=value ...]

Presets live in agents/presets/GAME.toml ("tiny" for tests, "cpu" for 2 cores, "gpu"); `--key=value` overrides any
field of `TrainConfig`. A run writes into runs/train__GAME__SEED__TIME/: config.json, metrics.jsonl, metrics.png,
checkpoints/iter_NNNNNN.pt (full state, written last in every iteration: weights, optimizer, scheduler, counters,
every random generator, the replay buffer's window and the self-play games in progress) and buffer/ (replay shards).
`--resume RUN_DIR` continues from the last checkpoint as if the run had never stopped; only the iteration that was
running when the process died is lost. Evaluation restores the random generators afterwards, so it changes nothing
in the training itself.

Dimension letters: S sampled batch, A actions, C/H/W planes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from agents.buffer import ReplayBuffer
from agents.evaluators import network_evaluator
from agents.network import PolicyValueNet
from agents.selfplay import SelfPlay
from core.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from core.config import ConfigError, config_from_dict, config_to_dict, load_toml_presets, parse_config
from core.device import autocast, pick_device, set_cpu_threads
from core.metrics import MetricsLog, plot_metrics, read_metrics
from core.optim import clip_gradients, make_optimizer, make_scheduler
from core.progress import progress
from core.run import make_run_dir, write_json_atomic
from core.seeding import rng_state, seed_everything, set_rng_state
from envs import get_game

__all__ = ["TrainConfig", "load_presets", "train_steps", "main"]

PRESET_DIR = Path(__file__).parent / "presets"
DEFAULT_PRESET = "cpu"
PLOT_EVERY_S = 60.0  # metrics.png is redrawn at most this often, and at the end of the run


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a training run (presets and --key=value set these)."""

    seed: int = 0
    size: int = 0  # board size option of the game (0: the game's default)
    threads: int = 1  # torch CPU threads (more only pays for big nets on an idle machine)
    # network
    blocks: int = 2
    channels: int = 32
    global_pool: bool = False
    # self-play and search
    num_games: int = 64  # G games in lockstep
    simulations: int = 32
    c_puct: float = 1.5
    dirichlet_alpha: float = 0.3
    dirichlet_fraction: float = 0.25
    temperature: float = 1.0
    temperature_moves: int = 4  # moves of each game played with `temperature`, then greedy
    tree_reuse: bool = True
    gumbel: bool = False
    max_considered_actions: int = 16
    full_search_prob: float = 1.0  # playout cap randomization (1.0: off)
    fast_simulations: int = 8
    value_mix: float = 0.0  # value target = (1 - value_mix) * outcome + value_mix * root search value
    positions_per_iteration: int = 1024  # at least this many new positions per iteration
    # replay buffer and training
    buffer_window: int = 20000
    batch_size: int = 256
    steps_per_iteration: int = 50
    optimizer: str = "adamw"
    lr: float = 2e-3
    weight_decay: float = 1e-4
    momentum: float = 0.9
    scheduler: str = "constant"
    warmup_steps: int = 0
    total_steps: int = 10000  # horizon of decaying schedules
    value_weight: float = 1.0
    grad_clip: float = 0.0  # 0: no clipping
    # evaluation (every `eval_every` iterations; 0: never)
    eval_every: int = 1
    eval_simulations: int = 32  # search budget of the evaluated agent
    eval_games: int = 20  # games against each baseline and the previous checkpoint
    eval_baselines: str = "random,rollout:64"  # comma-separated player specs
    eval_previous: bool = True  # also play the previous checkpoint (for the Bradley-Terry Elo)
    eval_solver: bool = True  # tictactoe: exhaustive minimax check; connect four: test sets
    eval_bench_sets: str = "Own_End,Own_Middle,Own_Begin"  # shipped in the package; Pons' Test_* where present
    eval_bench_limit: int = 100  # positions per connect four test set (0: all)
    # length of the run (the command line's --iterations/--minutes set these)
    iterations: int = 10
    minutes: float = 0.0  # 0: no time limit


def load_presets(game_name: str) -> dict[str, dict]:
    """Presets of a game from agents/presets/GAME.toml (empty when the file is missing)."""
    path = PRESET_DIR / f"{game_name}.toml"
    return load_toml_presets(path) if path.is_file() else {}


def make_net(game, cfg: TrainConfig) -> PolicyValueNet:
    return PolicyValueNet(
        tuple(game.planes_shape),
        game.num_actions,
        blocks=cfg.blocks,
        channels=cfg.channels,
        global_pool=cfg.global_pool,
    )


def train_steps(
    net: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler,
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
        means of loss, policy_loss, value_loss, policy_entropy over the steps, and the last lr.
    """
    net.train()
    sums = {"loss": 0.0, "policy_loss": 0.0, "value_loss": 0.0, "policy_entropy": 0.0}
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
    out["lr"] = optimizer.param_groups[0]["lr"]
    return out


def _policy_player(net: torch.nn.Module, device: torch.device):
    """The raw network as a player: the legal move with the largest policy logit (no search)."""

    @torch.no_grad()
    def player(game, state) -> torch.Tensor:
        mask = game.legal_mask(state)
        with autocast(device):
            logits, _ = net(game.planes(state).to(device))
        logits = logits.float().masked_fill(~mask.to(device), -torch.inf)
        return logits.argmax(-1).to(mask.device)

    player.name = "policy"
    return player


def evaluate_checkpoint(
    game,
    net,
    ckpt: Path,
    previous: Path | None,
    cfg: TrainConfig,
    eval_state: dict,
    device: torch.device,
    iteration: int,
) -> dict[str, float]:
    """Measure one checkpoint: solver benchmarks, matches against baselines and the previous checkpoint, Elo.

    Args:
        ckpt: the checkpoint file to measure (net: the same weights in memory, for the raw-policy check).
        previous: the previous iteration's checkpoint (played when it exists and cfg.eval_previous is set).
        eval_state: {"records": [(first, second, score), ...]} of every evaluation game so far (extended in place).
    Returns:
        metrics: elo / elo_err (Bradley-Terry fit anchored at the first baseline, 95% half-width), elo_vs_SPEC
        (single-match Elo difference, clipped to +-1000 for a clean sweep), score_vs_SPEC, and the solver figures.
    """
    from agents.players import make_player  # arena-side code imports agents; keep these imports local
    from arena.elo import elo_from_score, fit_bradley_terry
    from arena.match import play_games

    out: dict[str, float] = {}
    me = make_player(f"az:{ckpt}:{cfg.eval_simulations}", game, device=str(device), seed=cfg.seed + iteration)
    me.name = f"iter{iteration}"
    if cfg.eval_solver and game.name == "tictactoe":
        from arena.evaluate import tictactoe_exhaustive

        res = tictactoe_exhaustive(me)
        out.update(tictactoe_mistakes=res["mistakes"], tictactoe_positions=res["positions"])
        out["tictactoe_policy_mistakes"] = tictactoe_exhaustive(_policy_player(net, device))["mistakes"]
    if cfg.eval_solver and game.name == "connect_four":
        from arena.evaluate import connect4_benchmark

        sets = tuple(s for s in cfg.eval_bench_sets.split(",") if s)
        res = connect4_benchmark(me, sets=sets, limit=cfg.eval_bench_limit or None)
        for name, r in res.items():
            out[f"mistake_rate_{name}"] = r["mistake_rate"]
        out["mistake_rate"] = float(np.mean([r["mistake_rate"] for r in res.values()]))
    opponents = [s for s in cfg.eval_baselines.split(",") if s]
    players = [(spec, make_player(spec, game, device=str(device), seed=cfg.seed + iteration)) for spec in opponents]
    if cfg.eval_previous and previous is not None and previous.is_file():
        players.append(("previous", make_player(f"az:{previous}:{cfg.eval_simulations}", game, device=str(device))))
        players[-1][1].name = f"iter{iteration - 1}"
    records = eval_state.setdefault("records", [])
    for label, opp in players:
        if label != "previous":
            opp.name = label
        if cfg.eval_games <= 0:
            break
        res = play_games(game, me, opp, cfg.eval_games, seed=cfg.seed + iteration, progress=False)
        elo, _, _ = elo_from_score(res.wins_a, res.draws, res.losses_a)
        out[f"elo_vs_{label}"] = float(np.clip(elo, -1000, 1000))
        out[f"score_vs_{label}"] = (res.wins_a + 0.5 * res.draws) / max(res.wins_a + res.draws + res.losses_a, 1)
        records += [(g["players"][0], g["players"][1], float(g["result"])) for g in res.games]
    if records and opponents:
        try:
            table = fit_bradley_terry(records, anchor=opponents[0])
            elo, err = table.rating(me.name)
            out.update(elo=elo, elo_err=1.96 * err)
        except ValueError:
            pass
    return out


def _checkpoint_payload(game, net, optimizer, scheduler, cfg, iteration, step, buffer, np_gen, selfplay, extra) -> dict:
    return {
        "game": {"name": game.name, "options": dict(game.options)},
        "net_config": dict(net.config),
        "model": {k: v.detach().cpu() for k, v in net.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "iteration": iteration,
        "step": step,
        "rng": rng_state(),
        "sample_rng": np_gen.bit_generator.state,
        "selfplay": selfplay.state_dict(),
        "config": config_to_dict(cfg),
        "buffer": buffer.state_dict(),
        **extra,
    }


def _parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="gamelab train",
        description="AlphaZero self-play training for a board game.",
        epilog="Any config field can be set with --key=value, e.g. --simulations=64 --lr=0.001. Fields: "
        + ", ".join(f.name for f in dataclasses.fields(TrainConfig)),
    )
    parser.add_argument("game", help="registered game name, e.g. tictactoe, connect_four")
    parser.add_argument(
        "--preset", default=None, help=f"preset from agents/presets/GAME.toml (default {DEFAULT_PRESET})"
    )
    parser.add_argument("--minutes", type=float, default=None, help="start no new iteration after this many minutes")
    parser.add_argument("--iterations", type=int, default=None, help="stop when this iteration count is reached")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps")
    parser.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue a run from its last checkpoint")
    parser.add_argument("--runs", default="runs", help="folder holding run directories")
    parser.add_argument("--dry-run", action="store_true", help="one tiny iteration without evaluation, as a check")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args, rest = parser.parse_known_args(argv)
    bad = [r for r in rest if not (r.startswith("--") and "=" in r)]
    if bad:
        parser.error(f"unrecognized arguments: {' '.join(bad)} (config overrides look like --key=value)")
    return args, rest


_FIXED_ON_RESUME = ("seed", "size", "blocks", "channels", "global_pool", "num_games")


def _resolve_config(args: argparse.Namespace, overrides: list[str], saved: dict | None) -> TrainConfig:
    if saved is not None:
        if args.preset is not None:
            raise ConfigError("--preset cannot be given with --resume (the run keeps its saved config)")
        cfg = config_from_dict(TrainConfig, saved)
        cfg = parse_config(TrainConfig, overrides, {"saved": config_to_dict(cfg)}, "saved")
        fixed = [k for k in _FIXED_ON_RESUME if getattr(cfg, k) != saved[k]]
        if fixed:
            raise ConfigError(f"cannot change {', '.join(fixed)} when resuming (the saved state depends on it)")
    else:
        presets = load_presets(args.game)
        preset = args.preset or (DEFAULT_PRESET if DEFAULT_PRESET in presets else None)
        if args.preset is not None and not presets:
            raise ConfigError(f"no presets for game {args.game!r} (no {PRESET_DIR / (args.game + '.toml')})")
        cfg = parse_config(TrainConfig, overrides, presets, preset)
    changes = {}
    if args.iterations is not None:
        changes["iterations"] = args.iterations
    if args.minutes is not None:
        changes["minutes"] = args.minutes
    if args.dry_run:
        changes.update(iterations=1, steps_per_iteration=1, eval_every=0, positions_per_iteration=1)
    return dataclasses.replace(cfg, **changes)


def _truncate_metrics(path: Path, iteration: int, record: dict | None) -> None:
    """Drop metrics lines written after the checkpoint a run resumes from; restore its own line if it is missing."""
    kept = [r for r in read_metrics(path) if int(r.get("iteration", 0)) <= iteration] if path.is_file() else []
    if record is not None and not any(int(r.get("iteration", 0)) == iteration for r in kept):
        kept.append(record)
    text = "".join(json.dumps(r) + "\n" for r in kept)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    """Run `gamelab train`. Returns the exit code."""
    args, overrides = _parse_args(sys.argv[1:] if argv is None else list(argv))
    start = time.perf_counter()
    resume_payload, ckpt_path = None, None
    try:
        if args.resume:
            run_dir = Path(args.resume)
            ckpt_path = latest_checkpoint(run_dir / "checkpoints", "iter_*.pt")
            if ckpt_path is None:
                print(f"error: {run_dir}: no checkpoint to resume from", file=sys.stderr)
                return 1
            resume_payload = load_checkpoint(ckpt_path, kind="alphazero")
            if resume_payload["game"]["name"] != args.game:
                print(f"error: {ckpt_path} is a {resume_payload['game']['name']} run, not {args.game}", file=sys.stderr)
                return 2
        cfg = _resolve_config(args, overrides, resume_payload["config"] if resume_payload else None)
        device = pick_device(args.device)
        game = get_game(args.game, **({"size": cfg.size} if cfg.size else {}))
    except (ConfigError, ValueError, KeyError) as err:
        print(f"error: {err.args[0] if isinstance(err, KeyError) else err}", file=sys.stderr)
        return 2
    set_cpu_threads(cfg.threads)
    show = not args.quiet

    if resume_payload is None:
        seed_everything(cfg.seed)
        run_dir = make_run_dir("train", game.name, cfg.seed, root=args.runs)
    net = make_net(game, cfg).to(device)
    optimizer = make_optimizer(net, cfg.optimizer, lr=cfg.lr, weight_decay=cfg.weight_decay, momentum=cfg.momentum)
    scheduler = make_scheduler(optimizer, cfg.scheduler, total_steps=cfg.total_steps, warmup_steps=cfg.warmup_steps)
    buffer = ReplayBuffer(run_dir / "buffer", cfg.buffer_window, game.symmetries())
    np_gen = np.random.default_rng(cfg.seed)
    selfplay = SelfPlay(
        game, cfg.num_games, device=device, num_simulations=cfg.simulations, c_puct=cfg.c_puct,
        dirichlet_alpha=cfg.dirichlet_alpha, dirichlet_fraction=cfg.dirichlet_fraction, temperature=cfg.temperature,
        temperature_moves=cfg.temperature_moves, tree_reuse=cfg.tree_reuse, gumbel=cfg.gumbel,
        max_considered_actions=cfg.max_considered_actions, full_search_prob=cfg.full_search_prob,
        fast_simulations=cfg.fast_simulations, value_mix=cfg.value_mix, seed=cfg.seed,
    )  # fmt: skip
    iteration, step, eval_state = 0, 0, {"records": []}
    if resume_payload is not None:
        net.load_state_dict(resume_payload["model"])
        optimizer.load_state_dict(resume_payload["optimizer"])
        scheduler.load_state_dict(resume_payload["scheduler"])
        iteration, step = int(resume_payload["iteration"]), int(resume_payload["step"])
        buffer.load_state_dict(resume_payload["buffer"])
        set_rng_state(resume_payload["rng"])
        np_gen.bit_generator.state = resume_payload["sample_rng"]
        selfplay.load_state_dict(resume_payload["selfplay"])
        eval_state = resume_payload.get("eval_state", eval_state)
        _truncate_metrics(run_dir / "metrics.jsonl", iteration, resume_payload.get("record"))
        print(f"resuming {run_dir} from {ckpt_path.name}: iteration {iteration}, step {step}, buffer {len(buffer)}")
    write_json_atomic(run_dir / "config.json", {"game": game.name, "options": game.options, **config_to_dict(cfg)})
    net.eval()
    n_params = sum(p.numel() for p in net.parameters())
    print(f"run {run_dir} | {game.name} | device {device} | net {cfg.blocks}x{cfg.channels} ({n_params} params)")

    log = MetricsLog(run_dir / "metrics.jsonl")
    record, last_plot = None, time.perf_counter()
    try:
        while iteration < cfg.iterations:
            if cfg.minutes > 0 and time.perf_counter() - start > cfg.minutes * 60:
                print(f"time limit of {cfg.minutes} minutes reached")
                break
            t0 = time.perf_counter()
            evaluate = network_evaluator(net, device)
            data, sp = selfplay.run(evaluate, cfg.positions_per_iteration, show_progress=show)
            buffer.add(data)
            t1 = time.perf_counter()
            losses = train_steps(
                net, optimizer, scheduler, buffer, cfg, np_gen, device, cfg.steps_per_iteration, show_progress=show
            )
            t2 = time.perf_counter()
            iteration += 1
            step += cfg.steps_per_iteration
            ckpt = run_dir / "checkpoints" / f"iter_{iteration:06d}.pt"
            payload = _checkpoint_payload(
                game, net, optimizer, scheduler, cfg, iteration, step, buffer, np_gen, selfplay,
                {"eval_state": eval_state, "positions_total": buffer.positions_total},
            )  # fmt: skip
            evals = {}
            if cfg.eval_every > 0 and iteration % cfg.eval_every == 0:
                candidate = save_checkpoint(ckpt.with_name("candidate.pt"), payload, kind="alphazero")
                previous = ckpt.with_name(f"iter_{iteration - 1:06d}.pt")
                evals = evaluate_checkpoint(game, net, candidate, previous, cfg, eval_state, device, iteration)
                candidate.unlink()
                set_rng_state(payload["rng"])  # evaluation leaves the training's random streams untouched
            t3 = time.perf_counter()
            record = log.log(
                iteration=iteration, step=step, games=sp["games"], positions=sp["positions"],
                positions_total=buffer.positions_total, buffer=len(buffer),
                positions_per_s=sp["positions"] / max(t1 - t0, 1e-9),
                simulations_per_s=sp["simulations"] / max(t1 - t0, 1e-9), mean_length=sp["mean_length"],
                first_wins=sp["first_wins"], draws=sp["draws"], second_wins=sp["second_wins"],
                selfplay_s=t1 - t0, train_s=t2 - t1, eval_s=t3 - t2, elapsed_s=time.perf_counter() - start,
                **losses, **evals,
            )  # fmt: skip
            # the iteration is complete once its checkpoint exists: written last, with its evaluation and metrics
            payload.update(eval_state=eval_state, record=record)
            save_checkpoint(ckpt, payload, kind="alphazero")
            print(_summary(record), flush=True)
            if time.perf_counter() - last_plot > PLOT_EVERY_S:  # plotting costs about a second: not every iteration
                _plot(run_dir, record)
                last_plot = time.perf_counter()
    finally:
        log.close()
        if record is not None:
            _plot(run_dir, record)
    print(f"done: {iteration} iterations, {step} steps; run dir {run_dir}")
    return 0


def _plot(run_dir: Path, record: dict) -> None:
    """metrics.png: learning curves of every plotted key any iteration logged (evaluations may skip iterations)."""
    seen = dict.fromkeys(k for r in read_metrics(run_dir / "metrics.jsonl") for k in r)
    plot_metrics(run_dir / "metrics.jsonl", run_dir / "metrics.png", keys=_plot_keys({**seen, **record}), x="iteration")


def _plot_keys(record: dict) -> list[str]:
    keys = ["loss", "policy_loss", "value_loss", "policy_entropy", "positions_per_s", "mean_length"]
    keys += [k for k in record if k.startswith(("elo", "score_vs", "mistake", "tictactoe"))]
    return [k for k in keys if k in record]


def _summary(r: dict) -> str:
    parts = [
        f"iter {r['iteration']}",
        f"games {r['games']}",
        f"{r['positions_per_s']:.0f} pos/s",
        f"loss {r['loss']:.3f} (p {r['policy_loss']:.3f} v {r['value_loss']:.3f})",
    ]
    if "elo" in r:
        parts.append(f"Elo {r['elo']:+.0f}±{r.get('elo_err', float('nan')):.0f}")
    for key in sorted(k for k in r if k.startswith("elo_vs_")):
        parts.append(f"{key[4:]} {r[key]:+.0f}")
    if "tictactoe_mistakes" in r:
        parts.append(f"mistakes {r['tictactoe_mistakes']}/{r['tictactoe_positions']}")
    if "mistake_rate" in r:
        parts.append(f"mistake rate {100 * r['mistake_rate']:.1f}%")
    parts.append(f"{r['elapsed_s']:.0f}s")
    return " | ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
