"""Every kind of player a spec can name keeps the one contract of `agents.player.Player` (name, checkpoint,
settings, info, a call that answers a legal move per live game, close()), engines included: the `gtp:` and `uci:`
players here drive small engines that are real subprocess scripts speaking GTP and UCI."""

import os
import shutil
import stat
import sys
import textwrap

import pytest
import torch

from agents.player import Player
from agents.players import make_player
from envs import get_game

FAKE_GTP = """
import sys
for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    answer = {"name": "fakego", "version": "1", "protocol_version": "2", "genmove": "pass"}.get(words[0], "")
    sys.stdout.write(f"= {answer}\\n\\n")
    sys.stdout.flush()
    if words[0] == "quit":
        break
"""

FAKE_UCI = """
import sys
import chess
board = chess.Board()
for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    if words[0] == "uci":
        print("id name fakefish\\nuciok", flush=True)
    elif words[0] == "isready":
        print("readyok", flush=True)
    elif words[:2] == ["position", "fen"]:
        board = chess.Board(" ".join(words[2:8]))
    elif words[0] == "go":
        print(f"bestmove {min(m.uci() for m in board.legal_moves)}", flush=True)
    elif words[0] == "quit":
        break
"""


def _script(tmp_path, name, body):
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def _checkpoint(tmp_path, game):
    from agents.network import PolicyValueNet
    from core.checkpoint import save_checkpoint

    torch.manual_seed(0)
    net = PolicyValueNet(tuple(game.planes_shape), game.num_actions, blocks=1, channels=8)
    payload = {"game": {"name": game.name, "options": dict(game.options)}, "net_config": dict(net.config)}
    payload["model"] = net.state_dict()
    return save_checkpoint(tmp_path / "net.pt", payload, kind="alphazero")


def _midgame(game, plies, batch=2):
    gen = torch.Generator().manual_seed(1)
    state = game.init(batch)
    for _ in range(plies):
        legal = game.legal_mask(state)
        state = game.step(state, torch.where(legal, torch.rand(legal.shape, generator=gen), -1.0).argmax(-1))
    return state


KINDS = {  # spec kind -> (game, options, spec made from the test's files, plies before the position asked)
    "random": ("connect_four", {}, lambda t, g: "random", 3),
    "rollout": ("connect_four", {}, lambda t, g: "rollout:8", 3),
    "mcts": ("tictactoe", {}, lambda t, g: "mcts:8", 2),
    "alphabeta": ("othello", {"size": 6}, lambda t, g: "alphabeta:1", 2),
    "solver": ("connect_four", {}, lambda t, g: "solver", 16),
    "az": ("connect_four", {}, lambda t, g: f"az:{_checkpoint(t, g)}:8", 3),
    "path": ("tictactoe", {}, lambda t, g: str(_checkpoint(t, g)), 1),
    "bundled": ("tictactoe", {}, None, 1),
    "gtp": ("go", {"size": 5}, lambda t, g: f"gtp:{_script(t, 'fakego', FAKE_GTP)}", 4),
    "uci": ("chess", {}, lambda t, g: f"uci:{_script(t, 'fakefish', FAKE_UCI)}", 2),
    "usi": ("minishogi", {}, lambda t, g: "usi:fairy-stockfish:nodes=200", 2),  # a real USI engine
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_spec_kind_keeps_the_player_contract(kind, tmp_path, model_dir):
    name, options, spec_of, plies = KINDS[kind]
    if kind == "usi" and shutil.which("fairy-stockfish", path=os.environ.get("PATH", "") + ":/usr/games") is None:
        pytest.skip("fairy-stockfish is not installed (apt-get install fairy-stockfish)")
    game = get_game(name, **options)
    if kind == "bundled":
        model_dir.add(game)
        spec = "bundled:8"
    else:
        spec = spec_of(tmp_path, game)
    player = make_player(spec, game, seed=3)
    try:
        assert isinstance(player, Player), kind
        assert isinstance(player.name, str) and player.name
        assert player.checkpoint is None or isinstance(player.checkpoint, str)
        assert player.settings is None or isinstance(player.settings, dict)
        state = _midgame(game, plies)
        action = player(game, state)
        assert action.shape == (2,) and action.dtype == torch.long
        live = ~game.outcome(state)[0]
        assert bool(game.legal_mask(state)[torch.arange(2), action][live].all()), (kind, action)
        assert player.info is None or isinstance(player.info, dict)
        if kind in ("az", "path", "bundled"):
            assert len(player.checkpoint) >= 8  # the hash of the network file it plays
    finally:
        player.close()
    player.close()  # closing twice is harmless
    if kind in ("gtp", "uci", "usi"):
        procs = [s.client.proc.proc for s in player.sessions] if kind == "gtp" else [player._proc.proc]
        assert all(p.poll() is not None for p in procs)  # the engine processes are gone


def test_the_human_seat_is_a_player_too():
    from agents.player import HumanPlayer, is_human
    from arena.viewer.controller import Viewer

    viewer = Viewer("tictactoe", seats=("human", "random"), record_dir=None)
    try:
        person, machine = viewer.players
        assert isinstance(person, HumanPlayer) and isinstance(person, Player) and is_human(person)
        assert not is_human(machine) and person.name == "human" and person.checkpoint is None
        with pytest.raises(RuntimeError, match="viewer"):
            person(get_game("tictactoe"), get_game("tictactoe").init(1))  # its moves are clicks, not calls
    finally:
        viewer.close()
