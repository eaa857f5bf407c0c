"""KataGo's auxiliary targets end to end: recorded by self-play from each game's final position, carried by the
replay buffer through symmetries, predicted by the network's optional heads and trained by the learner; all off by
default, and the bundled models load unchanged."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import envs
from agents.buffer import ReplayBuffer
from agents.leaf_evaluators import uniform_evaluator
from agents.learner import TrainConfig, aux_targets, make_net, train_steps
from agents.mcts import SearchSettings
from agents.network import PolicyValueNet, load_policy_value_net
from agents.selfplay import SelfPlay
from core.optim import make_optimizer, make_scheduler
from envs.go import Go

KOMI = 0.5


class _FinalsGo(Go):
    """Go that keeps the final position of every game that self-play's own moves end (not the search's), to check
    the recorded targets against."""

    finals: list
    selfplay: SelfPlay | None = None

    def step(self, state, action, *, check=True):
        after = super().step(state, action, check=check)
        if self.selfplay is None or state is not self.selfplay.state:
            return after
        for i in (after.done & ~state.done).nonzero()[:, 0].tolist():
            self.finals.append(dataclasses.replace(after, **{f.name: getattr(after, f.name)[i : i + 1]
                                                             for f in dataclasses.fields(after)}))  # fmt: skip
        return after


@pytest.fixture(scope="module")
def played():
    game = _FinalsGo(size=5, komi=KOMI)
    game.finals = []
    sp = SelfPlay(game, 1, SearchSettings(num_simulations=4), full_search_prob=0.5, fast_simulations=2, seed=1,
                  aux_targets=("ownership", "score", "reply"))  # fmt: skip
    game.selfplay = sp
    data, stats = sp.run(uniform_evaluator(game), 80, show_progress=False)
    return game, data, stats


def test_selfplay_records_the_final_position_from_each_movers_view(played):
    game, data, stats = played
    planes = data["planes"].astype(np.float32)
    start = np.flatnonzero((planes[:, :2].reshape(len(planes), -1).sum(1) == 0) & (planes[:, 7, 0, 0] == 1))
    assert len(start) == stats["games"] == len(game.finals) >= 2 and start[0] == 0
    bounds = list(start) + [len(planes)]
    for k, final in enumerate(game.finals):  # one game at a time: the episodes are in order
        owner_black = game.area_owner(final)[0].float().numpy()  # exact area owner of the final board
        black_score = float(final.score[0])
        for j in range(bounds[k], bounds[k + 1]):
            sign = 1.0 if planes[j, 7, 0, 0] == 1 else -1.0  # plane 7: black to move
            assert np.array_equal(data["ownership"][j], sign * owner_black), (k, j)
            assert data["score"][j] == pytest.approx(sign * black_score)
            assert data["value"][j] == np.sign(sign * black_score)
            last = j + 1 == bounds[k + 1]
            assert data["reply_valid"][j] == (not last and bool(data["full"][j + 1]))
            if data["reply_valid"][j]:
                assert np.array_equal(data["reply"][j], data["policy"][j + 1])
            else:
                assert not data["reply"][j].any()
    assert data["reply_valid"].any() and not data["reply_valid"].all()


def test_buffer_carries_aux_fields_through_symmetries(played, tmp_path):
    game, data, _ = played
    n = len(data["value"])
    shard = dict(data)
    shard["ownership"] = data["planes"][:, 0].reshape(n, -1).astype(np.float32)  # own stones, to follow the planes
    shard["reply"] = data["policy"]
    buffer = ReplayBuffer(tmp_path, 1000, game.symmetries())
    buffer.add(shard)
    batch = buffer.sample(200, np.random.default_rng(0))
    assert torch.equal(batch["ownership"], batch["planes"][:, 0].flatten(1))
    assert torch.equal(batch["reply"], batch["policy"])
    # a resumed buffer reads them back; a shard without them (an older run) leaves the window without them
    again = ReplayBuffer(tmp_path, 1000, game.symmetries())
    again.load_state_dict(buffer.state_dict())
    assert "score" in again.sample(4, np.random.default_rng(0))
    again.add({k: data[k] for k in ("planes", "policy", "mask", "value", "full")})
    assert "score" not in again.sample(4, np.random.default_rng(0))
    merged = ReplayBuffer(tmp_path / "m", 1000, merge_duplicates=True)
    merged.add(data)
    batch = merged.sample(300, np.random.default_rng(1))
    empty = batch["planes"][:, :2].flatten(1).sum(1) == 0  # the start position: every game's, merged into one
    assert batch["score"][empty].unique().numel() == 1
    assert float(batch["score"][empty][0]) == pytest.approx(float(np.mean(data["score"][::1][_starts(data)])))


def _starts(data):
    planes = data["planes"].astype(np.float32)
    return (planes[:, :2].reshape(len(planes), -1).sum(1) == 0) & (planes[:, 7, 0, 0] == 1)


def test_aux_heads_train(played, tmp_path):
    game, data, _ = played
    torch.manual_seed(0)
    cfg = TrainConfig(blocks=1, channels=8, batch_size=32, ownership_weight=1.5, score_weight=1.0, reply_weight=0.15)
    net = make_net(game, cfg)
    assert net.aux_heads == ("ownership", "score", "reply")
    buffer = ReplayBuffer(tmp_path, 1000, game.symmetries())
    buffer.add(data)
    opt = make_optimizer(net, "adamw", lr=3e-3, weight_decay=0.0)
    sched = make_scheduler(opt, "constant", total_steps=100)
    gen = np.random.default_rng(0)
    first = train_steps(net, opt, sched, buffer, cfg, gen, torch.device("cpu"), 3, show_progress=False)
    train_steps(net, opt, sched, buffer, cfg, gen, torch.device("cpu"), 20, show_progress=False)
    last = train_steps(net, opt, sched, buffer, cfg, gen, torch.device("cpu"), 3, show_progress=False)
    for key in ("ownership_loss", "score_loss", "reply_loss"):
        assert last[key] < first[key], (key, first[key], last[key])


def test_off_by_default_and_only_where_the_game_has_them():
    go, ttt = Go(size=5), envs.get_game("tictactoe")
    assert aux_targets(go, TrainConfig()) == () and make_net(go, TrainConfig()).aux_heads == ()
    cfg = TrainConfig(ownership_weight=1.0, score_weight=1.0, reply_weight=0.15)
    assert aux_targets(ttt, cfg) == ("reply",)  # no ownership or score in tic-tac-toe
    with pytest.raises(ValueError, match="no ownership"):
        SelfPlay(ttt, 2, SearchSettings(num_simulations=2), aux_targets=("ownership",))


def test_bundled_go_model_loads_and_plays_unchanged():
    net, game = load_policy_value_net("agents/models/go_7.pt")
    assert net.aux_heads == () and not any(k.endswith("_head") for k in net.config)
    planes = game.planes(game.init(2))
    logits, value = net(planes)
    out = net(planes, aux=True)
    assert set(out) == {"logits", "value"} and torch.equal(out["logits"], logits) and torch.equal(out["value"], value)
    with_heads = PolicyValueNet.from_config({**net.config, "ownership_head": True, "score_head": True})
    missing = with_heads.load_state_dict(net.state_dict(), strict=False).missing_keys
    assert missing and all(k.startswith(("ownership", "score")) for k in missing)
    torch.testing.assert_close(with_heads.eval()(planes)[0], logits)  # the shared trunk and policy are the same


def test_a_features_model_plays_plain_go(tmp_path):
    from agents.players import make_player
    from core.checkpoint import save_checkpoint

    feat, plain = Go(size=5, features=True), Go(size=5)
    torch.manual_seed(0)
    net = PolicyValueNet(feat.planes_shape, feat.num_actions, blocks=1, channels=8).eval()
    path = tmp_path / "feat.pt"
    payload = {"game": {"name": "go", "options": feat.options}, "net_config": net.config, "model": net.state_dict()}
    save_checkpoint(path, payload, kind="alphazero")
    player = make_player(f"az:{path}:4", plain)  # the rules agree; the net reads its own 12 planes
    state = plain.step(plain.init(2), torch.tensor([6, 12]))
    logits, _ = player.evaluate(plain.planes(state), plain.legal_mask(state), state)
    expected, _ = net(feat.planes(state))
    legal = plain.legal_mask(state)
    torch.testing.assert_close(logits[legal], expected[legal])
    assert plain.legal_mask(state).gather(1, player(plain, state)[:, None]).all()
    other_komi = Go(size=5, komi=0.5)  # komi changes only the scoring of a finished game (scoring_options): played
    assert other_komi.legal_mask(other_komi.init(1)).gather(1, make_player(f"az:{path}:4", other_komi)(
        other_komi, other_komi.init(1))[:, None]).all()  # fmt: skip
    with pytest.raises(ValueError, match="holds a model for go"):
        make_player(f"az:{path}:4", Go(size=5, superko=True))  # other rules of play: refused
