"""Progress bars for long loops (tqdm on stderr; off when GAMELAB_PROGRESS=0)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from tqdm.auto import tqdm

__all__ = ["progress"]


def progress(
    iterable: Iterable | None = None,
    total: float | None = None,
    desc: str = "",
    unit: str = "it",
    disable: bool | None = None,
    leave: bool = False,
) -> tqdm:
    """A tqdm bar on stderr. `disable=None` hides it when GAMELAB_PROGRESS=0."""
    if disable is None:
        disable = os.environ.get("GAMELAB_PROGRESS", "1") == "0"
    return tqdm(
        iterable, total=total, desc=desc, unit=unit, disable=disable, leave=leave, file=sys.stderr, dynamic_ncols=True
    )
