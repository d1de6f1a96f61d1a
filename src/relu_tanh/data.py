"""Datasets as in-memory tensors: MNIST-1D (generated offline), Fashion-MNIST (IDX files) and
CIFAR-10 (official binary release, or a JPEG image-folder copy; decoded once into an npz cache).

Every loader returns a `Dataset` whose `source` says where the numbers came from,
so figure captions can name the data they used.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import tarfile
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from .store.registry import Registry
from .store.results import REPO_DIR, atomic_file

DATA_ENV = "RELU_TANH_DATA"
IMAGE_SIDES = {"fashion-mnist": 28, "fashion-mnist-small": 28, "cifar10": 32}  # square images
ASSETS = Path(__file__).resolve().parent / "assets"


@dataclass(frozen=True)
class Dataset:
    """Train and test tensors; x is float32 (a channel axis for images and signals, (time,
    features) for sequences), y is int64 class labels or float32 regression targets."""

    name: str
    source: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor

    @property
    def task(self) -> str:
        """"regression" when the targets are floats (trained with MSE), else "classification"."""
        return "regression" if self.y_train.is_floating_point() else "classification"

    @property
    def n_classes(self) -> int:
        """Number of classes; for a regression task, the number of outputs."""
        if self.task == "regression":
            return int(self.y_train.shape[-1])
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
# md5 of the published .gz files (Fashion-MNIST README): a download is checked before it is kept.
DOWNLOAD_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
FASHION_DIRS = ("/usr/share/datasets/fashion-mnist",)  # Debian package dataset-fashion-mnist
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530


class DatasetNotFound(FileNotFoundError):
    """A dataset is neither on disk nor downloadable; the message says how to get it."""


class ChecksumError(ValueError):
    """A file's content does not match the published checksum."""


class CorruptDataFile(ValueError):
    """A data file that cannot be read (not gzip, truncated, wrong shapes); the message names it."""


def data_dirs(name: str, system_dirs: tuple[str, ...] = ()) -> list[Path]:
    """Where to look for `name`: $RELU_TANH_DATA/name, then ~/.cache/relu_tanh/name, then system dirs."""
    dirs = [Path(os.environ[DATA_ENV]) / name] if DATA_ENV in os.environ else []
    return dirs + [Path.home() / ".cache" / "relu_tanh" / name, *map(Path, system_dirs)]


def read_bytes(path: Path) -> bytes:
    """A file's content, decompressed if it ends in .gz; CorruptDataFile if that fails."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as err:
        what = "an HTML page (a failed download?)" if _is_html(path) else f"unreadable ({err})"
        raise CorruptDataFile(f"{path} is {what}; delete it and fetch it again") from None


def _is_html(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(512).lstrip().lower().startswith((b"<!doctype html", b"<html"))
    except OSError:
        return False


def verify(data: bytes, expected: str, what: str, algorithm: str = "sha256") -> bytes:
    """`data`, once its `algorithm` digest matches `expected`."""
    check_digest(hashlib.new(algorithm, data).hexdigest(), expected, what, algorithm)
    return data


def verify_file(path: Path, expected: str, algorithm: str = "sha256") -> Path:
    """`path`, once its `algorithm` digest (hashed in chunks, for large archives) matches."""
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, algorithm).hexdigest()
    check_digest(digest, expected, str(path), algorithm)
    return path


def check_digest(digest: str, expected: str, what: str, algorithm: str) -> None:
    if digest != expected:
        raise ChecksumError(f"{what}: {algorithm} {digest} does not match the expected {expected}; "
                            "delete the file and fetch it again")


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


def download(url: str, dest: Path, md5: str | None = None) -> Path:
    """Fetch `url` to `dest` through a temporary file, so an interrupted download leaves
    nothing; with `md5`, the file is checked before it is kept (and before it is decompressed)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(url, timeout=60) as r:
        with atomic_file(dest) as tmp:
            shutil.copyfileobj(r, tmp)
            tmp.flush()
            if md5 is not None:
                with open(tmp.name, "rb") as f:
                    digest = hashlib.file_digest(f, "md5").hexdigest()
                if digest != md5:
                    raise ChecksumError(f"download of {url}: md5 {digest} does not match the "
                                        f"published {md5}; nothing was saved to {dest}. Try "
                                        "again, or fetch the file by hand")
    return dest


def fetch_idx(stem: str, sha256: str, dirs: list[Path], base_url: str | None) -> np.ndarray:
    """Read a checksummed IDX file from the first dir that has it, else download it into dirs[0]."""
    path = find_file(stem, dirs)
    if path is None and base_url is not None:
        try:
            path = download(f"{base_url}{stem}.gz", dirs[0] / f"{stem}.gz",
                            DOWNLOAD_MD5.get(f"{stem}.gz"))
        except OSError as err:
            raise DatasetNotFound(_missing_message(stem, dirs, err)) from err
    if path is None:
        raise DatasetNotFound(_missing_message(stem, dirs, None))
    try:
        return parse_idx(verify(read_bytes(path), sha256, str(path)))
    except (ChecksumError, CorruptDataFile):
        raise
    except ValueError as err:  # parse_idx: a bad header or a size that does not match it
        raise CorruptDataFile(f"{path}: {err}; delete it and fetch it again") from None


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

@DATASETS.register("fashion-mnist-small")
@lru_cache(maxsize=1)
def fashion_mnist_small() -> Dataset:
    """The first 5,000 training and 1,000 test images of Fashion-MNIST, shipped with the package
    (2.6 MB, MIT licence) so that the book's CNN chapters run offline on any machine."""
    with np.load(ASSETS / "fashion_mnist_small.npz", allow_pickle=False) as a:
        arrays = {k: a[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    x = lambda u: ((torch.tensor(u, dtype=torch.float32) / 255 - FASHION_MEAN) / FASHION_STD).unsqueeze(1)
    y = lambda u: torch.tensor(u, dtype=torch.int64)
    return Dataset("fashion-mnist-small", "Fashion-MNIST (Xiao et al. 2017), first 5,000 train / "
                   "1,000 test images, shipped with relu_tanh", x(arrays["x_train"]),
                   y(arrays["y_train"]), x(arrays["x_test"]), y(arrays["y_test"]))


# --- CIFAR-10 ------------------------------------------------------------------------------

CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                 "dog", "frog", "horse", "ship", "truck")
CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
CIFAR_BINARY, CIFAR_BINARY_MD5 = "cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530"
CIFAR_JPEG = "cifar10-jpg.tar.gz"
CIFAR_JPEG_SHA256 = "923eadae6a7224c36d5cfae597a2739e524743a2c222cb7460553136b3d9768d"
CIFAR_CACHE = "cifar10-uint8.npz"
CIFAR_DIRS = (str(REPO_DIR.parent / "shared" / "data" / "cifar10-jpeg"),)  # the JPEG copy
CIFAR_BINARY_SOURCE = "CIFAR-10 (Krizhevsky 2009), official binary release"
CIFAR_JPEG_SOURCE = ("CIFAR-10 re-encoded as JPEG (lossy; pixel values differ slightly from the "
                     "official release)")
CIFAR_KEYS = ("x_train", "y_train", "x_test", "y_test")  # x: (N, 32, 32, 3) uint8, y: (N,) uint8


def parse_cifar_batch(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """A batch of the binary release: records of 1 label byte + 3072 pixel bytes (R, G, B planes).

    Returns images (N, 32, 32, 3) and labels (N,), both uint8.
    """
    if len(data) % 3073:
        raise ValueError(f"a CIFAR-10 batch is a multiple of 3073 bytes, not {len(data)}")
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3073)
    return records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), records[:, 0]


def read_cifar_binary(path: Path) -> dict[str, np.ndarray]:
    """The four uint8 arrays of the official release, read from its tarball in one pass."""
    names = [f"cifar-10-batches-bin/{b}.bin" for b in
             ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
              "test_batch")]
    with tarfile.open(path, "r:gz") as tar:
        blobs = {m.name: tar.extractfile(m).read() for m in tar if m.name in names}
    if missing := [n for n in names if n not in blobs]:
        raise ValueError(f"{path} lacks {', '.join(missing)}")
    train = [parse_cifar_batch(blobs[n]) for n in names[:5]]
    x_test, y_test = parse_cifar_batch(blobs[names[5]])
    return dict(x_train=np.concatenate([x for x, _ in train]),
                y_train=np.concatenate([y for _, y in train]), x_test=x_test, y_test=y_test)


def read_cifar_images(path: Path) -> dict[str, np.ndarray]:
    """The four uint8 arrays from an image-folder tarball (split/class/file), decoded with Pillow.

    Members are sorted by path, then each split is shuffled with a fixed seed, so that a
    prefix (`Dataset.subset`) holds every class, as in the already-shuffled binary release.
    """
    from PIL import Image

    images: dict[str, list[tuple[str, int, bytes]]] = {"train": [], "test": []}
    with tarfile.open(path, "r:gz") as tar:
        for m in tar:
            parts = m.name.split("/")
            if m.isfile() and len(parts) == 3 and parts[0] in images:
                if parts[1] not in CIFAR_CLASSES:
                    raise ValueError(f"{path}: {m.name} is not in a CIFAR-10 class folder")
                images[parts[0]].append((m.name, CIFAR_CLASSES.index(parts[1]),
                                         tar.extractfile(m).read()))
    rng, arrays = np.random.default_rng(0), {}
    for split, members in images.items():
        members.sort()
        x = np.stack([np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for *_, b in members])
        if x.shape[1:] != (32, 32, 3):
            raise ValueError(f"{path}: {split} images are {x.shape[1:]}, not (32, 32, 3)")
        order = rng.permutation(len(members))
        arrays[f"x_{split}"] = x[order]
        arrays[f"y_{split}"] = np.array([label for _, label, _ in members], np.uint8)[order]
    return arrays


def decode_cifar10(dirs: list[Path]) -> tuple[str, str, dict[str, np.ndarray]]:
    """Source, the digest of the archive used and its uint8 arrays: from the binary release
    (found or downloaded), else the JPEG copy."""
    binary, download_error = find_file(CIFAR_BINARY, dirs), None
    if binary is None:
        try:
            binary = download(CIFAR_URL, dirs[0] / CIFAR_BINARY, CIFAR_BINARY_MD5)
        except OSError as err:
            download_error = err
    if binary is not None:
        verify_file(binary, CIFAR_BINARY_MD5, "md5")
        return f"{CIFAR_BINARY_SOURCE} ({binary.name})", CIFAR_BINARY_MD5, read_cifar_binary(binary)
    jpeg = find_file(CIFAR_JPEG, dirs)
    if jpeg is None:
        raise DatasetNotFound(_cifar_missing_message(dirs, download_error))
    verify_file(jpeg, CIFAR_JPEG_SHA256)
    return f"{CIFAR_JPEG_SOURCE} ({jpeg.name})", CIFAR_JPEG_SHA256, read_cifar_images(jpeg)


def _cifar_missing_message(dirs: list[Path], err: Exception | None) -> str:
    where = ", ".join(str(d) for d in dirs)
    why = f" (download failed: {err})" if err else ""
    return (f"CIFAR-10 not found: no {CIFAR_CACHE}, {CIFAR_BINARY} or {CIFAR_JPEG} "
            f"in {where}{why}. "
            f"Download the official release from {CIFAR_URL} into ${DATA_ENV}/cifar10 "
            f"(or run once with network access), or put the JPEG copy {CIFAR_JPEG} there.")


# sha256 of the arrays decoded from each known archive (`arrays_digest`): a cache is checked
# against it, so its label alone (the archive digest stored in it) proves nothing. The official
# binary release's is not measured here (no copy of it on the project's machines): a cache of
# it is checked against the arrays digest stored when it was decoded.
CIFAR_ARRAYS_SHA256 = {
    CIFAR_JPEG_SHA256: "23e9d8c74d99cc6a74a7c3b81287133451d0a80cf87103df39b5724c40d50a3a",
}
REBUILD = "delete it and it is decoded again from the archive"


def arrays_digest(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over every array of CIFAR_KEYS: name, dtype, shape and bytes."""
    h = hashlib.sha256()
    for k in CIFAR_KEYS:
        a = np.ascontiguousarray(arrays[k])
        h.update(f"{k}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def read_cifar_cache(path: Path) -> tuple[str, dict[str, np.ndarray]]:
    """The cache's source and arrays, once their content proves them decoded from a known
    archive (`CIFAR_ARRAYS_SHA256`, else the arrays digest stored at decoding) and
    CIFAR-shaped; else CorruptDataFile naming it and saying how to rebuild it."""
    try:
        with np.load(path, allow_pickle=False) as z:
            stored = {k: str(z[k]) for k in ("source", "archive_digest", "arrays_digest") if k in z}
            arrays = {k: z[k] for k in CIFAR_KEYS}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:
        # numpy calls anything that is not an npz "pickled data" and suggests loading it unsafely
        why = "it is not an npz of plain arrays" if "pickle" in str(err) else f"it cannot be read: {err}"
        raise CorruptDataFile(_bad_cache(path, why)) from None
    archive = stored.get("archive_digest")
    if archive not in (CIFAR_BINARY_MD5, CIFAR_JPEG_SHA256):
        raise CorruptDataFile(_bad_cache(path, f"it was not decoded from a known archive (digest {archive})"))
    _check_shapes(path, arrays)
    expected = CIFAR_ARRAYS_SHA256.get(archive) or stored.get("arrays_digest")
    if expected is None:
        raise CorruptDataFile(_bad_cache(path, "it does not store the digest of its arrays"))
    if arrays_digest(arrays) != expected:
        raise CorruptDataFile(_bad_cache(path, "its images and labels are not those the archive holds"))
    return stored.get("source", "CIFAR-10"), arrays


def _check_shapes(path: Path, arrays: dict[str, np.ndarray]) -> None:
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.shape[1:] != (32, 32, 3) or y.shape != x.shape[:1]:
            raise CorruptDataFile(_bad_cache(path, f"its {split} arrays are {x.dtype} {x.shape} "
                                                   f"and {y.shape}, not (N, 32, 32, 3) uint8 and (N,)"))
        if y.size and int(y.max()) >= len(CIFAR_CLASSES):
            raise CorruptDataFile(_bad_cache(path, f"its {split} labels reach {int(y.max())}"))


def _bad_cache(path: Path, why: str) -> str:
    return f"{path} is not a valid CIFAR-10 cache ({why}); {REBUILD}"


def write_cifar_cache(dirs: list[Path], source: str, digest: str, arrays: dict[str, np.ndarray]) -> None:
    """Save the decoded arrays, with the digests of their archive and of themselves,
    atomically into the first writable dir (if any is)."""
    for d in dirs:
        try:
            d.mkdir(parents=True, exist_ok=True)
            with atomic_file(d / CIFAR_CACHE) as tmp:
                np.savez(tmp, source=np.array(source), archive_digest=np.array(digest),
                         arrays_digest=np.array(arrays_digest(arrays)), **arrays)
            return
        except OSError:
            continue


def cifar10_arrays(dirs: list[Path], archive_dirs: tuple[Path, ...] = ()) -> tuple[str, dict[str, np.ndarray]]:
    """Source and uint8 arrays: from the npz cache in `dirs`, else decoded once from an archive
    in `dirs` or `archive_dirs` (read-only places: never searched for or given a cache)."""
    cache = find_file(CIFAR_CACHE, dirs)
    if cache is not None:
        return read_cifar_cache(cache)
    source, digest, arrays = decode_cifar10([*dirs, *archive_dirs])
    if CIFAR_ARRAYS_SHA256.get(digest, arrays_digest(arrays)) != arrays_digest(arrays):
        raise CorruptDataFile(f"{source} decodes to other pixels than the pinned ones; decode it "
                              f"with the pinned pillow (requirements.txt)")
    write_cifar_cache(dirs, source, digest, arrays)
    return source, arrays


def cifar_tensor(x: np.ndarray) -> Tensor:
    """(N, 32, 32, 3) uint8 -> (N, 3, 32, 32) float32 in [0, 1], standardised per channel."""
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in (CIFAR_MEAN, CIFAR_STD))
    nchw = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    return nchw.float().div_(255).sub_(mean).div_(std)


@DATASETS.register("cifar10")
@lru_cache(maxsize=1)
def cifar10() -> Dataset:
    """CIFAR-10 (Krizhevsky 2009): 32x32 RGB images of 10 classes, 50,000 train / 10,000 test."""
    source, a = cifar10_arrays(data_dirs("cifar10"), tuple(map(Path, CIFAR_DIRS)))
    y = lambda u: torch.tensor(u, dtype=torch.int64)
    return Dataset("cifar10", source, cifar_tensor(a["x_train"]), y(a["y_train"]),
                   cifar_tensor(a["x_test"]), y(a["y_test"]))
