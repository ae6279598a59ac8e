"""Fixtures shared by every test module: the real data folder and fresh homes on disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paperscope.store import Store

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO.parent / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout.  Tests need it; its absence is an error, not a skip."""
    if not (SHARED_DATA / "README.md").exists():
        raise RuntimeError(f"test data not found at {SHARED_DATA}: clone the repo beside shared/")
    return SHARED_DATA


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture()
def store(home: Path) -> Iterator[Store]:
    with Store.open(str(home)) as opened:
        yield opened
