"""migrate-store benchmark: a generated SQLite store copied into PostgreSQL.

Generates a store of N papers (each with provenance, a change-record row, and for a third of
them a daily-list entry and an upvote count), starts a throwaway PostgreSQL cluster (the test
suite's, from tests/pg.py), and copies the store into a fresh database each repeat.  Side by
side, in the same run:

* paperscope's copy (COPY into a scratch table, then one INSERT ... SELECT ON CONFLICT);
* the same copy writing each batch with SQLAlchemy's executemany of INSERT ... ON CONFLICT DO
  NOTHING (what psycopg does with it: one statement per row), which is why the COPY path exists.

    python bench/migrate_store.py [--papers 20000] [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from paperscope.records import PaperRecord, Version  # noqa: E402
from paperscope.store import Store, transfer  # noqa: E402
from pg import Cluster, find_bindir  # noqa: E402 - test infrastructure, after the path tweak


def generate(home: Path, papers: int) -> None:
    records = [
        PaperRecord(
            source="arxiv-snapshot",
            origin=f"gen.jsonl:{n}",
            arxiv_id=f"2501.{n:05d}" if n < 100_000 else f"2502.{n - 100_000:05d}",
            title=f"Generated paper number {n} on topic {n % 97}",
            abstract="An abstract long enough to make rows of a realistic size. " * 12,
            authors=[f"Author {n % 311}", f"Author {n % 113}", f"Author {n % 17}"],
            categories=["cs.CL" if n % 2 else "cs.LG"],
            versions=[Version("v1", f"2025-01-{n % 28 + 1:02d}T00:00:00Z")],
            upvotes=n % 50 if n % 3 == 0 else None,
            daily_date=f"2025-01-{n % 28 + 1:02d}" if n % 3 == 0 else None,
        )
        for n in range(papers)
    ]
    with Store.open(str(home)) as store:
        for start in range(0, papers, 5000):
            store.write_records(records[start : start + 5000])


def _executemany_rows(
    conn: sa.engine.Connection, table: sa.Table, columns: list[str], rows: list[tuple[Any, ...]]
) -> None:
    params = [dict(zip(columns, row, strict=True)) for row in rows]
    conn.execute(postgresql.insert(table).on_conflict_do_nothing(), params)


def run(cluster: Cluster, home: Path, template: str, variant: str) -> tuple[float, int]:
    url = cluster.create_database(template)
    original = transfer._write_rows
    if variant == "executemany":
        transfer._write_rows = _executemany_rows
    try:
        report = transfer.copy_store(str(home), url, batch_size=2000)
    finally:
        transfer._write_rows = original
        cluster.drop_database(url)
    assert report.ok, report.as_dict()
    return report.seconds, report.copied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    cluster = Cluster(find_bindir())
    cluster.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-migrate-") as tmp:
            home = Path(tmp)
            generate(home, args.papers)
            template = cluster.migrated_template()
            results: dict[str, dict[str, float]] = {}
            for variant in ("paperscope", "executemany"):
                times: list[float] = []
                rows = 0
                for _ in range(args.repeats):
                    seconds, rows = run(cluster, home, template, variant)
                    times.append(seconds)
                median = statistics.median(times)
                results[variant] = {"rows": rows, "median_s": round(median, 3), "rows_per_s": round(rows / median)}
    finally:
        cluster.stop()
    if args.json:
        print(orjson.dumps({"papers": args.papers, "repeats": args.repeats, "results": results}).decode())
        return
    print(f"SQLite -> PostgreSQL, {args.papers} papers, median of {args.repeats}")
    print(f"{'variant':<12} {'rows':>8} {'median s':>9} {'rows/s':>9}")
    for variant, result in results.items():
        print(f"{variant:<12} {result['rows']:>8} {result['median_s']:>9} {result['rows_per_s']:>9}")
    ratio = results["executemany"]["median_s"] / results["paperscope"]["median_s"]
    print(f"paperscope's COPY path is {ratio:.1f}x the speed of executemany")


if __name__ == "__main__":
    main()
