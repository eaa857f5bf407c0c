"""A ladder for any game: one player against a list of opponents, `--games` games each, one line of figures each.

    gamelab bench ladder --game minishogi --player bundled:200 --opponents alphabeta:2,alphabeta:3 \\
        --opponent "usi:fairy-stockfish:UCI_Variant=minishogi:Skill Level=0" --games 40 --out docs/minishogi_ladder.json
    gamelab bench ladder --game tictactoe --player alphabeta:9 --opponents random,alphabeta:1 --games 10
    gamelab bench ladder --size 9 --komi 7 --opponents 0,5,10 --games 40      # Go against GNU Go levels 0, 5, 10

Opponents, in the order given: `--opponents A,B,C` (comma-separated player specs) and `--opponent SPEC` (one spec
taken whole, for a spec that holds a comma), both repeatable and mixed freely. A spec is any player spec of
`gamelab match` (agents.players: random, alphabeta:K, az:PATH[:SIMS], bundled[:SIMS], uci:..., usi:..., gtp:...;
colons inside a spec are part of it). In a game that speaks GTP (the `engine_protocols` trait, Go) a number 0-10 is
GNU Go at that level and `mc` its Monte Carlo mode (arena.go_ladder: GNU Go's own verdict of each game is kept
beside ours). Without `--game` the ladder is Go 7x7 (the bundled Go model's board) against GNU Go levels
0,2,5,10,mc; other games default to alphabeta:2,alphabeta:3.

Each opponent plays `--games` games against the player as `gamelab match` plays them (arena.match.play_games):
batches of up to `--batch` games in lockstep (the player is called once per ply for all its games), colours
alternated (the player moves first in the even games), each pair of games from the same random opening of the
game's `opening_plies` (or `--opening-plies`) seeded by `--seed`, so every opponent meets the same openings.

Printed: one line per opponent (W/D/L, the score, the Elo difference with its 95% interval from arena.elo,
the player's wall time per position, the opponent's seconds), then a markdown table row per opponent to paste into
the README. `--out FILE`: the figures as JSON (the command line, the date, the game and its options, the settings,
per opponent the figures and every game), rewritten atomically after each opponent so a stopped ladder keeps what
it measured; an infinite Elo (every game won or lost) is null there.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from arena import go_ladder
from arena.elo import format_elo
from arena.match import PLAYER_SPECS, MatchConfig, _check_record, default_opening_plies, game_and_players, play_games
from core.checkpoint import atomic_write
from core.job import JobParser, fail, option_type, ranged
from core.paths import check_output_file
from core.progress import progress
from core.run import Interrupted, interrupts
from envs import game_class, traits
from envs import state as state_ops
from envs.base import Game, random_actions

__all__ = ["TimedPlayer", "split_opponents", "play_rung", "rung_line", "table_rows", "main"]

DEFAULT_GAME, DEFAULT_OPTIONS = "go", {"size": 7}  # no --game: the bundled Go 7x7 model's ladder against GNU Go
DEFAULT_SPECS = ("alphabeta:2", "alphabeta:3")  # the opponents of a game without GNU Go
SHORTHANDS = ("size", "komi", "superko")  # --size N is --option size=N (Go's ladder options before --option)


class TimedPlayer:
    """A player that keeps the wall time it took and the positions it was asked for (the `Player` contract)."""

    def __init__(self, player: Any) -> None:
        self.player, self.seconds, self.positions = player, 0.0, 0
        self.name, self.checkpoint, self.settings = player.name, player.checkpoint, player.settings

    @property
    def info(self) -> dict | None:
        """The wrapped player's info after its last call."""
        return self.player.info

    def close(self) -> None:
        """Close the wrapped player."""
        self.player.close()

    def __call__(self, game: Game, state: Any) -> torch.Tensor:
        start = time.perf_counter()
        with torch.no_grad():
            action = self.player(game, state)
        self.seconds += time.perf_counter() - start
        self.positions += int(state.player.shape[0])
        return action

    def per_position(self) -> float:
        """Seconds per position asked for so far."""
        return self.seconds / max(self.positions, 1)


class _Opponents(argparse.Action):
    """--opponents A,B (split at commas) and --opponent SPEC (whole) append to one list, in command-line order."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        found = list(getattr(namespace, self.dest) or [])
        found += split_opponents(values) if option_string == "--opponents" else [values.strip()]
        setattr(namespace, self.dest, found)


def split_opponents(text: str) -> list[str]:
    """The specs of a comma-separated list ("alphabeta:2, usi:fairy-stockfish:Skill Level=0"), blanks dropped."""
    return [t.strip() for t in text.split(",") if t.strip()]


def _game_and_players(args: argparse.Namespace, specs: list[str]) -> tuple[Game, list[Any]]:
    """The game (with --option and the shorthands) and the player, then one player per spec (arena.match)."""
    name = args.game or DEFAULT_GAME
    cls = game_class(name)
    options = {} if args.game else {k: str(v) for k, v in DEFAULT_OPTIONS.items()}
    declared = traits.option_specs(cls)
    for key in SHORTHANDS:
        value = getattr(args, key)
        if value is None or value is False:
            continue
        if key not in declared:
            raise ValueError(f"--{key}: {name} has no option {key}")
        try:
            declared[key].check(key, value)
        except ValueError as err:
            raise ValueError(f"--{key}: {err}") from None
        options[key] = str(value)
    match_args = argparse.Namespace(
        game=name, option=[f"{k}={v}" for k, v in options.items()] + (args.option or []), device=args.device,
        seed=args.seed,
    )  # fmt: skip
    return game_and_players(match_args, [args.player, *specs])


def _one_move_seconds(player: Any, game: Game, seed: int, repeats: int = 3) -> float:
    """The median wall time of one move searched alone (a position two random moves into a game)."""
    generator = torch.Generator().manual_seed(seed)
    state = game.init(1)
    for _ in range(2):
        state = game.step(state, random_actions(game.legal_mask(state).cpu(), generator))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        with torch.no_grad():
            player(game, state_ops.take(state, torch.arange(1)))
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def play_rung(game: Game, player: TimedPlayer, opponent: Any, args: argparse.Namespace) -> dict:
    """`args.games` games of `player` against `opponent` (arena.match.play_games); the figures of one line."""
    timed = TimedPlayer(opponent)
    res = play_games(
        game, player, timed, args.games, batch=args.batch, seed=args.seed, record=args.record,
        progress=not args.quiet, opening_plies=args.opening_plies, device=args.device,
    )  # fmt: skip
    elo, lo, hi = res.elo()
    per_game = [
        {
            "player_first": g["a_first"],
            "score": g["result"] if g["a_first"] else 1.0 - g["result"],  # the player's: 1 win, 0.5 draw, 0 loss
            "opening_plies": g["opening_plies"],
            "plies": len(g["moves"]),
            "termination": g["termination"],
            "moves": g["moves"],
            "record_id": g["record_id"],
        }
        for g in res.games
    ]
    by_side = {}
    for first in (True, False):
        scores = [g["score"] for g in per_game if g["player_first"] == first]
        by_side["as_first" if first else "as_second"] = [scores.count(1.0), scores.count(0.5), scores.count(0.0)]
    return {
        "opponent_name": opponent.name,
        "games": args.games,
        "wins": res.wins_a,
        "draws": res.draws,
        "losses": res.losses_a,
        "score": res.wins_a + 0.5 * res.draws,
        "elo": elo,
        "elo_lo95": lo,
        "elo_hi95": hi,
        **by_side,
        "opponent_seconds_per_position": timed.per_position(),
        "per_game": per_game,
    }


def _elo_text(r: dict) -> str:
    return f"{format_elo(r['elo'])} [{format_elo(r['elo_lo95'])}, {format_elo(r['elo_hi95'])}]"


def rung_line(label: str, r: dict, width: int = 18) -> str:
    """One opponent's line: W/D/L, score, Elo with its 95% interval, per-side W/D/L, times."""
    first, second = ("/".join(map(str, r[k])) for k in ("as_first", "as_second"))
    return (
        f"{label:<{width}} W {r['wins']:3d}  D {r['draws']:3d}  L {r['losses']:3d}"
        f"  score {r['score']:5.1f}/{r['games']}"
        f"  Elo {_elo_text(r):<20}  first {first}  second {second}  our s/pos {r['our_seconds_per_position']:.3f}"
        f"  their s/pos {r['opponent_seconds_per_position']:.3f}  {r['seconds']:.0f} s"
    )


def table_rows(figures: dict) -> list[str]:
    """The markdown table of a ladder's figures: a header and one row per opponent."""
    rows = ["| opponent | games | W | D | L | score | Elo (95% interval) |", "|---|---|---|---|---|---|---|"]
    for label, r in figures["opponents"].items():
        name = go_ladder.opponent_name(label) if "engine_wins" in r else f"`{label}`"
        pct = 100 * r["score"] / r["games"]
        rows.append(
            f"| {name} | {r['games']} | {r['wins']} | {r['draws']} | {r['losses']} | {r['score']:g} ({pct:.0f}%) "
            f"| {_elo_text(r)} |"
        )
    return rows


def _finite(x: Any) -> Any:
    """`x` with every infinite or NaN float replaced by None (strict JSON)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x


def _parser() -> JobParser:
    cfg = MatchConfig()
    p = JobParser(prog="gamelab bench ladder", description=__doc__.split("\n\n")[0], epilog=PLAYER_SPECS)
    p.add_argument("--game", default=None, help="registered game name (default: go, size 7, against GNU Go)")
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="game option, e.g. size=9 (repeatable)")
    p.add_argument("--size", type=ranged(int, ge=1), default=None, help="board size: --option size=N")
    p.add_argument("--komi", type=ranged(float, ge=-1000, le=1000), default=None, help="komi: --option komi=K")
    p.add_argument("--superko", action="store_true", help="positional superko: --option superko=true")
    p.add_argument("--player", default="bundled:200", help="the player on the ladder (default bundled:200)")
    p.add_argument("--opponents", dest="specs", action=_Opponents, default=None, metavar="A,B,...",
                   help="opponent specs, comma-separated (repeatable); Go: GNU Go levels 0-10 and mc too (default "
                        "0,2,5,10,mc; other games alphabeta:2,alphabeta:3)")  # fmt: skip
    p.add_argument("--opponent", dest="specs", action=_Opponents, metavar="SPEC",
                   help="one opponent spec taken whole, commas and all (repeatable)")  # fmt: skip
    p.add_argument("--games", type=ranged(int, ge=1, le=1000), default=cfg.games,
                   help=f"games per opponent (default {cfg.games})")  # fmt: skip
    p.add_argument("--batch", type=option_type(MatchConfig, "batch"), default=cfg.batch,
                   help="games played at once (default: all, at most 256; GNU Go opponents: all)")  # fmt: skip
    p.add_argument("--opening-plies", type=option_type(MatchConfig, "opening_plies"), default=None,
                   help="random opening plies of each pair of games (default: the game's; GNU Go: 2)")  # fmt: skip
    p.add_argument("--seed", type=option_type(MatchConfig, "seed"), default=cfg.seed,
                   help="seeds the openings, the players and GNU Go")  # fmt: skip
    p.add_argument("--device", default=cfg.device, help="cpu, cuda, ... (states and networks)")
    p.add_argument("--record", default=None, metavar="DIR", help="folder or .jsonl file for the games (default none)")
    p.add_argument("--out", type=Path, default=None, help="JSON file of the figures (default: none)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    gnugo = p.add_argument_group("GNU Go opponents (games that speak GTP)")
    gnugo.add_argument("--mc-level", type=ranged(int, ge=0, le=10), default=10, help="GNU Go level of mc")
    gnugo.add_argument("--mc-games-per-level", type=ranged(int, ge=1), default=None,
                       help="Monte Carlo playouts per level (GNU Go's)")  # fmt: skip
    gnugo.add_argument("--capture-all-dead", action="store_true",
                       help="GNU Go captures the player's dead stones before passing (--capture-all-dead)")  # fmt: skip
    return p


def _labels(args: argparse.Namespace, gtp: bool) -> list[str]:
    """The opponent labels, checked: GNU Go labels only where the game speaks GTP, none twice.

    Raises:
        ValueError: an empty list, a label given twice, a bad GNU Go level (the message names it).
    """
    labels = args.specs if args.specs is not None else list(go_ladder.DEFAULT_OPPONENTS if gtp else DEFAULT_SPECS)
    if not labels:
        raise ValueError("--opponents: no opponent given")
    for i, label in enumerate(labels):
        if label in labels[:i]:
            raise ValueError(f"--opponents: {label!r} is given twice")
        if go_ladder.is_engine_label(label):
            if not gtp:
                raise ValueError(f"--opponents: {label!r} is no player spec (GNU Go levels are Go's opponents)")
            go_ladder.parse_opponents(label)
    return labels


def main(argv: list[str] | None = None) -> int:
    """Run the ladder. Returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    try:
        gtp = "gtp" in traits.engine_protocols(game_class(args.game or DEFAULT_GAME))
        labels = _labels(args, gtp)
        engine = {label for label in labels if gtp and go_ladder.is_engine_label(label)}
        if args.out is not None:
            check_output_file(args.out)
        if args.record is not None:
            _check_record(args.record, game_class(args.game or DEFAULT_GAME))
        game, players = _game_and_players(args, [label for label in labels if label not in engine])
    except (KeyError, ValueError, OSError) as err:
        return fail(err)
    player, opponents = TimedPlayer(players[0]), dict(zip([x for x in labels if x not in engine], players[1:]))
    try:
        return _run(args, argv, game, player, labels, opponents)
    finally:
        for made in players:
            made.close()


def _run(
    args: argparse.Namespace, argv: list[str], game: Game, player: TimedPlayer, labels: list[str], opponents: dict
) -> int:
    plies = default_opening_plies(game) if args.opening_plies is None else args.opening_plies
    alone = _one_move_seconds(player.player, game, args.seed)
    options = ", ".join(f"{k}={v}" for k, v in game.options.items())
    shown = traits.display_name(game) + (f" ({options})" if options else "")
    print(
        f"{args.player} ({player.name}) on {shown}, {args.games} games per opponent, colours alternated; "
        f"one move alone: {alone:.3f} s",
        flush=True,
    )
    out: dict[str, Any] = {
        "command": "gamelab bench ladder " + shlex.join(argv),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "game": game.name,
        "options": dict(game.options),
        "player": args.player,
        "player_name": player.name,
        "games": args.games,
        "batch": args.batch,
        "opening_plies": plies,
        "seed": args.seed,
        "device": args.device,
        "one_move_seconds": alone,
    }
    if len(opponents) < len(labels):  # GNU Go opponents
        out.update(go_ladder.ladder_settings(game, capture_all_dead=args.capture_all_dead))
    out["opponents"] = {}
    width = max(18, *(len(label) for label in labels))
    bar = progress(total=len(labels), desc="ladder", unit="opponent", disable=True if args.quiet else None)
    try:
        with interrupts():  # Ctrl-C or SIGTERM: the figures of the finished opponents stay in --out
            for label in labels:
                start, seconds, positions = time.monotonic(), player.seconds, player.positions
                if label in opponents:
                    rung = {"opponent": label, **play_rung(game, player, opponents[label], args)}
                else:
                    command = go_ladder.opponent_command(
                        label, mc_level=args.mc_level, mc_games_per_level=args.mc_games_per_level, seed=args.seed,
                        capture_all_dead=args.capture_all_dead,
                    )  # fmt: skip
                    rung = go_ladder.ladder_rung(game, player, command, args.games, seed=args.seed)
                rung["our_seconds_per_position"] = (player.seconds - seconds) / max(player.positions - positions, 1)
                rung["seconds"] = time.monotonic() - start
                line = rung_line(label, rung, width) if label in opponents else go_ladder.rung_line(label, rung)
                bar.write(line, file=sys.stdout)
                sys.stdout.flush()
                out["opponents"][label] = rung
                if args.out is not None:  # after each opponent, so a stopped run keeps what it measured
                    atomic_write(args.out, (json.dumps(_finite(out), indent=1) + "\n").encode())
                bar.update(1)
    except Interrupted as stop:
        kept = f"; the finished opponents' figures are in {args.out}" if args.out and out["opponents"] else ""
        print(f"interrupted{kept}", file=sys.stderr)
        return stop.code
    except ValueError as err:  # an engine that does not start
        return fail(err)
    finally:
        bar.close()
    print("\n".join(table_rows(out)))
    if args.out is not None:
        print(f"figures in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
