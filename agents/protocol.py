"""A line protocol for outside tools: one position per line on stdin, the agent's move per line on stdout.

    gamelab agent GAME [--option KEY=VALUE ...] [--checkpoint PATH|RUN] [--sims N] [--device auto|cpu|cuda]

A position is the list of moves from the start: for a game with one-character move texts (the `compact_moves` trait:
connect_four) one string of them, as in the Connect Four test sets ("4453" = columns 4, 4, 5, 3); for other games
space-separated action ids ("4 0 8"). An empty
line is the start position. The answer is the chosen move in the same notation, flushed at once. A malformed line,
an illegal move or a finished game gets a line starting with "error: " and the process reads on; it ends at EOF.

Lines that are already waiting are searched together: the agent takes every complete line on stdin (up to
--max-batch, read in chunks of at most 64 KB), searches all their positions in one batched search with the same
simulations each, and answers them in order, flushing each answer. A line sent alone, after the previous answer,
is searched alone as before. Many queued lines are never refused: the rest waits in the pipe. A line longer than
MAX_LINE_BYTES is answered with an error and skipped piece by piece, never held whole; so is a move list longer
than the game's `max_moves`.

Without --checkpoint the bundled model of the game and board is used (agents/models/GAME_SIZE.pt for games with
a board size, e.g. othello_6.pt with `--option size=6`, else agents/models/GAME.pt); a run directory given to
--checkpoint plays its latest checkpoint. The model must have been trained on the game and board asked for: another
one is refused, naming both. When there is none, the command exits at once with status 2 and an error naming the
missing file and the board sizes that are bundled: it never falls back silently to a weaker player (for a search
baseline, use `gamelab match` with a player spec such as rollout:1000).

Dimension letters: A actions.
"""

from __future__ import annotations

import io
import os
import select
import sys
from collections import deque
from pathlib import Path
from typing import BinaryIO

import torch

import envs
from agents import players
from agents.mcts import PLAY_SIMULATIONS, SearchSettings
from agents.network import check_same_game, checkpoint_path, load_policy_value_net
from agents.player import Player
from agents.search_player import network_player, policy_player
from core.checkpoint import CheckpointError
from core.device import pick_device, set_cpu_threads
from core.job import DEFAULT_THREADS, JobParser, fail, ranged
from envs import IllegalActionError, traits
from envs import state as state_ops

__all__ = ["MAX_LINE_BYTES", "LEAF_BATCH", "LineBatches", "parse_moves", "format_move", "main"]

MAX_LINE_BYTES = 64 * 1024
LEAF_BATCH = 8  # leaves per tree per network call, the same for one position and for a batch of them
_CHUNK = 64 * 1024


class LineBatches:
    """The lines of a byte stream, in batches of what is already waiting (read in chunks of at most 64 KB).

    `next_batch(n)` blocks until one complete line (or EOF) is there, then adds the complete lines that are already
    readable without waiting, up to n. A line over `limit` bytes or not UTF-8 comes as None (its bytes are dropped as
    they arrive, so memory stays within `limit` plus one chunk). Streams without a file descriptor (in-process tests)
    count everything as waiting.
    """

    def __init__(self, stream: BinaryIO, limit: int = MAX_LINE_BYTES):
        self.stream, self.limit = stream, limit
        try:
            self.fd: int | None = stream.fileno()
        except (AttributeError, OSError, io.UnsupportedOperation):
            self.fd = None
        self.lines: deque[str | None] = deque()
        self.partial = b""
        self.skipping = False  # inside a line over the limit: drop bytes up to its newline
        self.eof = False

    def _read(self) -> None:
        """One read of at most a chunk (blocks if nothing is there); split it into complete lines."""
        data = os.read(self.fd, _CHUNK) if self.fd is not None else self.stream.read(_CHUNK)
        if not data:
            self.eof = True
            if self.partial or self.skipping:
                self._line(None if self.skipping else self.partial)
            self.partial, self.skipping = b"", False
            return
        *complete, rest = (self.partial + data).split(b"\n")
        for raw in complete:
            self._line(None if self.skipping else raw)
            self.skipping = False
        if self.skipping or len(rest) > self.limit:
            self.skipping, rest = True, b""
        self.partial = rest

    def _line(self, raw: bytes | None) -> None:
        if raw is None or len(raw) > self.limit:
            self.lines.append(None)
            return
        try:
            self.lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            self.lines.append(None)

    def _waiting(self) -> bool:
        if self.fd is None:
            return True
        return bool(select.select([self.fd], [], [], 0)[0])

    def next_batch(self, max_lines: int) -> list[str | None]:
        """Up to max_lines lines ([] at EOF): at least one, plus those already waiting."""
        while not self.lines and not self.eof:
            self._read()
        while len(self.lines) < max_lines and not self.eof and self._waiting():
            self._read()
        return [self.lines.popleft() for _ in range(min(max_lines, len(self.lines)))]


def parse_moves(game, line: str) -> list[int]:
    """Action ids of a move-list line.

    Raises:
        ValueError: the line is not a move list in the game's notation (range checks are left to the game).
    """
    text = line.strip()
    if traits.compact_moves(game):
        if text and not (text.isascii() and text.isdigit()):
            raise ValueError(f"expected a string of column digits 1-{game.num_actions}, got {text!r}")
        return [traits.text_to_move(game, None, 0, ch) for ch in text]
    tokens = text.split()
    bad = [t for t in tokens if not (t.isascii() and t.isdigit())]
    if bad:
        raise ValueError(f"expected space-separated action ids, got {bad[0]!r}")
    return [int(t) for t in tokens]


def format_move(game, action: int) -> str:
    """An action id in the protocol's notation (the game's move text where it has `compact_moves`: connect four's
    1-based column; else the action id)."""
    return traits.move_to_text(game, None, 0, action) if traits.compact_moves(game) else str(action)


def _position(game, moves: list[int], device: torch.device):
    """The state after `moves` from the start, batch 1; raises ValueError for an illegal move or a finished game."""
    state = game.init(1, device=device)
    for n, a in enumerate(moves):
        if bool(game.outcome(state)[0][0]):
            raise ValueError(f"the game is over after {n} moves")
        if not 0 <= a < game.num_actions:
            raise ValueError(f"move {n + 1} ({format_move(game, a)}) is out of range")
        try:
            state = game.step(state, torch.tensor([a], device=device), check=True)
        except IllegalActionError:
            raise ValueError(f"move {n + 1} ({format_move(game, a)}) is illegal") from None
    if bool(game.outcome(state)[0][0]):
        raise ValueError("the game is over")
    return state


def _player(net, device: torch.device, sims: int) -> Player:
    """The agent: the network searching with the default search settings and `sims` simulations (0: raw policy)."""
    if sims <= 0:
        return policy_player(net, device=device)
    return network_player(net, SearchSettings(num_simulations=sims, leaf_batch=LEAF_BATCH), device=device)


def _answers(game, player: Player, lines: list[str | None], device: torch.device) -> list[str]:
    """The answers to a batch of lines, in order: the valid positions searched together in one batched search."""
    answers: list[str] = []
    states, slots = [], []
    for line in lines:
        try:
            if line is None:
                raise ValueError(f"line over {MAX_LINE_BYTES} bytes or not UTF-8 text; skipped")
            moves = parse_moves(game, line)
            if len(moves) > game.max_moves:  # refused before any move is played
                raise ValueError(f"{len(moves)} moves, but a game of {game.name} ends within {game.max_moves}")
            states.append(_position(game, moves, device))
            slots.append(len(answers))
            answers.append("")
        except ValueError as err:
            answers.append(f"error: {err}")
    if states:
        actions = player(game, state_ops.cat(states)).tolist()
        for i, a in zip(slots, actions):
            answers[i] = format_move(game, int(a))
    return answers


def main(argv: list[str] | None = None) -> int:
    """Run `gamelab agent`. Returns the exit code."""
    parser = JobParser(prog="gamelab agent", description=__doc__.split("\n\n")[0])
    parser.add_argument("game", help="registered game name, e.g. connect_four, tictactoe")
    parser.add_argument(
        "--checkpoint", default=None, help="alphazero checkpoint or training run directory (its latest checkpoint; "
        "default: the bundled model of the game and board)",
    )  # fmt: skip
    parser.add_argument("--option", action="append", metavar="KEY=VALUE", help="game option, e.g. size=6 (repeatable)")
    parser.add_argument(
        "--sims",
        type=ranged(int, ge=0),
        default=PLAY_SIMULATIONS,
        help=f"search simulations per move (default {PLAY_SIMULATIONS}; 0: the network's raw policy)",
    )
    parser.add_argument("--device", default="cpu", help="auto, cpu, cuda, cuda:N, mps")
    parser.add_argument("--threads", type=ranged(int, ge=1), default=DEFAULT_THREADS, help="torch CPU threads")
    parser.add_argument("--max-batch", type=ranged(int, ge=1), default=512, help="most waiting lines searched together")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    set_cpu_threads(args.threads)
    try:
        device = pick_device(args.device)
        game = envs.get_game(args.game, **envs.parse_options(args.option))
        if args.checkpoint is None:
            try:
                path = players.find_bundled_model(game)
            except players.MissingModelError as err:
                return fail(f"{err}; or give a model with --checkpoint PATH")
        else:
            path = Path(args.checkpoint)
        path = checkpoint_path(path)
        net, net_game = load_policy_value_net(path, device=device)
        check_same_game(path, net_game, game)  # a 6x6 model never plays 8x8 silently
        game = net_game  # the same rules (at most options of the input planes differ): its own planes
    except (CheckpointError, ValueError, KeyError) as err:
        return fail(err)
    player = _player(net, device, args.sims)
    stdin = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else io.BytesIO(sys.stdin.read().encode())
    batches = LineBatches(stdin)
    while lines := batches.next_batch(args.max_batch):
        for answer in _answers(game, player, lines, device):
            sys.stdout.write(answer + "\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
