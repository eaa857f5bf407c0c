"""Job configuration: one frozen dataclass per job, presets from small TOML files, `--key=value` overrides.

An unknown key or a value of the wrong type is a `ConfigError` naming the key, never silently ignored.

A field is documented by the comment on its own line, as tyro reads CleanRL's `Args`:

    lr: float = bounded(2e-3, gt=0)  # learning rate of the optimizer

`field_help` collects those one-line helps with each field's type, default and range for `--help` (`core.job`).

A field may embed another frozen dataclass (`embedded`: TrainConfig's search settings are the one `SearchSettings`):
its fields are then options of the job under flat names (`--simulations` sets `search.num_simulations`). Presets,
`--key=value`, `--help` and saved configs (`config_to_dict`) all see the flat names, so a run saved before the
embedding reads as one saved after it.
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
    "embedded",
    "flat_fields",
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
    """Build a dataclass from a dict, converting strings to the field types; unknown keys are an error.

    The fields of an `embedded` dataclass are given under their flat names (or as one dict under the field's name).
    """
    flat = flat_fields(cls)
    nested = {f.name: f for f in dataclasses.fields(cls) if "embedded" in f.metadata}
    unknown = sorted(k for k in values if k not in flat and not (k in nested and isinstance(values[k], dict)))
    if unknown:
        raise ConfigError(f"unknown config key(s) for {cls.__name__}: {', '.join(unknown)}; known: {', '.join(flat)}")
    kwargs: dict[str, Any] = {}
    parts: dict[str, dict[str, Any]] = {name: {} for name in nested}
    for key, value in values.items():
        if key in nested and isinstance(value, dict):  # the embedded settings as one table
            renames = nested[key].metadata["embedded"]
            value = {renames.get(k, k): v for k, v in value.items()}
            extra = sorted(set(value) - {k for k, (owner, _, _) in flat.items() if owner == key})
            if extra:
                raise ConfigError(f"unknown config key(s) for {cls.__name__}.{key}: {', '.join(extra)}")
            for sub_key, sub_value in value.items():
                _, sub, hint = flat[sub_key]
                parts[key][sub] = _convert(sub_key, sub_value, hint)
            continue
        owner, name, hint = flat[key]
        if owner is None:
            kwargs[name] = _convert(key, value, hint)
        else:
            parts[owner][name] = _convert(key, value, hint)
    try:
        for owner, changes in parts.items():
            if changes:
                kwargs[owner] = dataclasses.replace(nested[owner].default_factory(), **changes)
        cfg = cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"invalid {cls.__name__}: {err}") from err
    check_ranges(cfg)
    return cfg


def embedded(default: Any, *, names: dict[str, str] | None = None) -> Any:
    """A dataclass field holding `default`, a frozen dataclass whose fields are options of the job under flat
    names: a field's own name, or `names[field]` (`embedded(SearchSettings(...), names={"num_simulations":
    "simulations"})`)."""
    return dataclasses.field(default_factory=lambda: default, metadata={"embedded": dict(names or {})})


def flat_fields(cls: type) -> dict[str, tuple[str | None, str, Any]]:
    """{flat name: (embedding field or None, field name, type hint)} of every option of a config dataclass, in
    declaration order, the fields of `embedded` dataclasses in their place."""
    hints = typing.get_type_hints(cls)
    out: dict[str, tuple[str | None, str, Any]] = {}
    for f in dataclasses.fields(cls):
        if "embedded" not in f.metadata:
            out[f.name] = (None, f.name, hints[f.name])
            continue
        inner = type(f.default_factory())
        inner_hints = typing.get_type_hints(inner)
        for g in dataclasses.fields(inner):
            out[f.metadata["embedded"].get(g.name, g.name)] = (f.name, g.name, inner_hints[g.name])
    return out


def _flat_field_objects(cls: type) -> list[tuple[str, Any, dataclasses.Field, type]]:
    """(flat name, holder default or None, dataclasses.Field, declaring class) of every option, in order."""
    out = []
    for f in dataclasses.fields(cls):
        if "embedded" not in f.metadata:
            out.append((f.name, None, f, cls))
            continue
        inner_default = f.default_factory()
        for g in dataclasses.fields(inner_default):
            out.append((f.metadata["embedded"].get(g.name, g.name), inner_default, g, type(inner_default)))
    return out


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
    """Check every field declared with `bounded` against its range (those of `embedded` dataclasses too, by their
    flat names); a ConfigError names the field and the value."""
    for f in dataclasses.fields(cfg):
        if "embedded" in f.metadata:
            inner = getattr(cfg, f.name)
            for g in dataclasses.fields(inner):
                if g.metadata.get("range"):
                    check_range(f.metadata["embedded"].get(g.name, g.name), getattr(inner, g.name), g.metadata["range"])
            continue
        limits = f.metadata.get("range")
        if limits:
            check_range(f.name, getattr(cfg, f.name), limits)


def config_to_dict(cfg: Any) -> dict:
    """A dataclass config as a plain dict (for JSON, checkpoints); `embedded` fields are written flat, in place."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if "embedded" in f.metadata:
            names = f.metadata["embedded"]
            out.update((names.get(g.name, g.name), getattr(value, g.name)) for g in dataclasses.fields(value))
        else:
            out[f.name] = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
    return out


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
    limits: dict  # the range as `bounded` declares it: {"ge": 1}


def field_help(cls: type) -> list[FieldHelp]:
    """Type, default, range and one-line help of every option of a config dataclass (the fields of `embedded` ones
    by their flat names, in place), in declaration order; the help is the `# comment` on the field's line in the
    class source (a class without source gets no help texts)."""
    hints = {name: hint for name, (_, _, hint) in flat_fields(cls).items()}
    signs = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    out = []
    for name, holder, f, owner in _flat_field_objects(cls):
        if holder is not None:
            default = getattr(holder, f.name)
        else:
            default = f.default if f.default is not dataclasses.MISSING else None
        limits = dict(f.metadata.get("range", {}))
        shown = ", ".join(f"{signs[k]} {v}" for k, v in limits.items())
        text = _field_comments(owner).get(f.name, "")
        out.append(FieldHelp(name, _type_name(hints[name]), default, shown, text, limits))
    return out


def _type_name(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        return "|".join(str(a) if a != "" else "''" for a in args)
    if origin in (typing.Union, types.UnionType):
        shown = [_type_name(a) for a in args if a is not type(None) and a.__module__ == "builtins"]
        return " or ".join(shown) + (" or none" if type(None) in args else "")
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
