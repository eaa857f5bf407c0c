"""Game collections: generate expert games between any two players, and read game records back one at a time.

    gamelab games generate gardner_chess --white alphabeta:3 --black alphabeta:3 --games 60 --out ab3.pgn
    gamelab games generate go --option size=9 --white "gtp:gnugo --mode gtp --level 1" --black alphabeta:1 \\
        --games 20 --out gnugo.sgf --jobs 2

Generation: game i starts from `opening_plies` uniformly random moves (seeded with seed + i), then White's and
Black's specs play it out (arena.match.play_games). With `--noise P`, game i draws its own noise level e uniformly
from [0, P] and each side then plays a uniformly random legal move with probability e at every move: games of
varied strength from deterministic engines. The file's extension chooses the format: `.pgn` (chess and Gardner
minichess, arena.pgn), `.sgf` (go, gomoku, hex: an SGF collection, arena.records.to_sgf), `.jsonl` (any game,
arena.records). Games are written in order to a temporary file next to `--out`, which replaces it at the end:
an interrupted run leaves no half-written collection. `--jobs N` plays games in N processes.

Reading (`iter_records`): PGN files are streamed game by game (a database of any size is never loaded whole), SGF
files (one game or a collection) and JSONL replay files record by record. Each item is (game number, record);
a record that cannot be read is a ValueError naming the file and the game number.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from agents.players import make_player
from arena.match import PLAYER_SPECS, play_games
from arena.pgn import iter_pgn, to_pgn
from arena.records import (
    MAX_RECORD_BYTES,
    MAX_SGF_BYTES,
    _parse_record_line,
    iter_sgf_trees,
    make_record,
    own_formats,
    parse_sgf,
    read_own_records,
    to_sgf,
    write_own_record,
)
from core.config import ConfigError
from core.job import JobParser, fail, ranged
from core.paths import check_output_file
from core.progress import progress
from core.run import Interrupted, interrupts
from envs import game_class, get_game, parse_options
from envs.traits import option_specs, record_encoding, record_formats

__all__ = ["NoisyPlayer", "FORMATS", "record_format", "generate", "iter_records", "main"]

FORMATS = {".pgn": "pgn", ".sgf": "sgf", ".jsonl": "jsonl"}


def _formats() -> dict[str, str]:
    """Extension -> format: PGN, SGF, JSONL and the formats games write themselves (KIF, CSA)."""
    return {**FORMATS, **own_formats()}


def _extensions() -> str:
    names = list(_formats())
    return ", ".join(names[:-1]) + " or " + names[-1]


class NoisyPlayer:
    """A player that plays a uniformly random legal move with probability `noise`, else `player`'s move."""

    def __init__(self, player: Any, noise: float, generator: torch.Generator) -> None:
        self.player, self.noise, self.generator = player, float(noise), generator
        self.name, self.checkpoint, self.settings = player.name, player.checkpoint, player.settings
        self.info = None

    def __call__(self, game: Any, state: Any) -> torch.Tensor:
        legal = game.legal_mask(state).cpu()
        random_move = torch.rand(legal.shape[0], generator=self.generator) < self.noise
        if bool(random_move.all()):
            chosen = torch.zeros(legal.shape[0], dtype=torch.long)
        else:
            chosen = torch.as_tensor(self.player(game, state)).cpu().long().reshape(-1)
        if bool(random_move.any()):
            weights = legal.float() + 1e-12 * (~legal.any(-1, keepdim=True)).float()
            pick = torch.multinomial(weights, 1, generator=self.generator).squeeze(1)
            chosen = torch.where(random_move, pick, chosen)
        return chosen

    def close(self) -> None:
        """Close the player it plays for."""
        self.player.close()


def record_format(path: str | os.PathLike, game: Any) -> str:
    """The format ("pgn", "sgf", "jsonl") a file's extension names, checked against the game.

    Raises:
        ValueError: an unknown extension, or a format the game has no writer for.
    """
    ext = Path(path).suffix.lower()
    formats = _formats()
    if ext not in formats:
        raise ValueError(f"{path}: unknown record format {ext or '(no extension)'!r}; use {_extensions()}")
    fmt = formats[ext]
    if fmt not in record_formats(game):
        raise ValueError(f"{path}: {game.name} games cannot be written as {fmt.upper()}; use .jsonl")
    return fmt


def _format_record(record: dict, fmt: str, game: Any = None, first: bool = True) -> str:
    """One game of a collection in `fmt`; `game` writes the formats of its own (KIF, CSA: games after the first of
    a CSA file start with a "/" line)."""
    import json

    if fmt == "pgn":
        return to_pgn(record, event="gamelab games generate") + "\n"
    if fmt == "sgf":
        return to_sgf(record)
    if fmt == "jsonl":
        return json.dumps(record, separators=(",", ":")) + "\n"
    return ("" if first or fmt != "csa" else "/\n") + write_own_record(game, fmt, record)


# ---------------------------------------------------------------- generation (one process per job)

_WORKER: dict = {}


def _init_worker(game_name: str, options: dict, white: str, black: str, seed: int) -> None:
    torch.set_num_threads(1)
    game = get_game(game_name, **options)
    _WORKER.update(
        game=game,
        white=make_player(white, game, seed=seed),
        black=make_player(black, game, seed=seed + 1),
    )


def _init_pool_worker(*args) -> None:
    """A worker process of `--jobs N`: Ctrl-C in the terminal reaches it too, but the parent alone answers it (and
    ends the pool)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _init_worker(*args)


def _close_worker() -> None:
    for key in ("white", "black"):
        if key in _WORKER:
            _WORKER.pop(key).close()


def _play_one(task: tuple[int, int, int | None, float]) -> dict:
    """Game `index`: its own opening seed and noise level; the record with White and Black in move order."""
    index, seed, opening_plies, noise = task
    game = _WORKER["game"]
    generator = torch.Generator().manual_seed(seed * 1_000_003 + index)
    level = float(torch.rand((), generator=generator)) * noise
    white, black = _WORKER["white"], _WORKER["black"]
    if noise > 0:
        white, black = NoisyPlayer(white, level, generator), NoisyPlayer(black, level, generator)
    res = play_games(
        game, white, black, 1, seed=seed * 1_000_003 + index, record=None, progress=False,
        opening_plies=opening_plies,
    )  # fmt: skip
    info = res.games[0]
    return make_record(
        game, info["moves"], info["result"], [white, black], opening_plies=info["opening_plies"],
        noise=round(level, 4), source="games generate",
        **({"termination": info["termination"]} if info.get("termination") else {}),
    )  # fmt: skip


def _run_tasks(tasks: list, init_args: tuple, jobs: int) -> Iterator[dict]:
    if jobs <= 1:
        _init_worker(*init_args)
        try:
            for task in tasks:
                yield _play_one(task)
        finally:
            _close_worker()
        return
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(jobs, initializer=_init_pool_worker, initargs=init_args) as pool:
        yield from pool.imap(_play_one, tasks, chunksize=1)


def generate(
    game_name: str, options: dict, white: str, black: str, num_games: int, out: str | os.PathLike, *,
    seed: int = 0, opening_plies: int | None = None, noise: float = 0.0, jobs: int = 1, show: bool = True,
) -> dict:  # fmt: skip
    """Play `num_games` games between two specs and write them to `out` in the format its extension names.

    Returns:
        {"games": N, "white_wins": .., "draws": .., "black_wins": .., "out": path}.
    Raises:
        KeyError, ValueError, OSError: an unknown game, option or spec, a format the game has no writer for, a
            path that cannot be written.
    """
    game = get_game(game_name, **options)
    out = check_output_file(out)  # a folder, or a parent that is a file: refused before any game is played
    if not out.parent.is_dir():
        raise ValueError(f"{out}: no folder {out.parent}")
    fmt = record_format(out, game)
    for i, spec in enumerate((white, black)):  # a bad spec fails now, in this process, not in a worker
        make_player(spec, game, seed=seed + i).close()
    tmp = out.with_name(f".{out.name}.part")
    tasks = [(i, seed, opening_plies, noise) for i in range(num_games)]
    counts = {1.0: 0, 0.5: 0, 0.0: 0}
    bar = progress(total=num_games, desc=f"{white} vs {black}", unit="game", disable=None if show else True)
    try:
        with open(tmp, "w", encoding=record_encoding(game, fmt), errors="replace", newline="\n") as f:
            for k, record in enumerate(_run_tasks(tasks, (game_name, options, white, black, seed), max(1, jobs))):
                f.write(_format_record(record, fmt, game, first=k == 0))
                f.flush()
                counts[record["result"]] = counts.get(record["result"], 0) + 1
                bar.update(1)
                bar.set_postfix_str(f"W/D/L {counts[1.0]}/{counts[0.5]}/{counts[0.0]}")
        os.replace(tmp, out)
    finally:
        bar.close()
        tmp.unlink(missing_ok=True)
    return {"games": num_games, "white_wins": counts[1.0], "draws": counts[0.5], "black_wins": counts[0.0],
            "out": str(out)}  # fmt: skip


# ---------------------------------------------------------------- reading


_SGF_RESULT = re.compile(r"^\s*([BW])\s*\+", re.I)


def _sgf_record(parsed: dict) -> dict:
    H, W = parsed["board_shape"]
    name = parsed["game"]
    specs = option_specs(game_class(name))  # the SGF's board size and komi, where the game takes them
    options: dict[str, Any] = {}
    if "size" in specs:
        options["size"] = W
    if "komi" in specs and parsed["komi"] is not None:
        options["komi"] = parsed["komi"]
    game = get_game(name, **options)
    result = parsed.get("result")
    m = _SGF_RESULT.match(result or "")
    draw = (result or "").strip() in ("0", "Draw")
    score = (1.0 if m.group(1).upper() == "B" else 0.0) if m else (0.5 if draw else None)
    return make_record(game, parsed["moves"], score, [parsed["players"][0] or "?", parsed["players"][1] or "?"])


def iter_records(path: str | os.PathLike, on_bad: Callable[[str], None] | None = None) -> Iterator[tuple[int, dict]]:
    """(game number from 1, record) for every game of a PGN, SGF, JSONL, KIF or CSA file, read a game at a time
    (KIF and CSA files whole: a bad game stops the file).

    `on_bad`: called with the message of each game that cannot be read, which is then skipped (None: raise).

    Raises:
        FileNotFoundError: no such file.
        ValueError: an unknown extension, or a game that cannot be read (naming the file and the game number).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such record file")
    fmt = _formats().get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unknown record format {path.suffix or '(no extension)'!r}; use {_extensions()}")
    if fmt not in ("pgn", "sgf", "jsonl"):
        try:
            records = read_own_records(path, fmt)
        except ValueError as err:
            _bad(str(err), on_bad)
            return
        yield from enumerate(records, 1)
    elif fmt == "pgn":
        yield from iter_pgn(path, on_bad)
    elif fmt == "sgf":
        size = path.stat().st_size
        if size > 64 * MAX_SGF_BYTES:
            raise ValueError(f"{path}: {size} bytes, more than an SGF collection may hold ({64 * MAX_SGF_BYTES})")
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{path}: not UTF-8 text; not an SGF file") from None
        number = 0
        for number, tree in enumerate(iter_sgf_trees(text), 1):
            try:
                record = _sgf_record(parse_sgf(tree))
            except (ValueError, KeyError) as err:
                _bad(f"{path}: game {number}: {err}", on_bad)
                continue
            yield number, record
        if number == 0:
            raise ValueError(f"{path}: holds no SGF game")
    else:
        number = 0
        with open(path, "rb") as f:
            for lineno, line in enumerate(iter(lambda: f.readline(MAX_RECORD_BYTES + 1), b""), 1):
                if not line.strip():
                    continue
                number += 1
                try:
                    import warnings

                    with warnings.catch_warnings():
                        warnings.simplefilter("error")
                        rec = _parse_record_line(path, lineno, line)
                except (ValueError, Warning) as err:
                    _bad(f"{path}: game {number} (line {lineno}): {_tail(str(err), path, lineno)}", on_bad)
                    continue
                if rec is not None:
                    yield number, rec
        if number == 0:
            raise ValueError(f"{path}: holds no game record")


def _bad(message: str, on_bad: Callable[[str], None] | None) -> None:
    if on_bad is None:
        raise ValueError(message)
    on_bad(message)


def _tail(message: str, path: Path, lineno: int) -> str:
    prefix = f"{path}:{lineno}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


# ---------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    p = JobParser(
        prog="gamelab games generate",
        description="Play games between two players and write them as PGN, SGF, JSONL, KIF or CSA (by the file's "
        "extension).",
        epilog=PLAYER_SPECS + " Also uci:CMD[:name=value], gtp:COMMAND.",
    )
    p.add_argument("game", help="registered game name, e.g. gardner_chess")
    p.add_argument("--white", required=True, metavar="SPEC", help="the first player's spec")
    p.add_argument("--black", required=True, metavar="SPEC", help="the second player's spec")
    p.add_argument("--games", type=ranged(int, ge=1), default=20, help="games to play (default 20)")
    p.add_argument("--out", required=True, metavar="FILE", help="output file: .pgn, .sgf, .jsonl, .kif or .csa")
    p.add_argument("--opening-plies", type=ranged(int, ge=0), default=None,
                   help="random opening plies of every game (default: the game's match default)")  # fmt: skip
    p.add_argument("--noise", type=ranged(float, ge=0, le=1), default=0.0,
                   help="each game plays random moves with a probability from [0, NOISE] (default 0)")  # fmt: skip
    p.add_argument("--jobs", type=ranged(int, ge=1), default=1, help="games played in this many processes")
    p.add_argument("--seed", type=ranged(int, ge=0), default=0)
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="game option, e.g. size=9 (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run `gamelab games generate`. Returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: gamelab games generate GAME --white SPEC --black SPEC --games N --out FILE [options]")
        return 0 if argv else 2
    if argv[0] != "generate":
        return fail(f"unknown games command {argv[0]!r}; known: generate")
    args = _parser().parse_args(argv[1:])
    torch.set_num_threads(1)
    try:
        options = parse_options(args.option)
        with interrupts():  # Ctrl-C or SIGTERM: the temporary file goes, one line says so
            res = generate(
                args.game, options, args.white, args.black, args.games, args.out, seed=args.seed,
                opening_plies=args.opening_plies, noise=args.noise, jobs=args.jobs, show=not args.quiet,
            )  # fmt: skip
    except Interrupted as stop:
        print(f"interrupted; {args.out} was not written (it is written whole at the end)", file=sys.stderr)
        return stop.code
    except (KeyError, ValueError, OSError, ConfigError) as err:
        return fail(err)
    score = f"{res['white_wins']}/{res['draws']}/{res['black_wins']}"
    print(f"{res['games']} games, White/draw/Black {score}: {res['out']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
