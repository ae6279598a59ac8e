"""``paperscope import-library FILE``: a BibTeX, RIS or id-list library into a collection."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from .common import AppContext, echo_json, json_option, pass_app
from .harvest import _clean_errors, _ingestor, _pacing, _pacing_options

# A library file is read whole; citation exports of tens of thousands of entries stay far below.
MAX_BYTES = 50 * 1024 * 1024


@click.command("import-library")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "username", required=True, help="The account whose collection receives the papers.")
@click.option("--collection", "collection_name", required=True, help="Collection name (created when missing).")
@click.option("--fetch/--no-fetch", default=True, show_default=True,
              help="Fetch papers this site lacks from the arXiv API (by arXiv id), as `paperscope add` does.")
@click.option("--endpoint", default=None, help="arXiv API base URL (default $PAPERSCOPE_ARXIV_API_URL or arXiv's).")
@click.option("--batch-size", type=click.IntRange(1, 100), default=100, show_default=True,
              help="arXiv ids per API request when fetching.")
@_pacing_options(3.0)
@json_option
@pass_app
def import_library_command(
    app: AppContext,
    file: Path,
    username: str,
    collection_name: str,
    fetch: bool,
    endpoint: str | None,
    batch_size: int,
    delay: float | None,
    max_wait: float | None,
    retries: int | None,
    as_json: bool,
) -> None:
    """Add the papers of a reference library (BibTeX, RIS, or arXiv ids / URLs / DOIs one a line) to
    a collection.  Papers are identified by arXiv id, DOI or exact title; ones this site lacks are
    fetched from arXiv by id.  Every reference that could not be added is listed with its line.
    Exit status: 0 all added, 1 some references not added, 2 the file or account is unusable."""
    from ..harvest.arxiv_api import add_papers, arxiv_api_url
    from ..library import import_library

    if file.stat().st_size > MAX_BYTES:
        raise click.ClickException(f"{file}: larger than {MAX_BYTES // 2**20} MiB")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{file}: not UTF-8 text ({error})") from error
    store = app.store
    user = store.accounts.get_user_by_name(username)
    if user is None:
        raise click.ClickException(f"no user {username!r} (create one with paperscope user create)")
    existing = [c for c in store.accounts.collections(user.id) if c.name == collection_name.strip()]
    collection = existing[0] if existing else store.accounts.create_collection(user.id, collection_name)

    def fetch_ids(ids: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
        with _ingestor(app, report_rejects=False) as ingestor:
            result = add_papers(store, list(ids), api_url=arxiv_api_url(endpoint, app.settings),
                                pacing=_pacing(app, delay, max_wait, retries, 3.0), batch_size=batch_size,
                                ingestor=ingestor)
        return result.keys, result.rejected

    with _clean_errors():
        report = import_library(store, text, user_id=user.id, collection_id=collection.id,
                                collection_name=collection.name, fetch=fetch_ids if fetch else None)
    if as_json:
        echo_json(report.as_dict())
    else:
        counts = report.as_dict()
        click.echo(
            f"{file.name} ({report.format}) -> collection {collection.name!r}: {counts['added']} added, "
            f"{counts['fetched']} fetched from arXiv and added, {counts['already']} already there, "
            f"{len(report.failed)} not added"
        )
        for line in report.failed:
            click.echo(f"line {line.line}: {line.text[:120]}: {line.reason}", err=True)
    if report.failed:
        raise SystemExit(1)


def register(group: click.Group) -> None:
    group.add_command(import_library_command)
