"""A game package installed from outside the repository (docs/example_game, written only against the game
protocol) runs through every gamelab command as a new user would: each step is a subprocess of the real CLI.

Default: install, registry, check_game and PettingZoo's api_test (about 10 s). Slow: `gamelab match`, `train --preset
tiny`, `agent` on the trained run, `play --screenshot` and `replay --screenshot` of a recorded match.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "example_game"


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory):
    """Environment of subprocesses that see gamelab and the example package installed into a temporary folder."""
    tmp = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(EXAMPLE, tmp / "src")  # build from a copy: nothing is written into the repository
    target = tmp / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(target),
         str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{target}", OMP_NUM_THREADS="1", SDL_VIDEODRIVER="dummy")
    return env, tmp


def _run(env: dict, *args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, *args], env=env, input=stdin, capture_output=True, text=True, timeout=300, cwd=cwd
    )
    assert proc.returncode == 0, f"{args}: rc {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_registry_check_game_and_api_test(plugin_env):
    env, _ = plugin_env
    script = """
import json, envs
from pettingzoo.test import api_test
names = envs.known_games()
game = envs.get_game("line3", size=5)
envs.check_game(game)
api_test(envs.make_env("line3"), num_cycles=30)
try:
    envs.get_game("line3", colour=3)
    unknown_option = None
except ValueError as err:
    unknown_option = str(err)
try:
    envs.get_game("line4")
except KeyError as err:
    unknown_game = str(err)
print(json.dumps({"unknown_game": unknown_game, "names": names, "cls": type(game).__module__,
                  "shape": list(game.planes_shape), "unknown_option": unknown_option}))
"""
    out = json.loads(_run(env, "-c", script).stdout.strip().splitlines()[-1])
    assert "line3" in out["names"] and "connect_four" in out["names"]
    assert out["cls"] == "line3" and out["shape"] == [3, 5, 5]
    assert "colour" in out["unknown_option"]
    assert "line4" in out["unknown_game"] and "line3" in out["unknown_game"]  # the known games name the plugin


@pytest.mark.slow
def test_match(plugin_env):
    env, tmp = plugin_env
    record = tmp / "match.jsonl"
    proc = _run(env, "-m", "core.cli", "match", "line3", "alphabeta:2", "random", "--games", "8", "--quiet", "--json",
                "--record", str(record))  # fmt: skip
    res = json.loads(proc.stdout)
    assert res["wins_a"] + res["draws"] + res["losses_a"] == 8
    assert res["wins_a"] > res["losses_a"]  # a 2-ply search beats random play at three in a row
    games = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(games) == 8 and all(g["game"]["name"] == "line3" for g in games)


@pytest.mark.slow
def test_train_agent_play_and_replay(plugin_env, tmp_path):
    env, tmp = plugin_env
    _run(env, "-m", "core.cli", "train", "line3", "--preset", "tiny", "--runs", str(tmp_path), "--quiet")
    (run,) = tmp_path.glob("train__line3__*")
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["iter_000001.pt"]
    assert json.loads((run / "config.json").read_text())["blocks"] == 1  # the derived tiny preset

    # agent: one legal action id per position line (board of 16 cells; cell 5 taken after "5")
    out = _run(env, "-m", "core.cli", "agent", "line3", "--checkpoint", str(run), "--sims", "8", stdin="\n5\n5 0\n")
    moves = [int(x) for x in out.stdout.split()]
    assert len(moves) == 3 and all(0 <= m < 16 for m in moves) and moves[1] != 5 and moves[2] not in (5, 0)

    shot = tmp_path / "play.png"
    _run(env, "-m", "core.cli", "play", "line3", "--opponent", f"az:{run}:8", "--screenshot", str(shot),
         "--moves", "5 6")  # fmt: skip
    assert shot.stat().st_size > 1000

    record = tmp_path / "az.jsonl"
    _run(env, "-m", "core.cli", "match", "line3", f"az:{run}:8", "random", "--games", "2", "--quiet",
         "--record", str(record))  # fmt: skip
    shot = tmp_path / "replay.png"
    _run(env, "-m", "core.cli", "replay", str(record), "--move", "3", "--screenshot", str(shot))
    assert shot.stat().st_size > 1000
