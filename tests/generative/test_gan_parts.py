"""GAN models, losses, augmentation and metric statistics against independent oracles."""

import numpy as np
import pytest
import scipy.linalg
import torch

from generative.gan.augment import AdaptiveP, diff_augment
from generative.gan.losses import d_loss, g_loss, gradient_penalty, r1_penalty
from generative.gan.models import build_models, model_config
from generative.gan.quality import class_coverage, frechet_distance, kid, nearest_neighbour, precision_recall


@pytest.mark.parametrize("arch", ["dcgan", "sngan", "wgan-gp"])
@pytest.mark.parametrize("cond", [False, True], ids=["uncond", "cond"])
@pytest.mark.parametrize("size", [8, 16])
def test_model_shapes(arch, cond, size):
    g, d = build_models(model_config(arch, size, 3, z_dim=8, g_width=4, d_width=4, num_classes=5 if cond else 0))
    y = torch.tensor([0, 4, 2]) if cond else None
    x = g(torch.randn(3, 8), y)
    assert x.shape == (3, 3, size, size) and x.abs().max() <= 1
    assert d(x, y).shape == (3,)


def test_projection_discriminator_depends_on_label():
    _, d = build_models(model_config("sngan", 8, 1, g_width=4, d_width=4, num_classes=3))
    x = torch.randn(2, 1, 8, 8)
    assert not torch.allclose(d(x, torch.tensor([0, 0])), d(x, torch.tensor([1, 1])))


def test_bad_size_and_arch():
    with pytest.raises(ValueError, match="power of two"):
        model_config("dcgan", 12, 1)
    with pytest.raises(ValueError, match="unknown GAN architecture"):
        model_config("biggan", 16, 1)


def test_losses_match_formulas():
    r, f = torch.randn(7), torch.randn(7)
    sig = torch.sigmoid
    expected_ns = -(torch.log(sig(r)).mean() + torch.log(1 - sig(f)).mean())
    assert torch.allclose(d_loss("ns", r, f), expected_ns, atol=1e-5)
    assert torch.allclose(g_loss("ns", f), -torch.log(sig(f)).mean(), atol=1e-5)
    expected_hinge = torch.clamp(1 - r, min=0).mean() + torch.clamp(1 + f, min=0).mean()
    assert torch.allclose(d_loss("hinge", r, f), expected_hinge)
    assert torch.allclose(g_loss("hinge", f), -f.mean())
    with pytest.raises(ValueError):
        d_loss("lsgan", r, f)


def test_penalties_on_a_linear_critic():
    # D(x) = <w, x>: its input gradient is w everywhere, so GP = (|w| - 1)^2 and R1 = |w|^2 exactly.
    w = torch.randn(1, 2, 3, 3)

    def critic(x, y=None):
        return (x * w).flatten(1).sum(1)

    real, fake = torch.randn(5, 2, 3, 3), torch.randn(5, 2, 3, 3)
    norm = w.norm()
    assert torch.allclose(gradient_penalty(critic, real, fake), (norm - 1) ** 2, rtol=1e-4)
    assert torch.allclose(r1_penalty(critic, real), norm**2, rtol=1e-4)


def test_diff_augment_probability_zero_is_identity_and_one_changes():
    x = torch.rand(6, 3, 8, 8) * 2 - 1
    assert torch.equal(diff_augment(x, "color,translation,cutout", 0.0), x)
    torch.manual_seed(0)
    y = diff_augment(x, "color,translation,cutout", 1.0)
    assert y.shape == x.shape and not torch.allclose(x, y)


def test_translation_moves_a_pixel_and_keeps_gradients():
    x = torch.zeros(64, 1, 16, 16)
    x[:, :, 8, 8] = 1.0
    x.requires_grad_(True)
    torch.manual_seed(1)
    y = diff_augment(x, "translation", 1.0)
    positions = y.detach().flatten(1).argmax(1)
    assert (y.detach().flatten(1).sum(1) == 1).all()  # shifts of at most 2 px keep the centre pixel inside
    rows, cols = positions // 16, positions % 16
    assert ((rows - 8).abs() <= 2).all() and ((cols - 8).abs() <= 2).all() and len(set(positions.tolist())) > 5
    y.sum().backward()
    assert torch.equal(x.grad[:, 0, 8, 8], torch.ones(64))  # the lit pixel lands in exactly one output pixel


def test_cutout_zeroes_a_square():
    torch.manual_seed(2)
    y = diff_augment(torch.ones(200, 1, 16, 16), "cutout", 1.0)
    zero_frac = (y == 0).float().mean(dim=(1, 2, 3))
    assert (zero_frac > 0).all() and (zero_frac <= 0.25 + 1e-6).all()  # an 8x8 square, clipped at the border
    assert ((y == 0) | (y == 1)).all()


def test_adaptive_p_moves_toward_target():
    ada = AdaptiveP(p=0.5, target=0.6, speed_images=1000)
    ada.accumulate(torch.ones(100))  # D sure of every real image: overfitting, raise p
    assert ada.adjust() == pytest.approx(0.6)
    ada.accumulate(-torch.ones(100))
    assert ada.adjust() == pytest.approx(0.5)
    fixed = AdaptiveP(p=0.3, target=0.0)
    fixed.accumulate(torch.ones(10))
    assert fixed.adjust() == 0.3


def _fd_scipy(a, b):
    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(ca @ cb).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(ca + cb - 2 * covmean))


def test_frechet_distance_matches_scipy_and_gaussian_formula():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 6))
    b = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6)) * 0.5 + 1.0
    assert frechet_distance(a, b) == pytest.approx(_fd_scipy(a, b), rel=1e-6)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    big = rng.normal(size=(20000, 3))
    shifted = rng.normal(size=(20000, 3)) + np.array([1.0, 2.0, 0.0])  # N(0,I) vs N(mu,I): |mu|^2 = 5
    assert frechet_distance(big, shifted) == pytest.approx(5.0, abs=0.1)


def test_kid_near_zero_for_same_distribution():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(600, 8)), rng.normal(size=(600, 8))
    same, _ = kid(a, b, subsets=10, subset_size=300)
    shifted, _ = kid(a, b + 1.0, subsets=10, subset_size=300)
    assert abs(same) < 0.05 and shifted > 0.5


def test_precision_recall_extremes():
    torch.manual_seed(0)
    real = torch.randn(200, 4)
    assert precision_recall(real, real.clone()) == (1.0, 1.0)
    assert precision_recall(real, torch.randn(200, 4) + 100) == (0.0, 0.0)
    p, r = precision_recall(real, real[0] + 0.01 * torch.randn(200, 4))  # collapsed samples: precise, low recall
    assert p == 1.0 and r < 0.5


def test_class_coverage_counts():
    real = torch.arange(10).repeat(10)
    cov = class_coverage(torch.tensor([1] * 50 + [2] * 50), real, 10)
    assert cov["covered"] == 2 and cov["histogram"][1] == 0.5
    assert cov["entropy_ratio"] == pytest.approx(np.log(2) / np.log(10))
    assert class_coverage(real.clone(), real, 10)["covered"] == 10


def test_nearest_neighbour_flags_copies():
    torch.manual_seed(0)
    train = torch.rand(300, 1, 8, 8)
    copies = nearest_neighbour(train[:50].clone(), train, reference=train[200:])
    assert copies["close_fraction"] == 1.0 and copies["median_sample_nn"] == 0.0
    fresh = nearest_neighbour(torch.rand(50, 1, 8, 8), train, reference=train[200:])
    assert fresh["close_fraction"] < 0.3 and fresh["ratio"] > 0.5
