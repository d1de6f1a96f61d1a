"""Issue 21: the results store and the CLI under long background runs. One test per defect of
the issue's battery (each failed before the fix), in the issue's order, plus the guarantees
they protect: no computed seed lost, no seed computed twice, no traceback for bad input."""

from __future__ import annotations

import builtins
import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import TinyConfig
from relu_tanh import data, experiments, paper
from relu_tanh.cli import main
from relu_tanh.experiments import costs
from relu_tanh.store import inflight, results, schema

pytestmark = pytest.mark.usefixtures("one_torch_thread")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def deny_writes(monkeypatch):
    """`deny_writes(path)`: opening anything at or under `path` for writing fails with EACCES,
    as for a user without write permission (the mode is changed too; root ignores modes, so the
    open calls that the store makes are refused as well)."""
    denied: list[Path] = []
    real_open, real_os_open = builtins.open, os.open

    def blocked(file) -> bool:
        return isinstance(file, (str, os.PathLike)) and any(
            Path(os.path.abspath(file)).is_relative_to(d) for d in denied)

    def fake_open(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+") and blocked(file):
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, mode, *args, **kwargs)

    def fake_os_open(file, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and blocked(file):
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_os_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(os, "open", fake_os_open)
    modes: list[tuple[Path, int]] = []

    def deny(path: Path) -> None:
        modes.append((path, path.stat().st_mode))
        path.chmod(0o555 if path.is_dir() else 0o444)
        denied.append(Path(os.path.abspath(path)))

    yield deny
    for path, mode in modes:
        path.chmod(mode)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


# --- 1. writability where the write happens -------------------------------------------------------


def test_a_read_only_experiment_folder_stops_run_before_compute(isolated_dirs, tiny, deny_writes, capsys):
    t = tiny(seeds=2)
    folder = isolated_dirs["results"] / t.name
    folder.mkdir(parents=True)
    deny_writes(folder)
    assert main(["run", t.name, "--scale", "smoke"]) == 2
    err = one_line_error(capsys)
    assert str(folder) in err and "RELU_TANH_RESULTS" in err and t.calls == []


def test_an_unwritable_lock_file_stops_run_before_compute(isolated_dirs, tiny, deny_writes, capsys):
    t = tiny(seeds=2)
    lock = results.lock_path(isolated_dirs["results"] / t.name / "smoke.json")
    lock.parent.mkdir(parents=True)
    lock.touch()
    deny_writes(lock)
    assert main(["run", t.name, "--scale", "smoke"]) == 2
    assert str(lock) in one_line_error(capsys) and t.calls == []


def test_temp_files_of_killed_writes_are_removed_by_the_next_write(tmp_path, tiny):
    t = tiny(seeds=1)
    path = tmp_path / t.name / "smoke.json"
    path.parent.mkdir(parents=True)
    killed = [path.with_name(f".smoke.json.{results.TMP}abc12345"), path.with_name(".smoke.json.tmp-x")]
    for tmp in killed:
        tmp.write_text('{"half": ')
    experiments.run(t.name, "smoke", root=tmp_path)
    assert not any(tmp.exists() for tmp in killed)
    assert results.lock_path(path).exists()  # the lock is not a temporary file


# --- 2. budgets that hold -------------------------------------------------------------------------


def test_paper_refuses_a_unit_it_has_no_estimate_for(tmp_path, tiny, capsys):
    t = tiny(seeds=2)
    summary = paper.run_paper(1000, root=tmp_path, device="cpu", scale="smoke", only=(t.name,))
    assert summary[0].status.startswith("refused: no cost") and t.calls == []
    assert f"run {t.name} --scale smoke --device cpu --seeds 1" in capsys.readouterr().out


def test_an_untimed_first_unit_runs_only_when_asked_and_then_times_the_rest(tmp_path, tiny):
    t = tiny(seeds=2)
    summary = paper.run_paper(1000, root=tmp_path, device="cpu", scale="smoke", only=(t.name,),
                              untimed_first=True)
    assert summary[0].status == "done" and len(t.calls) == 2


def test_paper_refuses_a_unit_longer_than_the_budget(tmp_path, tiny, monkeypatch):
    t = tiny(seeds=2)
    monkeypatch.setitem(costs.UNIT_SECONDS, ("smoke", "cpu"), {t.name: 50.0})
    summary = paper.run_paper(10, root=tmp_path, device="cpu", scale="smoke", only=(t.name,))
    assert summary[0].status.startswith("refused: a unit takes ~50 s on cpu") and t.calls == []


def test_paper_budget_10_on_a_cpu_returns_within_the_budget(isolated_dirs, capsys):
    start = time.monotonic()
    assert main(["paper", "--budget", "10", "--device", "cpu"]) == 0
    assert time.monotonic() - start < 11
    out = capsys.readouterr().out
    assert "cost_micro" in out and "refused: its paper-scale config is sized for cuda" in out
    assert "FAILED" not in out


def test_paper_honours_the_scale_in_the_environment(isolated_dirs, tiny, monkeypatch, capsys):
    t = tiny(seeds=1)
    monkeypatch.setitem(costs.UNIT_SECONDS, ("smoke", "cpu"), {t.name: 0.1})
    monkeypatch.setenv("RELU_TANH_SCALE", "smoke")
    assert main(["paper", "--budget", "30", "--device", "cpu", "--only", t.name]) == 0
    assert "smoke scale (from $RELU_TANH_SCALE)" in capsys.readouterr().out
    assert (isolated_dirs["results"] / t.name / "smoke.json").exists() and t.calls == [0]


# --- 3. claims on seeds in progress ---------------------------------------------------------------

SLEEPY = '''
import os, sys, time
from dataclasses import dataclass


@dataclass(frozen=True)
class Cfg:
    value: int = 1


def run_seed(cfg, *, seed, device, progress):
    with open(os.environ["SLEEPY_LOG"], "a") as log:
        log.write(f"{os.getpid()} {seed}\\n")
    time.sleep(0.7)
    return {"value": seed}
'''
DRIVER = '''
import os, sys, time
import sleepy
from relu_tanh import experiments
from relu_tanh.cli import main
from relu_tanh.experiments import Experiment

scales = ("smoke", "book", "paper")
experiments.register(Experiment(
    name="sleepy", chapter="nowhere", description="test double", version=1,
    configs={s: sleepy.Cfg() for s in scales}, seeds={s: 4 for s in scales},
    run_seed=sleepy.run_seed, summarize=lambda c, s: sorted(s)))
while not os.path.exists(os.environ["SLEEPY_GO"]):
    time.sleep(0.01)
sys.exit(main(["run", "sleepy", "--scale", "smoke"]))
'''


def test_two_plain_runs_compute_each_seed_once(tmp_path, isolated_dirs):
    """Two real processes run the same command on a 4-seed record at once."""
    (tmp_path / "sleepy.py").write_text(SLEEPY)
    (tmp_path / "driver.py").write_text(DRIVER)
    log, go = tmp_path / "calls.log", tmp_path / "go"
    env = {**os.environ, "SLEEPY_LOG": str(log), "SLEEPY_GO": str(go),
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "src")])}
    procs = [subprocess.Popen([sys.executable, str(tmp_path / "driver.py")], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    time.sleep(0.5)
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    calls = [line.split() for line in log.read_text().splitlines()]
    assert sorted(int(seed) for _, seed in calls) == [0, 1, 2, 3]  # each seed once
    assert len({pid for pid, _ in calls}) == 2  # and the work was split
    record = json.loads((isolated_dirs["results"] / "sleepy" / "smoke.json").read_text())
    assert sorted(record["seeds"]) == ["0", "1", "2", "3"]
    assert not inflight.claims_path(isolated_dirs["results"] / "sleepy" / "smoke.json").exists()


def test_a_claim_of_a_live_process_is_respected_and_of_a_dead_one_taken_over(tmp_path, tiny, capsys):
    t = tiny(seeds=2)
    path = tmp_path / t.name / "smoke.json"
    path.parent.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    parent = os.getppid()
    claims = {"0": {**inflight.me(), "pid": int(dead), "ticks": None},
              "1": {**inflight.me(), "pid": parent, "ticks": inflight._start_ticks(parent)}}
    inflight.claims_path(path).write_text(json.dumps(claims))
    head = experiments.record_header(t.name, "smoke", experiments.config_for(t.name, "smoke"))
    step = inflight.claim_next(path, head, [0, 1])
    assert step.seed == 0 and step.held == (1,)  # the dead pid's seed is taken, the live one's not
    assert f"pid {dead}" in capsys.readouterr().err
    assert json.loads(inflight.claims_path(path).read_text())["0"]["pid"] == os.getpid()


# --- 4. records of the wrong shape ----------------------------------------------------------------

WRONG_SHAPES = {
    "string config": lambda r: {**r, "config": "value=1"},
    "list provenance": lambda r: {**r, "provenance": [1, 2]},
    "int seed entry": lambda r: {**r, "seeds": {**r["seeds"], "0": 3}},
    "missing config": lambda r: {k: v for k, v in r.items() if k != "config"},
}


@pytest.mark.parametrize("case", WRONG_SHAPES)
def test_a_wrong_shaped_record_is_named_and_set_aside_by_run(tmp_path, tiny, capsys, case):
    t = tiny(seeds=1)
    experiments.run(t.name, "smoke", root=tmp_path)
    path = tmp_path / t.name / "smoke.json"
    bad = WRONG_SHAPES[case](json.loads(path.read_text()))
    path.write_text(json.dumps(bad))
    res = experiments.run(t.name, "smoke", root=tmp_path)
    err = capsys.readouterr().err
    aside = list(path.parent.glob("smoke.json.corrupt-*"))
    assert len(aside) == 1 and json.loads(aside[0].read_text()) == bad  # kept whole
    assert str(path) in err and str(aside[0]) in err and "not a results record" in err
    assert sorted(res.seeds) == [0] and schema.problem(json.loads(path.read_text())) is None


@pytest.mark.parametrize("case", WRONG_SHAPES)
def test_show_names_a_wrong_shaped_record(isolated_dirs, tiny, capsys, case):
    t = tiny(seeds=1)
    assert main(["run", t.name, "--scale", "paper"]) == 0
    path = isolated_dirs["results"] / t.name / "paper.json"
    path.write_text(json.dumps(WRONG_SHAPES[case](json.loads(path.read_text()))))
    capsys.readouterr()
    assert main(["show", t.name, "--scale", "paper"]) == 1
    assert str(path) in one_line_error(capsys)


def test_show_refuses_a_config_of_the_wrong_types(isolated_dirs, tiny, capsys):
    t = tiny(seeds=1)
    assert main(["run", t.name, "--scale", "paper"]) == 0
    path = isolated_dirs["results"] / t.name / "paper.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "config": {"value": "one", "batch_size": [4]}}))
    capsys.readouterr()
    assert main(["show", t.name, "--scale", "paper"]) == 1
    err = one_line_error(capsys)
    assert str(path) in err and "value='one'" in err


def test_a_wrong_shaped_record_is_never_written(tmp_path):
    with pytest.raises(results.RecordError, match="not a results record"):
        results.write_record(tmp_path / "r.json", {"experiment": "e", "scale": "smoke",
                                                   "config": "x", "seeds": {}})
    assert not (tmp_path / "r.json").exists()


def test_every_stored_record_has_its_schema():
    """Everything under results/: records, and Figure 1's runs (their own schema)."""
    checked = 0
    for path in sorted((ROOT / "results").rglob("*.json")):
        if ".v" in path.name or ".corrupt-" in path.name:
            continue
        record = json.loads(path.read_text())
        kind = schema.RUN if path.parent.name == "paper-runs" else schema.RECORD
        assert schema.problem(record, kind) is None, path
        checked += 1
    assert checked > 0


# --- 5. the CIFAR-10 cache is checked by content --------------------------------------------------


def blank_cache(folder: Path, digest: str, with_arrays_digest: bool) -> Path:
    arrays = dict(x_train=np.zeros((10, 32, 32, 3), np.uint8), y_train=np.arange(10, dtype=np.uint8),
                  x_test=np.zeros((2, 32, 32, 3), np.uint8), y_test=np.zeros(2, np.uint8))
    extra = {"arrays_digest": np.array(data.arrays_digest(arrays))} if with_arrays_digest else {}
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / data.CIFAR_CACHE, source=np.array("CIFAR-10"), archive_digest=np.array(digest),
             **extra, **arrays)
    return folder / data.CIFAR_CACHE


@pytest.mark.parametrize("digest, with_arrays_digest", [(data.CIFAR_JPEG_SHA256, True),
                                                        (data.CIFAR_JPEG_SHA256, False),
                                                        (data.CIFAR_BINARY_MD5, False)])
def test_a_cifar_cache_is_checked_by_content_not_label(cifar_dir, digest, with_arrays_digest):
    path = blank_cache(cifar_dir, digest, with_arrays_digest)
    with pytest.raises(data.CorruptDataFile) as err:
        data.load("cifar10")
    assert str(path) in str(err.value) and data.REBUILD in str(err.value)


def test_a_non_npz_cache_does_not_suggest_loading_it_unsafely(cifar_dir):
    cifar_dir.mkdir(parents=True)
    (cifar_dir / data.CIFAR_CACHE).write_bytes(b"not an npz at all")
    with pytest.raises(data.CorruptDataFile) as err:
        data.load("cifar10")
    msg = str(err.value)
    assert "unsafely" not in msg and "allow_pickle" not in msg and data.REBUILD in msg


# --- 6. configs validated whole -------------------------------------------------------------------


@pytest.mark.parametrize("name, change, words", [
    ("vanishing_init", {"width": 0}, ["width", "positive"]),
    ("saturation", {"downsample": 0}, ["downsample", "positive"]),
    ("saturation", {"downsample": 3}, ["downsample=3", "28", "valid choices: 1, 2, 4, 7, 14, 28"]),
    ("vanishing_init", {"depths": (0,)}, ["depths", "positive"]),
    ("krizhevsky", {"momentum": 1.0}, ["momentum", "[0, 1)"]),
    ("krizhevsky", {"side": 8}, ["side=8", "14"]),
])
def test_numeric_fields_are_checked_before_the_first_seed(tmp_path, monkeypatch, name, change, words):
    monkeypatch.setattr(experiments, "run_unit", lambda *a, **k: pytest.fail("a seed ran"))
    with pytest.raises(ValueError) as err:
        experiments.run(name, "smoke", root=tmp_path, **change)
    assert all(w in str(err.value) for w in words) and "\n" not in str(err.value)


# --- 7. one error path for the CLI ----------------------------------------------------------------


@pytest.mark.parametrize("argv, words", [
    (["run", "derivatives", "--scale", "smoke", "--device="], ["''", "available: cpu"]),
    (["run", "derivatives", "--scale", "smoke", "--unit", "3/2"], ["3/2", "1/2 to 2/2"]),
    (["warm", "--scale", "smoke", "--jobs", "0"], ["--jobs", "positive"]),
    (["paper", "--budget", "0", "--device", "cpu"], ["--budget", "positive"]),
    (["paper", "--budget", "5", "--device", "cpu", "--only", "nosuch"], ["nosuch", "derivatives"]),
    (["bench", "--scale", "paper"], ["cuda", "available: cpu", "smoke, book, paper"]),
    (["paper", "--budget", "5", "--device", "cpu", "--threads", "0"], ["--threads", "positive"]),
])
def test_known_bad_input_is_one_line_with_the_choices(argv, words, isolated_dirs, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(experiments, "run_unit", lambda *a, **k: pytest.fail("ran"))
    assert main(argv) == 2
    err = one_line_error(capsys)
    assert all(w in err for w in words), err


def test_an_unknown_error_keeps_its_traceback(isolated_dirs, register_experiment):
    def broken(cfg, *, seed, device, progress):
        raise RuntimeError("a bug")

    name = register_experiment("broken", TinyConfig(), broken, 1)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["run", name, "--scale", "smoke"])


# --- 8. smaller ones ------------------------------------------------------------------------------


def test_git_checkout_is_suggested_only_for_tracked_files(tmp_path):
    outside = tmp_path / "r.json"
    outside.write_text("{")
    with pytest.raises(results.RecordError) as err:
        results.load_record(outside)
    assert "git checkout" not in str(err.value) and "mv " in str(err.value)
    tracked = next((ROOT / "results").rglob("*.json"))
    assert "git checkout" in results._unreadable(tracked, "test")


def test_a_set_aside_paper_record_comes_back_without_force(isolated_dirs, tiny, capsys):
    t = tiny(seeds=1)
    assert main(["run", t.name, "--scale", "paper"]) == 0
    original = (isolated_dirs["results"] / t.name / "paper.json").read_text()
    assert main(["run", t.name, "--scale", "paper", "--force"]) == 0  # same config: nothing moves
    experiments.run(t.name, "paper", root=isolated_dirs["results"], force=True, value=2)
    capsys.readouterr()
    assert experiments.run(t.name, "paper", root=isolated_dirs["results"]).seeds[0]["value"] == 10
    assert "reusing 1 seed(s)" in capsys.readouterr().err and t.calls == [0, 0]
    assert (isolated_dirs["results"] / t.name / "paper.json").read_text() == original


def test_provenance_records_the_thread_count(tmp_path, tiny):
    import torch

    t = tiny(seeds=1)
    res = experiments.run(t.name, "smoke", root=tmp_path)
    assert res.seed_provenance[0]["torch_threads"] == torch.get_num_threads()


def test_a_damaged_set_aside_record_is_kept_when_another_is_moved_there(tmp_path, tiny):
    t = tiny(seeds=1)
    experiments.run(t.name, "smoke", root=tmp_path)
    path = tmp_path / t.name / "smoke.json"
    record = json.loads(path.read_text())
    aside = results.aside_path(path, record["config"], 1)
    aside.write_text('{"damaged": ')
    experiments.run(t.name, "smoke", root=tmp_path, value=3)  # moves the record to `aside`
    assert [p.read_text() for p in path.parent.glob(f"{aside.name}.corrupt-*")] == ['{"damaged": ']
    assert json.loads(aside.read_text())["seeds"] == record["seeds"]
