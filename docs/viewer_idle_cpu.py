"""Measure what an open `gamelab play` window costs while nobody touches it, and how fast moves show.

    python docs/viewer_idle_cpu.py --xvfb                       # this tree's viewer under a private Xvfb
    python docs/viewer_idle_cpu.py --xvfb --tree /other/checkout --tree .   # two checkouts side by side

Each tree's viewer runs `gamelab play connect_four --opponent random` (the person moves first) in its own process,
all at once, so they share the machine's load. Its window stays untouched for `--idle` seconds with the person to
move: the CPU seconds the process spends then (all its threads) and the frames it draws (`pygame.display.flip`
calls) are the idle cost. Then the script plays `--moves` moves by posting digit keys; the agent takes `--think`
seconds per move, and the script times from the key to the frame that shows the person's move (input latency)
and from the agent's search returning to the frame that shows its move (agent latency). One JSON line per tree.
Without `--xvfb` the windows open on DISPLAY, or under SDL's dummy driver with `--dummy`. Compare idle CPU side by
side, latencies with `--sequential`: a window drawing all the time slows its neighbours' frames (the CPU, the X
server).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tree", action="append", default=[], help="checkout whose viewer runs (default: this one)")
    p.add_argument("--idle", type=float, default=30.0, help="seconds the window stays untouched")
    p.add_argument("--moves", type=int, default=8, help="moves played after the idle time")
    p.add_argument("--think", type=float, default=0.5, help="seconds the agent takes per move")
    p.add_argument("--xvfb", action="store_true", help="open the windows on a private Xvfb")
    p.add_argument("--dummy", action="store_true", help="SDL's dummy video driver (no X server)")
    p.add_argument(
        "--sequential",
        action="store_true",
        help="one tree after the other (side by side, a window that draws all the time slows the others' frames)",
    )
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return p


class _Timed:
    """A player that takes at least `seconds` per move and notes when each move was found."""

    def __init__(self, player, seconds: float, finished: list[float]):
        self.player, self.seconds, self.finished = player, seconds, finished
        self.name = player.name

    def __call__(self, game, state):
        start = time.monotonic()
        action = self.player(game, state)
        time.sleep(max(0.0, self.seconds - (time.monotonic() - start)))
        self.finished.append(time.monotonic())
        return action

    def close(self) -> None:
        self.player.close()


def _child(args: argparse.Namespace) -> None:
    import pygame

    import arena.viewer.play as play
    from arena.viewer.thinking import Thinker

    viewers, flips, finished = [], [], []  # flips: (time, moves on the board when drawn)
    make_viewer, flip, thinker_init = play._make_viewer, pygame.display.flip, Thinker.__init__

    def _make_viewer(*a, **k):
        viewers.append(make_viewer(*a, **k))
        return viewers[-1]

    def _flip(*a):
        flip(*a)
        flips.append((time.monotonic(), len(viewers[0].session.actions) if viewers else -1))

    def _thinker_init(self, player, *a, **k):
        thinker_init(self, _Timed(player, args.think, finished), *a, **k)

    play._make_viewer, pygame.display.flip, Thinker.__init__ = _make_viewer, _flip, _thinker_init
    result: dict = {"tree": str(Path(play.__file__).resolve().parents[2])}

    def shown(moves: int, after: float, timeout: float = 30.0) -> float:
        """When a frame drawn after `after` first showed `moves` moves."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for t, n in list(flips):
                if t >= after and n == moves:
                    return t
            time.sleep(0.002)
        raise RuntimeError(f"no frame showed {moves} moves")

    def key(char: str) -> float:
        code = getattr(pygame, f"K_{char}")
        now = time.monotonic()
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=code, unicode=char, mod=0, scancode=0))
        return now

    def drive() -> None:
        try:
            shown(0, 0.0, 120.0)
            time.sleep(2.0)  # the window's first events settle
            viewer = viewers[0]
            cpu, frames, start = time.process_time(), len(flips), time.monotonic()
            time.sleep(args.idle)
            result["idle_s"] = round(time.monotonic() - start, 2)
            result["idle_cpu_s"] = round(time.process_time() - cpu, 3)
            result["idle_frames"] = len(flips) - frames
            inputs, agents = [], []
            for k in range(args.moves):
                if viewer.session.over:
                    shown(0, key("n"))
                n = len(viewer.session.actions)
                legal = viewer.session.legal.nonzero()[:, 0].tolist()
                sent = key(str(legal[k % len(legal)] + 1))
                inputs.append(shown(n + 1, sent) - sent)
                if not viewer.session.over and viewer.agent_to_move:
                    agents.append(shown(n + 2, sent) - finished[-1])
            for name, times in (("input", inputs), ("agent", agents)):
                result[f"{name}_latency_median_ms"] = round(1000 * statistics.median(times), 1) if times else None
                result[f"{name}_latency_ms"] = [round(1000 * s, 1) for s in times]
        except Exception as err:  # reported in the JSON line
            result["error"] = repr(err)
        finally:
            pygame.event.post(pygame.event.Event(pygame.QUIT))

    threading.Thread(target=drive, daemon=True).start()
    play.main(["connect_four", "--opponent", "random", "--side", "first", "--no-record", "--window", "1000x720"])
    print(json.dumps(result), flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.child:
        _child(args)
        return 0
    trees = [Path(t).resolve() for t in args.tree] or [ROOT]
    env = dict(os.environ, OMP_NUM_THREADS="1", SDL_VIDEODRIVER="dummy" if args.dummy else "x11")
    with contextlib.ExitStack() as stack:
        if args.xvfb and not args.dummy:
            sys.path.insert(0, str(ROOT))
            from arena.viewer.xdriver import xvfb

            env["DISPLAY"] = stack.enter_context(xvfb())
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--idle", str(args.idle)]
        cmd += ["--moves", str(args.moves), "--think", str(args.think)]

        def start(tree: Path) -> subprocess.Popen:
            return subprocess.Popen(
                cmd, cwd=tree, env=dict(env, PYTHONPATH=str(tree)), stdout=subprocess.PIPE, text=True
            )

        def report(child: subprocess.Popen) -> None:
            out, _ = child.communicate(timeout=args.idle + 60 * (1 + args.moves))
            print(out.strip().splitlines()[-1] if out.strip() else f"no result (exit status {child.returncode})")

        if args.sequential:
            for tree in trees:
                report(start(tree))
        else:
            for child in [start(tree) for tree in trees]:
                report(child)
    return 0


if __name__ == "__main__":
    sys.exit(main())
