# Two commands for a newcomer: `make setup && make train`; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU torch by default; GPU users: make setup CONSTRAINTS=constraints/gpu.txt
CONSTRAINTS ?= constraints/cpu.txt

.PHONY: setup train test test-fast check lint format typecheck bench suite suite-quick scale show tensorboard clean

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

# `make check`: lint, formatting and types on every Python file, then the fast tests (CI runs it)
check: lint typecheck test-fast

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: setup
	$(BIN)/mypy

bench: setup
	$(BIN)/python -m benchmarks

# make suite: the development suite, our defaults against classical baselines, 5 seeds
# (outputs/suite/<date>/suite.md); SUITE_ARGS="--cases gunpoint,airline --seeds 3" narrows it
suite: setup
	$(BIN)/python scripts/suite.py $(SUITE_ARGS)

suite-quick: setup
	$(BIN)/python scripts/suite.py --quick

# make scale: cost curve of 1M/3M/10M-row CSVs (prep, train, predict; time and peak memory)
scale: setup
	$(BIN)/python -m benchmarks.scale

# make show RUN=outputs/runs/<name>/<time>: config diff, epochs, metrics vs baselines, figures
show: setup
	$(BIN)/python scripts/show_run.py $(RUN)

tensorboard: setup
	$(BIN)/tensorboard --logdir outputs --host 127.0.0.1

clean:
	rm -rf outputs/runs outputs/multirun outputs/cache
