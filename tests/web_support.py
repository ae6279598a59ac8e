"""Fixtures for the web tests: a home filled once from ../shared/data, copied per test.

Loaded through ``pytest_plugins`` in conftest.py.  The populated home is built once per
session (ingest is the slow part); each test gets its own copy of the home and its database
(the SQLite file in the folder, or on ``--backend postgresql`` a database cloned from the
populated one), so tests that vote or sign up never see each other's writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from paperscope.records import PaperRecord
from paperscope.store import Store
from paperscope.web.app import create_app
from pg import clone_home, drop_home

# A paper whose abstract is an XSS attempt and whose title carries LaTeX.
XSS_ID = "2602.99001"
XSS_TITLE = r"Scaling $\alpha$-Attention <b>bold</b> to $10^{6} \times$ tokens"
XSS_ABSTRACT = 'We show <script>alert("xss")</script> and <img src=x onerror=alert(1)> are inert.'
XSS_DAY = "2026-02-27"
SECRET = "test-secret-key-for-csrf-signing-only"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _fallback_records(shared: Path) -> list[PaperRecord]:
    """The month file read directly, for when the file importers are not available."""
    data = orjson.loads((shared / "hf-daily" / "hf-daily-2026-02.json").read_bytes())
    records = []
    for item in data["papers"]:
        links = {"code": item["github_url"]} if item.get("github_url") else {}
        records.append(
            PaperRecord(
                source="json-list",
                origin="hf-daily-2026-02.json",
                title=item["title"],
                arxiv_id=item["paper_id"],
                abstract=item["abstract"],
                authors=list(item["authors"]),
                published=item["date"],
                links=links,
                upvotes=int(item["upvotes"]),
                daily_date=item["date"],
            )
        )
    return records


def populate(home: Path, shared: Path) -> dict[str, object]:
    with Store.open(str(home)) as store:
        paths = [
            shared / "hf-daily" / "hf-daily-2026-02.json",
            shared / "hf-daily" / "daily_papers_2024-10-25.json",
            *sorted((shared / "arxiv" / "kaggle").glob("*.jsonl")),
        ]
        try:
            from paperscope.ingest import Ingestor

            with Ingestor(store, progress=False) as ingestor:
                summary = ingestor.ingest_paths(paths).as_dict()
            if summary.get("errors"):
                raise ImportError(str(summary["errors"]))
            how = "ingest"
        except ImportError:
            store.write_records(_fallback_records(shared))
            how = "fallback"
        store.write_records(
            [
                PaperRecord(
                    source="json-list",
                    origin="tests",
                    title=XSS_TITLE,
                    arxiv_id=XSS_ID,
                    abstract=XSS_ABSTRACT,
                    authors=["Eve Mallory", "Trent Authority"],
                    categories=["cs.CL"],
                    primary_category="cs.CL",
                    published="2026-02-26",
                    upvotes=0,
                    daily_date=XSS_DAY,
                )
            ]
        )
        from paperscope.index.build import update_indexes

        # Keyword index only: hybrid search then answers from BM25 (with a warning), and the
        # session fixture stays fast; the semantic side is the search helper's to test.
        update_indexes(store, semantic=False)
        return {"how": how, "papers": store.count_papers(), "days": store.list_days()}


@pytest.fixture(scope="session")
def populated_home(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    home = tmp_path_factory.mktemp("web-home")
    populate(home, shared_data)
    (home / "secret_key").write_text(SECRET)
    return home


@pytest.fixture()
def web_store(populated_home: Path, tmp_path: Path) -> Iterator[Store]:
    home = tmp_path / "web-home"
    # populate() closed its store: PostgreSQL copies a database only while nobody is connected.
    clone_home(populated_home, home)
    try:
        with Store.open(str(home)) as store:
            yield store
    finally:
        drop_home(home)


def make_client(store: Store, **kw: object) -> TestClient:
    return TestClient(create_app(store, secret_key=SECRET, **kw))  # type: ignore[arg-type]


@pytest.fixture()
def web_client(web_store: Store) -> Iterator[TestClient]:
    with make_client(web_store) as c:
        yield c


def csrf_of(client: TestClient, path: str = "/signin") -> str:
    """The CSRF token from a page's form (GETting it also sets the visitor's CSRF cookie)."""
    page = client.get(path)
    found = _CSRF.search(page.text)
    assert found, f"no csrf token on {path}"
    return found.group(1)


def sign_up(client: TestClient, username: str, password: str = "correct horse battery") -> None:
    token = csrf_of(client, "/signup")
    answer = client.post(
        "/signup",
        data={
            "username": username,
            "email": f"{username}@example.org",
            "password": password,
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert "ps_session" in client.cookies
