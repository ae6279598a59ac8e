"""What every command shares: opening the store from the global options, and printing results."""

from __future__ import annotations

import sys
from typing import Any

import click
import orjson

from .. import config
from ..config import Settings
from ..errors import PaperscopeError
from ..store import Store


class AppContext:
    """Global options, and the store opened lazily so that ``--help`` never touches a database."""

    def __init__(self, home: str | None, database: str | None, quiet: bool, log_format: str | None = None) -> None:
        self.home = home
        self.database = database
        self.quiet = quiet
        self.log_format = log_format
        self._store: Store | None = None
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        """The home's settings (the store's, once it is open), read without opening the database."""
        if self._store is not None:
            return self._store.settings
        if self._settings is None:
            # Looked up on the module at call time: the PostgreSQL test pass replaces it there.
            self._settings = config.load_settings(self.home, self.database, log_format=self.log_format)
        return self._settings

    def log_config(self) -> dict[str, Any]:
        """The logging configuration of this command (and of ``serve``'s uvicorn)."""
        from ..logs import log_config

        try:
            settings = self.settings
            log_format, level = str(settings.log_format), str(settings.log_level)
        except PaperscopeError:
            # The command itself reports a bad setting when it reads the settings; log meanwhile.
            log_format, level = self.log_format or "text", "INFO"
        return log_config(log_format, "WARNING" if self.quiet else level)

    def configure_logging(self) -> None:
        import logging.config

        logging.config.dictConfig(self.log_config())

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(settings=self.settings)
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
