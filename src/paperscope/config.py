"""Where paperscope keeps its data and how it reaches its database.

Resolution order for the home: ``--home``, then ``$PAPERSCOPE_HOME``, then the per-user
data directory.  The database defaults to ``<home>/paperscope.db`` (SQLite) and can be
pointed at PostgreSQL with ``--database`` or ``$PAPERSCOPE_DATABASE_URL``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs


@dataclass(frozen=True, slots=True)
class Settings:
    home: Path
    database_url: str

    @property
    def rejects_path(self) -> Path:
        return self.home / "rejects.jsonl"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    if home is None:
        home = os.environ.get("PAPERSCOPE_HOME") or platformdirs.user_data_dir("paperscope")
    path = Path(home).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_settings(home: str | os.PathLike[str] | None = None, database_url: str | None = None) -> Settings:
    resolved = resolve_home(home)
    url = (
        database_url or os.environ.get("PAPERSCOPE_DATABASE_URL") or f"sqlite:///{resolved / 'paperscope.db'}"
    )
    return Settings(home=resolved, database_url=url)
