"""The timing harness and activation microbenchmark, on tiny sizes."""

from __future__ import annotations

import dataclasses
import math
import time

import pytest
import torch

from relu_tanh.measure import bench
from relu_tanh.nets.activations import ACTIVATIONS
from relu_tanh.measure.bench import (BenchConfig, bench_activation, bench_config, copy_bandwidth,
    format_table, relative_to, run_microbench, time_fn)

ROW_TYPES = {
    "activation": str, "numel": int, "dtype": str, "mode": str, "compiled": bool, "device": str,
    "median_s": float, "p25_s": float, "p75_s": float, "elements_per_s": float,
    "bytes_per_s": float, "copy_bytes_per_s": float, "fraction_of_copy": float,
}
TIMES = [key for key, kind in ROW_TYPES.items() if kind is float]
FAST = dict(repeats=3, warmup=1)


@pytest.fixture(scope="module")
def smoke_rows() -> list[dict]:
    return run_microbench(bench_config("smoke"))


def test_time_fn_excludes_warmup_calls() -> None:
    calls = []

    def fn() -> None:
        if len(calls) < 2:
            time.sleep(0.05)  # slow first calls, like compilation or cold caches
        calls.append(1)

    timing = time_fn(fn, repeats=5, warmup=2)
    assert len(calls) == 2 + 5 * timing.number
    assert timing.number == 1 and timing.repeats == 5
    assert timing.median_s < 0.01
    assert 0 <= timing.p25_s <= timing.median_s <= timing.p75_s and timing.iqr_s >= 0


def test_time_fn_batches_fast_calls_to_min_repeat_s() -> None:
    timing = time_fn(lambda: None, repeats=3, warmup=1, min_repeat_s=1e-3)
    assert timing.number > 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        timing.median_s = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        time_fn(lambda: None, repeats=0)


def test_copy_bandwidth_positive() -> None:
    for dtype in bench.DTYPES:
        for preallocated in (False, True):
            bandwidth = copy_bandwidth(4096, dtype, **FAST, preallocated=preallocated)
            assert math.isfinite(bandwidth) and bandwidth > 0


def test_copy_row_has_both_baselines() -> None:
    row = bench.copy_row(4096, "bfloat16", **FAST)
    assert (row["numel"], row["dtype"], row["device"]) == (4096, "bfloat16", "cpu")
    for kind in ("clone", "prealloc"):
        assert 0 < row[f"{kind}_p25_s"] <= row[f"{kind}_median_s"] <= row[f"{kind}_p75_s"]
        assert row[f"{kind}_bytes_per_s"] == pytest.approx(2 * 4096 * 2 / row[f"{kind}_median_s"])


def test_sweep_holds_each_row_against_its_own_copy() -> None:
    cfg = BenchConfig(activations=("relu", "tanh"), sizes=(256, 1024), dtypes=("float32",), **FAST)
    rows, copies = bench.run_sweep(cfg)
    assert [(c["numel"], c["dtype"]) for c in copies] == [(256, "float32"), (1024, "float32")]
    clone = {c["numel"]: c["clone_bytes_per_s"] for c in copies}
    assert all(r["copy_bytes_per_s"] == clone[r["numel"]] for r in rows)
    assert len(rows) == 2 * 2 * len(bench.MODES)


def test_threads_are_set_for_the_sweep_and_restored() -> None:
    before = torch.get_num_threads()
    with bench.num_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with bench.num_threads(None):
        assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        BenchConfig(threads=0)


@pytest.mark.parametrize("mode", bench.MODES)
def test_row_schema_and_byte_model(mode: str) -> None:
    row = bench_activation("tanh", 4096, "bfloat16", mode, **FAST, copy_bytes_per_s=1e9)
    assert row.keys() == ROW_TYPES.keys() | {"error"}
    assert row["error"] is None
    for key, kind in ROW_TYPES.items():
        assert isinstance(row[key], kind), key
    for key in TIMES:
        assert math.isfinite(row[key]) and row[key] > 0, key
    moved = {"forward": 2, "forward_backward": 5}[mode] * 4096 * 2  # bf16: 2 bytes
    assert row["bytes_per_s"] == pytest.approx(moved / row["median_s"])
    assert row["elements_per_s"] == pytest.approx(4096 / row["median_s"])
    assert row["fraction_of_copy"] == pytest.approx(row["bytes_per_s"] / 1e9)


def test_smoke_run_covers_every_activation(smoke_rows: list[dict]) -> None:
    cfg = bench_config("smoke")
    assert {r["activation"] for r in smoke_rows} == set(ACTIVATIONS.names())
    n = len(cfg.activations) * len(cfg.sizes) * len(cfg.dtypes) * len(cfg.modes) * len(cfg.compiled)
    assert len(smoke_rows) == n
    assert all(r["error"] is None and r["median_s"] > 0 for r in smoke_rows)
    for r in smoke_rows:
        assert r["fraction_of_copy"] == pytest.approx(r["bytes_per_s"] / r["copy_bytes_per_s"])


def test_relative_to_relu(smoke_rows: list[dict]) -> None:
    table = relative_to(smoke_rows)
    largest = max(bench_config("smoke").sizes)
    assert {r["numel"] for r in table} == {largest}
    assert all(r["time_vs_baseline"] == 1.0 for r in table if r["activation"] == "relu")
    assert len(table) == len(ACTIVATIONS.names()) * 2 * 2  # activations x dtypes x modes
    assert "time_vs_baseline" in format_table(table).splitlines()[0]


@pytest.mark.parametrize("name", list(ACTIVATIONS.names()))
def test_preallocated_kernels_compute_the_activation(name: str) -> None:
    x = torch.randn(1000)
    out = torch.empty_like(x)
    assert bench.INTO[name](x, out) is out
    torch.testing.assert_close(out, ACTIVATIONS[name].fn(x))
    row = bench.bench_into(name, 4096, "bfloat16", **FAST, copy_bytes_per_s=1e9)
    assert row.keys() == ROW_TYPES.keys() | {"error"} and row["mode"] == "forward"
    assert row["bytes_per_s"] == pytest.approx(2 * 4096 * 2 / row["median_s"])
    assert row["fraction_of_copy"] == pytest.approx(row["bytes_per_s"] / 1e9)


def test_compile_failure_is_recorded_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(fn, **kwargs):
        def fail(x):
            raise RuntimeError("no compiler here\nmore detail")
        return fail

    monkeypatch.setattr(torch, "compile", broken)
    row = bench_activation("relu", 1024, compiled=True, **FAST, copy_bytes_per_s=1e9)
    assert row["error"] == "RuntimeError: no compiler here"
    assert math.isnan(row["median_s"]) and math.isnan(row["fraction_of_copy"])


@pytest.mark.parametrize(
    "call, bad",
    [
        (lambda: bench_activation("relu", 64, dtype="float64"), "float64"),
        (lambda: bench_activation("relu", 64, mode="backward"), "backward"),
        (lambda: bench_activation("swish2", 64), "swish2"),
        (lambda: BenchConfig(dtypes=("fp8",)), "fp8"),
        (lambda: BenchConfig(modes=("fwd",)), "fwd"),
        (lambda: BenchConfig(activations=("relu", "nope")), "nope"),
        (lambda: bench_config("huge"), "huge"),
    ],
)
def test_bad_names_list_valid_choices(call, bad: str) -> None:
    with pytest.raises(ValueError, match="valid choices") as info:
        call()
    assert repr(bad) in str(info.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="the bandwidth target is for a GPU")
def test_gpu_relu_reaches_the_copy_bandwidth() -> None:
    """On a GPU, eager ReLU on a large tensor moves bytes at >= 80% of a clone's rate; less
    would mean the harness times launch or Python overhead rather than the kernel."""
    row = bench_activation("relu", 2**26, "float32", "forward", "cuda", repeats=10, warmup=3)
    assert row["fraction_of_copy"] >= 0.8, row


def test_scales() -> None:
    smoke, book, paper = (bench_config(s) for s in ("smoke", "book", "paper"))
    assert book.activations == tuple(ACTIVATIONS.names())
    assert smoke.compiled == (False,) and max(smoke.sizes) <= 2**14
    assert book.device == "cpu" and min(book.sizes) == 2**12 and max(book.sizes) == 2**24
    assert paper.device == "cuda" and max(paper.sizes) == 2**28 and True in paper.compiled
    assert smoke.threads == book.threads == 1 and paper.threads is None
    assert smoke.llc_multiple is None and book.llc_multiple == paper.llc_multiple == 2.0
    assert set(paper.dtypes) == {"float32", "bfloat16"}
