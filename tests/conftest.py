"""Shared fixtures: every test gets its own cache and results folders, and no network."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from relu_tanh import data, experiments
from relu_tanh.store import results
from relu_tanh.experiments import Experiment
from relu_tanh.store.scales import SCALES

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))  # the book's Sphinx extension, imported as Sphinx does: book_html


def pytest_addoption(parser):
    parser.addoption("--update-pins", action="store_true",
                     help="rewrite tests/fixtures/pinned/ with this run's smoke-scale numbers "
                          "(tests/test_pinned.py; refused for seed outputs that moved without a "
                          "version bump)")


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory, monkeypatch):
    """Point RELU_TANH_CACHE and RELU_TANH_RESULTS at fresh temporary folders, so no test
    writes into the repository's results/ or into ~/.cache."""
    base = tmp_path_factory.mktemp("relu_tanh")
    cache, stored = base / "cache", base / "results"
    monkeypatch.setenv(results.CACHE_ENV, str(cache))
    monkeypatch.setenv(results.RESULTS_ENV, str(stored))
    return {"cache": cache, "results": stored}


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch):
    """Fail loudly (as an OSError, like a dead network) if anything in-process tries to download."""
    def refuse(*args, **kwargs):
        raise OSError("network access is disabled in the test suite")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's tests on one torch thread, then restore the previous count.

    The models here are tiny; with two intra-op threads on a 2-core machine that is also running
    something else (a notebook kernel, another test process) torch spends its time spinning, and
    the smoke-scale sweeps take ten times longer than on one thread. Modules opt in with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


SMOKE_REPOSITORY = "https://github.com/relu-tanh-test/relu-tanh"  # the smoke build is built as if published


@pytest.fixture(scope="session")
def smoke_env(tmp_path_factory) -> dict[str, str]:
    """Smoke scale, with one run cache for the whole session: the book build and the nbval tests
    reuse each other's runs (the cache checks config and code, so nothing stale is reused)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "RELU_TANH_BRANCH")}
    env.update(RELU_TANH_SCALE="smoke", RELU_TANH_CACHE=str(tmp_path_factory.mktemp("runs")),
               RELU_TANH_RESULTS=str(ROOT / "results"), RELU_TANH_REPOSITORY=SMOKE_REPOSITORY)
    return env


@dataclass(frozen=True)
class BookBuild:
    out: Path  # --path-output: the build is out/_build/html
    proc: subprocess.CompletedProcess
    seconds: float

    @property
    def html(self) -> Path:
        return self.out / "_build" / "html"

    def failure(self) -> str:
        """What went wrong: the build's tail, and the failing cell's traceback, which Jupyter
        Book writes under html/reports/ (the build's own output only names the page)."""
        reports = "".join(p.read_text()[-4000:] for p in sorted((self.html / "reports").rglob("*.log")))
        return self.proc.stdout[-3000:] + self.proc.stderr[-2000:] + reports


def build_book(out: Path, env: dict[str, str]) -> BookBuild:
    """What `make book` does, into `out`: refresh the execution cache, then build with
    warnings as errors. MathJax is fetched into _vendor/ first if it is missing."""
    if not (ROOT / "_vendor" / "mathjax" / "tex-mml-chtml.js").exists():
        subprocess.run(["make", "mathjax"], cwd=ROOT, check=True)
    bin_dir = Path(sys.executable).parent
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "relu_tanh.book_cache", str(out / "_build")], env=env, check=True)
    proc = subprocess.run([str(bin_dir / "jupyter-book"), "build", str(ROOT), "--path-output", str(out),
                           "-W", "-n", "--keep-going"], env=env, capture_output=True, text=True, timeout=1200)
    return BookBuild(out, proc, time.perf_counter() - start)


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory, smoke_env) -> BookBuild:
    """The smoke-scale book, built once per session and shared by the build and browser tests."""
    return build_book(tmp_path_factory.mktemp("book"), smoke_env)


@pytest.fixture
def register_experiment():
    """`register(prefix, config, run_seed, seeds) -> name`: a test-double experiment with the same
    config and seed count at every scale, unregistered when the test ends."""
    names: list[str] = []

    def register(prefix: str, config, run_seed, seeds: int) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        experiments.register(Experiment(
            name=name, chapter="nowhere", description="test double", version=1,
            configs={s: config for s in SCALES}, seeds={s: seeds for s in SCALES},
            run_seed=run_seed, summarize=lambda c, s: sorted(s)))
        names.append(name)
        return name

    yield register
    for name in names:
        experiments.EXPERIMENTS._entries.pop(name, None)


@dataclass(frozen=True)
class TinyConfig:
    value: int = 1
    activations: tuple[str, ...] = ("tanh", "relu")
    batch_size: int = 4
    n_samples: int = 8
    lrs: tuple[float, ...] = (0.1,)


class Tiny:
    """A registered test-double experiment (`tiny(seeds=...)`) that records which seeds it ran."""

    def __init__(self, register, seeds: int = 3):
        self.calls: list[int] = []
        self.name = register("tiny", TinyConfig(), self.run_seed, seeds)

    def run_seed(self, cfg, *, seed, device, progress):
        self.calls.append(seed)
        return {"value": cfg.value * 10 + seed}


@pytest.fixture
def tiny(register_experiment):
    return lambda **kw: Tiny(register_experiment, **kw)


@pytest.fixture
def set_version():
    """`set_version(name, v)`: the registered experiment `name` declares version v until the test
    ends (as if its module had been edited to say so). Restored only while still registered, so a
    test double's own teardown is not undone."""
    saved: dict[str, Experiment] = {}

    def set_(name: str, version: int) -> None:
        exp = experiments.get(name)
        saved.setdefault(name, exp)
        experiments.EXPERIMENTS._entries[name] = dataclasses.replace(exp, version=version)

    yield set_
    for name, exp in saved.items():
        if name in experiments.EXPERIMENTS._entries:
            experiments.EXPERIMENTS._entries[name] = exp


@pytest.fixture
def cifar_dir(tmp_path, monkeypatch) -> Path:
    """$RELU_TANH_DATA/cifar10 in tmp; HOME and the shared sibling folder are hidden from the loader."""
    monkeypatch.setenv("RELU_TANH_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(data, "CIFAR_DIRS", ())
    data.cifar10.cache_clear()
    yield tmp_path / "data" / "cifar10"
    data.cifar10.cache_clear()
