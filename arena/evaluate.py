"""Strength against perfect play: the Connect Four test sets and an exhaustive tic-tac-toe check.

    gamelab evaluate connect_four alphabeta:4 --limit 200           # the project's own sets (Own_End, ...)
    gamelab evaluate connect_four bundled:800 --sets Test_L3_R1 Test_L2_R1 --outcome
    gamelab evaluate connect_four bundled:200 --leaf-batch 8 --positions held_out.txt --outcome
    gamelab evaluate tictactoe alphabeta:9                          # (also: python -m arena.evaluate ...)

Connect Four: the project's own solved positions (arena/data/connect_four_positions.txt, sets Own_Begin, Own_Middle,
Own_End; arena.connect4_positions made them) ship in the package and are the default. Pascal Pons' public test sets
(Test_L3_R1 End-Easy, Test_L2_R1 Middle-Easy, Test_L2_R2 Middle-Medium, Test_L1_R1/R2/R3 Begin-Easy/Medium/Hard)
are read at run time from the folder named by the environment variable GAMELAB_CONNECT4_BENCH, else
`<repo root>/../shared/benchmarks/connect4` (the data stays there; it is not part of this package). Each
`Test_X.scores` file lists per position the exact score of every move (see the README in that folder). A move is a
*mistake* when it changes the game-theoretic outcome (sign(score of the move) != sign(best score); AlphaZero.jl's
criterion: in a lost position every move is correct), and a *strict mistake* when it is not an optimal move (score
below the best). An illegal move counts as both. A position is *critical* when some legal move would change its
outcome; `--outcome` prints the share of positions where the player keeps the outcome, over all and over the
critical ones (and over all sets together). `--positions FILE` evaluates on another file of solved positions in
the format of the project's own (made by `python -m arena.connect4_positions --out FILE --seed N`: a held-out set),
all its sets unless --sets names some. `--leaf-batch K` sets the leaves per tree per network call of a searching
player (`gamelab agent` searches with K = 8), `--batch N` the positions searched together (more on a GPU).

Tic-tac-toe: every reachable position that is not over, solved by a plain minimax over Python tuples; a mistake is
a move whose minimax value is below the best move's.

Dimension letters: B positions of a batch, A actions.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import torch

from agents.mcts import SearchSettings
from agents.players import make_player
from arena.connect4_positions import OWN_SETS, load_own_set, own_sets
from core.job import JobParser, fail, ranged
from envs import get_game
from envs import state as state_ops
from envs.connect_four import ConnectFour
from envs.tictactoe import TicTacToe

__all__ = [
    "DEFAULT_SETS",
    "PONS_SETS",
    "bench_dir_default",
    "available_sets",
    "load_scores",
    "connect4_benchmark",
    "tictactoe_positions",
    "tictactoe_exhaustive",
    "main",
]

DEFAULT_SETS = OWN_SETS  # the project's own positions: a fresh clone evaluates with no outside folder
PONS_SETS = ("Test_L3_R1", "Test_L2_R1", "Test_L2_R2")
_ENV = "GAMELAB_CONNECT4_BENCH"


def bench_dir_default() -> Path:
    """The Connect Four benchmark folder: $GAMELAB_CONNECT4_BENCH, else <repo root>/../shared/benchmarks/connect4."""
    env = os.environ.get(_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks" / "connect4"


def load_scores(path: str | os.PathLike) -> list[tuple[str, list[int | None]]]:
    """Read a `Test_X.scores` file: per line (moves as 1-based column digits, score of each column; None: full).

    Raises:
        FileNotFoundError: the file is missing (the message names it).
        ValueError: a malformed line (file and line number in the message).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"connect four benchmark scores not found: {path}")
    out = []
    with open(path, encoding="ascii") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 9:
                raise ValueError(f"{path}:{lineno}: expected 'moves score s1 .. s7', got {line.strip()!r}")
            out.append((parts[0], [None if x == "x" else int(x) for x in parts[2:]]))
    return out


def _positions(game: Any, sequences: list[list[int]], device: str = "cpu") -> Any:
    """State [B] after playing each sequence of actions from the start (rows stop at their own length)."""
    state = game.init(len(sequences), device=device)
    longest = max((len(s) for s in sequences), default=0)
    for k in range(longest):
        active = torch.tensor([len(s) > k for s in sequences], device=device)
        action = torch.tensor([s[k] if len(s) > k else 0 for s in sequences], device=device)
        stepped = game.step(state_ops.take(state, active), action[active])
        state = state_ops.where(active, _scatter_rows(state, active, stepped), state)
    return state


def _scatter_rows(state: Any, rows: Any, part: Any) -> Any:
    """`state` with its rows where rows[B] is True replaced by the rows of `part` (in order)."""

    def put(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        out[rows] = y
        return out

    return state_ops.state_map(put, state, part)


def _play(player: Any, game: Any, state: Any, chunk: int) -> torch.Tensor:
    """The player's actions for all rows, called on chunks of `chunk` rows -> LongTensor[B] on the CPU."""
    out = []
    n = state.player.shape[0]
    for lo in range(0, n, chunk):
        part = state_ops.take(state, slice(lo, lo + chunk))
        out.append(torch.as_tensor(player(game, part)).reshape(-1).long().cpu())
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


def available_sets(
    sets: tuple[str, ...] | list[str], bench_dir: str | os.PathLike | None = None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split set names into those that can be read here (the own sets, or a benchmark set whose `.scores` file
    exists) and those that cannot. Returns (available, missing)."""
    folder = Path(bench_dir) if bench_dir is not None else bench_dir_default()
    found = tuple(n for n in sets if n in OWN_SETS or (folder / f"{n}.scores").is_file())
    return found, tuple(n for n in sets if n not in found)


def connect4_benchmark(
    player: Any,
    *,
    sets: tuple[str, ...] | list[str] = DEFAULT_SETS,
    limit: int | None = None,
    bench_dir: str | os.PathLike | None = None,
    chunk: int = 250,
    positions_file: str | os.PathLike | None = None,
) -> dict[str, dict]:
    """Mistake rates of a player on Connect Four test sets against perfect play.

    Args:
        player: a player (`player(game, state) -> LongTensor[B]`).
        sets: names of the sets: the project's own (`OWN_SETS`, shipped in the package) or test sets of the
            benchmark folder (each needs its `.scores` file).
        limit: use only the first `limit` positions of each set.
        bench_dir: the benchmark folder (default: `bench_dir_default()`).
        chunk: positions per call of the player.
        positions_file: read the sets from this file of solved positions (the format of the project's own,
            arena.connect4_positions) instead of the shipped file and the benchmark folder.
    Returns:
        {set name: {"positions": int, "mistakes": int, "mistake_rate": float, "strict_mistakes": int,
        "strict_mistake_rate": float, "critical": int (positions where some move changes the outcome),
        "critical_mistakes": int}}.
    Raises:
        FileNotFoundError: the folder or a set's scores file is missing.
        KeyError: a set that `positions_file` does not hold.
    """
    from envs import get_game

    game = get_game("connect_four")
    folder = Path(bench_dir) if bench_dir is not None else bench_dir_default()
    results = {}
    for name in sets:
        if positions_file is not None:
            rows = load_own_set(name, positions_file)
        elif name in OWN_SETS:
            rows = load_own_set(name)
        elif not folder.is_dir():
            raise FileNotFoundError(
                f"connect four benchmark folder not found: {folder} (set {_ENV}); the project's own sets need none: "
                + ", ".join(OWN_SETS)
            )
        else:
            rows = load_scores(folder / f"{name}.scores")
        rows = rows[: limit if limit is not None else None]
        state = _positions(game, [[int(ch) - 1 for ch in moves] for moves, _ in rows])
        chosen = _play(player, game, state, chunk).tolist()
        mistakes = strict = critical = critical_mistakes = 0
        for (_, scores), c in zip(rows, chosen):
            best = max(s for s in scores if s is not None)
            is_critical = best >= 0 and any(s is not None and _sign(s) != _sign(best) for s in scores)
            critical += is_critical
            v = scores[c] if 0 <= c < len(scores) else None
            wrong = v is None or _sign(v) != _sign(best)  # an illegal move is a mistake
            mistakes += wrong
            critical_mistakes += wrong and is_critical
            strict += v is None or v != best
        n = len(rows)
        results[name] = {
            "positions": n,
            "mistakes": int(mistakes),
            "mistake_rate": mistakes / max(n, 1),
            "strict_mistakes": int(strict),
            "strict_mistake_rate": strict / max(n, 1),
            "critical": int(critical),
            "critical_mistakes": int(critical_mistakes),
        }
    return results


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


# ------------------------------------------------------------------------------------------------- tic-tac-toe
_LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))


def _winner(board: tuple[int, ...]) -> int:
    for a, b, c in _LINES:
        if board[a] and board[a] == board[b] == board[c]:
            return board[a]
    return 0


@functools.cache
def _minimax(board: tuple[int, ...], mover: int) -> int:
    """Value (+1 win, 0 draw, -1 loss) of a position for `mover` (1 or 2) to move."""
    w = _winner(board)
    if w:
        return 1 if w == mover else -1
    if all(board):
        return 0
    return max(_move_value(board, mover, a) for a in range(9) if not board[a])


def _move_value(board: tuple[int, ...], mover: int, a: int) -> int:
    child = board[:a] + (mover,) + board[a + 1 :]
    return -_minimax(child, 3 - mover)


def tictactoe_positions() -> list[tuple[list[int], tuple[int, ...], int]]:
    """Every reachable tic-tac-toe position that is not over: (moves from the start, board, mover 1 or 2)."""
    seen: dict[tuple[int, ...], list[int]] = {}
    out = []
    stack: list[tuple[tuple[int, ...], list[int]]] = [((0,) * 9, [])]
    while stack:
        board, moves = stack.pop()
        if board in seen:
            continue
        seen[board] = moves
        if _winner(board) or all(board):
            continue
        mover = 1 if len(moves) % 2 == 0 else 2
        out.append((moves, board, mover))
        for a in range(9):
            if not board[a]:
                stack.append((board[:a] + (mover,) + board[a + 1 :], [*moves, a]))
    out.sort(key=lambda t: (len(t[0]), t[0]))
    return out


def tictactoe_exhaustive(player: Any, *, chunk: int = 512) -> dict[str, int]:
    """Check a player's move in every reachable non-terminal tic-tac-toe position against minimax.

    Args:
        player: a player (`player(game, state) -> LongTensor[B]`).
        chunk: positions per call of the player (positions are grouped by move number).
    Returns:
        {"positions": int, "mistakes": int} (an illegal move is a mistake).
    """
    from envs import get_game

    game = get_game("tictactoe")
    positions = tictactoe_positions()
    mistakes = 0
    by_ply: dict[int, list] = {}
    for pos in positions:
        by_ply.setdefault(len(pos[0]), []).append(pos)
    for group in by_ply.values():
        state = _positions(game, [moves for moves, _, _ in group])
        chosen = _play(player, game, state, chunk).tolist()
        for (_, board, mover), a in zip(group, chosen):
            if not 0 <= a < 9 or board[a]:
                mistakes += 1
                continue
            best = _minimax(board, mover)
            mistakes += _move_value(board, mover, a) < best
    return {"positions": len(positions), "mistakes": int(mistakes)}


# --------------------------------------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    p = JobParser(
        prog="gamelab evaluate",
        description="Mistake rate of a player against perfect play: Connect Four test sets, or every tic-tac-toe "
        "position.",
    )
    p.add_argument("game", choices=["connect_four", "tictactoe"])
    p.add_argument("player", help="player spec, e.g. alphabeta:4, rollout:200, bundled:400, az:PATH:SIMS")
    p.add_argument(
        "--sets",
        nargs="+",
        default=None,
        help=f"connect four sets: the project's own ({', '.join(OWN_SETS)}; the default) or Pons' test sets "
        f"(e.g. {' '.join(PONS_SETS)}); with --positions, sets of that file (default: all)",
    )
    p.add_argument(
        "--positions",
        default=None,
        metavar="FILE",
        help="connect four: a file of solved positions in the project's format (python -m arena.connect4_positions "
        "--out FILE) instead of the shipped sets and Pons' folder",
    )
    p.add_argument("--limit", type=ranged(int, ge=1), default=None, help="first N positions of each set")
    p.add_argument(
        "--outcome",
        action="store_true",
        help="also print the share of positions where the player keeps the game-theoretic outcome, over all and "
        "over the critical ones (where some move changes it)",
    )
    p.add_argument("--bench-dir", default=None, help=f"benchmark folder (default ${_ENV} or ../shared/...)")
    p.add_argument(
        "--leaf-batch",
        type=ranged(int, ge=0),
        default=0,
        help="leaves per tree per network call of a searching player (0: automatic; gamelab agent uses 8)",
    )
    p.add_argument(
        "--c-puct",
        type=ranged(float, gt=0),
        default=SearchSettings.c_puct,
        help=f"exploration constant of a searching player's PUCT (default {SearchSettings.c_puct})",
    )
    p.add_argument(
        "--fpu-reduction",
        type=ranged(float, ge=0),
        default=SearchSettings.fpu_reduction,
        help="first-play urgency: an unvisited child's value is its parent's minus this "
        f"(default {SearchSettings.fpu_reduction})",
    )
    p.add_argument(
        "--tactics",
        type=ranged(int, ge=-1, le=2),
        default=SearchSettings.tactics,
        help="plies of a searching player's exact win check at each new node (0: none, 1: wins at once, 2: also "
        "moves that let the opponent win at once; -1, the default: the game's own, 2 for connect four)",
    )
    p.add_argument(
        "--batch",
        type=ranged(int, ge=1),
        default=None,
        help="positions searched together (default 250; tic-tac-toe 512)",
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=ranged(int, ge=0), default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    try:
        settings = SearchSettings(
            leaf_batch=args.leaf_batch, c_puct=args.c_puct, fpu_reduction=args.fpu_reduction, tactics=args.tactics
        )
        game = get_game(args.game)
        player = make_player(args.player, game, device=args.device, seed=args.seed, settings=settings)
        if isinstance(game, TicTacToe):
            res: dict = {"tictactoe": tictactoe_exhaustive(player, chunk=args.batch or 512)}
        else:
            if args.positions is not None:
                sets = tuple(args.sets or own_sets(args.positions))
            else:
                sets = tuple(args.sets or DEFAULT_SETS)
            res = connect4_benchmark(
                player,
                sets=sets,
                limit=args.limit,
                bench_dir=args.bench_dir,
                chunk=args.batch or 250,
                positions_file=args.positions,
            )
    except (ValueError, OSError, KeyError, ImportError) as err:
        return fail(err)
    if args.json:
        out = {"player": player.name, "results": res}
        if isinstance(game, ConnectFour):
            out["total"] = _total(res)
        print(json.dumps(out))
        return 0
    print(f"{args.game}: {player.name}")
    rows = list(res.items())
    if args.outcome and isinstance(game, ConnectFour) and len(res) > 1:
        rows.append(("all", _total(res)))
    for name, r in rows:
        line = f"  {name:<12} positions {r['positions']:5d}  mistakes {r['mistakes']:5d}"
        if "mistake_rate" in r:
            line += f"  rate {100 * r['mistake_rate']:5.1f}%  strict {100 * r['strict_mistake_rate']:5.1f}%"
        if args.outcome and "critical" in r:
            kept = 100 * (1 - r["mistake_rate"])
            crit = r["critical"]
            kept_crit = 100 * (1 - r["critical_mistakes"] / crit) if crit else 100.0
            line += f"  keeps outcome {kept:5.1f}%  on critical {kept_crit:5.1f}% of {crit}"
        print(line)
    return 0


def _total(res: dict[str, dict]) -> dict:
    """The Connect Four figures of all sets together (pooled over positions)."""
    out = {k: sum(r[k] for r in res.values()) for k in ("positions", "mistakes", "strict_mistakes", "critical")}
    out["critical_mistakes"] = sum(r["critical_mistakes"] for r in res.values())
    n = max(out["positions"], 1)
    out.update(mistake_rate=out["mistakes"] / n, strict_mistake_rate=out["strict_mistakes"] / n)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
