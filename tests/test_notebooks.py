"""Every book page runs at smoke scale under nbval, one test item per code cell, and the
smoke-scale book builds with warnings as errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
from conftest import build_book

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(p for p in (ROOT / "book").glob("*.md") if "format_name: myst" in p.read_text())


def test_every_page_is_a_notebook() -> None:
    assert PAGES, "no MyST notebooks found in book/"
    for page in PAGES:
        text = page.read_text()
        assert "extension: .md" in text, f"{page.name}: jupytext header lacks extension: .md"
        assert not page.with_suffix(".ipynb").exists(), f"{page.name}: stray .ipynb beside it"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_page_runs_under_nbval(page: Path, tmp_path: Path, smoke_env: dict[str, str]) -> None:
    nb = jupytext.read(page)
    n_code = sum(c.cell_type == "code" for c in nb.cells)
    assert n_code > 0, f"{page.name} has no code cells"
    target = tmp_path / f"{page.stem}.ipynb"
    jupytext.write(nb, target)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider",
         "-q", str(target)],
        cwd=ROOT / "book", env=smoke_env, capture_output=True, text=True, timeout=600,
    )
    passed = re.search(r"(\d+) passed", proc.stdout)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert passed and int(passed.group(1)) == n_code, f"nbval ran {passed} of {n_code} cells"


@pytest.mark.slow
def test_smoke_book_builds_without_warnings(smoke_book) -> None:
    assert smoke_book.proc.returncode == 0, smoke_book.failure()
    for page in PAGES:
        assert (smoke_book.html / "book" / f"{page.stem}.html").exists(), f"{page.stem}.html missing"


@pytest.mark.slow
def test_unchanged_rebuild_executes_nothing(smoke_book, smoke_env: dict[str, str]) -> None:
    """With nothing changed, the execution cache answers every page: a rebuild takes seconds."""
    assert smoke_book.proc.returncode == 0
    again = build_book(smoke_book.out, smoke_env)
    assert again.proc.returncode == 0, again.failure()
    log = again.proc.stdout + again.proc.stderr
    assert "Executing" not in log and "executing outdated" not in log.lower(), log[-3000:]
    assert again.seconds < 60, f"unchanged rebuild took {again.seconds:.0f} s"


@pytest.mark.slow
def test_a_changed_page_key_re_executes_only_that_page(smoke_book, smoke_env: dict[str, str]) -> None:
    """As if what the derivatives page shows had changed (its key in the build's page keys is
    made stale): the rebuild executes that page and takes every other from the cache."""
    assert smoke_book.proc.returncode == 0
    keys_file = smoke_book.out / "_build" / ".page-keys.json"
    keys = json.loads(keys_file.read_text())
    keys_file.write_text(json.dumps({**keys, "derivatives": "stale"}))
    again = build_book(smoke_book.out, smoke_env)
    assert again.proc.returncode == 0, again.failure()
    log = again.proc.stdout + again.proc.stderr
    executed = [line for line in log.splitlines() if "Executing notebook" in line]
    assert len(executed) == 1 and "derivatives" in executed[0], log[-3000:]
    assert json.loads(keys_file.read_text()) == keys  # the page's real key again
