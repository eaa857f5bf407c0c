"""Threat probe: does a network see a four in every direction? Random positions with exactly one four, per direction.

    gamelab bench threats gomoku bundled --option size=9 [--positions 60] [--sims 200] [--json]
    python -m arena.threat_probe gomoku RUN_DIR agents/models/gomoku_9.pt --option size=9

A four is k - 1 stones of one side and one empty cell in a window of k cells (k = the game's `line_length`, 5 in
gomoku); the empty cell is the completing cell. For each direction (row, col, diag: down-right, anti: down-left) and
kind (`win`: the side to move has the four and wins by playing the completing cell; `block`: the opponent has it and
the side to move must play there), `--positions` random positions are drawn from `--seed`: the four, `--extra` more
stones of the four's side, and as many stones of the other side as legal stone counts need (black moves first;
half the positions have black to move, half white). A position is kept only if its four is the only one on the
board and no other window holds k - 2 or more stones of one side and none of the other (no other threat of three
or more in gomoku). Positions are built by playing their stones with the game's own `step`.

For each checkpoint (a file, a run directory: its latest checkpoint, or `bundled`: the model shipped for the game
and board) one table: per direction and kind, the network's mean prior on the completing cell, the share of
positions where it is the network's top move, the mean value-head output (for the side to move), and with `--sims N`
the share where PUCT search (agents.search_player.network_player, N simulations, no noise) plays the completing cell.

Games: those whose moves fill empty cells and whose win is a line of k >= 4 in a row (`line_length`, `fills_cells`):
of the registered games, gomoku. Tic-tac-toe (k = 3) has no room for a four without other threats; Connect Four's
stones fall, so its random boards would need gravity.

Dimension letters: B positions, A actions (cells).
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from agents.leaf_evaluators import network_evaluator
from agents.mcts import SearchSettings
from agents.network import check_same_game, load_policy_value_net
from agents.players import checkpoint_file, find_bundled_model
from agents.search_player import network_player
from core.device import set_cpu_threads
from core.job import JobParser, fail, ranged
from envs import get_game, parse_options
from envs import state as state_ops
from envs.base import Game, board_lines

__all__ = [
    "DIRECTIONS",
    "KINDS",
    "ThreatPosition",
    "check_threat_game",
    "threat_positions",
    "build_states",
    "probe_net",
    "resolve_checkpoint",
    "main",
]

DIRECTIONS = ("row", "col", "diag", "anti")  # (dr, dc) = (0, 1), (1, 0), (1, 1), (1, -1)
KINDS = ("win", "block")
MAX_TRIES = 20000  # random draws per position before the board is declared too small for the request


@dataclass(frozen=True)
class ThreatPosition:
    """One probe position: board cells (0 empty, 1 black, 2 white; row-major), the player to move (0 black, 1 white),
    the completing cell of its one four, the four's direction and the kind (`win`: the mover's four)."""

    board: tuple[int, ...]
    mover: int
    cell: int
    direction: str
    kind: str


def check_threat_game(game: Game) -> int:
    """k of a game the probe can use (moves fill empty cells, k >= 4 in a row wins).

    Raises:
        ValueError: another kind of game (the message names it).
    """
    k = getattr(game, "line_length", None)
    if not k or not getattr(game, "fills_cells", False) or k < 4:
        raise ValueError(
            f"the threat probe needs a game won by k >= 4 in a row whose moves fill empty cells (gomoku), "
            f"not {game.name!r}"
        )
    return int(k)


def _direction(window: list[int], width: int) -> str:
    (r0, c0), (r1, c1) = divmod(window[0], width), divmod(window[1], width)
    return DIRECTIONS[[(0, 1), (1, 0), (1, 1), (1, -1)].index((r1 - r0, c1 - c0))]


def _draw(rng: random.Random, windows: list[list[int]], own: list[list[int]], cells: int, k: int, mover: int,
          direction: str, kind: str, extra: int) -> ThreatPosition | None:  # fmt: skip
    """One random candidate (see the module docstring), or None if it has another four or threat."""
    w = rng.choice(own)
    gap = rng.randrange(k)
    a = 1 + (mover if kind == "win" else 1 - mover)  # the colour with the four
    n_own = k - 1 + extra  # stones of the four's side
    n_b = n_own - mover if a == 1 else n_own + mover  # the other side's: black has one stone more when white is to move
    board = [0] * cells
    four = [c for i, c in enumerate(w) if i != gap]
    for c in four:
        board[c] = a
    free = [c for c in range(cells) if board[c] == 0 and c != w[gap]]
    if len(free) < extra + n_b:
        return None
    rng.shuffle(free)
    for c in free[:extra]:
        board[c] = a
    for c in free[extra : extra + n_b]:
        board[c] = 3 - a
    fours = 0
    for ww in windows:
        stones = [board[c] for c in ww]
        n_a, n_o = stones.count(a), stones.count(3 - a)
        if n_a == k or n_o == k or (n_a == 0 and n_o >= k - 2):
            return None  # a finished line, or a threat of the side without the four
        if n_o == 0 and n_a == k - 1:
            fours += 1
        elif n_o == 0 and n_a >= k - 2 and not {c for c in ww if board[c] == a} <= set(four):
            return None  # a three of the four's side that is not part of the four
    if fours != 1:
        return None
    return ThreatPosition(tuple(board), mover, w[gap], direction, kind)


def threat_positions(game: Game, n: int, *, seed: int = 0, extra: int = 3) -> dict[tuple[str, str], list]:
    """`n` positions per (direction, kind), reproducible from `seed` (each set from its own generator).

    Returns:
        {(direction, kind): [ThreatPosition] * n} in the order DIRECTIONS x KINDS.
    Raises:
        ValueError: not a game for the probe, or a board too small to hold the request (names direction and kind).
    """
    k = check_threat_game(game)
    height, width = game.board_shape
    windows = board_lines(height, width, k).tolist()
    out: dict[tuple[str, str], list] = {}
    for direction in DIRECTIONS:
        own = [w for w in windows if _direction(w, width) == direction]
        for kind in KINDS:
            rng = random.Random(f"{seed}:{direction}:{kind}")
            items = []
            for i in range(n):
                for _ in range(MAX_TRIES if own else 0):
                    pos = _draw(rng, windows, own, height * width, k, i % 2, direction, kind, extra)
                    if pos is not None:
                        items.append(pos)
                        break
                else:
                    raise ValueError(
                        f"{game!r}: no {direction} {kind} position with one four and no other threat in "
                        f"{MAX_TRIES} tries (a larger board or fewer --extra stones)"
                    )
            out[(direction, kind)] = items
    return out


def build_states(game: Game, positions: list[ThreatPosition]) -> Any:
    """The positions as one batched state [B], each reached by playing its stones with `game.step` (black first,
    alternating; legal by construction: `step` checks every move)."""
    states = []
    for pos in positions:
        black = [c for c, v in enumerate(pos.board) if v == 1]
        white = [c for c, v in enumerate(pos.board) if v == 2]
        state = game.init(1)
        for i in range(len(black) + len(white)):
            cell = black[i // 2] if i % 2 == 0 else white[i // 2]
            state = game.step(state, torch.tensor([cell]))
        states.append(state)
    return state_ops.cat(states)


def resolve_checkpoint(spec: str, game: Game) -> Path:
    """The checkpoint file of `spec` (a file, a run directory, or `bundled`) for `game`.

    Raises:
        ValueError: no such file or folder, no checkpoint in it, or none bundled (the message names it).
    """
    if spec == "bundled":
        return find_bundled_model(game)
    return checkpoint_file(Path(spec))


def probe_net(net: torch.nn.Module, game: Game, sets: dict[tuple[str, str], list], *, sims: int = 0) -> list[dict]:
    """The probe's figures for one network, one dict per (direction, kind): prior, top1, value (and search)."""
    evaluate = network_evaluator(net, "cpu")
    player = network_player(net, SearchSettings(num_simulations=sims)) if sims else None
    rows = []
    for (direction, kind), items in sets.items():
        state = build_states(game, items)
        cells = torch.tensor([p.cell for p in items])  # [B]
        logits, value = evaluate(game.planes(state), game.legal_mask(state), state)  # [B, A], [B]
        prior = torch.softmax(logits, -1).gather(1, cells[:, None])[:, 0]  # [B]
        row = {"direction": direction, "kind": kind, "positions": len(items), "prior": prior.mean().item(),
               "top1": (logits.argmax(-1) == cells).float().mean().item(), "value": value.mean().item()}  # fmt: skip
        if player is not None:
            row["search"] = (player(game, state).cpu() == cells).float().mean().item()
        rows.append(row)
    return rows


def _table(label: str, rows: list[dict], sims: int) -> str:
    head = f"{'direction':9}  {'kind':5}  {'prior':>5}  {'top1':>5}  {'value':>6}" + (
        f"  {'search@' + str(sims):>10}" if sims else ""
    )
    lines = [label, head]
    for r in rows:
        line = f"{r['direction']:9}  {r['kind']:5}  {r['prior']:5.2f}  {r['top1']:5.2f}  {r['value']:+6.2f}"
        lines.append(line + (f"  {r['search']:10.2f}" if sims else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run `gamelab bench threats`. Returns the exit code."""
    p = JobParser(prog="gamelab bench threats", description=__doc__.splitlines()[0])
    p.add_argument("game", help="registered game name (gomoku)")
    p.add_argument("checkpoints", nargs="+", help="checkpoint files, run directories (latest checkpoint), bundled")
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="game option, e.g. size=9 (repeatable)")
    p.add_argument("--positions", type=ranged(int, ge=1), default=60, help="positions per direction and kind")
    p.add_argument("--extra", type=ranged(int, ge=0), default=3, help="stones of the four's side beyond the four")
    p.add_argument("--seed", type=ranged(int, ge=0), default=0)
    p.add_argument("--sims", type=ranged(int, ge=0), default=0, help="also PUCT search with N simulations (0: no)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        game = get_game(args.game, **parse_options(args.option))
        check_threat_game(game)
        nets = []
        for spec in args.checkpoints:
            path = resolve_checkpoint(spec, game)
            net, net_game = load_policy_value_net(path)
            check_same_game(path, net_game, game)
            nets.append((spec, path, net))
        sets = threat_positions(game, args.positions, seed=args.seed, extra=args.extra)
    except (KeyError, ValueError, OSError) as err:
        return fail(err)
    set_cpu_threads(1)
    results = [{"checkpoint": spec, "path": str(path), "rows": probe_net(net, game, sets, sims=args.sims)}
               for spec, path, net in nets]  # fmt: skip
    out = {"game": game.name, "options": dict(game.options), "positions": args.positions, "extra": args.extra,
           "seed": args.seed, "sims": args.sims, "checkpoints": results}  # fmt: skip
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    options = " ".join(f"{k}={v}" for k, v in game.options.items())
    for r in results:
        label = (
            f"{r['path']} ({game.name} {options}; {args.positions} positions per direction and kind, seed {args.seed})"
        )
        print(_table(label, r["rows"], args.sims))
    return 0


if __name__ == "__main__":
    sys.exit(main())
