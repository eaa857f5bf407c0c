"""Two-process DDP training on CPU (gloo): the ranks see different data yet end with identical parameters."""

import dataclasses
import os
import socket

import torch
import torch.multiprocessing as mp

from core.checkpoint import load_checkpoint
from core.config import parse_config
from generative.gan.trainer import PRESETS, GanConfig, train


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, root: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                      LOCAL_RANK=str(rank), GAMELAB_PROGRESS="0")  # fmt: skip
    torch.set_num_threads(1)
    cfg = parse_config(GanConfig, [], PRESETS, "tiny")
    cfg = dataclasses.replace(cfg, steps=6, ckpt_every=3, sample_every=6, eval_samples=0, device="cpu",
                              augment="translation", ada_interval=2)  # fmt: skip
    result = train(cfg, runs=root)
    parts = result["parts"]
    state = {
        "G": {k: v.clone() for k, v in parts.g.named_parameters()},
        "D": {k: v.clone() for k, v in parts.d.named_parameters()},
        "ema": {k: v.clone() for k, v in parts.ema.module.named_parameters()},
        "aug_p": parts.ada.p,
        "run_dir": str(result["run_dir"]),
        "D_buffers": {k: v.clone() for k, v in parts.d.named_buffers() if "running_mean" in k},
    }
    torch.save(state, os.path.join(out, f"rank{rank}.pt"))
    torch.distributed.destroy_process_group()


def test_two_process_ddp_ranks_stay_identical(tmp_path):
    root, out = tmp_path / "runs", tmp_path / "out"
    out.mkdir()
    mp.spawn(_worker, args=(2, _free_port(), str(root), str(out)), nprocs=2, join=True)
    r0, r1 = (torch.load(out / f"rank{r}.pt", weights_only=False) for r in (0, 1))
    assert r0["run_dir"] == r1["run_dir"]
    # batch-norm statistics are per rank (broadcast_buffers=False): they differ because each rank drew other batches
    assert any(not torch.equal(v, r1["D_buffers"][k]) for k, v in r0["D_buffers"].items())
    for key in ("G", "D", "ema"):
        for name, value in r0[key].items():
            assert torch.equal(value, r1[key][name]), (key, name)
    assert r0["aug_p"] == r1["aug_p"]
    runs = list(root.iterdir())
    assert len(runs) == 1  # one run directory, written by rank 0
    ckpts = sorted(p.name for p in (runs[0] / "checkpoints").glob("*.pt"))
    assert ckpts[-1] == "step_0000006.pt"
    ckpt = load_checkpoint(runs[0] / "checkpoints" / ckpts[-1], kind="gan")
    assert len(ckpt["rng"]) == 2  # both ranks' generators, for an exact resume
