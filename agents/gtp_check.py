"""Whole games against a GTP engine, with both programs' verdicts on each: do our rules and the engine's agree?

    python -m agents.gtp_check "gnugo --mode gtp --level 1 --chinese-rules" rollout:64 --games 20 --size 9

Our side (any player spec of agents.players, `gtp:...` included) plays black in the even games, the engine in the
odd ones, each pair after the same 2 random opening moves (seeded). At the end of each game the engine is asked for
its `final_score` and its dead stones (`final_status_list dead`), and the winner by our area score is compared with
the engine's. Our area score leaves every stone on the board alive (Tromp-Taylor); an engine like GNU Go removes the
stones it judges dead first, so where the winners differ the score with the engine's dead stones taken off is shown
too. Our `final_score` (the one `gamelab gtp go` answers) takes off the stones our random playouts judge dead
(envs.go.Go.dead_stones): its agreement is printed as well. Printed: one line per game and the agreement rates on
the games ended by two passes and on all games.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import torch

from agents.gtp_player import GtpPlayer
from agents.players import make_player
from core.device import set_cpu_threads
from envs import state as state_ops
from envs.go import Go

__all__ = ["engine_games", "summarize", "main"]


def _winner(margin: float | None) -> str:
    if margin is None:
        return "?"
    return "B" if margin > 0 else "W" if margin < 0 else "0"


def engine_games(game: Go, ours: Any, engine: GtpPlayer, num_games: int, *, seed: int = 0) -> list[dict]:
    """Play `num_games` games in one lockstep batch, ours black in the even ones; returns one dict per game:
    ours_black, moves, ended_by ("passes" or "max_moves"), our (black's margin by area score), engine (by its
    final_score), dead (the engine's dead stones), our_without_dead, agree (same winner)."""
    gen = torch.Generator().manual_seed(seed)
    pairs = game.init((num_games + 1) // 2)
    for _ in range(2):  # the shared random openings of each pair
        legal = game.legal_mask(pairs)
        legal[:, game.pass_action] = False
        pairs = game.step(pairs, torch.where(legal, torch.rand(legal.shape, generator=gen), -1.0).argmax(-1))
    state = state_ops.take(pairs, torch.arange(num_games) // 2)
    ours_black = torch.arange(num_games) % 2 == 0
    passes_at_end = torch.zeros(num_games, dtype=torch.bool)
    while not bool(state.done.all()):
        ours_to_move = (state.player == 0) == ours_black
        action = torch.full((num_games,), game.pass_action, dtype=torch.long)
        for player, rows in ((ours, ~state.done & ours_to_move), (engine, ~state.done & ~ours_to_move)):
            idx = rows.nonzero()[:, 0]
            if idx.numel():
                action[idx] = torch.as_tensor(player(game, state_ops.take(state, idx))).long().reshape(-1).cpu()
        before = state
        state = game.step(state, action)
        ended = state.done & ~before.done
        passes_at_end |= ended & (action == game.pass_action) & (before.last_action == game.pass_action)
    verdicts = engine.engine_verdict(game, state)
    out = []
    for i, v in enumerate(verdicts):
        board = state.board[i : i + 1].clone()
        board[0, v["dead"]] = 0
        without_dead = float(game.score(game.position(board))[0])
        ours_margin = float(state.score[i])
        board = state.board[i : i + 1].clone()
        board[0, game.dead_stones(state_ops.take(state, i), generator=torch.Generator().manual_seed(0))[0]] = 0
        estimated = float(game.score(game.position(board))[0])
        out.append(
            {
                "ours_black": bool(ours_black[i]),
                "moves": int(state.moves[i]),
                "ended_by": "passes" if bool(passes_at_end[i]) else "max_moves",
                "our": ours_margin,
                "engine": v["score"],
                "dead": len(v["dead"]),
                "our_without_dead": without_dead,
                "agree": _winner(ours_margin) == _winner(v["score"]),
                "our_final_score": estimated,
                "final_agree": _winner(estimated) == _winner(v["score"]),
            }
        )
    return out


def summarize(games: list[dict]) -> dict:
    """Agreement counts: on all games and on the games ended by two passes; our side's wins."""
    passes = [g for g in games if g["ended_by"] == "passes"]
    ours_won = sum((g["our"] > 0) == g["ours_black"] and g["our"] != 0 for g in games)
    return {
        "games": len(games),
        "agree": sum(g["agree"] for g in games),
        "two_pass_games": len(passes),
        "two_pass_agree": sum(g["agree"] for g in passes),
        "explained_by_dead_stones": sum(
            not g["agree"] and _winner(g["our_without_dead"]) == _winner(g["engine"]) for g in games
        ),
        "our_wins": ours_won,
        "final_agree": sum(g["final_agree"] for g in games),
        "two_pass_final_agree": sum(g["final_agree"] for g in passes),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the comparison. Returns the exit code."""
    p = argparse.ArgumentParser(prog="python -m agents.gtp_check", description=__doc__.split("\n\n")[0])
    p.add_argument("engine", help='the engine\'s command line, e.g. "gnugo --mode gtp --level 1 --chinese-rules"')
    p.add_argument("ours", help="our player spec, e.g. rollout:64 or gtp:...")
    p.add_argument("--games", type=int, default=20)
    p.add_argument("--size", type=int, default=9)
    p.add_argument("--komi", type=float, default=7.5)
    p.add_argument("--superko", action="store_true", help="our side plays positional superko")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print every game and the summary as JSON")
    args = p.parse_args(argv)
    set_cpu_threads(1)
    try:
        if not 1 <= args.games <= 10_000:
            raise ValueError(f"--games must be from 1 to 10000, got {args.games}")
        game = Go(size=args.size, komi=args.komi, superko=args.superko)
        engine = GtpPlayer(args.engine, game)
        ours = make_player(args.ours, game, seed=args.seed)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    start = time.monotonic()
    games = engine_games(game, ours, engine, args.games, seed=args.seed)
    summary = summarize(games) | {"seconds": round(time.monotonic() - start, 1)}
    engine.close()
    close = getattr(ours, "close", None)
    if close:
        close()
    if args.json:
        print(json.dumps({"games": games, "summary": summary}))
        return 0
    for i, g in enumerate(games):
        mark = "agree" if g["agree"] else "DISAGREE"
        print(
            f"game {i:2d}: ours {'B' if g['ours_black'] else 'W'}, {g['moves']} moves, ended by {g['ended_by']}; "
            f"area {g['our']:+g}, engine {g['engine']:+g} ({g['dead']} dead stones; area without them "
            f"{g['our_without_dead']:+g}): {mark}; our final_score {g['our_final_score']:+g}: "
            f"{'agree' if g['final_agree'] else 'DISAGREE'}"
        )
    s = summary
    print(
        f"winner by our final_score (dead stones by playouts) against the engine's: {s['final_agree']}/{s['games']} "
        f"games, {s['two_pass_final_agree']}/{s['two_pass_games']} ended by two passes"
    )
    print(
        f"winner by plain area score: {s['agree']}/{s['games']} games, {s['two_pass_agree']}/{s['two_pass_games']} "
        f"ended by two passes; disagreements explained by dead stones: {s['explained_by_dead_stones']}; our wins "
        f"{s['our_wins']}/{s['games']}; {s['seconds']} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
