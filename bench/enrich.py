"""How much of February 2026's month file ``paperscope enrich`` completes, with a replayed arXiv API.

Usage::

    .venv/bin/python bench/enrich.py [--home DIR] [--json]

Ingests ``../shared/data/hf-daily/hf-daily-2026-02.json`` into a fresh home (``--home``, else a
temporary folder), counts what its papers lack, starts the loopback replay server of the tests
answering ``id_list`` queries with Atom built from the arXiv snapshot sample
(``tests/arxiv_feeds.py``: real content mapped to the month's 2026 ids, as the recorded
responses cover none of them), runs the real ``paperscope enrich --json`` against it (no pacing
delay: the server is local), runs it a second time, and prints the two reports beside the store's
counts before and after.  A figure of papers completed, not a timing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "tests"))

from arxiv_feeds import feed, month_entries  # noqa: E402
from paperscope.store import Store  # noqa: E402
from replay_server import ReplayServer, Reply  # noqa: E402

SHARED = BENCH.parent.parent / "shared" / "data"
MONTH = SHARED / "hf-daily" / "hf-daily-2026-02.json"


def census(home: Path) -> dict[str, int]:
    """Papers of the store and how many lack each thing enrichment fills."""
    counts = {"papers": 0, "no_categories": 0, "no_abstract": 0, "no_authors": 0, "no_date": 0, "arxiv_metadata": 0}
    with Store.open(str(home)) as store:
        for batch in store.iter_papers():
            for paper in batch:
                counts["papers"] += 1
                counts["no_categories"] += not paper.categories
                counts["no_abstract"] += not paper.abstract
                counts["no_authors"] += not paper.authors
                counts["no_date"] += not paper.published
                counts["arxiv_metadata"] += paper.meta_source.startswith("arxiv")
    return counts


def paperscope(home: Path, *args: str) -> dict[str, Any]:
    command = [str(Path(sys.executable).with_name("paperscope")), "--home", str(home), "--quiet", *args, "--json"]
    done = subprocess.run(command, capture_output=True, check=False, env={**os.environ, "PAPERSCOPE_HTTP_DELAY": "0"})
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.decode()}")
    return dict(orjson.loads(done.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-enrich-"))
    ingest = paperscope(home, "ingest", str(MONTH), "--no-index")
    before = census(home)
    entries = month_entries(SHARED)
    with ReplayServer() as server, Store.open(str(home)) as store:
        ids = [c.arxiv_id for c in store.enrich_candidates(datetime.now(UTC)) if c.arxiv_id]
        for start in range(0, len(ids), 100):
            batch = ids[start : start + 100]
            body = feed([entries[i] for i in batch if i in entries])
            reply = Reply(200, body, {"Content-Type": "application/atom+xml"})
            server.route("/api/query", {"id_list": ",".join(batch)}, reply)
        first = paperscope(home, "enrich", "--endpoint", server.url)
        second = paperscope(home, "enrich", "--endpoint", server.url)
        requests = len(server.requests)
    after = census(home)
    result = {
        "home": str(home), "ingest": ingest, "before": before, "enrich": first, "rerun": second,
        "after": after, "requests_served": requests,
    }
    if args.json:
        print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        return
    print(f"month file: {ingest['added']} papers ingested into {home}")
    keys = ("enriched", "not_found", "failed", "remaining", "requests")
    print("paperscope enrich:       " + ", ".join(f"{k} {first[k]}" for k in keys))
    print("paperscope enrich again: " + ", ".join(f"{k} {second[k]}" for k in keys))
    print(f"{'':24} {'before':>8} {'after':>8}")
    for key in before:
        print(f"{key:24} {before[key]:>8} {after[key]:>8}")


if __name__ == "__main__":
    main()
