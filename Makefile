# `make test` sets up everything and runs lint, types and the test suite.
.PHONY: setup setup-dev lint types pytest pytest-pg test run bench-ingest

# The suites whose stores also run on PostgreSQL (tests/pg.py starts a throwaway cluster);
# the store tests themselves run on both backends in the main pass.
PG_TESTS = tests/test_ingest.py tests/test_accounts.py tests/test_digest_content.py tests/test_digest_send.py \
	tests/test_digest_store.py tests/test_digest_subscribe.py tests/test_digest_account.py \
	tests/test_harvest_arxiv.py tests/test_harvest_hf.py tests/test_add.py tests/test_search.py \
	tests/test_index_keyword.py tests/test_search_hybrid.py tests/test_related.py

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

pytest-pg: setup-dev
	.venv/bin/python -m pytest -q -ra --backend postgresql -m "not sqlite_only" $(PG_TESTS)

test: lint types pytest pytest-pg

run:
	./run

bench-ingest: setup
	.venv/bin/python bench/ingest.py
