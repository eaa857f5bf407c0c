"""The latent explorer (`gamelab gan explore`, generative/gan/explore.py): headless frames and events against the
generator's own W-space functions, the PCA against numpy's, the command's screenshot and errors, and the real
window under Xvfb driven by xdotool."""

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pygame
import pytest
import torch
from PIL import Image

from core.cli import main as gamelab
from core.config import parse_config
from generative.gan import explore, generate, latent
from generative.gan.explore import Explorer, Settings, layer_ranges, w_pca
from generative.gan.models import load_generator
from generative.gan.trainer import PRESETS, GanConfig, train

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--arch=stylegan", "--g_width=4", "--d_width=4", "--z_dim=8", "--w_dim=8", "--batch=8", "--eval_samples=0",
        "--size=16", "--steps=2", "--sample_every=2", "--ckpt_every=2", "--augment="]  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A two-step StyleGAN run (16 px digits, 6 style layers) and a one-step DCGAN run."""
    folder = tmp_path_factory.mktemp("runs")
    cfg = parse_config(GanConfig, TINY, PRESETS, "tiny")
    style = train(cfg, runs=folder)["run_dir"]
    dcgan = train(dataclasses.replace(cfg, arch="dcgan", steps=1, ckpt_every=1, size=8), runs=folder)["run_dir"]
    return {"style": style, "dcgan": dcgan}


@pytest.fixture(scope="module", autouse=True)
def _pygame():
    pygame.font.init()
    yield
    pygame.quit()


def _frame(ex: Explorer) -> np.ndarray:
    """The image area of a drawn frame, [X, Y, 3]."""
    surface = pygame.Surface(explore.WINDOW)
    ex.draw(surface)
    return pygame.surfarray.array3d(surface.subsurface(ex.image_rect())).copy()


def _click(ex: Explorer, pos) -> None:
    ex.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=pos))
    ex.handle(pygame.event.Event(pygame.MOUSEBUTTONUP, button=1, pos=pos))


def _slider(ex: Explorer, key: str) -> explore.Slider:
    return next(s for s in ex.sliders if s.key == key)


def _at(slider: explore.Slider, value: float) -> tuple[int, int]:
    return slider.x_of(value), slider.rect.centery


def _click_slider(ex: Explorer, key: str, value: float) -> float:
    """Click slider `key` where `value` sits; returns the value set (the nearest the pixel grid gives)."""
    slider = _slider(ex, key)
    _click(ex, _at(slider, value))
    got = ex.value(key)
    assert got == slider.value_at(_at(slider, value)[0])
    assert abs(got - value) <= (slider.hi - slider.lo) / (slider.rect.width - 1) + slider.step
    return got


def _key(ex: Explorer, key: int) -> bool:
    return ex.handle(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode=""))


def test_layer_ranges_split_the_style_layers_in_three():
    for num_ws in (4, 6, 8, 10, 12):
        parts = layer_ranges(num_ws)
        assert list(parts) == ["coarse", "middle", "fine"]
        assert [i for r in parts.values() for i in r] == list(range(num_ws))
        assert all(len(r) >= 1 for r in parts.values())


def test_pca_of_w_matches_numpy(runs):
    g, _ = load_generator(runs["style"])
    directions, sigma, explained = w_pca(g, n=3000, k=3, seed=5)
    z = torch.randn(3000, g.z_dim, generator=torch.Generator().manual_seed(5))
    w = g.mapping(z).detach().double().numpy()
    values, vectors = np.linalg.eigh(np.cov(w, rowvar=False))  # ascending
    order = np.argsort(values)[::-1][:3]
    assert np.allclose(sigma.numpy(), np.sqrt(values[order]), rtol=1e-3)
    assert np.allclose(explained.numpy(), values[order] / values.sum(), rtol=1e-3)
    cosines = np.abs((directions.double().numpy() * vectors[:, order].T).sum(1))
    assert np.all(cosines > 0.999), cosines  # the same axes (up to sign)
    assert torch.all(sigma[:-1] >= sigma[1:])


def test_frames_follow_the_sliders_and_psi_zero_is_the_mean_image(runs):
    g, _ = load_generator(runs["style"])
    ex = Explorer(g, pcs=3, pca_samples=500)
    start = _frame(ex)
    assert start.shape == (16 * 36, 16 * 36, 3)  # the 16 px image at the largest whole scale that fits
    # the image is `gamelab generate --seed S --n 1 --truncation PSI`'s first image
    assert torch.allclose(ex.image(), latent.sample_w(g, 1, seed=0)[0], atol=1e-6)
    seed = _click_slider(ex, "seed", 417)
    moved = _frame(ex)
    assert not np.array_equal(moved, start)
    assert torch.allclose(ex.image(), latent.sample_w(g, 1, seed=seed)[0], atol=1e-6)
    psi = _click_slider(ex, "psi", 0.5)
    half = _frame(ex)
    assert not np.array_equal(half, moved)
    assert torch.allclose(ex.image(), latent.sample_w(g, 1, seed=seed, psi=psi)[0], atol=1e-6)
    # a PCA slider moves every layer's w by value * sigma along its direction, and changes the picture
    before = ex.ws()
    _click_slider(ex, "pc1", 2.0)
    assert ex.active_pc == 1
    shift = ex.ws() - before  # [1, L, W]
    want = ex.settings.pcs[1] * ex.sigma[1] * ex.directions[1]
    assert torch.allclose(shift, want.expand_as(shift), atol=1e-5)
    assert not np.array_equal(_frame(ex), half)
    # psi 0 with the PCA sliders at 0: the w_avg image for every seed
    _click(ex, _at(_slider(ex, "psi"), 0.0))
    _click(ex, _at(_slider(ex, "pc1"), 0.0))
    assert ex.settings.psi == 0 and ex.settings.pcs == (0.0, 0.0, 0.0)
    mean_image = latent.to_unit(g.synthesis(g.mapping.w_avg[None, None].expand(1, g.num_ws, -1)))[0]
    frames, seeds, track = [], set(), _slider(ex, "seed").rect
    for x in (track.left, track.left + 1, track.centerx, track.right - 1):
        _click(ex, (x, track.centery))
        seeds.add(ex.settings.seed)
        assert torch.allclose(ex.image(), mean_image, atol=1e-6)
        frames.append(_frame(ex))
    assert len(seeds) == 4 and max(seeds) == explore.SEED_SPAN - 1
    assert all(np.array_equal(f, frames[0]) for f in frames)


def test_mixing_buttons_take_the_second_seeds_styles_in_their_layers(runs):
    g, _ = load_generator(runs["style"])
    ex = Explorer(g, pcs=0, settings=Settings(seed=3, seed2=8))
    w1, w2 = latent.seed_w(g, [3])[0], latent.seed_w(g, [8])[0]
    alone = _frame(ex)
    images = {}
    for name, layers in layer_ranges(g.num_ws).items():
        _click(ex, ex.buttons[f"mix:{name}"].center)
        assert ex.settings.mix == name
        ws = w1.repeat(g.num_ws, 1)
        ws[list(layers)] = w2
        assert torch.allclose(ex.ws()[0], ws, atol=1e-6)
        images[name] = _frame(ex)
        assert not np.array_equal(images[name], alone)
    assert not np.array_equal(images["coarse"], images["fine"])
    assert _click_slider(ex, "seed2", 300) != 8  # another second seed: another mix
    assert not np.array_equal(_frame(ex), images["fine"])
    _click(ex, ex.buttons["mix:off"].center)
    assert np.array_equal(_frame(ex), alone)  # off ignores the second seed
    assert torch.allclose(ex.ws()[0], w1.repeat(g.num_ws, 1), atol=1e-6)


def test_keys_drag_save_and_reset(runs, tmp_path, capsys):
    g, _ = load_generator(runs["style"])
    ex = Explorer(g, pcs=2, pca_samples=500, settings=Settings(seed=5, psi=0.7), out=tmp_path / "saved")
    _key(ex, pygame.K_RIGHT)
    _key(ex, pygame.K_RIGHT)
    _key(ex, pygame.K_LEFT)
    _key(ex, pygame.K_UP)
    assert ex.settings.seed == 6 and ex.settings.psi == pytest.approx(0.75)
    _key(ex, pygame.K_m)
    _key(ex, pygame.K_RIGHTBRACKET)
    assert ex.settings.mix == "coarse" and ex.settings.seed2 == 2
    _key(ex, pygame.K_2)
    _key(ex, pygame.K_EQUALS)
    _key(ex, pygame.K_EQUALS)
    assert ex.settings.pcs == (0.0, 0.5)
    # a drag along the psi slider follows the mouse until the button is up
    psi = _slider(ex, "psi")
    ex.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=_at(psi, 0.2)))
    ex.handle(pygame.event.Event(pygame.MOUSEMOTION, pos=(_at(psi, 1.5)[0], psi.rect.centery + 40), buttons=(1, 0, 0)))
    assert ex.settings.psi == psi.value_at(_at(psi, 1.5)[0]) == pytest.approx(1.5, abs=0.01)
    ex.handle(pygame.event.Event(pygame.MOUSEBUTTONUP, button=1, pos=_at(psi, 1.5)))
    ex.handle(pygame.event.Event(pygame.MOUSEMOTION, pos=_at(psi, 0.1), buttons=(0, 0, 0)))
    assert ex.settings.psi == pytest.approx(1.5, abs=0.01)  # no longer dragged
    _key(ex, pygame.K_s)
    out = capsys.readouterr().out.strip()
    path = Path(out.removeprefix("wrote "))
    assert out.startswith("wrote ") and path.parent == tmp_path / "saved" and path.name == ex.describe() + ".png"
    assert "seed6" in path.name and "coarse-from-seed2" in path.name and "pc2+0.50" in path.name
    with Image.open(path) as img:
        saved = torch.from_numpy(np.asarray(img.convert("L"), dtype=np.float32) / 255)
    assert saved.shape == (16, 16) and torch.allclose(saved, ex.image()[0], atol=1 / 255 + 1e-6)
    _click(ex, ex.buttons["save"].center)  # the button saves too
    assert capsys.readouterr().out.startswith("wrote ")
    _key(ex, pygame.K_r)
    assert ex.settings == Settings(seed=5, psi=0.7, seed2=1, pcs=(0.0, 0.0))
    assert not _key(ex, pygame.K_q) and not ex.handle(pygame.event.Event(pygame.QUIT))


def test_screenshot_command_and_bad_input(runs, tmp_path, capsys):
    shot = tmp_path / "shot.png"
    args = ["gan", "explore", str(runs["style"]), "--seed", "12", "--psi", "0.8", "--mix", "fine", "--seed2", "4",
            "--pc", "1.5,-1", "--pcs", "2", "--pca-samples", "500", "--screenshot", str(shot)]  # fmt: skip
    assert gamelab(args) == 0
    assert capsys.readouterr().out.strip() == f"wrote {shot}"
    g, _ = load_generator(runs["style"])
    ex = Explorer(g, pcs=2, pca_samples=500, settings=Settings(12, 0.8, 4, "fine", (1.5, -1.0)))
    with Image.open(shot) as img:
        assert img.size == explore.WINDOW
        pixels = np.asarray(img.convert("RGB")).transpose(1, 0, 2)  # [X, Y, 3]
    r = ex.image_rect()
    assert np.array_equal(pixels[r.left : r.right, r.top : r.bottom], _frame(ex))
    # a DCGAN run: the seed (and nothing else) moves its picture
    dc = tmp_path / "dc.png"
    assert gamelab(["gan", "explore", str(runs["dcgan"]), "--seed", "3", "--screenshot", str(dc)]) == 0
    g, _ = load_generator(runs["dcgan"])
    ex = Explorer(g)
    assert [s.key for s in ex.sliders] == ["seed"] and list(ex.buttons) == ["save", "reset"]
    first = _frame(ex)
    _key(ex, pygame.K_RIGHT)
    assert not np.array_equal(_frame(ex), first)
    assert torch.allclose(ex.image(), generate.sample(g, 1, seed=1)[0], atol=1e-6)  # `gamelab generate --seed 1`
    capsys.readouterr()
    for bad, named in (
        ([str(tmp_path / "nowhere")], "nowhere"),
        ([str(runs["style"]), "--seed", "-1"], "--seed"),
        ([str(runs["style"]), "--seed", "many"], "--seed"),
        ([str(runs["style"]), "--psi", "3"], "--psi"),
        ([str(runs["style"]), "--pc", "1,9"], "--pc"),
        ([str(runs["style"]), "--pc", "1,1,1", "--pcs", "2"], "--pcs"),
        ([str(runs["style"]), "--mix", "all"], "--mix"),
        ([str(runs["style"]), "--screenshot", str(tmp_path / "x.jpg")], "x.jpg"),
        ([str(runs["dcgan"]), "--psi", "0.5", "--mix", "fine"], "--psi, --mix need a StyleGAN run"),
    ):
        try:
            code = gamelab(["gan", "explore", *bad])
        except SystemExit as refused:
            code = refused.code
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and named in err, (bad, err)
    assert not (tmp_path / "x.jpg").exists()


def _window_id(display: str, title: str, timeout: float = 120) -> str:
    end = time.time() + timeout
    while time.time() < end:
        tree = subprocess.run(["xwininfo", "-root", "-tree"], env={**os.environ, "DISPLAY": display},
                              capture_output=True, text=True).stdout  # fmt: skip
        found = re.search(r"^\s*(0x[0-9a-f]+) \"" + re.escape(title), tree, re.M)
        if found:
            return found.group(1)
        time.sleep(0.3)
    raise AssertionError("the explorer window never appeared")


@pytest.mark.skipif(not all(shutil.which(t) for t in ("Xvfb", "xdotool", "xwininfo", "import")),
                    reason="needs Xvfb, xdotool, xwininfo and ImageMagick (apt-get install xvfb xdotool x11-utils "
                    "imagemagick)")  # fmt: skip
def test_real_window_under_xvfb_by_clicks_and_keys(runs, tmp_path):
    read, write = os.pipe()  # Xvfb picks a free display number and writes it here
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1100x800x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    os.close(write)
    with os.fdopen(read) as pipe:
        display = ":" + pipe.readline().strip()
    env = {**os.environ, "DISPLAY": display, "SDL_VIDEODRIVER": "x11", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "core.cli", "gan", "explore", str(runs["style"]), "--pcs", "2", "--pca-samples",
           "500", "--out", str(tmp_path / "saved")]  # fmt: skip
    app = None
    try:
        app = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wid = _window_id(display, "gamelab gan explore")
        info = subprocess.run(["xwininfo", "-id", wid], env=env, capture_output=True, text=True).stdout
        origin = [int(info.split(f"Absolute upper-left {a}:")[1].split()[0]) for a in "XY"]
        g, _ = load_generator(runs["style"])
        ex = Explorer(g, pcs=2, pca_samples=500)  # the same layout as the window's
        xdo = lambda *a: subprocess.run(["xdotool", *map(str, a)], env=env, check=True)  # noqa: E731

        def click(pos):
            xdo("mousemove", "--sync", origin[0] + pos[0], origin[1] + pos[1], "click", "1")
            time.sleep(0.3)

        for key, value in (("seed", 250), ("psi", 0.6), ("pc0", -2.0)):
            pos = _at(_slider(ex, key), value)
            click(pos)
            ex.set(key, _slider(ex, key).value_at(pos[0]))
        click(ex.buttons["mix:middle"].center)
        ex.settings = dataclasses.replace(ex.settings, mix="middle")
        clicked = ex.settings.seed
        xdo("key", "Right")  # the window under the pointer has the keyboard (no window manager)
        ex.set("seed", clicked + 1)
        time.sleep(0.3)
        xdo("key", "s")
        line = app.stdout.readline().strip()
        assert line == f"wrote {tmp_path / 'saved' / (ex.describe() + '.png')}", line  # the settings, in the name
        assert abs(clicked - 250) <= 4 and ex.settings.mix == "middle" and ex.settings.pcs[0] == pytest.approx(-2.0)
        with Image.open(line.removeprefix("wrote ")) as img:
            saved = torch.from_numpy(np.asarray(img.convert("L"), dtype=np.float32) / 255)
        assert torch.allclose(saved, ex.image()[0], atol=1 / 255 + 1e-6)  # what the clicks asked for
        shot = subprocess.run(["import", "-window", wid, "png:-"], env=env, capture_output=True, check=True).stdout
        png = tmp_path / "window.png"
        png.write_bytes(shot)
        with Image.open(png) as img:
            window = np.asarray(img.convert("RGB")).transpose(1, 0, 2)
        r = ex.image_rect()
        assert np.array_equal(window[r.left : r.right, r.top : r.bottom], _frame(ex))  # the window shows it
        xdo("key", "q")
        assert app.wait(timeout=60) == 0, app.stderr.read()
    finally:
        if app is not None and app.poll() is None:
            app.kill()
        xvfb.terminate()
        xvfb.wait(timeout=10)
