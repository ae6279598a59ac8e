"""A large paperscope home for benchmarks, resampled deterministically from the real data.

Titles and abstracts come from ../shared/data (Hugging Face daily lists, the arXiv snapshot
sample, SciFact's 5,183 abstracts), authors and categories from the records that have them.
Every paper gets a fresh arXiv id, a day in a daily list over about two years of weekdays
ending 2026-02-27, and a heavy-tailed upvote count, so the daily, trending, search and paper
pages see the shape of a real site at a size the shared data does not reach.

The home is cached under ``bench/.cache/web-home-<N>`` (a ``complete.json`` marker is written
last, so an interrupted build is redone) and reused by later runs.

    python bench/make_home.py [--papers 100000] [--semantic] [--json]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

from paperscope.records import PaperRecord, clean_text

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CACHE = REPO / "bench" / ".cache"
SEED = 20261123
LAST_DAY = date(2026, 2, 27)
DAYS_BACK = 730
HF_CATEGORIES = ["cs.CL", "cs.CV", "cs.LG", "cs.AI", "cs.RO", "cs.IR", "stat.ML", "eess.AS"]


def load_pool() -> dict[str, list[Any]]:
    """Real texts, author lists and category lists to draw from."""
    texts: list[tuple[str, str]] = []
    authors: list[list[str]] = []
    categories: list[list[str]] = []
    feb = orjson.loads((DATA / "hf-daily" / "hf-daily-2026-02.json").read_bytes())["papers"]
    for p in feb:
        texts.append((clean_text(p["title"]), clean_text(p["abstract"])))
        authors.append(list(p["authors"]))
    for item in orjson.loads((DATA / "hf-daily" / "daily_papers_2024-10-25.json").read_bytes()):
        paper = item["paper"]
        texts.append((clean_text(paper["title"]), clean_text(paper["summary"])))
        authors.append([a["name"] for a in paper["authors"]])
    snapshot = DATA / "arxiv" / "kaggle" / "arxiv-metadata-oai-snapshot.sample.jsonl"
    for line in snapshot.read_bytes().splitlines():
        if line.strip():
            r = orjson.loads(line)
            texts.append((clean_text(r["title"]), clean_text(r["abstract"])))
            authors.append([" ".join(x for x in (a[1], a[0]) if x) for a in r["authors_parsed"]])
            categories.append(r["categories"].split())
    for line in (DATA / "scifact" / "corpus.jsonl").read_bytes().splitlines():
        if line.strip():
            r = orjson.loads(line)
            if r["title"] and r["text"]:
                texts.append((clean_text(r["title"]), clean_text(r["text"])))
    words = sorted({w.lower() for _, a in texts for w in a.split() if w.isalpha() and len(w) > 5})
    return {"texts": texts, "authors": authors, "categories": categories, "words": words}


def weekdays() -> list[date]:
    days = [LAST_DAY - timedelta(days=n) for n in range(DAYS_BACK)]
    return sorted(d for d in days if d.weekday() < 5)


def records(count: int, pool: dict[str, list[Any]]) -> Iterator[PaperRecord]:
    rng = random.Random(SEED)
    days = weekdays()
    texts, authors, cats, words = pool["texts"], pool["authors"], pool["categories"], pool["words"]
    per_month: dict[str, int] = {}
    for i in range(count):
        # Spread papers evenly over the days, so every list day has about count / len(days).
        day = days[i * len(days) // count]
        published = day - timedelta(days=rng.randrange(0, 4))
        month = published.strftime("%y%m")
        per_month[month] = per_month.get(month, 0) + 1
        arxiv_id = f"{month}.{per_month[month]:05d}"
        title, _ = texts[rng.randrange(len(texts))]
        _, abstract = texts[rng.randrange(len(texts))]
        # Distinct titles: real titles are nearly unique and the merge treats equal titles specially.
        title = f"{title} ({' '.join(rng.sample(words, 2))})"
        if rng.random() < 0.7:
            categories = rng.sample(HF_CATEGORIES, rng.randint(1, 3))
        else:
            categories = list(cats[rng.randrange(len(cats))])
        upvotes = min(int(rng.paretovariate(1.1)) - 1, 900)
        yield PaperRecord(
            source="hf-api",
            origin="bench/make_home.py",
            title=title,
            arxiv_id=arxiv_id,
            abstract=abstract,
            authors=list(authors[rng.randrange(len(authors))]),
            categories=categories,
            primary_category=categories[0],
            published=published.isoformat(),
            upvotes=upvotes,
            daily_date=day.isoformat(),
            submitted_by=f"user{rng.randrange(5000)}",
            num_comments=rng.randrange(6),
        )


def build_home(papers: int, *, semantic: bool = False, progress: bool = True) -> Path:
    """The cached home with ``papers`` papers and its keyword index (and with ``semantic``, vectors)."""
    home = CACHE / f"web-home-{papers}{'-sem' if semantic else ''}"
    marker = home / "complete.json"
    if marker.exists():
        return home
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    from paperscope.index.build import update_indexes
    from paperscope.ingest import Ingestor
    from paperscope.store import Store

    progress = progress and sys.stderr.isatty()
    started = time.perf_counter()
    with Store.open(str(home)) as store:
        with Ingestor(store, batch_size=5000, report_rejects=False) as ingestor:
            ingestor.write(_counted(records(papers, load_pool()), papers, progress))
        ingested = time.perf_counter()
        indexes = update_indexes(store, progress=progress, semantic=semantic)
        stats = {
            "papers": store.count_papers(),
            "list_days": len(store.list_days()),
            "ingest_s": round(ingested - started, 1),
            "index_s": round(time.perf_counter() - ingested, 1),
            "indexes": indexes,
        }
    marker.write_bytes(orjson.dumps(stats, option=orjson.OPT_INDENT_2))
    return home


def postgres_home(home: Path, database_url: str, *, progress: bool = True) -> tuple[Path, dict[str, Any]]:
    """A sibling home for serving ``home``'s papers from PostgreSQL at ``database_url``.

    The database gets the papers with ``paperscope migrate-store`` (the way an operator moves a
    home; skipped when it already holds them all); the new home gets a copy of the keyword
    index, so an app process over PostgreSQL starts with the same index and never writes into
    the cached SQLite home.  Returns the home and what the copy took.
    """
    import subprocess

    from paperscope.store import Store

    papers = orjson.loads((home / "complete.json").read_bytes())["papers"]
    target = home.with_name(f"{home.name}-pg")
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(home / "index", target / "index")
    with Store.open(str(target), database_url) as store:
        present = store.count_papers()
    stats: dict[str, Any] = {"papers_before": present}
    if present != papers:
        if present:
            raise SystemExit(f"{database_url} holds {present} papers, not {papers}: give an empty database")
        exe = str(Path(sys.executable).with_name("paperscope"))
        command = [exe, "--home", str(target), "migrate-store"]
        command += ["--from", f"sqlite:///{home / 'paperscope.db'}", "--to", database_url, "--json"]
        if not (progress and sys.stderr.isatty()):
            command.insert(1, "--quiet")
        started = time.perf_counter()
        done = subprocess.run(command, stdout=subprocess.PIPE, check=False)
        if done.returncode != 0:
            raise SystemExit(f"migrate-store failed ({done.returncode}): {done.stdout.decode()[-2000:]}")
        stats["migrate_s"] = round(time.perf_counter() - started, 1)
    return target, stats


def _counted(items: Iterator[PaperRecord], total: int, progress: bool) -> Iterator[PaperRecord]:
    from tqdm import tqdm

    with tqdm(total=total, desc="make home", unit="paper", disable=not progress) as bar:
        for item in items:
            bar.update(1)
            yield item


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--semantic", action="store_true", help="also embed every paper (slow on a CPU)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    home = build_home(args.papers, semantic=args.semantic)
    stats = orjson.loads((home / "complete.json").read_bytes())
    if args.json:
        print(orjson.dumps({"home": str(home), **stats}).decode())
    else:
        print(f"{home}: {stats['papers']} papers over {stats['list_days']} list days "
              f"(ingest {stats['ingest_s']} s, index {stats['index_s']} s)")


if __name__ == "__main__":
    main()
