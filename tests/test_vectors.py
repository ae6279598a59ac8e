"""The semantic index on real papers: incremental updates, search, filters, ANN recall, crashes."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from paperscope.errors import QueryError
from paperscope.index import vectorfiles as vf
from paperscope.index import vectors
from paperscope.index.ann import refresh_ann
from paperscope.index.embed import FP32_MODEL, INT8_MODEL, load_embedder, paper_text
from paperscope.index.passages import PASSAGES_VERSION, passage_text, split_passages
from paperscope.index.vectors import SemanticIndex
from paperscope.records import PaperRecord
from paperscope.store import Paper, Store
from semantic_helpers import daily_records

STOP = frozenset(re.findall(r"\w+", """
    with from that this their which these into over under using based while where when have been more than
    such also they other both each only show shows model models paper propose proposed approach method
    methods results across large data language learning"""))


def words(paper: Paper) -> set[str]:
    return {w for w in re.findall(r"[a-z]{5,}", f"{paper.title} {paper.abstract}".lower()) if w not in STOP}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[tuple[Store, SemanticIndex]]:
    """200 real Daily Papers in a store, embedded once for the read-only tests of this module."""
    home = tmp_path_factory.mktemp("semantic")
    with Store.open(str(home)) as store:
        store.write_records(daily_records(shared_data)[:200])
        index = SemanticIndex.open(store.settings.index_dir, INT8_MODEL)
        counts = index.update(store)
        assert counts["embedded"] == 200 and counts["total"] == 200
        yield store, index
        index.close()


def test_search_finds_a_paper_by_its_own_title(built: tuple[Store, SemanticIndex]) -> None:
    store, index = built
    papers = store.get_papers(list(range(1, 201, 10)))
    first = 0
    for paper in papers:
        hits = index.search(paper.title, 5)
        assert len(hits) == 5 and np.all(np.diff(hits.scores) <= 0)
        assert paper.id in hits.ids.tolist(), paper.title
        first += hits.ids[0] == paper.id
    # A short title can sit nearer another paper's title + abstract than its own; rarely.
    assert first >= 0.8 * len(papers)


def test_related_excludes_itself_and_shares_topic(built: tuple[Store, SemanticIndex]) -> None:
    store, index = built
    rng = np.random.default_rng(7)
    chosen = rng.choice(np.arange(1, 201), size=40, replace=False).tolist()
    near, random_pairs = [], []
    for paper in store.get_papers(chosen):
        hits = index.related(paper.id, 5)
        assert len(hits) == 5 and paper.id not in hits.ids.tolist()
        neighbour = store.get_papers([int(hits.ids[0])])[0]
        other = store.get_papers([int(rng.integers(1, 201))])[0]
        mine = words(paper)
        near.append(len(mine & words(neighbour)) / max(len(mine | words(neighbour)), 1))
        random_pairs.append(len(mine & words(other)) / max(len(mine | words(other)), 1))
    # Nearest neighbours share far more content words than random pairs of papers do.
    assert np.mean(near) > 2 * np.mean(random_pairs), (np.mean(near), np.mean(random_pairs))
    with pytest.raises(QueryError, match="no embedding"):
        index.related(99_999, 5)


def test_allowed_ids_still_give_k_results(built: tuple[Store, SemanticIndex]) -> None:
    _, index = built
    allowed = np.sort(np.random.default_rng(3).choice(np.arange(1, 201), size=25, replace=False)).astype(np.int64)
    hits = index.search("reinforcement learning for language model reasoning", 10, allowed)
    assert len(hits) == 10 and set(hits.ids.tolist()) <= set(allowed.tolist())
    # The same ranking as unfiltered search restricted to the allowed papers.
    everything = index.search("reinforcement learning for language model reasoning", 200)
    expected = [i for i in everything.ids.tolist() if i in set(allowed.tolist())][:10]
    assert hits.ids.tolist() == expected
    few = np.array([5, 17, 123_456], dtype=np.int64)  # the last has no vector
    assert sorted(index.search("robots", 10, few).ids.tolist()) == [5, 17]


def test_query_embeddings_are_cached_read_only_and_evicted_oldest_first(
    built: tuple[Store, SemanticIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, index = built
    # Queries are embedded by a one-thread session of the same model: the same vectors.
    real = vectors.load_query_embedder(index.model)
    np.testing.assert_allclose(real.embed(["robots"]), vectors.load_embedder(index.model).embed(["robots"]),
                               rtol=1e-5, atol=1e-6)
    embedded: list[list[str]] = []

    class Counting:
        """The real embedder, counting what it is asked to embed."""

        def embed(self, texts: Sequence[str], **options: Any) -> np.ndarray:
            embedded.append(list(texts))
            return real.embed(texts, **options)

    monkeypatch.setattr(vectors, "load_query_embedder", lambda name: Counting())
    monkeypatch.setattr(vectors, "QUERY_CACHE", 2)
    query = "protein folding in yeast, asked twice"
    first = index.embed_query(query)
    assert index.embed_query(query) is first and embedded == [[query]]
    assert not first.flags.writeable
    np.testing.assert_allclose(first, real.embed([query])[0], rtol=1e-5, atol=1e-6)
    assert len(index.search(query, 5).ids) == 5  # a read-only vector searches like any other
    index.embed_query("another query")
    index.embed_query(query)  # used again: now the most recent of the two kept
    index.embed_query("a third query")  # pushes out "another query", not the first
    assert index.embed_query(query) is first
    index.embed_query("another query")
    assert embedded == [[query], ["another query"], ["a third query"], ["another query"]]


def resampled(real: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Realistic-looking unit vectors: mixtures of two real abstracts' vectors plus a little noise."""
    a = real[rng.integers(0, len(real), count)]
    b = real[rng.integers(0, len(real), count)]
    w = rng.uniform(0.0, 0.5, (count, 1)).astype(np.float32)
    mixed = (1 - w) * a + w * b + rng.normal(0, 0.02, a.shape).astype(np.float32)
    return (mixed / np.linalg.norm(mixed, axis=1, keepdims=True)).astype(np.float32)


def test_ann_recall_at_10_against_exact(built: tuple[Store, SemanticIndex], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _, source = built
    snap = source.snapshot()
    assert snap is not None
    real = snap.rows(snap.positions)
    rng = np.random.default_rng(11)
    base, queries = resampled(real, 4000, rng), resampled(real, 200, rng)
    folder = tmp_path / "semantic"
    folder.mkdir()
    ids = np.arange(1, 4001, dtype=np.int64)
    manifest = vf.empty_manifest(INT8_MODEL, 384)
    manifest["segments"].append(vf.write_segment(folder, base, ids, np.zeros(4000, np.uint64), 1))
    manifest["gen"] = 1
    loaded = vf.Snapshot.load(folder, manifest)
    base = loaded.rows(np.arange(len(ids), dtype=np.intp))  # exact search is over what is stored: int8
    manifest["ann"] = refresh_ann(folder, loaded, None, vectors.ANN_CONNECTIVITY, vectors.ANN_EXPANSION_ADD)
    manifest["ann"]["gen"] = 1
    vf.write_manifest(folder / vf.MANIFEST, manifest)
    index = SemanticIndex.open(tmp_path, INT8_MODEL, ann_threshold=1000)
    assert index.stats()["ann"] is True
    recalls = []
    for q in queries:
        exact = ids[np.argsort(-(base @ q))[:10]]
        recalls.append(len(set(index.search_vector(q, 10).ids.tolist()) & set(exact.tolist())) / 10)
    assert np.mean(recalls) >= 0.98, np.mean(recalls)
    # Filtered search through the ANN path (oversampling), forced by a small exact-subset limit.
    monkeypatch.setattr(vectors, "EXACT_SUBSET_MAX", 100)
    allowed = ids[ids % 2 == 0]
    filtered = []
    for q in queries[:50]:
        hits = index.search_vector(q, 10, allowed)
        assert len(hits) == 10 and np.all(hits.ids % 2 == 0)
        exact = allowed[np.argsort(-(base[allowed - 1] @ q))[:10]]
        filtered.append(len(set(hits.ids.tolist()) & set(exact.tolist())) / 10)
    assert np.mean(filtered) >= 0.98, np.mean(filtered)
    # A selective filter with a bounded graph read: asked for 200 of the 1-in-8 allowed ids but
    # content with 10, it stops at the allowed ones among 240 neighbours (about 30), best first,
    # instead of scoring every allowed row; asked for all 200, it falls back to exact search.
    monkeypatch.setattr(vectors, "FILTERED_ANN_MAX", 240)
    sparse = ids[ids % 8 == 0]
    q = queries[0]
    order = sparse[np.argsort(-(base[sparse - 1] @ q))]
    short = index.search_vector(q, 200, sparse, at_least=10)
    assert 10 <= len(short) < 200 and np.all(short.ids % 8 == 0)
    assert len(set(short.ids[:10].tolist()) & set(order[:10].tolist())) >= 9
    full = index.search_vector(q, 200, sparse)
    assert len(full) == 200 and full.ids.tolist() == order[:200].tolist()


def test_incremental_update_embeds_only_what_changed(home: Path, shared_data: Path) -> None:
    records = daily_records(shared_data)[300:360]
    with Store.open(str(home)) as store:
        store.write_records(records[:40])
        index = SemanticIndex.open(store.settings.index_dir, INT8_MODEL, ann_threshold=45)
        assert index.update(store)["embedded"] == 40
        reader = SemanticIndex.open(store.settings.index_dir, INT8_MODEL, ann_threshold=45)
        before = reader.search(records[45].title, 3)
        assert index.update(store)["embedded"] == 0
        store.write_records(records[40:])
        counts = index.update(store)
        assert (counts["embedded"], counts["total"], counts["ann"]) == (20, 60, True)
        # The reader notices the swapped manifest and now finds the new paper first.
        after = reader.search(records[45].title, 3)
        new_id = store.resolve_key(records[45].arxiv_id or "")
        assert new_id not in before.ids.tolist() and after.ids[0] == new_id
        # A new abstract for one paper (from a more trusted source) re-embeds that paper only;
        # other metadata changes re-embed nothing.
        changed = PaperRecord(source="arxiv-api", origin="test", title=records[3].title,
                              arxiv_id=records[3].arxiv_id, abstract="We study protein folding in yeast cells.")
        store.write_records([changed])
        assert index.update(store)["embedded"] == 1
        assert index.search("protein folding in yeast", 1).ids[0] == store.resolve_key(records[3].arxiv_id or "")
        upvoted = PaperRecord(source="hf-api", origin="test", title=records[5].title, arxiv_id=records[5].arxiv_id,
                              upvotes=99, daily_date="2026-02-20")
        store.write_records([upvoted])
        ann_before = vf.read_manifest(index.folder / vf.MANIFEST)["ann"]  # type: ignore[index]
        assert index.update(store)["embedded"] == 0
        # Nothing re-embedded: the HNSW file is still current, not reloaded and rewritten.
        assert vf.read_manifest(index.folder / vf.MANIFEST)["ann"] == ann_before  # type: ignore[index]
        assert index.stats()["papers"] == 60
        live = {p.name for p in index.folder.iterdir()}
        assert live == vf.referenced_files(vf.read_manifest(index.folder / vf.MANIFEST)) | {"manifest.json",
                                                                                           "update.lock"}


class FailingStore:
    """The real store, except that reading papers fails on the n-th call (a crash mid-update)."""

    def __init__(self, store: Store, fail_on: int) -> None:
        self.store, self.fail_on, self.calls = store, fail_on, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def get_papers(self, ids: Sequence[int]) -> list[Paper]:
        self.calls += 1
        if self.calls == self.fail_on:
            raise RuntimeError("killed")
        return self.store.get_papers(ids)


def test_interrupted_update_leaves_a_usable_index(home: Path, shared_data: Path) -> None:
    records = daily_records(shared_data)[400:450]
    with Store.open(str(home)) as store:
        store.write_records(records[:30])
        index = SemanticIndex.open(store.settings.index_dir, INT8_MODEL)
        index.page_size = 10
        with pytest.raises(RuntimeError, match="killed"):
            index.update(FailingStore(store, fail_on=3), progress=False)  # type: ignore[arg-type]
        # The two checkpoints before the crash are live and searchable; the rest resumes.
        assert index.stats()["papers"] == 20
        assert len(index.search("agents", 25)) == 20
        assert index.update(store)["embedded"] == 10
        assert index.stats()["papers"] == 30
        store.write_records(records[30:])
        with pytest.raises(RuntimeError, match="killed"):
            index.update(FailingStore(store, fail_on=2))  # type: ignore[arg-type]
        # An interrupted incremental update keeps what it committed, and search works.
        assert index.stats()["papers"] == 40
        assert len(index.search("agents", 10)) == 10
        assert index.update(store)["embedded"] == 10
        assert index.stats()["papers"] == 50


def test_model_change_reembeds_everything(home: Path, shared_data: Path) -> None:
    records = daily_records(shared_data)[500:512]
    with Store.open(str(home)) as store:
        store.write_records(records)
        int8 = SemanticIndex.open(store.settings.index_dir, INT8_MODEL)
        assert int8.update(store)["embedded"] == 12
        fp32 = SemanticIndex.open(store.settings.index_dir, "sentence-transformers/all-MiniLM-L6-v2")
        counts = fp32.update(store)
        assert (counts["embedded"], counts["model"]) == (12, FP32_MODEL)
        assert fp32.update(store)["embedded"] == 0
        assert fp32.search(records[0].title, 1).ids[0] == store.resolve_key(records[0].arxiv_id or "")
        with pytest.raises(QueryError, match="re-embed"):
            int8.search("anything", 5)
        assert len(list(fp32.folder.glob("seg-*.vec.npy"))) == 1  # the int8 vectors are gone
        # Back to int8, killed midway: searches keep using the fp32 vectors until the swap.
        back = SemanticIndex.open(store.settings.index_dir, INT8_MODEL)
        back.page_size = 5
        with pytest.raises(RuntimeError, match="killed"):
            back.update(FailingStore(store, fail_on=2))  # type: ignore[arg-type]
        assert fp32.stats()["model"] == FP32_MODEL and len(fp32.search(records[1].title, 3)) == 3
        assert back.update(store)["embedded"] == 7  # resumed after the staged checkpoint of 5
        assert back.stats()["model"] == INT8_MODEL and len(back.search(records[1].title, 3)) == 3


def test_rescore_takes_the_best_of_paper_and_passages(built: tuple[Store, SemanticIndex]) -> None:
    store, index = built
    embedder = load_embedder(INT8_MODEL)
    papers = [p for p in store.get_papers(list(range(1, 201))) if len(split_passages(p.title, p.abstract or "")) >= 3]
    papers = papers[:12]
    assert len(papers) == 12
    own_passage = 0
    for paper in papers:
        passages = split_passages(paper.title, paper.abstract or "")
        # A query in the words of the paper's last passage, not its title.
        query = index.embed_query(passage_text(paper.title, paper.abstract or "", len(passages) - 1) or "")
        hits, best = index.rescore(query, np.asarray([paper.id, 99_999], dtype=np.int64))
        assert hits.ids.tolist() == [paper.id]  # an id without an embedding is left out
        whole = float(embedder.embed([paper_text(paper.title, paper.abstract or "")])[0] @ query)
        parts = embedder.embed(passages) @ query
        # The score is the best of the paper's own vector and its passages' (4-bit passages: a
        # cosine moves by up to ~0.03, test_vectorfiles).
        assert abs(float(hits.scores[0]) - max(whole, float(parts.max()))) < 0.03
        if paper.id in best:
            assert abs(float(parts[best[paper.id]]) - float(hits.scores[0])) < 0.03
            own_passage += best[paper.id] == len(passages) - 1
    # The passage the query was taken from is, nearly always, the one that scores.
    assert own_passage >= 10, own_passage


def passage_counts(index: SemanticIndex) -> dict[int, int]:
    """Each paper's number of passages in an index of one segment."""
    snap = index.snapshot()
    assert snap is not None and len(snap.passages) == 1 and snap.passages[0] is not None
    return dict(zip(snap.seg_ids[0].tolist(), np.diff(snap.passages[0].offsets).tolist(), strict=True))


def test_folded_segments_keep_each_papers_passages(home: Path, shared_data: Path) -> None:
    records = daily_records(shared_data)[600:640]
    with Store.open(str(home)) as store:
        store.write_records(records)
        index = SemanticIndex.open(store.settings.index_dir, INT8_MODEL)
        index.page_size = 7  # six checkpoints, folded into one segment at the end
        assert index.update(store)["embedded"] == 40
        assert len(vf.read_manifest(index.folder / vf.MANIFEST)["segments"]) == 1  # type: ignore[index]
        counts = passage_counts(index)
        assert index.stats()["passages"] == sum(counts.values()) > 40
        for paper in store.get_papers(list(counts)):
            assert counts[paper.id] == len(split_passages(paper.title, paper.abstract or "")), paper.title
        # One index built in one step scores every paper the same as the folded one.
        whole = SemanticIndex.open(home / "whole", INT8_MODEL)
        whole.update(store)
        query = index.embed_query("reinforcement learning for reasoning")
        ids = np.asarray(sorted(counts), dtype=np.int64)
        folded, folded_best = index.rescore(query, ids)
        single, single_best = whole.rescore(query, ids)
        assert folded.ids.tolist() == single.ids.tolist() and folded_best == single_best
        assert np.allclose(folded.scores, single.scores, atol=1e-6)
        whole.close()


def test_an_index_from_before_passages_is_rebuilt_beside_it(home: Path, shared_data: Path) -> None:
    records = daily_records(shared_data)[700:718]
    with Store.open(str(home)) as store:
        store.write_records(records[:16])
        index = SemanticIndex.open(store.settings.index_dir, INT8_MODEL)
        index.update(store)
        # Make it what an index from before passages was: no passage files, no version.
        manifest = vf.read_manifest(index.folder / vf.MANIFEST)
        assert manifest is not None and manifest["passages"] == PASSAGES_VERSION
        del manifest["passages"]
        for segment in manifest["segments"]:
            del segment["passages"]
            for part in vf.PASSAGE_PARTS:
                (index.folder / f"{segment['name']}.{part}.npy").unlink()
        vf.write_manifest(index.folder / vf.MANIFEST, manifest)
        old = SemanticIndex.open(store.settings.index_dir, INT8_MODEL)
        target = store.resolve_key(records[2].arxiv_id or "")
        query = old.embed_query(records[2].title)
        hits, best = old.rescore(query, np.asarray([target], dtype=np.int64))
        assert hits.ids.tolist() == [target] and best == {}  # the old index still answers, by paper vectors
        # The serving refresher (restage=False) keeps it current as it is: new papers, no passages.
        store.write_records(records[16:])
        assert index.update(store, restage=False)["embedded"] == 2
        kept = vf.read_manifest(index.folder / vf.MANIFEST)
        assert kept is not None and "passages" not in kept and not old.scores_passages()
        assert old.stats()["passages"] is None
        assert old.search(records[17].title, 1).ids[0] == store.resolve_key(records[17].arxiv_id or "")
        # Re-embedding is staged beside it; killed midway, the old vectors keep answering.
        index.page_size = 5
        with pytest.raises(RuntimeError, match="killed"):
            index.update(FailingStore(store, fail_on=2))  # type: ignore[arg-type]
        assert old.search(records[2].title, 1).ids[0] == target
        assert (index.folder / vf.NEXT_MANIFEST).exists()
        assert index.update(store, restage=False)["embedded"] == 0  # the refresher leaves the staged build be
        assert (index.folder / vf.NEXT_MANIFEST).exists()
        assert index.update(store)["embedded"] == 13  # resumed after the staged checkpoint of 5
        assert vf.read_manifest(index.folder / vf.MANIFEST)["passages"] == PASSAGES_VERSION  # type: ignore[index]
        assert not (index.folder / vf.NEXT_MANIFEST).exists()
        assert old.scores_passages()
        assert old.search(records[2].title, 1).ids[0] == target


def test_passages_turned_off_embed_papers_only_and_search_by_their_floors(
        home: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from paperscope.index.build import update_indexes
    from paperscope.search.api import Searcher, SearchRequest
    from paperscope.search.fusion import semantic_floor

    records = daily_records(shared_data)[:120]
    monkeypatch.setenv("PAPERSCOPE_EMBEDDING_PASSAGES", "0")
    with Store.open(str(home)) as store:
        store.write_records(records)
        update_indexes(store)
        index = SemanticIndex.open(store.settings.index_dir)
        assert index.stats()["passages"] is None and not index.scores_passages()
        query = "reinforcement learning for language model reasoning"
        vector = index.embed_query(query)
        scored, closest = index.rescore(vector, np.arange(1, 121, dtype=np.int64))
        assert closest == {}  # no passages: each paper's own cosine
        own = dict(zip(scored.ids.tolist(), scored.scores.tolist(), strict=True))
        low, high = semantic_floor(INT8_MODEL, passages=False), semantic_floor(INT8_MODEL)
        assert low < high
        expected = {i for i, c in own.items() if c >= low}
        assert len(expected) > len({i for i, c in own.items() if c >= high})  # the floors tell apart here
        searcher = Searcher(store)
        response = searcher.search(SearchRequest(query=query, mode="semantic", limit=200))
        # Scored by the papers' own vectors, against the floor measured for them.
        assert {r.paper.id for r in response.results} == expected and response.total == len(expected)
        assert all(r.why is not None and r.why.passage is None for r in response.results)
        searcher.close()
        # Turned on again: re-embedded with passages, beside the vectors that keep answering.
        monkeypatch.setenv("PAPERSCOPE_EMBEDDING_PASSAGES", "1")
        counts = SemanticIndex.open(store.settings.index_dir).update(store)
        assert counts["embedded"] == 120 and index.scores_passages() and index.stats()["passages"] > 120


def test_an_index_stored_the_old_way_is_rewritten_without_re_embedding(home: Path, shared_data: Path) -> None:
    records = daily_records(shared_data)[720:750]
    with Store.open(str(home)) as store:
        store.write_records(records[:24])
        index = SemanticIndex.open(store.settings.index_dir, INT8_MODEL)
        index.update(store)
        # Make it what an index from before session 8 was: float32 rows without scales, int8 passages.
        manifest = vf.read_manifest(index.folder / vf.MANIFEST)
        assert manifest is not None
        snap = index.snapshot()
        assert snap is not None
        for number, segment in enumerate(manifest["segments"]):
            name = segment["name"]
            rows = np.arange(snap.offsets[number], snap.offsets[number] + segment["rows"], dtype=np.intp)
            vf.write_array(index.folder / f"{name}.vec.npy", snap.rows(rows))
            (index.folder / f"{name}.vscale.npy").unlink()
            passages = snap.passages[number]
            assert passages is not None and passages.bits == 4
            every = np.arange(len(passages.scales), dtype=np.intp)
            codes, scales = vf.quantize(passages.values(every).astype(np.float32) * passages.scales[:, None], 8)
            vf.write_array(index.folder / f"{name}.pvec.npy", codes)
            vf.write_array(index.folder / f"{name}.pscale.npy", scales)
            del segment["vectors"], segment["passage_bits"]
        vf.write_manifest(index.folder / vf.MANIFEST, manifest)
        old = SemanticIndex.open(store.settings.index_dir, INT8_MODEL)
        query = old.embed_query("reinforcement learning for language model reasoning")
        ids = np.asarray(sorted(snap.ids.tolist()), dtype=np.int64)
        before, before_best = old.rescore(query, ids)
        assert old.snapshot().vectors[0].dtype == np.float32  # type: ignore[union-attr]
        # The serving refresher keeps it current as it is (new papers in an int8 segment).
        store.write_records(records[24:])
        assert index.update(store, restage=False)["embedded"] == 6
        kinds = [s.get("vectors") for s in vf.read_manifest(index.folder / vf.MANIFEST)["segments"]]  # type: ignore[index]
        assert kinds[0] is None and kinds[-1] == "int8"
        # `paperscope index` rewrites them: int8 rows, 4-bit passages; nothing is embedded again.
        assert index.update(store)["embedded"] == 0
        rewritten = vf.read_manifest(index.folder / vf.MANIFEST)
        assert rewritten is not None and vf.stored_as_now(rewritten) and len(rewritten["segments"]) == 1
        assert old.stats()["passages"] == sum(len(split_passages(r.title, r.abstract or "")) for r in records)
        (stored,) = index.folder.glob("seg-*.vec.npy")
        assert np.load(stored, mmap_mode="r").dtype == np.int8
        after, after_best = old.rescore(query, ids)
        assert after.ids[:10].tolist() == before.ids[:10].tolist() and after_best == before_best
        assert np.abs(after.scores - before.scores).max() < 0.01
