"""``paperscope migrate-store``: a SQLite home copied into a throwaway PostgreSQL database.

The source is always the SQLite file in the home, named explicitly (``sqlite_url``), so these
tests mean the same whatever ``--backend`` the suite runs with."""

from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson
import psycopg
import sqlalchemy as sa
from click.testing import CliRunner

from paperscope.cli import main
from paperscope.ingest import Ingestor
from paperscope.records import PaperRecord, Version
from paperscope.store import Store
from paperscope.store.transfer import JOB_NAME

NOW = "2026-02-28T10:00:00Z"


def _accounts_and_digests(store: Store) -> None:
    """One row or more in every table the paper ingest does not fill (written as SQL: the
    accounts and digest modules are not what is under test here)."""
    first, second = store.get_papers([1, 2])
    with store.transaction() as conn:

        def run(sql: str, **params: object) -> None:
            conn.execute(sa.text(sql), params)

        run(
            "INSERT INTO paper_enrichment (paper_id, status, reason, attempts, last_tried, next_try) "
            "VALUES (:p, 'not_found', 'arXiv has no such paper', 1, '2026-12-05T00:00:00Z', '2026-12-06T00:00:00Z')",
            p=second.id,
        )
        run(
            "INSERT INTO job_runs (name, last_run, last_status, last_counts, runs, failures, updated_at) "
            "VALUES ('enrich', '2026-12-05T00:00:00Z', 'ok', '{\"enriched\": 1}', 1, 0, '2026-12-05T00:00:01Z')"
        )
        for name in ("ada", "bob"):
            run(
                "INSERT INTO users (username, email, password_hash, created_at) VALUES (:n, :e, 'h', :t)",
                n=name,
                e=f"{name}@x.org",
                t=NOW,
            )
        run(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) "
            "VALUES ('tok', 1, :t, '2026-03-30T00:00:00Z')",
            t=NOW,
        )
        for user, paper in ((1, first.id), (2, first.id), (1, second.id)):
            run("INSERT INTO votes VALUES (:u, :p, :t)", u=user, p=paper, t=NOW)
        run("INSERT INTO collections (user_id, name, created_at) VALUES (1, 'to read', :t)", t=NOW)
        run("INSERT INTO collection_items VALUES (1, :p, :t)", p=second.id, t=NOW)
        # Reader signals (migration 0002): feedback, follows, saved searches, a feed token.
        run("INSERT INTO paper_feedback VALUES (2, :p, -1, :t)", p=second.id, t=NOW)
        run("INSERT INTO follows (user_id, kind, value, value_norm, created_at) "
            "VALUES (1, 'author', 'José García', 'jose garcia', :t)", t=NOW)
        run("INSERT INTO saved_searches (user_id, query, created_at) VALUES (1, 'sparse attention', :t)", t=NOW)
        run("INSERT INTO feed_tokens VALUES (1, 'hash-of-a-token', :t)", t=NOW)
        run(
            "INSERT INTO subscriptions (email, user_id, frequency, status, created_at) "
            "VALUES ('ada@x.org', 1, 'daily', 'active', :t)",
            t=NOW,
        )
        run(
            "INSERT INTO digest_sends (subscription_id, period_key, status, sent_at) "
            "VALUES (1, '2026-02-27', 'sent', :t)",
            t=NOW,
        )
        run("INSERT INTO digest_items VALUES (1, :p, '2026-02-27')", p=first.id)
        # Work queues (migration 0007): a queued submission and a queued confirmation mail.
        run(
            "INSERT INTO fetch_queue (input, arxiv_id, submitted_by, list_date, status, next_attempt_at, created_at) "
            "VALUES ('https://arxiv.org/abs/2611.00001v2', '2611.00001', 'ada', '2026-02-27', 'pending', :t, :t)",
            t=NOW,
        )
        run(
            "INSERT INTO mail_outbox (kind, recipient, message, message_id, status, next_attempt_at, created_at) "
            "VALUES ('confirmation', 'ada@x.org', 'Subject: hi', '<1@x>', 'queued', :t, :t)",
            t=NOW,
        )
        # Migration 0009: failed sign-ins (a site moved mid-attack keeps its counts) and a sign-up
        # waiting for its mailed link (the link keeps working after the move).
        run(
            "INSERT INTO signin_failures (account, address, failed_at) VALUES ('user:1', '203.0.113.7', :t)",
            t="2026-12-05T12:00:00.000000Z",
        )
        run(
            "INSERT INTO pending_signups (token_hash, username, email, password_hash, created_at, expires_at) "
            "VALUES ('ab12', 'waiting', 'waiting@x.org', '$argon2id$v=19$...', :t, :t)",
            t=NOW,
        )
    store.set_job_state("harvest:oai", {"token": "résumé|123", "done": 40})
    # A local paper later found on arXiv: merged, its old id kept as an alias.
    title = "A made-up paper seen first on a saved page"
    page = PaperRecord(source="hf-page", origin="page.txt:1", title=title, abstract="Seen first.")
    store.write_records([page])
    found = PaperRecord(source="arxiv-api", origin="api", arxiv_id="2611.99999", title=title)
    found.versions = [Version("v1", NOW)]
    store.write_records([found])


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'paperscope.db'}"


def _migrate(*args: str) -> tuple[int, dict[str, object] | str]:
    result = CliRunner().invoke(main, ["--quiet", "migrate-store", *args], catch_exceptions=False)
    try:
        return result.exit_code, orjson.loads(result.output)
    except orjson.JSONDecodeError:
        return result.exit_code, result.output


def test_real_home_copies_to_postgresql_with_every_table_and_field(
    home: Path, pg_url: str, shared_data: Path
) -> None:
    with Store.open(str(home), sqlite_url(home)) as lite, Ingestor(lite, report_rejects=False) as ingestor:
        ingestor.ingest_paths([shared_data / "hf-daily", shared_data / "arxiv", shared_data / "hf-pages"])
        _accounts_and_digests(lite)
        before = [p for batch in lite.iter_papers() for p in batch]
        stats = lite.stats()
        trending = [(p.key, s) for p, s in lite.trending(window_days=30, limit=20)]
        with lite.connect() as conn:
            lite_alias = conn.execute(sa.text("SELECT alias FROM paper_aliases")).scalar_one()

    code, report = _migrate("--from", sqlite_url(home), "--to", pg_url, "--json")
    assert code == 0, report
    assert isinstance(report, dict) and report["ok"] is True and report["resumed"] is False
    tables = {t["table"]: t for t in report["tables"]}  # type: ignore[attr-defined]
    assert set(tables) >= {
        "papers", "paper_aliases", "paper_sources", "paper_changes", "daily_entries", "upvote_counts",
        "users", "sessions", "votes", "collections", "collection_items", "subscriptions", "digest_sends",
        "digest_items", "job_state",
    }  # fmt: skip
    for name, entry in tables.items():
        assert entry["source"] == entry["target"] == entry["copied"], name
        assert entry["source"] > 0, f"{name}: the test data should fill every table"
    assert tables["papers"]["source"] == stats["papers"] > 1000

    with Store.open(str(home), pg_url) as pg:
        assert pg.dialect == "postgresql"
        after = [p for batch in pg.iter_papers() for p in batch]
        assert [dataclasses.asdict(p) for p in after] == [dataclasses.asdict(p) for p in before]
        assert pg.get_papers([before[0].id])[0].local_upvotes == 2
        assert {k: v for k, v in pg.stats().items()} == stats
        assert [(p.key, s) for p, s in pg.trending(window_days=30, limit=20)] == trending
        assert pg.get_job_state("harvest:oai") == {"token": "résumé|123", "done": 40}
        assert pg.get_job_state(JOB_NAME) is None, "a finished copy leaves no bookkeeping behind"
        alias = next(p for p in before if p.key == "2611.99999")
        assert pg.get_paper(lite_alias) == alias
        # Sequences were moved past the copied ids: new rows get fresh ids instead of failing.
        new = PaperRecord(source="submit", origin="t", arxiv_id="2612.00001", title="A new paper")
        counts = pg.write_records([new])
        assert counts.added == 1
        assert pg.resolve_key("2612.00001") == max(p.id for p in before) + 1
        with pg.transaction() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO users (username, email, password_hash, created_at) "
                    "VALUES ('cy', 'c@x', 'h', :t)"
                ),
                {"t": NOW},
            )
            assert conn.execute(sa.text("SELECT id FROM users WHERE username = 'cy'")).scalar() == 3

    # The target now holds data: a second copy into it is refused, and nothing changes.
    code, output = _migrate("--from", str(home), "--to", pg_url)
    assert code == 2 and "already holds data" in str(output)

    # And back again, into a new SQLite file: the same papers, field by field.
    back = home.parent / "back"
    code, text = _migrate("--from", pg_url, "--to", sqlite_url(back))
    assert code == 0, text
    lines = str(text).splitlines()
    papers_line = next(line.split() for line in lines if line.startswith("papers "))
    assert papers_line == ["papers"] + [str(stats["papers"] + 1)] * 3  # source, target, copied
    assert "all counts match" in lines[-1] and "MISMATCH" not in str(text)
    with Store.open(str(back), sqlite_url(back)) as copy:
        again = [p for batch in copy.iter_papers() for p in batch]
        assert [dataclasses.asdict(p) for p in again][:-1] == [dataclasses.asdict(p) for p in before]
        # Plus the paper written on PostgreSQL above; rejects.jsonl stays in the home, not the database.
        expected = {**stats, "papers": stats["papers"] + 1, "with_arxiv_id": stats["with_arxiv_id"] + 1}
        expected["by_source"] = {**stats["by_source"], "submit": 1}
        assert copy.stats() == {**expected, "rejects": 0}


def test_bad_source_is_a_clear_error_and_creates_nothing(tmp_path: Path, pg_url: str) -> None:
    missing = tmp_path / "nope" / "paperscope.db"
    code, output = _migrate("--from", f"sqlite:///{missing}", "--to", pg_url)
    assert code == 2 and "does not exist" in str(output) and str(missing) in str(output)
    assert not missing.parent.exists()
    code, output = _migrate("--from", pg_url, "--to", pg_url)
    assert code == 2 and "same database" in str(output)
    empty = tmp_path / "empty.db"
    empty.touch()
    code, output = _migrate("--from", str(empty), "--to", pg_url)
    assert code == 2 and "not a paperscope database" in str(output)


def _generated_store(home: Path, papers: int) -> None:
    records = [
        PaperRecord(
            source="arxiv-snapshot",
            origin=f"gen.jsonl:{n}",
            arxiv_id=f"2501.{n:05d}",
            title=f"Generated paper number {n} on topic {n % 97}",
            abstract="An abstract long enough to make rows of a realistic size. " * 6,
            authors=[f"Author {n % 311}", f"Author {n % 113}"],
            categories=["cs.CL" if n % 2 else "cs.LG"],
            versions=[Version("v1", f"2025-01-{n % 28 + 1:02d}T00:00:00Z")],
            upvotes=n % 50 if n % 3 == 0 else None,
            daily_date=f"2025-01-{n % 28 + 1:02d}" if n % 3 == 0 else None,
        )
        for n in range(papers)
    ]
    with Store.open(str(home), sqlite_url(home)) as store:
        for start in range(0, papers, 5000):
            store.write_records(records[start : start + 5000])


def _progress_rows(pg_url: str) -> int:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT state FROM job_state WHERE name = %s", (JOB_NAME,)).fetchone()
    return sum(t["rows"] for t in orjson.loads(row[0])["tables"].values()) if row else 0


def test_killed_copy_resumes_without_duplicates(home: Path, pg_url: str) -> None:
    _generated_store(home, 10000)
    with sqlite3.connect(home / "paperscope.db") as lite:
        names = [r[0] for r in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        names.remove("alembic_version")
        total = sum(lite.execute(f"SELECT COUNT(*) FROM {n}").fetchone()[0] for n in names)
    assert total > 35000
    command = [
        sys.executable, "-c", "from paperscope.cli import main; main()", "--quiet", "migrate-store",
        "--from", str(home), "--to", pg_url, "--batch-size", "100", "--json",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _progress_rows(pg_url) < 2000:  # well into the copy, far from its end
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, "the copy made no progress"
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait()
    at_kill = _progress_rows(pg_url)
    assert at_kill < total

    second = subprocess.run(command, env=env, capture_output=True, timeout=120, check=False)
    assert second.returncode == 0, second.stderr.decode()
    report = orjson.loads(second.stdout)
    assert report["ok"] is True and report["resumed"] is True
    assert report["copied"] == total - at_kill, "the rerun must go on from the last committed batch"
    by_table = {t["table"]: t for t in report["tables"]}
    assert by_table["papers"]["target"] == 10000 and by_table["paper_changes"]["target"] == 10000
    assert sum(t["target"] for t in report["tables"]) == total
    with psycopg.connect(pg_url) as conn:
        distinct = conn.execute("SELECT COUNT(DISTINCT paper_key), COUNT(*) FROM papers").fetchone()
        assert distinct == (10000, 10000)
        assert conn.execute("SELECT MIN(id), MAX(id) FROM papers").fetchone() == (1, 10000)
        assert conn.execute("SELECT COUNT(*) FROM job_state").fetchone() == (0,)
