"""Deep Dream and the style benchmark, on small images."""

import json

import torch
from PIL import Image

from generative.images import load_image
from generative.style import bench
from generative.style import dream as dream_module
from generative.style.dream import dream, layer_activation
from generative.style.features import RandomFeatures


def test_dream_changes_the_image_and_raises_the_layer_activation():
    net = RandomFeatures()
    image = load_image("builtin:coffee", 48)
    for layer, luminance, lr in (("relu3_1", False, 0.02), ("relu2_1", True, 0.005)):
        out = dream(net, image, layer, octaves=2, steps=4, lr=lr, jitter=4, luminance=luminance)
        assert out.shape == image.shape and 0 <= out.min() and out.max() <= 1
        assert (out - image).abs().mean() > 0.005
        with torch.no_grad():
            assert layer_activation(net, out, layer) > 1.1 * layer_activation(net, image, layer)
        if luminance:  # one step in every channel: colour differences stay as they were, except where clamped
            diff = out - image
            assert ((diff[:, 0] - diff[:, 1]).abs() < 1e-4).float().mean() > 0.75


def test_dream_command(tmp_path, capsys):
    out = tmp_path / "d.png"
    assert dream_module.main(["chelsea", "-o", str(out), "--size", "40", "--octaves", "2", "--steps", "2"]) == 0
    assert Image.open(out).size == (40, round(300 * 40 / 451))
    assert "relu3_1 activation" in capsys.readouterr().out
    assert dream_module.main(["chelsea", "-o", str(out), "--layer", "fc7"]) == 2
    assert "unknown layer 'fc7'" in capsys.readouterr().err
    assert dream_module.main([str(tmp_path / "none.png"), "-o", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_bench_reports_both_methods_as_json(capsys):
    assert bench.main(["--json", "--sizes", "32", "--seconds", "0.01", "--device", "cpu", "--threads", "1"]) == 0
    info = json.loads(capsys.readouterr().out)
    (row,) = info["results"]
    assert row["device"] == "cpu" and row["size"] == 32
    assert row["gatys_iters_per_s"] > 0 and row["feedforward_images_per_s"] > 0
