# `make test` sets up everything and runs lint, types and the test suite.
.PHONY: setup setup-dev lint types pytest pytest-pg test run bench-ingest

setup:
	scripts/setup-env.sh

setup-dev:
	scripts/setup-env.sh dev
	scripts/setup-system.sh

lint: setup-dev
	.venv/bin/ruff check src tests bench

types: setup-dev
	.venv/bin/mypy

pytest: setup-dev
	.venv/bin/python -m pytest -q -ra

# The whole suite again with every home's database on a throwaway PostgreSQL cluster (tests/pg.py);
# tests marked sqlite_only look at the SQLite file itself and run in the first pass only.
pytest-pg: setup-dev
	.venv/bin/python -m pytest -q -ra --backend postgresql -m "not sqlite_only" tests/

test: lint types pytest pytest-pg

run:
	./run

bench-ingest: setup
	.venv/bin/python bench/ingest.py
