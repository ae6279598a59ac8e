"""``paperscope search`` and ``paperscope index``: thin wrappers over :mod:`paperscope.search.api`."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

import click

from .common import AppContext, echo_json, json_option, pass_app

if TYPE_CHECKING:
    from ..search.api import SearchResult

_TAG = re.compile(r"</?mark>")


@click.command()
@click.argument("query", nargs=-1, required=True)
@click.option(
    "--mode", type=click.Choice(["hybrid", "keyword", "semantic"]), default="hybrid", show_default=True
)
@click.option("--limit", default=20, show_default=True, help="Results per page (1-200).")
@click.option("--offset", default=0, show_default=True, help="Results to skip (paging).")
@click.option("--since", help="Published on or after this day (YYYY-MM-DD, YYYY-MM or YYYY).")
@click.option("--until", help="Published on or before this day.")
@click.option("--category", "categories", multiple=True, help="arXiv category such as cs.CL (repeatable).")
@click.option("--min-upvotes", type=int, help="Only papers with at least this many upvotes.")
@click.option("--has-code", is_flag=True, help="Only papers with a code link.")
@click.option(
    "--sort", type=click.Choice(["relevance", "date", "upvotes"]), default="relevance", show_default=True
)
@json_option
@pass_app
def search(
    app: AppContext,
    query: tuple[str, ...],
    mode: str,
    limit: int,
    offset: int,
    since: str | None,
    until: str | None,
    categories: tuple[str, ...],
    min_upvotes: int | None,
    has_code: bool,
    sort: str,
    as_json: bool,
) -> None:
    """Search the library: words, "quoted phrases", -excluded, author:Name, cat:cs.CL, year:2024,
    since:2024-06-01, or an arXiv id / URL to jump to that paper."""
    from ..search.api import Searcher, SearchRequest

    request = SearchRequest(
        query=" ".join(query),
        mode=mode,
        limit=limit,
        offset=offset,
        since=since,
        until=until,
        categories=list(categories),
        min_upvotes=min_upvotes,
        sort=sort,
        has_code=has_code,
    )
    searcher = Searcher(app.store)
    try:
        response = searcher.search(request)
    finally:
        searcher.close()
    if as_json:
        echo_json(response.as_dict())
        return
    for warning in response.warnings:
        click.echo(f"note: {warning}", err=True)
    if response.jump_to:
        click.echo(f"jump to {response.jump_to}")
    if not response.results:
        click.echo("no results")
        if response.closest:
            click.echo("closest papers:")
            _show(response.closest, 1)
        return
    about = "" if response.total_exact else "about "
    click.echo(f"{about}{response.total} result(s), {response.mode}, {response.took_ms:.1f} ms")
    _show(response.results, request.offset + 1)


def _show(results: list[SearchResult], start: int) -> None:
    for rank, result in enumerate(results, start=start):
        paper = result.paper
        authors = ", ".join(paper.authors[:3]) + (" et al." if len(paper.authors) > 3 else "")
        click.echo(f"{rank:3}. {paper.title}  [{paper.key}]")
        click.echo(
            f"     {authors or 'unknown authors'} · {paper.published or 'no date'} · "
            f"{paper.upvotes} upvotes · score {result.score:.3f}"
        )
        snippet = _TAG.sub("", result.snippet_html)
        if snippet:
            click.echo(f"     {html.unescape(snippet)}")
        if result.why is not None and result.why.line():
            click.echo(f"     why: {result.why.line()}")


@click.command()
@click.option("--rebuild", is_flag=True, help="Rebuild every index from the store instead of updating.")
@click.option("--shards", type=click.IntRange(1),
              help="Rebuild the keyword index with this many shards if it has another count.")
@json_option
@pass_app
def index(app: AppContext, rebuild: bool, shards: int | None, as_json: bool) -> None:
    """Bring the search indexes up to date with the store (only papers changed since the last run)."""
    from ..index.build import update_indexes

    result = update_indexes(app.store, rebuild=rebuild, progress=app.show_progress(), shards=shards)
    if as_json:
        echo_json(result)
        return
    kw = result["keyword"]
    click.echo(
        f"keyword ({kw['mode']}): {kw['indexed']} indexed, {kw['removed']} removed, "
        f"{kw['documents']} documents in {kw['shards']} shard(s), {kw['seconds']:.1f} s"
    )
    if "semantic" in result:
        parts = ", ".join(f"{k} {v}" for k, v in result["semantic"].items())
        click.echo(f"semantic: {parts}")


def register(group: click.Group) -> None:
    group.add_command(search)
    group.add_command(index)
