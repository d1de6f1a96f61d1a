# Two entry points: `make book` builds the executable book, `make test` runs every test.
# Both create the virtual environment in .venv and install the pinned requirements first, and
# fetch MathJax into _vendor/ (served as _static/mathjax), so the book renders math offline.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# experiments run at once before the build (`python -m relu_tanh warm`)
JOBS ?= 2
# MathJax 3 from npm (what Sphinx 7 expects), checked against the tarball's sha256. Only the
# browser build (es5) is kept: the combined TeX+MathML loader, the fonts, and the components it
# loads on demand (TeX extensions, accessibility menu, speech rules).
MATHJAX_VERSION := 3.2.2
MATHJAX_SHA256 := 1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09
MATHJAX_TGZ := .cache/mathjax-$(MATHJAX_VERSION).tgz
MATHJAX := _vendor/mathjax/tex-mml-chtml.js

.PHONY: book test mathjax paper paper-rehearsal paper-carry clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

$(MATHJAX_TGZ):
	mkdir -p .cache
	cd .cache && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null

$(MATHJAX): $(MATHJAX_TGZ)
	echo "$(MATHJAX_SHA256)  $(MATHJAX_TGZ)" | sha256sum --check --quiet
	rm -rf _vendor/mathjax && mkdir -p _vendor/mathjax
	tar -xzf $(MATHJAX_TGZ) -C _vendor/mathjax --strip-components=2 package/es5/tex-mml-chtml.js \
	    package/es5/input package/es5/output/chtml package/es5/a11y package/es5/ui package/es5/sre
	touch $(MATHJAX)

mathjax: $(MATHJAX)

# A malformed RELU_TANH_REPOSITORY (README, publishing) stops it before any work. The execution
# cache (jupyter-cache) first forgets the pages whose experiments (version, config), stored runs,
# scale or library code changed (relu_tanh.book_cache); an unchanged rebuild executes nothing.
book: $(STAMP) $(MATHJAX)
	$(BIN)/python _ext/book_html.py
	$(BIN)/python -m relu_tanh.book_cache _build
	$(BIN)/python -m relu_tanh warm --jobs $(JOBS)
	$(BIN)/jupyter-book build . -W -n --keep-going

test: $(STAMP) $(MATHJAX)
	$(BIN)/python -m pytest

# Paper scale on this machine's GPU within BUDGET seconds (records go to results/).
BUDGET ?= 480
DEVICE ?= cuda
paper: $(STAMP)
	$(BIN)/python -m relu_tanh paper --budget $(BUDGET) --device $(DEVICE)

# The same script at smoke scale on the CPU, into a temporary folder: seconds, nothing stored.
paper-rehearsal: $(STAMP)
	$(BIN)/python -m relu_tanh paper --scale smoke --device cpu --budget 120 --out $$(mktemp -d)

# What a lent GPU machine needs beside the tree (scripts/device_paper.sh): an ignored .carry/.
paper-carry: $(STAMP)
	mkdir -p .carry/data/cifar10 .carry/wheels
	cp ../shared/data/cifar10-jpeg/cifar10-jpg.tar.gz .carry/data/cifar10/
	$(BIN)/python -m pip download --quiet --no-deps --only-binary=:all: -d .carry/wheels \
	    $$(grep -E '^(mnist1d)==' requirements.txt)

clean:
	rm -rf _build
