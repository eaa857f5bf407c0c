"""GTP engines as players: `gtp:COMMAND...` (e.g. `gtp:gnugo --mode gtp --level 1 --chinese-rules`) plays Go.

    player = make_player("gtp:gnugo --mode gtp --level 1 --chinese-rules", Go(size=9))
    gamelab match go "gtp:gnugo --mode gtp --level 1 --chinese-rules" rollout:200 --games 20

One engine process per game being played (games run in parallel batches): a game is recognised from one call to
the next by its position (the board the engine last answered, plus the opponent's move), and a position it has not
seen (a new game, a random opening) is set up on a cleared board stone by stone. Genmoves of a batch are sent to
all its engines before any answer is read, so the engines think at the same time.

Rules: our side plays the game's rules (area scoring with komi, suicide forbidden, simple ko or positional superko;
see envs.go) and the engine its own (GNU Go: simple ko, suicide forbidden, area scoring with --chinese-rules). Where
they differ the game goes on and the player says so on stderr and keeps a note in `disagreements`:
    - the engine refuses the opponent's move (legal for us): its board is set up again from ours;
    - the engine plays a move our rules forbid (or resigns: our games have no resignation): it passes instead.
`engine_verdict` asks an engine for its `final_score` and dead stones of a finished game (agents.gtp_check
compares whole games).

Every answer must come within `timeout` seconds (EngineError otherwise): a game never hangs on an engine.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import torch
from torch import Tensor

from agents.external_engine import EngineError, EngineProcess, find_engine
from agents.gtp_coords import format_vertex, parse_vertex
from envs import state as state_ops
from envs import traits
from envs.go import Go, GoState

__all__ = ["GtpPlayer", "gtp_player", "parse_score"]


class GtpClient:
    """GTP requests to one engine process."""

    def __init__(self, argv: list[str], label: str, timeout: float) -> None:
        self.proc = EngineProcess(argv, label)
        self.label, self.timeout = label, timeout

    def send(self, command: str) -> None:
        self.proc.send(command)

    def reply(self) -> tuple[bool, str]:
        """(success, text) of the next reply (`= text` or `? text`, lines up to the empty line)."""
        lines: list[str] = []
        while True:
            line = self.proc.read_line(self.timeout)
            if not lines and not line.strip():
                continue  # stray empty lines between replies
            if line.strip() == "" and lines:
                break
            if not lines and line[0] not in "=?":
                raise EngineError(f"{self.label}: not a GTP reply: {line[:80]!r}")
            lines.append(line)
            if len(lines) > 1000:
                raise EngineError(f"{self.label}: a reply of over 1000 lines")
        head = lines[0]
        text = "\n".join([head[1:].lstrip("0123456789").strip(), *lines[1:]]).strip()
        return head[0] == "=", text

    def ask(self, command: str) -> tuple[bool, str]:
        self.send(command)
        return self.reply()

    def must(self, command: str) -> str:
        ok, text = self.ask(command)
        if not ok:
            raise EngineError(f"{self.label}: {command!r} failed: {text}")
        return text

    def close(self) -> None:
        try:
            self.proc.send("quit")
        except EngineError:
            pass
        self.proc.close()


@dataclasses.dataclass
class _Session:
    """One engine and the game it is in: `state` is the position it last answered in (batch of 1)."""

    client: GtpClient
    state: GoState | None = None
    last_call: int = -10


def _colour(player: int) -> str:
    return "black" if player == 0 else "white"


def _same(a: GoState, b: GoState) -> bool:
    return torch.equal(a.board, b.board) and int(a.moves[0]) == int(b.moves[0])


def parse_score(text: str) -> float | None:
    """Black's margin from a GTP score ("B+3.5" -> 3.5, "W+2" -> -2, "0" -> 0); None if unreadable."""
    t = text.strip().upper()
    if t in ("0", "DRAW", "JIGO"):
        return 0.0
    try:
        if t.startswith("B+"):
            return float(t[2:])
        if t.startswith("W+"):
            return -float(t[2:])
    except ValueError:
        return None
    return None


class GtpPlayer:
    """A GTP engine as a player of Go (see the module docstring).

    Args:
        command: the engine's command line.
        game: the Go game played (size, komi, ko rule).
        timeout: seconds an engine may take for any answer.
    Raises:
        ValueError: the command's program is not found, the game is not Go, or the engine does not start.
    """

    def __init__(self, command: str, game: Go, *, timeout: float = 120.0) -> None:
        if "gtp" not in traits.engine_protocols(game):
            raise ValueError(f"gtp: engines play Go only, not {getattr(game, 'name', game)!r}")
        self.argv = find_engine(command)
        self.command = command
        self.timeout = timeout
        self.name = f"gtp:{command}"
        self.checkpoint = None
        self.info: dict | None = None
        self.sessions: list[_Session] = []
        self.disagreements: list[dict] = []
        self._calls = 0
        first = self._session()  # starts one engine now: a bad command fails here, not in the first game
        try:
            engine = f"{first.client.must('name')} {first.client.must('version')}".strip()
        except EngineError as err:
            self.close()
            raise ValueError(str(err)) from None
        ko = "positional superko" if getattr(game, "superko", False) else "simple ko"
        self.rules = {
            "ours": f"area scoring, komi {game.komi:g}, suicide forbidden, {ko}",
            "engine": f"{engine}: its own rules (GNU Go: simple ko, suicide forbidden; area scoring with "
            "--chinese-rules); disagreements are reported",
        }
        self.settings = {"command": command, "engine": engine, "rules": self.rules}

    # ------------------------------------------------------------------------------------------- sessions

    def _session(self) -> _Session:
        label = f"gtp:{self.argv[0].rsplit('/', 1)[-1]}"
        s = _Session(GtpClient(self.argv, label, self.timeout))
        self.sessions.append(s)
        return s

    def _note(self, kind: str, game: Go, state: GoState, detail: str) -> None:
        note = {"kind": kind, "move": int(state.moves[0]) + 1, "detail": detail}
        self.disagreements.append(note)
        print(f"{self.name}: rules disagree at move {note['move']}: {detail}", file=sys.stderr, flush=True)

    def _setup(self, session: _Session, game: Go, state: GoState) -> None:
        """Set the engine's board to `state`'s: cleared, then the stones played alternately (no capture can happen
        in a legal position placed stone by stone)."""
        c = session.client
        c.must(f"boardsize {game.size}")
        c.must("clear_board")
        c.must(f"komi {game.komi:g}")
        board = state.board[0].tolist()
        black = [a for a, v in enumerate(board) if v > 0]
        white = [a for a, v in enumerate(board) if v < 0]
        for k in range(max(len(black), len(white))):
            for colour, stones in ((0, black), (1, white)):
                if k < len(stones):
                    c.must(f"play {_colour(colour)} {format_vertex(stones[k], game.size)}")
        session.state = state

    def _sync(self, game: Go, row: GoState, free: list[_Session]) -> _Session:
        """The session of the game in `row` (batch 1), its engine told the opponent's last move; else a free (or
        new) session set up from the board."""
        for s in self.sessions:
            if s.state is None or s.last_call == self._calls or int(s.state.moves[0]) != int(row.moves[0]) - 1:
                continue
            last = int(row.last_action[0])
            live = dataclasses.replace(s.state, done=torch.tensor([False]))
            if not 0 <= last <= game.pass_action or int(live.player[0]) == int(row.player[0]):
                continue
            if not bool(game.legal_mask(live)[0, last]):
                continue
            after = game.step(live, torch.tensor([last]))
            if not torch.equal(after.board, row.board):
                continue
            ok, text = s.client.ask(f"play {_colour(int(live.player[0]))} {format_vertex(last, game.size)}")
            if not ok:
                self._note("refused", game, live, f"the engine refuses {format_vertex(last, game.size)} ({text})")
                self._setup(s, game, row)
            s.state = row
            s.last_call = self._calls
            return s
        s = free.pop() if free else self._session()
        self._setup(s, game, row)
        s.last_call = self._calls
        return s

    # --------------------------------------------------------------------------------------------- playing

    def __call__(self, game: Go, state: GoState) -> Tensor:
        """One engine move per game: LongTensor[B] (the pass for finished games)."""
        self._calls += 1
        batch = int(state.player.shape[0])
        # sessions not seen in this call or the one before belong to finished games: free for new ones
        free = [s for s in self.sessions if s.last_call < self._calls - 2 or s.state is None]
        rows = [state_ops.take(state, i) for i in range(batch)]
        live = [i for i in range(batch) if not bool(state.done[i])]
        sessions: dict[int, _Session] = {}
        for i in live:
            s = self._sync(game, rows[i], [f for f in free if f not in sessions.values()])
            free = [f for f in free if f is not s]
            sessions[i] = s
        for i in live:  # all engines think at once
            sessions[i].client.send(f"genmove {_colour(int(rows[i].player[0]))}")
        actions = torch.full((batch,), game.pass_action, dtype=torch.long)
        for i in live:
            ok, text = sessions[i].client.reply()
            actions[i] = self._answer(game, rows[i], sessions[i], ok, text)
        return actions.to(state.player.device)

    def _answer(self, game: Go, row: GoState, session: _Session, ok: bool, text: str) -> int:
        """The action of a genmove reply (the pass, noted, for a resignation or a move our rules forbid)."""
        colour = _colour(int(row.player[0]))
        move = text.split()[0] if ok and text.split() else ""
        if move.lower() == "resign":
            self._note("resign", game, row, "the engine resigns; our games have no resignation: it passes")
            action = game.pass_action
            session.client.must(f"play {colour} pass")  # the engine's board stays ours
        else:
            try:
                action = parse_vertex(move, game.size)
            except ValueError:
                raise EngineError(f"{self.name}: genmove answered {text[:80]!r}") from None
            if not bool(game.legal_mask(row)[0, action]):
                self._note("illegal", game, row, f"the engine plays {move}, illegal in our rules: it passes")
                session.client.must("undo")
                session.client.must(f"play {colour} pass")
                action = game.pass_action
        session.state = game.step(row, torch.tensor([action]))
        return action

    def engine_verdict(self, game: Go, state: GoState) -> list[dict]:
        """What the engines say of each finished game in `state` (their last moves told first): {"score": black's
        margin by `final_score` or None, "dead": the points of `final_status_list dead`}."""
        self._calls += 1
        out: list[dict] = []
        for i in range(int(state.player.shape[0])):
            row = state_ops.take(state, i)
            s = next((s for s in self.sessions if s.state is not None and _same(s.state, row)), None)
            s = s or self._sync(game, row, [])
            s.last_call = -10  # free for the next game
            ok, text = s.client.ask("final_score")
            dead_ok, dead = s.client.ask("final_status_list dead")
            points = [parse_vertex(v, game.size) for v in dead.split()] if dead_ok else []
            out.append({"score": parse_score(text) if ok else None, "dead": points})
        return out

    def close(self) -> None:
        """Stop every engine."""
        for s in self.sessions:
            s.client.close()
        self.sessions = []

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass


def gtp_player(command: str, game: Any) -> GtpPlayer:
    """The player of a `gtp:COMMAND` spec (see agents.players.make_player)."""
    if not command.strip():
        raise ValueError("bad player spec 'gtp:': expected gtp:COMMAND, e.g. gtp:gnugo --mode gtp --level 1")
    return GtpPlayer(command, game)
