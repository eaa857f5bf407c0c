"""Benchmarks of the arena layer, one module each, run as `gamelab bench NAME` (or `python -m arena.bench.NAME`).

Modules:
    agent        `gamelab agent`: waiting lines searched together against one at a time
    play         one game at a time: search speed and strength against leaves per network call
    distributed  self-play on Ray actors against one process, learner steps per second
    duplicates   duplicate positions in a run's replay window; what merging them costs the learner

The benchmarks of the lower layers stay with their layer: `envs.bench` (game steps), `agents.bench` (network,
search and self-play throughput), `generative.gan.bench` and `generative.style.bench`.
"""
