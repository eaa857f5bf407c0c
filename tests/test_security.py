"""Files from anyone are data: no command runs code hidden in a checkpoint, and outward inputs are bounded.

A crafted checkpoint whose unpickling would create a marker file goes to every command that reads a model, a run
or a weights file: each must exit with status 2 and one error line naming the file, without a traceback and
without the marker. The oracle that the file really is live: the unsafe loader does create the marker.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time

import pytest
import torch

import envs
from agents.network import PolicyValueNet
from core.checkpoint import save_checkpoint
from core.cli import main as gamelab
from core.config import config_to_dict, parse_config
from core.run import write_json_atomic
from generative.gan.trainer import PRESETS, GanConfig


class _Live:
    """Unpickling this runs `touch MARKER`."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    """The crafted file (also under replay names) and run directories of each kind holding it as their checkpoint."""
    root = tmp_path_factory.mktemp("crafted")
    marker = root / "MARKER"
    evil = root / "evil.pt"
    envelope = {"format": "gamelab-checkpoint", "version": 2, "kind": "alphazero", "payload": {"x": _Live(marker)}}
    torch.save(envelope, evil)
    for name in ("evil.jsonl", "evil.sgf"):
        shutil.copy(evil, root / name)
    runs = {}
    for kind, name in (("az", "iter_000001.pt"), ("gan", "step_0000001.pt"), ("style", "step_000001.pt")):
        (root / kind / "checkpoints").mkdir(parents=True)
        shutil.copy(evil, root / kind / "checkpoints" / name)
        runs[kind] = root / kind
    write_json_atomic(runs["gan"] / "config.json", config_to_dict(parse_config(GanConfig, [], PRESETS, "tiny")))
    return {"root": root, "marker": marker, "evil": evil, "runs": runs}


def _commands(c) -> dict[str, tuple[list[str], str]]:
    """name -> (gamelab argv, the file the error must name)."""
    e, r, out = str(c["evil"]), c["runs"], c["root"] / "out"
    az, gan, sty = (str(r[k]) for k in ("az", "gan", "style"))
    in_run = {k: str(next((r[k] / "checkpoints").iterdir())) for k in r}
    return {
        "agent": (["agent", "connect_four", "--checkpoint", e], e),
        "gtp": (["gtp", "go", "--checkpoint", e], e),
        "uci": (["uci", "chess", "--checkpoint", e], e),
        "play": (["play", "connect_four", "--opponent", e, "--screenshot", f"{out}/s.png", "--no-record"], e),
        "match-az": (["match", "connect_four", f"az:{e}", "random", "--games", "2", "--no-record", "--quiet"], e),
        "match-path": (["match", "connect_four", "random", e, "--games", "2", "--no-record", "--quiet"], e),
        "tournament": (["tournament", "connect_four", "random", f"az:{e}:4", "--no-record", "--quiet"], e),
        "train-resume": (["train", "connect_four", "--resume", az], in_run["az"]),
        "gan-train-resume": (["gan", "train", "--resume", gan], in_run["gan"]),
        "gan-eval": (["gan", "eval", e], e),
        "gan-eval-run": (["gan", "eval", gan], in_run["gan"]),
        "gan-eval-inception": (["gan", "eval", gan, "--inception", e], e),
        "generate": (["generate", e, "--grid", f"{out}/g.png"], e),
        "generate-run": (["generate", gan, "--grid", f"{out}/g.png"], in_run["gan"]),
        "style-apply": (["style", "apply", e, "brick", "-o", f"{out}/a.png"], e),
        "style-apply-run": (["style", "apply", sty, "brick", "-o", f"{out}/a.png"], in_run["style"]),
        "style-train-resume": (["style", "train", "--resume", sty], in_run["style"]),
        "style-train-vgg": (["style", "train", "brick", "--preset", "tiny", "--weights", e, "--runs", str(out)], e),
        "style-transfer-vgg": (["style", "transfer", "brick", "grass", "-o", f"{out}/t.png", "--weights", e], e),
        "dream-vgg": (["dream", "brick", "-o", f"{out}/d.png", "--weights", e], e),
        "export": (["export", e, f"{out}/x.pt"], e),
        "export-run": (["export", az, f"{out}/x.pt"], in_run["az"]),
        "replay-jsonl": (["replay", str(c["root"] / "evil.jsonl"), "--list"], str(c["root"] / "evil.jsonl")),
        "replay-sgf": (["replay", str(c["root"] / "evil.sgf"), "--list"], str(c["root"] / "evil.sgf")),
        "replay-pt": (["replay", e], e),
    }


_NAMES = [
    "agent", "gtp", "uci", "play", "match-az", "match-path", "tournament", "train-resume", "gan-train-resume",
    "gan-eval",
    "gan-eval-run", "gan-eval-inception", "generate", "generate-run", "style-apply", "style-apply-run",
    "style-train-resume", "style-train-vgg", "style-transfer-vgg", "dream-vgg", "export", "export-run",
    "replay-jsonl", "replay-sgf", "replay-pt",
]  # fmt: skip


def test_the_crafted_file_is_live_and_every_command_is_listed(crafted):
    assert sorted(_commands(crafted)) == sorted(_NAMES)
    torch.load(crafted["evil"], weights_only=False)  # the unsafe loader runs it: the oracle
    assert crafted["marker"].exists()
    crafted["marker"].unlink()


@pytest.mark.parametrize("name", _NAMES)
def test_every_command_refuses_a_crafted_file_without_running_it(crafted, name, capsys, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    crafted["marker"].unlink(missing_ok=True)  # each command is judged on its own
    argv, named = _commands(crafted)[name]
    rc = gamelab(argv)
    err = capsys.readouterr().err
    assert not crafted["marker"].exists(), f"{name} ran the file's code"
    assert rc == 2, err
    assert "Traceback" not in err
    assert any(named in line for line in err.splitlines()), err  # one line, naming the file


@pytest.mark.parametrize("name", ["agent"])
def test_refusal_from_the_gamelab_process(crafted, name):
    argv, named = _commands(crafted)[name]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SDL_VIDEODRIVER": "dummy"}
    proc = subprocess.run([sys.executable, "-m", "core.cli", *argv], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=120)  # fmt: skip
    assert not crafted["marker"].exists()
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and "error" in lines[0], proc.stderr


# ---------------------------------------------------------------- bounded inputs: the agent protocol


def _agent_checkpoint(tmp_path):
    game = envs.get_game("connect_four")
    torch.manual_seed(0)
    net = PolicyValueNet(tuple(game.planes_shape), game.num_actions, blocks=1, channels=8)
    payload = {"game": {"name": game.name, "options": {}}, "net_config": net.config, "model": net.state_dict()}
    return save_checkpoint(tmp_path / "c4.pt", payload, kind="alphazero")


def _agent(tmp_path, data: bytes, timeout: float = 120) -> list[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "agents.protocol", "connect_four", "--checkpoint", str(_agent_checkpoint(tmp_path))]
    proc = subprocess.run([*cmd, "--sims", "0"], input=data, capture_output=True, env=env, timeout=timeout)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode().splitlines()


def test_a_10_mb_line_gets_an_error_and_the_agent_goes_on(tmp_path):
    answers = _agent(tmp_path, b"4" * 10_000_000 + b"\n4453\n" + b"1 2\n" + b"7" * 5000 + b"\n")
    assert len(answers) == 4, answers
    assert answers[0].startswith("error: line over 65536 bytes")
    assert answers[1] in {"1", "2", "3", "4", "5", "6", "7"}
    assert answers[2].startswith("error: ")  # connect four notation has no spaces
    assert answers[3].startswith("error: 5000 moves, but a game of connect_four ends within 42")


def test_queued_lines_are_all_answered_in_order(tmp_path):
    lines = ["", "4", "44", "\xff", "4453"] * 40  # written at once, faster than they are answered
    data = b"".join(line.encode("latin-1") + b"\n" for line in lines)
    answers = _agent(tmp_path, data)
    assert len(answers) == len(lines)
    assert all(a.startswith("error: ") == (line == "\xff") for a, line in zip(answers, lines))


class _CountingStream(io.BytesIO):
    """Records the largest piece a reader takes at once, and the most it ever kept of a line."""

    largest = 0

    def read(self, size=-1):
        piece = super().read(size)
        self.largest = max(self.largest, len(piece))
        return piece


def test_the_protocol_reader_holds_at_most_one_piece():
    from agents.protocol import LineBatches

    stream = _CountingStream(b"a" * 1_000_000 + b"\nok\n\xff\xfe\nlast")
    batches = LineBatches(stream, limit=1000)
    kept = 0
    lines: list = []
    while batch := batches.next_batch(1):
        lines += batch
        kept = max(kept, len(batches.partial))
    assert lines == [None, "ok", None, "last"]
    assert stream.largest <= 64 * 1024 and kept <= 1000


@pytest.mark.parametrize("command", ["match", "tournament", "play", "agent"])
def test_an_absurd_game_option_is_a_clean_error(command, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    players = {"play": ["--screenshot", str(tmp_path / "s.png")], "agent": ["--checkpoint", str(tmp_path / "x.pt")]}
    players = players.get(command, ["random", "random", "--no-record"])
    start = time.perf_counter()
    assert gamelab([command, "go", *players, "--option", "size=1000000000"]) == 2
    err = capsys.readouterr().err
    assert "1000000000" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert time.perf_counter() - start < 30


# ---------------------------------------------------------------- bounded inputs: replay readers


def test_replay_readers_refuse_absurd_sizes_and_nesting(tmp_path, monkeypatch):
    import arena.records as records
    from arena.viewer.recording import load_records

    monkeypatch.setattr(records, "MAX_RECORD_BYTES", 4096)  # small limits keep the files small
    monkeypatch.setattr(records, "MAX_SGF_BYTES", 10_000)
    cases = {
        "deep.jsonl": (b"[" * 2000 + b"]" * 2000 + b"\n", "nested 2000 deep"),
        "wide.jsonl": (b"x" * 5000 + b"\n", "a line over 4096 bytes"),
        "bin.jsonl": (b"\x00\xff\n", "not UTF-8"),
        "huge.sgf": (b"(;GM[1]SZ[19]" + b";B[aa]" * 2000 + b")", "more than an SGF game file may hold"),
        "board.sgf": (b"(;GM[1]SZ[1000000000];B[aa])", "board size 1000000000x1000000000 is outside 1..52"),
        "junk.sgf": (b"(;GM[1]SZ[" + b"9" * 5000 + b"];B[aa])", "is not a number"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ValueError, match=message) as info:
            load_records(path)
        assert str(path) in str(info.value)
    many = {"game": {"name": "tictactoe", "options": {}}, "moves": [0] * (records.MAX_MOVES + 1)}
    monkeypatch.setattr(records, "MAX_RECORD_BYTES", 10**6)
    (tmp_path / "many.jsonl").write_text(json.dumps(many) + "\n")
    with pytest.raises(ValueError, match=f"{records.MAX_MOVES + 1} moves, more than any game has"):
        load_records(tmp_path / "many.jsonl")
    good = {"game": {"name": "tictactoe", "options": {}}, "moves": [4, 0]}
    (tmp_path / "ok.jsonl").write_text(json.dumps(good) + "\n")
    assert load_records(tmp_path / "ok.jsonl")[0]["moves"] == [4, 0]
