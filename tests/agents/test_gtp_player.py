"""GTP engines as players (`gtp:COMMAND`): whole 9x9 games against GNU Go, and engines that misbehave.

GNU Go is a Debian package (`apt-get install gnugo`, installed by .ci/run); the tests that need it are skipped with
the reason where it is missing.
"""

from __future__ import annotations

import sys

import pytest
import torch

from agents.gtp_check import engine_games, summarize
from agents.gtp_player import GtpPlayer, parse_score
from agents.players import make_player
from envs.go import Go

GNUGO = "gnugo --mode gtp --chinese-rules"


needs_gnugo = pytest.mark.gnugo


def test_parse_score():
    assert parse_score("B+3.5") == 3.5 and parse_score("W+12") == -12 and parse_score("0") == 0
    assert parse_score("B+R") is None and parse_score("") is None


def test_bad_engines_fail_fast():
    with pytest.raises(ValueError, match="not found"):
        make_player("gtp:no-such-engine-here --mode gtp", Go(size=9))
    with pytest.raises(ValueError, match="expected gtp:COMMAND"):
        make_player("gtp:", Go(size=9))
    # an engine that echoes is no GTP engine; one that never answers times out: neither hangs
    with pytest.raises(ValueError, match="not a GTP reply"):
        GtpPlayer(f"{sys.executable} -c 'import sys\nfor l in sys.stdin: print(l, end=\"\", flush=True)'", Go(9))
    with pytest.raises(ValueError, match="no answer within"):
        GtpPlayer(f"{sys.executable} -c 'import time; time.sleep(60)'", Go(size=9), timeout=2)


@needs_gnugo
def test_gtp_spec_plays_gnugo_with_a_result_both_agree_on():
    # GNU Go level 0 through the gtp: spec (our side) against GNU Go level 1, four full 9x9 games
    game = Go(size=9, komi=7.5)
    ours = make_player(f"gtp:{GNUGO} --level 0", game)
    engine = GtpPlayer(f"{GNUGO} --level 1", game)
    assert ours.name == f"gtp:{GNUGO} --level 0" and "simple ko" in ours.rules["ours"]
    try:
        games = engine_games(game, ours, engine, 4, seed=1)
        assert len(ours.sessions) <= 4 and len(engine.sessions) <= 4  # one engine per game at most
    finally:
        ours.close()
        engine.close()
    assert ours.disagreements == [] and engine.disagreements == []  # same rules: every move accepted
    for g in games:
        assert g["engine"] is not None and 10 < g["moves"] < game.max_moves
        # both programs agree on the winner, or the difference is exactly the stones GNU Go calls dead
        if not g["agree"]:
            assert (g["our_without_dead"] > 0) == (g["engine"] > 0), g
    s = summarize(games)
    assert s["agree"] >= 3 and s["two_pass_games"] >= 3, s


@needs_gnugo
def test_engine_sessions_follow_games_and_openings():
    # one engine process per game, recognised from call to call; a new position (another opening) is set up
    game = Go(size=9)
    engine = GtpPlayer(f"{GNUGO} --level 0", game)
    try:
        state = game.step(game.init(2), torch.tensor([40, 0]))  # two games, white (the engine) to move
        first = engine(game, state)
        assert len(engine.sessions) == 2
        state = game.step(game.step(state, first), torch.tensor([81, 81]))  # black passes in both
        engine(game, state)
        assert len(engine.sessions) == 2  # the same two engines
        fresh = game.step(game.init(1), torch.tensor([10]))
        engine(game, fresh)
        assert len(engine.sessions) == 3  # a new game next to the two running ones
        assert engine.sessions[2].client.must("list_stones black") == "B8"  # the new game's board
        assert engine.disagreements == []
    finally:
        engine.close()
