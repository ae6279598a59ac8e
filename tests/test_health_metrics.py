"""``/healthz`` and ``/metrics`` over real stores: a PostgreSQL cluster that is stopped under a
running app, an address nothing listens on, and ``paperscope serve --workers 2`` whose
``/metrics`` must add up both workers' requests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from mail_fixtures import free_port
from paperscope.config import Settings
from paperscope.records import PaperRecord
from paperscope.store import Store
from paperscope.store.engine import create_engine
from paperscope.web.app import create_app
from pg import Cluster, child_env, find_bindir
from serve_support import serving
from web_support import SECRET

LOCAL = ("127.0.0.1", 50000)  # TestClient's default peer is "testclient", which is no address


def local(client: TestClient) -> TestClient:
    """The same app seen from loopback, where /metrics and /healthz's detail answer by default."""
    return TestClient(client.app, client=LOCAL)


def families(text: str) -> dict[str, list[Sample]]:
    return {family.name: list(family.samples) for family in text_string_to_metric_families(text)}


def value(samples: list[Sample], name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


def test_healthz_reports_database_index_lag_and_queues(web_client: TestClient, web_store: Store) -> None:
    web_client = local(web_client)
    answer = web_client.get("/healthz")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ok"
    assert body["database"]["reachable"] is True and body["database"]["backend"] == web_store.dialect
    assert body["papers"] == web_store.count_papers() > 0
    # The session's home was indexed (keyword side only) after its last write: nothing waits.
    assert body["index_lag"] == {"keyword": 0, "semantic": None}
    assert body["queues"] == {"fetch": {}, "outbox": {}}
    assert body["jobs"] == {}  # no job has run in this home
    assert answer.headers["cache-control"] == "no-store"

    _record_runs(web_store)
    jobs = web_client.get("/healthz").json()["jobs"]
    assert sorted(jobs) == ["enrich", "harvest-hf"]
    assert jobs["harvest-hf"]["last_status"] == "failed" and jobs["harvest-hf"]["last_error"] == "HTTP 503"
    assert (jobs["harvest-hf"]["runs"], jobs["harvest-hf"]["failures"]) == (2, 1)
    assert jobs["enrich"]["last_counts"] == {"enriched": 3}

    web_store.write_records(
        [PaperRecord(source="json-list", origin="tests", title="A paper the index has not seen", arxiv_id="2612.00001")]
    )
    assert web_client.get("/healthz").json()["index_lag"]["keyword"] == 1


def _record_runs(store: Store) -> None:
    """Runs as the scheduler records them: harvest-hf ok then failed, enrich ok."""
    at = "2026-12-05T10:00:00Z"
    runs = (("harvest-hf", "ok", None), ("harvest-hf", "failed", "HTTP 503"), ("enrich", "ok", None))
    for name, status, error in runs:
        store.jobs.started(name, at)
        counts = {"enriched": 3} if name == "enrich" else {}
        store.jobs.finished(name, at=at, status=status, counts=counts, error=error, next_run=None)


def _unreachable_store(home: Path) -> Store:
    # A port nothing listens on: every connection is refused, as when the server is down.
    url = f"postgresql://paperscope@127.0.0.1:{free_port()}/paperscope"
    return Store(Settings(home=home, database_url=url), create_engine(url))


def test_healthz_is_503_when_the_database_cannot_be_reached(home: Path) -> None:
    store = _unreachable_store(home)
    with TestClient(create_app(store, secret_key=SECRET), client=LOCAL) as client:
        answer = client.get("/healthz")
        assert answer.status_code == 503, answer.text
        body = answer.json()
        assert body["status"] == "unavailable" and body["database"]["reachable"] is False
        assert "127.0.0.1" in body["database"]["error"] or "refused" in body["database"]["error"]
        # /metrics still answers, and says so.
        scraped = families(client.get("/metrics").text)
        assert value(scraped["paperscope_database_up"], "paperscope_database_up") == 0.0
        assert "paperscope_papers" not in scraped


def test_healthz_turns_503_when_postgresql_stops(tmp_path: Path) -> None:
    cluster = Cluster(find_bindir())
    cluster.start()
    try:
        url = cluster.create_database()
        store = Store.open(str(tmp_path / "home"), url)
        with TestClient(create_app(store, secret_key=SECRET), client=LOCAL) as client:
            assert client.get("/healthz").status_code == 200
            cluster.stop()
            answer = client.get("/healthz")
            assert answer.status_code == 503, answer.text
            assert answer.json()["database"]["reachable"] is False
        store.close()
    finally:
        cluster.stop()


def test_metrics_count_requests_by_route_template(web_client: TestClient, web_store: Store) -> None:
    web_client = local(web_client)
    _record_runs(web_store)
    before = families(web_client.get("/metrics").text)
    for key in ("1605.08386", "2602.23152"):
        web_client.get(f"/papers/{key}")
    assert web_client.head("/papers/2602.22638").status_code == 200  # counted as the GET it runs as
    web_client.get("/search", params={"q": "diffusion", "mode": "keyword"})
    web_client.get("/api/papers/search", params={"q": "attention"})
    web_client.get("/no/such/page/at/all")
    text = web_client.get("/metrics").text
    scraped = families(text)

    assert all(name.startswith("paperscope_") for name in scraped), sorted(scraped)
    for expected in (
        "paperscope_http_requests",
        "paperscope_http_request_duration_seconds",
        "paperscope_search_duration_seconds",
        "paperscope_papers",
        "paperscope_index_lag_changes",
        "paperscope_job_runs",
        "paperscope_job_failures",
        "paperscope_digests_sent",
        "paperscope_database_up",
        "paperscope_queue_items",
    ):
        assert expected in scraped, expected

    requests = scraped["paperscope_http_requests"]
    routes = {s.labels["route"] for s in requests}
    # Templates, never raw paths: one series for every paper page, one for every unknown path.
    assert "/papers/{key:path}" in routes and not any("2602.23152" in r for r in routes)
    assert "<unmatched>" in routes and not any("no/such" in r for r in routes)

    def grown(name: str, **labels: str) -> float:
        prior = value(before.get(name[: -len("_total")], []), name, **labels) if name.endswith("_total") else 0.0
        return value(requests, name, **labels) - prior

    assert grown("paperscope_http_requests_total", route="/papers/{key:path}", method="GET") == 3
    assert grown("paperscope_http_requests_total", route="/search", status="200") == 1
    latency = scraped["paperscope_http_request_duration_seconds"]
    assert value(latency, "paperscope_http_request_duration_seconds_count", route="/papers/{key:path}") >= 3
    assert value(latency, "paperscope_http_request_duration_seconds_sum", route="/papers/{key:path}") > 0
    search = scraped["paperscope_search_duration_seconds"]
    assert value(search, "paperscope_search_duration_seconds_count", mode="keyword") >= 1
    assert value(search, "paperscope_search_duration_seconds_count", mode="hybrid") >= 1

    assert value(scraped["paperscope_papers"], "paperscope_papers") == web_store.count_papers()
    assert value(scraped["paperscope_index_lag_changes"], "paperscope_index_lag_changes", index="keyword") == 0
    assert value(scraped["paperscope_database_up"], "paperscope_database_up") == 1.0
    assert value(scraped["paperscope_job_runs"], "paperscope_job_runs_total", job="harvest-hf") == 2
    assert value(scraped["paperscope_job_failures"], "paperscope_job_failures_total", job="harvest-hf") == 1
    assert value(scraped["paperscope_job_failures"], "paperscope_job_failures_total", job="enrich") == 0
    assert value(scraped["paperscope_digests_sent"], "paperscope_digests_sent_total") == 0


@pytest.mark.parametrize(
    ("peer", "allowed"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),  # loopback on a dual-stack socket
        ("10.20.30.40", True),
        ("172.31.255.1", True),
        ("192.168.1.9", True),
        ("fd12:3456::1", True),
        ("203.0.113.7", False),  # the internet
        ("172.32.0.1", False),  # just outside 172.16.0.0/12
        ("2001:db8::1", False),
        ("testclient", False),  # not an address at all
    ],
)
def test_metrics_and_healthz_detail_answer_local_and_private_clients_only(
    web_client: TestClient, web_store: Store, peer: str, allowed: bool
) -> None:
    _record_runs(web_store)  # a failure reason that the public must not read
    client = TestClient(web_client.app, client=(peer, 40000))
    scrape = client.get("/metrics")
    assert scrape.status_code == (200 if allowed else 403), scrape.text
    if not allowed:
        assert "PAPERSCOPE_METRICS_ALLOW" in scrape.text and "paperscope_" not in scrape.text
    health = client.get("/healthz")
    assert health.status_code == 200  # the up/down answer is public: a load balancer may be anywhere
    if allowed:
        assert health.json()["jobs"]["harvest-hf"]["last_error"] == "HTTP 503"
    else:
        assert health.json() == {"status": "ok"}


def test_the_database_error_is_not_shown_to_the_public(home: Path) -> None:
    store = _unreachable_store(home)
    with TestClient(create_app(store, secret_key=SECRET), client=("203.0.113.7", 40000)) as client:
        answer = client.get("/healthz")
        assert answer.status_code == 503 and answer.json() == {"status": "unavailable"}
        assert "127.0.0.1" not in answer.text


def test_metrics_networks_and_token_are_settings(web_store: Store) -> None:
    settings = web_store.settings.model_copy(
        update={"metrics_allow": [ip_network("198.51.100.0/24")], "metrics_token": "scrape-me-4f9a"}
    )
    app = create_app(Store(settings, web_store.engine), secret_key=SECRET)
    inside, outside = TestClient(app, client=("198.51.100.7", 1)), TestClient(app, client=("203.0.113.7", 1))
    assert inside.get("/metrics").status_code == 200
    assert TestClient(app, client=LOCAL).get("/metrics").status_code == 403  # loopback no longer listed
    assert outside.get("/metrics").status_code == 403
    bearer = {"Authorization": "Bearer scrape-me-4f9a"}
    assert outside.get("/metrics", headers=bearer).status_code == 200
    assert "jobs" in outside.get("/healthz", headers=bearer).json()
    assert outside.get("/metrics", headers={"Authorization": "Bearer scrape-me-4f9b"}).status_code == 403
    assert outside.get("/metrics", headers={"Authorization": "Basic scrape-me-4f9a"}).status_code == 403


def test_metrics_allow_is_read_from_the_environment_and_checked(tmp_path: Path) -> None:
    from paperscope.config import ConfigError, load_settings

    settings = load_settings(tmp_path, environ={"PAPERSCOPE_METRICS_ALLOW": "10.1.0.0/16, ::1"})
    assert settings.metrics_allow == [ip_network("10.1.0.0/16"), ip_network("::1/128")]
    with pytest.raises(ConfigError, match="PAPERSCOPE_METRICS_ALLOW"):
        load_settings(tmp_path, environ={"PAPERSCOPE_METRICS_ALLOW": "10.1.0.1/16"})


@pytest.fixture()
def served_home(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``paperscope serve --workers 2`` on an empty home; yields its base URL and the home."""
    home = tmp_path / "serve-home"
    home.mkdir()
    env = child_env(home, dict(os.environ))
    env["PAPERSCOPE_INDEX_REFRESH"] = "0"
    # Named here (serve empties it) so that the test can see which workers wrote counts.
    env["PROMETHEUS_MULTIPROC_DIR"] = str(home / "metrics")
    (home / "metrics").mkdir()
    (home / "metrics" / "counter_1.db").write_bytes(b"left over from an earlier run")
    with serving(home, ["--workers", "2"], env) as base:
        yield base, home


@pytest.mark.slow
def test_metrics_add_up_every_worker(served_home: tuple[str, Path]) -> None:
    base, home = served_home
    assert not (home / "metrics" / "counter_1.db").exists()  # a previous run's counts are not added
    sent = 0
    # A new connection each time, so that both workers (one listening socket) take some; until
    # both have written counts (their files are named by pid).
    while sent < 40 or len(list((home / "metrics").glob("counter_*.db"))) < 2:
        assert sent < 400, "one worker took every request"
        assert httpx.get(f"{base}/api/daily_papers", timeout=10).status_code == 200
        sent += 1
    totals = []
    for _ in range(6):
        scraped = families(httpx.get(f"{base}/metrics", timeout=10).text)
        totals.append(
            value(scraped["paperscope_http_requests"], "paperscope_http_requests_total", route="/api/daily_papers")
        )
    # Whichever worker answers the scrape, it reports every request, not its own share.
    assert totals == [float(sent)] * 6, (sent, totals)
