"""Recording the viewer's games and loading recorded ones back as sessions.

Every game played in the viewer is appended to `replays/<game>-<YYYYmmdd>.jsonl` (the folder is `--replays`), one
JSON line per game in the format of arena.records; `load_session` opens such a file (or an SGF or PGN file) for
review.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any

import torch

import envs
from arena.pgn import load_pgn
from arena.records import (
    _sgf_point,
    append_records,
    default_replay_path,
    load_replays,
    load_sgf,
    own_formats,
    read_own_records,
)
from arena.viewer.session import GameSession
from envs import traits

__all__ = ["record_session", "load_session", "load_records"]


def record_session(session: GameSession, players: list[Any], directory: str | os.PathLike) -> Path:
    """Append the session's game (up to its cursor) to today's replay file of its game in `directory`.

    Args:
        players: the two seats' players in move order (agents.player.Player; a person is a HumanPlayer).
    Returns:
        The file written to.
    """
    return append_records(default_replay_path(directory, session.game.name), [session.record(list(players))])


def _record_from_sgf(sgf: dict) -> dict:
    """The parts of a replay record that an SGF game gives: game and options, players, moves."""
    H, W = sgf["board_shape"]
    if H != W:
        raise ValueError(f"SGF board {W}x{H}: only square boards are supported")
    options = {"size": H}
    if sgf.get("komi") is not None and "komi" in traits.option_specs(envs.game_class(sgf["game"])):
        options["komi"] = sgf["komi"]
    return {"game": {"name": sgf["game"], "options": options}, "players": sgf["players"], "moves": sgf["moves"]}


def load_records(path: str | os.PathLike) -> list[dict]:
    """The game records of a replay file (JSONL), an SGF file, a PGN file (chess) or a file of a format a game
    reads itself (KIF, CSA: shogi).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file holds no readable game record (empty, or every line damaged).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such replay file")
    if path.suffix.lower() == ".sgf":
        return [_record_from_sgf(load_sgf(path))]
    if path.suffix.lower() == ".pgn":
        return load_pgn(path)
    own = own_formats().get(path.suffix.lower())
    if own is not None:
        return read_own_records(path, own)
    with warnings.catch_warnings(record=True) as skipped:  # damaged lines: one plain line each, no source lines
        warnings.simplefilter("always")
        records = load_replays(path)
    if not records:
        detail = f" ({len(skipped)} damaged lines, the first: {skipped[0].message})" if skipped else ""
        raise ValueError(f"{path}: holds no readable game record{detail}")
    for w in skipped:
        print(f"warning: {w.message}", file=sys.stderr)
    return records


def load_session(path: str | os.PathLike, index: int = -1) -> GameSession:
    """The GameSession of game `index` of a replay file (JSONL, SGF or PGN), with the cursor at the start.

    Raises:
        FileNotFoundError, ValueError: a missing file, an empty one, or an index out of range.
    """
    records = load_records(path)
    if not -len(records) <= index < len(records):
        raise ValueError(f"{path}: game index {index} out of range (the file holds {len(records)} games)")
    record = records[index]
    game = envs.get_game(record["game"]["name"], **record["game"].get("options", {}))
    names = [p.get("name", "?") if isinstance(p, dict) else str(p or "?") for p in record.get("players", ["?", "?"])]
    start = record.get("start")
    _check_moves(Path(path), game, record["moves"], start)
    session = GameSession.from_moves(game, record["moves"], players=names, start=start)
    session.infos = list(record.get("move_info") or [None] * len(record["moves"]))
    if record.get("reason") == "resignation" and record.get("winner") is not None:
        session.resigned = 1 - int(record["winner"])
    session.jump(0)
    return session


def _check_moves(path: Path, game: Any, moves: list, start: str | None = None) -> None:
    """ValueError "FILE: move N (TEXT) is illegal ..." at the first move that cannot be played, the move written in
    the file's own terms (an SGF point, else the game's move text); `start`: a set-up start position's text."""
    try:
        state = traits.start_state(game, start)
    except ValueError as err:
        raise ValueError(f"{path}: start position: {err}") from None
    for n, action in enumerate(moves):
        done = bool(game.outcome(state)[0][0])
        valid = isinstance(action, int) and 0 <= action < game.num_actions
        if valid and not done and bool(game.legal_mask(state)[0, action]):
            state = game.step(state, torch.tensor([action]))
            continue
        if not valid:
            text = repr(action)
        elif path.suffix.lower() == ".sgf":
            colour = "B" if int(state.player[0]) == 0 else "W"
            text = f"{colour}[{_sgf_point(game.name, action, game.board_shape)}]"
        else:
            text = traits.move_to_text(game, state, 0, action)
        why = "comes after the end of the game" if done and valid else "is illegal in this position"
        raise ValueError(f"{path}: move {n + 1} ({text}) {why}")
