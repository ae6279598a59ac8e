"""``paperscope migrate-store``: move a home's data to another database (SQLite to PostgreSQL)."""

from __future__ import annotations

import sys

import click
from tqdm import tqdm

from ..config import load_settings
from ..store.transfer import TransferReport, copy_store
from .common import AppContext, echo_json, json_option, pass_app


@click.command("migrate-store")
@click.option(
    "--from",
    "source",
    metavar="URL",
    help="Database to copy from (sqlite:///PATH, postgresql://..., or a home folder). "
    "Default: this home's database (--home / --database).",
)
@click.option("--to", "target", metavar="URL", required=True, help="Empty database to copy into.")
@click.option(
    "--batch-size", default=2000, show_default=True, type=click.IntRange(1), help="Rows per transaction."
)
@json_option
@pass_app
def migrate_store(app: AppContext, source: str | None, target: str, batch_size: int, as_json: bool) -> None:
    """Copy every table to another database, e.g. from SQLite to PostgreSQL.

    Rows are copied in primary-key order, a batch per transaction; the position is saved in
    the target with each batch, so running the same command again after an interruption goes
    on where it stopped.  At the end the row counts of every table are compared.
    Exit status: 0 all counts match, 1 a count differs (was the source written to meanwhile?
    run the command again), 2 the copy could not start.
    """
    if source is None:
        source = load_settings(app.home, app.database).database_url
    bar = tqdm(unit="row", desc="migrate-store", disable=not app.show_progress(), file=sys.stderr)

    def set_total(total: int) -> None:
        bar.total = total
        bar.refresh()

    try:
        report = copy_store(source, target, batch_size=batch_size, on_rows=bar.update, on_total=set_total)
    finally:
        bar.close()
    if as_json:
        echo_json(report.as_dict())
    else:
        _print_report(report)
    if not report.ok:
        raise SystemExit(1)


def _print_report(report: TransferReport) -> None:
    click.echo(f"from {report.source}")
    click.echo(f"to   {report.target}{' (resumed)' if report.resumed else ''}")
    width = max(len(t.table) for t in report.tables)
    click.echo(f"{'table':<{width}}  {'source':>9}  {'target':>9}  {'copied':>9}")
    for entry in report.tables:
        mark = "" if entry.ok else "  MISMATCH"
        click.echo(f"{entry.table:<{width}}  {entry.source:>9}  {entry.target:>9}  {entry.copied:>9}{mark}")
    verdict = "all counts match" if report.ok else "row counts differ"
    click.echo(f"{report.copied} row(s) copied in {report.seconds:.1f} s; {verdict}")


def register(group: click.Group) -> None:
    group.add_command(migrate_store)
