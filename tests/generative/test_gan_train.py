"""GAN training runs on CPU: learning, exact resume, the non-finite guard, generate and eval commands."""

import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from killed_runs import wait_for_checkpoint
from PIL import Image

from core.checkpoint import load_checkpoint
from core.config import parse_config
from core.metrics import read_metrics
from generative.gan import bench, cli, generate, scorecard
from generative.gan.scorecard import score_run
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


def _tiny(**overrides) -> GanConfig:
    return dataclasses.replace(parse_config(GanConfig, [], PRESETS, "tiny"), **overrides)


@pytest.fixture(scope="module")
def learned_run(tmp_path_factory):
    """A short real run on 8 px digits: long enough to learn the rough shapes."""
    root = tmp_path_factory.mktemp("runs")
    cfg = _tiny(steps=200, g_width=16, d_width=16, batch=32, lr_g=1e-3, lr_d=1e-3, sample_every=100,
                ckpt_every=100, log_every=50, keep_ckpts=10, ema_decay=0.95, augment="translation")  # fmt: skip
    return train(cfg, runs=root)


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
    first = score_run(run / "checkpoints" / "step_0000000.pt", n=400)
    last = score_run(run, n=400)
    assert last["step"] == 200 and first["step"] == 0
    assert first["fd_floor"] < first["fd"]  # the real-vs-real floor sits below an untrained generator
    assert last["fd"] < 0.5 * first["fd"], (first["fd"], last["fd"])
    assert last["precision"] > first["precision"]


def test_resume_continues_identically(tmp_path):
    kw = dict(augment="translation,cutout", aug_p=0.2, ada_speed=200, ada_interval=2, eval_samples=0)
    whole = train(_tiny(steps=12, ckpt_every=6, sample_every=6, **kw), runs=tmp_path / "a")
    half = train(_tiny(steps=6, ckpt_every=6, sample_every=6, **kw), runs=tmp_path / "b")
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
    result = train(_tiny(steps=20, ckpt_every=10, fault_step=14, eval_samples=0), runs=tmp_path)
    assert result["step"] == 20 and result["rewinds"] == 1
    events = [r for r in read_metrics(result["run_dir"] / "metrics.jsonl") if r.get("event") == "rewind"]
    assert len(events) == 1 and events[0]["bad_step"] == 15 and events[0]["step"] == 10
    final = load_checkpoint(result["checkpoint"])
    assert all(torch.isfinite(v).all() for v in final["G"].values() if v.is_floating_point())
    with pytest.raises(RuntimeError, match="non-finite"):
        train(_tiny(steps=20, ckpt_every=10, fault_step=3, eval_samples=0, max_rewinds=0), runs=tmp_path)


@pytest.mark.parametrize("arch", ["sngan", "wgan-gp"])
def test_other_archs_conditional_with_r1(tmp_path, arch):
    cfg = _tiny(arch=arch, cond=True, steps=4, r1_gamma=1.0, r1_every=2, eval_samples=0, sample_every=4)
    result = train(cfg, runs=tmp_path)
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
    assert scorecard.main([str(learned_run["run_dir"]), "--json", "--n", "300"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["features"] == "classifier" and result["classifier_accuracy"] > 0.8
    assert result["coverage"]["classes"] == 10 and 0 <= result["copy_check"]["close_fraction"] <= 1
    assert (learned_run["run_dir"] / "eval.json").is_file()
    assert scorecard.main([str(learned_run["run_dir"]), "--n", "300"]) == 0
    out = capsys.readouterr().out
    assert "real floor" in out and "unbiased" in out  # a KID below 0 is explained, not left bare


def test_cli_dry_run_print_config_and_runs(tmp_path, capsys):
    assert cli.main(["train", "--dry-run", "--runs", str(tmp_path), "--eval_samples", "0"]) == 0  # --key value too
    (run,) = tmp_path.glob("gan__digits-dcgan__0__*")  # the run name the docs show
    assert load_checkpoint(run / "checkpoints" / "step_0000010.pt")["step"] == 10
    capsys.readouterr()
    assert cli.main(["train", "--preset", "cpu", "--lr_g=0.001", "--print-config"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["lr_g"] == 0.001 and printed["augment"] == "color,translation,cutout"
    assert len(list(tmp_path.iterdir())) == 1  # --print-config starts nothing


@pytest.mark.parametrize(
    "argv, named",
    [
        (["--lr_g=-1"], "lr_g"),
        (["--batch", "0"], "batch"),
        (["--size=12"], "size"),
        (["--beta1=1"], "beta1"),
        (["--augment=color,blur"], "blur"),
        (["--data=nosuchset"], "nosuchset"),
        (["--no_such_key=1"], "no_such_key"),
        (["--preset", "huge"], "huge"),
        (["--threads", "0"], "threads"),
        (["--arch", "vae"], "arch"),
        (["--cond", "--data", "builtin:brick"], "cond"),
        (["--resume", "nowhere"], "nowhere"),
        (["--cpu-minutes", "-1"], "cpu_minutes"),
        (["--cpu_minutes=nan"], "cpu_minutes"),
    ],
)
def test_bad_input_is_one_error_line(tmp_path, capsys, argv, named):
    preset = [] if "--resume" in argv else ["--preset", "tiny"]  # a resumed run keeps its saved config
    assert cli.main(["train", *preset, "--runs", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and named in err, err
    assert not list(tmp_path.iterdir())  # no run directory left behind


def test_resume_refuses_fixed_fields_and_a_corrupt_checkpoint(tmp_path, capsys):
    run = train(_tiny(steps=2, ckpt_every=2, eval_samples=0), runs=tmp_path)["run_dir"]
    for change in ("--size=16", "--g_width=4", "--data=textures"):
        assert cli.main(["train", "--resume", str(run), change]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: cannot change") and change[2:].split("=")[0] in err, err
    (run / "checkpoints" / "step_0000002.pt").write_bytes(b"not a checkpoint at all")  # a torn newest file
    assert cli.main(["train", "--resume", str(run)]) == 0  # falls back to step 0 and takes steps 1-2 again
    out = capsys.readouterr().out
    assert "step_0000002.pt damaged (unreadable); resuming from the previous good checkpoint step_0000000.pt" in out
    assert load_checkpoint(run / "checkpoints" / "step_0000002.pt", kind="gan")["step"] == 2
    for path in (run / "checkpoints").glob("step_*.pt"):
        path.write_bytes(b"not a checkpoint at all")  # nothing left to fall back to
    assert cli.main(["train", "--resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "step_0000000.pt" in err and "fall back" in err and "Traceback" not in err


def test_resume_takes_a_changed_learning_rate(tmp_path):
    run = train(_tiny(steps=4, ckpt_every=4, log_every=1, eval_samples=0), runs=tmp_path)["run_dir"]
    assert cli.main(["train", "--resume", str(run), "--steps=6", "--lr_g=0.5", "--lr_d", "0.25"]) == 0
    records = [r for r in read_metrics(run / "metrics.jsonl") if "loss_g" in r]
    assert [(r["step"], r["lr_g"], r["lr_d"]) for r in records] == [
        (1, 2e-4, 2e-4),
        (2, 2e-4, 2e-4),
        (3, 2e-4, 2e-4),
        (4, 2e-4, 2e-4),
        (5, 0.5, 0.25),
        (6, 0.5, 0.25),
    ]
    payload = load_checkpoint(run / "checkpoints" / "step_0000006.pt")
    assert [g["lr"] for g in payload["opt_g"]["param_groups"]] == [0.5, 0.5]  # the optimizers' actual rate
    assert payload["opt_g"]["state"][0]["step"] == 6  # Adam's moments and step count continued
    assert payload["config"]["lr_g"] == 0.5


def test_cpu_budget_stops_the_run_and_resume_keeps_it(tmp_path, capsys):
    argv = ["train", "--preset", "tiny", "--steps=1000000", "--eval_samples=0", "--sample_every=1000000", "--runs",
            str(tmp_path)]  # fmt: skip
    assert cli.main([*argv, "--cpu-minutes", "0.01"]) == 0  # 0.6 CPU-seconds
    assert "CPU limit of 0.01 minutes reached" in capsys.readouterr().out
    (run,) = tmp_path.iterdir()
    assert json.loads((run / "config.json").read_text())["cpu_minutes"] == 0.01
    records = [r for r in read_metrics(run / "metrics.jsonl") if "cpu_s" in r]
    first = records[-1]["step"]
    assert 0 < first < 1_000_000 and records[-1]["cpu_s"] >= 0.6  # stopped by CPU time, not by steps
    assert load_checkpoint(run / "checkpoints" / f"step_{first:07d}.pt")["config"]["cpu_minutes"] == 0.01
    assert cli.main(["train", "--resume", str(run), "--print-config"]) == 0
    assert json.loads(capsys.readouterr().out)["cpu_minutes"] == 0.01
    assert cli.main(["train", "--resume", str(run)]) == 0  # the saved budget again, for this process
    assert "CPU limit of 0.01 minutes reached" in capsys.readouterr().out
    second = [r for r in read_metrics(run / "metrics.jsonl") if "cpu_s" in r][-1]["step"]
    assert first < second < 1_000_000


def test_kill_at_a_random_moment_then_resume_matches_an_uninterrupted_run(tmp_path):
    """Whenever the process dies, the resumed run ends where an uninterrupted one does: weights, EMA, both
    optimizers, the adaptive augmentation probability and the logged losses (in-run quality probes on)."""
    args = ["--preset", "tiny", "--steps=40", "--ckpt_every=4", "--sample_every=20", "--augment=color,translation",
            "--ada_speed=500", "--ada_interval=2", "--r1_gamma=0.5", "--r1_every=3"]  # fmt: skip
    assert cli.main(["train", "--runs", str(tmp_path / "a"), *args]) == 0
    (run_a,) = (tmp_path / "a").iterdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GAMELAB_PROGRESS": "0"}
    cmd = [sys.executable, "-m", "generative.gan.trainer", "--runs", str(tmp_path / "b"), *args]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_checkpoint(proc, tmp_path / "b", "*/checkpoints/step_0000004.pt")
    time.sleep(random.uniform(0.0, 0.5))  # anywhere in the run: mid-step, mid-sample, mid-checkpoint
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    (run_b,) = (tmp_path / "b").iterdir()
    assert cli.main(["train", "--resume", str(run_b)]) == 0
    a = load_checkpoint(run_a / "checkpoints" / "step_0000040.pt")
    b = load_checkpoint(run_b / "checkpoints" / "step_0000040.pt")
    assert a["ada"] == b["ada"] and a["ada"]["p"] > 0  # the adaptive probability moved, identically
    for key in ("G", "D"):
        for name, value in a[key].items():
            assert torch.equal(value, b[key][name]), (key, name)
    assert a["ema"]["updates"] == b["ema"]["updates"] == 40
    for name, value in a["ema"]["module"].items():
        assert torch.equal(value, b["ema"]["module"][name]), name
    for opt in ("opt_g", "opt_d"):
        for sa, sb in zip(a[opt]["state"].values(), b[opt]["state"].values(), strict=True):
            assert all(torch.equal(sa[k], sb[k]) for k in sa), opt
    assert torch.equal(a["data_rng"][0], b["data_rng"][0]) and torch.equal(a["rng"][0]["torch"], b["rng"][0]["torch"])

    def losses(run):
        return [(r["step"], r["loss_d"], r["loss_g"], r["aug_p"]) for r in read_metrics(run / "metrics.jsonl")
                if "loss_d" in r]  # fmt: skip

    assert losses(run_a) == losses(run_b) and len(losses(run_a)) == 8


def test_unlabelled_npz_run_evaluates_on_random_features(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "blobs.npz", images=rng.integers(0, 256, (64, 8, 8), dtype=np.uint8))
    result = train(_tiny(data=str(tmp_path / "blobs.npz"), steps=2, sample_every=2, ckpt_every=2), runs=tmp_path)
    report = score_run(result["run_dir"], n=32)
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
