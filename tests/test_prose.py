"""No typed measured numbers in the book's prose: every result a sentence reports is glued.

Markdown cells are stripped of what may hold numbers legitimately (math, code, MyST roles such
as glue, cite, numref and doc, directive blocks, link targets, the Exercises section); whatever
digits remain must match `ALLOWED` (years, dataset and layer names, analytic constants of the
mechanism, figure and section numbers). A digit that does not is reported with its page and line.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
PAGES = sorted(p for p in BOOK.glob("*.md") if "format_name: myst" in p.read_text())

STRIP = [
    r"```.*?```",  # directive and code blocks
    r":::.*?:::",
    r"\$\$.*?\$\$",  # display math
    r"\$[^$\n]+\$",  # inline math
    r"\{[a-z:\-]+\}`[^`]*`",  # MyST roles: {glue:text}`x`, {cite}`x`, {numref}`x`, {eq}`x` ...
    r"`[^`]*`",  # inline code
    r"\]\([^)]*\)",  # link targets
    r"^\(.*?\)=$",  # labels
]
ALLOWED = [
    r"\b(19|20)\d\d[a-z]?\b",  # years, as in citations
    r"\b(Figure|Table|Section|Eq\.|Chapter|Appendix) \d+\b",
    r"\b[A-Za-z]+-\d+[A-Za-z]*\b",  # names with numbers: MNIST-1D, CIFAR-10, layers-18pct, Shapeset-3
    r"\b\d+-D\b", r"\b\d+[x×]\d+\b",  # 1-D, 2-D; 5x5 kernels, 32x32 images
    r"\bR\d\b",  # the RNN claims' labels, R1 to R6
    r"\b(conv|fc|float|bfloat|int|uint)\d+\b", r"\bL\d\b",  # layer names, dtypes, caches
    r"\b1/4\b", r"\b1/2\b",  # the sigmoid bound and half of a symmetric input
    r"(?<![\d.,])[0-3](?![\d%]|[.,]\d)",  # small integers of the mechanism: slopes 0 and 1, Kaiming's 2
    r"\b0\.25\b", r"\b0\.01\b",  # sigma' <= 0.25; leaky ReLU's negative slope (PyTorch's default)
    r"^\s*\d+\.\s",  # numbered lists
]


def prose_lines(page: Path) -> list[tuple[int, str]]:
    """(line number in the .md file, text) of every markdown line, stripped as described."""
    text = page.read_text()
    nb = jupytext.reads(text, fmt="md:myst")
    out = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        source = cell.source.split("## Exercises")[0]
        for pattern in STRIP:
            source = re.sub(pattern, lambda m: re.sub(r"[^\n]", " ", m.group()), source,
                            flags=re.S | re.M)
        first = cell.source.splitlines()[0] if cell.source.strip() else ""
        offset = text[: text.find(first)].count("\n") + 1 if first else 0
        out += [(offset + i, line) for i, line in enumerate(source.splitlines())]
    return out


def typed_numbers(page: Path) -> list[str]:
    """'page:line: text' for every prose line with a digit that no `ALLOWED` pattern explains."""
    bad = []
    for number, line in prose_lines(page):
        rest = line
        for pattern in ALLOWED:
            rest = re.sub(pattern, "", rest)
        if re.search(r"\d", rest):
            bad.append(f"{page.name}:{number}: {line.strip()}")
    return bad


# Pages whose prose is clean today; the others are listed by `test_report_other_pages`.
CLEAN = ("derivatives", "vanishing", "saturation", "sparsity")


@pytest.mark.parametrize("page", [p for p in PAGES if p.stem in CLEAN], ids=lambda p: p.stem)
def test_no_typed_numbers_in_prose(page):
    bad = typed_numbers(page)
    assert not bad, "typed numbers in prose (glue them):\n" + "\n".join(bad)


def test_the_check_catches_a_typed_result(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("---\njupytext:\n  text_representation:\n    extension: .md\n"
                    "    format_name: myst\n---\n\n# T\n\nThe ratio was 6.2 (see Figure 1, 2012),\n"
                    "with $x = 3$ and {glue:text}`r-4` and `f(5)`.\n")
    assert typed_numbers(page) == ["p.md:10: The ratio was 6.2 (see Figure 1, 2012),"]


def test_report_other_pages():
    """Not a gate: prints the lines of pages outside CLEAN, for whoever owns them."""
    for page in PAGES:
        if page.stem not in CLEAN:
            for line in typed_numbers(page):
                print(line)
