"""Matching rules, the semantic floor and fusion, measured side by side on SciFact train qrels.

Each ranker is read once per query, 1,000 deep (keyword: BM25 over any query word, with how
many of the query's words each paper holds; semantic: cosine similarity), then every variant
is scored from those lists: nDCG@10 and Recall@100 as BEIR computes them, how many papers the
result set holds (its honest size), and how many judged-relevant papers it keeps.

* keyword: a paper must hold a share of the query's distinct words (``required_words``);
* semantic: a paper must reach a cosine floor; the floor's table also gives the share of
  judged-relevant papers at or above it (over all of them, not just the top 1,000);
* hybrid: the union of both sets, fused (convex over normalised scores, or learned weights);
* passages: the served rule with papers scored by their best passage (index/passages.py).

Usage::

    .venv/bin/python bench/ranking.py --home /tmp/scifact-home [--corpus ... --queries ... --qrels ...] [--json]

With a fresh ``--home`` the corpus is ingested and indexed first (embedding SciFact takes a
few minutes on 2 cores); later runs reuse it.  The test qrels are never read.
"""

from __future__ import annotations

import argparse
import math
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from paperscope.index.build import keyword_dir, update_indexes
from paperscope.index.keyword import KeywordIndex
from paperscope.index.keyword_query import TEXT_ANALYZER, word_stems
from paperscope.index.vectors import SemanticIndex
from paperscope.search.query import parse_query
from paperscope.store import Store
from quality import evaluate, ingest, load_qrels, load_queries

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "scifact"
DEPTH = 1000
SHARES = (0.0, 0.34, 0.5, 0.75)
FLOORS = (0.0, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)
PASSAGE_FLOORS = (0.35, 0.38, 0.4, 0.42, 0.45, 0.5)
# Words in more than this share of papers are "common" (see keyword_query.COMMON_WORD_SHARE).
COMMON = (0.05, 0.1, 0.2)
FULL = bool(os.environ.get("RANKING_FULL"))  # every variant, not only the served ones


def need(count: int, share: float) -> int:
    """Words required of ``count`` at ``share`` (0: any one; all of them up to two words)."""
    if share <= 0:
        return 1
    if count <= 2:
        return count
    return max(2, math.ceil(share * count))


def collect(store: Store, queries: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per query: keyword ids/scores/words held and the query's word count; semantic ids/scores
    and every paper's best-passage score (kept in the home as ``ranking-lists-passages.pickle``:
    collecting takes minutes)."""
    cache = Path(store.settings.home) / "ranking-lists-passages.pickle"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    out = _collect(store, queries)
    cache.write_bytes(pickle.dumps(out))
    return out


def _collect(store: Store, queries: dict[str, str]) -> dict[str, dict[str, Any]]:
    index_dir = store.settings.index_dir
    keyword = KeywordIndex.open(keyword_dir(index_dir))
    semantic = SemanticIndex.open(index_dir)
    keys: dict[int, str] = {}
    stems_of: dict[int, set[str]] = {}
    for batch in store.iter_papers(2000):
        for paper in batch:
            keys[paper.id] = paper.key.removeprefix("beir-")
            stems_of[paper.id] = set(TEXT_ANALYZER.analyze(f"{paper.title} {paper.abstract}"))
    out: dict[str, dict[str, Any]] = {}
    vectors = semantic.snapshot()
    assert vectors is not None
    for qid, text in queries.items():
        parsed = parse_query(text)
        words = set(word_stems(parsed.words))
        kw, _ = keyword.search(parsed, None, DEPTH, strict=False, count=False)
        held = np.asarray([len(words & stems_of[int(i)]) for i in kw.ids], dtype=np.int32)
        share = {w: keyword.doc_share(w) for w in words}
        rare_held = {c: np.asarray([len({w for w in words & stems_of[int(i)] if share[w] <= c}) for i in kw.ids],
                                   dtype=np.int32) for c in COMMON}
        rare_count = {c: sum(1 for w in words if share[w] <= c) for c in COMMON}
        q = semantic.embed_query(parsed.text)
        # Every paper's cosine (5k papers: exact), for the floor's share of relevant papers.
        cos = vectors.scores(q)
        order = np.argsort(-cos)
        # The score the searcher ranks by: the best of the paper's vector and its passages'.
        best, _ = vectors.best_passages(np.arange(len(cos), dtype=np.intp), q)
        out[qid] = {
            "kw_ids": kw.ids, "kw_scores": kw.scores, "held": held, "words": len(words),
            "rare_held": rare_held, "rare_count": rare_count,
            "sem_ids": vectors.all_ids[order[:DEPTH]], "sem_scores": cos[order[:DEPTH]],
            "all_ids": vectors.all_ids, "all_cos": cos, "all_best": np.maximum(cos, best),
        }
    keyword.close()
    semantic.close()
    out["_keys"] = keys  # type: ignore[assignment]
    return out


def norm(scores: np.ndarray, low: float | None = None) -> np.ndarray:
    if scores.shape[0] == 0:
        return scores.astype(np.float64)
    lo = float(scores.min()) if low is None else low
    hi = float(scores.max())
    if hi - lo <= 1e-12:
        return np.ones(scores.shape[0])
    return np.clip((scores.astype(np.float64) - lo) / (hi - lo), 0.0, None)


def fuse(kw_ids: np.ndarray, kw: np.ndarray, sem_ids: np.ndarray, sem: np.ndarray, weight: float) -> list[int]:
    total: dict[int, float] = {}
    for i, s in zip(kw_ids.tolist(), kw.tolist(), strict=True):
        total[i] = total.get(i, 0.0) + weight * s
    for i, s in zip(sem_ids.tolist(), sem.tolist(), strict=True):
        total[i] = total.get(i, 0.0) + (1 - weight) * s
    return [i for i, _ in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))]


def variants(data: dict[str, dict[str, Any]], qrels: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    keys: dict[int, str] = data["_keys"]  # type: ignore[assignment]
    qids = [q for q in qrels if q in data]
    rows: list[dict[str, Any]] = []

    def row(name: str, runs: dict[str, list[int]], sizes: list[int]) -> None:
        run = {q: [keys[i] for i in ids] for q, ids in runs.items()}
        figures = evaluate(run, qrels)
        kept = np.mean([len({d for d, r in qrels[q].items() if r > 0} & set(run[q]))
                        / max(1, len([1 for r in qrels[q].values() if r > 0])) for q in qids])
        rows.append({"variant": name, **figures, "median_set": int(np.median(sizes)),
                     "relevant_in_set": round(float(kept), 4)})

    def kw_set(q: str, share: float) -> tuple[np.ndarray, np.ndarray]:
        d = data[q]
        keep = d["held"] >= need(d["words"], share)
        return d["kw_ids"][keep], d["kw_scores"][keep]

    def sem_set(q: str, floor: float) -> tuple[np.ndarray, np.ndarray]:
        d = data[q]
        keep = d["sem_scores"] >= floor
        return d["sem_ids"][keep], d["sem_scores"][keep]

    for share in SHARES:
        runs, sizes = {}, []
        for q in qids:
            ids, _ = kw_set(q, share)
            runs[q] = ids.tolist()
            sizes.append(len(ids))
        row(f"keyword, words >= {share:g}", runs, sizes)
    for floor in FLOORS:
        runs, sizes = {}, []
        for q in qids:
            ids, _ = sem_set(q, floor)
            runs[q] = ids.tolist()
            sizes.append(int((data[q]["all_cos"] >= floor).sum()))
        row(f"semantic, cosine >= {floor:g}", runs, sizes)
    for share in (0.0, 0.5):
        for floor in (0.0, 0.3, 0.35):
            for weight, kw_low, label in ((0.5, None, "min-max"),):
                runs, sizes = {}, []
                for q in qids:
                    ki, ks = kw_set(q, share)
                    si, ss = sem_set(q, floor)
                    sem_low = None if kw_low is None or floor <= 0 else floor
                    runs[q] = fuse(ki, norm(ks, kw_low), si, norm(ss, sem_low), weight)
                    sizes.append(len(set(ki.tolist()) | set(si.tolist())))
                row(f"hybrid, words >= {share:g}, cosine >= {floor:g}, {label}", runs, sizes)
    # As served: ranked as if there were no rule, then cut to the members: the papers holding
    # enough uncommon words, those reaching ``high`` by meaning alone, and those reaching ``low``
    # that hold at least one uncommon word.
    common = 0.2
    for low, high in ((0.3, 0.3), (0.35, 0.35), (0.25, 0.45), (0.25, 0.5), (0.3, 0.45), (0.3, 0.5), (0.35, 0.5)):
        runs, sizes = {}, []
        for q in qids:
            d = data[q]
            rare = d["rare_count"][common]
            held_rare = d["rare_held"][common]
            member_kw = (held_rare >= need(rare, 0.5)) if rare else (d["held"] >= need(d["words"], 0.5))
            some_word = set(d["kw_ids"][held_rare >= 1].tolist()) if rare else set(d["kw_ids"].tolist())
            members = set(d["kw_ids"][member_kw].tolist()) | set(d["sem_ids"][d["sem_scores"] >= high].tolist())
            members |= {i for i in d["sem_ids"][d["sem_scores"] >= low].tolist() if i in some_word}
            ranked = fuse(d["kw_ids"], norm(d["kw_scores"]), d["sem_ids"][:300], norm(d["sem_scores"][:300]), 0.5)
            runs[q] = [i for i in ranked if i in members]
            sizes.append(len(members))
        row(f"served: uncommon words >= 0.5 | cos >= {high:g} | cos >= {low:g} + an uncommon word", runs, sizes)
    passage_rows(data, qids, row)
    for common in COMMON if FULL else ():
        for share in (0.5, 0.67):
            for floor in (0.3, 0.35, 0.4):
                runs, sizes = {}, []
                for q in qids:
                    d = data[q]
                    rare = d["rare_count"][common]
                    if rare:
                        member_kw = d["rare_held"][common] >= need(rare, share)
                    else:
                        member_kw = d["held"] >= need(d["words"], share)
                    members = set(d["kw_ids"][member_kw].tolist())
                    members |= set(d["sem_ids"][d["sem_scores"] >= floor].tolist())
                    ranked = fuse(d["kw_ids"], norm(d["kw_scores"]), d["sem_ids"][:300],
                                  norm(d["sem_scores"][:300]), 0.5)
                    runs[q] = [i for i in ranked if i in members]
                    sizes.append(len(members))
                row(f"hybrid ranked whole, cut: uncommon(<={common:g}) words >= {share:g}, cos >= {floor:g}",
                    runs, sizes)
                if floor == 0.35:
                    runs = {}
                    for q in qids:
                        d = data[q]
                        rare = d["rare_count"][common]
                        member_kw = (d["rare_held"][common] >= need(rare, share)) if rare \
                            else (d["held"] >= need(d["words"], share))
                        runs[q] = d["kw_ids"][member_kw].tolist()
                    row(f"keyword, uncommon(<={common:g}) words >= {share:g}", runs, [len(r) for r in runs.values()])
    return rows


def passage_rows(data: dict[str, dict[str, Any]], qids: list[str], row: Any) -> None:
    """The served rule with papers scored by their best passage, as the searcher does it: the
    keyword side's papers and the paper vectors' top 300, rescored, the best 300 kept; members
    and ranking both by that score (search/fusion.py, "Passages")."""
    common = 0.2
    cases = [(0.5, 0.35, 0.5), (0.5, 0.38, 0.55), (0.5, 0.38, 0.6), (0.5, 0.4, 0.6)]
    cases += [(w, 0.38, 0.6) for w in (0.35, 0.4, 0.45, 0.55, 0.6, 0.65)]
    for weight, low, high in cases:
        runs, sizes = {}, []
        for q in qids:
            d = data[q]
            position = {int(i): n for n, i in enumerate(d["all_ids"].tolist())}
            candidates = np.union1d(d["kw_ids"], d["sem_ids"][:300])
            scores = d["all_best"][[position[int(i)] for i in candidates]]
            top = np.lexsort((candidates, -scores))[:300]
            sem_ids, sem_scores = candidates[top], scores[top]
            rare = d["rare_count"][common]
            held_rare = d["rare_held"][common]
            member_kw = (held_rare >= need(rare, 0.5)) if rare else (d["held"] >= need(d["words"], 0.5))
            some_word = set(d["kw_ids"][held_rare >= 1].tolist()) if rare else set(d["kw_ids"].tolist())
            members = set(d["kw_ids"][member_kw].tolist()) | set(sem_ids[sem_scores >= high].tolist())
            members |= {i for i in sem_ids[sem_scores >= low].tolist() if i in some_word}
            ranked = fuse(d["kw_ids"], norm(d["kw_scores"]), sem_ids, norm(sem_scores), weight)
            runs[q] = [i for i in ranked if i in members]
            sizes.append(len(members))
        row(f"passages, w={weight:g}: uncommon words >= 0.5 | best >= {high:g} | >= {low:g} + a word", runs, sizes)


def floor_table(data: dict[str, dict[str, Any]], qrels: dict[str, dict[str, int]],
                score: str = "all_cos") -> list[dict[str, Any]]:
    """For each floor: share of judged-relevant papers at or above it, and papers per query above
    it, by ``score``: the paper's own cosine (``all_cos``) or its best passage's (``all_best``)."""
    relevant: list[float] = []
    for q, judged in qrels.items():
        if q not in data:
            continue
        d = data[q]
        position = {int(i): n for n, i in enumerate(d["all_ids"].tolist())}
        keys: dict[int, str] = data["_keys"]  # type: ignore[assignment]
        by_key = {k: i for i, k in keys.items()}
        for doc, grade in judged.items():
            if grade > 0 and doc in by_key:
                relevant.append(float(d[score][position[by_key[doc]]]))
    values = np.asarray(relevant)
    out: list[dict[str, Any]] = []
    for floor in FLOORS if score == "all_cos" else PASSAGE_FLOORS:
        above = [int((data[q][score] >= floor).sum()) for q in qrels if q in data]
        out.append({"floor": floor, "relevant_at_or_above": round(float((values >= floor).mean()), 4),
                    "median_papers_above": int(np.median(above))})
    out.append({"relevant_cosine_percentiles": {p: round(float(np.percentile(values, p)), 3)
                                                for p in (1, 5, 10, 25, 50)}})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, default=DATA / "corpus.jsonl")
    parser.add_argument("--queries", type=Path, default=DATA / "queries.jsonl")
    parser.add_argument("--qrels", type=Path, default=DATA / "qrels" / "train.tsv")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if "test" in args.qrels.name:
        raise SystemExit("the test qrels are kept for a final check: calibrate on train")
    qrels = load_qrels(args.qrels)
    queries = {q: t for q, t in load_queries(args.queries).items() if q in qrels}
    with Store.open(str(args.home)) as store:
        if store.count_papers() == 0:
            ingest(store, args.corpus)
        update_indexes(store, semantic=True)
        data = collect(store, queries)
    report = {"floors": floor_table(data, qrels), "passage_floors": floor_table(data, qrels, "all_best"),
              "variants": variants(data, qrels)}
    if args.json:
        print(orjson.dumps(report).decode())
        return 0
    for line in report["floors"]:
        print(line)
    print("by best passage:")
    for line in report["passage_floors"]:
        print(line)
    print(f"{'variant':58} {'nDCG@10':>8} {'R@100':>7} {'set':>6} {'rel in set':>10}")
    for r in report["variants"]:
        print(f"{r['variant']:58} {r['ndcg@10']:8.4f} {r['recall@100']:7.4f} {r['median_set']:6d} "
              f"{r['relevant_in_set']:10.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
