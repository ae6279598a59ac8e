"""Opening the database: engine creation, SQLite pragmas, and schema migrations (alembic)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (the web app, search) run while an ingest writes; NORMAL sync
    # is durable across process crashes in WAL mode, which is what "killed mid-way" needs.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # 128 MiB of page cache (allocated as used): a big ingest probes its indexes at random.
    cursor.execute("PRAGMA cache_size=-131072")
    # Checkpoint the WAL every ~40 MB rather than every 4 MB: a bulk ingest commits a few MB
    # per batch, and each checkpoint costs an fsync of the database file.
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


def create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    engine = sa.create_engine(url, pool_pre_ping=True)
    sa.event.listen(engine, "before_cursor_execute", _without_nul, retval=True)
    return engine


def _without_nul(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool
) -> tuple[str, Any]:
    """PostgreSQL refuses a NUL in text ("string literal cannot contain NUL"), which would turn
    a hostile form field into a 500: lookups and single writes take the value without it (as
    ingest does, records.vet).  Bulk writes (executemany) come from vetted ingest and are left
    alone, so they pay nothing for it."""
    if executemany or not parameters:
        return statement, parameters
    if isinstance(parameters, dict):
        if any(isinstance(v, str) and "\x00" in v for v in parameters.values()):
            parameters = {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in parameters.items()}
    elif isinstance(parameters, list | tuple) and any(isinstance(v, str) and "\x00" in v for v in parameters):
        parameters = type(parameters)(v.replace("\x00", "") if isinstance(v, str) else v for v in parameters)
    return statement, parameters


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; a no-op when it is already there."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
