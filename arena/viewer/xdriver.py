"""Drive the real viewer window by mouse and keyboard under an X server: start Xvfb on a free display, run
`gamelab play` in its own process and window, find that window, click, drag, press keys, take screenshots, and read
the game the viewer recorded. Used by docs/viewer_xvfb.py (chess) and docs/viewer_xvfb_shogi.py (shogi), and by
their tests.

Needs Xvfb, xdotool, xwininfo (x11-utils) and ImageMagick's `import` (apt-get install xvfb xdotool x11-utils
imagemagick); `missing_tools()` names those not found. Without a window manager the window under the pointer has
the keyboard, and xdotool's own window search misses SDL's windows, so windows are found with `xwininfo -tree`.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pygame

from arena.records import load_replays
from arena.viewer.controller import Viewer
from envs.base import Game

__all__ = [
    "TOOLS",
    "missing_tools",
    "xvfb",
    "find_window",
    "XWindow",
    "viewer_window",
    "stop",
    "check_record",
    "layout",
]

TOOLS = ("Xvfb", "xdotool", "xwininfo", "import")


def missing_tools() -> list[str]:
    """The X tools this module needs that are not on the PATH."""
    return [t for t in TOOLS if shutil.which(t) is None]


def _run(*cmd: str) -> bytes:
    return subprocess.run(cmd, check=True, capture_output=True, timeout=60).stdout


@contextlib.contextmanager
def xvfb(size: tuple[int, int] = (1100, 800)) -> Iterator[str]:
    """Start Xvfb on a display no other server holds (Xvfb picks it: `-displayfd`), set DISPLAY to it for this
    process and its children, and stop the server (restoring DISPLAY) on exit. Yields the display name (":N")."""
    read, write = os.pipe()
    cmd = ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{size[0]}x{size[1]}x24", "-nolisten", "tcp"]
    server = subprocess.Popen(cmd, pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()  # written once the server accepts connections
    before = os.environ.get("DISPLAY")
    try:
        if not number:
            raise RuntimeError(f"Xvfb did not start (exit status {server.wait(10)})")
        os.environ["DISPLAY"] = f":{number}"
        yield os.environ["DISPLAY"]
    finally:
        if before is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = before
        stop(server, 10)


def find_window(title: str, process: subprocess.Popen | None = None, timeout: float = 120.0) -> str:
    """The id of the top-level window called `title` on DISPLAY; fails at once if `process` (the program that should
    open it) has exited."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for line in _run("xwininfo", "-root", "-tree").decode().splitlines():
            if f'"{title}":' in line:
                return line.split()[0]
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the program that should open the window {title!r} exited ({process.returncode})")
        time.sleep(0.5)
    raise RuntimeError(f"no window {title!r} appeared in {timeout:.0f} s")


class XWindow:
    """A window on DISPLAY: positions are in the window's own pixels (as pygame draws them)."""

    def __init__(self, wid: str):
        self.wid = wid
        info = _run("xwininfo", "-id", wid).decode()
        self.origin = tuple(int(info.split(f"Absolute upper-left {a}:")[1].split()[0]) for a in "XY")

    def screen(self, local: tuple[int, int]) -> tuple[int, int]:
        """The screen position of a window pixel."""
        return self.origin[0] + local[0], self.origin[1] + local[1]

    def _move(self, local: tuple[int, int], *then: str) -> None:
        x, y = self.screen(local)
        # `mousemove --sync` waits until the pointer leaves where it was, which takes its full time-out (seconds)
        # when it is already there: first a pixel aside
        _run("xdotool", "mousemove", str(x + 1), str(y), "mousemove", "--sync", str(x), str(y), *then)

    def click(self, local: tuple[int, int]) -> None:
        """A left click at a window pixel."""
        self._move(local, "click", "1")
        time.sleep(0.2)

    def drag(self, a: tuple[int, int], b: tuple[int, int], midway: Callable[[], None] | None = None) -> None:
        """Press the left button at `a`, move to `b` in steps, release; `midway()` runs before the release."""
        self._move(a, "mousedown", "1")
        for k in (1, 2, 3):
            self._move((a[0] + (b[0] - a[0]) * k // 4, a[1] + (b[1] - a[1]) * k // 4))
            time.sleep(0.08)
        if midway is not None:
            time.sleep(0.3)
            midway()
        self._move(b, "mouseup", "1")
        time.sleep(0.2)

    def key(self, name: str) -> None:
        """Press and release a key (xdotool's key names); the window under the pointer gets it."""
        _run("xdotool", "key", name)
        time.sleep(0.2)

    def grab(self) -> pygame.Surface:
        """What the window shows now."""
        return pygame.image.load(io.BytesIO(_run("import", "-window", self.wid, "png:-")), "shot.png")

    def save(self, path: str | os.PathLike) -> Path:
        """Save a screenshot of the window as a PNG."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        _run("import", "-window", self.wid, str(path))
        print("screenshot", path, flush=True)
        return path

    def wait_until(self, shows: Callable[[pygame.Surface], bool], what: str, timeout: float = 120.0) -> None:
        """Take screenshots until `shows(screenshot)` holds; fails naming `what` after `timeout` seconds."""
        end = time.monotonic() + timeout
        while not shows(self.grab()):
            if time.monotonic() > end:
                raise RuntimeError(f"the window never showed {what} in {timeout:.0f} s")
            time.sleep(0.25)


def layout(game: Game, size: tuple[int, int]) -> Viewer:
    """An offscreen viewer of `game` drawn once at the window's size: its board_rect is where the window's board is."""
    pygame.font.init()
    probe = Viewer(game.name, dict(game.options), seats=("human", "human"), record_dir=None)
    probe.draw(pygame.Surface(size))
    return probe


def _exit_on_sigterm() -> None:
    """SIGTERM ends this process through SystemExit, so `finally` blocks stop the window's process and Xvfb."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


@contextlib.contextmanager
def viewer_window(play_args: list[str], size: tuple[int, int]) -> Iterator[tuple[XWindow, Path]]:
    """Run `gamelab play *play_args` (the game first) in its own process and X window (on DISPLAY) with a fresh
    replays folder; yields the window, once found, and that folder. The process is stopped and the folder removed on
    exit."""
    _exit_on_sigterm()
    folder = tempfile.TemporaryDirectory(prefix="viewer_xvfb_")
    replays = Path(folder.name)
    cmd = [sys.executable, "-m", "core.cli", "play", *play_args]
    cmd += ["--window", "x".join(map(str, size)), "--replays", str(replays)]
    process = subprocess.Popen(cmd, env=dict(os.environ, SDL_VIDEODRIVER="x11"))
    try:
        window = XWindow(find_window("gamelab", process))
        time.sleep(1.0)
        yield window, replays
    finally:
        stop(process)
        folder.cleanup()


def stop(process: subprocess.Popen, grace: float = 30.0) -> int:
    """End a process that may still run: SIGTERM, then SIGKILL after `grace` seconds; returns its exit status."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


def check_record(replays: Path, moves: list[int], timeout: float = 30.0) -> dict:
    """The last game the viewer wrote to the replays folder (waits for the file), checked to hold `moves`, the
    moves that were clicked; prints its file, result and end reason."""
    end = time.monotonic() + timeout
    while not (files := sorted(replays.glob("*.jsonl"))):
        if time.monotonic() > end:
            raise RuntimeError(f"the viewer recorded no game in {replays}")
        time.sleep(0.5)
    record = load_replays(files[0])[-1]
    if record["moves"] != moves:
        raise RuntimeError(f"the viewer recorded other moves than were clicked: {record['moves']} != {moves}")
    print("recorded:", files[0].name, record["result"], record.get("termination"), flush=True)
    return record
