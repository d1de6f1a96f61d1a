"""The three scales every experiment runs at, and which one is active.

- ``smoke``: CI and nbval; each notebook well under a minute on 2 CPU cores.
- ``book``: the default; what `jupyter-book build` runs on a laptop-class CPU.
- ``paper``: the original papers' scale, meant for a GPU; results go to ``results/``.
"""

from __future__ import annotations

import os

SCALES = ("smoke", "book", "paper")
ENV_VAR = "RELU_TANH_SCALE"
DEFAULT_SCALE = "book"


def check_scale(scale: str) -> str:
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; valid choices: {', '.join(SCALES)}")
    return scale


def current_scale() -> str:
    """The scale chosen with the RELU_TANH_SCALE environment variable (default: book)."""
    value = os.environ.get(ENV_VAR, DEFAULT_SCALE)
    if value not in SCALES:
        raise ValueError(f"{ENV_VAR}={value!r} is not a scale; valid choices: {', '.join(SCALES)}")
    return value
