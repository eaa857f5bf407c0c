"""The StyleGAN2-style networks (generative/gan/stylegan.py), its training step, the faces data, the memorisation
check and the W-space tools of `gamelab generate`."""

import dataclasses
import math
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import torch
import torch.nn.functional as F
from killed_runs import wait_for_checkpoint
from PIL import Image

from core.checkpoint import load_checkpoint
from core.config import parse_config
from core.metrics import read_metrics
from generative.data import FACES_HELDOUT, load_dataset
from generative.gan import cli, generate, latent, memorisation
from generative.gan.step import build_parts, train_step
from generative.gan.stylegan import EqualConv2d, EqualLinear, ModulatedConv2d, StyleGenerator, minibatch_stddev
from generative.gan.trainer import PRESETS, GanConfig, train

SG = ["--preset", "tiny", "--arch=stylegan", "--g_width=4", "--d_width=4", "--z_dim=8", "--w_dim=8", "--batch=8",
      "--eval_samples=0", "--lr_g=0.002", "--lr_d=0.002", "--beta1=0", "--beta2=0.99"]  # fmt: skip


def _cfg(**overrides) -> GanConfig:
    return dataclasses.replace(parse_config(GanConfig, SG[2:], PRESETS, "tiny"), **overrides)


@torch.no_grad()
def test_demodulation_normalises_the_output_scale():
    torch.manual_seed(0)
    conv = ModulatedConv2d(16, 8, 3, w_dim=4)
    conv.affine.weight.mul_(30)  # styles far from 1, different per sample
    w, x = torch.randn(64, 4), torch.randn(64, 16, 12, 12)
    out = conv(x, w)[:, :, 1:-1, 1:-1]  # away from the zero padding
    s = conv.affine(w)
    assert s.abs().max() > 10 * s.abs().min()
    std = out.std(dim=(2, 3))  # [B, Fo]: unit expected scale for unit-variance inputs, whatever the style
    assert 0.75 < float(std.mean()) < 1.25 and float(std.max()) < 2.0
    conv.demodulate = False
    raw = conv(x, w)[:, :, 1:-1, 1:-1].std(dim=(2, 3))
    assert float(raw.mean()) > 5 and float(raw.max() / raw.min()) > 5 * float(std.max() / std.min())  # follows s
    conv.affine.weight.mul_(10)  # styles 10 times larger: 10 times the output without demodulation, same with
    conv.affine.bias.mul_(10)
    big = conv(x[:4], w[:4])
    conv.demodulate = True
    demod_big = conv(x[:4], w[:4])
    conv.affine.weight.div_(10)
    conv.affine.bias.div_(10)
    assert torch.allclose(demod_big, conv(x[:4], w[:4]), atol=1e-5)
    conv.demodulate = False
    assert torch.allclose(big, 10 * conv(x[:4], w[:4]), rtol=1e-4, atol=1e-3)
    # the same as convolving each sample with its own modulated, demodulated weights (the paper's formulation)
    conv.demodulate = True
    for b in range(3):
        wb = conv.weight * conv.weight_gain * s[b][None, :, None, None]  # [Fo, Fi, 3, 3]
        wb = wb * torch.rsqrt(wb.square().sum(dim=(1, 2, 3), keepdim=True) + 1e-8)
        assert torch.allclose(F.conv2d(x[b : b + 1], wb, padding=1), conv(x[b : b + 1], w[b : b + 1]), atol=1e-4)


def test_equalized_learning_rate_scales_weights_at_run_time():
    torch.manual_seed(0)
    lin = EqualLinear(256, 64, lr_mul=0.01)
    assert 90 < float(lin.weight.detach().std()) < 110  # stored as N(0, 1) / lr_mul
    x = torch.randn(5, 256)
    assert torch.allclose(lin(x), F.linear(x, lin.weight * 0.01 / 16, lin.bias * 0.01), atol=1e-5)
    effective = lin.weight * lin.weight_gain
    assert abs(float(effective.std()) - 1 / 16) < 0.005  # He-initialised at run time
    conv = EqualConv2d(8, 4, 3, act=False)
    y = torch.randn(2, 8, 6, 6)
    assert torch.allclose(conv(y), F.conv2d(y, conv.weight / math.sqrt(8 * 9), conv.bias, padding=1), atol=1e-5)
    # the gradient reaches the stored weight through the run-time scale: d out / d stored = scale * d out / d eff
    lin.zero_grad()
    lin(x).sum().backward()
    eff = effective.detach().requires_grad_(True)
    F.linear(x, eff, lin.bias.detach() * 0.01).sum().backward()
    assert torch.allclose(lin.weight.grad, eff.grad * lin.weight_gain, rtol=1e-4)


def _small_g(**kw) -> StyleGenerator:
    torch.manual_seed(1)
    g = StyleGenerator(16, 1, z_dim=8, width=4, w_dim=8, **kw).eval()
    with torch.no_grad():
        for layer in g.layers:
            layer.noise_strength.fill_(0.5)  # noise on: eval mode must still be deterministic
    return g


def test_truncation_psi_zero_gives_the_w_avg_image():
    g = _small_g()
    with torch.no_grad():
        g.mapping.w_avg.copy_(torch.randn(8))
        z = torch.randn(6, 8)
        mean_image = g.synthesis(g.mapping.w_avg[None, None].expand(1, g.num_ws, -1))
        at_zero = g(z, psi=0.0)
        assert torch.allclose(at_zero, mean_image.expand_as(at_zero), atol=1e-5)
        assert not torch.allclose(g(z), mean_image.expand_as(at_zero), atol=1e-2)  # psi 1: no truncation
        assert torch.equal(g(z), g(z))  # fixed noise in eval mode
        half = g.styles(z, psi=0.5)[:, 0]
        assert torch.allclose(half, (g.mapping(z) + g.mapping.w_avg) / 2, atol=1e-5)


def test_w_avg_tracks_the_mean_w_in_training():
    g = _small_g().train()
    g.mapping.w_avg_beta = 0.9  # 0.995 in training; faster here
    z = torch.randn(32, 8)
    with torch.no_grad():
        for _ in range(300):
            g.mapping(z, update_w_avg=True)
    assert torch.allclose(g.mapping.w_avg, g.mapping(z).mean(0), atol=1e-4)


def test_style_mixing_switches_layers():
    g = _small_g()
    outputs: dict[int, torch.Tensor] = {}
    for i, layer in enumerate(g.layers):
        layer.register_forward_hook(lambda _m, _i, out, i=i: outputs.__setitem__(i, out.detach().clone()))
    wa, wb, wc = (latent.seed_w(g, [s]) for s in (1, 2, 3))
    cutoff = 3  # layers 0-2 (4x4 and the first 8x8 conv) take the first latent's w, the rest the second's

    def run(second):
        ws = torch.cat([wa[:, None].expand(1, cutoff, -1), second[:, None].expand(1, g.num_ws - cutoff, -1)], 1)
        image = g.synthesis(ws)
        return image, dict(outputs)

    img_b, acts_b = run(wb)
    img_c, acts_c = run(wc)
    for i in range(cutoff):
        assert torch.equal(acts_b[i], acts_c[i]), i  # driven by the early layers only: unchanged
    for i in range(cutoff, len(g.layers)):
        assert not torch.allclose(acts_b[i], acts_c[i], atol=1e-4), i  # the later layers follow the second latent
    assert not torch.allclose(img_b, img_c, atol=1e-4)
    # the regularizer itself: with probability 1 every batch is split at one cutoff into two latents' styles
    torch.manual_seed(0)
    ws = g.styles(torch.randn(4, 8), mixing=1.0)
    changes = (ws[:, 1:] != ws[:, :-1]).any(2).any(0)  # [L-1]: where the w changes along the layers
    assert int(changes.sum()) == 1
    # the mixing table puts each row seed's early styles with the column seed's late ones
    table = latent.mixing_grid(g, [1], [2, 3], range(cutoff, g.num_ws))
    assert table.shape == (6, 1, 16, 16)  # a header row and column around one row of two mixes
    assert torch.allclose(table[4], latent.to_unit(img_b[0]), atol=1e-5)
    assert torch.allclose(table[5], latent.to_unit(img_c[0]), atol=1e-5)


def test_minibatch_stddev_groups_samples():
    x = torch.zeros(8, 2, 3, 3)
    x[1::2] = 1.0  # groups of 4 with stride 2: samples 0,2,4,6 all 0; 1,3,5,7 all 1 -> zero spread in each group
    assert torch.allclose(minibatch_stddev(x)[:, -1], torch.full((8, 3, 3), 1e-4), atol=1e-4)
    x[4:] += 2.0  # now each group holds two values 2 apart: std 1
    assert torch.allclose(minibatch_stddev(x)[:, -1], torch.ones(8, 3, 3), atol=1e-3)


def test_r1_and_path_length_run_on_their_intervals():
    cfg = _cfg(r1_gamma=1.0, r1_every=3, pl_weight=2.0, pl_every=2, augment="translation", aug_p=0.3)
    x, _, _ = load_dataset("digits", 8, limit=64)
    torch.manual_seed(0)
    parts = build_parts(cfg, 1, 10, torch.device("cpu"))
    gen = torch.Generator().manual_seed(0)
    batch = lambda: (x[torch.randint(len(x), (cfg.batch,), generator=gen)], None)  # noqa: E731
    # the lazy intervals shrink the learning rates by k/(k+1) and raise the betas to that power
    assert parts.opt_d.param_groups[0]["lr"] == pytest.approx(0.002 * 3 / 4)
    assert parts.opt_g.param_groups[0]["betas"][1] == pytest.approx(0.99 ** (2 / 3))
    for step in range(7):
        before = float(parts.g.pl_mean)
        out = train_step(parts, batch, step)
        assert (float(out["penalty"]) > 0) == (step % 3 == 0), step
        assert (float(out["pl"]) > 0) == (step % 2 == 0), step
        assert (float(parts.g.pl_mean) != before) == (step % 2 == 0), step
        assert torch.equal(parts.ema.module.mapping.w_avg, parts.g.mapping.w_avg)  # copied, not averaged


@pytest.mark.slow
def test_kill_at_a_random_moment_then_resume_matches_an_uninterrupted_run(tmp_path):
    """The stylegan arch on the GAN job's own checkpoints: killed anywhere, resumed, it ends bit-for-bit where an
    uninterrupted run does (weights, EMA, w_avg and pl_mean, both optimizers, augmentation, logged losses)."""
    args = [*SG, "--steps=16", "--ckpt_every=4", "--sample_every=8", "--augment=color,translation", "--ada_speed=200",
            "--ada_interval=2", "--r1_gamma=0.5", "--r1_every=3", "--pl_every=2", "--style_mixing=0.9"]  # fmt: skip
    assert cli.main(["train", "--runs", str(tmp_path / "a"), "--quiet", *args]) == 0
    (run_a,) = (tmp_path / "a").iterdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GAMELAB_PROGRESS": "0"}
    cmd = [sys.executable, "-m", "generative.gan.trainer", "--runs", str(tmp_path / "b"), *args]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_checkpoint(proc, tmp_path / "b", "*/checkpoints/step_0000004.pt")
    time.sleep(random.uniform(0.0, 0.5))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    (run_b,) = (tmp_path / "b").iterdir()
    assert cli.main(["train", "--resume", str(run_b), "--quiet"]) == 0
    a = load_checkpoint(run_a / "checkpoints" / "step_0000016.pt")
    b = load_checkpoint(run_b / "checkpoints" / "step_0000016.pt")
    assert a["model_config"]["arch"] == "stylegan" and a["ada"] == b["ada"]
    assert float(a["G"]["pl_mean"]) > 0 and a["G"]["mapping.w_avg"].abs().sum() > 0
    for key in ("G", "D"):
        for name, value in a[key].items():
            assert torch.equal(value, b[key][name]), (key, name)
    for name, value in a["ema"]["module"].items():
        assert torch.equal(value, b["ema"]["module"][name]), name
    for opt in ("opt_g", "opt_d"):
        for sa, sb in zip(a[opt]["state"].values(), b[opt]["state"].values(), strict=True):
            assert all(torch.equal(sa[k], sb[k]) for k in sa), opt

    def losses(run):
        return [(r["step"], r["loss_d"], r["loss_g"], r["pl"]) for r in read_metrics(run / "metrics.jsonl")
                if "loss_d" in r]  # fmt: skip

    assert losses(run_a) == losses(run_b) and len(losses(run_a)) == 4


def test_faces_split_and_memorisation_check():
    train_x, y, k = load_dataset("faces", 32)
    held, _, _ = load_dataset("faces-heldout", 32)
    assert train_x.shape == (80, 1, 32, 32) and held.shape == (20, 1, 32, 32) and y is None and k == 0
    assert len(FACES_HELDOUT) == 20 and -1 <= float(train_x.min()) and float(train_x.max()) <= 1
    d, _ = memorisation.nearest(held, train_x)
    assert float(d.min()) > 0.02  # no held-out face is (nearly) a training face
    copies = memorisation.memorisation(train_x[:30], train_x, held)
    assert copies["sample_nn_median"] == 0 and copies["ratio"] == 0 and copies["closer_than_heldout"] == 1
    fresh = memorisation.memorisation(held, train_x, held)
    assert fresh["ratio"] == pytest.approx(1.0) and fresh["closer_than_heldout"] == 0


def test_stylegan_run_generate_and_memorisation_commands(tmp_path, capsys):
    run = train(_cfg(data="faces", size=8, steps=4, sample_every=4, ckpt_every=4, augment=""), runs=tmp_path)
    run_dir = str(run["run_dir"])
    with Image.open(run["run_dir"] / "samples" / "latest.png") as img:
        assert img.size == (8 * 10 + 2, 8 * 10 + 2)
    mix, gif, grid = tmp_path / "mix.png", tmp_path / "w.gif", tmp_path / "grid.png"
    args = [run_dir, "--n", "6", "--grid", str(grid), "--truncation", "0.7", "--mix-rows", "1,2", "--mix-cols",
            "3,4,5", "--mix-layers", "fine", "--mix-grid", str(mix), "--interpolate", "4",
            "--gif", str(gif)]  # fmt: skip
    assert generate.main(args) == 0
    with Image.open(mix) as img:
        assert img.size == (4 * 10 + 2, 3 * 10 + 2)  # a header row and column around 2 x 3 mixes
    with Image.open(gif) as img:
        assert img.n_frames == 4 + 2
    # truncation at 0 makes every sample the mean image
    g, _ = generate.load_generator(run_dir)
    same = latent.sample_w(g, 5, psi=0.0)
    assert torch.allclose(same, same[:1].expand_as(same), atol=1e-6)
    # projecting one of the generator's own images reconstructs it better than the mean image does
    target_path = tmp_path / "target.png"
    generate.save_image(latent.sample_w(g, 1, seed=9)[0], target_path)
    capsys.readouterr()
    assert generate.main([run_dir, "--project", str(target_path), "--project-steps", "60",
                          "--project-out", str(tmp_path / "proj.png")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    mse, start = (float(out.split(key)[1].split()[0].rstrip(";)")) for key in ("MSE ", "mean image's MSE "))
    assert mse < 0.5 * start, out
    assert memorisation.main([run_dir, "--n", "20", "--picture", str(tmp_path / "nn.png")]) == 0
    assert "held-out" in capsys.readouterr().out
    with Image.open(tmp_path / "nn.png") as img:
        assert img.size == (8 * 10 + 2, 6 * 10 + 2)  # 2 sample rows and 1 held-out row, each over its neighbours
    for bad in ([run_dir, "--truncation", "-1"], [run_dir, "--mix-rows", "1"], [run_dir, "--mix-rows", "1",
                "--mix-cols", "2", "--mix-layers", "9-12"]):  # fmt: skip
        try:
            code = generate.main(bad)
        except SystemExit as refused:  # the parser's refusal: one error line, status 2
            code = refused.code
        assert code == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err


def test_stylegan_config_errors(tmp_path, capsys):
    for bad, named in ((["--cond"], "cond"), (["--loss=hinge"], "loss"), (["--map_lr_mul=0"], "map_lr_mul")):
        assert cli.main(["train", *SG, "--runs", str(tmp_path), *bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and named in err, err
    assert not list(tmp_path.iterdir())
    dcgan = train(dataclasses.replace(_cfg(), arch="dcgan", steps=1, ckpt_every=1), runs=tmp_path)["run_dir"]
    assert generate.main([str(dcgan), "--truncation", "0.5"]) == 2
    assert "StyleGAN" in capsys.readouterr().err
