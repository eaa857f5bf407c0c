"""kata-analyze with a network's ownership and score heads: the reported ownership is the heads' values averaged over
the search tree (KataGo's getAverageTreeOwnership), checked against the network called directly on every node's
position (a recursion over the tree written here, not the analysis' level-by-level sums), in GTP's order (row by row
from the top left) and from the analysed colour's view; scoreLead likewise per move. A model without the heads falls
back to the playout estimate, and lz-analyze keeps Leela Zero's fields."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from test_gtp import Engine
from test_gtp_analysis import read_analysis, stop_after

from agents import gtp_analysis
from agents.gtp import GtpEngine, _player_maker
from agents.gtp_coords import parse_vertex
from agents.network import PolicyValueNet, load_policy_value_net
from agents.tree import state_gather
from core.checkpoint import save_checkpoint
from envs.go import Go

SIZE = 5
COLUMNS = "ABCDEFGHJKLMNOPQRST"


def _save_model(path: Path, heads: bool) -> Path:
    """A small 5x5 Go net (komi 7.5) with or without the ownership and score heads; the heads' last layers are
    scaled up so that their values spread over (-1, 1) and several points."""
    torch.manual_seed(3)
    game = Go(size=SIZE, komi=7.5)
    net = PolicyValueNet(game.planes_shape, game.num_actions, blocks=1, channels=8, ownership_head=heads,
                         score_head=heads)  # fmt: skip
    if heads:
        with torch.no_grad():
            net.ownership_conv.weight.normal_(0.0, 3.0)
            net.score_fc[-1].weight.normal_(0.0, 3.0)
    payload = {"game": {"name": "go", "options": dict(game.options)}, "net_config": net.config,
               "model": net.state_dict()}  # fmt: skip
    return save_checkpoint(path, payload, kind="alphazero")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("models")
    return {"heads": _save_model(folder / "heads.pt", True), "plain": _save_model(folder / "plain.pt", False)}


def _engine(path: Path, sims: int = 24) -> tuple[GtpEngine, list[str]]:
    out: list[str] = []
    engine = GtpEngine(_player_maker(path, sims, 0), size=SIZE, sims=sims)
    engine.emit = out.append
    return engine, out


def _gtp_order(size: int) -> list[int]:
    """Board points in the order of kata-analyze's ownership: A<size>, B<size>, ..., then the next row down."""
    return [parse_vertex(f"{COLUMNS[c]}{size - r}", size) for r in range(size) for c in range(size)]


def _expected(path: Path, game: Go, tree) -> tuple[list[float], dict[int, float]]:
    """The tree's visit-weighted mean ownership (root player's view, board order) and each root child's mean score
    in points under the game's komi, from direct calls of the net on each node's position, by recursion."""
    net, net_game = load_policy_value_net(path)
    root_player = int(tree.states.player[0, 0])
    cells = game.num_points

    def node_values(v: int) -> tuple[torch.Tensor, float]:
        state = state_gather(tree.states, torch.zeros(1, dtype=torch.long), torch.tensor([v]))
        if bool(tree.terminal[0, v]):
            own, score = game.ownership(state)[0], float(game.final_score(state)[0])
        else:
            with torch.no_grad():
                out = net(game.planes(state), aux=True)
            own = torch.tanh(out["ownership"][0])
            black = int(state.player[0]) == 0
            score = float(out["score"][0]) * cells + (net_game.komi - game.komi) * (1 if black else -1)
        sign = 1.0 if int(state.player[0]) == root_player else -1.0
        return sign * own.double(), sign * score

    def subtree(v: int) -> tuple[torch.Tensor, float, float]:  # (ownership sum, score sum, weight)
        kids = [int(c) for c in tree.children[0, v] if int(c) >= 0]
        own, score = node_values(v)
        weight = float(tree.visits[0, v]) - sum(float(tree.visits[0, c]) for c in kids)
        total_own, total_score = own * weight, score * weight
        for c in kids:
            o, s, w = subtree(c)
            total_own, total_score, weight = total_own + o, total_score + s, weight + w
        return total_own, total_score, weight

    own, _, weight = subtree(0)
    scores = {}
    for action, c in enumerate(tree.children[0, 0].tolist()):
        if c >= 0:
            _, s, w = subtree(c)
            scores[action] = s / w
    return (own / weight).tolist(), scores


@pytest.mark.parametrize("colour", ["b", "w"])
def test_kata_analyze_reports_the_heads_averaged_over_the_tree(models, colour, monkeypatch):
    made = []

    class Recorded(gtp_analysis.TreeAux):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(gtp_analysis, "TreeAux", Recorded)
    engine, out = _engine(models["heads"])
    for line in ("komi 0.5", "play b B2", "play w C3", "play b C2"):  # komi differs from the net's 7.5
        assert engine.execute(line) == "=\n\n"
    engine.input_waiting = stop_after(out, 2)
    assert engine.execute(f"kata-analyze {colour} 1 ownership true") == "\n"
    assert len(made) == 1 and made[0].misses == 0  # every node's heads came with the search's own network calls
    moves, own = read_analysis(out[-1], SIZE, kata=True)
    tree = engine.analysis.tree
    assert int(tree.states.player[0, 0]) == (0 if colour == "b" else 1) and int(tree.num_nodes[0]) > 2
    want_own, want_scores = _expected(models["heads"], engine.game, tree)
    got = dict(zip(_gtp_order(SIZE), own))
    assert max(abs(got[p] - want_own[p]) for p in range(SIZE * SIZE)) < 2e-4
    assert max(abs(x) for x in own) > 0.2  # the heads' values, not a flat map
    for m in moves:
        action = parse_vertex(m["move"], SIZE)
        assert float(m["scoreMean"]) == float(m["scoreLead"])
        assert abs(float(m["scoreLead"]) - want_scores[action]) < 1e-3, m["move"]
        assert abs(float(m["utility"]) - (2 * float(m["winrate"]) - 1)) < 1e-5


def test_the_heads_leave_the_search_as_it_was(models):
    """kata-genmove_analyze (searching with the heads kept) and lz-genmove_analyze (the player's own evaluator)
    search the same tree for the same budget."""
    visits = []
    for command in ("kata-genmove_analyze b 1 ownership true", "lz-genmove_analyze b 1"):
        engine, _ = _engine(models["heads"], sims=40)
        engine.execute("play b C3")
        assert engine.execute(command).startswith("play ")
        visits.append(engine.analysis.visits[0])
    assert torch.equal(visits[0], visits[1]) and float(visits[0].sum()) >= 40


def test_a_model_without_the_heads_falls_back_to_playouts(models):
    """Black fills a 5x5 board but two eyes: with white to move only the pass is legal; the playout estimate is exact
    there, and the plain model's report has no score fields."""
    engine, out = _engine(models["plain"], sims=16)
    assert engine.player.aux_evaluate is None
    points = [f"{c}{r}" for c in "ABCDE" for r in range(1, 6) if f"{c}{r}" not in ("A1", "E5")]
    for p in points:
        assert engine.execute(f"play b {p}") == "=\n\n"
    engine.input_waiting = stop_after(out, 2)
    engine.execute("kata-analyze w 1 ownership true")
    moves, own = read_analysis(out[-1], SIZE, kata=True)
    assert own == [-1.0] * 25
    assert all("scoreLead" not in m and "utility" in m for m in moves)
    heads, _ = _engine(models["heads"], sims=16)  # the same board with the heads: the net's values, not exact
    for p in points:
        heads.execute(f"play b {p}")
    heads.emit = out.append
    out.clear()
    heads.input_waiting = stop_after(out, 2)
    heads.execute("kata-analyze w 1 ownership true")
    assert read_analysis(out[-1], SIZE, kata=True)[1] != [-1.0] * 25


def test_lz_analyze_keeps_leela_zeros_fields(models):
    engine, out = _engine(models["heads"])
    engine.input_waiting = stop_after(out, 1)
    engine.execute("lz-analyze b 1")
    moves, own = read_analysis(out[-1], SIZE, kata=False)
    assert own is None and moves
    assert all(set(m) == {"move", "visits", "winrate", "prior", "lcb", "order", "pv"} for m in moves)


def test_heads_through_the_engine_process(models):
    """`gamelab gtp go --checkpoint` as a child process, as Sabaki runs it: kata-analyze's lines carry the score
    fields and an ownership map that is not the playout estimate (whose values are sixteenths)."""
    engine = Engine("--checkpoint", str(models["heads"]), "--sims", "16")
    try:
        assert engine.ask("1 play b C3") == "=1"
        engine.send(b"2 kata-analyze w 5 ownership true\n")
        assert engine.lines.get(timeout=120) == b"=2\n"
        moves, own = read_analysis(engine.lines.get(timeout=120).decode(), SIZE, kata=True)
        assert moves and all(math.isfinite(float(m["scoreLead"])) for m in moves)
        assert any(abs(x * 16 - round(x * 16)) > 0.01 for x in own)
        engine.send(b"3 name\n")
        while (line := engine.lines.get(timeout=120)) != b"\n":
            read_analysis(line.decode(), SIZE, kata=True)
        assert engine.reply() == "=3 gamelab"
        assert engine.quit() == 0
    finally:
        engine.kill()
