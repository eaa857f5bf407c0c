"""The command line shared by the one-shot image commands (`gamelab style transfer`, `gamelab style texture`,
`gamelab dream`), on core.job like every gamelab job.

    PROG IMAGE... [-o OUT] [--key=value | --key value ...] [--runs DIR] [--threads N] [--dry-run] [--print-config]

The leading IMAGE arguments fill the config's image fields in order (or give them as `--content X --style Y`);
`-o OUT` is `--out OUT`. Without an output file the result goes to `result.png` in a new run directory
(`runs/<job>__<name>__<seed>__<time>/`, beside its config.json). A bad value is one `error:` line, exit status 2.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from core.checkpoint import CheckpointError
from core.config import ConfigError, config_to_dict
from core.device import pick_device, set_cpu_threads
from core.job import fail, job_parser, parse_job
from core.paths import check_output_file
from core.run import make_run_dir, write_json_atomic

from ..images import ImageError, save_image
from .features import RANDOM_SEED, LossNetworkError, make_loss_network

__all__ = ["Work", "run_image_job"]

# (config, loss network, device) -> (result [1, 3, H, W] in [0, 1], one line of figures for the report)
Work = Callable[[Any, torch.nn.Module, torch.device], tuple[torch.Tensor, str]]


def _normalize(argv: list[str], images: tuple[str, ...]) -> list[str]:
    """Leading positional image names become `--field=value`; `-o X` becomes `--out X`."""
    out, i = [], 0
    while i < len(argv) and i < len(images) and not argv[i].startswith("-"):
        out.append(f"--{images[i]}={argv[i]}")
        i += 1
    out += ["--out" if a == "-o" else f"--out={a[2:]}" if a.startswith("-o") and len(a) > 2 else a for a in argv[i:]]
    return out


def run_image_job(
    argv: list[str] | None,
    *,
    prog: str,
    description: str,
    config_cls: type,
    images: tuple[str, ...],
    dry_run: Callable[[Any], Any],
    work: Work,
) -> int:
    """Parse a one-shot image command, run `work` on the loss network and write its result. Returns the exit code.

    Args:
        config_cls: a frozen dataclass with the fields named in `images` and `out`, `weights`, `seed`, `device`.
        images: the config fields the leading positional arguments fill, in order (all required).
        dry_run: shrinks a config to a tiny budget for --dry-run.
    """
    argv = _normalize(sys.argv[1:] if argv is None else list(argv), images)
    usage = " ".join(name.upper() for name in images)
    parser = job_parser(prog, f"{description} Usage: {prog} {usage} [-o OUT] [--key=value ...]", config_cls)
    parser.usage = f"{prog} {usage} [-o OUT] [--key=value ...] [--runs DIR] [--threads N] [--dry-run] [--print-config]"
    try:
        job = parse_job(parser, argv, config_cls, dry_run=dry_run)
        cfg = job.cfg
        missing = [name for name in images if not getattr(cfg, name)]
        if missing:
            raise ConfigError(f"give the {' and '.join(m.upper() for m in missing)} image (a file or a built-in name)")
        if cfg.out:
            check_output_file(cfg.out)
        set_cpu_threads(job.args.threads)
        device = pick_device(cfg.device)
        net = make_loss_network(cfg.weights or None, seed=RANDOM_SEED).to(device)
        tic = time.perf_counter()
        result, figures = work(cfg, net, device)
        seconds = time.perf_counter() - tic
    except (ImageError, LossNetworkError, CheckpointError, ValueError) as err:  # ConfigError is a ValueError
        return fail(err)
    except SystemExit as done:  # --help, --print-config, or a malformed command line (already reported)
        return int(done.code or 0)
    if cfg.out:
        out = Path(cfg.out)
    else:
        name = Path(str(getattr(cfg, images[0])).removeprefix("builtin:")).stem
        run_dir = make_run_dir(prog.split()[-1], name, cfg.seed, root=job.args.runs)
        write_json_atomic(run_dir / "config.json", config_to_dict(cfg))
        out = run_dir / "result.png"
    save_image(result.cpu(), out)
    print(f"wrote {out} ({result.shape[-1]}x{result.shape[-2]}) in {seconds:.1f} s; {figures}")
    return 0
