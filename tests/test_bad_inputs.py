"""Every `gamelab` command meets bad input with one `error: ...` line naming the bad option or value, exit status 2,
and no traceback, before doing any work (no run directory, no window).

The table runs each command in-process (`core.cli.main`).
"""

from __future__ import annotations

import pygame
import pytest

from arena import evaluate
from core.cli import main

_FILES = {
    "{corrupt}": "corrupt.pt",  # random bytes where a checkpoint is expected
    "{damaged}": "damaged.jsonl",  # a replay file whose every line is damaged
}


# (command line, text the error line must contain: the bad option or value)
CASES = [
    ("fly", "fly"),
    # match and tournament
    ("match connect_four random random --games 0", "--games"),
    ("match connect_four random random --games -2", "-2"),
    ("match connect_four random random --batch 0", "--batch"),
    ("match connect_four random random --opening-plies -1", "--opening-plies"),
    ("match connect_four random random --seed -1", "--seed"),
    ("match connect_four random random --device banana", "banana"),
    ("match connect_four random banana", "banana"),
    ("match connect_four random {corrupt}", "corrupt.pt"),
    ("match nosuchgame random random", "nosuchgame"),
    ("match go random random --option size=4", "size"),
    ("match go random random --option sise=9", "sise"),
    ("match go random random --option size", "size"),
    ("tournament connect_four random random --games 0", "--games"),
    ("tournament connect_four random", "two players"),
    ("tournament connect_four random random --anchor zzz", "zzz"),
    # games generate
    ("games generate tictactoe --white random --black banana --out t.jsonl", "banana"),
    ("games generate tictactoe --white random --black random --out t.txt", "t.txt"),
    ("games generate tictactoe --white random --black random --out t.pgn", "PGN"),
    ("games generate tictactoe --white random --black random --out nowhere/t.jsonl", "nowhere"),
    ("games generate tictactoe --white random --black random --out t.jsonl --games 0", "--games"),
    ("games generate tictactoe --white random --black random --out t.jsonl --noise 2", "--noise"),
    ("games fly", "fly"),
    # train
    ("train tictactoe --pretrain nosuch.pgn", "nosuch.pgn"),
    ("train tictactoe --pretrain_holdout=1", "pretrain_holdout"),
    ("train tictactoe --lr=-1", "lr"),
    ("train tictactoe --batch_size=0", "batch_size"),
    ("train tictactoe --minutes -5", "minutes"),
    ("train tictactoe --iterations -3", "iterations"),
    ("train tictactoe --simulations=0", "simulations"),
    ("train tictactoe --simulations=many", "simulations"),
    ("train tictactoe --lr=nan", "lr"),
    ("train tictactoe --keep_checkpoints=0", "keep_checkpoints"),
    ("train tictactoe --no_such_knob=3", "no_such_knob"),
    ("train tictactoe --preset huge", "huge"),
    ("train tictactoe --threads 0", "threads"),
    ("train tictactoe --device banana", "banana"),
    ("train tictactoe --eval_baselines=random,banana", "banana"),
    ("train tictactoe --resume nowhere", "nowhere"),
    ("train nosuchgame", "nosuchgame"),
    ("train tictactoe --actors=-1", "actors"),
    ("train tictactoe --actors 1 --max_policy_lag=-1", "max_policy_lag"),
    ("train tictactoe --ray-address auto", "--actors"),  # Ray options without actors: refused, Ray never started
    ("train tictactoe --actor-gpus=0.5", "--actors"),
    ("train tictactoe --actors 2 --actor-gpus 3", "--actor-gpus"),
    # agent
    ("agent connect_four --sims -5", "--sims"),
    ("agent connect_four --threads 0", "--threads"),
    ("agent nosuchgame", "unknown game 'nosuchgame'"),
    ("agent go --option size=19", "go_19.pt"),  # no 19x19 model: never another board's model silently
    ("agent othello --option size=7", "size must be"),
    ("agent go --option sise=9", "sise"),
    ("agent connect_four --checkpoint {corrupt}", "corrupt.pt"),
    ("agent connect_four --checkpoint nowhere", "nowhere"),
    ("agent connect_four --device banana", "banana"),
    # gtp
    ("gtp go --sims -5", "--sims"),
    ("gtp go --size 4", "--size"),
    ("gtp go --komi nan", "--komi"),
    ("gtp go --think-time -1", "--think-time"),
    ("gtp chess", "chess"),
    ("gtp go --checkpoint {corrupt}", "corrupt.pt"),
    # export
    ("export nowhere out.pt", "nowhere"),
    ("export {corrupt} out.pt", "corrupt.pt"),
    ("export nowhere out.pt --iteration -1", "--iteration"),
    ("export", "SOURCE"),
    # bench
    ("bench nosuch", "nosuch"),
    ("bench selfplay --sims 0", "--sims"),
    ("bench selfplay --batch 0", "--batch"),
    ("bench selfplay --seconds 0", "--seconds"),
    ("bench selfplay --threads 0", "--threads"),
    ("bench selfplay --game nosuch", "nosuch"),
    ("bench play --sims 0", "--sims"),
    ("bench play --seconds 0", "--seconds"),
    ("bench play --leaf-batches 0,2", "0,2"),
    ("bench play --positions -1", "--positions"),
    ("bench play --checkpoint nowhere.pt", "nowhere.pt"),
    ("bench agent --positions 0", "--positions"),
    ("bench ladder --games 0", "--games"),
    ("bench ladder --size 4", "--size"),
    ("bench ladder --opponents 0,11", "'11'"),
    ("bench ladder --opponents mc,x", "'x'"),
    ("bench ladder --player banana", "banana"),
    ("bench ladder --size 9 --player bundled --opponents 0", "go_9.pt"),
    ("bench agent --sims -1", "--sims"),
    ("bench envs --seconds -1", "--seconds"),
    ("bench envs --repeats 0", "--repeats"),
    ("bench envs --threads 0", "--threads"),
    ("bench envs --checked-batch 0", "--checked-batch"),
    ("bench envs --games nosuch", "nosuch"),
    ("bench threats nosuch bundled", "nosuch"),
    ("bench threats gomoku nowhere.pt --option size=9", "nowhere.pt"),
    ("bench threats gomoku {corrupt} --option size=9", "corrupt.pt"),
    ("bench threats connect_four bundled", "connect_four"),
    # the viewer
    ("play nosuchgame", "nosuchgame"),
    ("play connect_four --opponent banana", "banana"),
    ("play go --option size=4", "size"),
    ("play go --option sise=9", "sise"),
    ("play connect_four --window 10x10", "10x10"),
    ("play connect_four --opponent {corrupt}", "corrupt.pt"),
    ("replay nowhere.jsonl", "nowhere.jsonl"),
    ("replay --list {damaged}", "damaged.jsonl"),
    # GANs and style
    ("gan train --lr_g=-1", "lr_g"),
    ("gan train --steps=-1", "steps"),
    ("gan train --preset nosuch", "nosuch"),
    ("generate {corrupt}", "corrupt.pt"),
    ("style transfer chelsea brick --size 0 -o out.png", "size"),
    ("style transfer nosuch brick -o out.png", "nosuch"),
    ("style transfer chelsea brick --steps -1 -o out.png", "steps"),
    ("dream chelsea --steps -1 -o out.png", "steps"),
    ("bench gan --steps 0", "steps"),
    ("bench style --sizes 0", "sizes"),
    ("bench style --sizes 256,abc", "sizes"),
]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A scratch working directory holding the damaged files the cases name; a window opening is a failure."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corrupt.pt").write_bytes(bytes(range(256)) * 12)
    (tmp_path / "damaged.jsonl").write_text("garbage\n{not json\n")

    def no_window(*args, **kwargs):
        raise AssertionError("a window opened before the bad input was refused")

    monkeypatch.setattr(pygame.display, "set_mode", no_window)
    return tmp_path


def _run(entry, argv: list[str], capsys) -> tuple[int, list[str]]:
    try:
        code = entry(argv)
    except SystemExit as exit:
        code = exit.code
    return code, [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def _check(code, err: list[str], named: str) -> None:
    assert code == 2, f"exit status {code}, stderr {err}"
    assert len(err) == 1 and err[0].startswith("error: "), f"not one error line: {err}"
    assert named in err[0], f"the error does not name {named!r}: {err[0]}"
    assert "Traceback" not in err[0]


@pytest.mark.parametrize("line, named", CASES)
def test_bad_input_is_one_error_line(line, named, workdir, capsys):
    argv = [_FILES.get(tok, tok) for tok in line.split()]
    code, err = _run(main, argv, capsys)
    _check(code, err, named)
    assert not (workdir / "runs").exists() and not (workdir / "replays").exists()  # nothing started


@pytest.mark.parametrize(
    "argv, named",
    [
        (["connect_four", "banana"], "banana"),
        (["connect_four", "random", "--limit", "0"], "--limit"),
        (["chess_960", "random"], "chess_960"),
    ],
)
def test_evaluate_bad_input_is_one_error_line(argv, named, workdir, capsys):
    code, err = _run(evaluate.main, argv, capsys)
    _check(code, err, named)
