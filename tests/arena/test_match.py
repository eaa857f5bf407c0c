"""Matches: W/D/L bookkeeping, alternating first move, shared openings, records that replay to the same result."""

import json

import torch

from agents.alphabeta import AlphaBetaPlayer
from agents.player import RandomPlayer
from arena.match import main, play_games
from arena.records import load_replays, replay_states
from envs import get_game


def test_wdl_alternation_and_records(tmp_path):
    game = get_game("connect_four")
    a, b = AlphaBetaPlayer(1, seed=0), RandomPlayer(seed=1)
    res = play_games(game, a, b, 10, batch=4, seed=7, record=tmp_path, progress=False, opening_plies=2)
    assert res.wins_a + res.draws + res.losses_a == 10 == len(res.games)
    for i, g in enumerate(res.games):
        assert g["a_first"] == (i % 2 == 0)
        assert g["players"] == (["alphabeta:1", "random"] if i % 2 == 0 else ["random", "alphabeta:1"])
    # each pair of games shares its random opening, with the sides swapped
    for i in range(0, 10, 2):
        assert res.games[i]["moves"][:2] == res.games[i + 1]["moves"][:2]
    a_scores = [g["result"] if g["a_first"] else 1 - g["result"] for g in res.games]
    assert sum(s == 1 for s in a_scores) == res.wins_a and sum(s == 0 for s in a_scores) == res.losses_a
    records = load_replays(tmp_path)
    assert len(records) == 10
    for rec, g in zip(records, res.games):
        assert rec["moves"] == g["moves"] and rec["result"] == g["result"] and rec["id"] == g["record_id"]
        assert [p["name"] for p in rec["players"]] == g["players"]
        assert rec["opening_plies"] == 2 and len(rec["move_info"]) == len(rec["moves"])
        replay_game, states = replay_states(rec)
        final = states[-1]
        done, value = replay_game.outcome(final)
        assert bool(done[0])
        first_score = (float(value[0] if int(final.player[0]) == 0 else -value[0]) + 1) / 2
        assert first_score == rec["result"]


def test_searching_players_leave_move_info(tmp_path):
    from agents.search_player import rollout_player

    game = get_game("tictactoe")
    path = tmp_path / "games.jsonl"
    play_games(game, rollout_player(game, 8), RandomPlayer(), 2, record=path, progress=False)
    rec = load_replays(path)[0]
    mover_a = [k for k in range(len(rec["moves"])) if k % 2 == 0]
    assert all(rec["move_info"][k] is not None and rec["move_info"][k]["top"] for k in mover_a)
    assert all(rec["move_info"][k] is None for k in range(1, len(rec["moves"]), 2))


def test_same_seed_same_games():
    game = get_game("connect_four")
    runs = [play_games(game, RandomPlayer(seed=2), RandomPlayer(seed=3), 4, seed=5, progress=False) for _ in range(2)]
    assert [g["moves"] for g in runs[0].games] == [g["moves"] for g in runs[1].games]


def test_cli_json(tmp_path, capsys):
    rc = main(["tictactoe", "alphabeta:2", "random", "--games", "4", "--record", str(tmp_path), "--json", "--quiet"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["wins_a"] + out["draws"] + out["losses_a"] == 4
    assert len(load_replays(tmp_path)) == 4
    assert main(["tictactoe", "nonsense", "random", "--games", "1", "--no-record", "--quiet"]) == 2


def test_players_only_see_their_own_live_rows():
    game = get_game("tictactoe")
    seen = []

    class Spy(RandomPlayer):
        def __call__(self, g, state):
            seen.append(state.player.clone())
            assert not bool(g.outcome(state)[0].any())
            legal = g.legal_mask(state)
            return torch.where(legal, 1.0, -1.0).argmax(-1)

    play_games(game, Spy(), RandomPlayer(), 6, progress=False)
    assert seen and all(p.shape[0] <= 3 and bool((p == p[0]).all()) for p in seen)  # its half of the games


def test_records_feed_the_elo_fit(tmp_path):
    from arena.elo import fit_bradley_terry, records_from_games

    game = get_game("tictactoe")
    res = play_games(game, AlphaBetaPlayer(2), RandomPlayer(), 6, record=tmp_path, progress=False)
    from_games = records_from_games(res.games)
    from_file = records_from_games(load_replays(tmp_path))
    assert from_games == from_file and len(from_games) == 6
    table = fit_bradley_terry(from_games, anchor="random")
    assert table.rating("alphabeta:2")[0] > 0
