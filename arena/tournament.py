"""Round robin between players: every pair plays a match (arena.match), then one Bradley-Terry Elo fit.

    gamelab tournament connect_four random alphabeta:1 alphabeta:3 rollout:100 --games 20

The fit (arena.elo.fit_bradley_terry) has a first-move advantage term and standard errors; ratings are anchored at
the first player (0 Elo) unless `--anchor` names another. Results go to `--out` (default runs/tournament__<game>__
<seed>__<time>/): tournament.json (table, first-move term, per-pair W/D/L), elo.png (ratings with 95% error bars),
and the game records (games.jsonl) unless `--no-record`.

Dimension letters: P players.
"""

from __future__ import annotations

import itertools
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arena.elo import EloTable, fit_bradley_terry, records_from_games
from arena.match import game_and_players, play_games, player_parser
from core.config import bounded
from core.job import fail, option_type
from core.paths import check_output_dir
from core.run import Interrupted, interrupts, make_run_dir, write_json_atomic

__all__ = ["TournamentConfig", "round_robin", "plot_table", "main"]


@dataclass(frozen=True)
class TournamentConfig:
    """Defaults of `gamelab tournament`."""

    games: int = bounded(20, ge=1)  # games per pair (alternating first move)
    seed: int = bounded(0, ge=0)
    device: str = "cpu"


def round_robin(
    game: Any,
    players: list[Any],
    games_per_pair: int,
    *,
    seed: int = 0,
    anchor: str | None = None,
    record: str | Path | None = None,
    progress: bool = True,
    opening_plies: int | None = None,
    device: str = "cpu",
) -> tuple[EloTable, list[dict]]:
    """Play every pair of players and fit Elo ratings.

    Args:
        game: a game of the envs protocol.
        players: players with distinct `.name`s.
        games_per_pair: games of each match.
        seed: seeds the openings (each pair gets its own seed).
        anchor: the player rated 0 (None: the first player).
        record: where to record the games (see arena.match.play_games); None: no records.
        progress, opening_plies, device: as in play_games.
    Returns:
        (EloTable, pairs): pairs is a list of {"a", "b", "wins_a", "draws", "losses_a"}.
    """
    names = [p.name for p in players]
    if len(set(names)) != len(names):
        raise ValueError(f"tournament players need distinct names, got {names}")
    if len(players) < 2:
        raise ValueError("a tournament needs at least two players")
    records: list[tuple[str, str, float]] = []
    pairs = []
    for k, (a, b) in enumerate(itertools.combinations(players, 2)):
        res = play_games(
            game,
            a,
            b,
            games_per_pair,
            seed=seed + 1000 * k,
            record=record,
            progress=progress,
            opening_plies=opening_plies,
            device=device,
        )
        records += records_from_games(res.games)
        pairs.append({"a": a.name, "b": b.name, "wins_a": res.wins_a, "draws": res.draws, "losses_a": res.losses_a})
    table = fit_bradley_terry(records, anchor=anchor or names[0])
    return table, pairs


def plot_table(table: EloTable, path: str | Path, title: str = "") -> Path:
    """A PNG of the ratings (sorted) with 95% error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = sorted(range(len(table.players)), key=lambda i: table.elo[i])
    names = [table.players[i] for i in order]
    elo = [float(table.elo[i]) for i in order]
    err = [1.959964 * float(table.stderr[i]) for i in order]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(names) + 1.5))
    ax.errorbar(elo, range(len(names)), xerr=err, fmt="o", capsize=4)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("Elo (95% interval)")
    ax.grid(axis="x", alpha=0.3)
    fm = f"first-move advantage {table.first_move_elo:.0f} +/- {1.959964 * table.first_move_stderr:.0f} Elo"
    ax.set_title(f"{title}\n{fm}" if title else fm, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(float(x)) else None


def main(argv: list[str] | None = None) -> int:
    cfg = TournamentConfig()
    p = player_parser(
        "gamelab tournament",
        "Round robin between players: an Elo table (Bradley-Terry fit with a first-move term) and a plot.",
        seed=cfg.seed,
        device=cfg.device,
        what="progress bars",
    )
    p.add_argument("players", nargs="+", help="two or more player specs")
    p.add_argument(
        "--games",
        type=option_type(TournamentConfig, "games"),
        default=cfg.games,
        help=f"games per pair (default {cfg.games})",
    )
    p.add_argument("--out", default=None, help="output folder (default runs/tournament__GAME__SEED__TIME)")
    p.add_argument("--anchor", default=None, help="player name rated 0 (default: the first)")
    args = p.parse_args(argv)
    if len(args.players) < 2:
        p.error("a tournament needs at least two players")
    try:
        if args.out:
            check_output_dir(args.out)
        game, players = game_and_players(args, args.players)
    except (KeyError, ValueError, OSError) as err:
        return fail(err)
    seen: dict[str, int] = {}
    for pl in players:  # the same spec twice gets a suffix so that names stay distinct
        seen[pl.name] = seen.get(pl.name, 0) + 1
        if seen[pl.name] > 1:
            pl.name = f"{pl.name}#{seen[pl.name]}"
    anchor = args.anchor
    if anchor is not None and anchor not in [pl.name for pl in players]:
        return fail(f"anchor {anchor!r} is not among {[pl.name for pl in players]}")
    out = Path(args.out) if args.out else make_run_dir("tournament", game.name, args.seed)
    out.mkdir(parents=True, exist_ok=True)
    record = None if args.no_record else out / "games.jsonl"
    try:
        with interrupts():  # Ctrl-C or SIGTERM: the games recorded so far stay, one line says so
            table, pairs = round_robin(
                game,
                players,
                args.games,
                seed=args.seed,
                anchor=anchor,
                record=record,
                progress=not args.quiet,
                opening_plies=args.opening_plies,
                device=args.device,
            )
    except Interrupted as stop:
        print(f"interrupted{f'; the finished games are recorded in {record}' if record else ''}", file=sys.stderr)
        return stop.code
    print(table.format())
    payload = {
        "game": game.name,
        "options": dict(game.options),
        "games_per_pair": args.games,
        "anchor": anchor or players[0].name,
        "table": [
            {
                "player": n,
                "elo": _finite(table.elo[i]),
                "stderr": _finite(table.stderr[i]),
                "games": int(table.games[i]),
                "score": float(table.score[i]),
            }
            for i, n in enumerate(table.players)
        ],
        "first_move_elo": _finite(table.first_move_elo),
        "first_move_stderr": _finite(table.first_move_stderr),
        "pairs": pairs,
    }
    write_json_atomic(out / "tournament.json", payload)
    plot_table(table, out / "elo.png", title=f"{game.name} round robin, {args.games} games per pair")
    print(f"wrote {out / 'tournament.json'} and {out / 'elo.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
