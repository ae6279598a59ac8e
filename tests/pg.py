"""A throwaway PostgreSQL cluster for the tests (a pytest plugin listed in ``conftest.py``).

The cluster is Debian's ``postgresql`` server binaries (``scripts/setup-system.sh`` installs
them), initialised in a temporary folder, listening on 127.0.0.1 on a free port with its unix
socket inside that folder, and removed at the end of the session.  Each test gets a fresh
database.  Missing binaries are an error, never a skip: a PostgreSQL test that did not run
must not look like one that passed.

With ``--backend postgresql`` every home a test opens gets a database of its own on the cluster
(``_backend_for_every_home``).  Tests reach it through a small API: ``database_for(home)``,
``child_env(home)`` for a ``paperscope`` subprocess, ``clone_home`` to copy a populated home
with its database, and ``drop_home``.  Each is a no-op (or plain SQLite) on the default backend.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import psycopg
import pytest

from paperscope.config import Settings
from paperscope.store import Store

SUPERUSER = "paperscope"
SERVER_OPTIONS = (
    # Durability buys nothing in a throwaway cluster; these make CREATE DATABASE and
    # every commit cheap, which keeps the PostgreSQL half of the suite fast.
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=200 -c shared_buffers=64MB -c wal_level=minimal -c max_wal_senders=0"
)


def find_bindir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding initdb and pg_ctl (or $PG_BINDIR)."""
    candidates = [os.environ["PG_BINDIR"]] if os.environ.get("PG_BINDIR") else []
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name or 0), reverse=True
    )
    which = shutil.which("initdb")
    if which:
        candidates.append(str(Path(which).parent))
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin or $PATH: "
        "run scripts/setup-system.sh (installs Debian's postgresql package) or set $PG_BINDIR"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """One running server; ``create_database`` hands out fresh, empty databases."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        # Not pytest's tmp_path: that lives under a 0700 root-owned folder the server's
        # unprivileged user could not enter.  As root, /tmp itself (any $TMPDIR may be private
        # to root too); it also keeps the unix socket path under its 107-byte limit.
        base = "/tmp" if os.geteuid() == 0 else None
        self.root = Path(tempfile.mkdtemp(prefix="paperscope-pg-", dir=base))
        self.data = self.root / "data"
        self.port = _free_port()
        self._names = itertools.count(1)
        self._run_as: list[str] = []
        self._template: str | None = None
        if os.geteuid() == 0:
            # initdb and postgres refuse to run as root; Debian's package creates this user.
            try:
                account = pwd.getpwnam("postgres")
            except KeyError as error:
                raise RuntimeError(
                    "running as root but there is no 'postgres' system user to run the test cluster: "
                    "install Debian's postgresql package (scripts/setup-system.sh)"
                ) from error
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._run_as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self._run_as, *args], cwd=self.root, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            output = done.stderr + done.stdout
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{output}{tail}")

    def start(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        for attempt in range(3):
            options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} {SERVER_OPTIONS}"
            try:
                self._run(
                    str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                    "-o", options, "-w", "-t", "60", "start",
                )  # fmt: skip
                return
            except RuntimeError:
                # Another process may have taken the free port between the probe and the bind.
                if attempt == 2:
                    raise
                self.port = _free_port()

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, template: str = "template0") -> str:
        """A new database copied from ``template`` (default: empty); returns its URL."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        return self.url(name)

    def migrated_template(self) -> str:
        """The name of a database holding the current schema, made once per session.

        Cloning it (a file copy) is several times faster than running the migrations for each
        test; ``Store.open`` still checks the revision on every clone.
        """
        if self._template is None:
            url = self.create_database()
            Store.open(str(self.root / "template-home"), url).close()
            self._template = url.rsplit("/", 1)[1]
        return self._template

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    cluster = Cluster(find_bindir())
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture()
def pg_empty_url(pg_cluster: Cluster) -> Iterator[str]:
    """``postgresql://...`` of a fresh, empty database (no tables) on the throwaway cluster."""
    url = pg_cluster.create_database()
    yield url
    pg_cluster.drop_database(url)


@pytest.fixture()
def pg_url(pg_cluster: Cluster) -> Iterator[str]:
    """``postgresql://...`` of a fresh database that already has the current schema."""
    url = pg_cluster.create_database(pg_cluster.migrated_template())
    yield url
    pg_cluster.drop_database(url)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="Database under every store a test opens without naming one: a SQLite file in its home "
        "(default), or a fresh database per home on the throwaway PostgreSQL cluster.",
    )


class HomeDatabases:
    """Which PostgreSQL database each home uses under ``--backend postgresql``.

    Keys are resolved home paths (as ``load_settings`` resolves them), so ``tmp/home`` and
    ``tmp/./home`` share one database.  A lock guards the map: a web app under test may open
    a store from its own thread.
    """

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.template = cluster.migrated_template()
        self._urls: dict[Path, str] = {}
        self._lock = threading.Lock()

    def url_for(self, home: Path) -> str:
        """The home's database, made from the migrated template the first time it is asked for."""
        with self._lock:
            if home not in self._urls:
                self._urls[home] = self.cluster.create_database(self.template)
            return self._urls[home]

    def clone(self, source: Path, target: Path) -> str:
        """``target`` gets a database copied from ``source``'s.  Nothing may be connected to
        ``source``'s database meanwhile (PostgreSQL refuses to copy a database in use)."""
        with self._lock:
            if target in self._urls:
                raise RuntimeError(f"{target} already has a database: {self._urls[target]}")
            if source not in self._urls:
                raise RuntimeError(f"{source} has no database to copy: nothing has opened a store there")
            url = self.cluster.create_database(template=_database_name(self._urls[source]))
            self._urls[target] = url
            return url

    def drop(self, home: Path) -> None:
        with self._lock:
            url = self._urls.pop(home, None)
        if url is not None:
            self.cluster.drop_database(url)


def _database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


# Set for the whole session by ``_backend_for_every_home`` when the backend is PostgreSQL.
_HOMES: HomeDatabases | None = None


def _resolved(home: str | os.PathLike[str]) -> Path:
    return Path(home).expanduser().resolve()


def database_for(home: str | os.PathLike[str]) -> str | None:
    """The URL of ``home``'s PostgreSQL database under ``--backend postgresql`` (made on first
    use, so a subprocess can be pointed at it before anything opened it), or ``None`` on SQLite,
    where the database is the file in the home."""
    return None if _HOMES is None else _HOMES.url_for(_resolved(home))


def child_env(home: str | os.PathLike[str], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for a ``paperscope`` subprocess working on ``home``: ``base`` (default
    ``os.environ``) with ``$PAPERSCOPE_DATABASE_URL`` naming the home's database on PostgreSQL,
    and without it on SQLite (so the child uses the file in its home, as the test expects)."""
    env = dict(os.environ if base is None else base)
    url = database_for(home)
    if url is None:
        env.pop("PAPERSCOPE_DATABASE_URL", None)
    else:
        env["PAPERSCOPE_DATABASE_URL"] = url
    return env


def clone_home(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Copy the home folder ``source`` to ``target`` and, on PostgreSQL, its database too.

    On SQLite the database is a file in the folder, so the copy carries it; on PostgreSQL the
    copy would otherwise open a new, empty database.  Close every store on ``source`` first.
    """
    shutil.copytree(source, target)
    if _HOMES is not None:
        _HOMES.clone(_resolved(source), _resolved(target))


def drop_home(home: str | os.PathLike[str]) -> None:
    """Drop ``home``'s PostgreSQL database (if it has one), ending any connection still open to it.
    For per-test homes, so that hundreds of copies do not pile up in the cluster."""
    if _HOMES is not None:
        _HOMES.drop(_resolved(home))


@pytest.fixture(scope="session", autouse=True)
def _backend_for_every_home(request: pytest.FixtureRequest) -> Iterator[None]:
    """With ``--backend postgresql``, ``Store.open(home)`` in this process gets a PostgreSQL
    database of its own for each home (the same one every time for that home), so the whole
    suite can be run against PostgreSQL.  A subprocess gets it through ``child_env(home)``;
    a test that looks at the SQLite file itself is marked ``sqlite_only``."""
    global _HOMES
    if request.config.getoption("--backend") != "postgresql":
        yield
        return
    import paperscope.config
    import paperscope.store

    homes = HomeDatabases(request.getfixturevalue("pg_cluster"))
    original = paperscope.config.load_settings

    def load_settings(
        home: str | os.PathLike[str] | None = None, database_url: str | None = None, **options: Any
    ) -> Settings:
        settings = original(home, database_url, **options)
        if database_url or os.environ.get("PAPERSCOPE_DATABASE_URL"):
            return settings
        return settings.model_copy(update={"database_url": homes.url_for(settings.home)})

    patch = pytest.MonkeyPatch()
    patch.setattr(paperscope.config, "load_settings", load_settings)
    patch.setattr(paperscope.store, "load_settings", load_settings)
    _HOMES = homes
    try:
        yield
    finally:
        _HOMES = None
        patch.undo()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, home: Path) -> str:
    """Parametrise a test over both backends: a SQLite file in ``home``, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{home / 'paperscope.db'}"
    return str(request.getfixturevalue("pg_url"))
