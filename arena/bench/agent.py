"""`gamelab agent` with lines written at once against lines sent one at a time, in one agent process.

    gamelab bench agent --game tictactoe --positions 400 --sims 200

Starts `python -m agents.protocol GAME --sims N` (the bundled model, or --checkpoint), waits for its answer to one
warm-up line, then sends the same positions twice: one at a time (each line after the previous answer), and all
written at once (the agent searches what is waiting together). Prints the time of each (wall clock and the agent's
CPU time, which other processes' load disturbs less), the speedup, and how many answers agree between the two.
Tic-tac-toe positions are every reachable position that is not over (arena.evaluate), taken evenly spread.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import envs
from agents.mcts import PLAY_SIMULATIONS
from arena.evaluate import tictactoe_positions
from core.job import JobParser, print_figures, ranged
from envs.tictactoe import TicTacToe

__all__ = ["run_agent_bench", "main"]


def _positions(game_name: str, count: int) -> list[str]:
    if not issubclass(envs.game_class(game_name), TicTacToe):
        raise ValueError(f"positions are made for tictactoe only, not {game_name!r}")
    every = tictactoe_positions()
    step = max(1, len(every) // count)
    return [" ".join(map(str, moves)) for moves, _, _ in every[::step][:count]]


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), None where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _timed(proc: subprocess.Popen, run) -> tuple[list[str], float, float | None]:
    cpu0, t0 = _cpu_seconds(proc.pid), time.perf_counter()
    answers = run()
    wall, cpu1 = time.perf_counter() - t0, _cpu_seconds(proc.pid)
    return answers, wall, (cpu1 - cpu0) if cpu0 is not None and cpu1 is not None else None


def run_agent_bench(game_name: str, count: int, sims: int, checkpoint: str | None = None) -> dict:
    """Time `count` positions one at a time and all at once in one agent process. Returns a dict of figures."""
    envs.get_game(game_name)
    lines = _positions(game_name, count)
    cmd = [sys.executable, "-m", "agents.protocol", game_name, "--sims", str(sims)]
    cmd += ["--checkpoint", checkpoint] if checkpoint else []
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:

        def ask(line: str) -> str:
            proc.stdin.write(line + "\n")
            proc.stdin.flush()
            answer = proc.stdout.readline()
            if not answer:
                raise ValueError(f"the agent ended without answering ({' '.join(cmd)})")
            return answer.rstrip("\n")

        ask("")  # warm-up: the model is loaded, the first search done

        def one_at_a_time() -> list[str]:
            return [ask(line) for line in lines]

        def all_at_once() -> list[str]:
            writer = threading.Thread(
                target=lambda: (proc.stdin.write("".join(f"{x}\n" for x in lines)), proc.stdin.flush())
            )
            writer.start()
            answers = [proc.stdout.readline().rstrip("\n") for _ in lines]
            writer.join()
            return answers

        single, single_wall, single_cpu = _timed(proc, one_at_a_time)
        batched, batched_wall, batched_cpu = _timed(proc, all_at_once)
    finally:
        proc.stdin.close()
        proc.kill()
        proc.wait()
    return {
        "game": game_name,
        "positions": len(lines),
        "sims": sims,
        "one_at_a_time_s": single_wall,
        "at_once_s": batched_wall,
        "speedup": single_wall / batched_wall,
        "one_at_a_time_cpu_s": single_cpu,
        "at_once_cpu_s": batched_cpu,
        "cpu_speedup": single_cpu / batched_cpu if single_cpu and batched_cpu else None,
        "same_answers": sum(a == b for a, b in zip(single, batched)),
    }


def _table(r: dict) -> str:
    cpu = (
        f"  agent CPU {r['one_at_a_time_cpu_s']:.2f} s vs {r['at_once_cpu_s']:.2f} s ({r['cpu_speedup']:.1f}x)"
        if r["cpu_speedup"]
        else ""
    )
    return (
        f"{r['game']}  {r['positions']} positions, {r['sims']} simulations each, one agent process\n"
        f"  one at a time  {r['one_at_a_time_s']:.2f} s\n"
        f"  all at once    {r['at_once_s']:.2f} s  ({r['speedup']:.1f}x faster){cpu}\n"
        f"  same answers   {r['same_answers']}/{r['positions']}"
    )


def main(argv: list[str] | None = None) -> int:
    """`gamelab bench agent`: print the figures (or JSON)."""
    p = JobParser(prog="gamelab bench agent", description=__doc__.split("\n")[0])
    p.add_argument("--game", default="tictactoe", choices=["tictactoe"])
    p.add_argument("--positions", type=ranged(int, ge=1), default=400)
    p.add_argument("--sims", type=ranged(int, ge=0), default=PLAY_SIMULATIONS,
                   help=f"search simulations per move, as the agent's --sims (default {PLAY_SIMULATIONS})")  # fmt: skip
    p.add_argument("--checkpoint", default=None, help="model file (default: the bundled model)")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = p.parse_args(argv)
    return print_figures(
        lambda: run_agent_bench(args.game, args.positions, args.sims, args.checkpoint), _table, args.json
    )


if __name__ == "__main__":
    sys.exit(main())
