"""The store on both backends beyond tests/test_store.py (which also runs on both): facts,
rollback, real-data lists, and identical answers from SQLite and PostgreSQL.

Every test here runs twice (``database_url`` is parametrised in ``tests/pg.py``), and the last
ones ingest the same real data into both backends and require identical answers.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from paperscope.ingest import Ingestor
from paperscope.records import Version
from paperscope.store import Store
from paperscope.store.engine import MIGRATIONS_DIR
from paperscope.store.lists import trending_score
from pg import clone_home, database_for, drop_home
from test_store import snapshot_record

HF_MONTH = "hf-daily/hf-daily-2026-02.json"


@pytest.fixture()
def backend_store(home: Path, database_url: str) -> Iterator[Store]:
    with Store.open(str(home), database_url) as opened:
        yield opened


def _head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def _ingest(store: Store, *paths: Path) -> dict[str, object]:
    with Ingestor(store, report_rejects=False) as ingestor:
        return ingestor.ingest_paths(list(paths)).as_dict()


def test_migrations_build_the_schema_on_an_empty_postgresql_database(home: Path, pg_empty_url: str) -> None:
    with Store.open(str(home), pg_empty_url) as opened:
        assert opened.dialect == "postgresql"
        with opened.connect() as conn:
            revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            assert revision == _head_revision()
            defaults: dict[str, str] = dict(
                conn.execute(
                    sa.text(
                        "SELECT table_name || '.' || column_name, column_default "
                        "FROM information_schema.columns "
                        "WHERE table_schema = 'public' AND column_default LIKE 'nextval%'"
                    )
                ).all()
            )
        # Integer primary keys became sequences, so inserts without an id work on PostgreSQL.
        assert {"papers.id", "paper_changes.seq", "users.id", "subscriptions.id", "digest_sends.id"} <= set(defaults)
    with Store.open(str(home), pg_empty_url) as again:  # reopening migrates nothing twice
        assert again.count_papers() == 0




def test_change_record_and_job_state(backend_store: Store) -> None:
    backend_store.write_records(
        [snapshot_record(), snapshot_record(arxiv_id="0704.0002", title="Sparsity-certifying graph decomp.")]
    )
    seq = backend_store.last_change_seq()
    assert seq == 2
    backend_store.write_records(
        [snapshot_record(abstract="Revised.", versions=[Version("v3", None)])],
        job=("harvest:x", {"token": "é"}),
    )
    assert [c.paper_id for c in backend_store.changes_since(seq)] == [backend_store.resolve_key("0704.0001")]
    assert backend_store.get_job_state("harvest:x") == {"token": "é"}
    backend_store.set_job_state("harvest:x", {"token": "next"})
    assert backend_store.get_job_state("harvest:x") == {"token": "next"}
    backend_store.set_job_state("harvest:x", None)
    assert backend_store.get_job_state("harvest:x") is None


def test_a_failed_batch_leaves_nothing_behind(backend_store: Store) -> None:
    # The job state cannot be encoded: that fails after the papers were written in the same
    # transaction, which must then be rolled back as a whole.
    with pytest.raises(TypeError):
        backend_store.write_records([snapshot_record()], job=("harvest:y", {"pos": object()}))
    assert backend_store.count_papers() == 0 and backend_store.last_change_seq() == 0
    assert backend_store.get_job_state("harvest:y") is None
    assert backend_store.write_records([snapshot_record()]).added == 1


def test_daily_lists_and_trending_on_real_data(backend_store: Store, shared_data: Path) -> None:
    _ingest(backend_store, shared_data / HF_MONTH)
    entries = json.loads((shared_data / HF_MONTH).read_text())["papers"]
    assert backend_store.list_days() == sorted({e["date"] for e in entries})
    assert backend_store.count_daily("2026-02-01", "2026-02-28") == len({e["paper_id"] for e in entries})
    week = [e for e in entries if "2026-02-23" <= e["date"] <= "2026-02-27"]
    assert backend_store.count_daily("2026-02-23", "2026-02-27") == len(week)

    top = backend_store.daily_papers("2026-02-23", "2026-02-27", limit=10)
    assert [p.upvotes for p in top] == sorted((int(e["upvotes"]) for e in week), reverse=True)[:10]
    rest = backend_store.daily_papers("2026-02-23", "2026-02-27", offset=10)
    assert len(rest) == len(week) - 10 and {p.key for p in rest}.isdisjoint(p.key for p in top)
    newest_first = backend_store.daily_papers("2026-02-01", "2026-02-28", sort="date", limit=5)
    assert all(p.list_dates[0] == max(e["date"] for e in entries) for p in newest_first[:1])

    ranked = backend_store.trending(window_days=7, limit=5, today=date(2026, 3, 1))
    assert len(ranked) == 5
    by_id = {e["paper_id"]: e for e in entries}
    for paper, score in ranked:
        entry = by_id[paper.key]
        age = (date(2026, 3, 1) - date.fromisoformat(entry["date"])).days
        assert score == pytest.approx(trending_score(int(entry["upvotes"]), age))
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)


def _everything(store: Store, shared_data: Path) -> dict[str, object]:
    summary = _ingest(store, shared_data)
    again = _ingest(store, shared_data)
    papers = [dataclasses.asdict(p) for batch in store.iter_papers(batch_size=500) for p in batch]
    for paper in papers:  # wall-clock times differ between the two runs, nothing else may
        paper.pop("created_at"), paper.pop("modified_at")
    return {
        "summary": {k: summary[k] for k in ("added", "updated", "unchanged", "rejected", "files")},
        "again": {k: again[k] for k in ("added", "updated", "unchanged")},
        "stats": {k: v for k, v in store.stats().items() if k != "rejects"},
        "papers": papers,
        "changes": [dataclasses.astuple(c) for c in store.changes_since(0, limit=1_000_000)],
        "daily": [p.key for p in store.daily_papers("2024-01-01", "2026-12-31", sort="upvotes")],
        "by_published": [p.key for p in store.daily_papers("2024-01-01", "2026-12-31", sort="published")],
        "trending": [(p.key, s) for p, s in store.trending(window_days=30, limit=100, today=date(2026, 3, 1))],
        "days": store.list_days(),
    }


def test_all_shared_data_gives_identical_results_on_both_backends(
    tmp_path: Path, pg_url: str, shared_data: Path
) -> None:
    lite_url = f"sqlite:///{tmp_path / 'a' / 'paperscope.db'}"  # named: the suite's --backend may be PostgreSQL
    with Store.open(str(tmp_path / "a"), lite_url) as lite, Store.open(str(tmp_path / "b"), pg_url) as pg:
        assert (lite.dialect, pg.dialect) == ("sqlite", "postgresql")
        on_sqlite = _everything(lite, shared_data)
        on_pg = _everything(pg, shared_data)
    assert on_sqlite["stats"]["papers"] > 5000  # type: ignore[index]
    again = on_sqlite["again"]
    assert again["added"] == 0 and again["updated"] == 0, again  # type: ignore[index]
    for name in on_sqlite:
        assert on_pg[name] == on_sqlite[name], name


def test_a_cloned_home_gets_its_own_copy_of_the_database(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """``pg.clone_home``, which gives each web test its own copy of the populated home: on the
    suite's backend, the copy starts with the source's rows and later writes stay apart."""
    source, copy = tmp_path / "source", tmp_path / "copy"
    with Store.open(str(source)) as original:
        original.write_records([snapshot_record()])
    clone_home(source, copy)
    try:
        with Store.open(str(source)) as original, Store.open(str(copy)) as cloned:
            assert original.dialect == cloned.dialect == request.config.getoption("--backend")
            assert cloned.settings.database_url != original.settings.database_url
            assert cloned.get_paper("0704.0001") == original.get_paper("0704.0001") is not None
            cloned.write_records([snapshot_record(arxiv_id="0704.0002", title="Only in the copy")])
            original.write_records([snapshot_record(arxiv_id="0704.0003", title="Only in the source")])
            assert (cloned.get_paper("0704.0003"), original.get_paper("0704.0002")) == (None, None)
            assert cloned.count_papers() == original.count_papers() == 2
    finally:
        drop_home(copy)
    if database_for(copy) is not None:  # dropped: asking again makes a new, empty database
        with Store.open(str(copy)) as again:
            assert again.count_papers() == 0


def test_missing_postgresql_binaries_fail_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    import pg

    monkeypatch.delenv("PG_BINDIR", raising=False)
    monkeypatch.setattr(pg.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(pg.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match=r"initdb, pg_ctl.*scripts/setup-system\.sh"):
        pg.find_bindir()
