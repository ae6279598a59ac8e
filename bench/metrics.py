"""What request metrics cost: one route called straight through ASGI, with and without
``MetricsMiddleware`` (paperscope.web.metrics), in prometheus-client's two value modes.

Each mode runs in its own process, because the library fixes the mode at import from
``$PROMETHEUS_MULTIPROC_DIR`` (memory: a plain ``create_app`` or a test; multiprocess: what
``paperscope serve`` uses, every observation written to a memory-mapped file).  The route is a
trivial FastAPI endpoint, so the figures are the middleware's own cost per request, to be set
beside a real page's (``bench/web.py``: a daily page takes milliseconds).

    python bench/metrics.py [--requests 20000] [--rounds 7] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import orjson


def _one_mode(wrapped: bool, requests: int, rounds: int) -> list[float]:
    """Median-able per-request times (microseconds) of ``rounds`` batches."""
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    app = FastAPI()

    @app.get("/papers/{key:path}")
    async def paper(key: str) -> PlainTextResponse:
        return PlainTextResponse(key)

    if wrapped:
        from paperscope.web.metrics import MetricsMiddleware

        app.add_middleware(MetricsMiddleware)

    async def call(path: str) -> None:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1), "server": ("bench", 80),
        }  # fmt: skip

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            return None

        await app(scope, receive, send)

    async def batch() -> float:
        started = time.perf_counter()
        for index in range(requests):
            await call(f"/papers/2602.{index % 1000:05d}")
        return (time.perf_counter() - started) / requests * 1e6

    async def run() -> list[float]:
        await batch()  # warm-up: imports, route compilation, first label sets
        return [await batch() for _ in range(rounds)]

    return asyncio.run(run())


def _child(mode: str, requests: int, rounds: int) -> dict[str, list[float]]:
    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with tempfile.TemporaryDirectory() as folder:
        if mode == "multiprocess":
            env["PROMETHEUS_MULTIPROC_DIR"] = folder
        done = subprocess.run(
            [sys.executable, __file__, "--child", "--requests", str(requests), "--rounds", str(rounds)],
            env=env, capture_output=True, check=True,
        )  # fmt: skip
    return dict(orjson.loads(done.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = {
            "bare": _one_mode(False, args.requests, args.rounds),
            "metrics": _one_mode(True, args.requests, args.rounds),
        }
        sys.stdout.buffer.write(orjson.dumps(result))
        return
    rows: dict[str, dict[str, float]] = {}
    for mode in ("memory", "multiprocess"):
        times = _child(mode, args.requests, args.rounds)
        bare, measured = statistics.median(times["bare"]), statistics.median(times["metrics"])
        rows[mode] = {
            "bare_us": round(bare, 1),
            "with_metrics_us": round(measured, 1),
            "overhead_us": round(measured - bare, 1),
            "ratio": round(measured / bare, 2),
        }
    if args.json:
        print(orjson.dumps({"requests": args.requests, "rounds": args.rounds, "modes": rows}).decode())
        return
    print(f"per request, median of {args.rounds} rounds of {args.requests} ASGI calls (microseconds)")
    print(f"{'value mode':14} {'bare route':>11} {'+ metrics':>10} {'overhead':>9} {'ratio':>6}")
    for mode, row in rows.items():
        print(
            f"{mode:14} {row['bare_us']:11.1f} {row['with_metrics_us']:10.1f} "
            f"{row['overhead_us']:9.1f} {row['ratio']:6.2f}"
        )


if __name__ == "__main__":
    main()
