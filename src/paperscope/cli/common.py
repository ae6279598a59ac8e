"""What every command shares: opening the store from the global options, and printing results."""

from __future__ import annotations

import sys
from typing import Any

import click
import orjson

from ..store import Store


class AppContext:
    """Global options, and the store opened lazily so that ``--help`` never touches a database."""

    def __init__(self, home: str | None, database: str | None, quiet: bool) -> None:
        self.home = home
        self.database = database
        self.quiet = quiet
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.home, self.database)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def show_progress(self) -> bool:
        """Progress bars only for a person at a terminal."""
        return not self.quiet and sys.stderr.isatty()


pass_app = click.make_pass_decorator(AppContext)


def echo_json(payload: Any) -> None:
    click.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
