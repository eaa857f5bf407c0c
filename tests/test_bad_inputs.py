"""Every `gamelab` command meets bad input with one `error: ...` line naming the bad option or value, exit status 2,
and no traceback, before doing any work (no run directory, no window).

The table runs each command in-process (`core.cli.main`).
"""

from __future__ import annotations

import functools
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pygame
import pytest
from killed_runs import WAIT_S, wait_for_checkpoint

from arena import evaluate
from core.cli import main

_FILES = {
    "{corrupt}": "corrupt.pt",  # random bytes where a checkpoint is expected
    "{damaged}": "damaged.jsonl",  # a replay file whose every line is damaged
    "{go7}": str(Path(__file__).resolve().parents[1] / "agents" / "models" / "go_7.pt"),  # the bundled 7x7 model
    "{dir}": "adir",  # a folder where an output file is expected
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
    ("train tictactoe --input_features=true", "features"),  # a game without input features
    ("train go --ownership_weight=-1", "ownership_weight"),
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
    ("gtp go --checkpoint {go7} --size 9", "--size 9"),  # never silently the model's size
    ("gtp go --checkpoint {go7} --option size=9", "--option size=9"),
    ("gtp go --option komi=lots", "komi=lots"),
    ("gtp go --option sise=9", "sise"),
    ("train go --option komi=lots", "komi='lots'"),
    ("train go --option sise=9", "sise"),
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
    ("bench ladder --size 11 --player bundled --opponents 0", "go_11.pt"),
    ("bench ladder --game tictactoe --player random --opponents random,banana", "banana"),
    ("bench ladder --game tictactoe --player random --opponent random,alphabeta:1", "'random,alphabeta:1'"),
    ("bench ladder --game tictactoe --player random --opponents 5", "'5'"),
    ("bench ladder --game tictactoe --player random --opponents random,random", "'random' is given twice"),
    ("bench ladder --game tictactoe --player random --opponents ,", "--opponents"),
    ("bench ladder --game tictactoe --player random --games 0", "--games"),
    ("bench ladder --game tictactoe --player random --games -3", "--games"),
    ("bench ladder --game tictactoe --player random --size 9", "--size"),
    ("bench ladder --game tictactoe --player random --opening-plies -1", "--opening-plies"),
    ("bench ladder --game tictactoe --player random --out {dir}", "adir"),
    ("bench ladder --game nosuchgame", "nosuchgame"),
    ("bench ladder --game minishogi --player random --opponents alphabeta:0", "alphabeta:0"),
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
    ("gan train --arch=stylegan --cond", "cond"),
    ("gan train --arch=stylegan --map_lr_mul=0", "map_lr_mul"),
    ("gan memorisation {corrupt}", "corrupt.pt"),
    ("generate {corrupt} --truncation 5", "--truncation"),
    ("generate {corrupt} --mix-rows 1,a --mix-cols 2", "--mix-rows"),
    ("gan explore nowhere", "nowhere"),
    ("gan explore {corrupt} --seed -1", "--seed"),
    ("gan explore {corrupt}", "corrupt.pt"),
    ("style transfer chelsea brick --size 0 -o out.png", "size"),
    ("style transfer nosuch brick -o out.png", "nosuch"),
    ("style transfer chelsea brick --steps -1 -o out.png", "steps"),
    ("dream chelsea --steps -1 -o out.png", "steps"),
    ("bench gan --steps 0", "steps"),
    ("bench style --sizes 0", "sizes"),
    ("bench style --sizes 256,abc", "sizes"),
    # engines: a misspelt engine option is refused, naming the engine's options; uci takes run folders
    ("match chess random uci:stockfish:Nonexistent=3 --no-record", "no option 'Nonexistent'; its options: "),
    ("uci chess --checkpoint {dir}", "adir: no checkpoint found"),
    # input files named in their own terms
    ("evaluate connect_four random --positions {corrupt}", "corrupt.pt: not a text file (ascii): byte 0x80"),
    ("evaluate connect_four random --positions {dir}", "adir: is a directory"),
    ("evaluate connect_four random --positions missing.txt", "missing.txt: no such file"),
    ("evaluate connect_four random --positions {damaged}", "damaged.jsonl:1: expected 'SET moves score"),
    ("replay {damaged}", "damaged.jsonl: holds no readable game record (2 damaged lines, the first: damaged.jsonl:1"),
    ("replay illegal.sgf", "illegal.sgf: move 2 (W[ee]) is illegal in this position"),
    ("replay illegal.jsonl", "illegal.jsonl: move 3 ("),
    ("replay illegal.kif", "illegal.kif: game 1: move 1 (1 ７五歩(77)) is illegal in this position"),
    ("replay --list illegal.csa", "illegal.csa: game 1: move 2 (+3334FU): not the side to move"),
    ("replay {corrupt}.csa", "corrupt.pt.csa: binary data; not a KIF or CSA record"),
    ("match minishogi random random --record m.csa", "m.csa: minishogi games cannot be written as CSA"),
    ("games generate minishogi --white random --black random --out m.csa", "m.csa: minishogi games cannot be written"),
    ("games generate tictactoe --white random --black random --out t.kif", "t.kif: tictactoe games cannot be"),
    # output paths: a file path that is a folder, a folder path that is a file, checked before any work
    ("export {corrupt} {dir}", "adir: is a directory"),
    ("export --convert {corrupt} {dir} --trust-file", "adir: is a directory"),
    ("style transfer chelsea brick -o {dir}", "adir: is a directory"),
    ("style texture brick -o {dir}", "adir: is a directory"),
    ("dream chelsea -o {dir}", "adir: is a directory"),
    ("generate {corrupt} --grid {dir}", "adir: is a directory"),
    ("generate {corrupt} --out {corrupt}", "corrupt.pt: is a file, not a folder"),
    ("replay game.pgn --pgn {dir}", "adir: is a directory"),
    ("replay game.jsonl --sgf {dir}", "adir: is a directory"),
    ("replay game.jsonl --screenshot {dir}", "adir: is a directory"),
    ("play connect_four --screenshot {dir}", "adir: is a directory"),
    ("play connect_four --screenshot {corrupt}/x.png", "corrupt.pt is a file, not a folder"),
    ("play connect_four --replays {corrupt}", "corrupt.pt: is a file, not a folder"),
    ("train tictactoe --runs {corrupt}", "corrupt.pt: is a file, not a folder"),
    ("gan train --runs {corrupt}", "corrupt.pt: is a file, not a folder"),
    ("style train --runs {corrupt}", "corrupt.pt: is a file, not a folder"),
    ("style transfer chelsea brick --runs {corrupt}", "corrupt.pt: is a file, not a folder"),
    ("match tictactoe random random --record {corrupt}", "corrupt.pt: is a file, not a folder"),
    ("match tictactoe random random --record {corrupt}/games.jsonl", "corrupt.pt is a file, not a folder"),
    ("tournament tictactoe random random --out {corrupt}", "corrupt.pt: is a file, not a folder"),
    ("style apply {corrupt} chelsea -o {corrupt}/x.png", "corrupt.pt is a file, not a folder"),
    ("style apply {corrupt} chelsea -o {corrupt}", "corrupt.pt: is a file, not a folder"),
    ("games generate tictactoe --white random --black random --out {dir}", "adir: is a directory"),
    ("games generate tictactoe --white random --black random --out {corrupt}/t.jsonl", "corrupt.pt is a file, not"),
    ("bench ladder --out {dir}", "adir: is a directory"),
    ("bench ladder --out {corrupt}/ladder.json", "corrupt.pt is a file, not a folder"),
    ("gan explore {corrupt} --screenshot {corrupt}/x.png", "corrupt.pt is a file, not a folder"),
    ("gan explore {corrupt} --screenshot {dir}", "adir: the screenshot is a PNG file"),
    ("gan explore {corrupt} --out {corrupt}", "corrupt.pt: is a file, not a folder"),
    ("tournament tictactoe random random --out {corrupt}/t", "corrupt.pt is a file, not a folder"),
    ("export {corrupt} {corrupt}/x.pt", "corrupt.pt is a file, not a folder"),
    ("dream chelsea -o {corrupt}/x.png", "corrupt.pt is a file, not a folder"),
    ("generate {corrupt} --grid {corrupt}/x.png", "corrupt.pt is a file, not a folder"),
    ("replay game.jsonl --pgn {corrupt}/x.pgn", "corrupt.pt is a file, not a folder"),
    # engines: a checkpoint that is a folder without checkpoints, or not a checkpoint
    ("usi minishogi --checkpoint {dir}", "adir: no checkpoint found"),
    ("usi minishogi --checkpoint {corrupt}", "corrupt.pt: damaged or not a gamelab checkpoint"),
    ("gtp go --checkpoint {dir}", "adir: no checkpoint found"),
    ("agent connect_four --checkpoint {dir}", "adir: no checkpoint found"),
]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A scratch working directory holding the damaged files the cases name; a window opening is a failure."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corrupt.pt").write_bytes(bytes(range(256)) * 12)
    (tmp_path / "damaged.jsonl").write_text("garbage\n{not json\n")
    (tmp_path / "adir").mkdir()
    (tmp_path / "illegal.sgf").write_text("(;GM[1]FF[4]SZ[9]KM[7.5];B[ee];W[ee])\n")
    (tmp_path / "illegal.jsonl").write_text('{"game": {"name": "tictactoe"}, "moves": [4, 0, 4]}\n')
    (tmp_path / "illegal.kif").write_bytes("手合割：平手\n   1 ７五歩(77)\n".encode("cp932"))
    (tmp_path / "illegal.csa").write_text("V2.2\nPI\n+\n+7776FU\n+3334FU\n")
    (tmp_path / "corrupt.pt.csa").write_bytes(bytes(range(256)) * 12)

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
    argv = [functools.reduce(lambda t, kv: t.replace(*kv), _FILES.items(), tok) for tok in line.split()]
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


# Interruptions: Ctrl-C (SIGINT) and `kill` (SIGTERM) of a real process, once it has written `wait_for`. Expected: one
# line starting with `line` (no traceback, no native stack dump), exit 130 / 143, and the `resume with ...` command it
# names, given `more` budget, runs on from the last checkpoint to `done`. (command, wait_for, line, more, done)
_TRAIN = "--quiet --num_games 8 --simulations 4 --positions_per_iteration 16 --steps_per_iteration 2 --batch_size 16"
INTERRUPTIONS = [
    (f"train tictactoe --preset tiny --iterations 1000 {_TRAIN}", "*/checkpoints/iter_000001.pt",
     "interrupted at iteration ", "--iterations {n+1}", "iter_{n+1:06d}.pt"),
    ("gan train --preset tiny --steps 100000 --eval_samples 0", "*/checkpoints/step_0000000.pt",
     "interrupted at step ", "--steps {last+2}", "step_{last+2:07d}.pt"),
    ("style train brick --preset tiny --steps 100000 --checkpoint_every 1", "*/checkpoints/step_000001.pt",
     "interrupted at step ", "--steps {last+1}", "step_{last+1:06d}.pt"),
    ("match tictactoe random random --games 100000 --batch 2 --quiet --record games.jsonl", "games.jsonl",
     "interrupted; the finished games are recorded in games.jsonl", "", ""),
    ("tournament tictactoe random random --games 100000 --quiet --out tour", "tour/games.jsonl",
     "interrupted; the finished games are recorded in tour/games.jsonl", "", ""),
    ("games generate tictactoe --white random --black random --games 100000 --quiet --out g.jsonl", ".g.jsonl.part",
     "interrupted; g.jsonl was not written", "", ""),
]  # fmt: skip
_FAST = {("match", "SIGINT")}  # the default run; the other cases are marked slow


@pytest.mark.parametrize(
    "case, signame",
    [
        pytest.param(
            case,
            sig,
            id=f"{case[0].split()[0]}-{sig}",
            marks=() if (case[0].split()[0], sig) in _FAST else pytest.mark.slow,
        )  # fmt: skip
        for case in INTERRUPTIONS
        for sig in ("SIGINT", "SIGTERM")
    ],
)
def test_an_interrupted_command_says_one_line_and_resumes(case, signame, tmp_path):
    command, wait_for, line, more, done = case
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "OMP_NUM_THREADS": "1"}

    def gamelab(argv: list[str]) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "core.cli", *argv], cwd=tmp_path, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip

    proc = gamelab([*command.split(), "--runs", "runs"] if more else command.split())
    wait_for_checkpoint(proc, tmp_path / ("runs" if "checkpoints" in wait_for else ""), wait_for)
    time.sleep(random.uniform(0.0, 1.0))  # a random moment of the loop
    os.kill(proc.pid, getattr(signal, signame))
    out, err = proc.communicate(timeout=WAIT_S)
    lines = [x for x in err.splitlines() if x.strip()]
    assert proc.returncode == 128 + getattr(signal, signame), (proc.returncode, err)
    assert len(lines) == 1 and lines[0].startswith(line), err  # no traceback, no stack dump
    if command.startswith(("match", "tournament")):
        records = (tmp_path / wait_for).read_text().splitlines()
        assert records and all(json.loads(r)["moves"] for r in records)  # whole records only
        return
    if command.startswith("games"):  # written whole at the end: no file, and the temporary one is gone
        assert not (tmp_path / "g.jsonl").exists() and not (tmp_path / wait_for).exists()
        return
    n = int(lines[0].removeprefix(line).split(";")[0])
    last = int(lines[0].split("last checkpoint at step ")[1].split(";")[0]) if "last checkpoint" in lines[0] else n
    resume = lines[0].split("resume with gamelab ")[1].split()
    extra = more.replace("{n+1}", str(n + 1)).replace("{last+1}", str(last + 1)).replace("{last+2}", str(last + 2))
    again = gamelab([*resume, *extra.split()])
    out, err = again.communicate(timeout=WAIT_S)
    assert again.returncode == 0, err
    name = done.replace("{n+1:06d}", f"{n + 1:06d}").replace("{last+2:07d}", f"{last + 2:07d}")
    name = name.replace("{last+1:06d}", f"{last + 1:06d}")
    assert (tmp_path / resume[resume.index("--resume") + 1] / "checkpoints" / name).is_file(), err


def test_a_damaged_line_among_good_ones_is_one_plain_warning(workdir, capsys):
    (workdir / "mixed.jsonl").write_text('{"game": {"name": "tictactoe"}, "moves": [4, 0]}\n{cut off\n')
    code, err = _run(main, ["replay", "--list", "mixed.jsonl"], capsys)
    assert code == 0 and err == [
        "warning: mixed.jsonl:2: damaged replay line skipped (Expecting property name enclosed in double quotes)"
    ]
