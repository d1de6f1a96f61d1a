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


def resolve(scale: str | None = None, default: str | None = None) -> str:
    """The scale to run at: `scale` if given, else $RELU_TANH_SCALE, else `default` (book
    unless said), checked.

    The one place the active scale is decided. The entry points call it (the CLI, the book's
    pages, `python -m relu_tanh.book`); everything below them takes the name it returns."""
    if scale is None:
        scale = os.environ.get(ENV_VAR, default or DEFAULT_SCALE)
        if scale not in SCALES:
            raise ValueError(f"{ENV_VAR}={scale!r} is not a scale; valid choices: {', '.join(SCALES)}")
    elif scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; valid choices: {', '.join(SCALES)}")
    return scale
