"""PolicyValueNet: shapes, presets, config round trip, checkpoint loading, and the network evaluator."""

from __future__ import annotations

import math

import pytest
import torch

from agents.leaf_evaluators import network_evaluator
from agents.network import PRESETS, PolicyValueNet, load_policy_value_net
from core.blocks import GlobalPoolBias
from core.checkpoint import CheckpointError, save_checkpoint


@pytest.mark.parametrize("preset", ["b2c16", "b4c32"])
def test_shapes_and_value_range(preset):
    net = PolicyValueNet((3, 6, 7), 7, **PRESETS[preset]).eval()
    logits, value = net(torch.randn(5, 3, 6, 7) * 3)
    assert logits.shape == (5, 7) and value.shape == (5,)
    assert bool((value.abs() <= 1).all())


def test_presets_are_named_by_blocks_and_channels():
    for name, kw in PRESETS.items():
        assert name == f"b{kw['blocks']}c{kw['channels']}"


def test_global_pool_blocks():
    plain = PolicyValueNet((2, 3, 3), 9, blocks=3, channels=8)
    pooled = PolicyValueNet((2, 3, 3), 9, blocks=3, channels=8, global_pool=True)
    assert not any(isinstance(m, GlobalPoolBias) for m in plain.modules())
    assert sum(isinstance(m, GlobalPoolBias) for m in pooled.modules()) == 1
    assert pooled(torch.randn(2, 2, 3, 3))[0].shape == (2, 9)


def test_config_round_trip_and_checkpoint(tmp_path):
    torch.manual_seed(0)
    net = PolicyValueNet((3, 6, 7), 7, blocks=2, channels=8, global_pool=True).eval()
    clone = PolicyValueNet.from_config(net.config)
    clone.load_state_dict(net.state_dict())
    x = torch.randn(4, 3, 6, 7)
    assert torch.allclose(net(x)[0], clone.eval()(x)[0])
    payload = {"game": {"name": "connect_four", "options": {}}, "net_config": net.config, "model": net.state_dict()}
    path = save_checkpoint(tmp_path / "ckpt.pt", payload, kind="alphazero")
    loaded, game = load_policy_value_net(path)
    assert not loaded.training
    assert game.name == "connect_four"
    assert torch.allclose(loaded(x)[1], net(x)[1])
    other = save_checkpoint(tmp_path / "gan.pt", {"model": {}}, kind="gan")
    with pytest.raises(CheckpointError):
        load_policy_value_net(other)
    with pytest.raises(CheckpointError):
        load_policy_value_net(tmp_path / "missing.pt")


def test_network_evaluator_masks_and_keeps_mode():
    net = PolicyValueNet((2, 3, 3), 9, blocks=1, channels=8)
    net.train()
    evaluate = network_evaluator(net, "cpu")
    planes = torch.randn(6, 2, 3, 3)
    mask = torch.rand(6, 9) > 0.4
    mask[:, 0] = True
    logits, value = evaluate(planes, mask)
    assert net.training  # restored
    assert not logits.requires_grad
    assert bool((logits[~mask] == -math.inf).all()) and bool(torch.isfinite(logits[mask]).all())
    expect_logits, expect_value = net.eval()(planes)
    assert torch.allclose(logits[mask], expect_logits[mask], atol=1e-5)
    assert torch.allclose(value, expect_value, atol=1e-5)
