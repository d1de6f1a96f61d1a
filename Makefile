# Two entry points: `make book` builds the executable book, `make test` runs every test.
# Both create the virtual environment in .venv and install the pinned requirements first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: book test paper paper-rehearsal paper-carry clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going

test: $(STAMP)
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
