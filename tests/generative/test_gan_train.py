"""GAN training runs on CPU: learning, exact resume, the non-finite guard, generate and eval commands."""

import dataclasses
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from core.checkpoint import load_checkpoint
from core.config import parse_config
from core.metrics import read_metrics
from generative.gan import bench, cli, generate
from generative.gan.eval import evaluate
from generative.gan.trainer import PRESETS, GanConfig, train


@pytest.fixture(scope="module", autouse=True)
def _classifier_cache(tmp_path_factory):
    """Metric classifiers trained here go to a temporary cache, not the user's."""
    old = os.environ.get("GAMELAB_CACHE")
    os.environ["GAMELAB_CACHE"] = str(tmp_path_factory.mktemp("gamelab_cache"))
    yield
    if old is None:
        os.environ.pop("GAMELAB_CACHE", None)
    else:
        os.environ["GAMELAB_CACHE"] = old


def _tiny(tmp_path, **overrides) -> GanConfig:
    cfg = parse_config(GanConfig, [], PRESETS, "tiny")
    return dataclasses.replace(cfg, root=str(tmp_path), **overrides)


@pytest.fixture(scope="module")
def learned_run(tmp_path_factory):
    """A short real run on 8 px digits: long enough to learn the rough shapes."""
    root = tmp_path_factory.mktemp("runs")
    cfg = _tiny(root, steps=200, g_width=16, d_width=16, batch=32, lr_g=1e-3, lr_d=1e-3, sample_every=100,
                ckpt_every=100, log_every=50, keep_ckpts=10, ema_decay=0.95, augment="translation")  # fmt: skip
    return train(cfg)


def test_training_learns_and_writes_run_files(learned_run):
    run = learned_run["run_dir"]
    records = read_metrics(run / "metrics.jsonl")
    losses = [r for r in records if "loss_d" in r]
    assert losses and all(isinstance(r["loss_d"], float) and isinstance(r["loss_g"], float) for r in losses)
    assert (run / "metrics.png").is_file() and (run / "config.json").is_file()
    with Image.open(run / "samples" / "latest.png") as img:
        assert img.size == (8 * 10 + 2, 8 * 10 + 2)  # 64 fixed-noise samples, 8 per row, 8 px + 2 px padding
    assert (run / "samples" / "step_0000200.png").is_file()
    # the samples moved toward the data: the Frechet distance (data-set classifier features) falls clearly
    first = evaluate(run / "checkpoints" / "step_0000000.pt", n=400)
    last = evaluate(run, n=400)
    assert last["step"] == 200 and first["step"] == 0
    assert first["fd_floor"] < first["fd"]  # the real-vs-real floor sits below an untrained generator
    assert last["fd"] < 0.5 * first["fd"], (first["fd"], last["fd"])
    assert last["precision"] > first["precision"]


def test_resume_continues_identically(tmp_path):
    kw = dict(augment="translation,cutout", aug_p=0.2, ada_speed=200, ada_interval=2, eval_samples=0)
    whole = train(_tiny(tmp_path / "a", steps=12, ckpt_every=6, sample_every=6, **kw))
    half = train(_tiny(tmp_path / "b", steps=6, ckpt_every=6, sample_every=6, **kw))
    resumed = cli.main(["train", "--resume", str(half["run_dir"]), "--steps=12"])
    assert resumed == 0
    a = load_checkpoint(whole["run_dir"] / "checkpoints" / "step_0000012.pt")
    b = load_checkpoint(half["run_dir"] / "checkpoints" / "step_0000012.pt")
    assert a["step"] == b["step"] == 12
    assert a["ada"] == b["ada"] and a["ada"]["p"] != 0.2  # the adaptive probability moved, identically
    for key in ("G", "D"):
        for name, value in a[key].items():
            assert torch.equal(value, b[key][name]), (key, name)
    for name, value in a["ema"]["module"].items():
        assert torch.equal(value, b["ema"]["module"][name]), name
    assert torch.equal(a["rng"][0]["torch"], b["rng"][0]["torch"])
    assert torch.equal(a["data_rng"][0], b["data_rng"][0])  # the same next batch
    assert a["opt_d"]["state"][0]["step"] == b["opt_d"]["state"][0]["step"]


def test_non_finite_guard_rewinds(tmp_path):
    result = train(_tiny(tmp_path, steps=20, ckpt_every=10, fault_step=14, eval_samples=0))
    assert result["step"] == 20 and result["rewinds"] == 1
    events = [r for r in read_metrics(result["run_dir"] / "metrics.jsonl") if r.get("event") == "rewind"]
    assert len(events) == 1 and events[0]["bad_step"] == 15 and events[0]["step"] == 10
    final = load_checkpoint(result["checkpoint"])
    assert all(torch.isfinite(v).all() for v in final["G"].values() if v.is_floating_point())
    with pytest.raises(RuntimeError, match="non-finite"):
        train(_tiny(tmp_path, steps=20, ckpt_every=10, fault_step=3, eval_samples=0, max_rewinds=0))


@pytest.mark.parametrize("arch", ["sngan", "wgan-gp"])
def test_other_archs_conditional_with_r1(tmp_path, arch):
    cfg = _tiny(tmp_path, arch=arch, cond=True, steps=4, r1_gamma=1.0, r1_every=2, eval_samples=0, sample_every=4)
    result = train(cfg)
    assert all(torch.isfinite(torch.tensor(v)) for k, v in result["final"].items() if k.startswith("loss"))
    with Image.open(result["run_dir"] / "samples" / "latest.png") as img:
        assert img.size == (10 * 10 + 2, 8 * 10 + 2)  # conditional grid: one column per class
    assert generate.main([str(result["run_dir"]), "--n", "4", "--class", "3", "--grid", str(tmp_path / "c.png")]) == 0


def test_generate_grid_images_and_gif(learned_run, tmp_path):
    run = str(learned_run["run_dir"])
    grid, out, gif = tmp_path / "grid.png", tmp_path / "single", tmp_path / "walk.gif"
    code = generate.main([run, "--n", "12", "--grid", str(grid), "--out", str(out), "--seed", "3",
                          "--interpolate", "5", "--gif", str(gif)])  # fmt: skip
    assert code == 0
    with Image.open(grid) as img:
        assert img.size == (4 * 10 + 2, 3 * 10 + 2)  # 12 images, 4 per row
    singles = sorted(out.glob("*.png"))
    assert len(singles) == 12
    with Image.open(singles[0]) as img:
        assert img.size == (8, 8)
    with Image.open(gif) as img:
        assert img.n_frames == 5 + 3 and img.size == (8 * 10 + 2, 1 * 10 + 2)  # there and back, 8 walks side by side
    with Image.open(gif.with_suffix(".png")) as img:
        assert img.size == (5 * 10 + 2, 8 * 10 + 2)  # one walk per row, one frame per column
    assert generate.main([run, "--n", "2", "--class", "1"]) == 2  # not a conditional generator
    again = tmp_path / "again.png"
    generate.main([run, "--n", "12", "--grid", str(again), "--seed", "3"])
    assert again.read_bytes() == grid.read_bytes()  # the seed fixes the samples
    assert generate.main([str(tmp_path / "missing")]) == 2


def test_eval_command_json(learned_run, capsys):
    from generative.gan import eval as gan_eval

    assert gan_eval.main([str(learned_run["run_dir"]), "--json", "--n", "300"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["features"] == "classifier" and result["classifier_accuracy"] > 0.8
    assert result["coverage"]["classes"] == 10 and 0 <= result["copy_check"]["close_fraction"] <= 1
    assert (learned_run["run_dir"] / "eval.json").is_file()
    assert gan_eval.main([str(learned_run["run_dir"]), "--n", "300"]) == 0
    assert "real floor" in capsys.readouterr().out


def test_cli_dry_run_and_bad_override(tmp_path, capsys):
    assert cli.main(["train", "--dry-run", "--root", str(tmp_path), "--eval_samples=0"]) == 0  # --key value works too
    assert len(list(tmp_path.glob("gan__*"))) == 1
    assert cli.main(["train", "--preset", "tiny", "--no_such_key=1"]) == 2
    assert "unknown config key" in capsys.readouterr().err


def test_unlabelled_npz_run_evaluates_on_random_features(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "blobs.npz", images=rng.integers(0, 256, (64, 8, 8), dtype=np.uint8))
    result = train(_tiny(tmp_path, data=str(tmp_path / "blobs.npz"), steps=2, sample_every=2, ckpt_every=2))
    report = evaluate(result["run_dir"], n=32)
    assert report["features"] == "random" and "coverage" not in report and report["n"] == 32
    assert report["fd_floor"] < report["fd"]


def test_bench_runs_both_paths(capsys):
    assert (
        bench.main(["--steps", "1", "--warmup", "0", "--batch", "4", "--width", "4", "--json", "--threads", "1"]) == 0
    )
    rows = json.loads(capsys.readouterr().out)["results"]
    assert [(r["arch"], r["path"]) for r in rows] == [
        ("dcgan", "eager-fp32"),
        ("dcgan", "tuned"),
        ("sngan", "eager-fp32"),
        ("sngan", "tuned"),
    ]
    assert all(r["images_per_s"] > 0 and r["finite"] for r in rows)
