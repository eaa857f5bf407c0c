"""generative.images: loading (files and built-ins), saving, grids and GIFs, with Pillow and scikit-image as oracles."""

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from generative.images import (
    BUILTIN_IMAGES,
    ImageError,
    builtin_image,
    load_image,
    make_gif,
    make_grid,
    save_grid,
    save_image,
    to_pil,
)


def test_png_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(17, 23, 3), dtype=np.uint8)
    image = torch.from_numpy(pixels).permute(2, 0, 1).float() / 255.0
    path = save_image(image, tmp_path / "sub" / "a.png")
    assert np.array_equal(np.asarray(Image.open(path)), pixels)
    loaded = load_image(path)
    assert loaded.shape == (1, 3, 17, 23) and loaded.dtype == torch.float32
    assert torch.equal((loaded[0] * 255).round().to(torch.uint8).permute(1, 2, 0), torch.from_numpy(pixels))


def test_save_without_suffix_writes_png_and_leaves_no_temp_files(tmp_path):
    save_image(torch.rand(1, 3, 8, 8), tmp_path / "noext")
    assert Image.open(tmp_path / "noext").format == "PNG"
    assert [p.name for p in tmp_path.iterdir()] == ["noext"]


def test_resize_keeps_aspect_or_takes_exact_size(tmp_path):
    Image.fromarray(np.zeros((40, 100, 3), np.uint8)).save(tmp_path / "wide.png")
    assert load_image(tmp_path / "wide.png", 50).shape == (1, 3, 20, 50)
    assert load_image(tmp_path / "wide.png", (30, 31)).shape == (1, 3, 30, 31)


@pytest.mark.parametrize("name", ["astronaut", "brick", "camera"])
def test_builtin_images_match_scikit_image(name):
    expected = np.asarray(getattr(skimage.data, name)())
    if expected.ndim == 2:
        expected = np.repeat(expected[:, :, None], 3, axis=2)
    assert np.array_equal(builtin_image(name), expected[:, :, :3])
    for spec in (f"builtin:{name}", name):  # prefixed and bare names
        image = load_image(spec)
        assert image.shape == (1, 3, *expected.shape[:2])
        assert torch.equal(
            (image[0] * 255).round().to(torch.uint8).permute(1, 2, 0), torch.from_numpy(expected[:, :, :3])
        )


def test_a_file_named_like_a_builtin_wins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Image.fromarray(np.full((5, 6, 3), 7, np.uint8)).save("brick", format="PNG")
    assert load_image("brick").shape == (1, 3, 5, 6)


def test_bad_paths_give_clear_errors(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        load_image(tmp_path / "missing.png")
    (tmp_path / "fake.png").write_text("not an image")
    with pytest.raises(ImageError, match="cannot read image file .*fake.png"):
        load_image(tmp_path / "fake.png")
    with pytest.raises(ImageError, match="not a file"):
        load_image(tmp_path)
    with pytest.raises(ImageError, match="unknown built-in image 'nope'"):
        load_image("builtin:nope")
    assert "gravel" in BUILTIN_IMAGES


def test_grid_places_tiles_and_pads():
    images = torch.stack([torch.full((3, 4, 5), v) for v in (0.1, 0.2, 0.3)])
    grid = make_grid(images, nrow=2, padding=1, pad_value=1.0)
    assert grid.shape == (3, 2 * (4 + 1) + 1, 2 * (5 + 1) + 1)
    assert torch.allclose(grid[:, 1:5, 1:6], torch.tensor(0.1))
    assert torch.allclose(grid[:, 1:5, 7:12], torch.tensor(0.2))
    assert torch.allclose(grid[:, 6:10, 1:6], torch.tensor(0.3))
    assert torch.allclose(grid[:, 6:10, 7:12], torch.tensor(1.0))  # the empty fourth tile stays padding
    assert torch.all(grid[:, 0] == 1.0)
    with pytest.raises(ValueError):
        make_grid(torch.rand(3, 4, 5))


def test_save_grid_and_gray_images(tmp_path):
    path = save_grid(torch.rand(4, 1, 6, 6), tmp_path / "g.png", nrow=4, padding=0)
    assert Image.open(path).size == (24, 6)
    assert to_pil(torch.zeros(1, 6, 7)).mode == "L"
    with pytest.raises(ValueError):
        to_pil(torch.zeros(2, 3, 4, 4))


def test_gif_has_every_frame(tmp_path):
    frames = torch.stack([torch.full((3, 8, 8), i / 4) for i in range(5)])
    path = make_gif(frames, tmp_path / "a.gif", duration_ms=50)
    with Image.open(path) as gif:
        assert gif.n_frames == 5 and gif.size == (8, 8)
    with pytest.raises(ValueError):
        make_gif([], tmp_path / "b.gif")
