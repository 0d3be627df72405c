# Two commands: `make lab` opens the course, `make test` checks all of it.
# On Windows and macOS without make, README.md gives the same steps as plain commands.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# JupyterLab refuses to start as root (Docker images, JupyterHub images) unless told it may.
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
# Extra options for JupyterLab, e.g. `make lab LAB_ARGS="--no-browser --port=8890"`.
LAB_ARGS ?=
# A room with poor Wi-Fi: `make wheelhouse` once where the network is good, copy the folder with
# the course, and every install below reads its wheels instead of the network.
WHEELHOUSE ?= wheelhouse
OFFLINE := $(if $(wildcard $(WHEELHOUSE)/*.whl),--no-index --find-links $(WHEELHOUSE))

.PHONY: lab test lint test-core test-cpus test-pythons bench install student wheelhouse clean-data

lab: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) $(LAB_ARGS) notebooks/

# test-core is the README's `pytest tests` + `pytest --nbval-lax notebooks/`; the other two run
# the unit tests again on the CPU kernels and the Pythons a learner's laptop may have instead.
test: lint test-core test-cpus test-pythons

# The package and its tests read as teaching code: ruff's lint and format, mypy's types.
lint: $(STAMP)
	$(BIN)/ruff check cvlearn tests
	$(BIN)/ruff format --check cvlearn tests
	$(BIN)/mypy

test-core: $(STAMP)
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest --nbval-lax notebooks/

test-cpus: $(STAMP)
	ATEN_CPU_CAPABILITY=default $(BIN)/python -m pytest tests -m "not notebooks and not browser and not install" -q

test-pythons: $(STAMP)
	$(BIN)/python tests/other_pythons.py

bench: $(STAMP)
	$(BIN)/cvlearn bench --notebooks --compare --json benchmarks/results.json --markdown benchmarks/RESULTS.md

install: $(STAMP)

# The student edition, notebooks/student/: the notebooks with empty exercises, outputs cleared.
# tests/test_student_edition.py fails when the committed one is stale; `make student` renews it.
student: $(STAMP)
	$(BIN)/cvlearn course student

# Every wheel the course installs (`.[dev]`, pip and the build backend), for this platform and
# Python, into $(WHEELHOUSE)/; then `pip install --no-index --find-links wheelhouse -e .` works
# offline (tests/test_wheelhouse.py does exactly that). About 3 GB, mostly torch.
wheelhouse: $(STAMP)
	$(BIN)/python -m pip download --dest $(WHEELHOUSE) --only-binary=:all: pip "setuptools>=68" ".[dev]"

# `.[dev]` includes `.[teach]` (nbgrader), so `make test` runs the nbgrader round trip too.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(OFFLINE) --upgrade pip
	$(BIN)/python -m pip install $(OFFLINE) -e ".[dev]"
	touch $(STAMP)

clean-data:
	find datasets -mindepth 1 ! -name README.md -exec rm -rf {} +
