"""`gamelab bench envs` in-process with tiny budgets: the JSON has every field and positive rates, the table prints,
and the in-place reset restarts exactly the finished games."""

from __future__ import annotations

import json

import pytest
import torch

import envs
from envs import bench
from envs.state import rows_equal, take


def test_json_fields_and_positive_rates(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--games", "connect_four,hex", "--batches", "1,8", "--seconds", "0.05", "--checked-batch", "4"]
    assert bench.main(argv + ["--threads", "1", "--repeats", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["device"] == "cpu" and result["threads"] == 1 and result["repeats"] == 2
    assert result["batches"] == [1, 8] and result["checked_batch"] == 4 and result["ratio_batch"] == 8
    assert set(result["games"]) == {"connect_four", "hex"}
    for name, row in result["games"].items():
        assert row["available"] and row["id"].startswith(name)
        assert set(row["batched"]) == {"1", "8"}
        for figure in [*row["batched"].values(), row["checked"]]:
            assert figure["steps_per_s"] > 0 and figure["steps"] > 0 and figure["seconds"] > 0
            assert len(figure["runs"]) == 2 and figure["steps_per_s"] == max(figure["runs"])
        assert row["checked"]["batch"] == 4
    c4 = result["games"]["connect_four"]
    assert c4["pettingzoo"]["env"] == "connect_four_v3" and c4["pettingzoo"]["steps_per_s"] > 0
    assert c4["ratio"] == pytest.approx(c4["batched"]["8"]["steps_per_s"] / c4["pettingzoo"]["steps_per_s"])
    assert result["games"]["hex"]["pettingzoo"] is None and result["games"]["hex"]["ratio"] is None


def test_table_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--games", "connect_four", "--batches", "2", "--seconds", "0.02", "--checked-batch", "2", "--threads", "1"]
    assert bench.main(argv + ["--no-pettingzoo"]) == 0
    out = capsys.readouterr().out
    assert "1 torch threads" in out and "connect_four" in out and "B=2" in out
    with pytest.raises(SystemExit):
        bench.main(["--games", "xiangqi"])
    with pytest.raises(SystemExit):
        bench.main(["--batches", "0,4"])
    if not torch.cuda.is_available():
        assert bench.main(["--device", "cuda", "--games", "connect_four"]) == 2
        assert "CUDA is not available" in capsys.readouterr().err


def test_reset_finished_restarts_only_finished_games() -> None:
    game = envs.get_game("connect_four")
    fresh = game.init(3)
    state = fresh
    # game 1: player 0 makes four in column 0; games 0 and 2: no line of four
    for actions in zip((2, 3, 4, 5, 2, 3, 4), (0, 1, 0, 1, 0, 1, 0), (6, 5, 4, 3, 6, 5, 4)):
        state = game.step(state, torch.tensor(actions))
    done, _ = game.outcome(state)
    assert done.tolist() == [False, True, False]
    new, reset = bench.reset_finished(game, state, fresh)
    assert reset.tolist() == [False, True, False]
    assert rows_equal(take(new, 1), take(fresh, 1)).all()
    assert rows_equal(take(new, [0, 2]), take(state, [0, 2])).all()


def test_random_legal_actions_are_legal_and_uniform() -> None:
    mask = torch.tensor([[True, False, True, False], [False, False, False, True]]).repeat(2000, 1)
    gen = torch.Generator().manual_seed(0)
    a = bench.random_legal_actions(mask, gen)
    assert mask.gather(1, a[:, None]).all()
    counts = torch.bincount(a[0::2], minlength=4).float() / 2000
    assert counts[[0, 2]].tolist() == pytest.approx([0.5, 0.5], abs=0.05)


@pytest.mark.parametrize("actions", [4672, 7, 100, 362])
def test_random_legal_actions_by_words_are_legal_and_uniform(actions: int) -> None:
    """Masks of every width (padded to 64-action blocks where needed), views that are not contiguous, rows without a
    legal action; a row's legal actions spread over several words and blocks are drawn equally often."""
    gen = torch.Generator().manual_seed(1)
    mask = torch.rand(300, actions, generator=gen) < torch.rand(300, 1, generator=gen) * 0.3
    mask[:5] = False
    for m in (mask, mask[:, 1:], mask[1::2]):
        a = bench.random_legal_actions(m, gen)
        assert a.shape == (m.shape[0],) and a.dtype == torch.long
        has = m.any(1)
        assert m[has].gather(1, a[has, None]).all() and (a[~has] == 0).all()
    cols = sorted({c for c in (0, 1, 8, 63, actions // 2, actions - 2) if c < actions} | {actions - 1})
    row = torch.zeros(actions, dtype=torch.bool)
    row[cols] = True
    draws = bench.random_legal_actions(row.expand(2500 * len(cols), actions), gen)
    counts = torch.bincount(draws, minlength=actions)[cols].float()
    assert counts.sum() == 2500 * len(cols) and ((counts - 2500).abs() < 300).all()  # about 6.5 sd


def test_chess_is_measured_with_its_mask_and_without(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--games", "chess", "--batches", "4", "--seconds", "0.05", "--checked-batch", "2", "--threads", "1"]
    assert bench.main(argv + ["--repeats", "1", "--no-pettingzoo", "--json"]) == 0
    chess = json.loads(capsys.readouterr().out)["games"]["chess"]
    assert chess["batched"]["4"]["steps_per_s"] > 0 and chess["no_mask"]["steps_per_s"] > 0
    assert bench.main(argv + ["--repeats", "1", "--no-pettingzoo"]) == 0
    assert "no mask B=4" in capsys.readouterr().out
