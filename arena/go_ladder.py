"""A Go ladder against GNU Go: one Go player against GNU Go at several levels, one line of figures per opponent.

    gamelab bench ladder --player bundled:200 --size 7 --games 20
    python -m arena.go_ladder --player bundled:200 --size 7 --games 20 --opponents 0,2,5,10,mc --out ladder.json

Opponents (`--opponents`, comma-separated): a number L is `gnugo --mode gtp --level L --chinese-rules`; `mc` is GNU Go's
Monte Carlo mode (`--monte-carlo`, at `--mc-level`, with `--mc-games-per-level` playouts per level when given). Each
opponent plays `--games` games against the player in one lockstep batch (agents.gtp_check.engine_games): the player
takes black in the even games and white in the odd ones, each pair after the same 2 random opening moves (seeded).
`--seed` seeds GNU Go too (its `--seed`: otherwise it seeds itself from the clock, and its Monte Carlo mode plays
other games on every run), so a ladder run is repeatable.

Rules: the player plays the game's rules (area scoring with the komi, suicide forbidden, simple ko, or positional
superko with --superko), GNU Go its Chinese rules (area scoring, simple ko). A game ends by two passes (or at the
game's move limit). Results count by our area score (the game's outcome, as in `gamelab match`; every stone on the
board counts as alive). GNU Go's verdict (`final_score`, after taking off the stones it judges dead) is asked for
each game too: a game where the winners differ is a result disagreement, shown with how many of them the dead stones
explain; rule notes count the moves where the programs disagreed during play (a move GNU Go refused, a GNU Go move
our rules forbid, a resignation, which our games do not have: agents.gtp_player).

One line per opponent: wins, losses, draws, the score, the Elo difference with its 95% interval
(arena.elo.elo_from_score, as `gamelab match` prints it), wins by GNU Go's verdict, disagreements. The figures, the
command and the settings go to a JSON file (`--out`). `our s/pos` is the player's wall time per position in the
batched games; the time of one move searched alone is measured first and printed.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import torch

from agents.gtp_check import engine_games, summarize
from agents.gtp_player import GtpPlayer
from agents.players import make_player
from arena.elo import elo_from_score, format_elo
from core.checkpoint import atomic_write
from core.device import set_cpu_threads
from core.job import JobParser, fail, ranged
from core.paths import check_output_file
from envs.go import Go

__all__ = ["opponent_command", "parse_opponents", "ladder_rung", "main"]

GNUGO = "gnugo --mode gtp --chinese-rules"
DEFAULT_OPPONENTS = ("0", "2", "5", "10", "mc")


def parse_opponents(text: str) -> list[str]:
    """Opponent labels from "0,2,5,10,mc": GNU Go levels 0-10, or "mc" (Monte Carlo mode).

    Raises:
        ValueError: a label that is neither (the message names it).
    """
    labels = [t.strip() for t in text.split(",") if t.strip()]
    if not labels:
        raise ValueError(f"--opponents: expected levels 0-10 or mc, comma-separated, got {text!r}")
    for label in labels:
        if label != "mc" and not (label.isdigit() and 0 <= int(label) <= 10):
            raise ValueError(f"--opponents: {label!r} is neither a GNU Go level 0-10 nor mc")
    return labels


def opponent_command(
    label: str,
    *,
    mc_level: int = 10,
    mc_games_per_level: int | None = None,
    seed: int | None = None,
    capture_all_dead: bool = False,
) -> str:
    """The GNU Go command line of an opponent label ("5" -> level 5, "mc" -> Monte Carlo mode); `seed` fixes GNU Go's
    random choices (None: GNU Go seeds itself from the clock); `capture_all_dead` makes GNU Go capture every dead
    stone before passing, so that area scoring with all stones alive (ours, CGOS's) counts the game as GNU Go sees
    it."""
    extra = (f" --seed {seed}" if seed is not None else "") + (" --capture-all-dead" if capture_all_dead else "")
    if label == "mc":
        games = f" --mc-games-per-level {mc_games_per_level}" if mc_games_per_level else ""
        return f"{GNUGO} --monte-carlo --level {mc_level}{games}{extra}"
    return f"{GNUGO} --level {int(label)}{extra}"


class _Timed:
    """A player that keeps the wall time it took and the positions it was asked for."""

    def __init__(self, player: Any) -> None:
        self.player, self.seconds, self.positions, self.calls = player, 0.0, 0, 0
        self.name, self.checkpoint, self.settings = player.name, player.checkpoint, player.settings

    @property
    def info(self) -> dict | None:
        """The wrapped player's info after its last call."""
        return self.player.info

    def close(self) -> None:
        """Close the wrapped player."""
        self.player.close()

    def __call__(self, game: Go, state: Any) -> torch.Tensor:
        start = time.perf_counter()
        with torch.no_grad():
            action = self.player(game, state)
        self.seconds += time.perf_counter() - start
        self.positions += int(state.player.shape[0])
        self.calls += 1
        return action


def _one_move_seconds(player: Any, game: Go, repeats: int = 3) -> float:
    """The median wall time of one move searched alone (a position two moves into a game)."""
    state = game.init(1)
    for a in (game.size * game.size // 2, game.size * game.size // 2 - game.size - 1):
        state = game.step(state, torch.tensor([a]))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        with torch.no_grad():
            player(game, state)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def ladder_rung(game: Go, player: Any, command: str, num_games: int, *, seed: int = 0) -> dict:
    """Play `num_games` games of `player` against the GTP engine `command`; returns the figures of one line.

    Raises:
        ValueError: the engine is not found or does not start.
    """
    engine = GtpPlayer(command, game)
    timed = _Timed(player)
    start = time.monotonic()
    try:
        games = engine_games(game, timed, engine, num_games, seed=seed)
    finally:
        engine.close()
    seconds = time.monotonic() - start
    summary = summarize(games)
    ours = [(g["our"] if g["ours_black"] else -g["our"]) for g in games]  # our margin by our area score
    by_engine = [None if g["engine"] is None else (g["engine"] if g["ours_black"] else -g["engine"]) for g in games]
    wins, losses = sum(m > 0 for m in ours), sum(m < 0 for m in ours)
    draws = num_games - wins - losses
    elo, lo, hi = elo_from_score(wins, draws, losses)
    notes: dict[str, int] = {}
    for note in engine.disagreements:
        notes[note["kind"]] = notes.get(note["kind"], 0) + 1
    return {
        "command": command,
        "games": num_games,
        "wins": wins,
        "losses": losses,
        "draws": draws,
        "score": wins + 0.5 * draws,
        "elo": elo,
        "elo_lo95": lo,
        "elo_hi95": hi,
        "mean_margin": sum(ours) / num_games,
        "engine_wins": sum(m is not None and m > 0 for m in by_engine),
        "engine_losses": sum(m is not None and m < 0 for m in by_engine),
        "engine_unscored": sum(m is None for m in by_engine),
        "result_disagreements": num_games - summary["agree"],
        "explained_by_dead_stones": summary["explained_by_dead_stones"],
        "two_pass_games": summary["two_pass_games"],
        "rule_notes": notes,
        "our_seconds_per_position": timed.seconds / max(timed.positions, 1),
        "seconds": seconds,
        "per_game": games,
    }


def _line(label: str, r: dict) -> str:
    elo = f"{format_elo(r['elo'])} [{format_elo(r['elo_lo95'])}, {format_elo(r['elo_hi95'])}]"
    notes = ", ".join(f"{k} {v}" for k, v in sorted(r["rule_notes"].items())) or "none"
    name = f"gnugo {'monte-carlo' if label == 'mc' else 'level ' + label}"
    return (
        f"{name:<18} W {r['wins']:3d}  L {r['losses']:3d}  D {r['draws']:2d}  score {r['score']:5.1f}/{r['games']}"
        f"  Elo {elo:<20}  by GNU Go W {r['engine_wins']:3d} L {r['engine_losses']:3d}"
        f"  result disagreements {r['result_disagreements']} ({r['explained_by_dead_stones']} dead stones)"
        f"  rule notes: {notes}  mean margin {r['mean_margin']:+.1f}  our s/pos {r['our_seconds_per_position']:.2f}"
        f"  {r['seconds']:.0f} s"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the ladder. Returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    p = JobParser(prog="gamelab bench ladder", description=__doc__.split("\n\n")[0])
    p.add_argument("--player", default="bundled:200", help="our player spec (default bundled:200)")
    p.add_argument("--size", type=ranged(int, ge=5, le=19), default=7, help="board size (default 7)")
    p.add_argument("--komi", type=ranged(float, ge=-1000, le=1000), default=None, help="komi (default: the game's)")
    p.add_argument("--superko", action="store_true", help="our side plays positional superko")
    p.add_argument("--games", type=ranged(int, ge=1, le=1000), default=20, help="games per opponent (default 20)")
    p.add_argument("--opponents", default=",".join(DEFAULT_OPPONENTS), help="GNU Go levels and/or mc (0,2,5,10,mc)")
    p.add_argument("--mc-level", type=ranged(int, ge=0, le=10), default=10, help="GNU Go level of the mc opponent")
    p.add_argument(
        "--mc-games-per-level", type=ranged(int, ge=1), default=None, help="Monte Carlo playouts per level (GNU Go's)"
    )
    p.add_argument(
        "--capture-all-dead",
        action="store_true",
        help="GNU Go captures its opponent's dead stones before passing (its --capture-all-dead)",
    )
    p.add_argument("--seed", type=ranged(int, ge=0), default=0, help="seeds the openings, our player and GNU Go")
    p.add_argument("--out", type=Path, default=None, help="JSON file of the figures (default: none)")
    args = p.parse_args(argv)
    set_cpu_threads(1)
    try:
        if args.out is not None:
            check_output_file(args.out)
        labels = parse_opponents(args.opponents)
        options: dict[str, Any] = {"size": args.size, "superko": args.superko}
        if args.komi is not None:
            options["komi"] = args.komi
        game = Go(**options)
        player = make_player(args.player, game, seed=args.seed)
    except ValueError as err:
        return fail(err)
    alone = _one_move_seconds(player, game)
    print(
        f"{args.player} ({player.name}) on Go {game.size}x{game.size}, komi {game.komi:g}, "
        f"{args.games} games per opponent, colours alternated; one move alone: {alone:.2f} s",
        flush=True,
    )
    out: dict[str, Any] = {
        "command": "gamelab bench ladder " + shlex.join(argv),
        "player": args.player,
        "player_name": player.name,
        "size": game.size,
        "komi": game.komi,
        "superko": args.superko,
        "capture_all_dead": args.capture_all_dead,
        "games": args.games,
        "seed": args.seed,
        "one_move_seconds": alone,
        "rules": "ours: area scoring (all stones alive), komi, suicide forbidden, "
        + ("positional superko" if args.superko else "simple ko")
        + "; GNU Go: --chinese-rules (area scoring after removing dead stones, simple ko)"
        + (", --capture-all-dead" if args.capture_all_dead else ""),
        "opponents": {},
    }
    for label in labels:
        command = opponent_command(
            label,
            mc_level=args.mc_level,
            mc_games_per_level=args.mc_games_per_level,
            seed=args.seed,
            capture_all_dead=args.capture_all_dead,
        )
        try:
            rung = ladder_rung(game, player, command, args.games, seed=args.seed)
        except ValueError as err:
            return fail(err)
        print(_line(label, rung), flush=True)
        out["opponents"][label] = rung
        if args.out is not None:  # written after each opponent, so a stopped run keeps what it measured
            atomic_write(args.out, (json.dumps(out, indent=1) + "\n").encode())
    player.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
