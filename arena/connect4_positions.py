"""The project's own solved Connect Four positions: made by play, scored by the exact solver, shipped in the package.

    python -m arena.connect4_positions                        # regenerate arena/data/connect_four_positions.txt
    python -m arena.connect4_positions --per-set 50 --out /tmp/p.txt --seed 1
    python -m arena.connect4_positions --per-set 60 --seed 3 --players random alphabeta:4 bundled:64 --out /tmp/q.txt

Games are played from the empty board by players of mixed strength (each game draws how often it plays a uniformly
random move instead of a tactical one: win at once if it can, else block a win at once, else not under the
opponent's winning cell, else a random column weighted toward the centre), and stopped at a random number of
stones; the position reached is kept when its game is not over and it was not kept before (mirror images count as
the same). Then the solver (agents.connect4_solver) scores every move. Positions whose analysis passes the node
budget are dropped (rare; the budget keeps a regeneration to minutes), so the sets lean a little toward positions
the solver finds easy.

`--players SPEC ...` takes the positions from games of other players instead (player specs of agents.players:
random, alphabeta:N, bundled:N, ...): each batch of games pairs two specs drawn from the list, and each game plays
a uniformly random move instead of its player's with a probability drawn per game (0, 0.05, 0.15 or 0.3), so that
the positions differ in source as well as in seed from the shipped ones.

Sets, by stage (stones on the board): Own_Begin 4-12, Own_Middle 13-24, Own_End 25-35. The file has one position per
line, `SET moves score s1 .. s7` in the format of Pons' `.scores` files (1-based column digits, the score of the
position for the player to move, the score of each column or `x` for a full one); lines starting with `#` are
comments.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from functools import cache
from pathlib import Path

import torch

from agents import connect4_solver as c4s
from agents.connect4_solver import HEIGHT, WIDTH, has_four
from core.paths import read_text_file

__all__ = ["OWN_SETS", "STAGES", "DATA_FILE", "own_sets", "load_own_set", "generate", "main"]

DATA_FILE = Path(__file__).parent / "data" / "connect_four_positions.txt"
STAGES = {"Own_Begin": (4, 12), "Own_Middle": (13, 24), "Own_End": (25, 35)}
OWN_SETS = tuple(STAGES)


@cache
def _read(path: Path) -> dict[str, list[tuple[str, list[int | None]]]]:
    sets: dict[str, list[tuple[str, list[int | None]]]] = {}
    for lineno, line in enumerate(read_text_file(path, "ascii").splitlines(), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        scores = parts[3:]
        if (
            len(parts) != 10
            or not all(ch in "1234567" for ch in parts[1])
            or not all(x == "x" or x.lstrip("-").isdigit() for x in scores)
        ):
            raise ValueError(
                f"{path}:{lineno}: expected 'SET moves score s1 .. s7' (moves as columns 1-7, scores or x), "
                f"got {line.strip()[:80]!r}"
            )
        sets.setdefault(parts[0], []).append((parts[1], [None if x == "x" else int(x) for x in scores]))
    return sets


def own_sets(path: str | Path = DATA_FILE) -> dict[str, list[tuple[str, list[int | None]]]]:
    """Every set of the positions file: {name: [(moves as 1-based digits, score of each column or None)]}."""
    return _read(Path(path))


def load_own_set(name: str, path: str | Path = DATA_FILE) -> list[tuple[str, list[int | None]]]:
    """One set of the project's own positions.

    Raises:
        KeyError: no set of that name (the message lists the sets).
    """
    sets = own_sets(path)
    if name not in sets:
        raise KeyError(f"no connect four position set {name!r}; the project's own sets: {', '.join(sets)}")
    return sets[name]


# ----------------------------------------------------------------------------------------------------- generation
def _cell(mask: int, c: int) -> int:
    """The bit where a disc dropped in column c lands (0 when the column is full)."""
    bit = (mask + (1 << c * (HEIGHT + 1))) & (((1 << HEIGHT) - 1) << c * (HEIGHT + 1))
    return bit


def _tactical(cur: int, mask: int, legal: list[int], rng: random.Random) -> int:
    opp = cur ^ mask
    for c in legal:
        if has_four(cur | _cell(mask, c)):
            return c
    for c in legal:
        if has_four(opp | _cell(mask, c)):
            return c
    safe = []
    for c in legal:
        below = _cell(mask, c)
        above = below << 1
        top_ok = above & (((1 << HEIGHT) - 1) << c * (HEIGHT + 1))
        if not (top_ok and has_four(opp | above)):
            safe.append(c)
    pool = safe or legal
    weights = [4 - abs(c - 3) for c in pool]
    return rng.choices(pool, weights)[0]


def _play_game(stones: int, randomness: float, rng: random.Random) -> str | None:
    """Moves (1-based digits) of a game stopped after `stones` moves, or None if it ended before."""
    cur = mask = 0
    moves = []
    for _ in range(stones):
        legal = [c for c in range(WIDTH) if _cell(mask, c)]
        c = rng.choice(legal) if rng.random() < randomness else _tactical(cur, mask, legal, rng)
        bit = _cell(mask, c)
        if has_four(cur | bit):
            return None  # the game is over: no position to evaluate
        cur, mask = cur ^ mask, mask | bit
        moves.append(c)
    return "".join(str(c + 1) for c in moves)


_PLAYER_RANDOMNESS = (0.0, 0.05, 0.15, 0.3)


def _player_games(players: list, lo: int, hi: int, count: int, rng: random.Random) -> list[str]:
    """Moves (1-based digits) of `count` games between two of `players` (drawn), each stopped after a random number
    of stones in [lo, hi]; games that end before are left out. A game plays a uniformly random move instead of its
    player's with a probability drawn per game from _PLAYER_RANDOMNESS."""
    from envs import get_game
    from envs import state as state_ops

    game = get_game("connect_four")
    pair = (rng.choice(players), rng.choice(players))
    target = [rng.randint(lo, hi) for _ in range(count)]
    noise = [rng.choice(_PLAYER_RANDOMNESS) for _ in range(count)]
    moves: list[list[int]] = [[] for _ in range(count)]
    state = game.init(count)
    for ply in range(hi):
        live = [b for b in range(count) if not bool(state.done[b]) and ply < target[b]]
        if not live:
            break
        idx = torch.tensor(live)
        part = state_ops.take(state, idx)
        chosen = torch.as_tensor(pair[ply % 2](game, part)).reshape(-1).long().tolist()
        legal = game.legal_mask(part).tolist()
        action = [0] * count
        for j, b in enumerate(live):
            cols = [c for c in range(WIDTH) if legal[j][c]]
            action[b] = rng.choice(cols) if rng.random() < noise[b] else chosen[j]
            moves[b].append(action[b])
        stepped = game.step(part, torch.tensor([action[b] for b in live]))
        state = state_ops.state_map(lambda x, y, i=idx: x.index_copy(0, i, y), state, stepped)
    done = state.done.tolist()
    return ["".join(str(c + 1) for c in m) for b, m in enumerate(moves) if not done[b] and len(m) == target[b]]


def generate(
    per_set: int = 200,
    *,
    seed: int = 0,
    max_nodes: int = 20_000_000,
    show: bool = True,
    players: list[str] | None = None,
) -> dict[str, list[tuple[str, list[int | None]]]]:
    """Play, deduplicate and solve `per_set` positions for each stage (see the module docstring).

    Args:
        players: player specs whose games give the positions (default: the built-in players of mixed strength).
    Returns:
        {set name: [(moves, score of each column)]}, each set in the order generated.
    Raises:
        ValueError: a bad player spec.
    """
    rng = random.Random(seed)
    made = []
    if players:
        from agents.players import make_player
        from envs import get_game

        made = [make_player(spec, get_game("connect_four"), seed=seed + k) for k, spec in enumerate(players)]
    out: dict[str, list] = {}
    seen: set[str] = set()
    for name, (lo, hi) in STAGES.items():
        rows: list = []
        dropped, t0 = 0, time.monotonic()
        pending: list[str] = []
        while len(rows) < per_set:
            if made:
                if not pending:
                    pending = _player_games(made, lo, hi, 32, rng)
                    continue
                moves = pending.pop()
            else:
                moves = _play_game(rng.randint(lo, hi), rng.choice((1.0, 0.5, 0.25, 0.1)), rng)
            if moves is None:
                continue
            mirror = "".join(str(8 - int(ch)) for ch in moves)
            key = min(_board_key(moves), _board_key(mirror))
            if key in seen:
                continue
            seen.add(key)
            try:
                scores = c4s.analyze(moves, max_nodes=max_nodes)
            except TimeoutError:
                dropped += 1
                continue
            rows.append((moves, scores))
            if show:
                print(f"\r{name}: {len(rows)}/{per_set} ({dropped} over budget)", end="", file=sys.stderr, flush=True)
        if show:
            print(f"  {time.monotonic() - t0:.0f} s", file=sys.stderr)
        out[name] = rows
    return out


def _board_key(moves: str) -> str:
    """The position itself (not the order of the moves): the stones of each column, bottom up."""
    cols = [[] for _ in range(WIDTH)]
    for k, ch in enumerate(moves):
        cols[int(ch) - 1].append("xo"[k % 2])
    return "/".join("".join(c) for c in cols)


def write(sets: dict[str, list[tuple[str, list[int | None]]]], path: str | Path, command: str) -> None:
    """Write sets in the file format of the module docstring."""
    lines = [
        "# Connect Four positions of the gamelab project, solved exactly (agents.connect4_solver).",
        f"# Made by: {command}",
        "# SET moves score s1 .. s7   (1-based columns; scores in Pascal Pons' convention, x: full column)",
    ]
    for name, rows in sets.items():
        for moves, scores in rows:
            best = max(s for s in scores if s is not None)
            cols = " ".join("x" if s is None else str(s) for s in scores)
            lines.append(f"{name} {moves} {best} {cols}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines) + "\n", encoding="ascii")
    _read.cache_clear()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m arena.connect4_positions",
        description="Generate and solve the project's own Connect Four evaluation positions.",
    )
    p.add_argument("--per-set", type=int, default=200, help="positions per stage set")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-nodes", type=int, default=20_000_000, help="drop a position whose analysis needs more")
    p.add_argument("--out", default=str(DATA_FILE))
    p.add_argument(
        "--players",
        nargs="+",
        default=None,
        metavar="SPEC",
        help="take the positions from games of these players (random, alphabeta:N, bundled:N, ...; two drawn per "
        "batch of games) instead of the built-in ones",
    )
    args = p.parse_args(argv)
    if args.per_set < 1:
        print(f"error: --per-set must be at least 1, got {args.per_set}", file=sys.stderr)
        return 2
    try:
        sets = generate(args.per_set, seed=args.seed, max_nodes=args.max_nodes, players=args.players)
    except (c4s.SolverUnavailableError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    command = f"python -m arena.connect4_positions --per-set {args.per_set} --seed {args.seed}"
    command += f" --max-nodes {args.max_nodes}"
    if args.players:
        command += " --players " + " ".join(args.players)
    write(sets, args.out, command)
    print(f"wrote {sum(len(r) for r in sets.values())} positions to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
