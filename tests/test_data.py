"""IDX parsing, checksums, local-only fetching and the MNIST-1D loader. Nothing is downloaded."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from relu_tanh import data
from relu_tanh.data import ChecksumError, DatasetNotFound

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def idx_bytes(a: np.ndarray) -> bytes:
    a = np.ascontiguousarray(a, dtype=np.uint8)
    header = b"\x00\x00\x08" + bytes([a.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in a.shape)
    return header + a.tobytes()


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def write(path: Path, payload: bytes, gz: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)
    return path


@pytest.mark.parametrize("shape", [(5,), (3, 4, 2), (2, 3, 4, 5)])
def test_parse_idx_round_trip(shape):
    a = np.arange(int(np.prod(shape)), dtype=np.uint8).reshape(shape)
    out = data.parse_idx(idx_bytes(a))
    assert out.dtype == np.uint8 and out.shape == shape
    np.testing.assert_array_equal(out, a)


@pytest.mark.parametrize("gz", [False, True])
def test_read_bytes_plain_and_gzipped(tmp_path, gz):
    a = np.random.default_rng(0).integers(0, 256, (6, 3, 3), dtype=np.uint8)
    path = write(tmp_path / "x-idx3-ubyte", idx_bytes(a), gz)
    assert path.suffix == (".gz" if gz else "")
    np.testing.assert_array_equal(data.parse_idx(data.read_bytes(path)), a)


@pytest.mark.parametrize("bad", [
    b"",
    b"\x00\x00",
    b"\x00\x00\x0d\x01\x00\x00\x00\x01\x00\x00\x00\x00",  # float32 type code, not ubyte
    b"\x01\x00\x08\x01\x00\x00\x00\x01\x07",  # wrong magic
    b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02",  # header says 5 items, body has 2
    b"\x00\x00\x08\x02\x00\x00\x00\x02\x00\x00\x00\x02\x01\x02\x03\x04\x05",  # one too many
])
def test_parse_idx_rejects_bad_files(bad):
    with pytest.raises(ValueError):
        data.parse_idx(bad)


def test_verify_accepts_the_right_digest_and_rejects_others():
    payload = b"some bytes"
    assert data.verify(payload, sha(payload), "f") is payload
    with pytest.raises(ChecksumError) as err:
        data.verify(payload + b"!", sha(payload), "/some/where/file.gz")
    msg = str(err.value)
    assert "/some/where/file.gz" in msg and sha(payload) in msg and sha(payload + b"!") in msg
    assert "delete the file" in msg
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("gz", [False, True])
def test_fetch_idx_reads_local_files_and_checks_them(tmp_path, gz):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    payload = idx_bytes(a)
    write(tmp_path / "d" / "stem-idx3-ubyte", payload, gz)
    out = data.fetch_idx("stem-idx3-ubyte", sha(payload), [tmp_path / "empty", tmp_path / "d"], None)
    np.testing.assert_array_equal(out, a)
    with pytest.raises(ChecksumError):
        data.fetch_idx("stem-idx3-ubyte", sha(b"other"), [tmp_path / "d"], None)


def test_fetch_idx_prefers_the_first_folder(tmp_path):
    first, second = idx_bytes(np.zeros(3, np.uint8)), idx_bytes(np.ones(3, np.uint8))
    write(tmp_path / "a" / "s", first, gz=True)
    write(tmp_path / "b" / "s", second, gz=False)
    out = data.fetch_idx("s", sha(first), [tmp_path / "a", tmp_path / "b"], None)
    assert out.tolist() == [0, 0, 0]


def _fake_mnist(folder: Path, gz: bool) -> dict[str, str]:
    """Four tiny IDX files named like Fashion-MNIST's; returns stem -> sha256."""
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (6, 4, 5), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.array([0, 1, 2, 3, 4, 9], np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (3, 4, 5), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.array([5, 6, 7], np.uint8),
    }
    files = {}
    for stem, a in arrays.items():
        payload = idx_bytes(a)
        write(folder / stem, payload, gz)
        files[stem] = sha(payload)
    return files


@pytest.mark.parametrize("gz", [False, True])
def test_load_idx_dataset_from_a_local_folder(tmp_path, gz):
    files = _fake_mnist(tmp_path / "fm", gz)
    ds = data.load_idx_dataset("fake", "test data", [tmp_path / "fm"], None, files, 0.5, 0.25)
    assert ds.name == "fake" and ds.source == "test data"
    assert ds.x_train.shape == (6, 1, 4, 5) and ds.x_test.shape == (3, 1, 4, 5)
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert ds.y_train.tolist() == [0, 1, 2, 3, 4, 9] and ds.y_test.tolist() == [5, 6, 7]
    assert ds.n_classes == 10 and ds.input_shape == (1, 4, 5)
    raw = data.parse_idx(data.read_bytes(data.find_file("train-images-idx3-ubyte", [tmp_path / "fm"])))
    expected = (torch.tensor(raw, dtype=torch.float32) / 255 - 0.5) / 0.25
    torch.testing.assert_close(ds.x_train[:, 0], expected)
    sub = ds.subset(2, 1)
    assert sub.x_train.shape[0] == 2 and sub.x_test.shape[0] == 1 and sub.y_train.tolist() == [0, 1]


def test_missing_files_say_how_to_get_the_data(tmp_path):
    files = _fake_mnist(tmp_path / "fm", gz=True)
    (tmp_path / "fm" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetNotFound) as err:
        data.load_idx_dataset("fake", "t", [tmp_path / "fm"], None, files, 0.5, 0.25)
    msg = str(err.value)
    assert "t10k-labels-idx1-ubyte" in msg and str(tmp_path / "fm") in msg
    assert "dataset-fashion-mnist" in msg and "RELU_TANH_DATA" in msg
    assert isinstance(err.value, FileNotFoundError)


def test_failed_download_becomes_dataset_not_found(tmp_path):
    """conftest makes urlopen raise OSError, as a machine without network would."""
    with pytest.raises(DatasetNotFound) as err:
        data.fetch_idx("s", sha(b""), [tmp_path / "nowhere"], "http://example.invalid/")
    msg = str(err.value)
    assert "download failed" in msg and "RELU_TANH_DATA" in msg
    assert not (tmp_path / "nowhere" / "s.gz").exists()


def test_data_dirs_put_the_environment_first(monkeypatch, tmp_path):
    monkeypatch.setenv("RELU_TANH_DATA", str(tmp_path))
    dirs = data.data_dirs("fashion-mnist", data.FASHION_DIRS)
    assert dirs[0] == tmp_path / "fashion-mnist"
    assert dirs[-1] == Path("/usr/share/datasets/fashion-mnist")
    monkeypatch.delenv("RELU_TANH_DATA")
    assert data.data_dirs("x")[0] == Path.home() / ".cache" / "relu_tanh" / "x"


def test_fashion_mnist_checksums_look_like_sha256():
    assert len(data.FASHION_FILES) == 4
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in data.FASHION_FILES.values())


def test_unknown_dataset_lists_choices():
    with pytest.raises(KeyError) as err:
        data.load("cifar-11")
    assert "mnist1d" in err.value.args[0] and "fashion-mnist" in err.value.args[0]


def test_mnist1d_shapes_classes_and_subset():
    full = data.load("mnist1d")
    assert full.x_train.shape == (4000, 1, 40) and full.x_test.shape == (1000, 1, 40)
    assert full.x_train.dtype == torch.float32 and full.y_train.dtype == torch.int64
    assert full.n_classes == 10 and set(full.y_train.tolist()) == set(range(10))
    assert bool(torch.isfinite(full.x_train).all())
    sub = data.load("mnist1d", 100, 50)
    assert sub.x_train.shape == (100, 1, 40) and sub.x_test.shape == (50, 1, 40)
    assert sub.input_shape == (1, 40)
    torch.testing.assert_close(sub.x_train, full.x_train[:100])
    assert "MNIST-1D" in sub.source
