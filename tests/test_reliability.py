"""Faults and bad input (issue 10): nothing stored is lost, every mistake gets a one-line message.

Each test reproduces one case with a tiny fake experiment or a smoke config in temp folders;
the whole battery runs in seconds (the notebook test, marked slow, in about half a minute).
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from conftest import Tiny
from relu_tanh import claims, data, experiments
from relu_tanh.experiments import configs
from relu_tanh.store import scales as scale
from relu_tanh.store import results, sources
from relu_tanh.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")
ROOT = Path(__file__).resolve().parents[1]


def stored(root: Path, name: str, s: str) -> dict:
    return json.loads((root / name / f"{s}.json").read_text())


# --- stored results are never lost silently ------------------------------------------------------


def test_changed_config_moves_the_old_record_aside(tmp_path, tiny, capsys):
    t = tiny(seeds=2)
    experiments.run(t.name, "book", root=tmp_path)
    old = stored(tmp_path, t.name, "book")
    experiments.run(t.name, "book", root=tmp_path, value=5)
    err = capsys.readouterr().err
    aside = [p for p in (tmp_path / t.name).iterdir() if p.name.startswith("book.") and p.name != "book.json"]
    assert len(aside) == 1 and aside[0].name.startswith("book.v1-")  # says the version
    assert json.loads(aside[0].read_text())["seeds"] == old["seeds"]  # nothing lost
    assert "moved" in err and str(aside[0]) in err
    assert stored(tmp_path, t.name, "book")["config"]["value"] == 5
    # going back to the old config picks the set-aside seeds up again instead of rerunning
    experiments.run(t.name, "book", root=tmp_path)
    assert t.calls == [0, 1, 0, 1]
    assert stored(tmp_path, t.name, "book")["seeds"] == old["seeds"]


def test_a_version_bump_moves_the_record_aside_and_back(tmp_path, tiny, set_version, capsys):
    t = tiny(seeds=2)
    experiments.run(t.name, "smoke", root=tmp_path)
    old = stored(tmp_path, t.name, "smoke")
    set_version(t.name, 2)
    experiments.run(t.name, "smoke", root=tmp_path)
    assert t.calls == [0, 1, 0, 1] and "another version (version 1, now 2)" in capsys.readouterr().err
    kept = list((tmp_path / t.name).glob("smoke.*.json"))
    assert [p.name[:9] for p in kept] == ["smoke.v1-"] and json.loads(kept[0].read_text())["seeds"] == old["seeds"]
    set_version(t.name, 1)  # the old version comes back: its seeds are reused, not rerun
    experiments.run(t.name, "smoke", root=tmp_path)
    assert t.calls == [0, 1, 0, 1] and stored(tmp_path, t.name, "smoke") == old
    assert [p.name[:9] for p in (tmp_path / t.name).glob("smoke.*.json")] == ["smoke.v2-"]


def test_a_record_from_before_versions_counts_as_version_0(tmp_path, tiny):
    t = tiny(seeds=1)
    experiments.run(t.name, "smoke", root=tmp_path)
    path = tmp_path / t.name / "smoke.json"
    legacy = {k: v for k, v in stored(tmp_path, t.name, "smoke").items() if k != "version"}
    results.write_atomic(path, legacy)
    experiments.run(t.name, "smoke", root=tmp_path)
    assert t.calls == [0, 0] and [p.name[:9] for p in path.parent.glob("smoke.*.json")] == ["smoke.v0-"]


def test_a_comment_in_any_module_leaves_every_stored_record_valid(tmp_path, monkeypatch):
    """Every module of the package edited (a comment appended, in a copy the package is read
    from): the code fingerprint changes, a stored run is still reused as it is."""
    experiments.run("derivatives", "smoke", root=tmp_path)
    path = tmp_path / "derivatives" / "smoke.json"
    before, fingerprint = path.read_bytes(), sources.code_fingerprint("relu_tanh.experiments.derivatives")
    copy = tmp_path / "relu_tanh"
    shutil.copytree(sources.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "assets"))
    for module in copy.rglob("*.py"):
        module.write_text(module.read_text() + "\n# a comment\n")
    monkeypatch.setattr(sources, "PACKAGE_DIR", copy)
    sources.code_fingerprint.cache_clear()
    try:
        assert sources.code_fingerprint("relu_tanh.experiments.derivatives") != fingerprint
        monkeypatch.setattr(experiments, "run_unit", lambda *a, **k: pytest.fail("a stored seed was rerun"))
        res = experiments.run("derivatives", "smoke", root=tmp_path)
    finally:
        sources.code_fingerprint.cache_clear()
    assert path.read_bytes() == before and sorted(res.seeds) == [0]
    assert [p.name for p in path.parent.iterdir() if p.suffix == ".json"] == ["smoke.json"]


def test_a_paper_record_is_kept_unless_forced(tmp_path, tiny, monkeypatch):
    t = tiny(seeds=1)
    experiments.run(t.name, "paper", root=tmp_path)
    before = (tmp_path / t.name / "paper.json").read_text()
    with pytest.raises(results.StoredRunConflict) as err:
        experiments.run(t.name, "paper", root=tmp_path, value=7)
    msg = str(err.value)
    assert str(tmp_path / t.name / "paper.json") in msg and "--force" in msg
    assert (tmp_path / t.name / "paper.json").read_text() == before and t.calls == [0]
    experiments.run(t.name, "paper", root=tmp_path, value=7, force=True)
    assert [json.loads(p.read_text())["config"]["value"]
            for p in (tmp_path / t.name).glob("paper.*.json")] == [1]


def test_cli_run_refuses_to_replace_a_paper_record_without_force(isolated_dirs, tiny, capsys, set_version):
    t = tiny(seeds=1)
    assert main(["run", t.name, "--scale", "paper"]) == 0
    set_version(t.name, 2)
    assert main(["run", t.name, "--scale", "paper"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--force" in err and "Traceback" not in err
    assert main(["run", t.name, "--scale", "paper", "--force"]) == 0
    assert len(list((isolated_dirs["results"] / t.name).glob("paper.*.json"))) == 1


def test_the_provenance_fingerprint_covers_what_the_experiment_imports():
    files = {p.name for p in sources.source_files("relu_tanh.experiments.derivatives")}
    assert {"derivatives.py", "activations.py", "__init__.py"} <= files
    assert not files & {"book.py", "cli.py", "vanishing.py", "bench.py"}
    assert not any(p.parent.name == "figures" for p in sources.source_files("relu_tanh.experiments.krizhevsky"))
    cnn = {p.name for p in sources.source_files("relu_tanh.experiments.krizhevsky")}
    assert {"loop.py", "models.py", "data.py"} <= cnn
    assert sources.code_fingerprint("relu_tanh.experiments.derivatives") != \
        sources.code_fingerprint("relu_tanh.experiments.krizhevsky")
    claim = {p.relative_to(sources.PACKAGE_DIR).as_posix()
             for p in sources.source_files("relu_tanh.claims.vanishing", skip=("relu_tanh.experiments",))}
    assert {"claims/vanishing.py", "claims/core.py"} <= claim  # it imports experiments.vanishing:
    assert not any(p.startswith("experiments/") or p.startswith("nets/") for p in claim)  # not followed


def _worker(root: str, name: str, seeds: int, delay: float, go: str, out: str) -> None:
    """One of two processes filling the same record: runs seeds 0..seeds-1, `delay` s each."""
    calls = []
    exp = experiments.get(name)

    def run_seed(cfg, *, seed, device, progress):
        calls.append(seed)
        time.sleep(delay)
        return {"value": seed}

    object.__setattr__(exp, "run_seed", run_seed)
    while not Path(go).exists():
        time.sleep(0.01)
    experiments.run(name, "smoke", root=Path(root), seeds=seeds)
    Path(out).write_text(json.dumps(calls))


def test_concurrent_writers_lose_no_seed(tmp_path, tiny):
    """A slow process (2 seeds) and a fast one (4 seeds) share a record: the slow one's write
    must not drop the fast one's seeds, and neither computes a seed the other has finished or
    claimed (issue 21: each seed once)."""
    t = tiny(seeds=4)
    ctx = multiprocessing.get_context("fork")
    go, outs = tmp_path / "go", [tmp_path / "slow.json", tmp_path / "fast.json"]
    procs = [ctx.Process(target=_worker, args=(str(tmp_path), t.name, n, delay, str(go), str(o)))
             for n, delay, o in [(2, 1.5, outs[0]), (4, 0.0, outs[1])]]
    for p in procs:
        p.start()
    go.touch()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert sorted(stored(tmp_path, t.name, "smoke")["seeds"]) == ["0", "1", "2", "3"]
    slow, fast = (json.loads(o.read_text()) for o in outs)
    assert sorted(slow + fast) == [0, 1, 2, 3]  # each seed once, by whichever claimed it


def test_seeds_finished_by_another_process_are_skipped(tmp_path, tiny):
    t = tiny(seeds=3)
    path = tmp_path / t.name / "smoke.json"
    exp = experiments.get(t.name)
    head = experiments.record_header(t.name, "smoke", experiments.config_for(t.name, "smoke"))

    def meanwhile(cfg, *, seed, device, progress):
        if seed == 0:  # another process finishes seed 1 while this one runs seed 0
            results.add_seed(path, head, 1, {"value": 999}, results.provenance("cpu"))
        return Tiny.run_seed(t, cfg, seed=seed, device=device, progress=progress)

    object.__setattr__(exp, "run_seed", meanwhile)
    res = experiments.run(t.name, "smoke", root=tmp_path)
    assert t.calls == [0, 2] and res.seeds[1]["value"] == 999
    assert sorted(stored(tmp_path, t.name, "smoke")["seeds"]) == ["0", "1", "2"]


def test_record_writes_are_fsynced(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(results.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    results.write_atomic(tmp_path / "r.json", {"a": 1})
    assert len(synced) >= 2  # the file before the rename, the directory after


@pytest.mark.parametrize("text", ['{"seeds": {"0": {"v"', "", "[1, 2]", "\x00\x01garbage"])
def test_a_corrupt_record_is_moved_aside_by_run(tmp_path, tiny, capsys, text):
    t = tiny(seeds=1)
    path = tmp_path / t.name / "smoke.json"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    res = experiments.run(t.name, "smoke", root=tmp_path)
    err = capsys.readouterr().err
    bad = list(path.parent.glob("smoke.json.corrupt-*"))
    assert len(bad) == 1 and bad[0].read_text() == text  # kept, not deleted
    assert str(path) in err and str(bad[0]) in err
    assert sorted(res.seeds) == [0]


def test_show_names_a_corrupt_file_and_says_what_to_do(isolated_dirs, tiny, capsys):
    t = tiny(seeds=1)
    path = isolated_dirs["results"] / t.name / "paper.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"experiment": ')
    assert main(["show", t.name, "--scale", "paper"]) == 1
    err = capsys.readouterr().err
    assert str(path) in err and "move it aside" in err.lower() and "Traceback" not in err
    with pytest.raises(results.RecordError, match="(?i)move it aside"):
        experiments.load_stored(t.name, "paper")


def test_a_corrupt_cache_file_does_not_block_the_book(isolated_dirs, capsys):
    path = isolated_dirs["cache"] / "derivatives" / "smoke.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"truncated": ')
    v = claims.verdict("derivative-ranges", "smoke")  # the book's path: run() into the cache
    assert v.status in claims.STATUSES and str(path) in capsys.readouterr().err


def test_a_resumed_run_keeps_each_seeds_provenance(tmp_path, tiny, monkeypatch):
    t = tiny(seeds=2)
    experiments.run(t.name, "smoke", root=tmp_path, seeds=1)
    first = stored(tmp_path, t.name, "smoke")["provenance"]
    real = results.provenance
    monkeypatch.setattr(results, "provenance",
                        lambda device, *a: {**real(device, *a), "device_name": "Another machine",
                                        "torch": "9.9", "date": "2099-01-01T00:00:00+00:00"})
    res = experiments.run(t.name, "smoke", root=tmp_path, seeds=2)
    rec = stored(tmp_path, t.name, "smoke")
    assert rec["seed_provenance"]["0"]["device_name"] == first["device_name"]
    assert rec["seed_provenance"]["0"]["date"] == first["date"]
    assert rec["seed_provenance"]["1"]["device_name"] == "Another machine"
    assert res.seed_provenance[1]["torch"] == "9.9" and res.seed_provenance[0]["torch"] == first["torch"]


# --- input is checked before anything is computed ------------------------------------------------


@pytest.mark.parametrize("argv", [["run", "derivatives", "--scale", "smoke", "--device", "gpu"],
                                  ["run", "derivatives", "--scale", "smoke", "--device", "cuda:7"],
                                  ["bench", "--scale", "smoke", "--device", "tpu"]])
def test_bad_device_is_a_one_line_error_before_any_work(argv, isolated_dirs, capsys, monkeypatch):
    monkeypatch.setattr(experiments, "run", lambda *a, **k: pytest.fail("ran"))
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "available: cpu" in err


def test_cuda_where_there_is_none_names_the_available_devices(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="available: cpu"):
        results.check_device("cuda")
    assert results.check_device("cpu") == "cpu"


def test_no_device_is_recorded_that_the_experiment_did_not_use(tmp_path, tiny, monkeypatch):
    """An experiment asked for CUDA that allocated nothing there ran on the CPU: say so."""
    t = tiny(seeds=1)
    monkeypatch.setattr(results, "check_device", lambda d: d)
    monkeypatch.setattr(results, "cuda_allocations", lambda device: 0)
    res = experiments.run(t.name, "smoke", root=tmp_path, device="cuda")
    assert res.seed_provenance[0]["device"] == "cpu"
    assert res.seed_provenance[0]["device_name"].startswith("CPU")


@pytest.mark.parametrize("argv", [["run", "derivatives"], ["verdicts"], ["bench"], ["show", "derivatives"]])
def test_bad_scale_in_the_environment_is_a_one_line_error(argv, monkeypatch, capsys):
    monkeypatch.setenv(scale.ENV_VAR, "huge")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert "huge" in err and all(s in err for s in scale.SCALES)


@pytest.mark.parametrize("change,words", [
    ({"activations": ("tanh", "swish")}, ["swish", "relu", "sigmoid"]),
    ({"batch_size": 0}, ["batch_size", "positive"]),
    ({"n_samples": -3}, ["n_samples", "positive"]),
    ({"lrs": ()}, ["lrs", "empty"]),
    ({"lrs": (0.1, -1.0)}, ["lrs", "positive"]),
])
def test_overrides_are_validated_before_anything_trains(tmp_path, tiny, change, words):
    t = tiny(seeds=1)
    with pytest.raises(ValueError) as err:
        experiments.run(t.name, "smoke", root=tmp_path, **change)
    assert all(w in str(err.value) for w in words) and t.calls == []


def test_every_registered_config_passes_validation():
    for name in experiments.names():
        for s, cfg in experiments.get(name).configs.items():
            configs.validate(cfg)


def test_a_config_can_add_its_own_validate():
    @dataclass(frozen=True)
    class Odd:
        points: int = 3

        def validate(self) -> None:
            if self.points % 2 == 0:
                raise ValueError("points must be odd")

    with pytest.raises(ValueError, match="odd"):
        configs.override(Odd(), points=4)


def test_an_unwritable_results_dir_is_detected_before_the_first_seed(tmp_path, tiny, capsys, monkeypatch):
    t = tiny(seeds=1)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(results.RecordError, match="not writable"):
        experiments.run(t.name, "smoke", root=blocker / "results")
    assert t.calls == []
    monkeypatch.setenv(results.RESULTS_ENV, str(blocker / "results"))
    assert main(["run", t.name, "--scale", "smoke"]) == 2
    err = capsys.readouterr().err
    assert "not writable" in err and "RELU_TANH_RESULTS" in err and t.calls == []


def test_show_uses_the_same_default_scale_as_run(isolated_dirs, tiny, monkeypatch, capsys):
    t = tiny(seeds=1)
    monkeypatch.delenv(scale.ENV_VAR, raising=False)
    assert main(["run", t.name]) == 0
    capsys.readouterr()
    assert main(["show", t.name]) == 0
    assert json.loads(capsys.readouterr().out)["path"].endswith("book.json")


def test_smoke_verdicts_are_inconclusive_and_keep_the_measurement(isolated_dirs):
    v = claims.verdict("derivative-ranges", "smoke")
    assert v.status == "inconclusive"
    assert v.reason.startswith("smoke scale is too small to judge") and "measured" in v.reason
    assert v.numbers  # the measured numbers are kept for the page


def test_smoke_verdicts_in_the_cli_say_so(isolated_dirs, capsys, monkeypatch):
    monkeypatch.setattr(claims.core, "CLAIMS", {"derivative-ranges": claims.CLAIMS["derivative-ranges"]})
    assert main(["verdicts", "--scale", "smoke"]) == 0
    out = capsys.readouterr().out
    assert "INCONCLUSIVE" in out and "smoke scale is too small to judge" in out


# --- data files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [b"<html><body>404 Not Found</body></html>", b"\x1f\x8b\x08garbage",
                                     None])
def test_a_bad_gz_names_the_file_and_says_how_to_fix_it(tmp_path, payload):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    if payload is None:  # truncated: a real gzip cut in half
        full = gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x10" + bytes(range(16)) * 50)
        payload = full[: len(full) // 2]
    path.write_bytes(payload)
    with pytest.raises(data.CorruptDataFile) as err:
        data.fetch_idx("train-labels-idx1-ubyte", "0" * 64, [tmp_path], None)
    msg = str(err.value)
    assert str(path) in msg and "delete" in msg
    assert ("HTML page" in msg) == payload.startswith(b"<html")


def test_an_idx_file_of_the_wrong_shape_names_the_file(tmp_path):
    """Even a file that matches its checksum (here: its own) must agree with its header."""
    import hashlib

    bad = b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02"  # says 5 labels, holds 2
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(bad))
    with pytest.raises(data.CorruptDataFile) as err:
        data.fetch_idx("t10k-labels-idx1-ubyte", hashlib.sha256(bad).hexdigest(), [tmp_path], None)
    assert str(path) in str(err.value) and "(5,)" in str(err.value) and "delete" in str(err.value)


def test_a_download_is_verified_before_it_is_decompressed(tmp_path, monkeypatch):
    html = b"<html>captive portal</html>"

    class Response:
        def __enter__(self):
            import io
            return io.BytesIO(html)

        def __exit__(self, *a):
            return False

    monkeypatch.setattr(data.urllib.request, "urlopen", lambda url, timeout: Response())
    with pytest.raises(data.ChecksumError) as err:
        data.download("http://x/f.gz", tmp_path / "f.gz", md5="0" * 32)
    assert "f.gz" in str(err.value)
    assert not (tmp_path / "f.gz").exists()  # a bad download never lands
    assert set(data.DOWNLOAD_MD5) == {f"{stem}.gz" for stem in data.FASHION_FILES}


def fake_cache(folder: Path, n: int = 4, labels=None, digest: str | None = None, drop=None,
               arrays_digest: bool = True) -> Path:
    rng = np.random.default_rng(0)
    arrays = dict(x_train=rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
                  y_train=np.array(labels if labels is not None else [0, 1, 2, 3][:n], np.uint8),
                  x_test=rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8),
                  y_test=np.array([4, 9], np.uint8))
    for k in drop or ():
        arrays.pop(k)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / data.CIFAR_CACHE
    extra = {} if digest is None else {"archive_digest": np.array(digest)}
    if arrays_digest and not drop:
        extra["arrays_digest"] = np.array(data.arrays_digest(arrays))
    np.savez(path, source=np.array("test"), **extra, **arrays)
    return path


def test_a_valid_cifar_cache_is_used(cifar_dir):
    fake_cache(cifar_dir, digest=data.CIFAR_BINARY_MD5)
    ds = data.load("cifar10")
    assert ds.x_train.shape == (4, 3, 32, 32) and ds.y_test.tolist() == [4, 9]


@pytest.mark.parametrize("case", ["no digest", "other digest", "labels", "shapes", "missing key",
                                  "truncated"])
def test_a_bad_cifar_cache_names_the_file(cifar_dir, case):
    kw = {"no digest": {}, "other digest": {"digest": "f" * 32},
          "labels": {"digest": data.CIFAR_BINARY_MD5, "labels": [0, 1, 2, 10]},
          "shapes": {"digest": data.CIFAR_BINARY_MD5, "labels": [0, 1, 2]},
          "missing key": {"digest": data.CIFAR_BINARY_MD5, "drop": ["y_test"]},
          "truncated": {"digest": data.CIFAR_BINARY_MD5}}[case]
    path = fake_cache(cifar_dir, **kw)
    if case == "truncated":
        path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(data.CorruptDataFile) as err:
        data.load("cifar10")
    msg = str(err.value)
    assert str(path) in msg and "delete" in msg


def test_the_cifar_cache_is_not_read_from_outside_the_documented_places(cifar_dir, tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    fake_cache(shared, digest=data.CIFAR_BINARY_MD5)
    monkeypatch.setattr(data, "CIFAR_DIRS", (str(shared),))
    with pytest.raises(data.DatasetNotFound):
        data.load("cifar10")


# --- notebooks anywhere, and determinism ---------------------------------------------------------


def test_nbconvert_is_pinned():
    reqs = (ROOT / "requirements.txt").read_text()
    assert any(line.startswith("nbconvert==") for line in reqs.splitlines())


@pytest.mark.slow
def test_a_page_executes_from_another_working_directory(tmp_path):
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env.update(RELU_TANH_SCALE="smoke", RELU_TANH_CACHE=str(tmp_path / "cache"))
    nb = tmp_path / "derivatives.ipynb"
    subprocess.run([str(bin_dir / "jupytext"), "--to", "ipynb", "-o", str(nb),
                    str(ROOT / "book" / "derivatives.md")], check=True, cwd=tmp_path, env=env,
                   capture_output=True)
    proc = subprocess.run([str(bin_dir / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
                           "--output", "done.ipynb", str(nb)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "done.ipynb").exists()


TIMINGS = {"wall_s", "seconds"}  # clock readings, not results


def without_timings(x):
    if isinstance(x, dict):
        return {k: without_timings(v) for k, v in x.items() if k not in TIMINGS}
    if isinstance(x, list):
        return [without_timings(v) for v in x]
    return x


def test_the_same_seed_gives_the_same_record(tmp_path):
    """A small CNN trained twice from seed 0: every number in the record is identical (the
    provenance and clock readings aside)."""
    tiny_cnn = dict(activations=("tanh",), variants=("modern",), lr_base=(0.03,),
                    lr_factors=(1.0,), n_train=128, n_test=64, epochs=1)
    records = []
    for i in range(2):
        experiments.run("krizhevsky", "smoke", seeds=1, root=tmp_path / str(i), **tiny_cnn)
        rec = stored(tmp_path / str(i), "krizhevsky", "smoke")
        del rec["provenance"], rec["seed_provenance"]
        records.append(json.dumps(without_timings(rec), sort_keys=True))
    assert records[0] == records[1]
    assert '"train_error"' in records[0]
