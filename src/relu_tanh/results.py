"""Results records: JSON with provenance, written atomically, one entry per finished seed.

A record is reused (and an interrupted run resumed) only when its config and the
fingerprint of this package's source both match, so stale results never leak in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import os
import platform
import subprocess
import tempfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Iterator

import torch

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parents[1]  # valid for the editable install the README uses
RESULTS_ENV, CACHE_ENV = "RELU_TANH_RESULTS", "RELU_TANH_CACHE"


def results_dir() -> Path:
    """Where the CLI writes and the book reads stored runs: $RELU_TANH_RESULTS or <repo>/results."""
    return Path(os.environ.get(RESULTS_ENV, REPO_DIR / "results"))


def cache_dir() -> Path:
    """Where the book keeps its live runs between builds: $RELU_TANH_CACHE or ~/.cache/relu_tanh."""
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "relu_tanh" / "runs"))


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """sha256 over the package's Python source: any code change invalidates cached results."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        h.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def git_commit() -> str:
    """HEAD of the checkout holding the package, with '-dirty' when the tree has changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(REPO_DIR), *args], capture_output=True,
                              text=True, timeout=10).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
        return f"{commit}-dirty" if commit and git("status", "--porcelain", "--", "src") else commit or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def device_name(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def provenance(device: str) -> dict[str, Any]:
    from . import __version__

    return {
        "git_commit": git_commit(),
        "code_fingerprint": code_fingerprint(),
        "relu_tanh": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": device,
        "device_name": device_name(device),
        "torch_threads": torch.get_num_threads(),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def record_path(root: Path, experiment: str, scale: str) -> Path:
    return root / experiment / f"{scale}.json"


def load_record(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    with open(path) as f:
        return json.load(f)


@contextmanager
def atomic_file(dest: Path) -> Iterator[IO[bytes]]:
    """A temporary file beside `dest` that replaces it on success and is removed on failure,
    so an interrupted write never leaves a half-written file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.NamedTemporaryFile(dir=dest.parent, prefix=f".{dest.name}.", delete=False)
    try:
        with tmp:
            yield tmp
        os.chmod(tmp.name, 0o644)  # NamedTemporaryFile makes it private; results are shared
        os.replace(tmp.name, dest)
    except BaseException:
        Path(tmp.name).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, record: dict[str, Any]) -> None:
    """Write a record as strict JSON, atomically."""
    with atomic_file(path) as f, io.TextIOWrapper(f, encoding="utf-8") as text:
        json.dump(strict_json(record), text, indent=1, allow_nan=False)
        text.write("\n")


def strict_json(x: Any) -> Any:
    """`x` with every NaN or infinity replaced by None, so the file is valid JSON."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: strict_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [strict_json(v) for v in x]
    return x


def reusable_seeds(record: dict[str, Any] | None, config: dict[str, Any]) -> dict[str, Any]:
    """The finished seeds of `record` if it was made by this config and this code, else none."""
    if record is None or record.get("config") != config:
        return {}
    if record.get("provenance", {}).get("code_fingerprint") != code_fingerprint():
        return {}
    return dict(record.get("seeds", {}))
