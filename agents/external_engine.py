"""Other programs as players: a child process spoken to line by line (GTP for Go engines, UCI for chess engines).

    proc = EngineProcess(find_engine("gnugo --mode gtp --level 1"), label="gnugo")
    proc.send("name")
    proc.read_line(timeout=30)        # "= GNU Go"

Lines are read by a thread into a queue, each bounded (`MAX_LINE_BYTES`, the rest of a longer line is dropped), so
a silent, slow or chatty engine never hangs or floods the caller: a read past its timeout, or after the engine
exits, raises EngineError naming the engine. Engines are found on PATH and in /usr/games and /usr/local/games
(where Debian puts game engines, off root's PATH). A process is killed when it is closed or garbage collected.
"""

from __future__ import annotations

import os
import queue
import shlex
import shutil
import subprocess
import threading
import weakref
from typing import BinaryIO

__all__ = ["MAX_LINE_BYTES", "EngineError", "EngineProcess", "find_engine", "read_bounded_line"]

MAX_LINE_BYTES = 64 * 1024
_GAME_DIRS = ("/usr/games", "/usr/local/games")


class EngineError(RuntimeError):
    """An engine that cannot be started, stops answering, exits, or says something that makes no sense."""


def read_bounded_line(stream: BinaryIO, limit: int = MAX_LINE_BYTES) -> tuple[bytes | None, bool]:
    """(line without its end, too_long) read from a binary stream; (None, False) at the end of input.

    At most `limit` bytes of a line are kept: the rest of a longer line is read and dropped in chunks (b"" returned).
    """
    line = stream.readline(limit + 1)
    if not line:
        return None, False
    if len(line) <= limit or line.endswith(b"\n"):
        return line.rstrip(b"\r\n"), False
    while True:  # drop the rest of an over-long line
        chunk = stream.readline(limit)
        if not chunk or chunk.endswith(b"\n"):
            return b"", True


def find_engine(command: str) -> list[str]:
    """The argv of a command line, its program resolved on PATH, then in /usr/games and /usr/local/games.

    Raises:
        ValueError: an empty command, or a program found nowhere (the message names the places searched).
    """
    try:
        argv = shlex.split(command)
    except ValueError as err:
        raise ValueError(f"bad engine command {command!r}: {err}") from None
    if not argv:
        raise ValueError("empty engine command")
    search = os.pathsep.join([os.environ.get("PATH", ""), *_GAME_DIRS])
    program = shutil.which(argv[0], path=search)
    if program is None:
        raise ValueError(f"engine {argv[0]!r} not found on PATH or in {', '.join(_GAME_DIRS)}")
    return [program, *argv[1:]]


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()


class EngineProcess:
    """A running engine: `send` a line, `read_line` the next line of its output (within a timeout).

    Args:
        argv: the program and its arguments (see find_engine).
        label: the engine's name in error messages.
    Raises:
        EngineError: the program cannot be started.
    """

    def __init__(self, argv: list[str], label: str) -> None:
        self.label = label
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0
            )
        except OSError as err:
            raise EngineError(f"{label}: cannot start {argv[0]}: {err}") from None
        self._lines: queue.Queue[bytes | None] = queue.Queue(maxsize=1024)  # back-pressure on a chatty engine
        self._finalizer = weakref.finalize(self, _kill, self.proc)
        threading.Thread(target=self._pump, args=(self.proc.stdout, self._lines), daemon=True).start()

    @staticmethod
    def _pump(stream: BinaryIO, lines: queue.Queue) -> None:
        while True:
            line, _ = read_bounded_line(stream)
            lines.put(line)
            if line is None:
                return

    def send(self, line: str) -> None:
        """Write one line (a newline is added)."""
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise EngineError(f"{self.label}: the engine has exited (status {self.proc.poll()})") from None

    def read_line(self, timeout: float) -> str:
        """The next line of output, without its end.

        Raises:
            EngineError: no line within `timeout` seconds, or the engine closed its output.
        """
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise EngineError(f"{self.label}: no answer within {timeout:g} s") from None
        if line is None:
            self._lines.put(None)  # later reads fail the same way
            raise EngineError(f"{self.label}: the engine has exited (status {self.proc.poll()})")
        return line.decode("utf-8", errors="replace")

    def close(self) -> None:
        """Kill the engine (if still running) and reap it."""
        self._finalizer()
