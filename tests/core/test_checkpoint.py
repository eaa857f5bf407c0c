import os
import pickle
import random
import signal
import subprocess
import sys
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.export import main as export_main
from core.checkpoint import CheckpointError, latest_checkpoint, load_checkpoint, save_checkpoint


def test_round_trip_keeps_tensors_and_counters(tmp_path):
    net = torch.nn.Linear(3, 2)
    path = save_checkpoint(tmp_path / "ckpt_000010.pt", {"model": net.state_dict(), "step": 10}, kind="unit")
    payload = load_checkpoint(path, kind="unit")
    assert payload["step"] == 10
    assert torch.equal(payload["model"]["weight"], net.weight.detach())


def test_errors_name_the_file_and_the_problem(tmp_path):
    missing = tmp_path / "nope.pt"
    with pytest.raises(CheckpointError, match="nope.pt: no such"):
        load_checkpoint(missing)
    damaged = tmp_path / "damaged.pt"
    save_checkpoint(damaged, {"x": torch.zeros(1000)}, kind="unit")
    damaged.write_bytes(damaged.read_bytes()[:300])
    with pytest.raises(CheckpointError, match="damaged.pt: damaged"):
        load_checkpoint(damaged)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weight": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match="foreign.pt: not a gamelab checkpoint"):
        load_checkpoint(foreign)
    other = save_checkpoint(tmp_path / "gan.pt", {}, kind="gan")
    with pytest.raises(CheckpointError, match="a gan checkpoint, where an alphazero checkpoint is needed"):
        load_checkpoint(other, kind="alphazero")
    newer = tmp_path / "newer.pt"
    torch.save({"format": "gamelab-checkpoint", "version": 999, "kind": "unit", "payload": {}}, newer)
    with pytest.raises(CheckpointError, match="newer"):
        load_checkpoint(newer)


def test_failed_write_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "c.pt", {"step": 1}, kind="unit")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        save_checkpoint(path, {"step": 2}, kind="unit")
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_killed_writer_never_leaves_a_torn_checkpoint(tmp_path):
    script = f"""
import torch, sys
sys.path.insert(0, {os.getcwd()!r})
from core.checkpoint import save_checkpoint
big = torch.randn(2_000_000)
step = 0
while True:
    step += 1
    save_checkpoint({str(tmp_path)!r} + "/ckpt.pt", {{"step": step, "big": big}}, kind="unit")
    print(step, flush=True)
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "1"
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    payload = load_checkpoint(tmp_path / "ckpt.pt", kind="unit")
    assert payload["step"] >= 1 and payload["big"].shape == (2_000_000,)


def test_latest_checkpoint_orders_by_step_number(tmp_path):
    for step in (2, 10, 9):
        save_checkpoint(tmp_path / f"ckpt_{step}.pt", {"step": step}, kind="unit")
    (tmp_path / ".ckpt_11.pt.123.tmp").write_bytes(b"partial")
    assert latest_checkpoint(tmp_path).name == "ckpt_10.pt"
    assert latest_checkpoint(tmp_path / "missing") is None


def _same(a, b, where="payload"):
    """Equal values of equal types all the way down (tensors bit for bit, NumPy arrays with their dtype)."""
    assert type(a) is type(b), (where, type(a), type(b))
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            _same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b or (a != a and b != b), (where, a, b)


def test_numpy_values_and_every_rng_state_come_back_exactly(tmp_path):
    random.seed(3)
    np.random.seed(4)
    gen = np.random.default_rng(5)
    for draw in (random.random, np.random.standard_normal, gen.random):  # move off the seeded states
        draw()
    payload = {
        "arrays": [np.arange(6).astype(dt).reshape(2, 3) for dt in (np.uint32, np.int64, np.float16, np.bool_)],
        "scalars": (np.float64(0.1), np.int32(-7), float("nan"), 2**127 + 1, b"\x00\xff", None, True),
        "int_keys": OrderedDict([(0, {"momentum_buffer": torch.randn(3)}), (1, {})]),
        "zero_d": np.array(2.5),
        "rng": {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()},
        "sample_rng": gen.bit_generator.state,
    }
    path = save_checkpoint(tmp_path / "c.pt", payload, kind="unit")
    loaded = load_checkpoint(path, kind="unit")
    _same(payload, loaded)
    expected = (random.random(), np.random.standard_normal(4), gen.random(3))
    random.setstate(loaded["rng"]["python"])
    np.random.set_state(loaded["rng"]["numpy"])
    gen2 = np.random.default_rng()
    gen2.bit_generator.state = loaded["sample_rng"]
    again = (random.random(), np.random.standard_normal(4), gen2.random(3))
    assert expected[0] == again[0] and np.array_equal(expected[1], again[1]) and np.array_equal(expected[2], again[2])


@pytest.mark.parametrize(
    "value, where",
    [({"cfg": Path("x")}, r"payload\['cfg'\].*PosixPath|payload\['cfg'\].*WindowsPath"),
     ({"a": [1, {2, 3}]}, r"payload\['a'\]\[1\].*set"),
     ({"a": np.array([object()])}, r"payload\['a'\].*object"),
     ({"__numpy__": 1}, "reserved")],
)  # fmt: skip
def test_values_outside_the_plain_types_are_refused_when_saving(tmp_path, value, where):
    with pytest.raises(TypeError, match=where):
        save_checkpoint(tmp_path / "c.pt", value, kind="unit")
    assert not (tmp_path / "c.pt").exists()


class _Payload:
    """Unpickling this runs `touch MARKER`: the shape of a crafted checkpoint."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_file_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "PWNED"
    zipped = tmp_path / "evil.pt"
    torch.save(
        {"format": "gamelab-checkpoint", "version": 2, "kind": "unit", "payload": {"x": _Payload(marker)}}, zipped
    )
    raw = tmp_path / "raw.pt"  # a bare pickle, not a torch zip file
    raw.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(CheckpointError, match=r"evil.pt: refused: loading it needs code \((posix|nt).system"):
        load_checkpoint(zipped)
    with pytest.raises(CheckpointError, match="raw.pt: damaged or not a gamelab checkpoint"):
        load_checkpoint(raw)
    assert not marker.exists()
    torch.load(zipped, weights_only=False)  # the oracle: the file really is live
    assert marker.exists()


def test_an_old_format_file_is_refused_with_the_hint_and_converts_only_when_trusted(tmp_path, capsys):
    np.random.seed(0)
    payload = {"rng": np.random.get_state(), "step": 7, "w": torch.arange(4.0)}
    old = tmp_path / "old.pt"
    torch.save({"format": "gamelab-checkpoint", "version": 1, "kind": "gan", "payload": payload}, old)
    with pytest.raises(
        CheckpointError, match=r"old.pt: refused.*gamelab export --convert .*old.pt NEW.pt --trust-file"
    ):
        load_checkpoint(old)
    plain_old = tmp_path / "plain_old.pt"  # format 1 without NumPy values: readable, but still refused
    torch.save({"format": "gamelab-checkpoint", "version": 1, "kind": "gan", "payload": {"step": 1}}, plain_old)
    with pytest.raises(CheckpointError, match="plain_old.pt: checkpoint format 1.*--convert"):
        load_checkpoint(plain_old)
    new = tmp_path / "new.pt"
    assert export_main(["--convert", str(old), str(new)]) == 2
    assert "--trust-file" in capsys.readouterr().err and not new.exists()
    assert export_main(["--convert", str(old), str(new), "--trust-file"]) == 0
    assert "from checkpoint format 1 to 2" in capsys.readouterr().out
    _same(payload, load_checkpoint(new, kind="gan"))
    assert export_main(["--convert", str(tmp_path / "nope.pt"), str(new), "--trust-file"]) == 2
    assert "nope.pt: no such" in capsys.readouterr().err


def test_new_files_get_the_usual_permissions(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", {}, kind="unit")
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
