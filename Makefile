# Two commands: `make lab` opens the course, `make test` checks all of it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test bench install clean-data

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

test: $(STAMP)
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest --nbval-lax notebooks/

bench: $(STAMP)
	$(BIN)/cvlearn bench --notebooks --compare --json benchmarks/results.json --markdown benchmarks/RESULTS.md

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[dev]"
	touch $(STAMP)

clean-data:
	find datasets -mindepth 1 ! -name README.md -exec rm -rf {} +
