"""Exporting a run's network: the small file plays exactly like the checkpoint it came from."""

import pytest
import torch

import envs
from agents.export import export_model, main
from agents.network import PolicyValueNet, load_policy_value_net
from core.checkpoint import CheckpointError, save_checkpoint


def _run_dir(tmp_path, iterations=(1, 2)):
    game = envs.get_game("connect_four")
    nets = {}
    for it in iterations:
        torch.manual_seed(it)
        net = PolicyValueNet(game.planes_shape, game.num_actions, blocks=1, channels=8)
        payload = {
            "game": {"name": game.name, "options": {}},
            "net_config": dict(net.config),
            "model": net.state_dict(),
            "optimizer": {"big": torch.zeros(10_000)},
            "iteration": it,
            "step": 10 * it,
            "config": {"seed": 0},
        }
        save_checkpoint(tmp_path / "run" / "checkpoints" / f"iter_{it:06d}.pt", payload, kind="alphazero")
        nets[it] = net.eval()
    return tmp_path / "run", game, nets


def test_export_takes_the_latest_network_and_drops_training_state(tmp_path):
    run, game, nets = _run_dir(tmp_path)
    out = export_model(run, tmp_path / "model.pt")
    assert out.stat().st_size < (run / "checkpoints" / "iter_000002.pt").stat().st_size / 2
    net, loaded_game = load_policy_value_net(out)
    planes = game.planes(game.step(game.init(2), torch.tensor([3, 4])))
    with torch.no_grad():
        for a, b in zip(net(planes), nets[2](planes)):
            assert torch.equal(a, b)
    assert loaded_game.name == "connect_four"
    assert main([str(run), str(tmp_path / "first.pt"), "--iteration", "1"]) == 0
    first, _ = load_policy_value_net(tmp_path / "first.pt")
    with torch.no_grad():
        assert torch.equal(first(planes)[0], nets[1](planes)[0])


def test_export_errors_name_the_problem(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no checkpoint"):
        export_model(tmp_path / "empty", tmp_path / "x.pt")
    assert main([str(tmp_path / "missing.pt"), str(tmp_path / "x.pt")]) == 2
    assert "missing.pt" in capsys.readouterr().err
