"""Keyword and metadata indexes on disk: incremental updates follow the store's change record."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paperscope.index.build import meta_dir, update_keyword
from paperscope.index.meta import MetaFilter, MetaIndex
from paperscope.ingest import Ingestor
from paperscope.records import PaperRecord, Version
from paperscope.search.api import Searcher, SearchRequest
from paperscope.store import Store


def ingest(store: Store, path: Path) -> int:
    with Ingestor(store, report_rejects=False) as ingestor:
        summary = ingestor.ingest_paths([path])
    assert not summary.errors
    return summary.added + summary.updated


def keyword_ids(searcher: Searcher, query: str, limit: int = 200) -> list[int]:
    response = searcher.search(SearchRequest(query=query, mode="keyword", limit=limit))
    return [r.paper.id for r in response.results]


def ranked(searcher: Searcher, query: str) -> list[tuple[float, int]]:
    """(score, id) best first; equal scores may come in either order, so they are sorted by id."""
    response = searcher.search(SearchRequest(query=query, mode="keyword", limit=200))
    return sorted((-round(r.score, 4), r.paper.id) for r in response.results)


def test_incremental_update_processes_only_changes(store: Store, shared_data: Path) -> None:
    index_dir = store.settings.index_dir
    assert ingest(store, shared_data / "hf-daily" / "hf-daily-2026-02.json") == 783
    first = update_keyword(store, index_dir)
    assert (first["mode"], first["indexed"], first["documents"]) == ("rebuild", 783, 783)

    # Nothing changed: nothing to do.
    again = update_keyword(store, index_dir)
    assert (again["mode"], again["indexed"], again["documents"]) == ("incremental", 0, 783)

    searcher = Searcher(store)
    try:
        assert keyword_ids(searcher, "diphoton Tevatron") == []
        added = ingest(store, shared_data / "arxiv" / "kaggle" / "arxiv-metadata-oai-snapshot.sample.jsonl")
        assert added == 100
        second = update_keyword(store, index_dir)
        assert (second["mode"], second["indexed"], second["documents"]) == ("incremental", 100, 883)
        # The running searcher sees the new papers without being reopened.
        found = keyword_ids(searcher, "diphoton Tevatron")
        assert store.get_paper("0704.0001").id in found  # type: ignore[union-attr]

        # A changed paper is replaced, not duplicated.
        paper = store.get_paper("0704.0001")
        assert paper is not None
        store.write_records(
            [
                PaperRecord(
                    source="arxiv-api",
                    origin="test",
                    arxiv_id="0704.0001",
                    title="Quokkafied calculation of prompt diphoton production",
                    abstract=paper.abstract,
                    published="2007-04-02",
                    categories=["hep-ph"],
                    # A newer version than the snapshot knows, so this record takes over.
                    versions=[Version("v9", "2008-01-01T00:00:00Z")],
                )
            ]
        )
        third = update_keyword(store, index_dir)
        assert (third["indexed"], third["documents"]) == (1, 883)
        assert keyword_ids(searcher, "quokkafied") == [paper.id]
        assert keyword_ids(searcher, "diphoton Tevatron").count(paper.id) == 1
    finally:
        searcher.close()


def test_rebuild_matches_incremental(store: Store, shared_data: Path) -> None:
    index_dir = store.settings.index_dir
    ingest(store, shared_data / "arxiv" / "kaggle" / "arxiv-metadata-oai-snapshot.sample.jsonl")
    update_keyword(store, index_dir)
    searcher = Searcher(store)
    before = ranked(searcher, "quantum field theory")
    searcher.close()
    rebuilt = update_keyword(store, index_dir, rebuild=True)
    assert (rebuilt["mode"], rebuilt["indexed"]) == ("rebuild", 100)
    searcher = Searcher(store)
    assert ranked(searcher, "quantum field theory") == before
    searcher.close()


def test_meta_arrays_filter_like_the_store(store: Store, shared_data: Path) -> None:
    ingest(store, shared_data / "arxiv" / "kaggle" / "arxiv-metadata-oai-snapshot.sample.jsonl")
    ingest(store, shared_data / "hf-daily" / "hf-daily-2026-02.json")
    update_keyword(store, store.settings.index_dir)
    meta = MetaIndex.open(meta_dir(store.settings.index_dir))
    papers = store.get_papers([p.id for batch in store.iter_papers() for p in batch])
    assert meta.count() == len(papers) == 883

    allowed = meta.allowed(MetaFilter(categories=("hep-th",)))
    assert allowed is not None
    assert allowed.tolist() == sorted(p.id for p in papers if "hep-th" in p.categories)

    allowed = meta.allowed(MetaFilter(min_upvotes=50, since=20260210))
    assert allowed is not None
    expected = [
        p.id
        for p in papers
        if p.upvotes >= 50 and (p.published or min(p.list_dates, default="")).replace("-", "") >= "20260210"
    ]
    assert allowed.tolist() == sorted(expected) and len(expected) > 3
    assert meta.allowed(MetaFilter()) is None
    assert meta.allowed(MetaFilter(categories=("no.such",))).shape == (0,)  # type: ignore[union-attr]
    days = meta.values("day", np.asarray([papers[0].id, 10**9], dtype=np.int64))
    assert days[1] == 0 and days[0] > 0


def test_searching_keeps_working_while_an_update_runs(store: Store, shared_data: Path) -> None:
    import threading

    ingest(store, shared_data / "hf-daily" / "hf-daily-2026-02.json")
    update_keyword(store, store.settings.index_dir)
    ingest(store, shared_data / "arxiv" / "kaggle" / "arxiv-metadata-oai-snapshot.sample.jsonl")
    searcher = Searcher(store)
    errors: list[BaseException] = []
    totals: list[int] = []

    def update() -> None:
        try:
            update_keyword(store, store.settings.index_dir, rebuild=True)
        except BaseException as error:  # reported below; a thread cannot raise into the test
            errors.append(error)

    worker = threading.Thread(target=update)
    worker.start()
    while worker.is_alive() or not totals:
        response = searcher.search(SearchRequest(query="model", mode="keyword", limit=5))
        totals.append(response.total)
    worker.join()
    assert not errors
    # Every answer came from a complete commit: the old index, or the rebuilt one.
    assert all(t > 0 for t in totals)
    final = searcher.search(SearchRequest(query="diphoton", mode="keyword"))
    assert final.results and final.results[0].paper.key == "0704.0001"
    searcher.close()
