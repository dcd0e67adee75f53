# Two commands (see README):  make demo   |   make test
# Everything lives in a local virtual environment, .venv, created on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# CPU build of torch. On a machine with a GPU, install your CUDA torch into .venv first;
# elsewhere `make demo TORCH="torch --index-url https://download.pytorch.org/whl/cpu"` also works.
TORCH  ?= torch==2.13.0
PORT   ?= 8888

.PHONY: demo demo-run test test-all test-binder bench setup clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev,scale]"
	touch $@

setup: $(VENV)/.installed

## Set up, then open JupyterLab on the demo notebooks (HEADLESS=1: execute them instead).
demo: setup
ifeq ($(HEADLESS),1)
	$(PY) -m astroad_nb.cli notebooks --execute --output notebooks/outputs
else
	$(PY) -m jupyter lab --notebook-dir=notebooks --port=$(PORT)
endif

## Execute every demo notebook headless (FAST sizes with ASTROAD_FAST=1).
demo-run: setup
	$(PY) -m astroad_nb.cli notebooks --execute --output notebooks/outputs

## Set up, then run the test suite (slow and benchmark tests are excluded by default).
test: setup
	ASTROAD_FAST=1 $(PY) -m pytest

test-all: setup
	ASTROAD_FAST=1 $(PY) -m pytest -m "not benchmark"

## Binder check: binder/requirements.txt in a fresh venv, notebooks executed there.
test-binder: setup
	$(PY) -m pytest -m binder tests/test_binder.py

## Benchmarks against PyOD and the machine's matmul peak (not part of `make test`).
bench: setup
	$(PY) -m pytest -m benchmark -s tests/benchmarks

clean:
	rm -rf $(VENV) notebooks/outputs .pytest_cache
