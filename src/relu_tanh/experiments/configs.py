"""Type-checked, validated overrides of an experiment's frozen config: an unknown field, a value
of the wrong type or one that cannot work (a name, a number out of its field's range, a divisor
that does not divide) fails before any seed runs, with a one-line error."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, TypeVar

from .. import data
from ..data import DATASETS
from ..nets.activations import ACTIVATIONS

C = TypeVar("C")


def override(config: C, **changes: Any) -> C:
    """A copy of a frozen dataclass config with `changes`; unknown keys and wrong types raise
    TypeError/KeyError, values that cannot work (`validate`, on the whole result) raise
    ValueError, all before anything runs."""
    fields = {f.name: f for f in dataclasses.fields(config)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(type(config))
    for key, value in changes.items():
        if key not in fields:
            raise KeyError(f"{type(config).__name__} has no field {key!r}; valid: {', '.join(fields)}")
        check_type(key, value, hints[key])
    new = dataclasses.replace(config, **changes)  # type: ignore[type-var]
    validate(new)
    return new


# Generic rules by field name, so every experiment's config gets them without code of its own.
# Every number must be finite and positive (widths, depths, counts, sizes, rates, ...), except:
AT_LEAST_ZERO = {"race_epochs", "max_extensions", "warmup", "tuning_seeds"}  # 0: none
MAY_BE_EMPTY = {"tunings"}  # (): none, the shared default applies
FRACTIONS = {"level", "solve_fraction", "target_error", "threshold", "thresholds"}  # in (0, 1)
MOMENTA = {"momentum"}  # in [0, 1)
ABOVE_ONE = {"lr_step"}  # a factor that must move the rate
NAMED = {"activation": "activation", "activations": "activation", "dataset": "dataset"}
RANGES = {  # (test, words for the error)
    "positive": (lambda v: v > 0, "positive (above 0)"),
    "at_least_zero": (lambda v: v >= 0, "at least 0"),
    "fraction": (lambda v: 0 < v < 1, "strictly between 0 and 1"),
    "momentum": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "above_one": (lambda v: v > 1, "above 1"),
}


def validate(config: Any) -> None:
    """Raise ValueError (one line, naming the field and what it may be) for a value that cannot
    work: an unknown activation or dataset name (listing the valid ones), a number out of its
    field's range (`range_of`), an empty grid (tuple; `MAY_BE_EMPTY` aside), a downsampling
    factor that does not divide the images' side. Nested configs are checked whole; then the config's own `validate()`."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            validate(value)
            continue
        if isinstance(value, tuple) and not value and f.name not in MAY_BE_EMPTY:
            raise ValueError(f"{f.name} is empty; give at least one value")
        items = tuple(_flat(value))
        if f.name in NAMED:
            _check_names(f.name, items, NAMED[f.name])
        test, words = RANGES[range_of(f.name)]
        if any(_is_number(v) and not (math.isfinite(v) and test(v)) for v in items):
            raise ValueError(f"{f.name}={value!r}: every value must be finite and {words}")
    _check_downsample(config)
    if callable(getattr(config, "validate", None)):
        config.validate()


def range_of(field: str) -> str:
    """The name of the range a numeric field's values must lie in (a key of `RANGES`)."""
    for names, kind in ((AT_LEAST_ZERO, "at_least_zero"), (FRACTIONS, "fraction"),
                        (MOMENTA, "momentum"), (ABOVE_ONE, "above_one")):
        if field in names:
            return kind
    return "positive"


def _flat(value: Any) -> Any:
    for v in value if isinstance(value, tuple) else (value,):
        yield from _flat(v) if isinstance(v, tuple) else (v,)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_downsample(config: Any) -> None:
    """Average pooling by `downsample` must divide the dataset's images evenly, and a `side`
    they are padded to must hold them."""
    full = data.IMAGE_SIDES.get(getattr(config, "dataset", None))
    factor = getattr(config, "downsample", None)
    if full is None or not isinstance(factor, int) or factor < 1:
        return
    if full % factor:
        valid = [d for d in range(1, full + 1) if full % d == 0]
        raise ValueError(f"downsample={factor} does not divide {config.dataset}'s {full}-pixel side; "
                         f"valid choices: {', '.join(map(str, valid))}")
    side = getattr(config, "side", None)
    if isinstance(side, int) and side < full // factor:
        raise ValueError(f"side={side} cannot hold {config.dataset}'s images downsampled by "
                         f"{factor} ({full // factor} pixels); use side >= {full // factor}")


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
