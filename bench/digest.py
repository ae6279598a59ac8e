"""Digest benchmark: `paperscope digest send` for N subscribers against aiosmtpd on loopback.

A fresh home is filled with the real February 2026 Daily Papers (../shared/data), given a
keyword index, and N confirmed subscribers (a quarter each: no filters, a category, a
minimum of 20 upvotes, a saved search).  The sample has no arXiv categories, so the category
quarter gets empty digests, which are not sent: a real case too (its cost is the selection).
Then, side by side in the same run, each repeated:

* ``--dry-run``: select and render every digest to files (no SMTP, nothing recorded);
* a real send: claim, select, render, SMTP to a loopback aiosmtpd server, record;
* a rerun of the real send: every digest already sent, so this is the cost of the
  exactly-once bookkeeping alone.

Reports the median wall time per run and per digest.

    python bench/digest.py [--subscribers 200] [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from aiosmtpd.controller import Controller

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "hf-daily" / "hf-daily-2026-02.json"
PAPERSCOPE = str(Path(sys.executable).with_name("paperscope"))
TODAY = "2026-11-24"


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def make_home(root: Path, subscribers: int) -> Path:
    from paperscope.index.build import update_indexes
    from paperscope.ingest import Ingestor
    from paperscope.store import Store

    home = root / "home"
    with Store.open(str(home)) as store:
        with Ingestor(store, report_rejects=False) as ingestor:
            ingestor.ingest_paths([DATA])
        update_indexes(store, semantic=False)
        for i in range(subscribers):
            kind = i % 4
            sub = store.digests.subscribe(
                f"reader{i}@example.org",
                "daily",
                categories=["cs.CV"] if kind == 1 else [],
                min_upvotes=20 if kind == 2 else 0,
                keywords="agents" if kind == 3 else "",
            )
            store.digests.confirm(sub.id)
    return home


def run(home: Path, env: dict[str, str], *extra: str) -> tuple[float, dict[str, Any]]:
    cmd = [PAPERSCOPE, "--quiet", "digest", "send", "--period", "daily", "--today", TODAY, "--json", *extra]
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"digest send failed: {done.stderr}")
    return elapsed, orjson.loads(done.stdout)["runs"][0]


def reset_sends(home: Path) -> None:
    from paperscope.store import Store

    with Store.open(str(home)) as store, store.transaction() as conn:
        import sqlalchemy as sa

        conn.execute(sa.text("DELETE FROM digest_items"))
        conn.execute(sa.text("DELETE FROM digest_sends"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sink = Sink()
    with socket.socket() as probe:  # aiosmtpd cannot start on port 0: pick a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    times: dict[str, list[float]] = {"dry-run": [], "send": [], "rerun": []}
    with tempfile.TemporaryDirectory() as tmp:
        home = make_home(Path(tmp), args.subscribers)
        env = {
            **os.environ,
            "PAPERSCOPE_HOME": str(home),
            "PAPERSCOPE_SMTP_HOST": "127.0.0.1",
            "PAPERSCOPE_SMTP_PORT": str(port),
            "PAPERSCOPE_MAIL_FROM": "bench <bench@paperscope.test>",
        }
        digests = 0
        for _ in range(args.repeats):
            elapsed, report = run(home, env, "--dry-run", "--out", str(Path(tmp) / "dry"))
            times["dry-run"].append(elapsed)
            digests = len(report["files"]) // 2
            reset_sends(home)
            before = sink.count
            elapsed, report = run(home, env)
            times["send"].append(elapsed)
            assert sink.count - before == len(report["sent"]) == digests, (sink.count, report)
            elapsed, report = run(home, env)
            times["rerun"].append(elapsed)
            assert report["sent"] == [] and sink.count - before == digests
            reset_sends(home)
    controller.stop()
    result = {
        "subscribers": args.subscribers,
        "digests": digests,
        "repeats": args.repeats,
        "median_s": {k: round(statistics.median(v), 3) for k, v in times.items()},
        "median_ms_per_digest": {
            k: round(1000 * statistics.median(v) / max(digests, 1), 2) for k, v in times.items()
        },
    }
    if args.json:
        print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        return
    print(f"{args.subscribers} subscribers, {digests} non-empty digests, median of {args.repeats} run(s)")
    print(f"{'run':10} {'seconds':>9} {'ms/digest':>10}")
    for name in times:
        print(f"{name:10} {result['median_s'][name]:9.3f} {result['median_ms_per_digest'][name]:10.2f}")


if __name__ == "__main__":
    main()
