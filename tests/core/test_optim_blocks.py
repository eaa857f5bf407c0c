import pytest
import torch

from core.blocks import ConvNormAct, GlobalPoolBias, ResidualBlock, init_weights
from core.ema import EMA
from core.optim import OPTIMIZERS, clip_gradients, make_optimizer, make_scheduler


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_fits_a_linear_map(name):
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
    model = torch.nn.Linear(4, 1)
    lr = {"sgd": 0.05, "adagrad": 0.3, "rprop": 0.01}.get(name, 0.02)
    opt = make_optimizer(model, name, lr=lr, weight_decay=1e-4, nesterov=True)
    first = None
    for _ in range(200):
        loss = torch.nn.functional.mse_loss(model(x), y)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05 * first


def test_no_weight_decay_on_biases_and_norms():
    model = torch.nn.Sequential(ConvNormAct(3, 8), torch.nn.Flatten(), torch.nn.Linear(8, 2))
    opt = make_optimizer(model, "adamw", weight_decay=0.1)
    decayed = {id(p) for p in opt.param_groups[0]["params"]}
    assert opt.param_groups[0]["weight_decay"] == 0.1 and opt.param_groups[1]["weight_decay"] == 0.0
    assert id(model[0][0].weight) in decayed and id(model[0][1].weight) not in decayed
    assert id(model[2].bias) not in decayed


def test_schedules_warm_up_and_decay():
    opt = make_optimizer(torch.nn.Linear(2, 2).parameters(), "sgd", lr=1.0)
    sched = make_scheduler(opt, "cosine", total_steps=10, warmup_steps=2, min_lr_ratio=0.1)
    lrs = []
    for _ in range(12):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.5) and lrs[1] == pytest.approx(1.0)
    assert lrs[-1] == pytest.approx(0.1) and all(a >= b for a, b in zip(lrs[1:], lrs[2:]))
    step = make_scheduler(make_optimizer([torch.zeros(1, requires_grad=True)], "sgd", lr=1.0), "step", step_size=3)
    with pytest.raises(ValueError, match="unknown schedule"):
        make_scheduler(opt, "wavy")
    assert step is not None


def test_clip_gradients_bounds_the_norm():
    p = torch.nn.Parameter(torch.ones(4))
    p.grad = torch.full((4,), 10.0)
    assert clip_gradients([p], 1.0) == pytest.approx(20.0)
    assert torch.linalg.vector_norm(p.grad).item() == pytest.approx(1.0, rel=1e-4)


def test_fresh_residual_block_is_identity_on_positive_input():
    block = ResidualBlock(8, global_pool=True).eval()
    x = torch.rand(2, 8, 5, 5)
    assert torch.allclose(block(x), x)


def test_global_pool_bias_sees_the_whole_board():
    layer = GlobalPoolBias(8)
    x = torch.zeros(1, 8, 5, 5)
    y0 = layer(x)
    x[0, 0, 4, 4] = 5.0  # one far corner changes every point of the unpooled channels
    y1 = layer(x)
    assert (y1[0, 2:, 0, 0] != y0[0, 2:, 0, 0]).any()


def test_init_weights_schemes():
    net = torch.nn.Sequential(torch.nn.Conv2d(64, 64, 3), torch.nn.Linear(64, 64))
    init_weights(net, "normal")
    assert abs(net[0].weight.std().item() - 0.02) < 0.003
    init_weights(net, "he")
    assert abs(net[0].weight.std().item() - (2 / (64 * 9)) ** 0.5) < 0.01
    assert net[1].bias.abs().sum() == 0
    with pytest.raises(ValueError):
        init_weights(net, "orthogonal-ish")


def test_ema_tracks_the_average():
    src = torch.nn.Linear(1, 1, bias=False)
    ema = EMA(src, decay=0.9)
    with torch.no_grad():
        src.weight.fill_(0.0)
    ema.module.weight.data.fill_(1.0)
    ema.updates = 1000
    ema.update(src)
    assert ema.module.weight.item() == pytest.approx(0.9)
    copy = EMA(src, decay=0.5)
    copy.load_state_dict(ema.state_dict())
    assert copy.decay == 0.9 and copy.module.weight.item() == pytest.approx(0.9)
