"""Type-checked, validated overrides of an experiment's frozen config: an unknown field, a value
of the wrong type or one that cannot work fails before any seed runs, with a one-line error."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from typing import Any, TypeVar

from ..data import DATASETS
from ..nets.activations import ACTIVATIONS

C = TypeVar("C")


def override(config: C, **changes: Any) -> C:
    """A copy of a frozen dataclass config with `changes`; unknown keys and wrong types raise
    TypeError/KeyError, values that cannot work (`validate`) raise ValueError, all before
    anything runs. The generic checks apply to the changed fields (the defaults are the
    author's, and tested); a config's own `validate()` method, if it has one, sees the result."""
    fields = {f.name: f for f in dataclasses.fields(config)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(type(config))
    for key, value in changes.items():
        if key not in fields:
            raise KeyError(f"{type(config).__name__} has no field {key!r}; valid: {', '.join(fields)}")
        check_type(key, value, hints[key])
    new = dataclasses.replace(config, **changes)  # type: ignore[type-var]
    validate(new, only=tuple(changes))
    return new


# Generic rules by field name, so every experiment's config gets them without code of its own.
POSITIVE = re.compile(r"(n_\w+|\w*batch\w*|\w+_samples|epochs|repeats|rounds|grid_points|lrs?)$")
NAMED = {"activation": "activation", "activations": "activation", "dataset": "dataset"}


def validate(config: Any, only: tuple[str, ...] | None = None) -> None:
    """Raise ValueError for a value that cannot work: an unknown activation or dataset name
    (listing the valid ones), a count, batch size or learning rate that is not positive, an
    empty grid (tuple). Nested configs are checked whole; then the config's own `validate()`."""
    for f in dataclasses.fields(config):
        if only is not None and f.name not in only:
            continue
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            validate(value)
            continue
        items = value if isinstance(value, tuple) else (value,)
        if isinstance(value, tuple) and not value:
            raise ValueError(f"{f.name} is empty; give at least one value")
        if f.name in NAMED:
            _check_names(f.name, items, NAMED[f.name])
        if POSITIVE.fullmatch(f.name) and any(_not_positive(v) for v in items):
            raise ValueError(f"{f.name}={value!r}: every value must be positive")
    if callable(getattr(config, "validate", None)):
        config.validate()


def _not_positive(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and not v > 0


def _check_names(field: str, names: tuple[Any, ...], kind: str) -> None:
    # the cells' gate and state nonlinearities are not activations: gates names them in its arms
    valid = ACTIVATIONS.names() if kind == "activation" else DATASETS.names()
    unknown = [n for n in names if isinstance(n, str) and n not in valid]
    if unknown:
        raise ValueError(f"{field}: unknown {kind} {', '.join(map(repr, unknown))}; "
                         f"valid choices: {', '.join(valid)}")


def check_type(key: str, value: Any, hint: Any) -> None:
    origin = typing.get_origin(hint) or hint
    if origin is typing.Union or origin is types.UnionType:
        if any(_matches(value, h) for h in typing.get_args(hint)):
            return
    elif _matches(value, hint):
        return
    raise TypeError(f"{key}={value!r} does not match the field's type {hint}")


def _matches(value: Any, hint: Any) -> bool:
    if hint is type(None):
        return value is None
    origin = typing.get_origin(hint) or hint
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if isinstance(value, bool) and origin is not bool:
        return False
    if origin is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin is tuple:
        args = typing.get_args(hint)
        item = args[0] if args else object
        return isinstance(value, tuple) and all(_matches(v, item) for v in value)
    return isinstance(value, origin)
