"""Shared fixtures: every test gets its own cache and results folders, and no network."""

from __future__ import annotations

import urllib.request

import pytest

from relu_tanh import results


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
