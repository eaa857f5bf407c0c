"""Job configuration: one frozen dataclass per job, presets from small TOML files, `--key=value` overrides.

An unknown key or a value of the wrong type is a `ConfigError` naming the key, never silently ignored.

A field is documented by the comment on its own line, as tyro reads CleanRL's `Args`:

    lr: float = bounded(2e-3, gt=0)  # learning rate of the optimizer

`field_help` collects those one-line helps with each field's type, default and range for `--help` (`core.job`).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import io
import math
import os
import tokenize
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

__all__ = [
    "ConfigError",
    "bounded",
    "check_range",
    "check_ranges",
    "convert_value",
    "parse_config",
    "load_toml_presets",
    "config_to_dict",
    "config_from_dict",
    "FieldHelp",
    "field_help",
]

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration key, value or preset is wrong."""


def load_toml_presets(path: str | os.PathLike) -> dict[str, dict]:
    """Read a TOML file of presets, one table per preset name."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            presets = tomllib.load(f)
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: no such preset file") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from err
    bad = [name for name, table in presets.items() if not isinstance(table, dict)]
    if bad:
        raise ConfigError(f"{path}: presets must be tables; {', '.join(bad)} is not")
    return presets


def parse_config(
    cls: type[T],
    overrides: list[str] | None = None,
    presets: dict[str, dict] | None = None,
    preset: str | None = None,
) -> T:
    """Build a config: defaults of `cls`, then the preset's values, then `--key=value` overrides.

    Args:
        cls: a dataclass type.
        overrides: strings like "--lr=0.01" or "lr=0.01"; dashes in keys may be written as underscores or dashes.
        presets: name -> values, e.g. from `load_toml_presets`.
        preset: the preset to apply, or None.
    """
    values: dict[str, Any] = {}
    if preset is not None:
        presets = presets or {}
        if preset not in presets:
            raise ConfigError(f"unknown preset {preset!r}; known: {', '.join(sorted(presets)) or 'none'}")
        values.update(presets[preset])
    for item in overrides or []:
        text = item[2:] if item.startswith("--") else item
        if "=" not in text:
            raise ConfigError(f"override {item!r} must look like --key=value")
        key, raw = text.split("=", 1)
        values[key.replace("-", "_")] = raw
    return config_from_dict(cls, values)


def config_from_dict(cls: type[T], values: dict[str, Any]) -> T:
    """Build a dataclass from a dict, converting strings to the field types; unknown keys are an error."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"unknown config key(s) for {cls.__name__}: {', '.join(unknown)}; known: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {name: _convert(name, value, hints[name]) for name, value in values.items()}
    try:
        cfg = cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"invalid {cls.__name__}: {err}") from err
    check_ranges(cfg)
    return cfg


def bounded(
    default: Any, *, ge: float | None = None, gt: float | None = None, le: float | None = None, lt: float | None = None
) -> Any:
    """A dataclass field with a valid range, checked whenever a config is built (`check_ranges`).

    Example: `lr: float = bounded(2e-3, gt=0)`; `iterations: int = bounded(10, ge=0)`.
    """
    limits = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt)) if v is not None}
    return dataclasses.field(default=default, metadata={"range": limits})


def check_range(name: str, value: Any, limits: dict[str, float]) -> None:
    """Check one value against a range {"ge"|"gt"|"le": bound}; a ConfigError names `name` and the value.

    The one range check of the project: config fields (`bounded`) and command options (`core.job.option_type`).
    """
    if value is None:
        return
    if isinstance(value, float) and math.isnan(value):
        raise ConfigError(f"{name} must be a number, got nan")
    bad = (
        ("ge" in limits and value < limits["ge"], f"at least {limits.get('ge')}"),
        ("gt" in limits and value <= limits["gt"], f"greater than {limits.get('gt')}"),
        ("le" in limits and value > limits["le"], f"at most {limits.get('le')}"),
        ("lt" in limits and value >= limits["lt"], f"less than {limits.get('lt')}"),
    )
    for failed, wanted in bad:
        if failed:
            raise ConfigError(f"{name} must be {wanted}, got {value!r}")


def check_ranges(cfg: Any) -> None:
    """Check every field declared with `bounded` against its range; a ConfigError names the field and the value."""
    for f in dataclasses.fields(cfg):
        limits = f.metadata.get("range")
        if limits:
            check_range(f.name, getattr(cfg, f.name), limits)


def config_to_dict(cfg: Any) -> dict:
    """A dataclass config as a plain dict (for JSON, checkpoints)."""
    return dataclasses.asdict(cfg)


def convert_value(name: str, value: Any, hint: Any) -> Any:
    """`value` (often text from a command line) as type `hint`; a ConfigError names `name` when it cannot be."""
    return _convert(name, value, hint)


def _convert(name: str, value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(name, value, arg)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(f"{name}: cannot read {value!r} as {hint}")
    if origin in (tuple, list):
        items = value
        if isinstance(value, str):
            items = [v for v in value.strip("()[] ").split(",") if v.strip()]
        if not isinstance(items, list | tuple):
            raise ConfigError(f"{name}: expected a list, got {value!r}")
        item_types = args if origin is tuple and args and args[-1] is not Ellipsis else (args[0] if args else str,)
        if origin is tuple and len(item_types) > 1:
            if len(items) != len(item_types):
                raise ConfigError(f"{name}: expected {len(item_types)} values, got {value!r}")
            return tuple(_convert(name, v, t) for v, t in zip(items, item_types))
        converted = [_convert(name, v, item_types[0]) for v in items]
        return tuple(converted) if origin is tuple else converted
    if origin is typing.Literal:
        for arg in args:
            try:
                if _convert(name, value, type(arg)) == arg:
                    return arg
            except ConfigError:
                pass
        raise ConfigError(f"{name}: {value!r} is not one of {', '.join(map(repr, args))}")
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name}: expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, bool):
            raise ConfigError(f"{name}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        try:
            return int(str(value).replace("_", ""))
        except ValueError:
            raise ConfigError(f"{name}: expected an integer, got {value!r}") from None
    if hint is float:
        if isinstance(value, bool):
            raise ConfigError(f"{name}: expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name}: expected a number, got {value!r}") from None
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name}: expected a string, got {value!r}")
        return value
    if hint is dict or origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{name}: expected a table, got {value!r}")
        return value
    return value


class FieldHelp(NamedTuple):
    """What `--help` shows of one config field."""

    name: str
    type: str  # "int", "float", "bool", "str", "a|b|c" for a Literal
    default: Any
    range: str  # ">= 1", "> 0, <= 1", or ""
    help: str  # the comment on the field's line ("" when it has none)


def field_help(cls: type) -> list[FieldHelp]:
    """Type, default, range and one-line help of every field of a config dataclass, in declaration order; the help
    is the `# comment` on the field's line in the class source (a class without source gets no help texts)."""
    hints = typing.get_type_hints(cls)
    comments = _field_comments(cls)
    out = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else None
        limits = f.metadata.get("range", {})
        signs = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
        shown = ", ".join(f"{signs[k]} {v}" for k, v in limits.items())
        out.append(FieldHelp(f.name, _type_name(hints[f.name]), default, shown, comments.get(f.name, "")))
    return out


def _type_name(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        return "|".join(str(a) if a != "" else "''" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None)) + " or none"
    if origin in (tuple, list):
        return f"{getattr(origin, '__name__', origin)} of {', '.join(_type_name(a) for a in args if a is not ...)}"
    return getattr(hint, "__name__", str(hint))


@functools.cache
def _field_comments(cls: type) -> dict[str, str]:
    """{field: its line's comment} from the class source, for the fields of `cls` and of its dataclass bases."""
    comments: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass) or klass is object:
            continue
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        names = {f.name for f in dataclasses.fields(klass)}
        line_names: dict[int, str] = {}
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.NAME and token.start[1] == 4 and token.string in names:
                line_names.setdefault(token.start[0], token.string)  # `    name: type = ...` at class-body indent
            elif token.type == tokenize.COMMENT and token.start[0] in line_names:
                comments[line_names[token.start[0]]] = token.string.lstrip("#").strip()
    return comments
