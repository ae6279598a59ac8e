"""``paperscope related``: the papers nearest to one paper by embedding (see ``Searcher.related``)."""

from __future__ import annotations

import click

from ..errors import QueryError
from ..index.vectors import SemanticIndex
from ..search.api import MAX_LIMIT, Searcher
from .common import AppContext, echo_json, json_option, pass_app


@click.command()
@click.argument("paper")
@click.option("--limit", "-n", default=10, show_default=True, type=click.IntRange(1, MAX_LIMIT),
              help="How many related papers.")
@json_option
@pass_app
def related(app: AppContext, paper: str, limit: int, as_json: bool) -> None:
    """Papers related to PAPER (an arXiv id in any spelling, an arXiv/Hugging Face URL, or a local id).

    Papers not embedded yet are embedded first (the same incremental update as `paperscope index`).
    """
    store = app.store
    found = store.get_paper(paper)
    if found is None:
        raise QueryError(f"no paper {paper!r} in the store at {store.settings.home}; "
                         "check the id, or ingest it first with `paperscope ingest`")
    index = SemanticIndex.open(store.settings.index_dir)
    try:
        if not index.has(found.id):
            # Cheap when little changed; the first time this is the whole embedding pass.
            index.update(store, progress=app.show_progress())
    finally:
        index.close()
    searcher = Searcher(store)
    try:
        result = searcher.related(found.key, limit)
    finally:
        searcher.close()
    papers = [p for p, _ in result.papers]
    scores = {p.id: score for p, score in result.papers}
    if as_json:
        echo_json({
            "paper": {"id": found.key, "title": found.title},
            "how": result.how,
            "floor": result.floor,
            "related": [
                {"id": p.key, "arxiv_id": p.arxiv_id, "title": p.title, "authors": p.authors,
                 "published": p.published, "score": round(scores[p.id], 4), "url": p.abs_url,
                 "why": result.why.get(p.id)}
                for p in papers
            ],
        })
        return
    click.echo(f"related to {found.key}: {found.title}")
    if result.how != "semantic":
        click.echo(f"(by the words of its title: {result.note})", err=True)
    if not papers:
        click.echo("no closely related papers in this library")
    for rank, p in enumerate(papers, 1):
        authors = ", ".join(p.authors[:3]) + (" et al." if len(p.authors) > 3 else "")
        click.echo(f"{rank:3}. [{scores[p.id]:.3f}] {p.title}")
        click.echo(f"     {p.key} · {p.published or 'undated'} · {authors or 'unknown authors'}")
        shared = (result.why.get(p.id) or {}).get("shared_title_words")
        if shared:
            click.echo(f"     shared title words: {', '.join(shared)}")


def register(group: click.Group) -> None:
    """Add this module's commands to the main group."""
    group.add_command(related)
