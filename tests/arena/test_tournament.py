"""Round robin: Elo ordering of players of known relative strength, and the CLI outputs."""

import json

from agents.alphabeta import AlphaBetaPlayer
from agents.player import RandomPlayer
from arena.tournament import main, round_robin
from envs import get_game


def test_elo_ordering_connect_four():
    game = get_game("connect_four")
    players = [RandomPlayer(seed=0), AlphaBetaPlayer(1, seed=1), AlphaBetaPlayer(3, seed=2)]
    table, pairs = round_robin(game, players, 16, seed=0, progress=False)
    assert len(pairs) == 3 and all(p["wins_a"] + p["draws"] + p["losses_a"] == 16 for p in pairs)
    r = {name: table.rating(name)[0] for name in table.players}
    assert r["random"] == 0.0  # anchored at the first player
    assert r["random"] < r["alphabeta:1"] < r["alphabeta:3"]


def test_cli_writes_table_and_plot(tmp_path, capsys):
    out = tmp_path / "t"
    assert main(["tictactoe", "random", "alphabeta:2", "--games", "4", "--out", str(out), "--quiet"]) == 0
    data = json.loads((out / "tournament.json").read_text())
    assert {row["player"] for row in data["table"]} == {"random", "alphabeta:2"}
    assert (out / "elo.png").stat().st_size > 1000
    assert (out / "games.jsonl").is_file()
    assert "first-move advantage" in capsys.readouterr().out
