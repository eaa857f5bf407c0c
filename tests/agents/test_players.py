"""Player specs, checkpoint players, and stepwise thinking (progress reports, early stop)."""

import pytest
import torch

import agents.players as players_mod
from agents.players import make_player
from core.hashing import file_hash
from envs import get_game


def _tiny_checkpoint(path, game):
    from agents.network import PolicyValueNet
    from core.checkpoint import save_checkpoint

    net = PolicyValueNet(game.planes_shape, game.num_actions, blocks=1, channels=8)
    payload = {
        "game": {"name": game.name, "options": dict(game.options)},
        "net_config": dict(net.config),
        "model": net.state_dict(),
    }
    save_checkpoint(path, payload, kind="alphazero")
    return path


def _midgame(game, batch=4, plies=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    state = game.init(batch)
    for _ in range(plies):
        legal = game.legal_mask(state)
        state = game.step(state, torch.where(legal, torch.rand(legal.shape, generator=gen), -1.0).argmax(-1))
    return state


@pytest.mark.parametrize(
    "spec,name",
    [
        ("random", "random"),
        ("rollout:8", "rollout:8"),
        ("mcts:8", "mcts:8"),
        ("alphabeta:2", "alphabeta:2"),
        ("alphabeta", "alphabeta:4"),
        ("mcts", "mcts:200"),
    ],
)
def test_specs_play_legal_moves(spec, name):
    game = get_game("connect_four")
    player = make_player(spec, game, seed=3)
    assert player.name == name
    state = _midgame(game)
    a = player(game, state)
    assert a.shape == (4,) and a.dtype == torch.long
    assert bool(game.legal_mask(state)[torch.arange(4), a].all())
    if spec.startswith(("rollout", "mcts")):
        assert player.info["visits"].shape == (4, 7) and player.info["value"].shape == (4,)
        assert player.info["policy"].shape == (4, 7)


@pytest.mark.parametrize("spec", ["", "foo", "rollout:abc", "rollout:0", "alphabeta:-1", "az:", "random:3", "x.txt"])
def test_bad_specs_raise_value_error(spec):
    with pytest.raises(ValueError):
        make_player(spec, get_game("tictactoe"))


def test_bundled_missing_names_the_path(tmp_path, monkeypatch):
    monkeypatch.setattr(players_mod, "MODEL_DIR", tmp_path)
    with pytest.raises(players_mod.MissingModelError, match="tictactoe.pt"):
        make_player("bundled", get_game("tictactoe"))
    with pytest.raises(players_mod.MissingModelError, match="no go model is bundled"):
        make_player("bundled", get_game("go", size=7))


def test_bundled_model_per_board_size(model_dir, capsys):
    go7, go9 = get_game("go", size=7), get_game("go")
    assert (
        players_mod.bundled_model_path(go7).name == "go_7.pt" and players_mod.bundled_model_path(go9).name == "go_9.pt"
    )
    assert players_mod.bundled_model_path(get_game("othello")).name == "othello_8.pt"  # the default size counts too
    assert players_mod.bundled_model_path(get_game("connect_four")).name == "connect_four.pt"
    path = model_dir.add(go7)
    (model_dir.path / "go_13.pt").write_bytes(b"")
    (model_dir.path / "go_notes.pt").write_bytes(b"")  # not a size: ignored
    assert players_mod.bundled_sizes("go") == [7, 13] and players_mod.find_bundled_model(go7) == path
    player = make_player("bundled:8", go7)
    assert player.name == f"bundled:{file_hash(path)}:8"
    with pytest.raises(
        players_mod.MissingModelError, match=r"go_9\.pt does not exist; bundled go models: size=7, size=13"
    ):
        make_player("bundled", go9)
    # the 7x7 model was trained with komi 7.5: another komi (not among its inputs) plays, never silently
    capsys.readouterr()
    assert make_player("bundled", get_game("go", size=7, komi=5.5)).name.startswith("bundled:")
    assert "komi=5.5 (trained with 7.5)" in capsys.readouterr().err
    with pytest.raises(ValueError, match="superko"):  # other rules of play: refused
        make_player("bundled", get_game("go", size=7, superko=True))


def test_checkpoint_players(tmp_path, monkeypatch):
    game = get_game("tictactoe")
    path = _tiny_checkpoint(tmp_path / "net.pt", game)
    digest = file_hash(path)
    p1 = make_player(f"az:{path}:12", game)
    assert p1.name == f"az:{digest}:12" and p1.checkpoint == digest and p1.settings["simulations"] == 12
    p2 = make_player(str(path), game)
    assert p2.name == f"az:{digest}:200"
    monkeypatch.setattr(players_mod, "MODEL_DIR", tmp_path)
    (tmp_path / "tictactoe.pt").write_bytes(path.read_bytes())
    p3 = make_player("bundled:16", game)
    assert p3.name == f"bundled:{digest}:16"
    state = _midgame(game, batch=3, plies=2)
    a = p1(game, state)
    assert bool(game.legal_mask(state)[torch.arange(3), a].all())
    assert float(p1.info["visits"].sum(-1)[0]) == 12
    with pytest.raises(ValueError, match="connect_four"):
        make_player(f"az:{path}", get_game("connect_four"))
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        make_player(f"az:{tmp_path / 'missing.pt'}:10", game)


def test_think_reports_and_stops_early():
    game = get_game("connect_four")
    player = make_player("rollout:64", game)
    player.chunk = 8
    state = game.init(1)
    reports, calls = [], []

    def should_stop():
        calls.append(1)
        return len(calls) >= 3

    a = player.think(game, state, should_stop, reports.append)
    steps = [round(64 * (y - x)) for x, y in zip([0.0, *reports], reports)]
    assert len(reports) == 3 and all(1 <= k <= 8 for k in steps)  # steps sized to the clock, at most `chunk`
    assert float(player.info["visits"].sum()) == sum(steps)
    assert 0 <= int(a[0]) < 7
    reports.clear()
    player.think(game, state, lambda: False, reports.append)
    assert reports[-1] == 1.0 and all(x < y for x, y in zip(reports, reports[1:]))
    assert float(player.info["visits"].sum()) == 64


def test_alphabeta_think_deepens():
    game = get_game("connect_four")
    player = make_player("alphabeta:3", game)
    reports = []
    player.think(game, game.init(1), lambda: False, reports.append)
    assert reports == pytest.approx([1 / 3, 2 / 3, 1.0])
    reports.clear()
    player.think(game, game.init(1), lambda: True, reports.append)
    assert reports == pytest.approx([1 / 3])


def test_alphabeta_think_stops_inside_a_depth():
    game = get_game("hex", size=7)
    player = make_player("alphabeta:4", game)
    calls, reports = [], []

    def should_stop():
        calls.append(1)
        return len(calls) >= 5  # checks between depths, at nodes and between batched levels

    a = player.think(game, game.init(1), should_stop, reports.append)
    assert 1 <= len(reports) < 4 and reports == pytest.approx([1 / 4, 2 / 4, 3 / 4][: len(reports)])
    assert len(calls) == 5 and bool(game.legal_mask(game.init(1))[0, a[0]])
    assert player.info["policy"].shape == (1, game.num_actions)
