"""The store's merge policy, idempotency, aliases, change record and job state, on a real SQLite file
and a real PostgreSQL database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperscope.records import PaperRecord, Version
from paperscope.store import Store


def snapshot_record(**overrides: object) -> PaperRecord:
    fields: dict[str, object] = {
        "source": "arxiv-snapshot",
        "origin": "snapshot.jsonl:1",
        "arxiv_id": "0704.0001",
        "title": "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies",
        "abstract": "A fully differential calculation in perturbative quantum chromodynamics.",
        "authors": ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan"],
        "categories": ["hep-ph"],
        "primary_category": "hep-ph",
        "versions": [Version("v1", "2007-04-02T19:18:42Z"), Version("v2", "2007-07-24T20:10:27Z")],
        "doi": "10.1103/PhysRevD.76.013009",
    }
    fields.update(overrides)
    return PaperRecord(**fields)  # type: ignore[arg-type]


@pytest.fixture()
def store(home: Path, database_url: str) -> Iterator[Store]:
    """Every behaviour test here runs on both backends (``database_url`` is parametrised in
    ``tests/pg.py``); the two SQLite-file tests open their own store."""
    with Store.open(str(home), database_url) as opened:
        yield opened


@pytest.mark.sqlite_only  # the default database of a home, which --backend postgresql replaces
def test_database_is_a_wal_sqlite_file_with_the_schema(home: Path) -> None:
    Store.open(str(home)).close()
    db = home / "paperscope.db"
    assert db.exists()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        # The newest migration's revision (one head: migrations chain one after another).
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        from paperscope.store.engine import MIGRATIONS_DIR

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        (head,) = ScriptDirectory.from_config(config).get_heads()
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == head
    assert {"papers", "paper_sources", "daily_entries", "upvote_counts", "votes", "subscriptions"} <= tables


def test_reopening_runs_no_migration_twice(home: Path) -> None:
    Store.open(str(home)).close()
    with Store.open(str(home)) as again:
        assert again.count_papers() == 0


def test_same_record_twice_is_added_then_unchanged(store: Store) -> None:
    first = store.write_records([snapshot_record()])
    second = store.write_records([snapshot_record()])
    assert (first.added, first.updated, first.unchanged) == (1, 0, 0)
    assert (second.added, second.updated, second.unchanged) == (0, 0, 1)
    assert store.count_papers() == 1
    assert store.last_change_seq() == 1, "an unchanged record must not enter the change record"


def test_paper_fields_round_trip(store: Store) -> None:
    store.write_records([snapshot_record()])
    paper = store.get_paper("arXiv:0704.0001v2")
    assert paper is not None
    assert paper.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan"]
    assert paper.published == "2007-04-02" and paper.updated == "2007-07-24"
    assert [v["version"] for v in paper.versions] == ["v1", "v2"]
    assert paper.abs_url == "https://arxiv.org/abs/0704.0001"
    assert store.get_paper("https://arxiv.org/abs/0704.0001") is not None
    assert store.get_paper("0704.9999") is None


def test_newer_version_updates_and_keeps_history(store: Store) -> None:
    store.write_records([snapshot_record()])
    newer = snapshot_record(
        source="arxiv-api",
        title="Prompt diphoton production at the Tevatron and the LHC",
        versions=[Version("v3", "2008-01-10T00:00:00Z")],
    )
    counts = store.write_records([newer])
    assert counts.updated == 1
    paper = store.get_paper("0704.0001")
    assert paper is not None
    assert paper.title == "Prompt diphoton production at the Tevatron and the LHC"
    assert [v["version"] for v in paper.versions] == ["v1", "v2", "v3"]
    assert paper.published == "2007-04-02" and paper.updated == "2008-01-10"
    # The old snapshot line arriving again must not roll the title back.
    again = store.write_records([snapshot_record()])
    assert again.unchanged == 1
    assert store.get_paper("0704.0001").title.startswith("Prompt diphoton")  # type: ignore[union-attr]


def test_less_trusted_source_only_fills_gaps(store: Store) -> None:
    store.write_records([snapshot_record()])
    hf = PaperRecord(
        source="hf-api",
        origin="hf.json#0",
        arxiv_id="0704.0001",
        title="A retitled copy",
        abstract="",
        links={"code": "https://github.com/example/diphoton"},
        upvotes=12,
        daily_date="2026-02-27",
        submitted_by="akhaliq",
    )
    counts = store.write_records([hf])
    assert counts.updated == 1
    paper = store.get_paper("0704.0001")
    assert paper is not None
    assert paper.title.startswith("Calculation of prompt diphoton")
    assert paper.code_url == "https://github.com/example/diphoton"
    assert paper.hf_upvotes == 12 and paper.upvotes == 12
    assert paper.list_dates == ["2026-02-27"] and paper.submitted_by == "akhaliq"
    assert store.write_records([hf]).unchanged == 1
    hf.upvotes = 15
    assert store.write_records([hf]).updated == 1
    assert store.get_paper("0704.0001").hf_upvotes == 15  # type: ignore[union-attr]


def test_local_paper_merges_into_arxiv_record_and_keeps_its_old_id(store: Store) -> None:
    page = PaperRecord(
        source="hf-page",
        origin="page.txt:12",
        title="Studying Large Language Model Generalization with Influence Functions",
        abstract="When trying to gain better visibility...",
    )
    store.write_records([page])
    local = store.get_paper(store.get_papers([1])[0].key)
    assert local is not None and local.key.startswith("ps-") and local.arxiv_id is None
    arxiv = PaperRecord(
        source="arxiv-api",
        origin="api",
        arxiv_id="2308.03296",
        title="Studying large language model generalization with influence functions",
        versions=[Version("v1", "2023-08-07T00:00:00Z")],
    )
    counts = store.write_records([arxiv])
    assert counts.updated == 1 and store.count_papers() == 1
    merged = store.get_paper(local.key)
    assert merged is not None and merged.key == "2308.03296"
    assert merged.abstract == "When trying to gain better visibility..."
    # The saved page seen again still lands on the merged paper.
    assert store.write_records([page]).unchanged == 1
    assert store.count_papers() == 1


def test_duplicates_inside_one_batch_make_one_paper(store: Store) -> None:
    counts = store.write_records([snapshot_record(), snapshot_record(origin="snapshot.jsonl:9")])
    assert counts.added == 1 and counts.unchanged == 1
    assert store.count_papers() == 1


def test_change_record_lists_added_and_updated_papers(store: Store) -> None:
    store.write_records(
        [
            snapshot_record(),
            snapshot_record(arxiv_id="0704.0002", title="Sparsity-certifying graph decompositions"),
        ]
    )
    seq = store.last_change_seq()
    store.write_records([snapshot_record(abstract="Revised abstract.", versions=[Version("v3", None)])])
    changes = store.changes_since(seq)
    assert [c.paper_id for c in changes] == [store.resolve_key("0704.0001")]


def test_job_state_commits_with_records(store: Store) -> None:
    store.write_records([snapshot_record()], job=("harvest:x", {"token": "abc"}))
    assert store.get_job_state("harvest:x") == {"token": "abc"}
    store.set_job_state("harvest:x", None)
    assert store.get_job_state("harvest:x") is None


def test_stats_counts_distinct_papers(store: Store) -> None:
    store.write_records([snapshot_record(), snapshot_record(source="arxiv-api", origin="api")])
    stats = store.stats()
    assert stats["papers"] == 1
    assert stats["by_source"] == {"arxiv-api": 1, "arxiv-snapshot": 1}
    assert stats["by_month"] == {"2007-04": 1}
