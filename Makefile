# `make test` sets up everything and runs lint, types and the test suite.
.PHONY: setup setup-dev lint types pytest test run bench-ingest

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

test: lint types pytest

run:
	./run

bench-ingest: setup
	.venv/bin/python bench/ingest.py
