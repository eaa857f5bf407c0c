"""`gamelab agent`: the line protocol driven through a subprocess pipe, one line at a time."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
import torch

import envs
from agents import players, protocol
from agents.network import PolicyValueNet
from agents.protocol import format_move, parse_moves
from core.checkpoint import save_checkpoint


def _checkpoint(path, game_name: str):
    game = envs.get_game(game_name)
    torch.manual_seed(0)
    net = PolicyValueNet(tuple(game.planes_shape), game.num_actions, blocks=1, channels=8)
    payload = {"game": {"name": game.name, "options": dict(game.options)}, "net_config": net.config}
    payload["model"] = net.state_dict()
    return save_checkpoint(path, payload, kind="alphazero")


def _start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "agents.protocol", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _ask(proc: subprocess.Popen, line: str) -> str:
    """Send one line and read the one answer (the agent must flush after every answer, or this blocks)."""
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().rstrip("\n")


def _legal_after(game_name: str, moves: list[int]) -> set[int]:
    game = envs.get_game(game_name)
    state = game.init(1)
    for a in moves:
        state = game.step(state, torch.tensor([a]))
    return set(game.legal_mask(state)[0].nonzero().flatten().tolist())


def test_connect_four_protocol_answers_line_by_line(tmp_path):
    ckpt = _checkpoint(tmp_path / "c4.pt", "connect_four")
    proc = _start("connect_four", "--checkpoint", str(ckpt), "--sims", "8")
    try:
        # start position, then a few positions in the test-set notation (1-based column digits)
        for line in ["", "4", "4453", "1111112"]:
            answer = _ask(proc, line)
            assert answer.isdigit() and len(answer) == 1, answer
            assert int(answer) - 1 in _legal_after("connect_four", [int(c) - 1 for c in line])
        # column 1 is full after six moves in it: only columns 2..7 are legal
        assert _ask(proc, "111111") in {"2", "3", "4", "5", "6", "7"}
        assert _ask(proc, "abc").startswith("error: ")
        assert _ask(proc, "1111111").startswith("error: ")  # a seventh stone in column 1
        assert _ask(proc, "8").startswith("error: ")  # no column 8
        assert _ask(proc, "1212121").startswith("error: ")  # the first player won with the 7th move: over
        assert _ask(proc, "3").isdigit()  # still answering after the errors
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()


def test_tictactoe_protocol_takes_action_ids_and_plays_the_only_move(tmp_path):
    ckpt = _checkpoint(tmp_path / "ttt.pt", "tictactoe")
    proc = _start("tictactoe", "--checkpoint", str(ckpt), "--sims", "16")
    try:
        assert int(_ask(proc, "")) in range(9)
        assert int(_ask(proc, "4 0")) in _legal_after("tictactoe", [4, 0])
        # eight moves played, no winner yet: cell 8 is the only move left
        assert _ask(proc, "0 1 2 4 3 5 7 6") == "8"
        assert _ask(proc, "4 4").startswith("error: ")  # the cell is taken
        assert _ask(proc, "4 x").startswith("error: ")
        assert _ask(proc, "0 3 1 4 2").startswith("error: ")  # the first player has three in a row
        assert int(_ask(proc, "0")) in _legal_after("tictactoe", [0])
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()


def test_without_a_model_the_agent_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(players, "MODEL_DIR", tmp_path)  # a folder without models
    assert protocol.main(["othello"]) == 2
    err = capsys.readouterr().err
    assert "no bundled model" in err and "--checkpoint" in err


def test_a_checkpoint_of_another_game_is_refused(tmp_path, capsys):
    ckpt = _checkpoint(tmp_path / "ttt.pt", "tictactoe")
    assert protocol.main(["connect_four", "--checkpoint", str(ckpt)]) == 2
    assert "tictactoe" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["connect_four", "tictactoe"])
def test_notation_round_trip(name):
    game = envs.get_game(name)
    moves = [3, 2, 6] if name == "connect_four" else [4, 0, 8]
    line = ("".join if name == "connect_four" else " ".join)(format_move(game, a) for a in moves)
    assert parse_moves(game, line) == moves
    with pytest.raises(ValueError):
        parse_moves(game, "4-5")


def _tictactoe_lines(count: int) -> list[str]:
    """Distinct tic-tac-toe move lists of positions not over (random legal games, cut at random lengths)."""
    game = envs.get_game("tictactoe")
    gen = torch.Generator().manual_seed(3)
    lines: list[str] = []
    while len(lines) < count:
        state, moves = game.init(1), []
        for _ in range(int(torch.randint(0, 8, (1,), generator=gen))):
            legal = game.legal_mask(state)[0].nonzero().flatten()
            a = int(legal[torch.randint(len(legal), (1,), generator=gen)])
            nxt = game.step(state, torch.tensor([a]))
            if bool(game.outcome(nxt)[0][0]):
                break
            state, moves = nxt, moves + [a]
        line = " ".join(map(str, moves))
        if line not in lines:
            lines.append(line)
    return lines


def test_waiting_lines_are_answered_as_one_at_a_time(tmp_path, monkeypatch, capsys):
    """Lines already waiting are searched in one batch: the answers, in order, are those of each line alone
    (a deterministic network and search), errors included."""
    ckpt = str(_checkpoint(tmp_path / "ttt.pt", "tictactoe"))
    lines = _tictactoe_lines(40)
    lines[5:5] = ["4 4", "x"]  # errors in the middle keep their place
    alone = []
    for line in lines:
        monkeypatch.setattr(sys, "stdin", io.StringIO(line + "\n"))
        assert protocol.main(["tictactoe", "--checkpoint", ckpt, "--sims", "24"]) == 0
        alone.append(capsys.readouterr().out.rstrip("\n"))
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(line + "\n" for line in lines)))
    assert protocol.main(["tictactoe", "--checkpoint", ckpt, "--sims", "24", "--max-batch", "16"]) == 0
    together = capsys.readouterr().out.splitlines()
    assert together == alone
    assert alone[5].startswith("error: ") and alone[6].startswith("error: ")
    assert all(a.isdigit() for i, a in enumerate(alone) if i not in (5, 6))


def test_lines_written_at_once_through_a_pipe_come_back_in_order(tmp_path):
    """Many lines at once through a real pipe (more than one batch and more than one read chunk), with a line
    over the length limit among them: every line gets its answer, in order."""
    ckpt = _checkpoint(tmp_path / "ttt.pt", "tictactoe")
    proc = _start("tictactoe", "--checkpoint", str(ckpt), "--sims", "4", "--max-batch", "64")
    lines = ["0 1 2 4 3 5 7 6"] * 150 + ["1" * (protocol.MAX_LINE_BYTES + 10)] + ["0 1 2 4 3 5 7 6"] * 150
    try:
        out, err = proc.communicate("".join(line + "\n" for line in lines), timeout=300)
    finally:
        proc.kill()
    answers = out.splitlines()
    assert proc.returncode == 0, err
    assert len(answers) == len(lines)
    assert answers[150].startswith("error: ") and "bytes" in answers[150]
    assert answers[:150] == ["8"] * 150 and answers[151:] == ["8"] * 150


def test_line_batches_read_what_is_waiting_in_bounded_pieces():
    data = b"1\n22\n" + b"x" * 50 + b"\n333\nlast"
    batches = protocol.LineBatches(io.BytesIO(data), limit=10)
    assert batches.next_batch(2) == ["1", "22"]
    assert batches.next_batch(10) == [None, "333", "last"]
    assert batches.next_batch(10) == []


def test_a_model_for_another_board_is_refused_naming_both(tmp_path, capsys):
    game = envs.get_game("othello", size=6)
    net = PolicyValueNet(tuple(game.planes_shape), game.num_actions, blocks=1, channels=8)
    payload = {"game": {"name": "othello", "options": dict(game.options)}, "net_config": net.config}
    ckpt = save_checkpoint(tmp_path / "o6.pt", {**payload, "model": net.state_dict()}, kind="alphazero")
    assert protocol.main(["othello", "--checkpoint", str(ckpt)]) == 2  # othello is 8x8 unless told otherwise
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "size=6" in err and "size=8" in err and "--option" in err


def test_the_option_picks_the_board_and_a_run_directory_plays_its_latest_checkpoint(tmp_path, monkeypatch, capsys):
    game = envs.get_game("othello", size=6)
    torch.manual_seed(0)
    net = PolicyValueNet(tuple(game.planes_shape), game.num_actions, blocks=1, channels=8)
    payload = {"game": {"name": "othello", "options": dict(game.options)}, "net_config": net.config}
    run = tmp_path / "train__othello__0__x"
    save_checkpoint(run / "checkpoints" / "iter_000001.pt", {"game": {"name": "tictactoe"}}, kind="alphazero")
    save_checkpoint(run / "checkpoints" / "iter_000002.pt", {**payload, "model": net.state_dict()}, kind="alphazero")
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert protocol.main(["othello", "--option", "size=6", "--checkpoint", str(run), "--sims", "0"]) == 0
    answer = capsys.readouterr().out.strip()
    assert int(answer) in _legal_after_game(game, [])  # a legal opening move on the 6x6 board


def _legal_after_game(game, moves: list[int]) -> set[int]:
    state = game.init(1)
    for a in moves:
        state = game.step(state, torch.tensor([a]))
    return set(game.legal_mask(state)[0].nonzero().flatten().tolist())
