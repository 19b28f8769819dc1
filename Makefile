# charger-access — the two commands are `make run` and `make test`; everything else helps.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# `docker compose` (plugin) where it works, else the standalone `docker-compose`.
COMPOSE := $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
comma := ,
.PHONY: help install run test lint unit integration e2e audit rebuild bench bench-growth bench-scaling seed-fleet faults compose-cli up down clean contract-docs

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

install: $(STAMP)  ## create .venv and install the project with pinned deps (no-op when done)

# Re-runs only when the dependency declarations change; the stamp proves it finished.
# The client package (clients/python: the contract models) first, editable, so the
# service's pinned `charger-access-client` is this checkout's and never a registry's.
$(STAMP): pyproject.toml constraints.txt clients/python/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt \
		-e ./clients/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[local,bench,dev]'
	@touch $@

run: install  ## start broker, database, mail catcher and both services in the foreground
	$(BIN)/charger-access-run

# Two workers, a test module each at a time (module fixtures stay whole): the suite waits on
# brokers, databases and processes as much as it computes. PYTEST_ARGS='-n 0' runs it serially.
test: install lint compose-cli  ## install, lint, then the whole test suite
	$(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: install  ## ruff and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/mypy

unit: install  ## tests without I/O
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: install  ## tests against the real PostgreSQL, broker and SMTP
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

e2e: install  ## tests through the real processes
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

audit: install  ## the auditors' tool over DATABASE_URL, e.g. make audit ARGS="verify"
	$(BIN)/access-audit $(ARGS)

contract-docs: install  ## regenerate docs/openapi.json and docs/asyncapi.json from the code
	$(BIN)/python -m services.access.api.openapi > docs/openapi.json
	$(BIN)/python -m charger_access_client.asyncapi > docs/asyncapi.json

rebuild: install  ## replay the log into fresh read models and swap them in; ARGS="--check" compares only
	$(BIN)/access-rebuild $(ARGS)

.PHONY: keys
keys: install  ## key-encryption keys of person keys, e.g. make keys ARGS="status" (or "rotate")
	$(BIN)/access-keys $(ARGS)

BENCH_ARGS ?=
bench: install  ## P1-P8 against raw baselines on a system of its own (~8 min; not in `test`)
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-growth: install  ## P7 curves, P4 and P6 on fleets of SIZES events (default 100k,1m; 10m takes long)
	$(BIN)/python -m bench.growth --sizes $(or $(SIZES),100k$(comma)1m) --plot docs/growth.png $(GROWTH_ARGS)

bench-scaling: install  ## docs/scaling.md's figures: 1 vs 2 access instances, replica lag (~2 min)
	$(BIN)/python -m bench.two_instances
	$(BIN)/python -m bench.replica_lag

# The history is the same for the same SIZE and SEED (ids from the seed); ARGS="--workers 2"
# writes fleets side by side. DATABASE_URL unset: a new database, named in the output.
SIZE ?= 100k
SEED ?= 1
seed-fleet: install  ## a fleet-scale history (SIZE events, SEED) into DATABASE_URL, e.g. SIZE=1M SEED=7
	$(BIN)/python -m bench.fleet --size $(SIZE) --seed $(SEED) $(ARGS)

faults: install  ## crash/outage/flood scenarios, conservation-checked (~20 min; ARGS="--only kill-access")
	$(BIN)/python -m faults $(ARGS)

# docker-compose.yml is validated offline by a test; Debian's package is enough for that.
compose-cli:  ## make sure `docker-compose` exists (apt-get when root)
	@if command -v docker-compose >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's docker-compose to validate docker-compose.yml"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; \
	else \
		echo "docker-compose is missing and we cannot install it (not root or no apt-get):" \
		     "run 'sudo apt-get install docker-compose'; tests/integration/test_compose.py will fail" >&2; \
	fi

up:  ## the production-like stack with Docker (kafka, postgres, mailpit, services)
	$(COMPOSE) up --build --detach
	@echo "query API on http://localhost:8000, mail UI on http://localhost:8025"

down:  ## stop the Docker stack (volumes are kept)
	$(COMPOSE) down

clean:  ## remove the venv, local state (var/: pg cluster, mail, logs) and caches
	rm -rf $(VENV) var build *.egg-info .mypy_cache .ruff_cache .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
