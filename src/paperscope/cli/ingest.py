"""``paperscope ingest`` and ``paperscope stats``."""

from __future__ import annotations

from pathlib import Path

import click

from ..ingest import Ingestor
from .common import AppContext, echo_json, json_option, pass_app


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--batch-size", default=2000, show_default=True, help="Records per transaction.")
@click.option(
    "--index/--no-index", "update_index", default=False, help="Update the search indexes afterwards."
)
@json_option
@pass_app
def ingest(
    app: AppContext, paths: tuple[Path, ...], batch_size: int, update_index: bool, as_json: bool
) -> None:
    """Import paper metadata from files or folders; each file's format is detected by content.

    Formats: the arXiv bulk snapshot (JSON lines), arXiv API Atom, arXiv OAI-PMH (arXiv and
    arXivRaw), Hugging Face Papers API JSON, saved Hugging Face Papers pages (text), plain
    JSON/JSON-lines lists of paper records, and BEIR corpora.  Re-ingesting changes nothing.
    Exit status: 0 all good, 1 some records rejected (see rejects.jsonl in the home),
    2 a file could not be read or its format is unknown.
    """
    with Ingestor(app.store, batch_size=batch_size, progress=app.show_progress()) as ingestor:
        summary = ingestor.ingest_paths(paths)
    result = summary.as_dict()
    if update_index and not summary.errors:
        from ..index.build import update_indexes

        result["index"] = update_indexes(app.store, progress=app.show_progress())
    if as_json:
        echo_json(result)
    else:
        click.echo(
            f"{summary.files} file(s): {summary.added} added, {summary.updated} updated, "
            f"{summary.unchanged} unchanged, {summary.rejected} rejected"
        )
        if summary.skipped:
            click.echo(f"skipped {len(summary.skipped)} file(s) that hold no paper metadata:")
            for path in summary.skipped:
                click.echo(f"  {path}")
        if summary.rejected:
            click.echo(f"rejected records are listed in {app.store.settings.rejects_path}")
    if summary.errors:
        raise SystemExit(2)
    if summary.rejected:
        raise SystemExit(1)


@click.command()
@json_option
@pass_app
def stats(app: AppContext, as_json: bool) -> None:
    """What the store holds: papers, by source, by month, daily lists, rejects."""
    data = app.store.stats()
    data["home"] = str(app.store.settings.home)
    if as_json:
        echo_json(data)
        return
    click.echo(f"home: {data['home']}")
    click.echo(f"papers: {data['papers']} ({data['with_arxiv_id']} with an arXiv id)")
    click.echo(f"daily-list entries: {data['daily_entries']} over {data['list_days']} day(s)")
    click.echo(f"papers with Hugging Face upvotes: {data['papers_with_upvotes']}")
    click.echo(f"rejected records: {data['rejects']}")
    click.echo("by source:")
    for source, count in data["by_source"].items():
        click.echo(f"  {source:16} {count}")
    months = data["by_month"]
    if months:
        click.echo("by month (published):")
        for month, count in list(months.items())[-24:]:
            click.echo(f"  {month}  {count}")
        if len(months) > 24:
            click.echo(f"  ... {len(months) - 24} earlier month(s); --json lists all")


def register(group: click.Group) -> None:
    group.add_command(ingest)
    group.add_command(stats)
