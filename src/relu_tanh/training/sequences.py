"""Sequence tasks for the recurrent chapters, as `data.Dataset`s whose x is (N, time, features).

- The adding problem (Hochreiter and Schmidhuber 1997; the version of Le, Jaitly and Hinton 2015):
  regression, y is float (N, 1); predicting the mean, 1, scores `ADDING_BASELINE_MSE`.
- MNIST-1D read one value per step (40 steps), Fashion-MNIST read row by row (28 steps of 28)
  or pixel by pixel (784 steps of 1, optionally under one fixed permutation): classification.
"""

from __future__ import annotations

import torch

from .. import data
from ..data import Dataset

ADDING_BASELINE_MSE = 1 / 6  # Var(u1 + u2) for u1, u2 ~ U(0, 1): the MSE of always answering 1
PERMUTATION_SEED = 0  # the one fixed permutation of the permuted pixel task


def adding_problem(length: int, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` sequences of `length` steps with two channels: values ~ U(0, 1), and a marker channel
    that is 1 at one random step in the first half and one in the second half, 0 elsewhere.
    The target is the sum of the two marked values. Returns x (n, length, 2), y (n, 1)."""
    if length < 2:
        raise ValueError(f"the adding problem needs length >= 2, got {length}")
    g = torch.Generator().manual_seed(seed)
    values = torch.rand(n, length, generator=g)
    half = length // 2
    first = torch.randint(0, half, (n,), generator=g)
    second = torch.randint(half, length, (n,), generator=g)
    markers = torch.zeros(n, length)
    rows = torch.arange(n)
    markers[rows, first] = markers[rows, second] = 1.0
    y = (values[rows, first] + values[rows, second]).unsqueeze(1)
    return torch.stack([values, markers], dim=2), y


def adding(length: int, n_train: int, n_test: int, seed: int = 0) -> Dataset:
    """The adding problem as a regression dataset (train and test drawn with different seeds)."""
    x_train, y_train = adding_problem(length, n_train, seed=2 * seed)
    x_test, y_test = adding_problem(length, n_test, seed=2 * seed + 1)
    return Dataset(f"adding-{length}", f"adding problem, {length} steps (synthetic)",
                   x_train, y_train, x_test, y_test)


def _as_sequence(ds: Dataset, name: str, how: str, shape: tuple[int, int],
                 order: torch.Tensor | None = None) -> Dataset:
    """`ds` with each example reshaped to (time, features), its time axis optionally permuted."""
    def seq(x: torch.Tensor) -> torch.Tensor:
        s = x.reshape(len(x), *shape)
        return s[:, order] if order is not None else s
    return Dataset(name, f"{ds.source}, {how}", seq(ds.x_train), ds.y_train, seq(ds.x_test),
                   ds.y_test)


def mnist1d_sequence(n_train: int | None = None, n_test: int | None = None) -> Dataset:
    """MNIST-1D read one value per step: 40 steps of 1 feature."""
    ds = data.load("mnist1d", n_train, n_test)
    return _as_sequence(ds, "mnist1d-seq", "one value per step (40 steps)", (40, 1))


def fashion_rows(n_train: int | None = None, n_test: int | None = None,
                 dataset: str = "fashion-mnist-small") -> Dataset:
    """Fashion-MNIST read row by row: 28 steps of 28 pixels."""
    ds = data.load(dataset, n_train, n_test)
    return _as_sequence(ds, f"{dataset}-rows", "row by row (28 steps of 28)", (28, 28))


def fashion_pixels(n_train: int | None = None, n_test: int | None = None, permuted: bool = False,
                   dataset: str = "fashion-mnist") -> Dataset:
    """Fashion-MNIST read pixel by pixel: 784 steps of 1, optionally in one fixed random order."""
    ds = data.load(dataset, n_train, n_test)
    order = torch.randperm(784, generator=torch.Generator().manual_seed(PERMUTATION_SEED)) \
        if permuted else None
    how = "pixel by pixel (784 steps)" + (", one fixed permutation" if permuted else "")
    return _as_sequence(ds, f"{dataset}-{'p' if permuted else ''}pixels", how, (784, 1), order)
