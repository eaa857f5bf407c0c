"""Data loaders on small files written here: image folders, IDX (raw and gz), CIFAR batches, npz; clear errors."""

import gzip
import pickle
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from generative.data import DataError, dataset_hash, load_dataset


def _idx_bytes(array: np.ndarray) -> bytes:
    codes = {np.uint8: 0x08}
    header = bytes([0, 0, codes[array.dtype.type], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(">u1").tobytes()


def test_digits_builtin_shapes_and_range():
    x, y, k = load_dataset("digits", 16)
    assert x.shape == (1797, 1, 16, 16) and y.shape == (1797,) and k == 10
    assert x.min() >= -1 and x.max() <= 1 and x.max() > 0.9
    assert set(y.tolist()) == set(range(10))


def test_folder_with_class_subfolders(tmp_path):
    rng = np.random.default_rng(0)
    for cls, n in (("cat", 3), ("dog", 2)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).save(tmp_path / cls / f"{i}.png")
    x, y, k = load_dataset(str(tmp_path), 8)
    assert x.shape == (5, 3, 8, 8) and k == 2
    assert y.tolist() == [0, 0, 0, 1, 1]  # sorted class folders: cat, dog


def test_folder_flat_grayscale_exact_pixels(tmp_path):
    img = np.arange(64, dtype=np.uint8).reshape(8, 8) * 3
    Image.fromarray(img, mode="L").save(tmp_path / "a.png")
    x, y, k = load_dataset(f"folder:{tmp_path}", 8)
    assert x.shape == (1, 1, 8, 8) and y is None and k == 0
    assert torch.allclose((x[0, 0] + 1) / 2 * 255, torch.from_numpy(img).float(), atol=1e-3)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_images_and_labels(tmp_path, gz):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5, 9, 2], dtype=np.uint8)
    suffix = ".gz" if gz else ""
    for name, arr in (("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels)):
        raw = _idx_bytes(arr)
        (tmp_path / (name + suffix)).write_bytes(gzip.compress(raw) if gz else raw)
    x, y, k = load_dataset(str(tmp_path / ("train-images-idx3-ubyte" + suffix)), 28)
    assert x.shape == (7, 1, 28, 28) and y.tolist() == labels.tolist() and k == 10
    assert torch.allclose((x[:, 0] + 1) / 2 * 255, torch.from_numpy(images).float(), atol=1e-3)
    x2, _, _ = load_dataset(str(tmp_path), 28)  # the folder holding the IDX files
    assert torch.equal(x, x2)


def test_idx_malformed_and_truncated(tmp_path):
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x01\x02\x03\x04garbage")
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        load_dataset(str(bad), 8)
    raw = _idx_bytes(np.zeros((4, 8, 8), np.uint8))[:-10]
    bad.write_bytes(raw)
    with pytest.raises(DataError, match="bytes"):
        load_dataset(str(bad), 8)


def test_cifar_batch(tmp_path):
    rng = np.random.default_rng(2)
    data = rng.integers(0, 256, (6, 3072), dtype=np.uint8)
    batch = {b"data": data, b"labels": [0, 1, 2, 3, 4, 5], b"batch_label": b"training batch 1 of 5"}
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    with open(folder / "data_batch_1", "wb") as f:
        pickle.dump(batch, f)
    x, y, k = load_dataset(str(folder / "data_batch_1"), 32)
    assert x.shape == (6, 3, 32, 32) and y.tolist() == [0, 1, 2, 3, 4, 5] and k == 10
    # CIFAR rows are channel planes: red plane first, row-major
    expected = torch.from_numpy(data[2, :1024].reshape(32, 32)).float()
    assert torch.allclose((x[2, 0] + 1) / 2 * 255, expected, atol=1e-3)
    x2, _, _ = load_dataset(str(folder), 32)
    assert torch.equal(x, x2)


def test_cifar_refuses_foreign_pickle(tmp_path):
    path = tmp_path / "data_batch_1"
    with open(path, "wb") as f:
        pickle.dump({"data": np.zeros((1, 3072), np.uint8), "x": Image.new("L", (2, 2))}, f)
    with pytest.raises(DataError, match="data_batch_1"):
        load_dataset(str(path), 32)


@pytest.mark.parametrize("layout", ["nhw", "nhwc", "nchw"])
def test_npz_layouts(tmp_path, layout):
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, (5, 3, 12, 12), dtype=np.uint8)
    arr = {"nhw": base[:, 0], "nhwc": base.transpose(0, 2, 3, 1), "nchw": base}[layout]
    np.savez(tmp_path / "d.npz", images=arr, labels=np.array([0, 1, 1, 0, 2]))
    x, y, k = load_dataset(str(tmp_path / "d.npz"), 12)
    channels = 1 if layout == "nhw" else 3
    assert x.shape == (5, channels, 12, 12) and y.tolist() == [0, 1, 1, 0, 2] and k == 3
    assert torch.allclose((x[:, 0] + 1) / 2 * 255, torch.from_numpy(base[:, 0]).float(), atol=1e-3)


def test_missing_and_malformed_files_are_named(tmp_path):
    with pytest.raises(DataError, match="nowhere.npz"):
        load_dataset(str(tmp_path / "nowhere.npz"), 8)
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="broken.npz"):
        load_dataset(str(tmp_path / "broken.npz"), 8)
    np.savez(tmp_path / "nokey.npz", weights=np.zeros(3))
    with pytest.raises(DataError, match="no image array"):
        load_dataset(str(tmp_path / "nokey.npz"), 8)
    np.savez(tmp_path / "badlabels.npz", images=np.zeros((3, 8, 8), np.uint8), labels=np.array([0, 1]))
    with pytest.raises(DataError, match="2 labels for 3 images"):
        load_dataset(str(tmp_path / "badlabels.npz"), 8)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        load_dataset(str(tmp_path / "empty"), 8)
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "fake.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="fake.png"):
        load_dataset(str(tmp_path / "imgs"), 8)


def test_dataset_hash_changes_with_content():
    x = torch.zeros(4, 1, 8, 8)
    y = torch.tensor([0, 1, 2, 3])
    h = dataset_hash(x, y)
    assert h == dataset_hash(x.clone(), y.clone())
    x[0, 0, 0, 0] = 1
    assert dataset_hash(x, y) != h
    assert dataset_hash(torch.zeros(4, 1, 8, 8), torch.tensor([0, 1, 2, 2])) != h
