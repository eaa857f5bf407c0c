"""A GTP v2 engine for Go: Go programs (GoGui, Sabaki, other engines' match tools) play the agent through it.

    gamelab gtp go [--checkpoint PATH] [--option KEY=VALUE ...] [--sims N | --think-time S] [--resign-below V]
                   [--seed N]

Game options are `--option KEY=VALUE` as in every command: size, komi, superko (checked against Go's declared
options; `--help` lists them); `--size N`, `--komi K` and `--superko` are short for `--option size=N`,
`--option komi=K` and `--option superko=true`.

Stdin carries GTP commands, stdout only the replies: `=[id] result` or `?[id] message`, each ended by an empty
line and flushed. A malformed line, an unknown command or an illegal move gets `? ...` and the engine reads on;
a line over 64 KB is refused the same way (and read past, never kept whole). Messages for people go to stderr.

The player: `--checkpoint PATH` (an AlphaZero Go checkpoint; its board size only, which a size option given must
match), else the bundled model of the board size when there is one (agents/models/go_SIZE.pt, e.g. go_7.pt), else
rollout MCTS (said once on stderr, with the sizes that are bundled), so the engine always starts; `boardsize`
switches between them. Each `genmove` searches `--sims` simulations, or for `--think-time` seconds; after
`time_left`, at most the time left over the moves still to play. It resigns when the searched value of the position
for its side is below `--resign-below` (-1 never resigns) once a quarter of the board has been played.

Rules: area scoring with the komi set, suicide forbidden, simple ko (as GNU Go), positional superko with
--superko; `final_score` is the area score after taking off the stones judged dead by random playouts
(`final_status_list dead` lists them; envs.go.Go.dead_stones). Moves of either colour may come in any order (GTP
lets a controller set up positions so): a move by the side not to move just changes the side to move. Play goes
on after two passes.

Commands: protocol_version, name, version, known_command, list_commands, quit, boardsize, clear_board, komi, play,
genmove, undo, showboard, final_score, final_status_list, time_settings, time_left, fixed_handicap; and live analysis
for Go programs (Sabaki, Lizzie): lz-analyze, kata-analyze (with `ownership true`), lz-genmove_analyze,
kata-genmove_analyze (agents/gtp_analysis.py has the formats; ownership and scoreLead come from the network's heads
where it has them). An analysis streams report lines until the next input
line arrives (stdin is read by a thread, so the search can see it waiting).

Vertices: a letter for the column (A-T without I) and the row number counted from the bottom, e.g. D4; `pass`.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import queue
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import torch

from agents import players
from agents.external_engine import MAX_LINE_BYTES, read_bounded_line
from agents.gtp_analysis import ANALYSIS_COMMANDS, MAX_ANALYSIS_VISITS, parse_request, run_analysis
from agents.gtp_coords import COLUMNS, GtpError, format_vertex, parse_colour, parse_vertex
from agents.mcts import PLAY_SIMULATIONS
from agents.network import load_policy_value_net
from agents.search_player import rollout_player
from core.checkpoint import CheckpointError
from core.device import set_cpu_threads
from core.job import JobParser, ranged
from envs import parse_options, traits
from envs.go import Go, GoState, fixed_handicap_points

__all__ = ["COMMANDS", "ENGINE_OPTIONS", "GtpEngine", "main"]

ENGINE_OPTIONS = ("size", "komi", "superko")  # the Go options the engine starts with (GTP changes size and komi)

COMMANDS = (
    "protocol_version",
    "name",
    "version",
    "known_command",
    "list_commands",
    "quit",
    "boardsize",
    "clear_board",
    "komi",
    "play",
    "genmove",
    "undo",
    "showboard",
    "final_score",
    "final_status_list",
    "time_settings",
    "time_left",
    "fixed_handicap",
    *ANALYSIS_COMMANDS,
)
_VERSION = "0.1.0"


# ---------------------------------------------------------------------------------------------------- engine


@dataclasses.dataclass
class _Clock:
    main_s: float = 0.0
    byo_s: float = 0.0
    byo_stones: int = 0
    left_s: dict[int, float] = dataclasses.field(default_factory=dict)
    left_stones: dict[int, int] = dataclasses.field(default_factory=dict)


class GtpEngine:
    """The GTP command interpreter over one Go game.

    Args:
        player_for: builds the player for a Go game (called on each change of board size or komi); returns
            (player, note), the note said once on stderr when it changes (e.g. "no bundled model: rollout search").
        size, komi, superko: the starting board size (5-19), komi and ko rule.
        sims: the simulation budget of a move (the cap when thinking by time).
        think_time: seconds per move (None: by simulations only).
        resign_below: resign when the searched value for the side to move is below this (-1: never).
        sizes: board sizes the player can play (default 5-19).
        log: where notes for people go (stderr).
    """

    def __init__(
        self,
        player_for: Callable[[Go], tuple[Any, str | None]],
        *,
        size: int = 9,
        komi: float = 7.5,
        superko: bool = False,
        sims: int = PLAY_SIMULATIONS,
        think_time: float | None = None,
        resign_below: float = -0.95,
        sizes: tuple[int, ...] = tuple(range(5, 20)),
        log: TextIO | None = None,
    ) -> None:
        self.player_for = player_for
        self.superko = superko
        self.sims = sims
        self.think_time = think_time
        self.resign_below = resign_below
        self.sizes = sizes
        self.log = log or sys.stderr
        self.clock = _Clock()
        self.komi = float(komi)
        self.size = size
        self._player_key: tuple | None = None
        self._said: set[str] = set()  # notes already said on stderr
        self.player: Any = None
        self.analysis: Any = None  # the SearchResult of the last analysis (the tree its last report was made from)
        self.quit = False
        self._new_game()

    # ---------------------------------------------------------------------------------------------- game

    def _new_game(self, handicap: list[int] | None = None) -> None:
        self.game = Go(size=self.size, komi=self.komi, superko=self.superko)
        board = torch.zeros(1, self.game.num_points, dtype=torch.int8)
        if handicap:
            board[0, handicap] = 1
        start = self.game.position(board, player=1 if handicap else 0)
        self.states: list[GoState] = [start]  # states[k]: after k moves
        self.moves: list[tuple[int, int]] = []  # (colour, action)
        key = (self.size, self.komi, self.superko)
        if key != self._player_key:
            self.player, note = self.player_for(self.game)
            self._player_key = key
            if note and note not in self._said:
                print(f"gamelab gtp: {note}", file=self.log, flush=True)
                self._said.add(note)

    @property
    def state(self) -> GoState:
        return self.states[-1]

    def _to_move(self, colour: int) -> GoState:
        """The current state with `colour` to move (the ko point only holds for the side it was made for), live."""
        s = self.state
        if int(s.player[0]) != colour:
            s = dataclasses.replace(s, player=torch.tensor([colour]), ko=torch.tensor([-1]))
        return dataclasses.replace(s, done=torch.tensor([False]))

    def _play(self, colour: int, action: int) -> None:
        s = self._to_move(colour)
        if not bool(self.game.legal_mask(s)[0, action]):
            raise GtpError("illegal move")
        self.states.append(self.game.step(s, torch.tensor([action])))
        self.moves.append((colour, action))

    def _think_budget(self, colour: int) -> float | None:
        budget = self.think_time
        left = self.clock.left_s.get(colour)
        if left is not None and (self.clock.main_s > 0 or self.clock.byo_s > 0):
            stones = self.clock.left_stones.get(colour, 0)
            empty = int((self.state.board == 0).sum())
            per_move = left / stones if stones > 0 else left / max(10, empty // 2)
            per_move = max(0.05, 0.8 * per_move)
            budget = per_move if budget is None else min(budget, per_move)
        return budget

    def _genmove(self, colour: int) -> str:
        s = self._to_move(colour)
        budget = self._think_budget(colour)
        with torch.no_grad():
            if budget is not None and hasattr(self.player, "think"):
                deadline = time.monotonic() + budget
                action = self.player.think(self.game, s, lambda: time.monotonic() > deadline, lambda _f: None)
            else:
                action = self.player(self.game, s)
        action = int(torch.as_tensor(action).reshape(-1)[0])
        info = getattr(self.player, "info", None)
        if info is not None and "value" in info and len(self.moves) >= self.game.num_points // 4:
            if float(info["value"][0]) < self.resign_below:
                return "resign"
        if not bool(self.game.legal_mask(s)[0, action]):  # never send an illegal move
            action = self.game.pass_action
        self._play(colour, action)
        return format_vertex(action, self.size)

    def _showboard(self) -> str:
        board = self.state.board[0].view(self.size, self.size).tolist()
        letters = "   " + " ".join(COLUMNS[: self.size])
        rows = [letters]
        for r, row in enumerate(board):
            n = self.size - r
            cells = " ".join("X" if v > 0 else "O" if v < 0 else "." for v in row)
            rows.append(f"{n:2d} {cells} {n:2d}")
        rows.append(letters)
        to_move = "black" if int(self.state.player[0]) == 0 else "white"
        rows.append(f"{to_move} to move, komi {self.komi:g}, {len(self.moves)} moves")
        return "\n" + "\n".join(rows)

    def _dead(self) -> list[int]:
        """The points of the stones judged dead (random playouts, seeded: the same answer every time)."""
        gen = torch.Generator().manual_seed(0)
        return self.game.dead_stones(self.state, generator=gen)[0].nonzero()[:, 0].tolist()

    def _final_score(self) -> str:
        board = self.state.board.clone()
        board[0, self._dead()] = 0
        score = float(self.game.score(self.game.position(board))[0])
        if score == 0:
            return "0"
        return f"{'B' if score > 0 else 'W'}+{abs(score):g}"

    # -------------------------------------------------------------------------------------------- commands

    def execute(self, line: str) -> str | None:
        """The reply to one input line (with its ending empty line), or None for a line without a command."""
        line = "".join(ch for ch in line if (" " <= ch != "\x7f") or ch == "\t").replace("\t", " ")
        line = line.split("#", 1)[0].strip()
        if not line:
            return None
        words = line.split()
        ident = ""
        if words[0].isdigit():
            ident, words = words[0], words[1:]
            if not words:
                return f"?{ident} missing command\n\n"
        try:
            if words[0].lower() in ANALYSIS_COMMANDS:
                return self._analysis(ident, words[0].lower(), words[1:])
            text = self._command(words[0].lower(), words[1:])
        except GtpError as err:
            return f"?{ident} {err}\n\n"
        return f"={ident} {text}\n\n" if text else f"={ident}\n\n"

    def _command(self, name: str, args: list[str]) -> str:
        def need(n: int) -> None:
            if len(args) < n:
                raise GtpError(f"{name} needs {n} argument{'s' if n > 1 else ''}")

        if name == "protocol_version":
            return "2"
        if name == "name":
            return "gamelab"
        if name == "version":
            return _VERSION
        if name == "known_command":
            need(1)
            return "true" if args[0].lower() in COMMANDS else "false"
        if name == "list_commands":
            return "\n".join(COMMANDS)
        if name == "quit":
            self.quit = True
            return ""
        if name == "boardsize":
            need(1)
            if not (args[0].isdigit() and len(args[0]) <= 3 and int(args[0]) in self.sizes):
                raise GtpError("unacceptable size")
            self.size = int(args[0])
            self._new_game()
            return ""
        if name == "clear_board":
            self._new_game()
            return ""
        if name == "komi":
            need(1)
            try:
                komi = float(args[0])
            except ValueError:
                raise GtpError("syntax error (komi must be a number)") from None
            if not (math.isfinite(komi) and abs(komi) <= 1000):
                raise GtpError("syntax error (komi must be a number from -1000 to 1000)")
            self.komi = komi
            moves, handicap = list(self.moves), self._handicap_stones()
            self._new_game(handicap)
            for colour, action in moves:
                self._play(colour, action)
            return ""
        if name == "play":
            need(2)
            colour, action = parse_colour(args[0]), parse_vertex(args[1], self.size)
            self._play(colour, action)
            return ""
        if name == "genmove":
            need(1)
            return self._genmove(parse_colour(args[0]))
        if name == "undo":
            if not self.moves:
                raise GtpError("cannot undo")
            self.moves.pop()
            self.states.pop()
            return ""
        if name == "showboard":
            return self._showboard()
        if name == "final_score":
            return self._final_score()
        if name == "final_status_list":
            need(1)
            if args[0].lower() not in ("dead", "alive", "seki"):
                raise GtpError("syntax error (dead, alive or seki)")
            dead = set(self._dead())
            stones = (self.state.board[0] != 0).nonzero()[:, 0].tolist()
            chosen = (
                [] if args[0].lower() == "seki" else [p for p in stones if (p in dead) == (args[0].lower() == "dead")]
            )
            return " ".join(format_vertex(p, self.size) for p in chosen)
        if name == "time_settings":
            need(3)
            main_s, byo_s, stones = (_number(a) for a in args[:3])
            self.clock = _Clock(main_s, byo_s, int(stones))
            return ""
        if name == "time_left":
            need(3)
            colour = parse_colour(args[0])
            self.clock.left_s[colour] = _number(args[1])
            self.clock.left_stones[colour] = int(_number(args[2]))
            return ""
        if name == "fixed_handicap":
            need(1)
            if self.moves or bool((self.state.board != 0).any()):
                raise GtpError("board not empty")
            if not (args[0].isdigit() and len(args[0]) <= 2):
                raise GtpError("invalid handicap")
            try:
                points = fixed_handicap_points(self.size, int(args[0]))
            except ValueError:
                raise GtpError("invalid handicap") from None
            self._new_game(points)
            return " ".join(format_vertex(p, self.size) for p in points)
        raise GtpError("unknown command")

    # ------------------------------------------------------------------------------------------- analysis

    def emit(self, text: str) -> None:
        """Write part of a streamed reply (analysis lines) at once; `main` points it at the real stdout."""
        sys.stdout.write(text)
        sys.stdout.flush()

    def input_waiting(self) -> bool:
        """Whether the next input line has arrived (an analysis stops then); `main` sets it from its reader."""
        return True

    def _analysis(self, ident: str, name: str, args: list[str]) -> str:
        """lz-analyze, kata-analyze and their genmove forms (agents/gtp_analysis.py): writes `=[id]` and the report
        lines with `emit`, returns the rest of the reply."""
        kata = name.startswith("kata-")
        request = parse_request(args, kata=kata)
        colour = int(self.state.player[0]) if request.colour is None else request.colour
        s = self._to_move(colour)
        if not hasattr(self.player, "evaluate"):
            raise GtpError("analysis needs a searching player")
        self.emit(f"={ident}\n")
        if name.endswith("-analyze"):
            self.analysis = run_analysis(
                self.game, s, self.player, request, kata=kata, emit=self.emit, stop=lambda _: self.input_waiting()
            )
            return "\n"
        budget = self._think_budget(colour)
        deadline = None if budget is None else time.monotonic() + budget
        sims = self.sims

        def enough(done: int) -> bool:
            return done >= sims or (deadline is not None and time.monotonic() > deadline)

        result = run_analysis(
            self.game,
            s,
            self.player,
            request,
            kata=kata,
            emit=self.emit,
            stop=enough,
            max_visits=min(sims, MAX_ANALYSIS_VISITS),
        )
        self.analysis = result
        action = int(result.action[0])
        if len(self.moves) >= self.game.num_points // 4 and float(result.value[0]) < self.resign_below:
            return "play resign\n\n"
        if not bool(self.game.legal_mask(s)[0, action]):  # never send an illegal move
            action = self.game.pass_action
        self._play(colour, action)
        return f"play {format_vertex(action, self.size)}\n\n"

    def _handicap_stones(self) -> list[int]:
        first = self.states[0]
        return (first.board[0] != 0).nonzero()[:, 0].tolist()


def _number(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise GtpError(f"syntax error ({text[:20]!r} is no number)") from None
    if not (math.isfinite(x) and 0 <= x <= 1e9):
        raise GtpError(f"syntax error ({text[:20]!r} is out of range)")
    return x


# --------------------------------------------------------------------------------------------------- players


def _rollout_fallback(game: Go, sims: int, seed: int) -> Any:
    """Rollout search without a network: the game's move prior (opening play off the first two lines) and playouts
    of 3 * size plies scored by area, so that one evaluation stays well inside a second's clock on 19x19."""
    prior = getattr(game, "move_prior", None)
    return rollout_player(game, sims, seed=seed, prior=prior, max_plies=3 * game.size)


def _player_maker(
    checkpoint: Path | None, sims: int, seed: int, budget: str | None = None
) -> Callable[[Go], tuple[Any, str | None]]:
    """player_for(game) of GtpEngine: the checkpoint's net, else the bundled model of the size, else rollouts."""

    def player_for(game: Go) -> tuple[Any, str | None]:
        path = checkpoint
        if path is None:
            try:
                path = players.find_bundled_model(game)
            except players.MissingModelError:
                sizes = ", ".join(f"{n}x{n}" for n in players.bundled_sizes(game.name)) or "none"
                note = (
                    f"no bundled Go model fits the board size (bundled: {sizes}): "
                    f"playing rollout search ({budget or f'{sims} simulations a move'})"
                )
                return _rollout_fallback(game, sims, seed), note
        _, net_game = load_policy_value_net(path)
        # the net plays in the game of its own options (komi is no input of the net); searches use the real one
        player = players.make_player(f"az:{path}:{sims}", net_game, seed=seed)
        player.score_komi = net_game.komi  # a score head's komi (agents.gtp_analysis shifts it to the game's)
        return player, None

    return player_for


def _line_reader(stdin: Any) -> queue.Queue:
    """A queue fed by a daemon thread with the input lines (read_bounded_line's (raw, too_long)); (None, False) at
    the end of the input. The thread stops after a `quit` line, so that no read is left waiting at the exit."""
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        while True:
            raw, too_long = read_bounded_line(stdin)
            lines.put((raw, too_long))
            words = raw.split(b"#", 1)[0].split() if raw is not None and not too_long else []
            if words and words[0].isdigit():
                words = words[1:]
            if raw is None or (words and words[0].lower() == b"quit"):
                return

    threading.Thread(target=read, name="gtp-stdin", daemon=True).start()
    return lines


class _GameOption(argparse.Action):
    """`--option KEY=VALUE` and its short aliases (`--size N`, `--komi K`, `--superko`, whose `const` is the key)
    gathered in one list of (as given, "KEY=VALUE"), so that both spellings take one path (`_game_options`)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        if self.const is None:
            given, item = f"{option_string} {values}", str(values)
        elif self.nargs == 0:
            given, item = str(option_string), f"{self.const}=true"
        else:
            given, item = f"{option_string} {values}", f"{self.const}={values}"
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest) or []), (given, item)])


def _game_options(given: list[tuple[str, str]]) -> tuple[dict[str, Any], dict[str, str]]:
    """The engine's starting Go options from (as given, "KEY=VALUE") pairs, each checked against Go's option specs,
    and how each was given. Raises ValueError naming the option as given (`--size 4: size must be in 5..19`)."""
    specs = traits.option_specs(Go)
    options: dict[str, Any] = {}
    said: dict[str, str] = {}
    for text, item in given:
        try:
            ((key, raw),) = parse_options([item]).items()
        except ValueError:
            raise ValueError(f"{text}: a game option must look like KEY=VALUE") from None
        if key not in ENGINE_OPTIONS:
            raise ValueError(f"{text}: gamelab gtp takes the options {', '.join(ENGINE_OPTIONS)}, not {key!r}")
        try:
            value = specs[key].check(key, raw)
        except ValueError as err:  # "option size=4: size must be in 5..19", said as given
            raise ValueError(f"{text}: {str(err).split(': ', 1)[-1]}") from None
        if key in options and options[key] != value:
            raise ValueError(f"{said[key]} and {text} disagree")
        options[key], said[key] = value, text
    return options, said


def _parser() -> JobParser:
    parser = JobParser(prog="gamelab gtp", description=__doc__.split("\n\n")[0])
    parser.fields_help = traits.options_help(Go, "go", {k: f"--{k}" for k in ENGINE_OPTIONS}) + (
        f"\ngamelab gtp takes {', '.join(ENGINE_OPTIONS)}; a handicap comes with GTP's fixed_handicap, input "
        "features with the model"
    )
    parser.add_argument("game", choices=["go"], help="the game (go)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="AlphaZero Go checkpoint (default: bundled)")
    parser.add_argument("--option", dest="options", action=_GameOption, default=[], metavar="KEY=VALUE",
                        help="starting game option: size (default 9, or the --checkpoint's), komi, superko "
                        "(repeatable; the list follows)")  # fmt: skip
    parser.add_argument("--size", dest="options", action=_GameOption, const="size", metavar="N",
                        help="short for --option size=N")  # fmt: skip
    parser.add_argument("--komi", dest="options", action=_GameOption, const="komi", metavar="K",
                        help="short for --option komi=K")  # fmt: skip
    parser.add_argument("--superko", dest="options", action=_GameOption, const="superko", nargs=0,
                        help="short for --option superko=true")  # fmt: skip
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument(
        "--sims", type=ranged(int, ge=1), default=None, help=f"search simulations per move (default {PLAY_SIMULATIONS})"
    )
    budget.add_argument("--think-time", type=ranged(float, gt=0, le=86400), default=None, help="seconds per move")
    parser.add_argument("--resign-below", type=float, default=-0.95, help="resign below this value (-1: never)")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `gamelab gtp go`. Returns the exit code."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        options, said = _game_options(args.options)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    set_cpu_threads(1)
    sims = args.sims or (10**6 if args.think_time else PLAY_SIMULATIONS)
    sizes = tuple(range(5, 20))
    if args.checkpoint is not None:
        try:
            _, net_game = load_policy_value_net(args.checkpoint)
        except (CheckpointError, ValueError, KeyError, OSError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        if "gtp" not in traits.engine_protocols(net_game):
            print(f"error: {args.checkpoint} holds a {net_game.name} model, not go", file=sys.stderr)
            return 2
        sizes = (net_game.size,)
        if options.setdefault("size", net_game.size) != net_game.size:
            print(
                f"error: {said['size']}: {args.checkpoint} holds a {net_game.size}x{net_game.size} model "
                f"(give --size {net_game.size}, or leave it out)",
                file=sys.stderr,
            )
            return 2
    defaults = {k: spec.default for k, spec in traits.option_specs(Go).items() if k in ENGINE_OPTIONS}
    engine = GtpEngine(
        _player_maker(args.checkpoint, sims, args.seed, f"{args.think_time:g} s a move" if args.think_time else None),
        **{**defaults, **options},
        sims=sims,
        think_time=args.think_time,
        resign_below=args.resign_below,
        sizes=sizes,
    )
    out = sys.stdout
    sys.stdout = sys.stderr  # whatever else prints goes to stderr: stdout carries only replies
    lines = _line_reader(sys.stdin.buffer)

    def emit(text: str) -> None:
        out.write(text)
        out.flush()

    engine.emit = emit
    engine.input_waiting = lambda: not lines.empty()
    while not engine.quit:
        raw, too_long = lines.get()
        if raw is None:
            break
        if too_long:
            reply = f"? line too long (over {MAX_LINE_BYTES} bytes)\n\n"
        else:
            reply = engine.execute(raw.decode("utf-8", errors="replace"))
        if reply is not None:
            out.write(reply)
            out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
