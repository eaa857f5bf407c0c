"""One way to configure, run and resume every job (`train`, `gan train`, `style train`, Gatys, texture, dream, ...).

    PROG [POSITIONALS] [--preset NAME] [--key=value | --key value ...] [--resume RUN] [--runs DIR] [--threads N]
         [--dry-run] [--print-config] [job options]

- Every field of the job's config dataclass is an option, written `--key=value` or `--key value` (dashes or
  underscores); a bool field alone (`--cond`) means true. An unknown key or a bad value is an error naming it.
- The config is built from the dataclass defaults, then the preset, then the options; or, with `--resume RUN`, from
  the run's saved config, then the options. Fields that cannot change mid-run (`fixed_on_resume`: network shape,
  game, board size, ...) are refused by name; the rest take effect (the job applies them, for instance to optimizer
  state it loads: `core.optim.load_optimizer_state`).
- `--dry-run`: one quick run on a tiny budget, as a check. `--print-config`: print the resolved config as JSON and
  exit. `--runs DIR`: the folder holding run directories. `--threads N`: torch CPU threads.
- Bad input is one line `error: ...` on stderr and exit status 2 (`JobParser.error`, `fail`).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from core.config import (
    ConfigError,
    check_range,
    config_from_dict,
    config_to_dict,
    convert_value,
    field_help,
    flat_fields,
)
from core.paths import check_output_dir

__all__ = [
    "DEFAULT_RUNS",
    "DEFAULT_THREADS",
    "Job",
    "JobParser",
    "job_parser",
    "config_help",
    "parse_job",
    "fail",
    "print_figures",
    "option_type",
    "ranged",
]

DEFAULT_RUNS = "runs"
DEFAULT_THREADS = 1  # small nets gain nothing from more; busy OpenMP threads fight on a shared CPU


class JobParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one `error: ...` line and exit status 2 (no usage dump)."""

    fields_help = ""  # the config fields, listed after the options (`config_help`)

    def format_help(self) -> str:
        return super().format_help() + (f"\n{self.fields_help}\n" if self.fields_help else "")

    def error(self, message: str) -> NoReturn:
        message = message.removeprefix("argument ")  # "argument --games: ..." -> "--games: ..."
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def fail(err: BaseException | str) -> int:
    """Print one `error: ...` line for a bad input and return exit status 2."""
    text = err.args[0] if isinstance(err, KeyError) and err.args else err
    print(f"error: {text}", file=sys.stderr)
    return 2


def print_figures(measure: Callable[[], dict], table: Callable[[dict], str], as_json: bool) -> int:
    """Print the figures `measure()` returns, as one JSON object or as `table(figures)`; returns the exit status (a
    ValueError from `measure`: one `error: ...` line and status 2)."""
    try:
        figures = measure()
    except ValueError as e:
        return fail(e)
    print(json.dumps(figures) if as_json else table(figures), flush=True)
    return 0


def ranged(
    kind: type, *, ge: float | None = None, gt: float | None = None, le: float | None = None, lt: float | None = None
) -> Callable:
    """An argparse `type` reading text as `kind` (int, float) within a range: `type=ranged(int, ge=1)`.

    A bad value is a parser error naming the option and the value (`error: argument --games: ...`).
    """
    limits = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt)) if v is not None}
    return _option_type("value", kind, limits)


def option_type(config_cls: type, name: str) -> Callable:
    """An argparse `type` for an option that sets field `name` of a config dataclass: the text is read as the
    field's type and checked against the range the field declares (`core.config.bounded`), so a command's option
    and its config share one declaration of what is valid."""
    found = {f.name: f for f in field_help(config_cls)}.get(name)
    if found is None:
        raise KeyError(f"{config_cls.__name__} has no field {name!r}")
    _, _, hint = flat_fields(config_cls)[name]
    return _option_type(name, hint, found.limits)


def _option_type(name: str, hint: Any, limits: dict) -> Callable:
    def convert(text: str) -> Any:
        try:
            value = convert_value(name, text, hint)
            check_range(name, value, limits)
        except ConfigError as err:  # the parser names the option: "--games: must be at least 1, got 0"
            text = str(err)
            raise argparse.ArgumentTypeError(text.removeprefix(f"{name} ").removeprefix(f"{name}: ")) from None
        return value

    convert.__name__ = getattr(hint, "__name__", str(hint))  # argparse names the type in some messages
    return convert


def job_parser(
    prog: str, description: str, config_cls: type, *, presets: Iterable[str] = (), presets_note: str = ""
) -> JobParser:
    """A parser with the options every job shares; the job adds its positionals and own options to it.

    `--help` lists every field of `config_cls` with its type, default, range and the help its line's comment gives
    (`core.config.field_help`), and the names of `presets` (or `presets_note` where there are none to name).
    """
    parser = JobParser(prog=prog, description=description)
    parser.fields_help = config_help(config_cls)
    names = ", ".join(presets) or presets_note
    parser.add_argument("--preset", default=None, help=f"named preset: {names}" if names else "named preset (none)")
    parser.add_argument("--resume", default=None, metavar="RUN", help="continue RUN from its last checkpoint")
    parser.add_argument("--runs", default=DEFAULT_RUNS, metavar="DIR", help="folder holding run directories")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="torch CPU threads (default 1)")
    parser.add_argument("--dry-run", action="store_true", help="one quick run on a tiny budget, as a check")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config as JSON and exit")
    return parser


def config_help(config_cls: type, width: int = 120) -> str:
    """The config fields as `--help` lists them: `--name TYPE (default D; RANGE)  help`, one field a line."""
    rows = []
    for f in field_help(config_cls):
        default = "''" if f.default == "" else f.default
        rows.append((f"  --{f.name} {f.type.upper() if f.type.isidentifier() else f.type}", default, f))
    pad = min(max(len(left) for left, _, _ in rows) + 2, 40)
    lines = [f"config fields of {config_cls.__name__} (--key=value or --key value; dashes or underscores):"]
    for left, default, f in rows:
        text = f"(default {default}{'; ' + f.range if f.range else ''}) {f.help}".rstrip()
        lead = left.ljust(pad) if len(left) < pad else left + "\n" + " " * pad
        lines.append(lead + textwrap.shorten(text, width - pad, placeholder=" ..."))
    return "\n".join(lines)


@dataclass(frozen=True)
class Job:
    """A parsed command line: the resolved config, the parser's namespace, and the run to resume (or None)."""

    cfg: Any
    args: argparse.Namespace
    resume: Path | None


def parse_job(
    parser: argparse.ArgumentParser,
    argv: list[str],
    config_cls: type,
    *,
    presets: dict[str, dict] | Callable[[argparse.Namespace], dict[str, dict]] | None = None,
    default_preset: str | None = None,
    saved_config: Callable[[Path, argparse.Namespace], dict] | None = None,
    fixed_on_resume: Iterable[str] = (),
    dry_run: Callable[[Any], Any] | None = None,
    shown: Callable[[Any, argparse.Namespace], dict] | None = None,
) -> Job:
    """Parse a job's command line into its resolved config.

    Args:
        parser: from `job_parser`, with the job's own arguments added.
        argv: the command line after the job's name.
        config_cls: the job's frozen config dataclass.
        presets: name -> field values, or a function of the parsed namespace returning them (per-game presets).
        default_preset: applied when no --preset is given (and the presets have it).
        saved_config: reads a run's saved config (field -> value) for --resume; it may raise ConfigError.
        fixed_on_resume: fields that cannot change when resuming.
        dry_run: shrinks a config to a tiny budget for --dry-run.
        shown: what --print-config prints, from the config and the namespace (default: the config's fields); the job
            adds what it saves beside them (train: the game and its options). It may raise ConfigError.
    Raises:
        ConfigError: a bad preset, key or value, or a fixed field changed on resume (the message names it).
        SystemExit: 0 after --print-config or --help; 2 after a malformed command line (one error line printed).
    """
    args, rest = parser.parse_known_args(argv)
    if args.threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {args.threads}")
    try:
        check_output_dir(args.runs)
    except ValueError as err:
        raise ConfigError(f"--runs {err}") from None
    overrides = _overrides(rest, config_cls)
    if args.resume is not None:
        if args.preset is not None:
            raise ConfigError("--preset cannot be given with --resume (the run keeps its saved config)")
        if saved_config is None:
            raise ConfigError(f"{parser.prog} cannot resume a run")
        resume = Path(args.resume)
        saved = saved_config(resume, args)
        before = config_from_dict(config_cls, saved)
        cfg = config_from_dict(config_cls, {**saved, **overrides})
        changed = [
            f"{key} (saved {getattr(before, key)!r}, given {getattr(cfg, key)!r})"
            for key in fixed_on_resume
            if getattr(cfg, key) != getattr(before, key)
        ]
        if changed:
            raise ConfigError(
                f"cannot change {', '.join(changed)} on resume of {resume}: the saved state depends on it"
            )
    else:
        resume = None
        table = presets(args) if callable(presets) else (presets or {})
        name = args.preset if args.preset is not None else (default_preset if default_preset in table else None)
        if name is not None and name not in table:
            raise ConfigError(f"unknown preset {name!r}; known: {', '.join(sorted(table)) or 'none'}")
        cfg = config_from_dict(config_cls, {**(table[name] if name else {}), **overrides})
    if args.dry_run and dry_run is not None:
        cfg = dry_run(cfg)
    if args.print_config:
        print(json.dumps(shown(cfg, args) if shown else config_to_dict(cfg), indent=2, default=str))
        raise SystemExit(0)
    return Job(cfg=cfg, args=args, resume=resume)


def _overrides(rest: list[str], config_cls: type) -> dict[str, str]:
    """`--key=value`, `--key value` and bare bool `--key` tokens as {field: text}; anything else is an error."""
    fields = flat_fields(config_cls)
    bools = {name for name, (_, _, hint) in fields.items() if hint is bool}
    values: dict[str, str] = {}
    i = 0
    while i < len(rest):
        item = rest[i]
        if not item.startswith("--") or item == "--":
            raise ConfigError(f"unexpected argument {item!r} (config fields are set with --key=value)")
        key, sep, value = item[2:].partition("=")
        key = key.replace("-", "_")
        if not sep:
            if key in bools and (i + 1 >= len(rest) or rest[i + 1].startswith("--")):
                value = "true"
            elif i + 1 < len(rest) and not rest[i + 1].startswith("--"):
                value, i = rest[i + 1], i + 1
            else:
                known = f"; known: {', '.join(fields)}" if key not in fields else ""
                raise ConfigError(f"option --{key} needs a value{known}")
        values[key] = value
        i += 1
    return values
