"""Random chess games move for move against PettingZoo's chess_v6 and the python-chess board inside it.

Our games run as one batch; each game also runs in its own chess_v6 env. At every ply: PettingZoo's action mask
equals our legal mask (the legal move set of python-chess, in PettingZoo's action ids); our FEN equals
python-chess's; every eighth ply of a game the legal moves as UCI text equal python-chess's; the move played is
pushed in both. At the end: both end on the same ply, with python-chess's termination reason
(``board.outcome(claim_draw=True)``) and winner, and PettingZoo's terminations and rewards. Our cap of 512 plies is
the one difference: a game still running there ends as a draw here and must still be running in PettingZoo.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from envs.chess import Chess


def _play_against_pettingzoo(num_games: int, seed: int) -> dict[str, int]:
    from pettingzoo.classic import chess_v6

    game = Chess()
    gen = torch.Generator().manual_seed(seed)
    state = game.init(num_games)
    pz = [chess_v6.env() for _ in range(num_games)]
    for env in pz:
        env.reset(seed=seed)
    live, ply, reasons = list(range(num_games)), 0, {}
    while live:
        mask = game.legal_mask(state).numpy()
        action = game.random_actions(state, gen)
        fens, done, winner = game.to_fen(state), state.done.tolist(), state.winner.tolist()
        for i in list(live):
            env = pz[i]
            board = env.unwrapped.board
            obs, reward, term, trunc, _ = env.last()
            where = f"game {i} ply {ply} ({board.fen()})"
            assert fens[i] == board.fen(), where
            if done[i] or term or ply >= game.max_moves:
                live.remove(i)
                reason = game.termination(state)[i]
                reasons[reason] = reasons.get(reason, 0) + 1
                if ply >= game.max_moves:
                    assert reason == "max_moves" and not term and board.outcome(claim_draw=True) is None, where
                    continue
                assert done[i] and term and not trunc, f"{where}: ours {reason!r}, PettingZoo terminated {term}"
                outcome = board.outcome(claim_draw=True)
                assert outcome.termination.name.lower() == reason, where
                assert winner[i] == {True: 0, False: 1, None: -1}[outcome.winner], where
                white = {None: 0.0, True: 1.0, False: -1.0}[outcome.winner]
                assert env.unwrapped.rewards == {"player_0": white, "player_1": -white}, where
                assert all(env.terminations.values()), where
                value = float(game.outcome(state)[1][i])
                assert value == (white if int(state.player[i]) == 0 else -white), where
                continue
            assert not term and reward == 0, where
            np.testing.assert_array_equal(obs["action_mask"].astype(bool), mask[i], err_msg=where)
            if ply % 8 == i % 8:
                ours = {game.move_to_uci(state, i, a) for a in np.flatnonzero(mask[i]).tolist()}
                assert ours == {m.uci() for m in board.legal_moves}, where
            a = int(action[i])
            uci = game.move_to_uci(state, i, a)
            env.step(a)
            assert board.peek().uci() == uci, where
        state = game.step(state, action, check=True)
        ply += 1
    return reasons


def test_20_random_games_agree_with_pettingzoo_and_python_chess():
    # PettingZoo's env costs most of the time here (it copies the whole move stack at every ply); 100 and 1000
    # games are marked slow
    reasons = _play_against_pettingzoo(20, seed=0)
    assert sum(reasons.values()) == 20
    # random games end in many ways; each of the claims shows up in these 20 (2, 10, 4 and 3 of them)
    assert {"checkmate", "insufficient_material", "fifty_moves", "threefold_repetition"} <= set(reasons)


@pytest.mark.slow
def test_100_random_games_agree_with_pettingzoo_and_python_chess():
    reasons = _play_against_pettingzoo(100, seed=0)
    assert sum(reasons.values()) == 100
    assert {"checkmate", "insufficient_material", "fifty_moves", "threefold_repetition"} <= set(reasons)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1, 11))
def test_1000_random_games_agree_with_pettingzoo_and_python_chess(seed):
    assert sum(_play_against_pettingzoo(100, seed=seed).values()) == 100
