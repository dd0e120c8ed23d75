# Two commands for a newcomer: `make setup && make train`; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU torch by default; GPU users: make setup CONSTRAINTS=constraints/gpu.txt
CONSTRAINTS ?= constraints/cpu.txt

.PHONY: setup train test test-fast lint bench tensorboard clean

setup: $(BIN)/activate
$(BIN)/activate: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e ".[dev]"
	touch $(BIN)/activate

train: setup
	$(BIN)/python train.py model=lstm

test: setup
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check src tests scripts train.py

bench: setup
	$(BIN)/python -m benchmarks

tensorboard: setup
	$(BIN)/tensorboard --logdir outputs --host 127.0.0.1

clean:
	rm -rf outputs/runs outputs/multirun outputs/cache
