"""Keyword and metadata indexes on disk: incremental updates follow the store's change record."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
import tantivy

from paperscope.errors import QueryError
from paperscope.index import keyword
from paperscope.index.build import keyword_dir, meta_dir, update_keyword
from paperscope.index.keyword import KeywordIndex
from paperscope.index.meta import MetaFilter, MetaIndex, paper_day
from paperscope.ingest import Ingestor
from paperscope.records import PaperRecord, Version
from paperscope.search.api import Searcher, SearchRequest
from paperscope.search.query import parse_query
from paperscope.store import Paper, Store


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


def retitle_0704_0001(store: Store) -> Paper:
    """Give arXiv 0704.0001 a new title ("Quokkafied ..."); returns the paper as it was."""
    paper = store.get_paper("0704.0001")
    assert paper is not None
    changed = PaperRecord(
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
    store.write_records([changed])
    return paper


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
        paper = retitle_0704_0001(store)
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
    # Any of several categories, wherever in a paper's list they stand: hep-th and the commonest
    # category listed third or later.
    later = Counter(c for p in papers for c in p.categories[2:] if c != "hep-th").most_common(1)[0][0]
    either = meta.allowed(MetaFilter(categories=("hep-th", later.lower())))
    assert either is not None
    expected_either = sorted(p.id for p in papers if {"hep-th", later} & set(p.categories))
    assert either.tolist() == expected_either and len(expected_either) > len(allowed)

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


# -- shards --------------------------------------------------------------------------------------
@pytest.fixture()
def two_shards(monkeypatch: pytest.MonkeyPatch) -> None:
    """Indexes built from now on split 883 papers into two shards, as 1M papers are on 2 cores."""
    monkeypatch.setattr(keyword, "SHARD_PAPERS", 300)
    monkeypatch.setattr(keyword.os, "cpu_count", lambda: 4)


def both_sources(store: Store, shared_data: Path) -> int:
    return ingest(store, shared_data / "hf-daily" / "hf-daily-2026-02.json") + ingest(
        store, shared_data / "arxiv" / "kaggle" / "arxiv-metadata-oai-snapshot.sample.jsonl"
    )


def search(
    index: KeywordIndex, query: str, limit: int = 20, offset: int = 0, order: str = "relevance"
) -> tuple[list[int], int]:
    hits, total = index.search(parse_query(query), None, limit, offset, order)
    return hits.ids.tolist(), total


QUERIES = ["world model", "quantum field theory", '"language model" reasoning', "diffusion -video", "cat:hep-th"]


def test_a_large_index_is_split_into_shards_that_search_as_one(
    store: Store, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, two_shards: None
) -> None:
    assert both_sources(store, shared_data) == 883
    built = update_keyword(store, store.settings.index_dir)
    assert (built["shards"], built["documents"]) == (2, 883)
    sharded = KeywordIndex.open(keyword_dir(store.settings.index_dir))
    # Every paper in exactly one shard: the one its id picks.
    in_shard = [set(search_shard(shard)) for shard in sharded.shards]
    assert in_shard[0].isdisjoint(in_shard[1]) and len(in_shard[0]) + len(in_shard[1]) == 883
    assert all(i % 2 == n for n, ids in enumerate(in_shard) for i in ids)

    monkeypatch.setattr(keyword, "SHARD_PAPERS", 10**9)
    assert update_keyword(store, tmp_path / "single")["shards"] == 1
    single = KeywordIndex.open(keyword_dir(tmp_path / "single"))
    try:
        for query in QUERIES:
            ids, total = search(sharded, query, limit=1000)
            one_ids, one_total = search(single, query, limit=1000)
            # Counts are exact and every match is found (the order may differ a little: each
            # shard scores with its own BM25 statistics).
            assert total == one_total == len(ids) > 0 and sorted(ids) == sorted(one_ids), query
            # Pages cut from the merged shards neither overlap nor skip.
            pages = [search(sharded, query, limit=7, offset=o)[0] for o in range(0, 35, 7)]
            assert [i for page in pages for i in page] == ids[:35], query
            newest, _ = search(sharded, query, limit=30, order="date")
            days = [paper_day(p) for p in store.get_papers(newest)]
            assert len(days) == min(30, total) and days == sorted(days, reverse=True), query
        # A title finds its paper first, sharded or not.
        title = store.get_paper("0704.0001").title  # type: ignore[union-attr]
        assert search(sharded, title)[0][0] == search(single, title)[0][0] == store.resolve_key("0704.0001")
    finally:
        sharded.close()
        single.close()


def search_shard(shard: Any) -> list[int]:
    searcher = shard.searcher()
    result = searcher.search(tantivy.Query.all_query(), limit=10_000, count=False)
    return [int(v) for v in searcher.fast_field_values("id", [a for _, a in result.hits])]


def test_a_changed_paper_is_replaced_in_its_shard(store: Store, shared_data: Path, two_shards: None) -> None:
    both_sources(store, shared_data)
    update_keyword(store, store.settings.index_dir)
    paper = retitle_0704_0001(store)
    again = update_keyword(store, store.settings.index_dir)
    assert (again["mode"], again["indexed"], again["documents"], again["shards"]) == ("incremental", 1, 883, 2)
    index = KeywordIndex.open(keyword_dir(store.settings.index_dir))
    try:
        assert search(index, "quokkafied")[0] == [paper.id]
        assert search(index, '"Calculation of prompt diphoton production at hadron"')[0] == []
        assert search(index, "diphoton")[0].count(paper.id) == 1
    finally:
        index.close()


def test_a_rebuild_past_a_shard_boundary_changes_the_layout_under_a_running_searcher(
    store: Store, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    both_sources(store, shared_data)
    folder = keyword_dir(store.settings.index_dir)
    assert update_keyword(store, store.settings.index_dir)["shards"] == 1
    assert (folder / "meta.json").exists() and not (folder / "shard-0").exists()
    searcher = Searcher(store)
    try:
        query = SearchRequest(query="quantum field theory", mode="keyword", limit=200)
        before = searcher.search(query)
        monkeypatch.setattr(keyword, "SHARD_PAPERS", 300)
        monkeypatch.setattr(keyword.os, "cpu_count", lambda: 2)
        assert update_keyword(store, store.settings.index_dir)["shards"] == 1  # incremental: kept
        quokka = PaperRecord(source="json-list", origin="test", title="Quokka field theory", arxiv_id="2602.99999")
        store.write_records([quokka])
        assert update_keyword(store, store.settings.index_dir, rebuild=True)["shards"] == 2
        assert (folder / "shard-0" / "meta.json").exists() and not (folder / "meta.json").exists()
        after = searcher.search(query)
        new = store.resolve_key("2602.99999")
        assert after.total == before.total + 1 == len(before.results) + 1 > 1
        assert {r.paper.id for r in after.results} == {r.paper.id for r in before.results} | {new}
    finally:
        searcher.close()


def test_an_index_from_before_shards_opens_as_one_shard(store: Store, shared_data: Path) -> None:
    both_sources(store, shared_data)
    update_keyword(store, store.settings.index_dir)
    folder = keyword_dir(store.settings.index_dir)
    (folder / "layout.json").unlink()
    index = KeywordIndex.open(folder, shards=4)
    try:
        assert len(index.shards) == 1 and index.num_docs() == 883
        assert (folder / "layout.json").exists()
    finally:
        index.close()


@pytest.mark.parametrize("shards", [1, 2])
def test_sorted_by_date_or_upvotes_each_paper_keeps_its_relevance_score(
    store: Store, shared_data: Path, monkeypatch: pytest.MonkeyPatch, shards: int
) -> None:
    monkeypatch.setattr(keyword, "SHARD_PAPERS", 300 if shards == 2 else 10**9)
    monkeypatch.setattr(keyword.os, "cpu_count", lambda: 4)
    both_sources(store, shared_data)
    assert update_keyword(store, store.settings.index_dir)["shards"] == shards
    index = KeywordIndex.open(keyword_dir(store.settings.index_dir))
    try:
        parsed = parse_query('"reinforcement learning" policy')
        relevance, total = index.search(parsed, None, 200)
        assert 5 < total == len(relevance.ids) < 200
        expected = dict(zip(relevance.ids.tolist(), relevance.scores.tolist(), strict=True))
        for order in ("date", "upvotes"):
            hits, _ = index.search(parsed, None, 200, order=order)
            assert sorted(hits.ids.tolist()) == sorted(expected)
            assert hits.scores.tolist() == pytest.approx([expected[i] for i in hits.ids.tolist()])
        # satisfying() keeps exactly the given papers that have the phrase, in the order given.
        phrase, _ = index.search(parse_query('"reinforcement learning"'), None, 200)
        some = np.asarray([*sorted(expected)[:5], 1, 2, 3, 4, 5, 6], dtype=np.int64)
        kept = index.satisfying(parsed, some).tolist()
        assert kept == [i for i in some.tolist() if i in set(phrase.ids.tolist())] and len(kept) >= 5
    finally:
        index.close()


def test_shards_asked_for_rebuild_the_keyword_index_only_when_the_count_differs(
    store: Store, shared_data: Path
) -> None:
    both_sources(store, shared_data)
    index_dir = store.settings.index_dir
    assert update_keyword(store, index_dir)["shards"] == 1  # 883 papers: one shard by size
    resharded = update_keyword(store, index_dir, shards=3)
    assert (resharded["mode"], resharded["shards"], resharded["documents"]) == ("rebuild", 3, 883)
    assert KeywordIndex.shards_in(keyword_dir(index_dir)) == 3
    same = update_keyword(store, index_dir, shards=3)
    assert (same["mode"], same["indexed"], same["shards"]) == ("incremental", 0, 3)
    assert update_keyword(store, index_dir)["shards"] == 3  # kept by incremental updates
    with pytest.raises(QueryError, match="between 1 and"):
        update_keyword(store, index_dir, shards=keyword.MAX_SHARDS + 1)
    index = KeywordIndex.open(keyword_dir(index_dir))
    try:
        assert [shard.searcher().num_docs > 250 for shard in index.shards] == [True, True, True]
        assert search(index, "diphoton")[0][:1] == [store.resolve_key("0704.0001")]
    finally:
        index.close()


def test_index_command_takes_a_shard_count(home: Path, shared_data: Path) -> None:
    from click.testing import CliRunner

    from paperscope.cli import main
    from semantic_helpers import daily_records

    with Store.open(str(home)) as store:
        store.write_records(daily_records(shared_data)[:30])
    runner = CliRunner()
    result = runner.invoke(main, ["--home", str(home), "--quiet", "index", "--shards", "2", "--json"])
    assert result.exit_code == 0, result.output
    counts = orjson.loads(result.output)
    assert (counts["keyword"]["shards"], counts["keyword"]["documents"], counts["semantic"]["embedded"]) == (2, 30, 30)
    again = runner.invoke(main, ["--home", str(home), "index"])
    assert again.exit_code == 0 and "30 documents in 2 shard(s)" in again.output, again.output
    wrong = runner.invoke(main, ["--home", str(home), "index", "--shards", "0"])
    assert wrong.exit_code == 2 and "--shards" in wrong.output
