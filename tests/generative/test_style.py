"""Loss networks, losses, Gatys style transfer and texture synthesis, on small images."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from generative.images import load_image
from generative.style import dream, texture, transfer
from generative.style.features import (
    RANDOM_SEED,
    VGG_LAYOUTS,
    LossNetworkError,
    RandomFeatures,
    load_vgg,
    make_loss_network,
)
from generative.style.gatys import (
    GatysConfig,
    default_style_weight,
    optimize_image,
    preserve_color,
    rgb_to_yiq,
    scale_sizes,
    yiq_to_rgb,
)
from generative.style.losses import StyleTargets, content_loss, gram_matrix, style_loss, tv_loss

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def _torchvision_vgg_state_dict(arch: str, seed: int = 0) -> dict:
    """A random VGG state_dict with torchvision's key names and shapes, written out from the published layout."""
    gen = torch.Generator().manual_seed(seed)
    state, index, cin = {}, 0, 3
    for item in VGG_LAYOUTS[arch]:
        if item == "M":
            index += 1
            continue
        state[f"features.{index}.weight"] = torch.randn(item, cin, 3, 3, generator=gen) * (2 / (9 * cin)) ** 0.5
        state[f"features.{index}.bias"] = torch.randn(item, generator=gen) * 0.01
        cin, index = item, index + 2  # conv, then its ReLU
    state["classifier.0.weight"] = torch.randn(8, 5, generator=gen)  # classifier keys are ignored
    state["classifier.0.bias"] = torch.zeros(8)
    return state


def test_gram_matrix_matches_a_loop():
    x = torch.randn(2, 3, 4, 5)
    g = gram_matrix(x)
    for b in range(2):
        for c in range(3):
            for d in range(3):
                assert torch.isclose(g[b, c, d], (x[b, c] * x[b, d]).sum() / 20, atol=1e-5)


def test_losses_are_zero_at_target_and_positive_elsewhere():
    f = {"a": torch.rand(1, 4, 6, 6)}
    assert style_loss(f, {"a": gram_matrix(f["a"])}).item() == pytest.approx(0, abs=1e-10)
    assert content_loss(f, {"a": f["a"]}).item() == 0
    other = {"a": torch.rand(1, 4, 6, 6)}
    assert style_loss(other, {"a": gram_matrix(f["a"])}).item() > 0
    assert content_loss(other, {"a": f["a"]}).item() > 0


def test_tv_loss_by_hand():
    assert tv_loss(torch.full((1, 3, 5, 5), 0.3)).item() == 0
    stripes = torch.zeros(1, 1, 2, 4)
    stripes[..., 1::2] = 1.0  # columns alternate: every horizontal neighbour differs by 1, vertical ones agree
    assert tv_loss(stripes).item() == pytest.approx(1.0)


def test_random_network_is_fixed_by_its_seed_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a, b = RandomFeatures(), RandomFeatures()
    assert torch.equal(torch.get_rng_state(), before)
    assert a.seed == RANDOM_SEED
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), name
    c = RandomFeatures(seed=RANDOM_SEED + 1)
    assert not torch.equal(a.features[0].convs[0].weight, c.features[0].convs[0].weight)
    feats = a(torch.rand(1, 3, 40, 40), a.style_layers)
    assert [feats[k].shape[-1] for k in a.style_layers] == [40, 20, 10, 5, 3]
    assert not any(p.requires_grad for p in a.parameters())


@pytest.mark.parametrize("arch", ["vgg16", "vgg19"])
def test_vgg_loads_a_torchvision_layout_state_dict(tmp_path, arch):
    state = _torchvision_vgg_state_dict(arch)
    torch.save(state, tmp_path / "vgg.pth")
    net = load_vgg(tmp_path / "vgg.pth", pool="max")
    assert net.arch == arch
    x = torch.rand(1, 3, 24, 24)
    # independent oracle: the first two blocks of VGG written out with functional ops
    h = (x - MEAN) / STD
    h = F.relu(F.conv2d(h, state["features.0.weight"], state["features.0.bias"], padding=1))
    h = F.relu(F.conv2d(h, state["features.2.weight"], state["features.2.bias"], padding=1))
    h = F.max_pool2d(h, 2)
    h = F.relu(F.conv2d(h, state["features.5.weight"], state["features.5.bias"], padding=1))
    out = net(x, ["relu2_1"])["relu2_1"]
    assert torch.allclose(out, h, atol=1e-5)
    assert make_loss_network(tmp_path / "vgg.pth").arch == arch
    if arch == "vgg16":  # the commands take the file too
        out = tmp_path / "t.png"
        args = ["brick", "-o", str(out), "--size", "32", "--steps", "2", "--scales", "1", "--weights"]
        assert texture.main([*args, str(tmp_path / "vgg.pth")]) == 0
        assert Image.open(out).size == (32, 32)


def test_vgg_loader_errors_name_the_file_and_the_problem(tmp_path):
    with pytest.raises(LossNetworkError, match="missing.pth.*does not exist"):
        load_vgg(tmp_path / "missing.pth")
    (tmp_path / "junk.pth").write_bytes(b"\x00garbage")
    with pytest.raises(LossNetworkError, match="cannot read VGG weights file .*junk.pth"):
        load_vgg(tmp_path / "junk.pth")
    torch.save({"conv.weight": torch.zeros(3, 3, 3, 3)}, tmp_path / "other.pth")
    with pytest.raises(LossNetworkError, match="found 0 'features.N.weight'.*VGG16 has 13"):
        load_vgg(tmp_path / "other.pth")
    state = _torchvision_vgg_state_dict("vgg16")
    state["features.2.weight"] = torch.zeros(64, 64, 5, 5)
    torch.save(state, tmp_path / "bad_shape.pth")
    with pytest.raises(LossNetworkError, match="does not match torchvision's vgg16 layout"):
        load_vgg(tmp_path / "bad_shape.pth")


def test_scale_sizes_go_coarse_to_fine():
    assert scale_sizes(256, 200, 3) == [(64, 50), (128, 100), (256, 200)]
    assert scale_sizes(48, 48, 3) == [(48, 48)]  # a coarser scale would fall below 32 px


def test_yiq_round_trip_and_preserve_color_keeps_the_content_chroma():
    x = torch.rand(1, 3, 8, 8)
    assert torch.allclose(yiq_to_rgb(rgb_to_yiq(x)), x, atol=1e-5)
    content = 0.25 + 0.5 * torch.rand(1, 3, 8, 8)
    stylized = 0.25 + 0.5 * torch.rand(1, 3, 8, 8)
    out = rgb_to_yiq(preserve_color(stylized, content))
    assert torch.allclose(out[:, 1:], rgb_to_yiq(content)[:, 1:], atol=1e-4)
    assert torch.allclose(out[:, :1], rgb_to_yiq(stylized)[:, :1], atol=1e-4)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_gatys_losses_fall(optimizer):
    net = RandomFeatures()
    content = load_image("builtin:chelsea", (40, 48))
    style = load_image("builtin:brick", 48)
    targets = StyleTargets(net, style)
    cfg = GatysConfig(
        steps=12 if optimizer == "lbfgs" else 30,
        scales=1,
        optimizer=optimizer,
        style_weight=10,
        lr=None if optimizer == "lbfgs" else 0.05,
    )
    history = []
    out = optimize_image(targets, cfg, content=content, history=history)
    assert out.shape == content.shape and 0 <= out.min() and out.max() <= 1
    first, last = history[0], history[-1]
    assert first["content"] == pytest.approx(0, abs=1e-6)  # starts from the content image
    start = 10 * first["style"] + first["content"]
    end = 10 * last["style"] + last["content"]
    assert end < 0.5 * start
    assert last["style"] < 0.5 * first["style"]


def test_texture_gram_loss_falls_and_frames_are_written(tmp_path):
    targets = StyleTargets(RandomFeatures(), load_image("builtin:gravel", 48))
    history = []
    out = optimize_image(
        targets,
        GatysConfig(steps=8, scales=2, content_weight=0),
        size=(64, 64),
        history=history,
        frames=tmp_path / "frames",
        frame_every=4,
    )
    assert out.shape == (1, 3, 64, 64)
    assert [h["scale"] for h in history] == [0] * 8 + [1] * 8
    assert history[-1]["style"] < 0.3 * history[0]["style"]
    frames = sorted((tmp_path / "frames").glob("frame_*.png"))
    assert len(frames) == 6 and all(Image.open(f).size == (64, 64) for f in frames)


def test_transfer_and_texture_commands(tmp_path, capsys):
    out = tmp_path / "out.png"
    assert (
        transfer.main(
            ["chelsea", "brick", "-o", str(out), "--size", "40", "--steps", "3", "--scales", "1", "--preserve-color"]
        )
        == 0
    )
    assert Image.open(out).size == (40, round(300 * 40 / 451))  # chelsea is 451 x 300
    assert texture.main(["gravel", "-o", str(tmp_path / "t.png"), "--size", "36", "--steps", "2", "--scales", "1"]) == 0
    assert Image.open(tmp_path / "t.png").size == (36, 36)


def test_commands_report_bad_inputs(tmp_path, capsys):
    assert transfer.main([str(tmp_path / "nope.jpg"), "brick", "-o", str(tmp_path / "o.png")]) == 2
    assert "nope.jpg' does not exist" in capsys.readouterr().err
    assert transfer.main(["chelsea", "brick", "-o", str(tmp_path / "o.png"), "--weights", str(tmp_path / "w.pth")]) == 2
    assert "VGG weights file" in capsys.readouterr().err
    np.save(tmp_path / "x.npy", np.zeros(3))
    assert texture.main([str(tmp_path / "x.npy"), "-o", str(tmp_path / "o.png")]) == 2
    assert "cannot read image file" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_image_commands_share_the_job_command_line(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert transfer.main(["chelsea", "brick", "--dry-run", "--runs", str(runs), "--threads", "1"]) == 0
    (run,) = runs.iterdir()  # no -o: the result goes into a run directory with its config
    assert run.name.startswith("transfer__chelsea__0__") and (run / "config.json").is_file()
    assert Image.open(run / "result.png").size == (64, round(300 * 64 / 451))  # the dry run's small budget
    capsys.readouterr()
    assert texture.main(["gravel", "--size", "48", "--steps=3", "--print-config"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["style"] == "gravel" and printed["size"] == 48 and printed["steps"] == 3
    assert dream.main(["chelsea", "--dry-run", "-o", str(tmp_path / "d.png")]) == 0
    assert Image.open(tmp_path / "d.png").size == (64, 43)


@pytest.mark.parametrize(
    "command, argv, named",
    [
        ("transfer", ["chelsea", "brick", "--style-weight=-1"], "style_weight"),
        ("transfer", ["chelsea", "brick", "--size", "0"], "size"),
        ("transfer", ["chelsea", "brick", "--optimizer=sgd"], "sgd"),
        ("transfer", ["chelsea"], "STYLE"),
        ("texture", ["gravel", "--steps=0"], "steps"),
        ("texture", ["gravel", "--scales", "many"], "scales"),
        ("dream", ["chelsea", "--octaves=0"], "octaves"),
        ("dream", ["chelsea", "--colour=1"], "colour"),
        ("dream", ["chelsea", "--threads=0"], "threads"),
    ],
)
def test_image_commands_refuse_bad_values_in_one_line(tmp_path, capsys, command, argv, named):
    main = {"transfer": transfer.main, "texture": texture.main, "dream": dream.main}[command]
    assert main([*argv, "-o", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and named in err, err
    assert not (tmp_path / "o.png").exists()


def test_default_style_weight_follows_the_area():
    assert default_style_weight(256) == 2.0 and default_style_weight(128) == 0.5 and default_style_weight(512) == 8.0
