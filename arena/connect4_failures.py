"""Where a player loses the game-theoretic outcome on solved Connect Four positions: its mistakes by stage, by the
outcome of the position and by kind, side by side for several search settings on the same positions.

    python -m arena.connect4_failures held_out.txt --player bundled:200 --tactics 0,2
    python -m arena.connect4_failures Test_L2_R2 --limit 300 --tactics 0,2      # one of Pons' sets

A file of solved positions (the project's format, arena.connect4_positions) or the name of a set: one of the project's
own or of Pons' (arena.evaluate). Scores are Pons': a position's score s > 0 means the player to move wins with its
(22 - s)-th disc, s < 0 that the opponent wins with its (22 + s)-th, 0 a draw. Kinds of a critical position (one where
some move changes the outcome): "win at once" (a move wins now), "win in 2-3" / "win in 4+" (own moves to the win
with perfect play), "only move" (one move keeps a draw or a loss-avoiding outcome), "draw, some moves keep it"; and of
the mistake made, "loses at once" (the opponent wins on its next move), "loses soon" (within 3 of its moves) or
"loses late" (a parity or zugzwang loss, 4 or more).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import torch

from agents.mcts import SearchSettings
from agents.players import make_player
from arena.connect4_positions import OWN_SETS, load_own_set, own_sets
from arena.evaluate import _play, _positions, bench_dir_default, load_scores
from envs import get_game

__all__ = ["classify", "main"]

STAGES = ((4, 12, "stones 4-12"), (13, 24, "stones 13-24"), (25, 42, "stones 25+"))


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


def _own_moves_to_win(score: int, stones: int) -> int:
    """Moves of the winner still to play to its win (score from the view of the player to move)."""
    if score > 0:
        return 22 - score - stones // 2
    return 22 + score - (stones - stones // 2)


def classify(moves: str, scores: list[int | None]) -> tuple[str, str, str]:
    """(stage, outcome for the player to move, kind of the position) of one solved position."""
    n = len(moves)
    stage = next(name for lo, hi, name in STAGES if lo <= n <= hi) if n >= 4 else "stones 0-3"
    legal = [s for s in scores if s is not None]
    best = max(legal)
    outcome = {1: "win", 0: "draw", -1: "loss"}[_sign(best)]
    keeping = sum(_sign(s) == _sign(best) for s in legal)
    if best > 0:
        k = _own_moves_to_win(best, n)
        kind = "win at once" if k <= 1 else "win in 2-3" if k <= 3 else "win in 4+"
    else:
        kind = "only move" if keeping == 1 else f"{outcome}, some moves keep it"
    return stage, outcome, kind


def _mistake_kind(score: int, stones: int) -> str:
    if score >= 0:
        return "gives up the win for a draw"
    k = _own_moves_to_win(score, stones)  # the opponent's moves to its win after the move
    return "loses at once" if k <= 1 else "loses soon" if k <= 3 else "loses late"


def _critical(scores: list[int | None]) -> bool:
    best = max(s for s in scores if s is not None)
    return best >= 0 and any(s is not None and _sign(s) != _sign(best) for s in scores)


def _rows(source: str, limit: int | None) -> list[tuple[str, list[int | None]]]:
    if Path(source).is_file():
        rows = [r for rs in own_sets(source).values() for r in rs]
    elif source in OWN_SETS:
        rows = load_own_set(source)
    else:
        rows = load_scores(bench_dir_default() / f"{source}.scores")
    return rows[:limit]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m arena.connect4_failures", description=__doc__.split("\n")[0])
    p.add_argument("source", help="a positions file, or a set name (Own_End, Test_L2_R2, ...)")
    p.add_argument("--player", default="bundled:200")
    p.add_argument("--tactics", default="0,2", help="depths of the exact win check to compare (comma-separated)")
    p.add_argument("--leaf-batch", type=int, default=8)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--show", action="store_true", help="print every mistake")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    try:
        rows = _rows(args.source, args.limit)
        depths = [int(x) for x in args.tactics.split(",") if x.strip()]
        game = get_game("connect_four")
        state = _positions(game, [[int(ch) - 1 for ch in m] for m, _ in rows])
        chosen = {}
        for d in depths:
            settings = SearchSettings(leaf_batch=args.leaf_batch, tactics=d)
            chosen[d] = _play(make_player(args.player, game, settings=settings), game, state, 250).tolist()
    except (ValueError, OSError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    kinds = [classify(m, s) for m, s in rows]
    critical = [_critical(s) for _, s in rows]
    print(f"{args.source}: {len(rows)} positions, {sum(critical)} critical; player {args.player}")
    for d in depths:
        by: dict[str, Counter] = {"stage": Counter(), "outcome": Counter(), "kind": Counter(), "mistake": Counter()}
        total = 0
        for (m, s), (stage, outcome, kind), c in zip(rows, kinds, chosen[d]):
            best = max(x for x in s if x is not None)
            v = s[c] if 0 <= c < 7 else None
            if v is not None and _sign(v) == _sign(best):
                continue
            total += 1
            by["stage"][stage] += 1
            by["outcome"][outcome] += 1
            by["kind"][kind] += 1
            by["mistake"]["illegal" if v is None else _mistake_kind(v, len(m))] += 1
            if args.show:
                print(f"    tactics {d}: {m} plays {c + 1} ({v}), best {best}: {stage}, {kind}")
        kept = 100 * (1 - total / max(len(rows), 1))
        kept_c = 100 * (1 - total / max(sum(critical), 1))
        print(f"  tactics {d}: {total} mistakes, keeps the outcome {kept:.1f}%, on critical {kept_c:.1f}%")
        for key, counter in by.items():
            print(f"    by {key}: " + ", ".join(f"{k} {v}" for k, v in sorted(counter.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
