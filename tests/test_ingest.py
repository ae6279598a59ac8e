"""`paperscope ingest` and `paperscope stats` end to end: real files, the real database of the
home (SQLite, or PostgreSQL with ``--backend postgresql``), real subprocesses."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from paperscope.cli import main
from paperscope.ingest import Ingestor
from paperscope.store import Store
from pg import child_env, database_for

PAPERSCOPE = str(Path(sys.executable).with_name("paperscope"))


def run_cli(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--home", str(home), "--quiet", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def query(home: Path, sql: str) -> tuple[Any, ...]:
    """The first row of ``sql`` on the home's database, whichever backend it is."""
    with Store.open(str(home), upgrade=False) as store, store.connect() as conn:
        return tuple(conn.execute(sa.text(sql)).one())


def last_json(output: str) -> dict:  # type: ignore[type-arg]
    return json.loads(output[output.index("{") :])


def test_ingest_all_of_shared_data_then_again_changes_nothing(shared_data: Path, home: Path) -> None:
    code, out = run_cli(home, "ingest", "--json", str(shared_data))
    first = last_json(out)
    assert first["added"] > 6000, first  # 5,183 SciFact + 783 month + snapshot, pages, API, OAI
    assert first["files"] >= 40
    assert any(s.endswith("README.md") for s in first["skipped"]), "non-paper files are listed as skipped"
    assert code == (1 if first["rejected"] else 0)
    code, out = run_cli(home, "ingest", "--json", str(shared_data))
    second = last_json(out)
    assert second["added"] == 0 and second["updated"] == 0
    assert second["unchanged"] == first["added"] + first["updated"] + first["unchanged"]
    code, out = run_cli(home, "stats", "--json")
    stats = last_json(out)
    distinct = query(home, "SELECT COUNT(DISTINCT paper_key) FROM papers")[0]
    assert stats["papers"] == distinct == first["added"]
    assert stats["by_source"]["arxiv-snapshot"] == 100
    assert stats["list_days"] >= 21  # 20 weekdays of February 2026 plus 2024-10-25


def test_sources_agree_on_one_paper(shared_data: Path, store: Store) -> None:
    """The month of Daily Papers and the HF API response share papers with the arXiv sources only
    by id: each paper must exist once, with facts from every source that named it."""
    with Ingestor(store, report_rejects=False) as ingestor:
        ingestor.ingest_paths([shared_data / "hf-daily", shared_data / "arxiv" / "atom"])
    paper = store.get_paper("2410.17243")
    assert paper is not None
    assert paper.hf_upvotes > 0 and "2024-10-25" in paper.list_dates
    assert paper.authors[0] == "Zesen Cheng"


def test_malformed_records_are_rejected_with_their_origin_and_the_rest_kept(
    shared_data: Path, home: Path, tmp_path: Path
) -> None:
    lines = (shared_data / "arxiv" / "kaggle" / "arxiv-metadata-oai-snapshot.sample.jsonl").read_bytes().splitlines()
    broken = tmp_path / "broken.jsonl"
    no_title = orjson.loads(lines[5])
    no_title["title"] = ""
    broken.write_bytes(b"\n".join([*lines[:3], b'{"id": "0704.9999", "title": ', orjson.dumps(no_title), *lines[6:10]]))
    code, out = run_cli(home, "ingest", "--json", str(broken))
    summary = last_json(out)
    assert code == 1
    assert summary["rejected"] == 2 and summary["added"] == 7
    rejects = [json.loads(line) for line in (home / "rejects.jsonl").read_text().splitlines()]
    assert [r["origin"] for r in rejects] == [f"{broken}:4", f"{broken}:5"]
    assert all(r["reason"] for r in rejects)
    # A rerun reports the same two again (the log keeps both times); stats counts each record once.
    code, out = run_cli(home, "ingest", "--json", str(broken))
    assert code == 1 and last_json(out)["rejected"] == 2
    assert len((home / "rejects.jsonl").read_text().splitlines()) == 4
    code, out = run_cli(home, "stats", "--json")
    assert code == 0 and last_json(out)["rejects"] == 2


def test_unknown_and_missing_files_are_clear_errors(home: Path, tmp_path: Path) -> None:
    odd = tmp_path / "notes.txt"
    odd.write_text("shopping list: milk, eggs\n")
    result = CliRunner().invoke(main, ["--home", str(home), "ingest", str(odd)])
    assert result.exit_code == 2 and "notes.txt" in result.stderr
    result = subprocess.run(
        [PAPERSCOPE, "--home", str(home), "ingest", str(tmp_path / "missing.json")],
        env=child_env(home),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "missing.json" in result.stderr and "Traceback" not in result.stderr


def write_snapshot(sample: Path, path: Path, lines: int) -> None:
    real = [orjson.loads(line) for line in sample.read_bytes().splitlines() if line.strip()]
    with open(path, "wb") as out:
        for i in range(lines):
            record = dict(real[i % len(real)])
            record["id"] = f"{9001 + i // 90000:04d}.{i % 90000:05d}"
            record["title"] = f"{record['title']} (resampled {i})"
            out.write(orjson.dumps(record) + b"\n")


@pytest.mark.slow
def test_killed_ingest_loses_nothing_committed_and_a_rerun_finishes(
    shared_data: Path, home: Path, tmp_path: Path
) -> None:
    total = 40_000
    snapshot = tmp_path / "snapshot.jsonl"
    write_snapshot(shared_data / "arxiv" / "kaggle" / "arxiv-metadata-oai-snapshot.sample.jsonl", snapshot, total)
    command = [PAPERSCOPE, "--home", str(home), "--quiet", "ingest", "--batch-size", "500", "--json", str(snapshot)]
    env = child_env(home)
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = home / "paperscope.db"
    committed = 0
    deadline = time.monotonic() + 120
    try:
        while committed < 2000 and time.monotonic() < deadline:
            time.sleep(0.05)
            # On SQLite, not before the ingest made the file (opening it would create it).
            if database_for(home) or db.exists():
                # The schema may not be there yet, or the file locked for a moment.
                with contextlib.suppress(sa.exc.OperationalError):
                    committed = query(home, "SELECT COUNT(*) FROM papers")[0]
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    after_kill = query(home, "SELECT COUNT(*) FROM papers")[0]
    assert 2000 <= after_kill < total, "the kill must land mid-way for this test to mean anything"

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    summary = json.loads(rerun.stdout)
    assert summary["added"] == total - after_kill
    assert summary["unchanged"] == after_kill
    assert query(home, "SELECT COUNT(*), COUNT(DISTINCT arxiv_id) FROM papers") == (total, total)
    assert query(home, "SELECT COUNT(*) FROM paper_sources")[0] == total
    if database_for(home) is None:  # SQLite's own check of the file the kill interrupted
        assert query(home, "PRAGMA integrity_check")[0] == "ok"
