"""A deterministic synthetic corpus of any size, resampled from the real papers in ``../shared/data``.

Titles are spliced from two real titles, abstracts are 3-8 sentences drawn from real
abstracts, authors from real author names; ids are fresh arXiv-style ids matching a
published day between 2015 and early 2026; categories follow a skewed arXiv-like mix and
about one paper in eight has Hugging Face upvotes (heavy-tailed).  The same seed gives the
same corpus, so benchmark runs compare like with like.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import orjson

from paperscope.records import PaperRecord, Version

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")

CATEGORIES = [
    ("cs.LG", 20), ("cs.CL", 16), ("cs.CV", 16), ("cs.AI", 10), ("stat.ML", 6), ("cs.RO", 4),
    ("cs.IR", 3), ("cs.NE", 2), ("cs.CR", 2), ("q-bio.QM", 2), ("q-bio.NC", 2), ("physics.comp-ph", 2),
    ("math.OC", 2), ("eess.IV", 2), ("eess.AS", 2), ("cs.SD", 1), ("cs.HC", 1), ("hep-th", 2),
    ("hep-ph", 2), ("astro-ph.GA", 2), ("cond-mat.mtrl-sci", 2), ("quant-ph", 3), ("math.CO", 1),
]


@dataclass(slots=True)
class Pools:
    titles: list[str]
    sentences: list[str]
    authors: list[str]


def load_pools(data: Path = DATA) -> Pools:
    titles: list[str] = []
    sentences: list[str] = []
    authors: list[str] = []

    def add_abstract(text: str) -> None:
        sentences.extend(s.strip() for s in _SENTENCE.split(" ".join(text.split())) if len(s.strip()) > 20)

    with (data / "scifact" / "corpus.jsonl").open("rb") as handle:
        for line in handle:
            obj = orjson.loads(line)
            titles.append(str(obj.get("title") or ""))
            add_abstract(str(obj.get("text") or ""))
    daily = orjson.loads((data / "hf-daily" / "hf-daily-2026-02.json").read_bytes())
    for paper in daily["papers"]:
        titles.append(str(paper.get("title") or ""))
        add_abstract(str(paper.get("abstract") or ""))
        authors.extend(str(a) for a in paper.get("authors") or [] if isinstance(a, str))
    with (data / "arxiv" / "kaggle" / "arxiv-metadata-oai-snapshot.sample.jsonl").open("rb") as handle:
        for line in handle:
            obj = orjson.loads(line)
            titles.append(" ".join(str(obj["title"]).split()))
            add_abstract(str(obj["abstract"]))
            authors.extend(" ".join(p[::-1][-2:]).strip() for p in obj.get("authors_parsed") or [])
    return Pools(
        titles=sorted({t for t in titles if len(t.split()) >= 3}),
        sentences=sorted(set(sentences)),
        authors=sorted({a for a in authors if a}),
    )


@dataclass(slots=True)
class TitleSource:
    """Which two real titles (indices into ``Pools.titles``) a synthetic title was spliced from,
    and the share of its words taken from the first."""

    first: int
    second: int
    share: float


def _title(rng: random.Random, pools: Pools) -> tuple[str, TitleSource]:
    # randrange(n) draws exactly as choice() does, so corpora made before provenance was kept
    # are unchanged.
    i, j = rng.randrange(len(pools.titles)), rng.randrange(len(pools.titles))
    first, second = pools.titles[i].split(), pools.titles[j].split()
    cut_a = rng.randint(1, max(1, len(first) - 1))
    cut_b = rng.randint(0, max(0, len(second) - 2))
    words = first[:cut_a] + second[cut_b:]
    return " ".join(words), TitleSource(i, j, cut_a / len(words))


def generate(count: int, seed: int = 7, pools: Pools | None = None) -> Iterator[PaperRecord]:
    """``count`` records, always the same ones for the same seed."""
    for record, _source in generate_with_sources(count, seed, pools):
        yield record


def generate_with_sources(
    count: int, seed: int = 7, pools: Pools | None = None
) -> Iterator[tuple[PaperRecord, TitleSource]]:
    """:func:`generate`'s records, each with the real titles its title was spliced from."""
    pools = pools or load_pools()
    rng = random.Random(seed)
    names, weights = zip(*CATEGORIES, strict=True)
    start = date(2015, 1, 1)
    span = (date(2026, 2, 27) - start).days
    per_month: dict[str, int] = {}
    for _ in range(count):
        day = start + timedelta(days=int(span * rng.random() ** 0.6))  # more papers in recent years
        month = f"{day.year % 100:02d}{day.month:02d}"
        per_month[month] = per_month.get(month, 0) + 1
        arxiv_id = f"{month}.{per_month[month]:05d}"
        cats = list(dict.fromkeys(rng.choices(names, weights=weights, k=rng.randint(1, 3))))
        upvotes = int(rng.paretovariate(1.3)) - 1 if rng.random() < 0.125 else None
        abstract = " ".join(rng.choice(pools.sentences) for _ in range(rng.randint(3, 8)))
        title, source = _title(rng, pools)
        yield PaperRecord(
            source="arxiv-snapshot",
            origin="bench-corpus",
            title=title,
            arxiv_id=arxiv_id,
            abstract=abstract,
            authors=rng.sample(pools.authors, rng.randint(1, 6)),
            categories=cats,
            primary_category=cats[0],
            published=day.isoformat(),
            versions=[Version("v1", f"{day.isoformat()}T00:00:00Z")],
            upvotes=upvotes,
        ), source


def make_queries(count: int, seed: int = 11, pools: Pools | None = None) -> list[str]:
    """A fixed mix: 1-6 title words, phrases, exclusions, author:, cat:, year:/since: filters."""
    pools = pools or load_pools()
    rng = random.Random(seed)
    cats = [c for c, _ in CATEGORIES]
    out: list[str] = []
    for _ in range(count):
        words = [w.strip(".,:;()?!\"'").lower() for w in rng.choice(pools.titles).split()]
        words = [w for w in words if len(w) > 2]
        if not words:
            words = ["learning"]
        take = rng.randint(1, min(6, len(words)))
        begin = rng.randint(0, len(words) - take)
        terms = words[begin : begin + take]
        kind = rng.random()
        if kind < 0.15 and len(terms) >= 2:
            query = f'"{terms[0]} {terms[1]}" ' + " ".join(terms[2:])
        elif kind < 0.25:
            query = " ".join(terms) + f" cat:{rng.choice(cats)}"
        elif kind < 0.32:
            query = " ".join(terms) + f" year:{rng.randint(2016, 2025)}"
        elif kind < 0.37:
            query = " ".join(terms) + f" since:{rng.randint(2018, 2025)}-{rng.randint(1, 12):02d}-01"
        elif kind < 0.42:
            query = " ".join(terms) + f" author:{rng.choice(pools.authors).split()[-1]}"
        elif kind < 0.47 and len(terms) >= 2:
            query = " ".join(terms[:-1]) + f" -{terms[-1]}"
        else:
            query = " ".join(terms)
        out.append(query.strip())
    return out
