"""The ``paperscope`` command: a thin click layer over the library.

Each noun's commands live in their own module and register themselves on the group.
"""

from __future__ import annotations

import click

from .. import __version__
from ..errors import PaperscopeError
from . import admin, digest, harvest, ingest, jobs, library, related, search, web
from .common import AppContext


class UserError(click.ClickException):
    """An expected failure: its message is printed without a traceback, exit status 2."""

    exit_code = 2


class PaperscopeGroup(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except PaperscopeError as error:
            raise UserError(str(error)) from error


@click.group(cls=PaperscopeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="paperscope")
@click.option(
    "--home",
    envvar="PAPERSCOPE_HOME",
    type=click.Path(file_okay=False),
    help="Data directory (database, indexes, rejects). Default: $PAPERSCOPE_HOME or the per-user data dir.",
)
@click.option(
    "--database",
    envvar="PAPERSCOPE_DATABASE_URL",
    help="Database URL (sqlite:///... or postgresql://...). Default: SQLite file in the home.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars; log warnings and errors only.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Log lines as text or as JSON objects (one a line). Default: $PAPERSCOPE_LOG_FORMAT, else text.",
)
@click.pass_context
def main(ctx: click.Context, home: str | None, database: str | None, quiet: bool, log_format: str | None) -> None:
    """Self-hosted research-paper discovery: ingest, search, feeds, web app and digests."""
    app = AppContext(home, database, quiet, log_format)
    ctx.obj = app
    ctx.call_on_close(app.close)
    app.configure_logging()


for module in (ingest, harvest, search, related, web, digest, admin, jobs, library):
    module.register(main)
