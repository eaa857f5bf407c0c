"""Matches between two players: many games in parallel batches, alternating first move, W/D/L and Elo.

    gamelab match connect_four alphabeta:4 rollout:200 --games 40

Games run in batches of up to `batch` games in lockstep: at every ply each player is called once on the rows of the
live games where it is to move (finished rows are left out). Player A moves first in the even games and second in
the odd ones. Openings: games come in pairs that start from the same `opening_plies` uniformly random moves (seeded)
with the sides swapped, so deterministic players still play varied games and neither side gets the better of the
random openings; beyond that, the players' own randomness (tie-breaking, rollouts) varies the games. The default
number of opening plies depends on the game (`default_opening_plies`). Every game can be recorded as one line of a
replay file (arena.records).

Dimension letters: B games of a batch, A actions.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from agents.player import Player
from agents.players import make_player
from arena.elo import elo_from_score, format_elo
from arena.records import append_records, default_replay_path, make_record, move_info_from, own_formats
from core.config import bounded
from core.device import pick_device
from core.job import JobParser, fail, option_type
from core.paths import check_output_dir, check_output_file
from core.progress import progress
from core.run import Interrupted, interrupts
from envs import game_class, get_game, parse_options, traits
from envs import state as state_ops
from envs.base import Game, random_actions

__all__ = [
    "MatchConfig",
    "MatchResult",
    "play_games",
    "default_opening_plies",
    "parse_options",
    "player_parser",
    "game_and_players",
    "main",
]


@dataclass(frozen=True)
class MatchConfig:
    """Defaults and valid ranges of `gamelab match` (its options are checked against these: `option_type`)."""

    games: int = bounded(20, ge=1)
    batch: int | None = bounded(None, ge=1)  # games per batch (None: all at once, at most 256)
    record: str | None = "replays"  # folder (or .jsonl file) for the records; None: no records
    seed: int = bounded(0, ge=0)
    device: str = "cpu"
    opening_plies: int | None = bounded(None, ge=0)  # None: `default_opening_plies(game)`


@dataclass
class MatchResult:
    """Outcome of a match from player A's side.

    games: one dict per game: {"players": [first name, second name], "result": first player's score (1, 0.5, 0),
    "a_first": bool, "moves": [action ids], "opening_plies": int, "record_id": str | None}.
    """

    wins_a: int
    draws: int
    losses_a: int
    games: list[dict] = field(default_factory=list)

    @property
    def score_a(self) -> float:
        """Player A's mean score per game (draw = 1/2)."""
        n = self.wins_a + self.draws + self.losses_a
        return (self.wins_a + 0.5 * self.draws) / max(n, 1)

    def elo(self) -> tuple[float, float, float]:
        """(Elo of A over B, lo95, hi95) from arena.elo.elo_from_score."""
        return elo_from_score(self.wins_a, self.draws, self.losses_a)


def default_opening_plies(game: Any) -> int:
    """Random opening plies used when none is given: the game's `opening_plies` trait (0 for tic-tac-toe, 2 for
    most games, 4 for go)."""
    return traits.opening_plies(game)


def _record_path(record: str | Path, game: Any) -> Path:
    """A .jsonl file, a file of a format the game writes itself (.kif, .csa), else a folder for the day's file."""
    path = Path(record)
    own = ["." + f for f in traits.own_record_formats(game)]
    return path if path.suffix == ".jsonl" or path.suffix.lower() in own else default_replay_path(path, game.name)


def _check_record(record: str, game: Any) -> None:
    """A record file or folder that can be written, in a format the game writes (before any player starts)."""
    suffix = Path(record).suffix.lower()
    if suffix in own_formats() and suffix[1:] not in traits.own_record_formats(game):
        raise ValueError(f"{record}: {game.name} games cannot be written as {suffix[1:].upper()}; use .jsonl")
    (check_output_file if suffix == ".jsonl" or suffix in own_formats() else check_output_dir)(record)


def _openings(game: Any, num_pairs: int, plies: int, generator: torch.Generator, device: str) -> tuple[Any, list]:
    """(State [num_pairs] after `plies` random moves, per pair its list of moves)."""
    state = game.init(num_pairs, device=device)
    moves: list[list[int]] = [[] for _ in range(num_pairs)]
    for _ in range(plies):
        legal = game.legal_mask(state).cpu()
        live = legal.any(-1)
        if not bool(live.any()):
            break
        action = random_actions(legal, generator)
        state = game.step(state, action.to(device))
        for i in live.nonzero()[:, 0].tolist():
            moves[i].append(int(action[i]))
    return state, moves


def play_games(
    game: Any,
    player_a: Any,
    player_b: Any,
    num_games: int,
    *,
    batch: int | None = None,
    seed: int = 0,
    record: str | Path | None = None,
    progress: bool = True,
    opening_plies: int | None = None,
    device: str = "cpu",
) -> MatchResult:
    """Play `num_games` games between two players, A first in the even games.

    Args:
        game: a game of the envs protocol.
        player_a, player_b: players (`player(game, state) -> LongTensor[B]`).
        num_games: games to play.
        batch: games played at once (None: all, at most 256).
        seed: seeds the random openings.
        record: a folder (a file `<game>-<day>.jsonl` in it) or a `.jsonl` file to append one record per game to;
            None: no records.
        progress: show a progress bar.
        opening_plies: random plies shared by each pair of games (None: `default_opening_plies(game)`).
        device: where the game states live.
    Returns:
        MatchResult with A's wins, draws, losses and the per-game summaries.
    """
    if num_games < 1:
        raise ValueError(f"num_games must be at least 1, got {num_games}")
    batch = min(num_games, 256) if batch is None else max(1, int(batch))
    batch += batch % 2 if batch < num_games else 0  # keep the pairs of a shared opening in one batch
    plies = default_opening_plies(game) if opening_plies is None else int(opening_plies)
    generator = torch.Generator().manual_seed(seed)
    path = _record_path(record, game) if record is not None else None
    result = MatchResult(0, 0, 0, [])
    bar = _progress_bar(num_games, f"{_name(player_a)} vs {_name(player_b)}", progress)
    for lo in range(0, num_games, batch):
        n = min(batch, num_games - lo)
        ids = torch.arange(lo, lo + n)
        pairs = ids // 2
        first_pair = int(pairs[0])
        opening, opening_moves = _openings(game, int(pairs[-1]) - first_pair + 1, plies, generator, device)
        local = (pairs - first_pair).to(device)
        state = state_ops.take(opening, local)
        moves = [list(opening_moves[int(p)]) for p in (pairs - first_pair)]
        infos: list[list[dict | None]] = [[None] * len(m) for m in moves]
        a_first = (ids % 2 == 0).to(device)
        start = time.monotonic()
        shown = 0  # games of this batch counted on the bar: it moves as games end, not only per batch
        for _ in range(game.max_moves + 1):
            done, _ = game.outcome(state)
            finished = int(done.sum())
            if finished > shown:
                bar.update(finished - shown)
                shown = finished
            if bool(done.all()):
                break
            a_to_move = (state.player == 0) == a_first
            action = torch.zeros(n, dtype=torch.long, device=device)
            for player, rows in ((player_a, ~done & a_to_move), (player_b, ~done & ~a_to_move)):
                idx = rows.nonzero()[:, 0]
                if idx.numel() == 0:
                    continue
                chosen = torch.as_tensor(player(game, state_ops.take(state, idx))).to(device).long().reshape(-1)
                action[idx] = chosen
                info = player.info
                for k, i in enumerate(idx.tolist()):
                    moves[i].append(int(chosen[k]))
                    infos[i].append(move_info_from(info, k))
            state = game.step(state, action)
        done, value = game.outcome(state)
        if not bool(done.all()):
            raise RuntimeError(f"{game.name}: games still running after max_moves={game.max_moves} plies")
        first_value = torch.where(state.player == 0, value, -value).float().cpu()  # first player's view
        ends = game.termination(state) if hasattr(game, "termination") else [""] * n  # how each game ended
        duration = (time.monotonic() - start) / n
        records = []
        for i in range(n):
            first_score = float((first_value[i] + 1.0) / 2.0)
            af = bool(a_first[i])
            names = [_name(player_a), _name(player_b)] if af else [_name(player_b), _name(player_a)]
            score_a = first_score if af else 1.0 - first_score
            if score_a == 1.0:
                result.wins_a += 1
            elif score_a == 0.0:
                result.losses_a += 1
            else:
                result.draws += 1
            rec_id = None
            if path is not None:
                seats = [player_a, player_b] if af else [player_b, player_a]
                rec = make_record(
                    game,
                    moves[i],
                    first_score,
                    seats,
                    move_info=infos[i],
                    duration_s=duration,
                    opening_plies=len(opening_moves[int(pairs[i]) - first_pair]),
                    source="match",
                    **({"termination": ends[i]} if ends[i] else {}),
                )
                records.append(rec)
                rec_id = rec["id"]
            result.games.append(
                {
                    "players": names,
                    "result": first_score,
                    "a_first": af,
                    "moves": moves[i],
                    "opening_plies": len(opening_moves[int(pairs[i]) - first_pair]),
                    "record_id": rec_id,
                    "termination": ends[i] or None,
                }
            )
        if path is not None:
            append_records(path, records, game)
        bar.update(n - shown)
        bar.set_postfix_str(f"W/D/L {result.wins_a}/{result.draws}/{result.losses_a}")
    bar.close()
    return result


def _name(player: Player) -> str:
    return str(player.name)


def _progress_bar(total: int, desc: str, show: bool) -> Any:
    return progress(total=total, desc=desc, unit="game", disable=None if show else True)


PLAYER_SPECS = (
    "Players: random, rollout:N, mcts:N, alphabeta:K, az:PATH[:SIMS], PATH.pt or a run folder, bundled[:SIMS], "
    "solver (connect four's perfect player), gtp:COMMAND (a Go engine, e.g. 'gtp:gnugo --mode gtp --level 1'), "
    "uci:COMMAND[:name=value...] (a chess engine, e.g. 'uci:stockfish:Skill Level=0:nodes=200')."
)


def player_parser(prog: str, description: str, *, seed: int, device: str, what: str) -> argparse.ArgumentParser:
    """The parser `gamelab match` and `gamelab tournament` share: the game, openings, records, seed, device, game
    options, progress bars (each adds its players and own options). A bad option is one error line, exit 2."""
    parser = JobParser(prog=prog, description=description, epilog=PLAYER_SPECS)
    parser.add_argument("game", help="registered game name, e.g. connect_four")
    parser.add_argument(
        "--opening-plies", type=option_type(MatchConfig, "opening_plies"), default=None,
        help="random opening plies per pair of games",
    )  # fmt: skip
    parser.add_argument("--no-record", action="store_true", help="do not record the games")
    parser.add_argument("--seed", type=option_type(MatchConfig, "seed"), default=seed)
    parser.add_argument("--device", default=device, help="cpu, cuda, ... (states and networks)")
    parser.add_argument("--option", action="append", metavar="KEY=VALUE", help="game option, e.g. size=9 (repeatable)")
    parser.add_argument("--quiet", action="store_true", help=f"no {what}")
    return parser


def game_and_players(args: argparse.Namespace, specs: list[str]) -> tuple[Game, list[Player]]:
    """The game (name and --option values) and one player per spec, the i-th seeded with seed + i.

    Raises:
        KeyError, ValueError, OSError: an unknown game, option or device, a bad spec, a missing checkpoint.
    """
    torch.set_num_threads(1)
    pick_device(args.device)  # an unknown or absent device is a ValueError naming it
    game = get_game(args.game, **parse_options(args.option))
    players = [make_player(s, game, device=args.device, seed=args.seed + i) for i, s in enumerate(specs)]
    return game, players


def _format_elo(elo: float, lo: float, hi: float) -> str:
    return f"{format_elo(elo)} [{format_elo(lo)}, {format_elo(hi)}]"


def main(argv: list[str] | None = None) -> int:
    cfg = MatchConfig()
    p = player_parser(
        "gamelab match",
        "Play a match between two players (alternating first move) and print W/D/L and Elo.",
        seed=cfg.seed,
        device=cfg.device,
        what="progress bar",
    )
    p.add_argument("player_a")
    p.add_argument("player_b")
    p.add_argument("--games", type=option_type(MatchConfig, "games"), default=cfg.games,
                   help=f"games to play (default {cfg.games})")  # fmt: skip
    p.add_argument("--batch", type=option_type(MatchConfig, "batch"), default=cfg.batch,
                   help="games played at once (default: all, at most 256)")  # fmt: skip
    p.add_argument("--record", default=cfg.record, metavar="DIR",
                   help="folder, or .jsonl (any game), .kif or .csa (shogi) file for the records")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    args = p.parse_args(argv)
    record = None if args.no_record else args.record
    try:
        if record is not None:  # a .jsonl, .kif or .csa file, else a folder: checked before any player starts
            _check_record(record, game_class(args.game))
        game, (a, b) = game_and_players(args, [args.player_a, args.player_b])
    except (KeyError, ValueError, OSError) as err:
        return fail(err)
    try:
        with interrupts():  # Ctrl-C or SIGTERM: the games recorded so far stay, one line says so
            res = play_games(
                game,
                a,
                b,
                args.games,
                batch=args.batch,
                seed=args.seed,
                record=record,
                progress=not args.quiet,
                opening_plies=args.opening_plies,
                device=args.device,
            )
    except Interrupted as stop:
        kept = f"; the finished games are recorded in {_record_path(record, game)}" if record is not None else ""
        print(f"interrupted{kept}", file=sys.stderr)
        return stop.code
    elo, lo, hi = res.elo()
    if args.json:
        out = {
            "game": game.name,
            "options": dict(game.options),
            "player_a": a.name,
            "player_b": b.name,
            "wins_a": res.wins_a,
            "draws": res.draws,
            "losses_a": res.losses_a,
            "score_a": res.score_a,
            "elo": elo,
            "elo_lo95": lo,
            "elo_hi95": hi,
            "record": str(_record_path(record, game)) if record is not None else None,
        }
        print(json.dumps({k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}))
    else:
        print(f"{game.name}: {a.name} vs {b.name}, {args.games} games")
        print(f"W/D/L {res.wins_a}/{res.draws}/{res.losses_a} (score {100 * res.score_a:.1f}%)")
        print(f"Elo difference {_format_elo(elo, lo, hi)} (95% interval)")
        if record is not None:
            print(f"recorded in {_record_path(record, game)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
