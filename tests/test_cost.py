"""Chapter "cost": the experiments, their summaries, the verdicts on hand-built summaries, the
stored-GPU path and the `bench` command, at smoke size."""

from __future__ import annotations

import json
import math
import subprocess

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from relu_tanh.measure import bench, hardware
from relu_tanh import claims, experiments
from relu_tanh.figures import cost as cost_figures
from relu_tanh.store import results
from relu_tanh.nets.activations import ACTIVATIONS
from relu_tanh.cli import main
from relu_tanh.experiments import cost

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ACTS = set(ACTIVATIONS.names())


@pytest.fixture(scope="module")
def micro(tmp_path_factory, one_torch_thread):
    return experiments.run("cost_micro", "smoke", root=tmp_path_factory.mktemp("micro"))


@pytest.fixture(scope="module")
def step(tmp_path_factory, one_torch_thread):
    return experiments.run("cost_step", "smoke", root=tmp_path_factory.mktemp("step"))


# --- cost_micro ---------------------------------------------------------------------------------


def test_micro_record_schema(micro):
    rec = json.loads(micro.path.read_text())
    seed = rec["seeds"]["0"]
    assert set(seed) == {"rows", "copies", "into", "threads", "hardware", "wall_s"}
    assert rec["provenance"]["device_name"] and rec["provenance"]["torch"] == torch.__version__
    assert seed["threads"] == 1  # smoke and book time one CPU thread
    assert seed["hardware"]["kind"] == "cpu" and isinstance(seed["hardware"]["cache_bytes"], dict)
    cfg = micro.config
    assert len(seed["copies"]) == len(cfg.sizes) * len(cfg.dtypes)
    for c in seed["copies"]:
        for kind in ("clone", "prealloc"):
            assert c[f"{kind}_p25_s"] <= c[f"{kind}_median_s"] <= c[f"{kind}_p75_s"]
            assert c[f"{kind}_bytes_per_s"] == pytest.approx(
                2 * c["numel"] * bench.DTYPES[c["dtype"]].itemsize / c[f"{kind}_median_s"])


def test_micro_benchmarks_every_activation(micro):
    s = micro.summary
    assert {r["activation"] for r in s["rows"]} == ACTS
    for dtype in micro.config.dtypes:
        for mode in bench.MODES:
            at = {r["activation"] for r in s["rows"]
                  if (r["dtype"], r["mode"], r["numel"]) == (dtype, mode, s["largest"])}
            assert at == ACTS


def test_micro_summary(micro):
    s = micro.summary
    assert s["sizes"] == sorted(micro.config.sizes) and s["largest"] == max(micro.config.sizes)
    assert all(r["ratio"] == 1.0 for r in s["ratios"] if r["activation"] == "relu")
    assert len(s["ratios"]) == len(s["rows"])
    assert cost.peak_copy_size(s) in s["sizes"] and set(s["peak"]) == set(micro.config.dtypes)
    check = cost.harness_check(s)
    assert set(check) == set(micro.config.dtypes)
    for per_dtype in check.values():
        assert set(per_dtype) == {"of_clone", "of_prealloc", "clone_over_prealloc", "into_of_prealloc"}
        assert all(math.isfinite(v) and v > 0 for v in per_dtype.values())
    tables = cost.micro_tables(s, [(s["largest"], d) for d in micro.config.dtypes])
    assert [title.split(",")[0] for title in tables] == list(micro.config.dtypes)  # one table per dtype
    for header, rows in tables.values():
        assert "kernel" not in header and len(rows) == len(ACTS) * len(bench.MODES)
        assert all(len(r) == len(header) == 5 for r in rows)
        assert {r[0] for r in rows} == ACTS and header[2] == "ns / element"
    assert "fit inside" in cost.llc_relation(s | {"llc_bytes": 2**30})
    assert "2 times the " in cost.llc_relation(s | {"llc_bytes": s["largest"]})  # bfloat16: 2 bytes


def test_largest_tensors_are_timed_into_a_preallocated_output(micro):
    s = micro.summary
    assert {(r["activation"], r["dtype"]) for r in s["into"]} == {(a, d) for a in ACTS for d in micro.config.dtypes}
    assert all(r["numel"] == s["largest"] and r["mode"] == "forward" for r in s["into"])
    assert all(r["ratio"] == 1.0 for r in s["into"] if r["activation"] == "relu")
    prealloc = {c["dtype"]: c["prealloc_bytes_per_s"] for c in s["copies"] if c["numel"] == s["largest"]}
    assert all(r["copy_bytes_per_s"] == prealloc[r["dtype"]] for r in s["into"])
    tables = cost.into_tables(s)
    assert [title.split(",")[0] for title in tables] == list(micro.config.dtypes)  # one table per dtype
    assert sum(len(rows) for _, rows in tables.values()) == len(s["into"])
    for header, rows in tables.values():
        assert all(len(r) == len(header) for r in rows)
        assert all(math.isfinite(r[-1]) and r[-1] > 0 for r in rows)  # time over the allocating kernel
    assert hardware.cache_lines(s["hardware"]).keys() <= {"L2", "L3", "L4"}


def row(act, numel, median, mode="forward", dtype="float32", compiled=False, error=None):
    return {"activation": act, "numel": numel, "dtype": dtype, "mode": mode, "compiled": compiled,
            "device": "cpu", "median_s": median, "p25_s": median, "p75_s": median,
            "elements_per_s": numel / median, "bytes_per_s": 8 * numel / median,
            "copy_bytes_per_s": 8e9, "fraction_of_copy": numel / median / 1e9, "error": error}


def failed_row(act, numel):
    """A compile failure as stored JSON holds it: NaN times written as null."""
    r = row(act, numel, 1.0, compiled=True, error="no compiler")
    return r | {k: None for k, v in r.items() if isinstance(v, float)}


def copy(numel, clone_s, prealloc_s, dtype="float32"):
    out = {"numel": numel, "dtype": dtype, "device": "cpu"}
    for kind, t in (("clone", clone_s), ("prealloc", prealloc_s)):
        out |= {f"{kind}_median_s": t, f"{kind}_p25_s": t, f"{kind}_p75_s": t,
                f"{kind}_bytes_per_s": 8 * numel / t}
    return out


def seed(rows, copies):
    return {"rows": rows, "copies": copies, "threads": 1, "hardware": {"kind": "cpu", "cache_bytes": {}}}


def test_summary_takes_the_median_seed_and_survives_failed_rows():
    seeds = {i: seed([row("relu", 64, t), row("tanh", 64, 2 * t),
                      failed_row("gelu", 64)],
                     [copy(64, t, t / 2)]) for i, t in enumerate((3.0, 1.0, 2.0))}
    s = cost.summarize_micro(bench.bench_config("smoke"), seeds)
    relu = next(r for r in s["rows"] if r["activation"] == "relu")
    assert relu["median_s"] == 2.0  # the middle of 1, 2, 3
    failed = next(r for r in s["rows"] if r["activation"] == "gelu")
    assert math.isnan(failed["median_s"]) and failed["error"] == "no compiler"
    assert {r["activation"] for r in s["ratios"]} == {"relu", "tanh"}  # failed rows are skipped
    assert next(r for r in s["ratios"] if r["activation"] == "tanh")["ratio"] == 2.0
    assert s["copies"][0]["clone_median_s"] == 2.0


def test_paper_scale_is_for_a_gpu():
    cfg = experiments.get("cost_micro").configs["paper"]
    assert cfg.device == "cuda" and max(cfg.sizes) == 2**28 and True in cfg.compiled
    assert cfg.threads is None
    with pytest.raises(ValueError, match="--device cuda"):
        cost.run_micro(cfg, seed=0, device="cpu", progress=False)
    assert experiments.get("cost_step").configs["paper"].threads is None


def test_hardware_info_on_cpu():
    info = hardware.hardware_info("cpu")
    assert info["kind"] == "cpu" and info["model"] and info["logical_cores"] >= 1
    assert all(isinstance(v, int) and v > 0 for v in info["cache_bytes"].values())
    assert hardware._parse_size("32K") == 32 * 2**10 and hardware._parse_size("32M") == 32 * 2**20
    assert hardware._parse_size("4096") == 4096


def test_describe_hardware():
    cpu = hardware.describe_hardware({"kind": "cpu", "model": "AMD EPYC", "logical_cores": 2,
                                  "cache_bytes": {"L1": 2**15, "L2": 2**20, "L3": 2**25}})
    assert cpu == "AMD EPYC, 2 logical cores, L2 1 MiB, L3 32 MiB"
    gpu = hardware.describe_hardware({"kind": "cuda", "name": "NVIDIA H200", "multiprocessors": 132,
                                  "cache_bytes": {"L2": 60 * 2**20},
                                  "nvidia_smi": {"clocks_sm": 1980.0, "clocks_max_sm": 1980.0,
                                                 "driver_version": "570.12"}})
    assert gpu == ("NVIDIA H200, 132 multiprocessors, L2 60 MiB, SM clock 1980 MHz (max 1980), "
                   "driver 570.12")
    assert hardware.describe_hardware({"kind": "cuda", "name": "X"}).startswith("X, ? multiprocessors")


def test_nvidia_smi_fails_silently_and_parses(monkeypatch):
    def missing(*args, **kwargs):
        raise FileNotFoundError("nvidia-smi")

    monkeypatch.setattr(subprocess, "run", missing)
    assert hardware._nvidia_smi("0") == {}

    class Done:
        stdout = "1980, 3201, 1980, 3201, 570.12, P0, 700.00\n"

    monkeypatch.setattr(subprocess, "run", lambda *a, **k: Done())
    smi = hardware._nvidia_smi("0")["nvidia_smi"]
    assert smi["clocks_sm"] == 1980.0 and smi["clocks_max_mem"] == 3201.0
    assert smi["driver_version"] == "570.12" and smi["pstate"] == "P0"
    Done.stdout = "garbled\n"
    assert hardware._nvidia_smi("0") == {}


# --- cost_step ----------------------------------------------------------------------------------


def test_step_times_every_activation_and_the_identity(step):
    s = step.summary
    for model in ("cnn", "rnn"):
        assert set(s[model]["step_s"]) == ACTS | {cost.IDENTITY}
        assert set(s[model]["share"]) == set(s[model]["vs_relu"]) == ACTS
        assert s[model]["vs_relu"]["relu"]["median"] == 1.0
        for stats in s[model]["step_s"].values():
            assert stats["n"] == step.config.rounds
            assert 0 < stats["p25"] <= stats["median"] <= stats["p75"]
    header, rows = cost.step_table(s)
    assert len(rows) == 2 * (len(ACTS) + 1) and all(len(r) == len(header) for r in rows)


def test_forward_counts_match_the_shapes(step):
    cfg = step.config
    cnn, rnn = step.summary["cnn"], step.summary["rnn"]
    # conv1 32 x 32 x 32, then ceil-mode 3/2 pooling: conv2 32 x 16 x 16, conv3 64 x 8 x 8
    assert cnn["calls"] == 3 and cnn["elements"] == cfg.cnn_batch * (32 * 32 * 32 + 32 * 16 * 16 + 64 * 8 * 8)
    assert rnn["calls"] == cfg.seq_len
    assert rnn["elements"] == cfg.rnn_batch * cfg.rnn_hidden * cfg.seq_len
    assert cnn["flops_per_element"] > 100 and rnn["flops_per_element"] > 2 * cfg.rnn_hidden


def test_identity_variant_keeps_every_other_layer():
    cfg = cost.SMOKE_STEP
    for model in ("cnn", "rnn"):
        relu, ident = cost.build(model, "relu", cfg), cost.build(model, cost.IDENTITY, cfg)
        kinds = lambda net: [type(m) for m in net.modules() if not isinstance(m, (nn.ReLU, nn.Identity))]
        assert kinds(relu) == kinds(ident)
        assert not any(isinstance(m, nn.ReLU) for m in ident.modules())
    with pytest.raises(ValueError, match="valid choices"):
        cost.build("lstm", "relu", cfg)
    with pytest.raises(ValueError, match="valid choices"):
        cost.StepConfig(models=("lstm",))
    with pytest.raises(KeyError, match="valid choices"):
        cost.StepConfig(activations=("relu", "swish2"))


def test_step_summary_arithmetic():
    times = {"identity": [1.0, 2.0, 1.0], "relu": [1.25, 2.5, 1.25], "tanh": [1.5, 3.0, 1.5]}
    out = {"models": {"cnn": {"times_s": times, "calls": 3, "elements": 30, "weight_flops": 3000,
                              "batch": 2, "input_shape": [3, 32, 32]}},
           "threads": 1, "hardware": {}}
    cfg = cost.StepConfig(models=("cnn",), activations=("relu", "tanh"))
    s = cost.summarize_step(cfg, {0: out})["cnn"]
    assert s["share"]["relu"]["median"] == pytest.approx(0.2)
    assert s["share"]["tanh"]["median"] == pytest.approx(1 / 3)
    assert s["vs_relu"]["tanh"] == pytest.approx({"median": 1.2, "p25": 1.2, "p75": 1.2, "n": 3})
    assert s["step_s"]["identity"]["median"] == 1.0 and s["flops_per_element"] == 100


def test_time_interleaved_rotates_and_pairs():
    calls = []
    fns = {name: (lambda n=name: calls.append(n)) for name in "abc"}
    times = bench.time_interleaved(fns, rounds=3, warmup=1)
    assert calls[:3] == ["a", "b", "c"]  # warm-up
    assert calls[3:] == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert set(times) == set("abc") and all(len(t) == 3 and min(t) >= 0 for t in times.values())
    with pytest.raises(ValueError):
        bench.time_interleaved(fns, rounds=0)


# --- verdicts on hand-built summaries ------------------------------------------------------------


def micro_summary(tanh_big: float, sigmoid_big: float, tanh_cached: float, noise: float = 1.0) -> dict:
    """Ratios at the largest size (1000), in cache (100, where the clone is fastest) and at a
    size that is neither (10), whose ratio `noise` the verdict must ignore."""
    rows = [row("relu", n, 1.0, mode) for n in (10, 100, 1000) for mode in bench.MODES]
    ratios = [{"activation": a, "numel": n, "dtype": "float32", "mode": mode, "compiled": False, "ratio": r}
              for mode in bench.MODES
              for a, n, r in (("tanh", 1000, tanh_big), ("sigmoid", 1000, sigmoid_big),
                              ("tanh", 100, tanh_cached), ("sigmoid", 100, 1.0), ("tanh", 10, noise),
                              ("relu", 1000, 1.0))]
    return {"rows": rows, "ratios": ratios, "largest": 1000, "peak": {"float32": 100}}


def test_per_element_verdict_follows_the_ratios():
    assert claims.cost.relu_cheap_per_element(micro_summary(3.0, 2.5, 30.0)).status == "holds"
    caveat = claims.cost.relu_cheap_per_element(micro_summary(1.1, 1.0, 30.0))
    assert caveat.status == "holds with caveats" and caveat.numbers["cache_max"] == 30.0
    assert caveat.conditions == {"in cache": "holds", "beyond cache": "does not hold"}
    assert caveat.numbers["cache_numel"] == 100 and "100 elements" in caveat.reason
    flat = claims.cost.relu_cheap_per_element(micro_summary(1.1, 1.0, 1.5, noise=80.0))
    assert flat.status == "does not hold" and flat.numbers["largest_max"] == 1.1
    assert flat.numbers["cache_max"] == 1.5


def test_per_element_verdict_prefers_the_preallocated_rows():
    """Allocation (page faults) can hide the activation on big tensors: with `into` rows, the
    verdict beyond the cache reads them, and still quotes the allocating ones."""
    base = micro_summary(1.1, 1.0, 1.5)  # allocating: no difference anywhere
    into = [{"activation": a, "dtype": "bfloat16", "numel": 1000, "mode": "forward", "ratio": r}
            for a, r in (("relu", 1.0), ("tanh", 2.5), ("sigmoid", 3.0))]
    v = claims.cost.relu_cheap_per_element(base | {"into": into, "llc_bytes": 1000})
    assert v.status == "holds with caveats" and v.numbers["largest_min"] == 2.5 and v.numbers["fresh_max"] == 1.1
    assert v.conditions == {"in cache": "does not hold", "beyond cache": "holds"}
    assert "preallocated" in v.reason and "(tanh, bfloat16)" in v.reason
    assert "4 times the 1.0 KiB last-level cache" in v.reason  # 1000 float32 elements
    small = claims.cost.relu_cheap_per_element(base | {"into": into, "llc_bytes": 2**20})
    assert small.status == "inconclusive" and "within the 1 MiB last-level cache" in small.reason
    slow_into = [r | {"ratio": 1.2} for r in into]
    assert claims.cost.relu_cheap_per_element(base | {"into": slow_into}).status == "does not hold"


def test_sizes_reach_beyond_the_last_level_cache():
    cfg = bench.BenchConfig(sizes=(2**10, 2**12), llc_multiple=2.0)
    assert bench.sizes_beyond(cfg, 32 * 2**20) == (2**10, 2**12, 2**25)  # 2 x 32 MiB in bfloat16
    assert bench.sizes_beyond(cfg, 2**10) == cfg.sizes  # already beyond
    assert bench.sizes_beyond(cfg, None) == cfg.sizes
    assert bench.sizes_beyond(bench.BenchConfig(sizes=(4,)), 2**30) == (4,)  # not asked for
    capped = bench.BenchConfig(sizes=(2**10,), llc_multiple=2.0, max_bytes=2**29)
    assert bench.sizes_beyond(capped, 480 * 2**20) == (2**10, 2**27)  # 512 MiB in float32, not 2 GiB
    assert bench.sizes_beyond(capped, 32 * 2**20) == (2**10, 2**25)  # the bound does not bind
    with pytest.raises(ValueError, match="llc_multiple"):
        bench.BenchConfig(llc_multiple=0.5)


def step_summary(**ratios: tuple[float, float, float]) -> dict:
    """ratios: {'cnn_tanh': (p25, median, p75), ...}; the rest are 1."""
    out = {}
    for m in ("cnn", "rnn"):
        vs = {a: dict(zip(("p25", "median", "p75"), ratios.get(f"{m}_{a}", (1.0, 1.0, 1.0))))
              for a in ("relu", "tanh", "sigmoid")}
        out[m] = {"vs_relu": vs, "share": {a: {"median": 0.05} for a in vs}}
    return out


def test_per_step_verdict_follows_the_quartiles():
    big = (1.3, 1.4, 1.5)
    assert claims.cost.relu_cheap_per_step(step_summary(**{k: big for k in
                                      ("cnn_tanh", "cnn_sigmoid", "rnn_tanh", "rnn_sigmoid")})).status == "holds"
    none = claims.cost.relu_cheap_per_step(step_summary(cnn_tanh=(1.05, 1.1, 1.2)))
    assert none.status == "does not hold" and none.numbers["highest_p75"] == 1.2
    mixed = claims.cost.relu_cheap_per_step(step_summary(cnn_tanh=(1.1, 1.2, 1.3)))
    assert mixed.status == "inconclusive" and "straddle" in mixed.reason  # noise, not a caveat
    assert mixed.numbers["max_share"] == 0.05
    split = claims.cost.relu_cheap_per_step(step_summary(cnn_tanh=big, cnn_sigmoid=big))
    assert split.status == "holds with caveats"
    assert split.conditions == {"CNN": "holds", "RNN": "does not hold"}


# --- a stored GPU run, plots, and the command line ----------------------------------------------


def test_a_stored_paper_run_is_shown(isolated_dirs, micro):
    """What the page does with results/cost_micro/paper.json, using a smoke run as the stand-in."""
    from relu_tanh import book

    assert experiments.load_stored("cost_micro", "paper") is None
    assert "--device cuda" in book.stored_note("cost_micro").data
    target = results.record_path(results.results_dir(), "cost_micro", "paper")
    target.parent.mkdir(parents=True)
    target.write_text(micro.path.read_text())
    stored = experiments.load_stored("cost_micro", "paper")
    assert stored is not None and stored.config == micro.config
    assert "Stored paper-scale run of `cost_micro`" in book.stored_note("cost_micro").data
    # the stored record decides exactly as the run it came from
    assert (claims.cost.relu_cheap_per_element(stored.summary)
            == claims.cost.relu_cheap_per_element(micro.summary))
    assert "No GPU run" not in claims.cost.stored_gpu_text(stored, None)
    plt.close(cost_figures.cost_per_element(stored.summary))


def test_micro_table_names_the_kernel_when_compiled_rows_exist(micro):
    s = micro.summary
    compiled = [r | {"compiled": True} for r in s["rows"]]
    both = s | {"rows": s["rows"] + compiled, "ratios": cost.ratios(s["rows"] + compiled)}
    header, rows = cost.micro_table(both, s["largest"], "float32")
    k = header.index("kernel")
    assert [r[k] for r in rows].count("compiled") == len(rows) // 2 == len(ACTS) * len(bench.MODES)
    assert all(len(r) == len(header) for r in rows)


def test_plots(micro, step):
    fig = cost_figures.cost_per_element(micro.summary)
    assert len(fig.axes) == len(micro.config.dtypes) * len(bench.MODES)
    plt.close(fig)
    fig = cost_figures.step_share(step.summary)
    assert len(fig.axes) == 2
    plt.close(fig)
    assert cost_figures.bytes_label(2**20) == "1 MiB" and cost_figures.bytes_label(512) == "512 B"


def test_cli_bench_prints_every_activation(capsys, isolated_dirs):
    assert main(["bench", "--scale", "smoke"]) == 0
    out = capsys.readouterr().out
    assert "smoke scale on" in out and "prealloc_GB_per_s" in out and "time_vs_baseline" in out
    assert all(name in out for name in ACTS)
    assert not any(isolated_dirs["results"].glob("*"))  # bench stores nothing


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message for a machine without CUDA")
def test_cli_bench_without_cuda_exits_2(capsys):
    assert main(["bench", "--scale", "smoke", "--device", "cuda"]) == 2
    assert "not available" in capsys.readouterr().err


def test_allocation_effect_finds_a_ratio_the_allocator_moved():
    """ReLU pays 90 ms more to allocate than sigmoid: allocating, sigmoid looks cheaper (0.75),
    preallocated it costs 1.5 times ReLU's time; tanh moves less and is not the one reported."""
    n = 1 << 20
    fresh = [row("relu", n, 0.12), row("sigmoid", n, 0.09), row("tanh", n, 0.16)]
    into = [row("relu", n, 0.02), row("sigmoid", n, 0.03), row("tanh", n, 0.04)]
    e = cost.allocation_effect({"largest": n, "rows": fresh, "into": into})
    assert e["activation"] == "sigmoid" and e["fresh_ratio"] == pytest.approx(0.75)
    assert e["into_ratio"] == pytest.approx(1.5) and e["extra_relu"] == pytest.approx(0.1)
    assert e["kernel_gap"] == pytest.approx(0.01)
    text = claims.cost.allocation_text({"largest": n, "rows": fresh, "into": into})
    assert "0.75 times" in text and "1.50 times" in text and "100 ms to ReLU" in text
    assert cost.allocation_effect({"largest": n, "rows": fresh}) is None
