"""Ingest benchmark: a snapshot-format file of N lines through `paperscope ingest`.

Builds (and caches under bench/.cache) a file in the arXiv bulk snapshot format by resampling
the 100 real records in ../shared/data/arxiv/kaggle with fresh ids and a fixed seed, then
ingests it into a fresh home with the real CLI in a subprocess, and reports records/s and the
subprocess's peak resident memory.  Side by side, in the same run:

* the same file through a bare loader (orjson + sqlite3 executemany into one table, no merge,
  no provenance, no change record): the floor of what Python and SQLite can do here, so the
  ratio shows what paperscope's merge policy costs;
* paperscope at a tenth of the size, to show that peak memory does not grow with the file.

    python bench/ingest.py [--lines 1000000] [--repeats 1] [--json]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO.parent / "shared" / "data" / "arxiv" / "kaggle" / "arxiv-metadata-oai-snapshot.sample.jsonl"
CACHE = REPO / "bench" / ".cache"
SEED = 20261123


def build_snapshot(lines: int, path: Path) -> Path:
    """Resample real records: fresh new-style ids, titles made distinct with words drawn from the
    real abstracts (real arXiv titles are nearly unique, and duplicate titles would make the
    benchmark measure a case that does not occur)."""
    if path.exists():
        return path
    real = [orjson.loads(line) for line in SAMPLE.read_bytes().splitlines() if line.strip()]
    words = [w for r in real for w in r["abstract"].split() if w.isalpha() and len(w) > 4]
    rng = random.Random(SEED)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        for i in range(lines):
            base = dict(real[rng.randrange(len(real))])
            other = real[rng.randrange(len(real))]
            year, month = 7 + (i // 1_080_000), 1 + (i // 90_000) % 12
            base["id"] = f"{year:02d}{month:02d}.{i % 90_000:05d}"
            base["title"] = f"{base['title']}: {' '.join(rng.sample(words, 3))}"
            base["abstract"] = other["abstract"]
            out.write(orjson.dumps(base) + b"\n")
    tmp.rename(path)
    return path


# A fresh interpreter per measurement runs the CLI and reports its child's peak RSS: the
# benchmark's own RUSAGE_CHILDREN would mix every run together.
_MEASURE = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]);"
    "sys.stderr.write(f'\\nmaxrss_kib={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n');"
    "sys.exit(r.returncode)"
)


def run_paperscope(snapshot: Path) -> dict[str, Any]:
    """One ingest of ``snapshot`` into a fresh home by the real CLI in a child process."""
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as home:
        exe = Path(sys.executable).with_name("paperscope")
        command = [
            sys.executable,
            "-c",
            _MEASURE,
            str(exe),
            "--home",
            home,
            "--quiet",
            "ingest",
            "--json",
            str(snapshot),
        ]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, check=False)
        seconds = time.perf_counter() - started
        if done.returncode not in (0, 1):
            raise SystemExit(f"ingest failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
        peak_kib = int(done.stderr.decode().rsplit("maxrss_kib=", 1)[1].split()[0])
        summary = orjson.loads(done.stdout)
        records = summary["added"] + summary["updated"] + summary["unchanged"]
        return {
            "records": records,
            "seconds": seconds,
            "records_per_s": records / seconds,
            "peak_rss_mib": peak_kib / 1024,
            "db_mib": (Path(home) / "paperscope.db").stat().st_size / 2**20,
        }


def run_bare(snapshot: Path) -> dict[str, Any]:
    """The floor: parse each line and insert a handful of columns, nothing else."""
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as home:
        db = sqlite3.connect(Path(home) / "bare.db")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE papers (arxiv_id TEXT UNIQUE, title TEXT, abstract TEXT, authors TEXT)")
        started = time.perf_counter()
        count = 0
        batch: list[tuple[str, str, str, str]] = []
        with open(snapshot, "rb") as handle:
            for line in handle:
                r = orjson.loads(line)
                batch.append((r["id"], r["title"], r["abstract"], r["authors"]))
                if len(batch) == 2000:
                    with db:
                        db.executemany("INSERT INTO papers VALUES (?, ?, ?, ?)", batch)
                    count += len(batch)
                    batch = []
        with db:
            db.executemany("INSERT INTO papers VALUES (?, ?, ?, ?)", batch)
        count += len(batch)
        seconds = time.perf_counter() - started
        db.close()
    return {"records": count, "seconds": seconds, "records_per_s": count / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=1, help="runs per configuration (median reported)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    big = build_snapshot(args.lines, CACHE / f"snapshot-{args.lines}.jsonl")
    small_lines = max(args.lines // 10, 1000)
    small = build_snapshot(small_lines, CACHE / f"snapshot-{small_lines}.jsonl")

    results: dict[str, Any] = {"lines": args.lines, "file_mib": big.stat().st_size / 2**20, "cpus": os.cpu_count()}
    # The small run goes first so that its peak RSS is not hidden behind the big one's.
    small_runs = [run_paperscope(small) for _ in range(args.repeats)]
    big_runs = [run_paperscope(big) for _ in range(args.repeats)]
    bare_runs = [run_bare(big) for _ in range(args.repeats)]

    def median(runs: list[dict[str, Any]], key: str) -> float | None:
        values = [r[key] for r in runs if r.get(key) is not None]
        return statistics.median(values) if values else None

    results["paperscope"] = {
        "records_per_s": median(big_runs, "records_per_s"),
        "seconds": median(big_runs, "seconds"),
        "peak_rss_mib": max((r["peak_rss_mib"] or 0) for r in big_runs) or None,
        "db_mib": big_runs[0]["db_mib"],
        "records": big_runs[0]["records"],
    }
    results["paperscope_tenth"] = {
        "lines": small_lines,
        "records_per_s": median(small_runs, "records_per_s"),
        "peak_rss_mib": max((r["peak_rss_mib"] or 0) for r in small_runs) or None,
    }
    results["bare_loader"] = {
        "records_per_s": median(bare_runs, "records_per_s"),
        "seconds": median(bare_runs, "seconds"),
    }
    results["ratio_paperscope_to_bare"] = (
        results["paperscope"]["records_per_s"] / results["bare_loader"]["records_per_s"]
    )

    if args.json:
        print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
        return
    p, t, b = results["paperscope"], results["paperscope_tenth"], results["bare_loader"]
    print(f"snapshot: {args.lines:,} lines, {results['file_mib']:.0f} MiB, {args.repeats} run(s) each, median")
    print(f"{'':24}{'records/s':>12}{'seconds':>10}{'peak RSS MiB':>14}")
    print(f"{'paperscope ingest':24}{p['records_per_s']:>12,.0f}{p['seconds']:>10.1f}{p['peak_rss_mib'] or 0:>14.0f}")
    print(f"{'paperscope, 1/10 file':24}{t['records_per_s']:>12,.0f}{'':>10}{t['peak_rss_mib'] or 0:>14.0f}")
    print(f"{'bare orjson+sqlite3':24}{b['records_per_s']:>12,.0f}{b['seconds']:>10.1f}{'':>14}")
    print(f"paperscope / bare loader: {results['ratio_paperscope_to_bare']:.2f}")
    print(f"database: {p['db_mib']:.0f} MiB for {p['records']:,} records")


if __name__ == "__main__":
    main()
