"""Datasets as in-memory tensors: MNIST-1D (generated offline) and Fashion-MNIST (IDX files).

Every loader returns a `Dataset` whose `source` says where the numbers came from,
so figure captions can name the data they used.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from .registry import Registry

DATA_ENV = "RELU_TANH_DATA"


@dataclass(frozen=True)
class Dataset:
    """Train and test tensors; x is float32 with a channel axis, y is int64."""

    name: str
    source: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor

    @property
    def n_classes(self) -> int:
        return int(torch.cat([self.y_train, self.y_test]).max()) + 1

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def subset(self, n_train: int | None, n_test: int | None = None) -> "Dataset":
        """The first `n_train` / `n_test` examples (the files are already shuffled)."""
        return Dataset(self.name, self.source, self.x_train[:n_train], self.y_train[:n_train],
                       self.x_test[:n_test], self.y_test[:n_test])


DATASETS: Registry[Callable[[], Dataset]] = Registry("dataset")


def load(name: str, n_train: int | None = None, n_test: int | None = None) -> Dataset:
    """The dataset `name`, cut to its first `n_train` training and `n_test` test examples."""
    return DATASETS[name]().subset(n_train, n_test)


# --- MNIST-1D ------------------------------------------------------------------------------


@DATASETS.register("mnist1d")
@lru_cache(maxsize=1)
def mnist1d() -> Dataset:
    """MNIST-1D (Greydanus 2020): 10 classes of length-40 signals, generated offline.

    Uses `mnist1d.data.make_dataset` with the package's default arguments (4,000 train,
    1,000 test, seed 42); `get_dataset` would download a pickle instead.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    d = make_dataset(get_dataset_args())
    as_x = lambda a: torch.tensor(a, dtype=torch.float32).unsqueeze(1)  # (N, 1, 40)
    as_y = lambda a: torch.tensor(a, dtype=torch.int64)
    return Dataset("mnist1d", "MNIST-1D, generated with the mnist1d package (default arguments)",
                   as_x(d["x"]), as_y(d["y"]), as_x(d["x_test"]), as_y(d["y_test"]))


# --- Fashion-MNIST ---------------------------------------------------------------------------

FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
# sha256 of the *decompressed* IDX files, so any faithful copy (re-gzipped or not) verifies.
FASHION_FILES = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
FASHION_DIRS = ("/usr/share/datasets/fashion-mnist",)  # Debian package dataset-fashion-mnist
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530


class DatasetNotFound(FileNotFoundError):
    """A dataset is neither on disk nor downloadable; the message says how to get it."""


class ChecksumError(ValueError):
    """A file's content does not match the published checksum."""


def data_dirs(name: str, system_dirs: tuple[str, ...] = ()) -> list[Path]:
    """Where to look for `name`: $RELU_TANH_DATA/name, then ~/.cache/relu_tanh/name, then system dirs."""
    dirs = [Path(os.environ[DATA_ENV]) / name] if DATA_ENV in os.environ else []
    return dirs + [Path.home() / ".cache" / "relu_tanh" / name, *map(Path, system_dirs)]


def read_bytes(path: Path) -> bytes:
    """A file's content, decompressed if it ends in .gz."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        return f.read()


def verify(data: bytes, sha256: str, what: str) -> bytes:
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ChecksumError(f"{what}: sha256 {digest} does not match the expected {sha256}; "
                            "delete the file and fetch it again")
    return data


def parse_idx(data: bytes) -> np.ndarray:
    """An IDX array (LeCun's MNIST format) of unsigned bytes: magic 0x0000_08_NN, then NN sizes."""
    if len(data) < 4 or data[:3] != b"\x00\x00\x08":
        raise ValueError("not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"IDX header says {shape} but the file holds {body.size} bytes")
    return body.reshape(shape)


def find_file(stem: str, dirs: list[Path]) -> Path | None:
    for d in dirs:
        for candidate in (d / stem, d / f"{stem}.gz"):
            if candidate.exists():
                return candidate
    return None


def download(url: str, dest: Path) -> Path:
    """Fetch `url` to `dest` through a temporary file, so an interrupted download leaves nothing."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(url, timeout=60) as r, tempfile.NamedTemporaryFile(
        dir=dest.parent, delete=False
    ) as tmp:
        shutil.copyfileobj(r, tmp)
    os.replace(tmp.name, dest)
    return dest


def fetch_idx(stem: str, sha256: str, dirs: list[Path], base_url: str | None) -> np.ndarray:
    """Read a checksummed IDX file from the first dir that has it, else download it into dirs[0]."""
    path = find_file(stem, dirs)
    if path is None and base_url is not None:
        try:
            path = download(f"{base_url}{stem}.gz", dirs[0] / f"{stem}.gz")
        except OSError as err:
            raise DatasetNotFound(_missing_message(stem, dirs, err)) from err
    if path is None:
        raise DatasetNotFound(_missing_message(stem, dirs, None))
    return parse_idx(verify(read_bytes(path), sha256, str(path)))


def _missing_message(stem: str, dirs: list[Path], err: Exception | None) -> str:
    where = ", ".join(str(d) for d in dirs)
    why = f" (download failed: {err})" if err else ""
    return (f"{stem}(.gz) not found in {where}{why}. Install the Debian package "
            f"dataset-fashion-mnist, or put the four Fashion-MNIST IDX files into "
            f"${DATA_ENV}/fashion-mnist, or run once with network access.")


def load_idx_dataset(name: str, source: str, dirs: list[Path], base_url: str | None,
                     files: dict[str, str], mean: float, std: float) -> Dataset:
    """An MNIST-style dataset from its four IDX files, scaled to [0, 1] then standardised."""
    arrays = {stem: fetch_idx(stem, sha, dirs, base_url) for stem, sha in files.items()}
    x = lambda a: ((torch.tensor(a, dtype=torch.float32) / 255 - mean) / std).unsqueeze(1)
    y = lambda a: torch.tensor(a, dtype=torch.int64)
    train_x, train_y, test_x, test_y = arrays.values()
    return Dataset(name, source, x(train_x), y(train_y), x(test_x), y(test_y))


@DATASETS.register("fashion-mnist")
@lru_cache(maxsize=1)
def fashion_mnist() -> Dataset:
    """Fashion-MNIST (Xiao et al. 2017): 28x28 greyscale images of 10 clothing classes."""
    return load_idx_dataset("fashion-mnist", "Fashion-MNIST (Xiao et al. 2017)",
                            data_dirs("fashion-mnist", FASHION_DIRS), FASHION_URL, FASHION_FILES,
                            FASHION_MEAN, FASHION_STD)
