"""The three scales every experiment runs at, and type-checked config overrides.

- ``smoke``: CI and nbval; each notebook well under a minute on 2 CPU cores.
- ``book``: the default; what `jupyter-book build` runs on a laptop-class CPU.
- ``paper``: the original papers' scale, meant for a GPU; results go to ``results/``.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from typing import Any, TypeVar

SCALES = ("smoke", "book", "paper")
ENV_VAR = "RELU_TANH_SCALE"
DEFAULT_SCALE = "book"

C = TypeVar("C")


def check_scale(scale: str) -> str:
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; valid choices: {', '.join(SCALES)}")
    return scale


def current_scale() -> str:
    """The scale chosen with the RELU_TANH_SCALE environment variable (default: book)."""
    return check_scale(os.environ.get(ENV_VAR, DEFAULT_SCALE))


def override(config: C, **changes: Any) -> C:
    """A copy of a frozen dataclass config with `changes`; unknown keys and wrong types raise."""
    fields = {f.name: f for f in dataclasses.fields(config)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(type(config))
    for key, value in changes.items():
        if key not in fields:
            raise KeyError(f"{type(config).__name__} has no field {key!r}; valid: {', '.join(fields)}")
        _check_type(key, value, hints[key])
    return dataclasses.replace(config, **changes)  # type: ignore[type-var]


def _check_type(key: str, value: Any, hint: Any) -> None:
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
