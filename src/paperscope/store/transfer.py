"""Copying a whole store from one database to another (``paperscope migrate-store``).

Every table is copied in primary-key order, one batch per transaction on the target.  The
position reached in each table is saved in the target's ``job_state`` in the same transaction
as the rows, so a copy that is killed goes on from its last committed batch when run again;
rows that are already there are skipped (``ON CONFLICT DO NOTHING``).  At the end PostgreSQL
sequences are moved past the copied ids and the row counts of both sides are compared.

Tables come from reflecting the source (after both are migrated to the same revision), in
foreign-key order, so tables added by later migrations are copied without changes here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, Engine

from ..errors import PaperscopeError
from .engine import create_engine, migrate
from .upsert import utc_now

JOB_NAME = "migrate-store"
# Schema bookkeeping, not data: each side's alembic keeps its own.
_SKIPPED_TABLES = {"alembic_version"}


class TransferError(PaperscopeError):
    """The copy cannot start or go on (bad URL, not a paperscope database, non-empty target)."""


@dataclass(slots=True)
class TableReport:
    table: str
    source: int
    target: int
    copied: int = 0

    @property
    def ok(self) -> bool:
        return self.source == self.target


@dataclass(slots=True)
class TransferReport:
    source: str
    target: str
    resumed: bool = False
    tables: list[TableReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tables)

    @property
    def copied(self) -> int:
        return sum(t.copied for t in self.tables)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "resumed": self.resumed,
            "ok": self.ok,
            "copied": self.copied,
            "seconds": round(self.seconds, 3),
            "tables": [{**asdict(t), "ok": t.ok} for t in self.tables],
        }


def normalize_url(value: str) -> str:
    """A database URL; a path to a SQLite file, or to a home folder holding one, is accepted too."""
    if "://" in value:
        return value
    path = Path(value).expanduser().resolve()
    if path.is_dir():
        path = path / "paperscope.db"
    return f"sqlite:///{path}"


def safe_url(url: str) -> str:
    """The URL as it may be printed and stored: without a password."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError as error:
        raise TransferError(f"{url!r} is not a database URL (sqlite:///PATH or postgresql://...)") from error


def _open(url: str, *, must_exist: bool) -> Engine:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise TransferError(f"{safe_url(url)}: unsupported database; use sqlite:///PATH or postgresql://...")
    # Connecting to a missing SQLite file would create an empty one and "copy" nothing.
    missing = not parsed.database or not Path(parsed.database).is_file()
    if must_exist and parsed.get_backend_name() == "sqlite" and missing:
        raise TransferError(f"source database {parsed.database!r} does not exist: check --from")
    if not must_exist and parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:
        engine.dispose()
        raise TransferError(f"cannot connect to {safe_url(url)}: {error.orig or error}") from error
    if must_exist and "papers" not in sa.inspect(engine).get_table_names():
        engine.dispose()
        raise TransferError(f"{safe_url(url)} is not a paperscope database (it has no papers table)")
    return engine


def _write_rows(conn: Connection, table: sa.Table, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Insert ``rows`` (values in the order of ``columns``), skipping any that are already there."""
    if conn.dialect.name != "postgresql":
        params = [dict(zip(columns, row, strict=True)) for row in rows]
        conn.execute(sqlite.insert(table).on_conflict_do_nothing(), params)
        return
    # On PostgreSQL an INSERT ... ON CONFLICT through executemany is one statement per row;
    # COPY into a scratch table and one INSERT ... SELECT from it is faster (bench/migrate_store.py).
    names = ", ".join(f'"{c}"' for c in columns)
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        cursor.execute(f'CREATE TEMP TABLE IF NOT EXISTS "_copy_{table.name}" (LIKE "{table.name}")')
        cursor.execute(f'TRUNCATE "_copy_{table.name}"')
        with cursor.copy(f'COPY "_copy_{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM "_copy_{table.name}" '
            "ON CONFLICT DO NOTHING"
        )


def _count(conn: Connection, table: sa.Table) -> int:
    query = sa.select(sa.func.count()).select_from(table)
    if table.name == "job_state":
        # The copy's own position is the target's bookkeeping, not copied data.
        query = query.where(table.c.name != JOB_NAME)
    return int(conn.execute(query).scalar() or 0)


def _load_progress(conn: Connection) -> dict[str, Any] | None:
    raw = conn.execute(sa.text("SELECT state FROM job_state WHERE name = :n"), {"n": JOB_NAME}).scalar()
    return orjson.loads(raw) if raw else None


def _save_progress(conn: Connection, progress: dict[str, Any]) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO job_state (name, state, updated_at) VALUES (:n, :s, :t) "
            "ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at"
        ),
        {"n": JOB_NAME, "s": orjson.dumps(progress).decode(), "t": utc_now()},
    )


def _reset_sequences(conn: Connection, tables: list[sa.Table]) -> None:
    """Move each serial column's sequence past the copied ids, so the next insert gets a new one."""
    for table in tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, sa.Integer) or len(table.primary_key.columns) != 1:
                continue
            sequence = conn.execute(
                sa.text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
            ).scalar()
            if sequence:
                conn.execute(
                    sa.text(
                        f"SELECT setval(:s, COALESCE(MAX({column.name}), 1), MAX({column.name}) IS NOT NULL) "
                        f"FROM {table.name}"
                    ),
                    {"s": sequence},
                )


@contextmanager
def _engines(source_url: str, target_url: str) -> Iterator[tuple[Engine, Engine]]:
    source = _open(source_url, must_exist=True)
    try:
        target = _open(target_url, must_exist=False)
    except BaseException:
        source.dispose()
        raise
    try:
        yield source, target
    finally:
        source.dispose()
        target.dispose()


def copy_store(
    source_url: str,
    target_url: str,
    *,
    batch_size: int = 2000,
    on_rows: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> TransferReport:
    """Copy every table of ``source_url`` into ``target_url``; see the module docstring.

    ``on_total`` is told how many rows the source holds, ``on_rows`` how many each batch
    copied (for a progress bar).  The target must be empty or hold an earlier, unfinished copy
    of the same source.
    """
    source_url, target_url = normalize_url(source_url), normalize_url(target_url)
    report = TransferReport(source=safe_url(source_url), target=safe_url(target_url))
    if sa.engine.make_url(source_url) == sa.engine.make_url(target_url):
        raise TransferError("--from and --to are the same database")
    started = time.perf_counter()
    with _engines(source_url, target_url) as (source, target):
        # Both sides on the newest schema, so the same tables and columns exist on each.
        migrate(source)
        migrate(target)
        metadata = sa.MetaData()
        metadata.reflect(source)
        tables = [t for t in metadata.sorted_tables if t.name not in _SKIPPED_TABLES]
        target_meta = sa.MetaData()
        target_meta.reflect(target)

        with target.connect() as conn:
            progress = _load_progress(conn)
            if progress is None:
                filled = [t.name for t in tables if _count(conn, target_meta.tables[t.name])]
                if filled:
                    raise TransferError(
                        f"target {report.target} already holds data (tables: {', '.join(filled)}); "
                        "migrate-store copies into an empty database"
                    )
                progress = {"source": report.source, "tables": {}}
            elif progress.get("source") != report.source:
                raise TransferError(
                    f"target {report.target} holds an unfinished copy of {progress.get('source')}, "
                    f"not of {report.source}: finish that copy or use an empty database"
                )
            else:
                report.resumed = True

        with source.connect() as conn:
            totals = {t.name: _count(conn, t) for t in tables}
        if on_total is not None:
            on_total(sum(totals.values()))
        for table in tables:
            report.tables.append(
                _copy_table(
                    source, target, table, target_meta.tables[table.name], progress, batch_size, on_rows
                )
            )

        if target.dialect.name == "postgresql":
            with target.begin() as conn:
                _reset_sequences(conn, [target_meta.tables[t.name] for t in tables])
        with source.connect() as src, target.connect() as dst:
            for entry in report.tables:
                entry.source = _count(src, metadata.tables[entry.table])
                entry.target = _count(dst, target_meta.tables[entry.table])
        if report.ok:
            # Done: the target is now an ordinary store with no trace of the copy.
            with target.begin() as conn:
                conn.execute(sa.text("DELETE FROM job_state WHERE name = :n"), {"n": JOB_NAME})
    report.seconds = time.perf_counter() - started
    return report


def _copy_table(
    source: Engine,
    target: Engine,
    table: sa.Table,
    target_table: sa.Table,
    progress: dict[str, Any],
    batch_size: int,
    on_rows: Callable[[int], None] | None,
) -> TableReport:
    # A table copied by an earlier run is still looked at from its position: rows the source
    # gained since (new papers get higher ids) are copied, nothing before it is read again.
    state = progress["tables"].setdefault(str(table.name), {"after": None, "rows": 0})
    entry = TableReport(table=str(table.name), source=0, target=0)
    if on_rows is not None and state["rows"]:
        on_rows(state["rows"])
    key = list(table.primary_key.columns)
    if not key:
        raise TransferError(f"table {table.name} has no primary key: it cannot be copied resumably")
    # Plain tuples in the target's column order: building a dict per row was a third of the time.
    columns = [str(c.name) for c in target_table.columns]
    key_at = [columns.index(c.name) for c in key]
    with source.connect() as src:
        while True:
            query = sa.select(*(table.c[name] for name in columns)).order_by(*key).limit(batch_size)
            if table.name == "job_state":
                query = query.where(table.c.name != JOB_NAME)
            if state["after"] is not None:
                # Keyset paging: the position is the last primary key copied, so every batch
                # is an index range scan and a resumed copy starts exactly where it stopped.
                after = state["after"]
                beyond = sa.tuple_(*key) > sa.tuple_(*after) if len(key) > 1 else key[0] > after[0]
                query = query.where(beyond)
            rows = [tuple(row) for row in src.execute(query)]
            if not rows:
                break
            state["after"] = [rows[-1][i] for i in key_at]
            state["rows"] += len(rows)
            with target.begin() as dst:
                _write_rows(dst, target_table, columns, rows)
                _save_progress(dst, progress)
            entry.copied += len(rows)
            if on_rows is not None:
                on_rows(len(rows))
            if len(rows) < batch_size:
                break
    return entry
