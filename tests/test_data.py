"""IDX parsing, checksums, local-only fetching, the MNIST-1D loader and CIFAR-10 from tiny fake
archives. Nothing is downloaded, and neither ~/.cache nor the shared CIFAR-10 copy is read."""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from relu_tanh import data
from relu_tanh.store import results
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
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in data.FASHION_FILES.values())


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


# --- CIFAR-10, from tiny fake archives ---------------------------------------------------------

def write_tar(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


def fake_binary(folder: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """A cifar-10-binary.tar.gz with 3 records per training batch and 4 test records."""
    rng = np.random.default_rng(2)
    members, raw = {"cifar-10-batches-bin/batches.meta.txt": b"airplane\n"}, {}
    for batch, n in [*((f"data_batch_{i}", 3) for i in range(1, 6)), ("test_batch", 4)]:
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        pixels = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        members[f"cifar-10-batches-bin/{batch}.bin"] = np.column_stack([labels, pixels]).tobytes()
        raw[batch] = (labels, pixels)
    train = [raw[f"data_batch_{i}"] for i in range(1, 6)]
    arrays = dict(y_train=np.concatenate([y for y, _ in train]),
                  x_train=np.concatenate([x for _, x in train]),
                  y_test=raw["test_batch"][0], x_test=raw["test_batch"][1])
    return write_tar(folder / data.CIFAR_BINARY, members), arrays


def image_bytes(rgb: tuple[int, int, int], fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), rgb).save(buf, format=fmt)
    return buf.getvalue()


def fake_images(folder: Path) -> Path:
    """A cifar10-jpg.tar.gz: 2 PNG train images and 1 JPEG test image per class, one flat colour
    each whose red channel is 20 * label + index, so every image can be traced to its member."""
    members = {"README.md": b"fake"}
    for label, cls in enumerate(data.CIFAR_CLASSES):
        for i in range(2):
            members[f"train/{cls}/{i:04d}.png"] = image_bytes((20 * label + i, 7, 200), "PNG")
        members[f"test/{cls}/0000.jpg"] = image_bytes((20 * label, 128, 64), "JPEG")
    return write_tar(folder / data.CIFAR_JPEG, members)


def file_hash(path: Path, algorithm: str) -> str:
    return hashlib.new(algorithm, path.read_bytes()).hexdigest()


def standardised(x_nhwc: np.ndarray) -> torch.Tensor:
    mean, std = torch.tensor(data.CIFAR_MEAN), torch.tensor(data.CIFAR_STD)
    x = torch.tensor(x_nhwc, dtype=torch.float32) / 255
    return ((x - mean) / std).permute(0, 3, 1, 2)


def test_cifar10_is_registered_and_searches_the_shared_jpeg_copy():
    assert "cifar10" in data.DATASETS
    assert data.CIFAR_DIRS == (str(results.REPO_DIR.parent / "shared" / "data" / "cifar10-jpeg"),)
    assert len(data.CIFAR_CLASSES) == 10 and data.CIFAR_CLASSES[0] == "airplane"
    assert data.CIFAR_CLASSES[-1] == "truck"


def test_verify_takes_the_hash_algorithm(tmp_path):
    payload = b"cifar"
    md5 = hashlib.md5(payload).hexdigest()
    assert data.verify(payload, md5, "f", "md5") is payload
    with pytest.raises(ChecksumError, match="md5"):
        data.verify(payload, sha(payload), "f", "md5")
    path = tmp_path / "f.bin"
    path.write_bytes(payload)
    assert data.verify_file(path, sha(payload)) == path
    assert data.verify_file(path, md5, "md5") == path
    with pytest.raises(ChecksumError) as err:
        data.verify_file(path, "0" * 32, "md5")
    assert str(path) in str(err.value) and md5 in str(err.value)


def test_atomic_file_leaves_nothing_behind_on_failure(tmp_path):
    with pytest.raises(RuntimeError):
        with data.atomic_file(tmp_path / "out.bin") as f:
            f.write(b"partial")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_parse_cifar_batch_is_channel_major():
    pixels = np.arange(2 * 3072, dtype=np.uint32).astype(np.uint8).reshape(2, 3072)
    x, y = data.parse_cifar_batch(np.column_stack([np.array([3, 9], np.uint8), pixels]).tobytes())
    assert x.shape == (2, 32, 32, 3) and x.dtype == np.uint8 and y.tolist() == [3, 9]
    np.testing.assert_array_equal(x[:, :, :, 1], pixels[:, 1024:2048].reshape(2, 32, 32))
    with pytest.raises(ValueError):
        data.parse_cifar_batch(b"\x00" * 3074)


def test_cifar10_from_the_binary_release_then_from_the_cache(cifar_dir, monkeypatch):
    tarball, raw = fake_binary(cifar_dir)
    monkeypatch.setattr(data, "CIFAR_BINARY_MD5", file_hash(tarball, "md5"))
    ds = data.load("cifar10")
    assert ds.x_train.shape == (15, 3, 32, 32) and ds.x_test.shape == (4, 3, 32, 32)
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert ds.x_train.is_contiguous() and ds.input_shape == (3, 32, 32)
    assert ds.y_train.tolist() == raw["y_train"].tolist()
    assert ds.y_test.tolist() == raw["y_test"].tolist()
    nhwc = lambda p: p.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    torch.testing.assert_close(ds.x_train, standardised(nhwc(raw["x_train"])))
    torch.testing.assert_close(ds.x_test, standardised(nhwc(raw["x_test"])))
    assert "official binary release" in ds.source

    cache = cifar_dir / data.CIFAR_CACHE
    with np.load(cache, allow_pickle=False) as z:
        assert str(z["source"]) == ds.source and z["x_train"].shape == (15, 32, 32, 3)
    tarball.unlink()
    data.cifar10.cache_clear()
    again = data.load("cifar10")
    assert again.source == ds.source
    torch.testing.assert_close(again.x_train, ds.x_train)
    torch.testing.assert_close(again.y_test, ds.y_test)


def test_cifar10_from_the_image_folder_archive(cifar_dir, monkeypatch, tmp_path):
    shared = tmp_path / "shared" / "data" / "cifar10-jpeg"
    archive = fake_images(shared)
    monkeypatch.setattr(data, "CIFAR_DIRS", (str(shared),))
    monkeypatch.setattr(data, "CIFAR_JPEG_SHA256", file_hash(archive, "sha256"))
    ds = data.load("cifar10")
    assert ds.x_train.shape == (20, 3, 32, 32) and ds.x_test.shape == (10, 3, 32, 32)
    assert data.CIFAR_JPEG_SOURCE in ds.source and "lossy" in ds.source
    assert sorted(ds.y_train.tolist()) == sorted(2 * list(range(10)))
    assert ds.y_train.tolist() != sorted(ds.y_train.tolist())  # shuffled, so prefixes mix classes
    assert sorted(ds.y_test.tolist()) == list(range(10))
    std, mean = torch.tensor(data.CIFAR_STD[0]), torch.tensor(data.CIFAR_MEAN[0])
    red = (ds.x_train[:, 0, 0, 0] * std + mean) * 255  # PNG: exact
    torch.testing.assert_close(red.round() // 20, ds.y_train.float())
    red_test = (ds.x_test[:, 0, 0, 0] * std + mean) * 255  # JPEG: close
    assert (red_test - 20 * ds.y_test).abs().max() < 4
    np.testing.assert_array_equal(data.read_cifar_images(archive)["y_train"], ds.y_train.numpy())

    assert (cifar_dir / data.CIFAR_CACHE).exists() and not (shared / data.CIFAR_CACHE).exists()
    archive.unlink()
    data.cifar10.cache_clear()
    again = data.load("cifar10", 5, 3)
    assert again.source == ds.source and again.y_train.tolist() == ds.y_train[:5].tolist()


def test_cifar10_prefers_the_binary_release(cifar_dir, monkeypatch):
    tarball, _ = fake_binary(cifar_dir)
    fake_images(cifar_dir)
    monkeypatch.setattr(data, "CIFAR_BINARY_MD5", file_hash(tarball, "md5"))
    assert "official binary release" in data.load("cifar10").source


@pytest.mark.parametrize("which", ["binary", "jpeg"])
def test_cifar10_checksum_mismatch(cifar_dir, which):
    path = fake_binary(cifar_dir)[0] if which == "binary" else fake_images(cifar_dir)
    with pytest.raises(ChecksumError) as err:
        data.load("cifar10")
    msg = str(err.value)
    assert str(path) in msg and ("md5" if which == "binary" else "sha256") in msg
    assert "delete the file" in msg and not (cifar_dir / data.CIFAR_CACHE).exists()


def test_missing_cifar10_says_how_to_get_it(cifar_dir, tmp_path):
    with pytest.raises(DatasetNotFound) as err:
        data.load("cifar10")
    msg = str(err.value)
    assert str(cifar_dir) in msg and str(tmp_path / "home") in msg
    assert data.CIFAR_URL in msg and "RELU_TANH_DATA" in msg and data.CIFAR_JPEG in msg
    assert "download failed" in msg and not (cifar_dir / data.CIFAR_BINARY).exists()
