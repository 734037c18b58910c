# One target per thing a person does. `make run` and `make test` install what is missing first.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: run test test-fast lint bench faults predictive system venv clean

run: system venv
	$(VENV)/bin/ondol up

test: system venv lint
	$(PY) -m pytest

# The developer's loop: the linters and every test but the long ones (`@pytest.mark.slow`: fault drills,
# worker kills, browser walks, whole-stack and multi-process runs, API fuzzing); `make test` runs all.
test-fast: system venv lint
	$(PY) -m pytest -m "not slow"

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) scripts/check_library_owners.py

bench: system venv
	PY=$(PY) bash bench/run_all.sh

faults: system venv
	$(PY) bench/faults/run.py --output bench/results/faults.md

predictive: system venv
	$(PY) bench/predictive.py --output bench/results/predictive.md

system:
	bash scripts/install-system.sh

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) .ondol build *.egg-info
