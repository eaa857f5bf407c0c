"""AlphaZero training run: self-play -> replay buffer -> training steps -> checkpoint -> evaluation, every iteration.

    gamelab train GAME [--preset NAME] [--key=value | --key value ...] [--option KEY=VALUE ...] [--resume RUN]
                       [--runs DIR] [--threads N]
                       [--device auto|cpu|cuda] [--dry-run] [--print-config] [--quiet]

The job sits above its two halves: the learner (agents.learner: TrainConfig, networks, search settings, training
steps) and the evaluation (arena.strength). Presets live in agents/presets/GAME.toml ("tiny" for tests, "cpu" for
2 cores, "gpu"); every field of `TrainConfig` is an option (`--iterations 12`, `--minutes=30`, `--lr=1e-3`).
Game options are `--option KEY=VALUE` (`--size=N` is short for `--option size=N`): `gamelab train GAME --help` lists
the game's, and `--print-config` shows each one's value beside the fields.
A run writes into RUNS/train__GAME__SEED__TIME/: config.json, metrics.jsonl, metrics.png, checkpoints/iter_NNNNNN.pt
(full state, written last in every iteration: weights, optimizer, scheduler, counters, every random generator, the
replay buffer's window and the self-play games in progress) and buffer/ (replay shards).
Only the last `keep_checkpoints` checkpoints stay on disk, plus every `milestone_every`-th iteration's. The run
directory is a `core.run.RunDir` (the run loop every job shares): Ctrl-C or SIGTERM stops the run with one line,
`interrupted at iteration N; resume with gamelab train GAME --resume RUN`, exit status 130 or 143.

`--resume` reads the newest checkpoint; when that file is torn (unreadable), it falls back to the newest good one
before it and says so in one line (a checkpoint refused as unsafe or of an old format is an error naming it, with no
fallback). A missing or damaged replay shard of the saved window is an error naming the shard: skipping it would
train on other positions than the run saved.

`--resume RUN` continues from the last checkpoint as if the run had never stopped; only the iteration that was
running when the process died is lost. Options given with it take effect (a new learning rate reaches the
optimizer at once, at its schedule's value), except the fields the saved state depends on (network shape, board
size, seed, number of games: `FIXED_ON_RESUME`), which are refused by name. Evaluation restores the random
generators afterwards, so it changes nothing in the training itself.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

from agents.buffer import ReplayBuffer
from agents.leaf_evaluators import network_evaluator
from agents.learner import (
    FIXED_ON_RESUME,
    TrainConfig,
    load_presets,
    make_buffer,
    make_net,
    make_selfplay,
    search_settings,
    train_steps,
)
from agents.network import load_policy_value_net
from agents.players import make_player
from agents.selfplay import SelfPlay
from arena.elo import format_elo
from arena.pretrain import check_files, run_pretrain
from arena.strength import measure_strength
from core.config import ConfigError, config_to_dict
from core.device import pick_device, set_cpu_threads
from core.job import fail, job_parser, parse_job, ranged
from core.metrics import plot_metrics, read_metrics
from core.optim import load_optimizer_state, make_optimizer, make_scheduler
from core.run import Budget, RunDir, make_run_dir, rearm_interrupts
from core.seeding import rng_state, seed_everything, set_rng_state
from envs import game_class, get_game, parse_options, traits
from envs.base import Game

__all__ = ["DEFAULT_PRESET", "main"]

DEFAULT_PRESET = "cpu"
PLOT_EVERY_S = 60.0  # metrics.png is redrawn at most this often, and at the end of the run
_RETIRED_FIELDS = ("threads",)  # in configs saved by older runs; now a job option (--threads)
_ACTOR_KEYS = ("policy_lag", "stale_positions", "actor_restarts", "actor_seconds")  # metrics of runs with actors


def _dry_run(cfg: TrainConfig) -> TrainConfig:
    return dataclasses.replace(cfg, iterations=1, steps_per_iteration=1, eval_every=0, positions_per_iteration=1)


def _checkpoint_payload(
    game: Game, net, optimizer, scheduler, cfg: TrainConfig, iteration: int, step: int, buffer: ReplayBuffer,
    np_gen: np.random.Generator, selfplay: SelfPlay, extra: dict,
) -> dict:  # fmt: skip
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


def _run_dir(path: Path, cfg: TrainConfig | None = None) -> RunDir:
    """The run directory's checkpoints: iter_NNNNNN.pt, the last `keep_checkpoints` plus the milestones."""
    keep = {"keep": cfg.keep_checkpoints, "milestone_every": cfg.milestone_every} if cfg is not None else {}
    return RunDir(path, kind="alphazero", prefix="iter", digits=6, **keep)


def _preset_names(argv: list[str]) -> list[str]:
    """The presets of the game named first on the command line (for --help), or none."""
    try:
        return sorted(load_presets(argv[0])) if argv and not argv[0].startswith("-") else []
    except (ConfigError, ValueError, OSError):
        return []


def _options_help(argv: list[str]) -> str:
    """The game options of the game named first on the command line (for --help), or ""."""
    if not argv or argv[0].startswith("-"):
        return ""
    try:
        return traits.options_help(game_class(argv[0]), argv[0], {"size": "--size=N"})
    except KeyError:
        return ""


def _parse(argv: list[str]) -> tuple[TrainConfig, object, dict | None, Path | None]:
    """(config, options, the checkpoint payload to resume from or None, its path). Raises ConfigError."""
    note = "per game; name GAME first to list its presets"
    parser = job_parser("gamelab train", "AlphaZero self-play training for a board game.", TrainConfig,
                        presets=_preset_names(argv), presets_note=note)  # fmt: skip
    if options_help := _options_help(argv):
        parser.fields_help += "\n\n" + options_help
    parser.add_argument("game", help="registered game name, e.g. tictactoe, connect_four")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="game option, e.g. komi=6.5 (repeatable); --size=N is short for --option size=N",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDRESS",
        help="with --actors: join this Ray cluster (auto, HOST:PORT) instead of a private Ray",
    )
    parser.add_argument("--actor-gpus", type=ranged(float, ge=0, le=1), default=0.0, metavar="F",
                        help="with --actors: the share of a GPU each actor plays on (default 0: the CPU)")  # fmt: skip
    resumed: dict = {}

    def saved_config(run: Path, args) -> dict:
        payload, path = _run_dir(run).resume_point()
        if payload["game"]["name"] != args.game:
            raise ConfigError(f"{path} is a {payload['game']['name']} run, not {args.game}")
        resumed.update(payload=payload, path=path)
        return {k: v for k, v in payload["config"].items() if k not in _RETIRED_FIELDS}

    def shown(cfg: TrainConfig, args) -> dict:  # --print-config: the game and every option's value, then the fields
        game = _make_game(cfg, args, resumed.get("payload"))
        options = {k: spec.default for k, spec in traits.option_specs(game).items()}
        return {"game": game.name, "options": {**options, **game.options}, **config_to_dict(cfg)}

    argv = _join_pretrain(argv)
    job = parse_job(
        parser, argv, TrainConfig, presets=lambda args: load_presets(args.game), default_preset=DEFAULT_PRESET,
        saved_config=saved_config, fixed_on_resume=FIXED_ON_RESUME, dry_run=_dry_run, shown=shown,
    )  # fmt: skip
    if job.cfg.actors == 0 and (job.args.ray_address is not None or job.args.actor_gpus > 0):
        raise ConfigError("--ray-address and --actor-gpus need --actors N (self-play actors on Ray)")
    return job.cfg, job.args, resumed.get("payload"), resumed.get("path")


def _game_options(cfg: TrainConfig, args, resume: dict | None) -> dict:
    """The game options of the run: --option KEY=VALUE and its alias --size; a resumed run keeps its own (the
    checkpoint's), and an option given that differs from them is refused by name. Raises ConfigError."""
    options = parse_options(args.option)
    if cfg.size and options.setdefault("size", cfg.size) != cfg.size:
        raise ConfigError(f"--size={cfg.size} and --option size={options['size']} disagree")
    if resume is None:
        return options
    saved = dict(resume["game"].get("options", {}))
    before = get_game(args.game, **saved).options
    after = get_game(args.game, **{**saved, **options}).options
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    if changed:
        shown = ", ".join(f"{k}={after.get(k)} (the run's: {before.get(k)})" for k in changed)
        raise ConfigError(f"--option {shown}: {args.resume} keeps the game options it was started with")
    return saved


def _make_game(cfg: TrainConfig, args, resume: dict | None) -> Game:
    """The run's game, built with its options (`_game_options`) and the input features the config asks for."""
    options = _game_options(cfg, args, resume)
    return get_game(args.game, **{**options, **({"features": True} if cfg.input_features else {})})


def _join_pretrain(argv: list[str]) -> list[str]:
    """`--pretrain A B C` (several record files) as the one config value `--pretrain=A,B,C`."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] == "--pretrain":
            j = i + 1
            while j < len(argv) and not argv[j].startswith("--"):
                j += 1
            out.append("--pretrain=" + ",".join(argv[i + 1 : j]))
            i = j
        else:
            out.append(argv[i])
            i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    """Run `gamelab train`. Returns the exit code."""
    start = time.perf_counter()
    try:
        cfg, args, resume, ckpt_path = _parse(sys.argv[1:] if argv is None else list(argv))
        budget = Budget(cfg.minutes, cfg.cpu_minutes)  # wall clock and this process's CPU time
        device = pick_device(args.device)
        game = _make_game(cfg, args, resume)
        _check_baselines(cfg, game)
        check_files(cfg.pretrain)
    except (ConfigError, ValueError, KeyError, OSError) as err:
        return fail(err)
    set_cpu_threads(args.threads)
    show = not args.quiet

    if resume is None:
        seed_everything(cfg.seed)
        run_dir = make_run_dir("train", game.name, cfg.seed, root=args.runs)
    else:
        run_dir = Path(args.resume)
    run = _run_dir(run_dir, cfg)
    net = make_net(game, cfg).to(device)
    optimizer = make_optimizer(net, cfg.optimizer, lr=cfg.lr, weight_decay=cfg.weight_decay, momentum=cfg.momentum)
    scheduler = make_scheduler(optimizer, cfg.scheduler, total_steps=cfg.total_steps, warmup_steps=cfg.warmup_steps)
    buffer = make_buffer(game, cfg, run_dir / "buffer")
    np_gen = np.random.default_rng(cfg.seed)
    settings = search_settings(cfg)
    selfplay = make_selfplay(game, cfg, device)
    iteration, step, eval_state = 0, 0, {"records": []}
    if resume is not None:
        net.load_state_dict(resume["model"])
        # the saved moments and schedule position, with the (possibly changed) config's learning rate and schedule
        load_optimizer_state(optimizer, resume["optimizer"], scheduler, resume["scheduler"])
        iteration, step = int(resume["iteration"]), int(resume["step"])
        try:
            buffer.load_state_dict(resume["buffer"])  # a missing or damaged shard of the window: an error naming it
        except ValueError as err:
            return fail(f"cannot resume {run_dir} from {ckpt_path.name}: {err}")
        set_rng_state(resume["rng"])
        np_gen.bit_generator.state = resume["sample_rng"]
        selfplay.load_state_dict(resume["selfplay"])
        eval_state = resume.get("eval_state", eval_state)
        run.truncate_metrics(iteration, key="iteration", record=resume.get("record"))
        print(f"resuming {run_dir} from {ckpt_path.name}: iteration {iteration}, step {step}, buffer {len(buffer)}")
    run.write_config({"game": game.name, "options": game.options, **config_to_dict(cfg)})
    net.eval()
    n_params = sum(p.numel() for p in net.parameters())
    print(f"run {run_dir} | {game.name} | device {device} | net {cfg.blocks}x{cfg.channels} ({n_params} params)")

    with run.interruptible("iteration", f"gamelab train {game.name} --resume {run_dir}") as at:
        at.value = iteration
        stage = (resume or {}).get("pretrain")
        if cfg.pretrain and iteration == 0 and not (stage or {}).get("done"):  # learn from records first

            def save_stage(state: dict) -> None:
                extra = {"eval_state": eval_state, "positions_total": buffer.positions_total, "pretrain": state}
                payload = _checkpoint_payload(
                    game, net, optimizer, scheduler, cfg, 0, 0, buffer, np_gen, selfplay, extra
                )
                run.save(0, payload)

            try:
                run_pretrain(game, net, cfg, run_dir, device, saved=stage, save=save_stage, show=show)
            except (OSError, ValueError) as err:
                return fail(err)
        log = run.metrics()
        record, last_plot, pool = None, time.perf_counter(), None
        try:
            if cfg.actors > 0:
                # Ray is imported here, by runs with actors only: the single-process path never loads it
                from arena.actors import ActorPool

                try:
                    pool = ActorPool(
                        game, cfg, run_dir, iteration, address=args.ray_address, actor_gpus=args.actor_gpus
                    )
                except Exception as err:  # Ray's own errors: no cluster at the address, a node that did not start
                    first = (str(err).strip().splitlines() or [""])[0]
                    print(f"error: could not start Ray ({type(err).__name__}: {first})", file=sys.stderr)
                    return 1
                rearm_interrupts()  # Ray's native handlers would print a stack dump on SIGTERM
            while iteration < cfg.iterations:
                spent = budget.spent()
                if spent:
                    print(f"{spent} reached")
                    break
                t0 = time.perf_counter()
                if pool is None:
                    data, sp = selfplay.run(
                        network_evaluator(net, device), cfg.positions_per_iteration, show_progress=show
                    )
                    buffer.add(data)
                    t1 = time.perf_counter()
                    losses = train_steps(
                        net,
                        optimizer,
                        scheduler,
                        buffer,
                        cfg,
                        np_gen,
                        device,
                        cfg.steps_per_iteration,
                        show_progress=show,
                    )
                    t2 = time.perf_counter()
                    rates = {"positions_per_s": sp["positions"] / max(t1 - t0, 1e-9),
                             "simulations_per_s": sp["simulations"] / max(t1 - t0, 1e-9)}  # fmt: skip
                else:
                    pool.publish(net, iteration)  # the weights this iteration trains from, as version `iteration`
                    sp, losses, wait_s, train_s = pool.iteration(net, optimizer, scheduler, buffer, np_gen, device)
                    t2 = time.perf_counter()
                    t1 = t2 - train_s  # selfplay_s: the learner's time waiting for positions
                    rates = {"positions_per_s": sp["positions"] / max(t2 - t0, 1e-9),
                             "simulations_per_s": sp["simulations"] / max(t2 - t0, 1e-9), "wait_s": wait_s}  # fmt: skip
                iteration += 1
                step += cfg.steps_per_iteration
                payload = _checkpoint_payload(
                    game, net, optimizer, scheduler, cfg, iteration, step, buffer, np_gen, selfplay,
                    {"eval_state": eval_state, "positions_total": buffer.positions_total},
                )  # fmt: skip
                evals = {}
                if cfg.eval_every > 0 and iteration % cfg.eval_every == 0:
                    previous = _previous_net(run.checkpoint_path(iteration - 1), cfg, device)
                    records = eval_state.setdefault("records", [])
                    evals = measure_strength(game, net, previous, settings, cfg, records, device, iteration)
                    set_rng_state(payload["rng"])  # evaluation leaves the training's random streams untouched
                t3 = time.perf_counter()
                record = log.log(
                    iteration=iteration, step=step, games=sp["games"], positions=sp["positions"],
                    positions_total=buffer.positions_total, buffer=len(buffer), **rates, mean_length=sp["mean_length"],
                    first_wins=sp["first_wins"], draws=sp["draws"], second_wins=sp["second_wins"],
                    selfplay_s=t1 - t0, train_s=t2 - t1, eval_s=t3 - t2, elapsed_s=time.perf_counter() - start,
                    **{k: sp[k] for k in _ACTOR_KEYS if k in sp}, **_distinct(cfg, buffer), **losses, **evals,
                )  # fmt: skip
                # the iteration is complete once its checkpoint exists: written last, with its evaluation and metrics
                payload.update(eval_state=eval_state, record=record)
                run.save(iteration, payload)
                at.value = iteration
                print(_summary(record), flush=True)
                if time.perf_counter() - last_plot > PLOT_EVERY_S:  # plotting costs about a second: not every iteration
                    _plot(run_dir, record)
                    last_plot = time.perf_counter()
        finally:
            if pool is not None:
                pool.close()
            log.close()
    if record is not None:  # not after an interruption: the user is waiting for the prompt
        _plot(run_dir, record)
    print(f"done: {iteration} iterations, {step} steps; run dir {run_dir}")
    return 0


def _distinct(cfg: TrainConfig, buffer: ReplayBuffer) -> dict:
    """buffer_distinct, the distinct positions sampled from, in the metrics of runs that merge duplicates."""
    return {"buffer_distinct": buffer.distinct()} if cfg.merge_duplicates else {}


def _check_baselines(cfg: TrainConfig, game: Game) -> None:
    """Build every evaluation baseline once, so that a bad spec fails now, not at the first evaluation."""
    for spec in (s for s in cfg.eval_baselines.split(",") if s):
        try:
            make_player(spec, game)
        except (ValueError, OSError) as err:
            raise ConfigError(f"eval_baselines: {err}") from err


def _previous_net(path: Path, cfg: TrainConfig, device: torch.device) -> torch.nn.Module | None:
    """The previous iteration's network, to play against (None when not wanted or not there)."""
    if not cfg.eval_previous or not path.is_file():
        return None
    return load_policy_value_net(path, device=device)[0]


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
        f"lr {r['lr']:.3g}",
    ]
    if "elo" in r:
        parts.append(f"Elo {format_elo(r['elo'])}±{r.get('elo_err', float('nan')):.0f}")
    for key in sorted(k for k in r if k.startswith("elo_vs_")):
        parts.append(f"{key[4:]} {format_elo(r[key])}")
    if "tictactoe_mistakes" in r:
        parts.append(f"mistakes {r['tictactoe_mistakes']}/{r['tictactoe_positions']}")
    if "mistake_rate" in r:
        parts.append(f"mistake rate {100 * r['mistake_rate']:.1f}%")
    if "policy_lag" in r:
        parts.append(f"lag {r['policy_lag']}")
    if r.get("actor_restarts"):
        parts.append(f"actor restarts {r['actor_restarts']}")
    parts.append(f"{r['elapsed_s']:.0f}s")
    return " | ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
