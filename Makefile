# Every target sets up what it needs from scratch in $(VENV), idempotently.
# torch==2.13.0 (CPU build) is installed before the package so that pip never
# pulls a multi-GB CUDA build; an environment that already has a torch keeps it.
VENV ?= .venv
PY := $(VENV)/bin/python
# pip installs without compiling every module of every package to bytecode (torch
# alone: 12 s of a 20 s install); Python compiles the modules a run imports, once,
# on first import. Where the environment sets PYTHONDONTWRITEBYTECODE, every
# process would compile them again: it is cleared for the targets here.
export PYTHONDONTWRITEBYTECODE :=
PIP := $(PY) -m pip install --quiet --disable-pip-version-check --no-compile

.PHONY: venv demo test test-slow lint docs docs-check

venv:
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PIP) torch==2.13.0

demo: venv
	$(PIP) -e .
	$(PY) examples/quickstart.py

# The suites run on one worker per CPU (at most 4; pytest-xdist): on 2 cores the
# fast suite takes 170-200 s instead of 270 s. Plain `pytest` runs in one process.
XDIST := -n auto --maxprocesses=4 --dist worksteal

# The package with an extra, installed editable once per change of pyproject.toml
# (code changes need no reinstall): a stamp in the venv records it, so that CI's
# three targets resolve the dependencies once each rather than at every target.
$(VENV)/.installed-%: pyproject.toml | venv
	$(PIP) -e ".[$*]"
	touch $@

test: venv $(VENV)/.installed-test
	$(PY) -m pytest $(XDIST)

test-slow: venv $(VENV)/.installed-test
	$(PY) -m pytest -m slow $(XDIST)

lint: venv $(VENV)/.installed-test
	$(PY) -m ruff check sklearn_mtl tests examples benchmarks docs

# The documentation site, offline, warnings as errors; open docs/_build/html/index.html.
# The examples run during the build (one torch thread each) so the gallery shows
# their figures, two at a time; SPHINXOPTS="-D plot_gallery=0" skips them for a
# quick text build.
SPHINXOPTS ?=
docs: venv $(VENV)/.installed-docs
	rm -rf docs/api
	OMP_NUM_THREADS=1 $(PY) -m sphinx -W --keep-going -b html $(SPHINXOPTS) docs docs/_build/html

# The built site as a reader sees it: headless Chromium (Debian's `chromium`
# package) opens every page at 1024 and 1400 px and fails on a code block or
# table wider than its column, unrendered math, a missing or shrunken figure,
# or anything fetched from the network; screenshots land in docs/_build/check.
docs-check: docs
	$(PY) docs/check_site.py docs/_build/html --out docs/_build/check
