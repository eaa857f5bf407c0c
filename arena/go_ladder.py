"""The GNU Go opponents of the ladder (`gamelab bench ladder`, arena.ladder): Go against GNU Go at several levels.

    gamelab bench ladder --player bundled:200 --size 7 --games 20
    gamelab bench ladder --player bundled:200 --size 9 --komi 7 --opponents 0,5,10 --games 40 --capture-all-dead

In a game that speaks GTP (the `engine_protocols` trait), an opponent label that is a number L is
`gnugo --mode gtp --level L --chinese-rules`; `mc` is GNU Go's Monte Carlo mode (`--monte-carlo`, at `--mc-level`,
with `--mc-games-per-level` playouts per level when given). Each such opponent plays the ladder's `--games` games
against the player in one lockstep batch (agents.gtp_check.engine_games): the player takes black in the even games
and white in the odd ones, each pair after the same 2 random opening moves (seeded). `--seed` seeds GNU Go too (its
`--seed`: otherwise it seeds itself from the clock, and its Monte Carlo mode plays other games on every run), so a
ladder run is repeatable.

Rules: the player plays the game's rules (area scoring with the komi, suicide forbidden, simple ko, or positional
superko with --superko), GNU Go its Chinese rules (area scoring, simple ko). A game ends by two passes (or at the
game's move limit). Results count by our area score (the game's outcome, as in `gamelab match`; every stone on the
board counts as alive). GNU Go's verdict (`final_score`, after taking off the stones it judges dead) is asked for
each game too: a game where the winners differ is a result disagreement, shown with how many of them the dead stones
explain; rule notes count the moves where the programs disagreed during play (a move GNU Go refused, a GNU Go move
our rules forbid, a resignation, which our games do not have: agents.gtp_player).

One line per GNU Go opponent: wins, losses, draws, the score, the Elo difference with its 95% interval, wins by GNU
Go's verdict, disagreements, our wall time per position (`our s/pos`) and the rung's time.
"""

from __future__ import annotations

from typing import Any

from agents.gtp_check import engine_games, summarize
from agents.gtp_player import GtpPlayer
from arena.elo import elo_from_score, format_elo
from envs.go import Go

__all__ = [
    "DEFAULT_OPPONENTS",
    "is_engine_label",
    "opponent_command",
    "opponent_name",
    "parse_opponents",
    "ladder_rung",
    "ladder_settings",
    "rung_line",
]

GNUGO = "gnugo --mode gtp --chinese-rules"
DEFAULT_OPPONENTS = ("0", "2", "5", "10", "mc")


def is_engine_label(label: str) -> bool:
    """Whether an opponent label names GNU Go (a number or "mc") rather than a player spec."""
    return label == "mc" or label.isdigit()


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


def opponent_name(label: str) -> str:
    """How a table names the opponent of a label: "gnugo level 5", "gnugo monte-carlo"."""
    return f"gnugo {'monte-carlo' if label == 'mc' else 'level ' + label}"


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


def ladder_settings(game: Go, *, capture_all_dead: bool) -> dict[str, Any]:
    """The Go settings a ladder's figures keep beside the game options: size, komi, superko and both sides' rules."""
    return {
        "size": game.size,
        "komi": game.komi,
        "superko": game.superko,
        "capture_all_dead": capture_all_dead,
        "rules": "ours: area scoring (all stones alive), komi, suicide forbidden, "
        + ("positional superko" if game.superko else "simple ko")
        + "; GNU Go: --chinese-rules (area scoring after removing dead stones, simple ko)"
        + (", --capture-all-dead" if capture_all_dead else ""),
    }


def ladder_rung(game: Go, player: Any, command: str, num_games: int, *, seed: int = 0) -> dict:
    """Play `num_games` games of `player` against the GTP engine `command`; returns the figures of one line.

    Raises:
        ValueError: the engine is not found or does not start.
    """
    engine = GtpPlayer(command, game)
    try:
        games = engine_games(game, player, engine, num_games, seed=seed)
    finally:
        engine.close()
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
        "per_game": games,
    }


def rung_line(label: str, r: dict) -> str:
    """One opponent's line of figures (`r`: ladder_rung's, with the ladder's `our_seconds_per_position` and
    `seconds`)."""
    elo = f"{format_elo(r['elo'])} [{format_elo(r['elo_lo95'])}, {format_elo(r['elo_hi95'])}]"
    notes = ", ".join(f"{k} {v}" for k, v in sorted(r["rule_notes"].items())) or "none"
    return (
        f"{opponent_name(label):<18} W {r['wins']:3d}  L {r['losses']:3d}  D {r['draws']:2d}"
        f"  score {r['score']:5.1f}/{r['games']}  Elo {elo:<20}  by GNU Go W {r['engine_wins']:3d}"
        f" L {r['engine_losses']:3d}  result disagreements {r['result_disagreements']}"
        f" ({r['explained_by_dead_stones']} dead stones)  rule notes: {notes}  mean margin {r['mean_margin']:+.1f}"
        f"  our s/pos {r['our_seconds_per_position']:.2f}  {r['seconds']:.0f} s"
    )
