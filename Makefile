# The two commands of the README. Both set everything up first (cached after the first run).
.PHONY: setup demo test lint bench clean

PY := .venv/bin/python
PYTEST_ARGS ?=

setup:
	@bash deploy/bootstrap.sh

demo: setup
	$(PY) -m streaming.cli demo $(DEMO_ARGS)

test:
	@bash deploy/bootstrap.sh --system
	$(PY) -m pytest $(PYTEST_ARGS)

# The checks a contributor runs before pushing; CI runs them before the tests.
SHELL_SCRIPTS := $(wildcard deploy/*.sh deploy/*/*.sh) .ci/run

lint:
	@bash deploy/bootstrap.sh --system
	$(PY) -m ruff check streaming training tests
	$(PY) -m ruff format --check streaming training tests
	shellcheck $(SHELL_SCRIPTS)

clean:
	rm -rf build .venv
