# Omnishop: `make run` serves the demo, `make test` runs the whole suite; both install what they need.
PYTHON ?= python3
VENV   ?= .venv
HOST   ?= 127.0.0.1
PORT   ?= 8000
BIN    := $(VENV)/bin
export FLASK_APP := wsgi:app
# make is a developer's tool: a missing SECRET_KEY is generated once into instance/ (docs/security.md).
# Production never runs make, and there the app refuses to start without a strong SECRET_KEY.
export OMNISHOP_ENV ?= development

.PHONY: install run test test-sqlite test-postgres lint audit fuzz bench faults cluster soak mutants clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/activate pyproject.toml constraints.txt
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask shop demo
	HOST=$(HOST) PORT=$(PORT) VENV=$(VENV) scripts/run.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# pip-audit over constraints.txt: fails on a known vulnerability; offline it says so and passes.
audit: install
	$(BIN)/python scripts/audit.py

test: lint audit test-sqlite test-postgres

test-sqlite: install
	TEST_DB=sqlite $(BIN)/pytest -q

test-postgres: install
	TEST_DB=postgres $(BIN)/pytest -q

# schemathesis from outside against a live server, as the demo admin and shopper (docs/security.md)
fuzz: install
	VENV=$(VENV) scripts/fuzz.sh

bench: install
	$(BIN)/python -m bench

# The app under gunicorn with PostgreSQL and Stripe refused, black-holed and slowed (docs/operations.md).
faults: install
	$(BIN)/python -m faults

# Two gunicorn nodes, two schedulers and nginx over one PostgreSQL and Redis on 127.0.0.1: the pickup
# story across nodes, one scheduler firing, the leader and a node SIGKILLed (docs/scaling.md). Not part of
# `make test`; installs nginx with apt-get if missing. `make cluster SOAK=600` adds a soak of 600 s.
SOAK_RATE ?= 3
cluster: install
	$(BIN)/python -m cluster $(if $(SOAK),--soak $(SOAK) --rate $(SOAK_RATE))

# The soak alone is `make cluster` with SOAK (default 600 s; SOAK=60 to try it).
soak: install
	$(BIN)/python -m cluster --soak $(or $(SOAK),600) --rate $(SOAK_RATE)

# Mutation testing (docs/testing.md): pyproject.toml [tool.mutmut] lists the modules and the tests; not part
# of `make test`. MUTANTS='inventory.holding.*' runs only the matching mutants (glob), MUTANTS_DB=postgres
# runs them on PostgreSQL (from a copy of the tree: mutmut keeps its results in ./mutants). Sessions copy
# a migrated template database (OMNISHOP_TEST_TEMPLATE). Lists the survivors; `$(BIN)/mutmut show NAME`.
MUTANTS ?=
MUTANTS_DB ?= sqlite
MUTANTS_CHILDREN ?= 2
mutants: install
	TEST_DB=$(MUTANTS_DB) OMNISHOP_TEST_TEMPLATE=1 $(BIN)/mutmut run --max-children $(MUTANTS_CHILDREN) $(MUTANTS)
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache mutants
