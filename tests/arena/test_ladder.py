"""The ladder of any game (`gamelab bench ladder --game ...`): every figure follows from the games actually played,
checked by replaying each recorded game through the rules; colours alternate, each pair shares its opening and
every opponent meets the same openings; the JSON is strict and written whole; a network player on minishogi."""

from __future__ import annotations

import json
import math
from datetime import datetime

import torch

from agents.network import PolicyValueNet
from arena.elo import elo_from_score
from arena.ladder import main, split_opponents
from core.checkpoint import save_checkpoint
from envs import get_game


def _strict(text: str) -> dict:
    """JSON that any reader takes: no Infinity or NaN."""

    def refuse(name: str) -> None:
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def _replayed_score(game, moves: list[int], player_first: bool) -> float:
    """The player's score of a game, from its moves played through the rules (1 win, 0.5 draw, 0 loss)."""
    state = game.init(1)
    for a in moves:
        assert not bool(game.outcome(state)[0][0]), "moves after the end"
        state = game.step(state, torch.tensor([a]))
    done, value = game.outcome(state)
    assert bool(done[0]), "the game did not end"
    first = float(value[0]) if int(state.player[0]) == 0 else -float(value[0])  # first player's view
    return (first + 1) / 2 if player_first else (1 - first) / 2


def _check_rung(game, r: dict, games: int, plies: int) -> None:
    per_game = r["per_game"]
    assert len(per_game) == r["games"] == games
    assert [g["player_first"] for g in per_game] == [i % 2 == 0 for i in range(games)]  # colours alternate
    scores = [_replayed_score(game, g["moves"], g["player_first"]) for g in per_game]
    assert scores == [g["score"] for g in per_game]
    assert (r["wins"], r["draws"], r["losses"]) == (scores.count(1.0), scores.count(0.5), scores.count(0.0))
    assert r["wins"] + r["draws"] + r["losses"] == games and r["score"] == sum(scores)
    for key, first in (("as_first", True), ("as_second", False)):
        side = [s for s, g in zip(scores, per_game) if g["player_first"] == first]
        assert r[key] == [side.count(1.0), side.count(0.5), side.count(0.0)]
    elo = elo_from_score(r["wins"], r["draws"], r["losses"])
    assert [r["elo"], r["elo_lo95"], r["elo_hi95"]] == [x if math.isfinite(x) else None for x in elo]
    for a, b in zip(per_game[::2], per_game[1::2]):  # each pair: the same random opening, sides swapped
        assert a["opening_plies"] == b["opening_plies"] == plies and a["moves"][:plies] == b["moves"][:plies]


def test_ladder_figures_follow_from_the_games(tmp_path, capsys):
    out = tmp_path / "figures" / "ladder.json"
    argv = ["--game", "tictactoe", "--player", "alphabeta:2", "--opponents", "random", "--opponent", "alphabeta:1"]
    argv += ["--games", "6", "--opening-plies", "2", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [p.name for p in out.parent.iterdir()] == ["ladder.json"]  # written whole: no temporary file left
    figures = _strict(out.read_text())
    assert figures["command"] == "gamelab bench ladder " + " ".join(argv)
    assert datetime.fromisoformat(figures["date"]).utcoffset().total_seconds() == 0
    assert (figures["game"], figures["options"], figures["player"]) == ("tictactoe", {}, "alphabeta:2")
    assert (figures["games"], figures["opening_plies"], figures["seed"]) == (6, 2, 0)
    assert list(figures["opponents"]) == ["random", "alphabeta:1"]  # the order given
    game = get_game("tictactoe")
    rungs = list(figures["opponents"].values())
    for r in rungs:
        _check_rung(game, r, 6, 2)
    assert [g["moves"][:2] for g in rungs[0]["per_game"]] == [g["moves"][:2] for g in rungs[1]["per_game"]]
    assert printed[0].startswith("alphabeta:2 (alphabeta:2) on Tic-tac-toe, 6 games per opponent")
    for i, (label, r) in enumerate(figures["opponents"].items()):
        assert printed[1 + i].startswith(f"{label:<18} W {r['wins']:3d}  D {r['draws']:3d}  L {r['losses']:3d}")
        row = f"| `{label}` | 6 | {r['wins']} | {r['draws']} | {r['losses']} | {r['score']:g} "
        assert sum(line.startswith(row) for line in printed) == 1  # its markdown row
    assert printed.count("| opponent | games | W | D | L | score | Elo (95% interval) |") == 1


def test_opponent_specs_split_only_in_the_list():
    assert split_opponents(" random, alphabeta:1 ,,usi:x:Skill Level=0") == [
        "random",
        "alphabeta:1",
        "usi:x:Skill Level=0",
    ]


def test_a_network_player_on_minishogi(tmp_path, capsys):
    """A tiny untrained checkpoint plays its games batched against random play; the figures still add up."""
    game = get_game("minishogi")
    torch.manual_seed(0)
    net = PolicyValueNet(tuple(game.planes_shape), game.num_actions, blocks=1, channels=8)
    payload = {"game": {"name": game.name, "options": {}}, "net_config": dict(net.config), "model": net.state_dict()}
    path = save_checkpoint(tmp_path / "tiny.pt", payload, kind="alphazero")
    out = tmp_path / "ladder.json"
    argv = ["--game", "minishogi", "--player", f"az:{path}:2", "--opponents", "random", "--games", "2"]
    assert main([*argv, "--quiet", "--out", str(out)]) == 0
    figures = _strict(out.read_text())
    assert figures["player_name"].startswith("az:") and figures["opening_plies"] == 2
    _check_rung(game, figures["opponents"]["random"], 2, 2)
    assert all(g["termination"] for g in figures["opponents"]["random"]["per_game"])  # how each game ended
