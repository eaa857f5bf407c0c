"""`gamelab bench threats`: one-four positions checked against gomoku's own rules (the env is the oracle) and an
independent line scan; the probe's figures, table and bad-input errors."""

from __future__ import annotations

import json

import pytest
import torch

import envs
from agents.network import PolicyValueNet, load_policy_value_net
from agents.players import MODEL_DIR
from arena import threat_probe
from arena.threat_probe import DIRECTIONS, KINDS, build_states, probe_net, threat_positions
from core.checkpoint import save_checkpoint
from core.cli import main as gamelab
from envs import state as state_ops

SIZE, K = 9, 5
STEPS = {"row": (0, 1), "col": (1, 0), "diag": (1, 1), "anti": (1, -1)}


@pytest.fixture(scope="module")
def game():
    return envs.get_game("gomoku", size=SIZE)


@pytest.fixture(scope="module")
def sets(game):
    return threat_positions(game, 4, seed=3)


def _windows() -> list[tuple[str, list[int]]]:
    """Every window of K cells with its direction, walked out here (not from envs.base.board_lines)."""
    out = []
    for name, (dr, dc) in STEPS.items():
        for r in range(SIZE):
            for c in range(SIZE):
                cells = [(r + i * dr, c + i * dc) for i in range(K)]
                if all(0 <= y < SIZE and 0 <= x < SIZE for y, x in cells):
                    out.append((name, [y * SIZE + x for y, x in cells]))
    return out


def _each(sets):
    return [pos for items in sets.values() for pos in items]


def test_every_direction_and_kind_has_its_positions(sets):
    assert list(sets) == [(d, k) for d in DIRECTIONS for k in KINDS]
    for (direction, kind), items in sets.items():
        assert len(items) == 4 and {p.direction for p in items} == {direction} and {p.kind for p in items} == {kind}
        assert [p.mover for p in items] == [0, 1, 0, 1]  # both colours to move


def test_positions_are_legal_states_of_the_game(game, sets):
    for pos in _each(sets):
        state = build_states(game, [pos])
        black, white = pos.board.count(1), pos.board.count(2)
        assert black - white == pos.mover  # black moves first: one stone more exactly when white is to move
        assert state.board[0].tolist() == list(pos.board)
        assert int(state.player[0]) == pos.mover and int(state.moves[0]) == black + white
        assert not bool(state.done[0])
        assert game.legal_mask(state)[0].tolist() == [v == 0 for v in pos.board]
        assert not any(len({pos.board[c] for c in w}) == 1 and pos.board[w[0]] for _, w in _windows())  # no five


def test_exactly_one_four_in_its_direction_and_no_other_threat(sets):
    for pos in _each(sets):
        four_side = 1 + (pos.mover if pos.kind == "win" else 1 - pos.mover)
        other = 3 - four_side
        fours = []
        for name, w in _windows():
            stones = [pos.board[c] for c in w]
            if stones.count(four_side) == K - 1 and stones.count(0) == 1:
                fours.append((name, w[stones.index(0)], {c for c in w if pos.board[c] == four_side}))
            assert not (stones.count(other) >= 3 and stones.count(four_side) == 0), "a threat of the other side"
        assert len(fours) == 1
        name, cell, four = fours[0]
        assert (name, cell) == (pos.direction, pos.cell)
        for _, w in _windows():  # the four's side: every open window with three or more is part of the four
            mine = {c for c in w if pos.board[c] == four_side}
            if len(mine) >= 3 and not any(pos.board[c] == other for c in w):
                assert mine <= four


def _replies(game, state):
    """Every empty cell of one position played at once: (cells, the states after them)."""
    cells = torch.nonzero(game.legal_mask(state)[0])[:, 0]  # [E]
    batch = state_ops.take(state, torch.zeros(len(cells), dtype=torch.long))  # the position, once per cell
    return cells.tolist(), game.step(batch, cells)


def test_the_completing_cell_wins_at_once_and_no_other_does(game, sets):
    for pos in _each(sets):
        state = build_states(game, [pos])
        cells, after = _replies(game, state)
        wins = [c for c, done, w in zip(cells, after.done.tolist(), after.winner.tolist()) if done and w == pos.mover]
        if pos.kind == "win":
            assert wins == [pos.cell]
            continue
        assert wins == [] and not after.done.any()  # the mover has no win of its own
        elsewhere = next(c for c in cells if c != pos.cell)  # a harmless move: anywhere but the completing cell
        state = game.step(state, torch.tensor([elsewhere]))
        cells, after = _replies(game, state)
        lost = [c for c, done, w in zip(cells, after.done.tolist(), after.winner.tolist()) if done]
        assert lost == [pos.cell] and after.winner[cells.index(pos.cell)] == 1 - pos.mover


def test_positions_are_reproducible_from_the_seed(game, sets):
    assert threat_positions(game, 4, seed=3) == sets
    assert threat_positions(game, 4, seed=4) != sets


def test_probe_figures_are_the_networks_own_outputs(game, sets):
    net, _ = load_policy_value_net(MODEL_DIR / "gomoku_9.pt")  # a trained net: its top moves are not random
    rows = probe_net(net, game, sets, sims=2)
    assert any(r["top1"] > 0 for r in rows)
    assert [(r["direction"], r["kind"]) for r in rows] == list(sets)
    for row, items in zip(rows, sets.values()):
        state = build_states(game, items)
        with torch.no_grad():
            logits, value = net(game.planes(state))
        p = torch.softmax(logits.masked_fill(~game.legal_mask(state), -torch.inf), -1)
        cells = torch.tensor([q.cell for q in items])
        assert row["prior"] == pytest.approx(p[torch.arange(len(items)), cells].mean().item(), abs=1e-5)
        assert row["top1"] == (p.argmax(-1) == cells).float().mean().item()
        assert row["value"] == pytest.approx(value.mean().item(), abs=1e-5)
        assert 0 <= row["search"] <= 1


def _run_dir(tmp_path, game):
    folder = tmp_path / "train__gomoku__0__x" / "checkpoints"
    folder.mkdir(parents=True)
    for i in (1, 2):
        torch.manual_seed(i)
        net = PolicyValueNet(tuple(game.planes_shape), game.num_actions, blocks=1, channels=8)
        payload = {"game": {"name": game.name, "options": dict(game.options)}, "net_config": dict(net.config),
                   "model": net.state_dict()}  # fmt: skip
        save_checkpoint(folder / f"iter_{i:06d}.pt", payload, kind="alphazero")
    return folder.parent


def test_cli_prints_one_row_per_direction_and_kind(tmp_path, capsys, game):
    run = _run_dir(tmp_path, game)
    assert gamelab(["bench", "threats", "gomoku", str(run), "--option", "size=9", "--positions", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(str(run / "checkpoints" / "iter_000002.pt"))  # a run directory: its latest
    assert lines[1].split() == ["direction", "kind", "prior", "top1", "value"]
    assert [line.split()[:2] for line in lines[2:]] == [[d, k] for d in DIRECTIONS for k in KINDS]

    args = ["gomoku", "bundled", str(run / "checkpoints" / "iter_000001.pt"), "--option=size=9", "--positions=2"]
    assert threat_probe.main([*args, "--sims=2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["options"] == {"size": SIZE} and [c["checkpoint"] for c in out["checkpoints"]] == args[1:3]
    net, _ = load_policy_value_net(run / "checkpoints" / "iter_000001.pt")
    mine = probe_net(net, game, threat_positions(game, 2, seed=0), sims=2)
    assert out["checkpoints"][1]["rows"] == mine
    for rows in (c["rows"] for c in out["checkpoints"]):
        assert len(rows) == 8 and all(0 <= r["prior"] <= 1 and 0 <= r["search"] <= 1 for r in rows)


@pytest.mark.parametrize(
    "args, named",
    [
        (["nogame", "bundled"], "nogame"),
        (["tictactoe", "bundled"], "tictactoe"),
        (["gomoku", "no/such.pt", "--option", "size=9"], "no/such.pt"),
        (["gomoku", str(MODEL_DIR / "connect_four.pt"), "--option", "size=9"], "connect_four"),
        (["gomoku", str(MODEL_DIR / "gomoku_9.pt"), "--option", "size=11"], "size=11"),
        (["gomoku", "bundled", "--option", "size=11"], "size=11"),
        (["gomoku", "bundled", "--option", "size=9", "--positions", "0"], "--positions"),
    ],
    ids=["game", "not-k-in-a-row", "missing", "other-game", "other-size", "no-bundled", "positions"],
)
def test_bad_input_is_one_error_line(args, named, capsys):
    try:
        code = threat_probe.main(args)
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: ") and named in err[0]


def test_a_board_too_small_for_the_request_is_an_error(model_dir, capsys):
    model_dir.add(envs.get_game("gomoku", size=5))
    assert threat_probe.main(["gomoku", "bundled", "--option", "size=5", "--extra", "20"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "size=5" in err[0] and "--extra" in err[0]
