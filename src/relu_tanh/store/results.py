"""Results records: JSON with provenance, one entry per finished seed, written durably under a lock.

A record is identified by experiment, scale, config and the experiment's declared `version`
(an integer bumped by hand when its numbers change on purpose): it is reused, and an
interrupted run resumed, exactly when all four match. The source files around it do not
count: a comment, a refactor or an edit in another chapter leaves it valid. Each seed's
provenance still records a hash of the source its experiment imports (`sources.code_fingerprint`),
for information.

Nothing stored is discarded: a record of another config or version is moved aside to
`SCALE.v<version>-<config hash>.json` (and picked up again when that version and config come
back; a record from before versions were declared counts as version 0); a `paper` record is
only moved aside when asked (`force`), or when the record of this config and version is the one
set aside (a swap loses nothing). A file that cannot be read, or is not of the record's shape
(`schema.RECORD`, checked on every read and write), is moved to `SCALE.json.corrupt-<date>`.
Every write re-reads the record under a lock file beside it and merges, so several processes
can fill one record (finished seeds are skipped); a temporary file left by a killed write is
removed by the next write.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import io
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

import torch

from . import schema
from .sources import PACKAGE_DIR, code_fingerprint

REPO_DIR = PACKAGE_DIR.parents[1]  # valid for the editable install the README uses
RESULTS_ENV, CACHE_ENV = "RELU_TANH_RESULTS", "RELU_TANH_CACHE"


class RecordError(ValueError):
    """A results record or folder that cannot be used; the message says what to do."""


class UnusableRecord(RecordError):
    """A record file that cannot be read, or is JSON of another shape; `why` says which."""

    def __init__(self, path: Path, why: str):
        super().__init__(_unreadable(path, why))
        self.why = why


class StoredRunConflict(RecordError):
    """A stored paper-scale record was made by another config or version."""


def notice(message: str) -> None:
    """Tell the user something happened to their files (stderr, one line)."""
    print(f"note: {message}", file=sys.stderr, flush=True)


def results_dir() -> Path:
    """Where the CLI writes and the book reads stored runs: $RELU_TANH_RESULTS or <repo>/results."""
    return Path(os.environ.get(RESULTS_ENV, REPO_DIR / "results"))


def cache_dir() -> Path:
    """Where the book keeps its live runs between builds: $RELU_TANH_CACHE or ~/.cache/relu_tanh."""
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "relu_tanh" / "runs"))


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


# --- devices ---------------------------------------------------------------------------------


def available_devices() -> list[str]:
    """The devices this machine can run on, as `--device` spells them."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def check_device(device: str) -> str:
    """`device`, once it names a device this machine has; else a one-line ValueError."""
    valid = ", ".join(available_devices())
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}; available: {valid}") from None
    usable = dev.type == "cpu" and dev.index in (None, 0)
    if dev.type == "cuda":
        usable = torch.cuda.is_available() and (dev.index or 0) < torch.cuda.device_count()
    elif dev.type == "mps":
        usable = torch.backends.mps.is_available()
    if not usable:
        raise ValueError(f"device {device!r} is not available on this machine; available: {valid}")
    return device


def cuda_allocations(device: str) -> int:
    """How many CUDA allocations `device` has served so far (0 for non-CUDA devices)."""
    if torch.device(device).type != "cuda":
        return 0
    return int(torch.cuda.memory_stats(torch.device(device)).get("allocation.all.allocated", 0))


def device_name(device: str) -> str:
    dev = torch.device(device)
    if dev.type == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_name(dev)
    if dev.type == "mps":
        return f"Apple MPS ({platform.machine()})"
    return f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def accelerator(device: str) -> dict[str, Any]:
    """For a CUDA device: driver, CUDA and cuDNN versions, and whether float32 matrix products
    may use TF32 (which changes their precision); nothing for a CPU."""
    if torch.device(device).type != "cuda" or not torch.cuda.is_available():
        return {}
    try:
        driver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                capture_output=True, text=True, timeout=10).stdout.split()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        driver = "unknown"
    return {"cuda_driver": driver, "cuda_runtime": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(),
            "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
            "tf32_cudnn": torch.backends.cudnn.allow_tf32}


def provenance(device: str, module: str = PACKAGE_DIR.name) -> dict[str, Any]:
    """Where and with what a seed was run; `module` chooses what the code fingerprint covers."""
    from .. import __version__

    return {
        "git_commit": git_commit(),
        "code_fingerprint": code_fingerprint(module),
        "relu_tanh": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": device,
        "device_name": device_name(device),
        "torch_threads": torch.get_num_threads(),
        **accelerator(device),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


# --- files -----------------------------------------------------------------------------------


def record_path(root: Path, experiment: str, scale: str) -> Path:
    return root / experiment / f"{scale}.json"


def load_record(path: Path) -> dict[str, Any] | None:
    """The record at `path`, or None if there is none; RecordError if it cannot be read or is
    not of the record's shape (`schema.RECORD`)."""
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UnusableRecord(path, str(err)) from None
    why = schema.problem(record)
    if why is not None:
        raise UnusableRecord(path, f"it is JSON but not a results record: {why}")
    return record


def _unreadable(path: Path, why: str) -> str:
    restore = f" or restore it (git checkout -- {path})" if _tracked(path) else ""
    return (f"{path} cannot be used ({why}). Move it aside (mv {path} {path}.bad){restore}, "
            f"then run again")


def _tracked(path: Path) -> bool:
    """Whether git tracks `path` (so that `git checkout` can restore it)."""
    try:
        return subprocess.run(["git", "-C", str(path.parent), "ls-files", "--error-unmatch",
                               path.name], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def check_writable(folder: Path, env: str) -> Path:
    """`folder`, created if needed, once a file can be written there; else a RecordError."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise RecordError(f"results folder {folder} is not writable ({err.strerror or err}); "
                          f"fix its permissions or set {env} to a writable folder") from None
    return folder


def check_record_writable(path: Path, env: str) -> Path:
    """`path`, once everything a write of it needs works where it will happen: its folder
    (created if needed), a temporary file there as `atomic_file` makes it, and the lock file;
    else a one-line RecordError, before any work."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.{TMP}"):
            pass
        open(lock_path(path), "a").close()
    except OSError as err:
        raise RecordError(f"{err.filename or path.parent} is not writable ({err.strerror or err}); "
                          f"fix its permissions or set {env} to a writable folder") from None
    return path


def lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock for the record at `path` (flock on `.NAME.lock` beside it), so that
    concurrent runs read, merge and write it one at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path(path), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def atomic_file(dest: Path) -> Iterator[IO[bytes]]:
    """A temporary file beside `dest` that replaces it on success and is removed on failure,
    so an interrupted write never leaves a half-written file. The data reach the disk before
    the rename and the rename before returning (fsync of the file, then of the folder)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.NamedTemporaryFile(dir=dest.parent, prefix=f".{dest.name}.{TMP}", delete=False)
    try:
        with tmp:
            yield tmp
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp.name, 0o644)  # NamedTemporaryFile makes it private; results are shared
        os.replace(tmp.name, dest)
    except BaseException:
        Path(tmp.name).unlink(missing_ok=True)
        raise
    fd = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


TMP = "tmp-"  # temporary files are .NAME.tmp-XXXXXXXX beside NAME


def remove_stale_temps(dest: Path) -> list[Path]:
    """Delete the temporary files of `dest` that killed writes left (call it holding `dest`'s
    lock, so that no live write's file is among them). Returns what it removed."""
    stale = sorted(dest.parent.glob(f".{dest.name}.{TMP}*"))
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return stale


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Write a results record, once it has the record's shape (`schema.RECORD`), atomically;
    temporary files of killed earlier writes go first (call it holding the record's lock)."""
    record = strict_json(record)
    why = schema.problem(record)
    if why is not None:
        raise RecordError(f"refusing to write {path}: not a results record ({why})")
    remove_stale_temps(path)
    write_atomic(path, record)


def write_atomic(path: Path, record: dict[str, Any]) -> None:
    """Write a record as strict JSON, atomically and durably."""
    with atomic_file(path) as f:
        text = io.TextIOWrapper(f, encoding="utf-8")
        try:
            json.dump(strict_json(record), text, indent=1, allow_nan=False)
            text.write("\n")
            text.flush()
        finally:
            text.detach()  # leaves `f` open for atomic_file's fsync


def strict_json(x: Any) -> Any:
    """`x` with every NaN or infinity replaced by None, so the file is valid JSON."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: strict_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [strict_json(v) for v in x]
    return x


# --- reuse, merge, set aside -----------------------------------------------------------------


def header(experiment: str, scale: str, config: dict[str, Any], version: int) -> dict[str, Any]:
    """What identifies a record: experiment, scale, config (as JSON) and declared version."""
    return {"experiment": experiment, "scale": scale, "config": config, "version": version}


def version_of(record: dict[str, Any]) -> int:
    """The version a record was made by; 0 for one written before versions were declared."""
    return int(record.get("version", 0))


def aside_path(path: Path, config: Any, version: int) -> Path:
    """Where a record of another config or version is kept: SCALE.v<version>-<config hash>.json."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:8]
    return path.with_name(f"{path.stem}.v{version}-{digest}.json")


def _aside_of(path: Path, record: dict[str, Any]) -> Path:
    return aside_path(path, record.get("config"), version_of(record))


def _mismatch(record: dict[str, Any], head: dict[str, Any]) -> str:
    old, new = record.get("config") or {}, head["config"]
    if old != new:
        changed = [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in sorted({*old, *new})
                   if old.get(k) != new.get(k)]
        return f"another config ({'; '.join(changed[:3])}{'; ...' if len(changed) > 3 else ''})"
    return f"another version (version {version_of(record)}, now {head['version']})"


def _merge_into(dest: Path, record: dict[str, Any]) -> None:
    """Write `record` to `dest`, keeping the seeds a record already there holds."""
    try:
        old = load_record(dest) or {}
    except UnusableRecord as err:  # kept whole beside it, never overwritten
        _set_aside_corrupt(dest, err.why)
        old = {}
    seeds = {**record["seeds"], **old.get("seeds", {})}
    prov = {**record.get("seed_provenance", {}), **old.get("seed_provenance", {})}
    write_record(dest, {**record, "seeds": seeds, "seed_provenance": prov})


def _set_aside_corrupt(path: Path, why: str) -> None:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    bad = path.with_name(f"{path.name}.corrupt-{stamp}")
    os.replace(path, bad)
    notice(f"{path} cannot be used ({why}); moved it to {bad} and starting afresh")


def stored_seeds(path: Path, head: dict[str, Any], force: bool = False) -> dict[str, Any]:
    """`current_seeds`, under the record's lock."""
    with locked(path):
        return current_seeds(path, head, force)


def current_seeds(path: Path, head: dict[str, Any], force: bool = False) -> dict[str, Any]:
    """The record at `path` if it matches `head`, with its seeds and per-seed provenance (call
    it holding the record's lock, as `stored_seeds` does). A corrupt file, or a record of
    another config or version, is moved aside (a paper-scale one only with `force`), and a
    set-aside record matching `head` comes back.

    Returns {"seeds": {...}, "seed_provenance": {...}} as stored (seed keys are strings)."""
    try:
        record = load_record(path)
    except UnusableRecord as err:
        _set_aside_corrupt(path, err.why)
        record = None
    back = aside_path(path, head["config"], head["version"])
    if record is not None and not matches(record, head):
        aside = _aside_of(path, record)
        if head["scale"] == "paper" and not force and _load_quietly(back) is None:
            raise StoredRunConflict(
                f"{path} holds {len(record['seeds'])} seed(s) of a paper-scale run made with "
                f"{_mismatch(record, head)}; it is kept. Pass --force (force=True) to move it to "
                f"{aside} and start afresh, or rerun with the version and config that made it")
        _merge_into(aside, record)
        os.unlink(path)
        notice(f"{path} was made with {_mismatch(record, head)}; moved it to {aside}")
        record = None
    if record is None:
        record = _load_quietly(back)
        if record is not None:
            os.replace(back, path)
            notice(f"reusing {len(record['seeds'])} seed(s) of this config and version from {back}")
    return _with_seed_provenance(record)


def _load_quietly(path: Path) -> dict[str, Any] | None:
    try:
        return load_record(path)
    except RecordError:
        return None


def matches(record: dict[str, Any], head: dict[str, Any]) -> bool:
    """Whether `record` is of `head`'s experiment, scale, config and version (its seeds reusable)."""
    return all(record.get(k) == head[k] for k in ("experiment", "scale", "config")) \
        and version_of(record) == head["version"]


def _with_seed_provenance(record: dict[str, Any] | None) -> dict[str, Any]:
    """Seeds and their provenance; records written before per-seed provenance share one."""
    if record is None:
        return {"seeds": {}, "seed_provenance": {}}
    shared = record.get("provenance", {})
    prov = record.get("seed_provenance", {})
    return {"seeds": dict(record["seeds"]),
            "seed_provenance": {s: prov.get(s, shared) for s in record["seeds"]}}


def add_seed(path: Path, head: dict[str, Any], seed: int, output: dict[str, Any],
             prov: dict[str, Any]) -> dict[str, Any]:
    """Under the record's lock: re-read the record, add one seed's output and provenance, write
    it back. Seeds other processes wrote meanwhile are kept. Returns the merged seeds as
    `current_seeds` does. (Any unit of work that ends in finished seeds can merge this way.)"""
    with locked(path):
        merged = current_seeds(path, head, force=True)
        merged["seeds"][str(seed)] = strict_json(output)
        merged["seed_provenance"][str(seed)] = prov
        write_record(path, {**head, "provenance": prov, **merged})
    return merged
