"""Web benchmark: the daily, trending, search and paper pages under concurrent load.

Builds (or reuses, cached under bench/.cache) a home of N papers resampled from the real data
(``bench/make_home.py``), serves it with ``paperscope serve`` in a subprocess on 127.0.0.1, and
drives it from a SECOND process (an asyncio + httpx load generator: this file run with
``--drive``), so the client's CPU is never the server's.  For every page, side by side:

* closed loop: ``--concurrency`` clients, each sending its next request when the last one
  answered, for ``--duration`` seconds after a short warm-up: the most the server gives;
* open loop on the daily page at ``--target-rate`` requests/s (default 200): latencies are
  measured from each request's scheduled start, so a server that falls behind shows it in
  p99 instead of quietly lowering the rate (no coordinated omission).

Also shown: a static file (``/static/app.css``) as the floor of what the stack (uvicorn,
Starlette, middleware) costs per request, and the server's CPU use per request (psutil).

Server mode: ``--database pg`` (a throwaway PostgreSQL cluster, the test suite's from
tests/pg.py) or ``--database postgresql://...`` (an empty database) serves the same papers from
PostgreSQL too (copied in with ``paperscope migrate-store``), and ``--workers 1,2,4`` repeats
everything for each worker count: SQLite and PostgreSQL side by side in the same run.

    python bench/web.py [--papers 100000] [--duration 15] [--concurrency 8] [--json]
    python bench/web.py --database pg --workers 1,2,4 [--papers 20000]

Target on a 2-core machine: the daily page at 200 requests/s with p99 under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

PAPERSCOPE = str(Path(sys.executable).with_name("paperscope"))
PAGES = ("daily", "trending", "search", "paper", "static")
SEED = 7
MAX_REQUESTS = 1_000_000  # a hard bound on any one run, whatever the duration
TARGET_P99_MS = 100.0


# -- the load generator (second process) ------------------------------------------------------
async def _drive(spec: dict[str, Any]) -> dict[str, Any]:
    import httpx

    urls: list[str] = spec["urls"]
    concurrency: int = spec["concurrency"]
    rate: float = spec.get("rate") or 0.0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors: list[str] = []
    async with httpx.AsyncClient(base_url=spec["base"], limits=limits, timeout=30.0) as client:

        async def one(index: int, scheduled: float, record: bool) -> None:
            try:
                response = await client.get(urls[index % len(urls)])
                await response.aread()
                status = str(response.status_code)
            except httpx.HTTPError as error:
                status = type(error).__name__
                if len(errors) < 5:
                    errors.append(f"{urls[index % len(urls)]}: {error!r}")
            if record:
                latencies.append(time.perf_counter() - scheduled)
                statuses[status] = statuses.get(status, 0) + 1

        async def closed_loop(seconds: float, record: bool, start_index: int) -> int:
            deadline = time.perf_counter() + seconds
            counter = iter(range(start_index, start_index + MAX_REQUESTS))
            sent = 0

            async def worker() -> None:
                nonlocal sent
                for index in counter:
                    if time.perf_counter() >= deadline:
                        return
                    await one(index, time.perf_counter(), record)
                    sent += 1

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return sent

        async def open_loop(seconds: float) -> None:
            gate = asyncio.Semaphore(concurrency * 8)
            started = time.perf_counter()
            total = min(int(seconds * rate), MAX_REQUESTS)
            tasks = []

            async def scheduled_request(index: int, at: float) -> None:
                async with gate:
                    await one(index, at, True)

            for index in range(total):
                at = started + index / rate
                delay = at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(scheduled_request(index, at)))
            await asyncio.gather(*tasks)

        warmup_requests = await closed_loop(spec["warmup"], False, 0)
        began = time.perf_counter()
        if rate:
            await open_loop(spec["duration"])
        else:
            await closed_loop(spec["duration"], True, 10_000)
        elapsed = time.perf_counter() - began
    return {
        "latencies": latencies,
        "statuses": statuses,
        "errors": errors,
        "seconds": elapsed,
        "warmup_requests": warmup_requests,
    }


def drive_main() -> None:
    spec = orjson.loads(sys.stdin.buffer.read())
    sys.stdout.buffer.write(orjson.dumps(asyncio.run(_drive(spec))))


# -- the benchmark (first process) -------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def url_sets(home: Path) -> dict[str, list[str]]:
    """Deterministic request mixes: many days, papers and queries, so no single cached answer."""
    from urllib.parse import quote

    from paperscope.store import Store

    rng = random.Random(SEED)
    with Store.open(str(home)) as store:
        days = store.list_days()
        total = store.count_papers()
        ids = [rng.randrange(1, total + 1) for _ in range(300)]
        papers = store.get_papers(ids)
    words = sorted({w.lower() for p in papers for w in p.title.split() if w.isalpha() and len(w) > 4})
    queries = [" ".join(rng.sample(words, rng.choice((1, 2, 2, 3)))) for _ in range(200)]
    recent = days[-30:]
    return {
        "daily": [f"/papers?date={rng.choice(recent)}" for _ in range(200)],
        "trending": ["/trending"] * 5 + [f"/trending?category={c}" for c in ("cs.CL", "cs.CV", "cs.LG")],
        "search": [f"/search?q={quote(q)}" for q in queries],
        "paper": [f"/papers/{p.key}" for p in papers],
        "static": ["/static/app.css"],
    }


def start_server(
    home: Path, port: int, workers: int, log: Path, database: str | None = None
) -> subprocess.Popen[bytes]:
    import httpx

    command = [PAPERSCOPE, "--home", str(home), "--quiet"]
    command += ["--database", database] if database else []
    command += ["serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers)]
    env = {k: v for k, v in os.environ.items() if k != "PAPERSCOPE_DATABASE_URL"}
    with open(log, "wb") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"paperscope serve exited with {process.returncode}: see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/static/app.css", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"paperscope serve did not start within 120 s: see {log}")


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by the server and its worker processes.

    Exited children count too (their parent's children_* times, once reaped): PostgreSQL's
    backends come and go with connections, and without them the sum could go down.
    """
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
        except psutil.NoSuchProcess:
            pass
    return total


def run_load(
    base: str,
    urls: list[str],
    args: argparse.Namespace,
    pid: int,
    rate: float = 0.0,
    db_pid: int | None = None,
) -> dict[str, Any]:
    import numpy as np

    spec = {
        "base": base,
        "urls": urls,
        "concurrency": args.concurrency,
        "duration": args.duration,
        "warmup": args.warmup,
        "rate": rate,
    }
    cpu_before = server_cpu(pid)
    db_before = server_cpu(db_pid) if db_pid else 0.0
    done = subprocess.run(
        [sys.executable, __file__, "--drive"],
        input=orjson.dumps(spec),
        capture_output=True,
        timeout=args.duration + args.warmup + 120,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"load generator failed: {done.stderr.decode()[-2000:]}")
    result = orjson.loads(done.stdout)
    cpu = server_cpu(pid) - cpu_before
    db_cpu = server_cpu(db_pid) - db_before if db_pid else 0.0
    lat = np.array(result["latencies"]) * 1000
    count = len(lat)
    ok = result["statuses"].get("200", 0)
    return {
        "requests": count,
        "ok": ok,
        "errors": count - ok,
        "statuses": result["statuses"],
        "error_samples": result["errors"],
        "rps": round(count / result["seconds"], 1) if result["seconds"] else 0.0,
        "p50_ms": round(float(np.percentile(lat, 50)), 1) if count else None,
        "p95_ms": round(float(np.percentile(lat, 95)), 1) if count else None,
        "p99_ms": round(float(np.percentile(lat, 99)), 1) if count else None,
        "max_ms": round(float(lat.max()), 1) if count else None,
        # The CPU figure spans the warm-up too, so it is divided by the warm-up's requests as well.
        "server_cpu_ms_per_request": round(cpu * 1000 / max(count + result["warmup_requests"], 1), 2),
        # PostgreSQL's own processes (the throwaway cluster only): on the same cores as the app.
        "db_cpu_ms_per_request": round(db_cpu * 1000 / max(count + result["warmup_requests"], 1), 2),
    }


def main() -> None:
    if "--drive" in sys.argv:
        drive_main()
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds measured per page")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of unmeasured load first")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--target-rate", type=float, default=200.0, help="open-loop rate for the daily page")
    parser.add_argument(
        "--workers", default="1", help="uvicorn worker processes; a comma-separated list runs each"
    )
    parser.add_argument(
        "--database",
        help="also serve from PostgreSQL: 'pg' (a throwaway cluster) or an empty postgresql:// database",
    )
    parser.add_argument("--pages", default=",".join(PAGES), help=f"comma-separated, of {','.join(PAGES)}")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    unknown = set(pages) - set(PAGES)
    if unknown:
        parser.error(f"unknown pages {sorted(unknown)}: choose from {', '.join(PAGES)}")
    try:
        worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    except ValueError:
        parser.error(f"--workers {args.workers!r}: give a number or a comma-separated list, e.g. 1,2,4")
    if not worker_counts or min(worker_counts) < 1:
        parser.error("--workers: every count must be 1 or more")
    if args.database and args.database != "pg" and not args.database.startswith("postgresql"):
        parser.error(f"--database {args.database!r}: give 'pg' or a postgresql://... URL")

    from make_home import build_home
    from paperscope.store.transfer import safe_url

    home = build_home(args.papers)
    sets = url_sets(home)
    backends: list[tuple[str, Path, str | None]] = [("sqlite", home, None)]
    cluster = None
    setup: dict[str, Any] = {}
    try:
        if args.database:
            from make_home import postgres_home

            url = args.database
            if url == "pg":
                cluster = start_cluster()
                url = cluster.create_database()
            print(f"… loading {args.papers} papers into PostgreSQL (migrate-store)", file=sys.stderr)
            pg_home, setup = postgres_home(home, url)
            backends.append(("postgresql", pg_home, url))
        runs: list[dict[str, Any]] = [
            {"backend": name, "workers": workers,
             "results": measure(served_home, database, workers, pages, sets, args,
                                db_pid=postmaster_pid(cluster) if database else None)}
            for workers in worker_counts
            for name, served_home, database in backends
        ]  # fmt: skip
    finally:
        if cluster is not None:
            cluster.stop()
    report = {
        "papers": args.papers,
        "home": str(home),
        "concurrency": args.concurrency,
        "duration_s": args.duration,
        "workers": worker_counts,
        "cpus": os.cpu_count(),
        "postgresql": {"database": "throwaway cluster" if cluster else safe_url(args.database), **setup}
        if args.database
        else None,
        "target": {"page": "daily", "rate": args.target_rate, "p99_ms": TARGET_P99_MS},
        "runs": runs,
        # The single-run layout of earlier reports: the first run's pages.
        "results": runs[0]["results"],
    }
    for run in runs:
        run["target_met"] = target_met(run["results"], args.target_rate)
    if args.json:
        print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
        return
    print_report(report, args)


def start_cluster() -> Any:
    """The test suite's throwaway PostgreSQL cluster (tests/pg.py), started."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from pg import Cluster, find_bindir

    cluster = Cluster(find_bindir())
    cluster.start()
    return cluster


def postmaster_pid(cluster: Any) -> int | None:
    """The throwaway cluster's server process (its backends are its children); None for a URL."""
    if cluster is None:
        return None
    return int((cluster.data / "postmaster.pid").read_text().split()[0])


def measure(
    home: Path,
    database: str | None,
    workers: int,
    pages: list[str],
    sets: dict[str, list[str]],
    args: argparse.Namespace,
    db_pid: int | None = None,
) -> dict[str, Any]:
    """Every page's load against one server (a backend, a worker count)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = home.parent / f"web-server-{port}.log"
    server = start_server(home, port, workers, log, database)
    backend = "postgresql" if database else "sqlite"
    results: dict[str, Any] = {}
    try:
        for page in pages:
            print(f"… {backend}, {workers} worker(s), {page}: {args.concurrency} clients for "
                  f"{args.duration:g} s", file=sys.stderr)  # fmt: skip
            results[page] = run_load(base, sets[page], args, server.pid, db_pid=db_pid)
        if "daily" in pages and args.target_rate > 0:
            print(f"… daily at {args.target_rate:g} requests/s (open loop)", file=sys.stderr)
            results["daily@rate"] = run_load(
                base, sets["daily"], args, server.pid, rate=args.target_rate, db_pid=db_pid
            )
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    return results


def target_met(results: dict[str, Any], rate: float) -> bool | None:
    at_rate = results.get("daily@rate")
    if at_rate is None:
        return None
    return bool(
        at_rate["errors"] == 0
        and at_rate["p99_ms"] is not None
        and at_rate["p99_ms"] < TARGET_P99_MS
        and at_rate["rps"] >= 0.95 * rate
    )


def print_report(report: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"\n{args.papers} papers, {args.concurrency} concurrent clients, {args.duration:g} s per page, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    if report["postgresql"]:
        print(f"postgresql: {report['postgresql']}")
    columns = ("req/s", "p50 ms", "p95 ms", "p99 ms", "max ms")
    for run in report["runs"]:
        print(f"\n{run['backend']}, {run['workers']} worker(s)")
        header = f"{'page':<12}" + "".join(f"{c:>9}" for c in columns) + f"{'errors':>8}{'cpu ms/req':>12}"
        header += f"{'db cpu ms/req':>15}" if run["backend"] == "postgresql" else ""
        print(header)
        print("-" * len(header))
        for name, r in run["results"].items():
            print(f"{name:<12}{r['rps']:>9}{r['p50_ms']!s:>9}{r['p95_ms']!s:>9}{r['p99_ms']!s:>9}"
                  f"{r['max_ms']!s:>9}{r['errors']:>8}{r['server_cpu_ms_per_request']:>12}"
                  + (f"{r['db_cpu_ms_per_request']:>15}" if run["backend"] == "postgresql" else "")
                  )  # fmt: skip
        if run["target_met"] is not None:
            verdict = "met" if run["target_met"] else "NOT met"
            print(f"target (daily page at {args.target_rate:g} req/s, p99 < {TARGET_P99_MS:g} ms): {verdict}")
        for name, r in run["results"].items():
            if r["error_samples"] or r["errors"]:
                print(f"{name}: statuses {r['statuses']} {r['error_samples']}")
    if len(report["runs"]) > 1:
        # Side by side: one column per (backend, workers), "req/s / p99 ms" in each.
        short = {"postgresql": "pg", "sqlite": "sqlite"}
        labels = [f"{short[r['backend']]} x{r['workers']}" for r in report["runs"]]
        print("\nreq/s / p99 ms, side by side")
        print(f"{'page':<12}" + "".join(f"{label:>18}" for label in labels))
        for name in report["runs"][0]["results"]:
            cells = [f"{r['results'][name]['rps']:g} / {r['results'][name]['p99_ms']}"
                     for r in report["runs"]]  # fmt: skip
            print(f"{name:<12}" + "".join(f"{cell:>18}" for cell in cells))


if __name__ == "__main__":
    main()
