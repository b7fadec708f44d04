# Guichet: the two commands a newcomer needs are `make run` and `make test`.
# Both install what is missing, start a private Redis and Postgres under .data/
# when REDIS_URL / DATABASE_URL are unset, and stop them on exit.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PORT ?= 8000
export RESET_ADMIN ?= 0

.PHONY: run test test-cluster bench lint fmt deps clean-data

# bootstrap.sh writes the stamp itself, last, once everything is installed: a failed or
# interrupted install leaves none and is retried. $(PY) is a prerequisite so a venv whose
# python disappeared (deleted .venv/bin, removed interpreter) is rebuilt despite a stamp.
$(STAMP): pyproject.toml scripts/bootstrap.sh $(PY)
	bash scripts/bootstrap.sh
$(PY): ;

deps: $(STAMP)

# The port is checked before the services start: the server itself would only find it
# taken after migrating and loading the demo.
run: deps
	@$(PY) -m server.cli check-port
	bash scripts/with-services.sh bash scripts/serve.sh

test: deps
	bash scripts/with-services.sh $(PY) -m pytest $(PYTEST_ARGS)

# The invariant, recovery, door and WebSocket suites (two server processes where they start
# servers) against a private 3-master Redis Cluster, with a master failed over mid-load
# (docs/scaling.md, "Redis Cluster").
CLUSTER_TESTS ?= tests/sales/test_invariants.py tests/sales/test_ga_race.py \
	tests/seating/test_holds_api.py tests/seating/test_outbox.py tests/seating/test_janitor.py \
	tests/seating/test_recovery.py \
	tests/door/test_door_race.py tests/door/test_door_channel.py tests/door/test_door_ws.py \
	tests/realtime/test_websocket.py tests/identity/test_revocation.py \
	tests/platform/test_cluster_failover.py
test-cluster: deps
	bash scripts/with-cluster.sh $(PY) -m pytest $(CLUSTER_TESTS) $(PYTEST_ARGS)

bench: deps
	bash scripts/with-services.sh $(PY) -m loadtests.bench $(BENCH_ARGS)

lint: deps
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

fmt: deps
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

clean-data:
	bash scripts/clean-data.sh
