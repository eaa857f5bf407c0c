"""`gamelab train GAME --pretrain FILE...`: the pretraining stage learns the expert's moves from generated games,
continues into self-play in the same run, resumes exactly from the middle of the stage, and stops on a bad record
with an error naming the file and the game."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import arena.pretrain
from agents.learner import TrainConfig, make_net
from arena import train
from core.checkpoint import load_checkpoint
from core.cli import main
from core.config import config_from_dict
from core.metrics import read_metrics
from core.seeding import seed_everything
from envs import get_game

TINY = ["--preset=tiny", "--quiet", "--num_games=8", "--simulations=4", "--batch_size=16",
        "--positions_per_iteration=16", "--steps_per_iteration=2", "--eval_every=0"]  # fmt: skip
STAGE = ["--pretrain-epochs", "2", "--pretrain-batch", "16", "--pretrain-eval-every", "4", "--pretrain-holdout", "0.25"]


@pytest.fixture(scope="module")
def expert_games(tmp_path_factory) -> Path:
    """Tic-tac-toe games of perfect play (alpha-beta to the end) from random first moves, with some random moves."""
    out = tmp_path_factory.mktemp("games") / "ttt.jsonl"
    argv = ["games", "generate", "tictactoe", "--white", "alphabeta:9", "--black", "alphabeta:9", "--games", "16",
            "--opening-plies", "1", "--noise", "0.3", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    return out


def _run(root: Path) -> Path:
    (run,) = [p for p in root.iterdir() if p.is_dir()]
    return run


def test_pretraining_then_self_play_in_one_run(expert_games, tmp_path, capsys):
    argv = ["tictactoe", "--pretrain", str(expert_games), str(expert_games), *STAGE, *TINY, "--iterations=1"]
    with pytest.raises(SystemExit):
        train.main([*argv, "--print-config"])
    shown = json.loads(capsys.readouterr().out)
    assert shown["pretrain"] == [str(expert_games)] * 2 and shown["pretrain_epochs"] == 2
    assert train.main([*argv, "--runs", str(tmp_path)]) == 0
    run = _run(tmp_path)
    assert json.loads((run / "config.json").read_text())["pretrain"] == [str(expert_games)] * 2
    rows = read_metrics(run / "metrics.jsonl")
    stage = [r for r in rows if r.get("stage") == "pretrain"]
    assert stage[0]["pretrain_step"] == 0 and stage[-1]["pretrain_step"] > 0
    assert all(0 <= r["heldout_top1"] <= 1 and r["heldout_positions"] > 0 for r in stage)
    assert [r["iteration"] for r in rows if "iteration" in r] == [1]  # then one self-play iteration
    assert (run / "pretrain.png").is_file() and (run / "metrics.png").is_file()
    done = load_checkpoint(run / "checkpoints" / "iter_000000.pt", kind="alphazero")
    assert done["pretrain"]["done"] and done["pretrain"]["epoch"] == 2
    assert done["pretrain"]["step"] == stage[-1]["pretrain_step"]
    # self-play started from the pretrained network: the stage's weights are not the initial ones
    seed_everything(0)  # the run's initial network, as the run built it
    fresh = make_net(get_game("tictactoe"), config_from_dict(TrainConfig, done["config"])).state_dict()
    assert any(not torch.equal(v, fresh[k]) for k, v in done["model"].items())


@pytest.mark.slow
def test_resume_in_the_middle_of_pretraining_is_exact(expert_games, tmp_path, monkeypatch, capsys):
    argv = ["tictactoe", "--pretrain", str(expert_games), *STAGE, *TINY, "--iterations=1"]
    assert train.main([*argv, "--runs", str(tmp_path / "a")]) == 0
    step, calls = arena.pretrain.supervised_step, [0]

    def dies_at_step_7(*args, **kwargs):  # after the checkpoint at step 4, in the first epoch
        calls[0] += 1
        if calls[0] == 7:
            raise KeyboardInterrupt
        return step(*args, **kwargs)

    monkeypatch.setattr(arena.pretrain, "supervised_step", dies_at_step_7)
    with pytest.raises(KeyboardInterrupt):
        train.main([*argv, "--runs", str(tmp_path / "b")])
    monkeypatch.setattr(arena.pretrain, "supervised_step", step)
    run_b = _run(tmp_path / "b")
    saved = load_checkpoint(run_b / "checkpoints" / "iter_000000.pt", kind="alphazero")
    assert saved["pretrain"]["step"] == 4 and not saved["pretrain"]["done"]
    assert train.main(["tictactoe", "--resume", str(run_b), "--quiet"]) == 0
    run_a = _run(tmp_path / "a")
    a = load_checkpoint(run_a / "checkpoints" / "iter_000001.pt", kind="alphazero")
    b = load_checkpoint(run_b / "checkpoints" / "iter_000001.pt", kind="alphazero")
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    assert a["sample_rng"] == b["sample_rng"] and a["buffer"]["positions_total"] == b["buffer"]["positions_total"]
    keys = ("pretrain_step", "heldout_top1", "pretrain_loss")
    rows = [[r.get(k) for k in keys] for r in read_metrics(run_a / "metrics.jsonl")]
    assert rows == [[r.get(k) for k in keys] for r in read_metrics(run_b / "metrics.jsonl")]


def test_a_bad_record_stops_the_run_naming_file_and_game(expert_games, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    lines = expert_games.read_text().splitlines()
    record = json.loads(lines[2])
    record["moves"] = [4, 4]  # the same square twice
    bad.write_text("\n".join([lines[0], lines[1], json.dumps(record), *lines[3:]]) + "\n")
    argv = ["tictactoe", "--pretrain", str(bad), *STAGE, *TINY, "--iterations=0", "--runs", str(tmp_path / "r")]
    assert train.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "bad.jsonl: game 3: move 2" in err and err.count("\n") == 1
    assert train.main([*argv, "--pretrain-skip-bad"]) == 0
    assert "bad.jsonl: game 3" in capsys.readouterr().err  # the warning line


@pytest.mark.slow
def test_pretraining_learns_the_experts_moves(tmp_path):
    """60 games of alpha-beta Connect Four: held-out top-1 agreement with the expert rises well above chance."""
    games = tmp_path / "c4.jsonl"
    assert main(["games", "generate", "connect_four", "--white", "alphabeta:4", "--black", "alphabeta:4", "--games",
                 "60", "--noise", "0.1", "--out", str(games), "--quiet"]) == 0  # fmt: skip
    argv = ["connect_four", "--preset=tiny", "--quiet", "--pretrain", str(games), "--pretrain-epochs", "20",
            "--pretrain-batch", "64", "--pretrain-lr", "3e-3", "--pretrain-eval-every", "50", "--blocks", "2",
            "--channels", "32", "--iterations", "0", "--runs", str(tmp_path / "runs")]  # fmt: skip
    assert train.main(argv) == 0
    stage = [r for r in read_metrics(_run(tmp_path / "runs") / "metrics.jsonl") if r.get("stage") == "pretrain"]
    chance, first, best = stage[0]["heldout_chance"], stage[0]["heldout_top1"], max(r["heldout_top1"] for r in stage)
    assert best > 1.8 * chance and best > first + 0.15, (chance, first, best)  # measured: 0.252, 0.279, 0.500


@pytest.mark.parametrize("fmt", ["kif", pytest.param("csa", marks=pytest.mark.slow)])
def test_shogi_records_feed_the_stage(fmt, tmp_path):
    """Shogi KIF and CSA files (this project's writer) are replayed through the rules into the stage: every held-out
    game's plies are evaluated and the weights move."""
    games = tmp_path / f"games.{fmt}"
    assert main(["games", "generate", "shogi", "--white", "random", "--black", "random", "--games", "4",
                 "--option", "max_moves=12", "--out", str(games), "--quiet"]) == 0  # fmt: skip
    argv = ["shogi", *TINY, "--pretrain", str(games), "--pretrain-batch", "8", "--pretrain-eval-every", "2",
            "--pretrain-holdout", "0.25", "--iterations=0", "--runs", str(tmp_path / "runs")]  # fmt: skip
    assert train.main(argv) == 0
    run = _run(tmp_path / "runs")
    stage = [r for r in read_metrics(run / "metrics.jsonl") if r.get("stage") == "pretrain"]
    assert stage and all(r["heldout_positions"] == 12 for r in stage)  # game 4 of 4, 12 plies (max_moves)
    assert stage[-1]["pretrain_step"] == 36 // 8 + 1  # the other 3 games' 36 positions in batches of 8
    done = load_checkpoint(run / "checkpoints" / "iter_000000.pt", kind="alphazero")
    seed_everything(0)
    fresh = make_net(get_game("shogi"), config_from_dict(TrainConfig, done["config"])).state_dict()
    assert done["pretrain"]["done"] and any(not torch.equal(v, fresh[k]) for k, v in done["model"].items())
