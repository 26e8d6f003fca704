# newsflow developer commands. `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.install-stamp

.PHONY: run backfill replay test lint typecheck audit install system-deps clean bench help

help:
	@echo "make run    - start the whole pipeline on embedded defaults (broker + Postgres included)"
	@echo "make backfill DIR=folder - ingest a folder once into the running pipeline (the folder is left as it is)"
	@echo "make replay - publish the archived files again (after the embedded broker was lost)"
	@echo "make test   - install, lint, type-check and run the test suite"
	@echo "make bench  - run the benchmarks (see docs/benchmarks.md)"
	@echo "make audit  - check the pinned dependencies for known vulnerabilities (pip-audit)"

# Reinstall only when the dependency list or the constraints change.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Debian tools some tests drive (promtool for the Prometheus config and alert rules; prometheus,
# its postgres exporter and chromium for the metrics and dashboard tests). Installed when missing
# and we are root with apt (as in CI); elsewhere those tests skip and say why.
SYSTEM_TOOLS := promtool:prometheus prometheus:prometheus prometheus-postgres-exporter:prometheus-postgres-exporter chromium:chromium
system-deps:
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "note: install$$missing for the tests that use them (they skip otherwise)"; fi; \
	fi

# Ctrl-C, or SIGINT/SIGTERM to make itself, stops every service, the broker and the database.
run: $(STAMP)
	$(BIN)/newsflow run

# The CLI is not on PATH (it lives in .venv/bin); these wrap its one-shot commands.
backfill: $(STAMP)
	@if [ -z "$(DIR)" ]; then echo "usage: make backfill DIR=/path/to/folder" >&2; exit 2; fi
	$(BIN)/newsflow ingest "$(DIR)" --once

replay: $(STAMP)
	$(BIN)/newsflow replay

lint: $(STAMP)
	$(BIN)/ruff check shared services tests bench deploy training
	$(BIN)/ruff format --check shared services tests bench deploy training

typecheck: $(STAMP)
	$(BIN)/mypy shared services deploy bench training

# Known vulnerabilities in the pinned dependencies (pip-audit over constraints.txt; needs network).
# Where no vulnerability service answers it warns and passes; AUDIT_STRICT=1 makes that an error.
audit: $(STAMP)
	$(BIN)/python -m deploy.audit

# The suite's files run in parallel, one worker per core (TEST_WORKERS=0 runs them in this process).
# `-m ""` runs every test, the faults and e2e ones a plain `pytest` leaves out (see pyproject.toml).
TEST_WORKERS ?= auto
test: system-deps lint typecheck audit
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m ""

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .newsflow .pytest_cache .mypy_cache .ruff_cache
