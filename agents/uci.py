"""A UCI chess engine: `gamelab uci chess [--checkpoint PATH]`, for chess GUIs, python-chess and engine matches.

    gamelab uci chess                                  # the bundled model, else a material-and-mobility search
    gamelab uci chess --checkpoint runs/x/checkpoints/iter_000100.pt
    gamelab uci chess --checkpoint runs/x                        # a run directory: its latest checkpoint
    gamelab uci gardner_chess                          # Gardner 5x5 minichess, as Fairy-Stockfish's `gardner`

For gardner_chess the engine takes 5x5 FENs and moves on a1..e5 (`position startpos` is the Gardner start) and
offers `option name UCI_Variant type combo default gardner var gardner`, so a variant-aware GUI or match tool
(the `uci:` player, Fairy-Stockfish's tools) can set the variant as it does for Fairy-Stockfish.

Commands (one per line on stdin; every answer is flushed at once; stdout carries only protocol lines):
    uci                 id name / id author, the options, uciok
    isready             readyok (also while searching)
    setoption name N value V    Simulations (search simulations with a network, default 200), ThinkTime (ms per
                        move when `go` gives no limit, default 1000), Threads (torch CPU threads, default 1),
                        Hash (MB for the search: caps a network's search tree at the nodes that fit, sets how many
                        positions alpha-beta evaluates at once; default 64), MultiPV (root moves reported, default
                        1), UCI_ShowWDL (check: `wdl W D L` in info lines, default false)
    ucinewgame          forget the position
    position startpos|fen FEN [moves M1 M2 ...]
    go [movetime MS] [nodes N] [depth D] [wtime MS btime MS winc MS binc MS movestogo K] [infinite]
                        search in the background; `info` lines (depth, multipv, score cp or mate, wdl, nodes, nps,
                        time, pv) as it goes, one per reported root move (the best first), then `bestmove M`
                        (`bestmove (none)` without a legal move). With `infinite` the bestmove waits for `stop`.
    go perft N          Stockfish's extension: one `e2e4: 20` line per legal root move, a blank line,
                        `Nodes searched: N` and a blank line, counted by our own move generator
    stop                end the search now (bestmove follows)
    quit                end the search and exit
A line the engine cannot read (an unknown command, a bad FEN or move, a bad number, a line over 64 KB) gets
`info string error: ...` and the engine reads on.

The search: with a network (the checkpoint, else the bundled agents/models/chess.pt where it exists) PUCT search
with `Simulations` simulations (nodes = simulations; the score is the value in centipawns, 90 * tan(1.5637 * v) as
Leela Chess Zero maps it). Without one, iterative-deepening alpha-beta over the batched rules with the material and
mobility evaluation of agents.chess_eval (nodes = positions stepped); the engine says so once in an `info string`.
The value v of a move is also given as win/draw/loss per mille (`wdl`): draw share (1 - |v|) / 2, win - loss = v.
Draws that are only claimed (threefold, fifty moves) do not end a position that a GUI plays on: they are waived at
the root (envs.chess.Chess.unclaimed) and count as draws inside the search.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import torch

import envs
from agents.alphabeta import WIN, AlphaBetaPlayer
from agents.chess_eval import value_to_cp
from agents.external_engine import MAX_LINE_BYTES, read_bounded_line
from agents.mcts import search
from agents.network import checkpoint_path
from agents.players import MissingModelError, find_bundled_model, make_player
from agents.search_player import next_chunk
from core.checkpoint import CheckpointError
from core.job import JobParser
from envs import get_game, traits
from envs.chess import Chess, ChessState

__all__ = [
    "Engine",
    "GoLimits",
    "parse_go",
    "protocol_games",
    "uci_games",
    "serve",
    "engine_main",
    "wdl_permille",
    "MAX_LINE",
    "main",
]

MAX_LINE = MAX_LINE_BYTES  # 64 KB
DEFAULT_OPTIONS = {"Simulations": 200, "ThinkTime": 1000, "Threads": 1, "Hash": 64, "MultiPV": 1}
OPTION_RANGES = {"Simulations": (1, 1_000_000), "ThinkTime": (1, 3_600_000), "Threads": (1, 256),
                 "Hash": (1, 65536), "MultiPV": (1, 500)}  # fmt: skip
CHECK_OPTIONS = {"UCI_ShowWDL": False}
MAX_DEPTH = 64


def protocol_games(protocol: str) -> dict[str, str | None]:
    """The games with a `protocol` face ("uci", "usi": the `engine_protocols` trait) -> their UCI_Variant (None: the
    protocol's own game)."""
    games = envs.find_games(lambda cls: protocol in traits.engine_protocols(cls))
    return {name: traits.variant(cls) or None for name, cls in games.items()}


def uci_games() -> dict[str, str | None]:
    """The games with a UCI face -> their UCI_Variant (None: plain chess)."""
    return protocol_games("uci")


@dataclass
class GoLimits:
    """The limits of one `go` command (None: not given)."""

    movetime: int | None = None
    nodes: int | None = None
    depth: int | None = None
    wtime: int | None = None
    btime: int | None = None
    winc: int = 0
    binc: int = 0
    movestogo: int | None = None
    infinite: bool = False
    perft: int | None = None


def parse_go(tokens: list[str]) -> GoLimits:
    """The limits of `go` tokens (after the word go).

    Raises:
        ValueError: an unknown word or a missing or bad number (the message names it).
    """
    limits = GoLimits()
    numbers = {"movetime", "nodes", "depth", "wtime", "btime", "winc", "binc", "movestogo", "perft"}
    i = 0
    while i < len(tokens):
        word = tokens[i]
        if word == "infinite":
            limits.infinite = True
            i += 1
        elif word in numbers:
            if i + 1 >= len(tokens) or not tokens[i + 1].lstrip("-").isdigit():
                raise ValueError(f"go {word} needs a number")
            setattr(limits, word, int(tokens[i + 1]))
            i += 2
        elif word in ("ponder", "mate", "searchmoves"):
            raise ValueError(f"go {word} is not supported")
        else:
            raise ValueError(f"unknown go parameter {word!r}")
    return limits


class _Counting:
    """A game that counts the positions stepped (the nodes of a search); otherwise the game itself."""

    def __init__(self, game: Any) -> None:
        self._game = game
        self.nodes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._game, name)

    def step(self, state: Any, action: Any, *, check: bool = True) -> Any:
        self.nodes += int(state.player.shape[0])
        return self._game.step(state, action, check=check)


class Engine:
    """The UCI engine's state and commands; `handle(line)` answers one line through `out`.

    Args:
        out: where protocol lines go (stdout).
        checkpoint: an AlphaZero checkpoint of the game, or None (bundled model, else alpha-beta).
        device: where a network runs.
        game: "chess" or "gardner_chess".
    """

    protocol = "uci"  # the engine_protocols trait of the games this engine plays
    max_moves = 1_000_000  # the game's length cap: no cap for a GUI's game
    position_word = "fen"  # `position startpos|fen FEN [moves ...]`
    lists_check_options = True  # `uci` lists the check options (UCI_ShowWDL) beside the spin ones
    moves_checked = False  # the game's move reader (uci_to_action) leaves legality to the engine

    def __init__(self, out: TextIO, checkpoint: Path | None = None, device: str = "cpu", game: str = "chess") -> None:
        self.out = out
        self.device = device
        self.options = dict(DEFAULT_OPTIONS)
        self.game_name = game
        self.variant = protocol_games(self.protocol)[game]
        self.path = checkpoint
        if checkpoint is None:
            try:
                self.path = find_bundled_model(get_game(game))
            except MissingModelError:
                self.path = None  # no model of the game is bundled: alpha-beta
        self.game: Chess = get_game(game, max_moves=self.max_moves) if self.path is None else self._net_game()
        self.state = self.game.init(1)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._said_material = False
        self._player: Any = None
        self.checks = dict(CHECK_OPTIONS)

    def _net_game(self) -> Chess:
        from agents.network import load_policy_value_net

        net, game = load_policy_value_net(self.path, device=self.device)
        if game.name != self.game_name:
            raise ValueError(f"{self.path} holds a {game.name} model, not {self.game_name}")
        return game

    # ---------------------------------------------------------------------------------------------- output
    def emit(self, line: str) -> None:
        with self._lock:
            self.out.write(line + "\n")
            self.out.flush()

    def error(self, message: str) -> None:
        self.emit(f"info string error: {message}")

    # -------------------------------------------------------------------------------------------- commands
    def handle(self, line: str) -> bool:
        """Answer one input line; False after `quit`."""
        tokens = line.split()
        if not tokens:
            return True
        cmd, rest = tokens[0], tokens[1:]
        try:
            if cmd == self.protocol:
                self._hello()
            elif cmd == "isready":
                self.emit("readyok")
            elif cmd == "setoption":
                self._setoption(rest)
            elif cmd == f"{self.protocol}newgame":
                self._finish_search()
                self.state = self.game.init(1)
            elif cmd == "position":
                self._finish_search()
                self.state = self._position(rest)
            elif cmd == "go":
                self._finish_search()
                self._go(self._parse_go(rest))
            elif cmd == "stop":
                self._finish_search()
            elif cmd == "quit":
                self._finish_search()
                return False
            else:
                self.error(f"unknown command {cmd!r}")
        except ValueError as e:
            self.error(str(e))
        return True

    def _hello(self) -> None:
        """`uci` (USI: `usi`): the engine's name and options, then `uciok` (`usiok`)."""
        self.emit("id name gamelab")
        self.emit("id author gamelab")
        for name, default in DEFAULT_OPTIONS.items():
            lo, hi = OPTION_RANGES[name]
            self.emit(f"option name {name} type spin default {default} min {lo} max {hi}")
        for name, default in CHECK_OPTIONS.items() if self.lists_check_options else ():
            self.emit(f"option name {name} type check default {str(default).lower()}")
        if self.variant is not None:
            self.emit(f"option name UCI_Variant type combo default {self.variant} var {self.variant}")
        self.emit(f"{self.protocol}ok")

    def _parse_go(self, tokens: list[str]) -> GoLimits:
        """The limits of a `go` command's tokens (USI reads its own clock words here)."""
        return parse_go(tokens)

    def _setoption(self, tokens: list[str]) -> None:
        text = " ".join(tokens)
        if not text.startswith("name ") or " value " not in text:
            raise ValueError(f"expected setoption name NAME value VALUE, got {text!r}")
        name, value = text[5:].split(" value ", 1)
        name = name.strip()
        if name == "UCI_Variant" and self.variant is not None:
            if value.strip() != self.variant:
                raise ValueError(f"UCI_Variant must be {self.variant} (this engine plays {self.game_name})")
            return
        if name in CHECK_OPTIONS:
            if value.strip().lower() not in ("true", "false"):
                raise ValueError(f"option {name} must be true or false, got {value.strip()!r}")
            self.checks[name] = value.strip().lower() == "true"
            return
        if name not in DEFAULT_OPTIONS:
            raise ValueError(f"unknown option {name!r}; options: {', '.join([*DEFAULT_OPTIONS, *CHECK_OPTIONS])}")
        lo, hi = OPTION_RANGES[name]
        if not value.strip().isdigit() or not lo <= int(value) <= hi:
            raise ValueError(f"option {name} must be an integer from {lo} to {hi}, got {value.strip()!r}")
        self.options[name] = int(value)
        if name == "Threads":
            torch.set_num_threads(int(value))

    def _position(self, tokens: list[str]) -> ChessState:
        word = self.position_word
        if not tokens or tokens[0] not in ("startpos", word):
            raise ValueError(f"expected position startpos|{word} {word.upper()} [moves ...]")
        moves_at = tokens.index("moves") if "moves" in tokens else len(tokens)
        if tokens[0] == "startpos":
            if moves_at != 1:
                raise ValueError(f"unexpected {tokens[1]!r} after startpos")
            state = self.game.init(1)
        else:
            state = self.game.from_fen(" ".join(tokens[1:moves_at]))
        for n, move in enumerate(tokens[moves_at + 1 :]):
            state = self.game.unclaimed(state)
            if bool(state.done[0]):
                raise ValueError(f"move {n + 1} ({move}): the game is already over")
            action = self.game.uci_to_action(state, 0, move)
            if not self.moves_checked and not bool(self.game.legal_mask(state)[0, action]):
                raise ValueError(f"move {n + 1} ({move}) is illegal")
            state = self.game.step(state, torch.tensor([action]), check=False)
        return state

    # ---------------------------------------------------------------------------------------------- search
    def _go(self, limits: GoLimits) -> None:
        if limits.perft is not None:
            self._perft(limits.perft)
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._search, args=(self.game.unclaimed(self.state), limits))
        self._thread.start()

    def _finish_search(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def _perft(self, depth: int) -> None:
        if depth < 1:
            raise ValueError(f"perft depth must be positive, got {depth}")
        divide = self.game.perft(self.state, depth)[0]
        lines = sorted(f"{self.game.move_to_uci(self.state, 0, a)}: {n}" for a, n in divide.items())
        self.emit("\n".join([*lines, "", f"Nodes searched: {sum(divide.values())}", ""]))

    def _budget_ms(self, limits: GoLimits) -> float | None:
        """Milliseconds to think, None for no time limit (infinite, or only nodes or depth given)."""
        if limits.infinite:
            return None
        if limits.movetime is not None:
            return max(1.0, limits.movetime - 20)
        white = int(self.state.player[0]) == 0
        clock = limits.wtime if white else limits.btime
        if clock is not None:
            inc = limits.winc if white else limits.binc
            share = clock / (limits.movestogo or 30) + 0.8 * inc
            return max(5.0, min(share, 0.5 * clock) - 30)
        if limits.nodes is not None or limits.depth is not None:
            return None
        return float(self.options["ThinkTime"])

    def _search(self, root: ChessState, limits: GoLimits) -> None:
        start = time.perf_counter()
        budget = self._budget_ms(limits)
        legal = self.game.legal_mask(root)[0]
        if not bool(legal.any()):
            self._wait_if_infinite(limits)
            self.emit("bestmove (none)")
            return
        counter = _Counting(self.game)

        def should_stop() -> bool:
            if self._stop.is_set():
                return True
            if budget is not None and (time.perf_counter() - start) * 1000 >= budget:
                return True
            return limits.nodes is not None and counter.nodes >= limits.nodes

        if self.path is None:
            if not self._said_material:
                self.emit("info string no network: alpha-beta search with a material and mobility evaluation")
                self._said_material = True
            player = AlphaBetaPlayer(min(limits.depth or MAX_DEPTH, MAX_DEPTH), batch_leaves=self.leaf_budget())
            depth = [0]

            def report(fraction: float) -> None:
                depth[0] += 1
                self._info_alphabeta(root, player, depth[0], counter.nodes, start)

            action = player.think(counter, root, should_stop, report)
        else:
            sims = min(limits.nodes or self.options["Simulations"], self.node_budget())
            player = self._network_player()
            tree, done, result, k = None, 0, None, 1
            with torch.no_grad():
                while done < sims:  # in steps sized to the clock (next_chunk), with an info line after each
                    k = min(k, sims - done)
                    began = time.perf_counter()
                    result = search(
                        self.game, root, player.evaluate, player.search_settings, num_simulations=k, tree=tree
                    )
                    tree, done = result.tree, done + k
                    self._info_network(root, result, done, start)
                    if self._stop.is_set() or should_stop():
                        break
                    k = next_chunk(k, time.perf_counter() - began, 16)
            action = result.action
        move = self.game.move_to_uci(root, 0, int(action[0]))
        self._wait_if_infinite(limits)
        self.emit(f"bestmove {move}")

    def _network_player(self) -> Any:
        """The checkpoint's network as a search player, loaded once (each `go` sets its own simulations)."""
        if self._player is None:
            self._player = make_player(f"az:{self.path}:{self.options['Simulations']}", self.game, device=self.device)
        return self._player

    def _state_bytes(self) -> int:
        state = self.game.init(1)
        return sum(int(v.nbytes) for v in vars(state).values() if isinstance(v, torch.Tensor)) or 64

    def node_budget(self) -> int:
        """The network search's tree nodes that fit in `Hash` MB (priors, legal moves, children and the state)."""
        per_node = 9 * int(self.game.num_actions) + 24 + self._state_bytes()
        return max(2, self.options["Hash"] * 2**20 // per_node)

    def leaf_budget(self) -> int:
        """Positions alpha-beta steps and evaluates at once within `Hash` MB (a few copies of each state)."""
        return max(64, self.options["Hash"] * 2**20 // (8 * self._state_bytes()))

    def _wait_if_infinite(self, limits: GoLimits) -> None:
        if limits.infinite:
            self._stop.wait()

    def _info_alphabeta(self, root: ChessState, player: AlphaBetaPlayer, depth: int, nodes: int, start: float) -> None:
        scores = player.info["scores"][0]
        finite = torch.isfinite(scores)
        order = torch.where(finite, scores, -math.inf).argsort(descending=True)[: self.options["MultiPV"]]
        for k, a in enumerate(order.tolist(), 1):
            if k > 1 and not bool(finite[a]):
                break
            v = float(scores[a])
            if abs(v) >= 1.0:  # a forced result: WIN - plies to it
                plies = max(1, round(WIN - abs(v)))
                score = f"mate {(plies + 1) // 2 * (1 if v > 0 else -1)}"
            else:
                score = f"cp {value_to_cp(v)}"
            self._info(depth, k, score, max(-1.0, min(1.0, v)), nodes, start, self.game.move_to_uci(root, 0, a))

    def _info_network(self, root: ChessState, result: Any, nodes: int, start: float) -> None:
        visits, q = result.visits[0], result.q[0]
        order = visits.argsort(descending=True, stable=True)[: self.options["MultiPV"]]
        for k, a in enumerate(order.tolist(), 1):
            if k > 1 and float(visits[a]) <= 0:
                break
            v = float(result.value[0]) if k == 1 else float(q[a])
            v = max(-0.9999, min(0.9999, v))
            score = f"cp {round(90 * math.tan(1.5637541897 * v))}"
            self._info(1, k, score, v, nodes, start, self.game.move_to_uci(root, 0, a))

    def _info(self, depth: int, multipv: int, score: str, value: float, nodes: int, start: float, pv: str) -> None:
        ms = max(1, round((time.perf_counter() - start) * 1000))
        wdl = f" wdl {' '.join(map(str, wdl_permille(value)))}" if self.checks["UCI_ShowWDL"] else ""
        self.emit(
            f"info depth {depth} multipv {multipv} score {score}{wdl} nodes {nodes} nps {nodes * 1000 // ms} "
            f"time {ms} pv {pv}"
        )


def wdl_permille(value: float) -> tuple[int, int, int]:
    """(win, draw, loss) per mille of a value in [-1, 1]: draw (1 - |v|) / 2, win - loss = v, summing to 1000."""
    v = max(-1.0, min(1.0, value))
    draw = round(500 * (1 - abs(v)))
    win = round((1000 - draw + 1000 * v) / 2)
    return win, draw, 1000 - win - draw


def _read_lines(stream: Any, engine: Engine) -> Any:
    """Input lines as text; a line over MAX_LINE bytes is refused (an error line) and skipped."""
    while True:
        raw, too_long = read_bounded_line(stream, MAX_LINE)
        if raw is None:
            return
        if too_long:
            engine.error(f"line longer than {MAX_LINE} bytes refused")
            continue
        yield raw.decode("utf-8", errors="replace")


def main(argv: list[str] | None = None) -> int:
    """Run `gamelab uci chess` (or gardner_chess). Returns the exit code."""
    return engine_main(Engine, __doc__, "chess or gardner_chess (the games with UCI)", argv)


def engine_main(engine_cls: type[Engine], doc: str, game_help: str, argv: list[str] | None = None) -> int:
    """`gamelab uci` (or the command of a subclass's protocol, `gamelab usi`): read the command line, then `serve`."""
    parser = JobParser(prog=f"gamelab {engine_cls.protocol}", description=doc.split("\n\n")[0])
    parser.add_argument("game", help=game_help)
    parser.add_argument(
        "--checkpoint", default=None, help="an AlphaZero checkpoint of the game or a run directory (default: bundled)"
    )
    parser.add_argument("--device", default="cpu", help="where a network runs: cpu, cuda, ...")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return serve(engine_cls, args.game, args.checkpoint, args.device)


def serve(engine_cls: type[Engine], game: str, checkpoint: str | None, device: str) -> int:
    """Start `engine_cls` (this UCI engine or a subclass speaking another protocol) for `game` and answer stdin line
    by line until `quit`. Returns the exit code: 2 with one error line for a game without the engine's protocol or a
    checkpoint (a file or a run directory) that does not load."""
    games = protocol_games(engine_cls.protocol)
    if game not in games:
        name = engine_cls.protocol.upper()
        print(f"error: game {game!r} is not {' or '.join(sorted(games))}, the games with {name}", file=sys.stderr)
        return 2
    torch.set_num_threads(DEFAULT_OPTIONS["Threads"])
    try:
        path = checkpoint_path(checkpoint) if checkpoint else None  # a file or a run directory
        engine = engine_cls(sys.stdout, path, device, game)
    except (ValueError, KeyError, OSError, CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        for line in _read_lines(sys.stdin.buffer, engine):
            if not engine.handle(line):
                break
    finally:
        engine._finish_search()
    return 0


if __name__ == "__main__":
    sys.exit(main())
