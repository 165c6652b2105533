# Two commands: `make run` runs the whole system, `make test` runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test test-pipeline test-faults bench lock clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "needs Python 3.11 (python3.11 or python3 on PATH, or PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

run: install
	$(BIN)/newswire up

# The whole suite; the fault rehearsals run alongside the rest (tests/lanes.sh says how).
test: install
	tests/lanes.sh $(BIN)/python

test-pipeline: install
	$(BIN)/python -m pytest -q -m pipeline

# The fault rehearsals alone (tests/faults: workers killed, Redis restarted, SIGTERM mid-work, ...).
test-faults: install
	$(BIN)/python -m pytest -q -m fault

bench: install
	$(BIN)/newswire bench --articles 200

# Refresh the constraints (the lock) from a fresh resolve of pyproject.toml.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/python -m pip install --quiet --upgrade pip
	.lockenv/bin/python -m pip install --quiet ".[test]"
	.lockenv/bin/python -m pip freeze --exclude newswire > constraints.txt
	rm -rf .lockenv

clean:
	rm -rf $(VENV) var .pytest_cache
