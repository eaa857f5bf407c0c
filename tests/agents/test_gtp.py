"""The GTP engine (`gamelab gtp go`): conversations through a pipe, line by line, as GoGui and Sabaki hold them."""

from __future__ import annotations

import io
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from agents.gtp import GtpEngine, _game_options, _parser, _player_maker, main
from agents.gtp_coords import format_vertex, parse_vertex
from envs import get_game

ROOT = Path(__file__).resolve().parents[2]


class Engine:
    """`gamelab gtp go ...` as a child process; `ask` sends one line and returns the reply (without its end)."""

    def __init__(self, *args: str):
        env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "gtp", "go", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(b"")

    def send(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def reply(self) -> str:
        """One reply: lines up to the empty line that ends it (each must arrive within a minute)."""
        out = []
        while True:
            line = self.lines.get(timeout=120)
            assert line, f"the engine closed its output; so far {out}"
            text = line.decode().rstrip("\n")
            if text == "" and out:
                return "\n".join(out)
            out.append(text)

    def ask(self, line: str) -> str:
        self.send(line.encode() + b"\n")
        return self.reply()

    def close(self) -> tuple[int, str]:
        self.proc.stdin.close()
        rc = self.proc.wait(timeout=60)
        return rc, self.proc.stderr.read().decode()

    def quit(self) -> int:
        """`quit` (answered `=`), then the process's exit code."""
        assert self.ask("quit") == "="
        return self.close()[0]

    def kill(self) -> None:
        """End the process if it still runs."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def engine():
    e = Engine("--sims", "8")
    yield e
    if e.proc.poll() is None:
        e.proc.kill()
        e.proc.wait()


def test_vertices():
    assert parse_vertex("A1", 9) == 72 and parse_vertex("j9", 9) == 8 and parse_vertex("PASS", 9) == 81
    assert parse_vertex("T19", 19) == 18 and format_vertex(18, 19) == "T19"
    for a in range(82):
        assert parse_vertex(format_vertex(a, 9), 9) == a
    for bad in ("I5", "J10", "A0", "Z1", "", "A", "11", "A1x"):
        with pytest.raises(ValueError):
            parse_vertex(bad, 9)


def test_gogui_and_sabaki_start_sequences(engine):
    # GoGui: protocol_version, name, version, list_commands (or known_command), boardsize, clear_board, komi
    assert engine.ask("protocol_version") == "= 2"
    assert engine.ask("name") == "= gamelab"
    assert engine.ask("version").startswith("= ")
    commands = engine.ask("list_commands")[2:].split("\n")
    for needed in ("boardsize", "clear_board", "komi", "play", "genmove", "undo", "quit", "final_score", "showboard"):
        assert needed in commands
    assert engine.ask("known_command time_left") == "= true"
    assert engine.ask("known_command gogui-analyze_commands") == "= false"
    assert engine.ask("boardsize 9") == "=" and engine.ask("clear_board") == "=" and engine.ask("komi 6.5") == "="
    # Sabaki: name, version, protocol_version, list_commands, then komi, boardsize, clear_board, play..., with ids
    assert engine.ask("1 name") == "=1 gamelab"
    assert engine.ask("2 version").startswith("=2 ")
    assert engine.ask("3 protocol_version") == "=3 2"
    assert engine.ask("4 list_commands").startswith("=4 ")
    assert engine.ask("5 komi 7.5") == "=5"
    assert engine.ask("6 boardsize 13") == "=6"
    assert engine.ask("7 clear_board") == "=7"
    assert engine.ask("8 play B D4") == "=8"
    assert engine.ask("9 play W Q16").startswith("?9 ")  # Q16 is off a 13x13 board
    assert engine.ask("10 play W K10") == "=10"
    move = engine.ask("11 genmove B")
    assert move.startswith("=11 ")
    vertex = move.split()[1]
    assert vertex == "resign" or vertex.lower() == "pass" or 0 <= parse_vertex(vertex, 13) < 169
    board = engine.ask("12 showboard")
    assert board.startswith("=12") and board.count("X") == 2 and board.count("O") == 1
    assert engine.ask("13 quit") == "=13"
    rc, err = engine.close()
    assert rc == 0
    assert err.count("rollout search") == 1  # said once, though the board size changed


def test_errors_and_the_engine_reads_on(engine):
    assert engine.ask("boardsize 1000000000").startswith("? ")
    assert engine.ask("boardsize 4").startswith("? ") and engine.ask("boardsize 20").startswith("? ")
    assert engine.ask("boardsize nine").startswith("? ")
    assert engine.ask("boardsize 5") == "="
    assert engine.ask("frobnicate") == "? unknown command"
    assert engine.ask("3 frobnicate") == "?3 unknown command"
    assert engine.ask("play b").startswith("? ")
    assert engine.ask("play x C3").startswith("? ")
    assert engine.ask("play b Z9").startswith("? ") and engine.ask("play b F1").startswith("? ")  # off 5x5
    assert engine.ask("komi lots").startswith("? ") and engine.ask("komi nan").startswith("? ")
    assert engine.ask("play b C3") == "="
    assert engine.ask("play w C3") == "? illegal move"  # occupied
    # control characters are dropped, comments ignored, empty lines unanswered
    assert engine.ask("\x01pro\x7ftocol_version # a comment") == "= 2"
    engine.send(b"\n# only a comment\n")
    assert engine.ask("name") == "= gamelab"


def test_long_line_is_refused_then_reading_goes_on(engine):
    engine.send(b"play b " + b"A" * 10_000_000 + b"\n")
    assert engine.reply().startswith("? line too long")
    assert engine.ask("name") == "= gamelab"
    assert engine.ask("boardsize 5") == "="
    assert engine.ask("play b C3") == "="


def test_rules_undo_ko_and_score(engine):
    assert engine.ask("boardsize 5") == "=" and engine.ask("komi 0.5") == "="
    # a ko in the top left corner: black B5 A4 B3, white C5 B4 C3 D4, then black captures at C4
    for move in ("b B5", "w C5", "b A4", "w B4", "b B3", "w C3", "b E1", "w D4"):
        assert engine.ask(f"play {move}") == "=", move
    assert engine.ask("play b C4") == "="  # captures B4
    assert engine.ask("play w B4") == "? illegal move"  # simple ko
    assert engine.ask("undo") == "="  # takes back C4: B4 is white again
    board = engine.ask("showboard")
    assert board.split("\n")[2].split()[1:6] == [".", "X", "O", ".", "."]  # row 5: . X O . .
    assert board.split("\n")[3].split()[1:6] == ["X", "O", ".", "O", "."]  # row 4: X O . O .
    for _ in range(8):
        assert engine.ask("undo") == "="
    assert engine.ask("undo") == "? cannot undo"
    assert "X" not in engine.ask("showboard").split("\n", 1)[1].replace("black", "")
    # suicide: a white stone at A5 surrounded by black
    for move in ("b B5", "b A4"):
        assert engine.ask(f"play {move}") == "="
    assert engine.ask("play w A5") == "? illegal move"
    # scoring: black's two stones own the whole board, komi 0.5
    assert engine.ask("final_score") == "= B+24.5"
    assert engine.ask("komi 30") == "=" and engine.ask("final_score") == "= W+5"
    # play goes on after two passes, and the engine answers genmove
    assert engine.ask("play w pass") == "=" and engine.ask("play b pass") == "="
    assert engine.ask("genmove w").startswith("= ")
    assert engine.ask("clear_board") == "=" and engine.ask("final_score") == "= W+30"
    # two live walls with eyes: black 7 stones + 3 eyes, white 7 stones + 8 points; nothing dead
    assert engine.ask("komi 0.5") == "="
    for colour, stones in (("b", "B1 B2 B3 B4 B5 A4 A2"), ("w", "C1 C2 C3 C4 C5 E4 E2")):
        for v in stones.split():
            assert engine.ask(f"play {colour} {v}") == "="
    assert engine.ask("play w A3") == "? illegal move"  # suicide in black's eye
    assert engine.ask("final_score") == "= W+5.5"
    assert engine.ask("final_status_list dead") == "="
    assert len(engine.ask("final_status_list alive").split()) == 1 + 14


def test_handicap_time_and_quit(engine):
    assert engine.ask("fixed_handicap 4") == "= C7 G7 C3 G3"
    assert engine.ask("fixed_handicap 2") == "? board not empty"
    assert engine.ask("clear_board") == "="
    assert engine.ask("fixed_handicap 10") == "? invalid handicap"
    assert engine.ask("fixed_handicap 2") == "= G7 C3"
    assert engine.ask("time_settings 60 5 1") == "=" and engine.ask("time_left w 30 0") == "="
    assert engine.ask("time_settings 60 x 1").startswith("? ")
    move = engine.ask("genmove w").split()[1]
    assert move.lower() == "pass" or parse_vertex(move, 9) not in (24, 56)
    assert engine.ask("quit") == "="
    rc, _ = engine.close()
    assert rc == 0


def test_bad_command_line():
    out = subprocess.run(
        [sys.executable, "-m", "core.cli", "gtp", "go", "--size", "1000000000"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert out.returncode == 2 and out.stderr.startswith("error: --size") and out.stdout == ""


def test_option_and_its_short_aliases_take_one_path():
    def options(*argv: str) -> dict:
        return _game_options(_parser().parse_args(["go", *argv]).options)[0]

    want = {"size": 5, "komi": 3.5, "superko": True}
    assert options("--option", "size=5", "--option", "komi=3.5", "--option", "superko=true") == want
    assert options("--size", "5", "--komi", "3.5", "--superko") == want
    assert options("--size", "5", "--option", "size=5") == {"size": 5}  # the same value twice is no conflict
    for argv, needle in (
        (["--size", "4"], "--size 4: size must be in 5..19"),
        (["--option", "size=4"], "--option size=4: size must be in 5..19"),
        (["--komi", "nan"], "--komi nan"),
        (["--option", "superko=maybe"], "superko=maybe"),
        (["--size", "9", "--option", "size=7"], "--size 9 and --option size=7 disagree"),
        (["--option", "handicap=2"], "handicap"),
    ):
        with pytest.raises(ValueError, match=needle):
            options(*argv)


def test_option_reaches_the_game(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"showboard\nquit\n")))
    monkeypatch.setattr(sys, "stdout", sys.stdout)  # main sends all but its replies to stderr; restored after
    assert main(["go", "--option", "size=5", "--komi", "3.5", "--sims", "2"]) == 0
    board = capsys.readouterr().out
    assert "komi 3.5" in board and " 5 . . . . .  5" in board and " 6 " not in board


def test_boardsize_switches_between_the_bundled_model_and_rollouts(model_dir):
    model_dir.add(get_game("go", size=7))
    log = io.StringIO()
    engine = GtpEngine(_player_maker(None, 8, 0), size=9, log=log)
    assert engine.player.name.startswith("rollout")
    assert engine.execute("boardsize 7") == "=\n\n" and engine.player.name.startswith("az:")
    assert engine.execute("genmove b").startswith("= ")
    assert engine.execute("boardsize 9") == "=\n\n" and engine.player.name.startswith("rollout")
    assert engine.execute("boardsize 7") == "=\n\n" and engine.player.name.startswith("az:")
    notes = log.getvalue().splitlines()
    assert len(notes) == 1 and "rollout search" in notes[0] and "bundled: 7x7" in notes[0]  # said once
