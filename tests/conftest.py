"""Fixtures shared by every test module: the real data folder and fresh homes on disk."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paperscope.store import Store

# Fixture modules (tests/ is on sys.path: pytest inserts it for this conftest); pg before
# web_support, which imports it: pytest rewrites the asserts only of a module it imports first.
pytest_plugins = ["pg", "web_support", "browser_support"]

# Tests never reach the internet: a `paperscope serve` started by a test (and its children) would
# run the default jobs against arXiv and Hugging Face.  Tests of the scheduler turn it on with
# their own endpoints (the replay server).
os.environ["PAPERSCOPE_JOBS_ENABLED"] = "false"

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO.parent / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout.  Tests need it; its absence is an error, not a skip."""
    if not (SHARED_DATA / "README.md").exists():
        raise RuntimeError(f"test data not found at {SHARED_DATA}: clone the repo beside shared/")
    return SHARED_DATA


@pytest.fixture()
def home(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "home"
    path.mkdir()
    yield path
    # With --backend postgresql, the home's database goes with the test (a no-op on SQLite).
    # Imported here: at this file's import time pytest has not yet loaded pg as a plugin, and
    # importing it earlier would keep pytest from rewriting its asserts.
    from pg import drop_home

    drop_home(path)


@pytest.fixture()
def store(home: Path) -> Iterator[Store]:
    with Store.open(str(home)) as opened:
        yield opened


@pytest.fixture()
def replay() -> Iterator[Any]:
    """A started loopback :class:`replay_server.ReplayServer` (test infrastructure), stopped after."""
    from replay_server import serve  # tests/ is on sys.path (no __init__.py: pytest inserts it)

    yield from serve()
