"""Solver benchmarks: a perfect player scores no mistakes, a random one many (oracles: the benchmark's own move
scores, and a brute-force tic-tac-toe minimax written here)."""

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from agents.mcts import SearchSettings
from agents.players import make_player
from arena.connect4_positions import OWN_SETS, STAGES, own_sets, write
from arena.evaluate import _play, _positions, bench_dir_default, connect4_benchmark, main, tictactoe_exhaustive
from core.cli import main as cli_main
from envs import get_game

BENCH = bench_dir_default()
needs_bench = pytest.mark.skipif(
    not (BENCH / "Test_L3_R1.scores").is_file(),
    reason=f"connect four benchmark not found at {BENCH} (set GAMELAB_CONNECT4_BENCH)",
)


def _read_scores(path):
    rows = []
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        rows.append((parts[0], [None if x == "x" else int(x) for x in parts[2:]]))
    return rows


def _table_player(game, rows, pick):
    """A player that looks positions up by board contents; pick(scores) -> column."""
    table = {}
    for moves, scores in rows:
        state = game.init(1)
        for ch in moves:
            state = game.step(state, torch.tensor([int(ch) - 1]))
        table[bytes(state.board[0].numpy().tobytes())] = pick(scores)

    def player(g, state):
        return torch.tensor([table[bytes(b.numpy().tobytes())] for b in state.board])

    player.name = "table"
    return player


@needs_bench
def test_perfect_and_random_connect_four():
    game = get_game("connect_four")
    sets = ("Test_L3_R1", "Test_L2_R2")
    rows = {s: _read_scores(BENCH / f"{s}.scores")[:150] for s in sets}
    best = lambda sc: max((v, -c) for c, v in enumerate(sc) if v is not None)[1] * -1  # noqa: E731
    perfect = _table_player(game, rows["Test_L3_R1"] + rows["Test_L2_R2"], best)
    res = connect4_benchmark(perfect, sets=sets, limit=150)
    for s in sets:
        assert res[s]["positions"] == 150
        assert res[s]["mistakes"] == 0 and res[s]["strict_mistakes"] == 0
    gen = torch.Generator().manual_seed(0)

    def rand(g, state):
        legal = g.legal_mask(state)
        return torch.where(legal, torch.rand(legal.shape, generator=gen), -1.0).argmax(-1)

    res = connect4_benchmark(rand, sets=sets, limit=150)
    assert all(res[s]["mistake_rate"] > 0.15 for s in sets)
    assert all(res[s]["strict_mistake_rate"] >= res[s]["mistake_rate"] for s in sets)


def test_connect_four_counts_on_a_handmade_set(tmp_path, monkeypatch):
    # X has three discs in column 1 (1-based), O three in column 2, X to move: column 1 wins at once (score 18 with
    # 6 discs on the board); columns 3-7 let O win with its 4th disc (score -18); the block in column 2 is given a
    # made-up draw score 0 (only the bookkeeping is checked here)
    (tmp_path / "Mini.scores").write_text("121212 18 18 0 -18 -18 -18 -18 -18\n")
    monkeypatch.setenv("GAMELAB_CONNECT4_BENCH", str(tmp_path))

    def column(c):
        def player(g, state):
            return torch.full((state.player.shape[0],), c)

        return player

    assert connect4_benchmark(column(0), sets=("Mini",))["Mini"]["mistakes"] == 0
    for c in (1, 4):  # a draw or a loss instead of the win
        res = connect4_benchmark(column(c), sets=("Mini",))["Mini"]
        assert res["mistakes"] == 1 and res["strict_mistakes"] == 1 and res["mistake_rate"] == 1.0
    with pytest.raises(FileNotFoundError, match="Nope.scores"):
        connect4_benchmark(column(0), sets=("Nope",))


LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


@functools.cache
def _value(board, me):
    """Minimax value for `me` (1 or 2) to move on a tuple board."""
    other = 3 - me
    if any(board[a] == board[b] == board[c] == other for a, b, c in LINES):
        return -1
    if all(board):
        return 0
    return max(-_value(board[:i] + (me,) + board[i + 1 :], other) for i in range(9) if not board[i])


def _minimax_player(g, state):
    out = []
    for b, p in zip(state.board.tolist(), state.player.tolist()):
        me = p + 1
        board = tuple(b)
        moves = [i for i in range(9) if not board[i]]
        out.append(max(moves, key=lambda i: -_value(board[:i] + (me,) + board[i + 1 :], 3 - me)))
    return torch.tensor(out)


def test_tictactoe_exhaustive():
    res = tictactoe_exhaustive(_minimax_player)
    assert res == {"positions": 4520, "mistakes": 0}

    def first_legal(g, state):
        return g.legal_mask(state).float().argmax(-1)

    bad = tictactoe_exhaustive(first_legal)
    assert bad["positions"] == 4520 and bad["mistakes"] > 0


@needs_bench
def test_cli(capsys):
    assert main(["connect_four", "random", "--sets", "Test_L3_R1", "--limit", "20"]) == 0
    assert "Test_L3_R1" in capsys.readouterr().out


def test_missing_folder_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("GAMELAB_CONNECT4_BENCH", str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError, match="absent"):
        connect4_benchmark(lambda g, s: torch.zeros(s.player.shape[0], dtype=torch.long), sets=("Test_L3_R1",))
    assert os.environ["GAMELAB_CONNECT4_BENCH"].endswith("absent")


def _own_table_player(pick):
    game = get_game("connect_four")
    rows = [row for rows in own_sets().values() for row in rows]
    return _table_player(game, [(m, sc) for m, sc in rows], pick)


def test_own_sets_evaluate_without_the_outside_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GAMELAB_CONNECT4_BENCH", str(tmp_path / "absent"))
    sets = own_sets()
    assert set(sets) == set(OWN_SETS) and all(len(rows) >= 50 for rows in sets.values())
    for name, (lo, hi) in STAGES.items():
        for moves, scores in sets[name]:
            assert lo <= len(moves) <= hi and len(scores) == 7
    best = lambda sc: max(range(7), key=lambda c: (sc[c] is not None, sc[c] if sc[c] is not None else 0))  # noqa: E731
    res = connect4_benchmark(_own_table_player(best))  # the default sets are the project's own
    assert set(res) == set(OWN_SETS)
    assert all(r["mistakes"] == 0 and r["strict_mistakes"] == 0 and r["critical"] > 0 for r in res.values())

    def worst(sc):  # the lowest score: a mistake exactly where some move changes the outcome
        return min(range(7), key=lambda c: sc[c] if sc[c] is not None else 99)

    res = connect4_benchmark(_own_table_player(worst), sets=("Own_End",))["Own_End"]
    assert res["mistakes"] == res["critical"] == res["critical_mistakes"] > 0


def test_evaluate_command_prints_one_line_per_set(capsys):
    assert (
        cli_main(
            ["evaluate", "connect_four", "alphabeta:1", "--sets", "Own_End", "Own_Middle", "--limit", "30", "--outcome"]
        )
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4 and out[1].split()[:4] == ["Own_End", "positions", "30", "mistakes"]
    assert "rate" in out[1] and "strict" in out[1] and "keeps outcome" in out[1] and "on critical" in out[1]
    # the last line pools both sets
    assert out[3].split()[:3] == ["all", "positions", "60"]
    assert int(out[3].split()[4]) == int(out[1].split()[4]) + int(out[2].split()[4])


def test_held_out_positions_file(tmp_path, capsys):
    """--positions reads another file of solved positions; its figures pool as the shipped sets' do."""
    rows = {name: own_sets()[name][:6] for name in ("Own_Begin", "Own_End")}
    path = tmp_path / "held_out.txt"
    write(rows, path, "test")
    best = lambda sc: max(range(7), key=lambda c: (sc[c] is not None, sc[c] if sc[c] is not None else 0))  # noqa: E731
    game = get_game("connect_four")
    perfect = _table_player(game, [r for rs in rows.values() for r in rs], best)
    res = connect4_benchmark(perfect, sets=("Own_Begin", "Own_End"), positions_file=path)
    assert all(r["positions"] == 6 and r["mistakes"] == 0 for r in res.values())
    assert main(["connect_four", "alphabeta:1", "--positions", str(path), "--outcome", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["results"]) == {"Own_Begin", "Own_End"} and out["total"]["positions"] == 12
    assert out["total"]["mistakes"] == sum(r["mistakes"] for r in out["results"].values())
    assert main(["connect_four", "random", "--positions", str(path), "--sets", "Own_Nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Own_Nope" in err[0]


def test_leaf_batch_8_plays_as_the_default_agent():
    """`bundled:200 --leaf-batch 8` is the player of `gamelab agent connect_four` (its defaults): same moves."""
    rows = own_sets()["Own_Middle"][:10]
    proc = subprocess.run(
        [sys.executable, "-m", "agents.protocol", "connect_four"],
        input="".join(moves + "\n" for moves, _ in rows),
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    agent_moves = [int(line) - 1 for line in proc.stdout.split()]
    game = get_game("connect_four")
    player = make_player("bundled:200", game, settings=SearchSettings(leaf_batch=8))
    chosen = _play(player, game, _positions(game, [[int(c) - 1 for c in m] for m, _ in rows]), 250).tolist()
    assert len(agent_moves) == 10 and chosen == agent_moves


def test_search_settings_reach_the_player(capsys):
    """--c-puct and --fpu-reduction set the searching player's PUCT: the figures are those of a player built with
    them, and not those of the defaults."""

    def cli(*extra):
        assert main(["connect_four", "bundled:32", "--sets", "Own_Middle", "--limit", "80", "--json", *extra]) == 0
        return json.loads(capsys.readouterr().out)["results"]["Own_Middle"]

    game = get_game("connect_four")
    tuned = SearchSettings(c_puct=20.0, fpu_reduction=1.0)
    direct = connect4_benchmark(make_player("bundled:32", game, settings=tuned), sets=("Own_Middle",), limit=80)
    changed = cli("--c-puct", "20", "--fpu-reduction", "1")
    assert changed == direct["Own_Middle"]
    assert changed != cli()


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["connect_four", "random", "--sets", "Nope"], "Nope"),
        (["connect_four", "random", "--limit", "0"], "--limit"),
        (["connect_four", "banana"], "banana"),
        (["connect_four", "random", "--c-puct", "0"], "--c-puct"),
        (["connect_four", "random", "--fpu-reduction", "-1"], "--fpu-reduction"),
    ],
)
def test_evaluate_bad_input_is_one_error_line(argv, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("GAMELAB_CONNECT4_BENCH", str(tmp_path))
    try:
        code = main(argv)
    except SystemExit as stop:  # option errors leave through the parser
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and needle in err[0]
