"""core.job: one command line for every job; core.optim.load_optimizer_state: changed settings take effect on resume."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from core.config import ConfigError, bounded
from core.job import job_parser, parse_job
from core.optim import load_optimizer_state, make_optimizer, make_scheduler


@dataclass(frozen=True)
class _Cfg:
    lr: float = bounded(0.1, gt=0)
    steps: int = bounded(10, ge=1)
    width: int = 8
    cond: bool = False
    name: str = "x"


PRESETS = {"tiny": {"steps": 2}, "big": {"steps": 100, "width": 64}}


def _parse(argv, saved=None, **kw):
    parser = job_parser("prog", "a test job", _Cfg, presets=PRESETS)
    return parse_job(
        parser, argv, _Cfg, presets=PRESETS, default_preset="tiny", saved_config=lambda run, args: dict(saved or {}),
        fixed_on_resume=("width",), dry_run=lambda c: _Cfg(lr=c.lr, steps=1, width=c.width), **kw,
    )  # fmt: skip


def test_both_option_forms_bools_and_presets():
    job = _parse(["--lr", "0.5", "--width=16", "--cond", "--name", "y"])
    assert job.cfg == _Cfg(lr=0.5, steps=2, width=16, cond=True, name="y")  # default preset tiny applied
    assert _parse(["--preset", "big", "--steps=7"]).cfg.steps == 7
    assert _parse(["--preset=big"]).cfg.width == 64
    assert _parse(["--dry-run", "--steps=50"]).cfg.steps == 1
    job = _parse(["--runs", "elsewhere", "--threads", "2"])
    assert (job.args.runs, job.args.threads) == ("elsewhere", 2)


@pytest.mark.parametrize(
    "argv, named",
    [
        (["--lr=-1"], "lr"),
        (["--lr", "0"], "lr"),
        (["--steps=0"], "steps"),
        (["--widht=3"], "widht"),
        (["--steps=ten"], "steps"),
        (["--preset", "huge"], "huge"),
        (["--threads", "0"], "threads"),
        (["stray"], "stray"),
    ],
)
def test_bad_values_name_the_field(argv, named):
    with pytest.raises(ConfigError, match=named):
        _parse(argv)


def test_resume_takes_changes_and_refuses_fixed_fields():
    saved = {"lr": 0.1, "steps": 5, "width": 8, "cond": False, "name": "x"}
    job = _parse(["--resume", "RUN", "--lr=0.5", "--steps=9"], saved=saved)
    assert job.resume == Path("RUN") and job.cfg.lr == 0.5 and job.cfg.steps == 9 and job.cfg.width == 8
    with pytest.raises(ConfigError, match="width"):
        _parse(["--resume", "RUN", "--width=16"], saved=saved)
    with pytest.raises(ConfigError, match="preset"):
        _parse(["--resume", "RUN", "--preset=big"], saved=saved)


def test_print_config_exits_zero(capsys):
    with pytest.raises(SystemExit) as exc:
        _parse(["--print-config", "--lr=0.25"])
    assert exc.value.code == 0
    assert '"lr": 0.25' in capsys.readouterr().out


def test_malformed_command_line_is_one_error_line(capsys):
    parser = job_parser("prog", "a test job", _Cfg)
    parser.add_argument("--minutes", type=float)
    with pytest.raises(SystemExit) as exc:
        parse_job(parser, ["--minutes", "soon"], _Cfg)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "soon" in err[0]


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_changed_lr_takes_effect_after_loading_state(schedule):
    def build(lr):
        torch.manual_seed(0)
        net = torch.nn.Linear(3, 2)
        opt = make_optimizer(net, "adamw", lr=lr, weight_decay=0.01)
        return net, opt, make_scheduler(opt, schedule, total_steps=20)

    net, opt, sched = build(0.01)
    for _ in range(5):
        net(torch.ones(1, 3)).sum().backward()
        opt.step()
        opt.zero_grad()
        sched.step()
    state, sched_state = opt.state_dict(), sched.state_dict()
    expected_same = [g["lr"] for g in opt.param_groups]

    _, opt2, sched2 = build(0.01)  # same config: restored exactly
    load_optimizer_state(opt2, state, sched2, sched_state)
    assert [g["lr"] for g in opt2.param_groups] == expected_same
    assert sched2.last_epoch == 5

    _, opt3, sched3 = build(0.5)  # changed lr: the schedule's value at step 5, from 0.5
    load_optimizer_state(opt3, state, sched3, sched_state)
    for group, before in zip(opt3.param_groups, expected_same):
        assert group["lr"] == pytest.approx(before * 50)
    assert opt3.state_dict()["state"][0]["step"] == state["state"][0]["step"]  # moments kept


@pytest.mark.parametrize(
    "argv, presets",
    [
        (["train", "tictactoe", "--help"], "tiny, cpu, gpu"),
        (["gan", "train", "--help"], "tiny, cpu"),
        (["style", "train", "--help"], "tiny, small"),
    ],
)
def test_help_lists_each_field_with_type_default_and_help_and_the_presets(argv, presets, capsys):
    from core import cli

    try:
        code = cli.main(argv)
    except SystemExit as done:  # argparse's --help exits; some jobs return its status instead
        code = done.code
    assert code == 0
    out = capsys.readouterr().out
    preset_line = out.split("\n  --preset PRESET")[1].split("\n  --resume")[0]  # the option's help, not the usage
    assert all(name in preset_line for name in presets.split(", ")), preset_line
    fields = out.split("config fields of ")[1].splitlines()[1:]
    assert len(fields) >= 20
    for line in fields:
        assert line.lstrip().startswith("--") and "(default " in line, line
    text = "\n".join(fields)
    for must in ("--lr FLOAT" if argv[0] == "train" else "--steps INT", "--seed INT"):
        assert must in text, text
