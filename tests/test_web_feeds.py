"""RSS and Atom feeds, read back with lxml and checked against the real data files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from lxml import etree

from paperscope.config import DEFAULT_BASE_URL
from paperscope.ingest import Ingestor
from paperscope.records import PaperRecord, clean_text
from paperscope.store import Store
from paperscope.web.app import create_app

NS = {
    "a": "http://www.w3.org/2005/Atom",
    "dc": "http://purl.org/dc/elements/1.1/",
    "content": "http://purl.org/rss/1.0/modules/content/",
}
FEB = "hf-daily/hf-daily-2026-02.json"
OCT = "hf-daily/daily_papers_2024-10-25.json"

# Links leave the request on the configured public address (base_url), never the Host header.
SITE = DEFAULT_BASE_URL


@pytest.fixture(scope="module")
def fed_store(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[Store]:
    home = tmp_path_factory.mktemp("feeds") / "home"
    with Store.open(str(home)) as store:
        with Ingestor(store) as ingestor:
            summary = ingestor.ingest_paths(
                [shared_data / FEB, shared_data / OCT, *(shared_data / "arxiv" / "kaggle").glob("*.jsonl")]
            )
        assert not summary.errors and summary.added > 800
        from paperscope.index.build import update_indexes

        update_indexes(store, semantic=False)
        yield store


@pytest.fixture(scope="module")
def client(fed_store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(fed_store, secret_key="feeds-test")) as test_client:
        yield test_client


def day_from_file(shared_data: Path, day: str) -> list[dict[str, Any]]:
    """The file's papers of one list day, most upvoted first: what the daily feed must show."""
    papers = [p for p in orjson.loads((shared_data / FEB).read_bytes())["papers"] if p["date"] == day]
    return sorted(papers, key=lambda p: -int(p["upvotes"]))


def parse(response: Any, media_type: str) -> etree._Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media_type)
    return etree.fromstring(response.content)


def test_daily_atom_lists_the_day_most_upvoted_first(client: TestClient, shared_data: Path) -> None:
    expected = day_from_file(shared_data, "2026-02-27")
    root = parse(client.get("/feeds/daily.atom?date=2026-02-27"), "application/atom+xml")
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert "2026-02-27" in root.findtext("a:title", namespaces=NS)
    entries = root.findall("a:entry", NS)
    assert len(entries) == len(expected) == 28
    # Upvote ties may come in either order; the sequence of counts and the set of ids must match.
    first = entries[0]
    top = expected[0]
    assert first.findtext("a:title", namespaces=NS) == top["title"]
    links = {link.get("rel"): link.get("href") for link in first.findall("a:link", NS)}
    assert links["alternate"] == f"{SITE}/papers/{top['paper_id']}"
    assert links["related"] == f"https://arxiv.org/abs/{top['paper_id']}"
    names = [a.findtext("a:name", namespaces=NS) for a in first.findall("a:author", NS)]
    assert names == top["authors"]
    assert first.findtext("a:updated", namespaces=NS).startswith("2026-02-27")
    content = first.findtext("a:content", namespaces=NS)
    assert f"{int(top['upvotes'])} upvotes" in content
    assert top["abstract"][:60] in first.findtext("a:summary", namespaces=NS)
    ids = {e.findtext("a:id", namespaces=NS).rsplit("/", 1)[1] for e in entries}
    assert ids == {p["paper_id"] for p in expected}
    shown = [e.findtext("a:content", namespaces=NS) for e in entries]
    counts = [int(html.split(" upvote")[0].rsplit("<p>", 1)[1]) for html in shown]
    assert counts == [int(p["upvotes"]) for p in expected]


def test_daily_rss_defaults_to_the_newest_day(client: TestClient, shared_data: Path) -> None:
    expected = day_from_file(shared_data, "2026-02-27")  # the newest day in the data
    root = parse(client.get("/feeds/daily.rss"), "application/rss+xml")
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel.findtext("link") == f"{SITE}/papers"
    assert channel.findtext("description")
    items = channel.findall("item")
    assert [i.findtext("title") for i in items][:2] == [p["title"] for p in expected[:2]]
    item = items[0]
    # <link> is the paper on arXiv (what a reader opens); <guid> its page here.
    assert item.findtext("link") == f"https://arxiv.org/abs/{expected[0]['paper_id']}"
    assert item.findtext("guid") == f"{SITE}/papers/{expected[0]['paper_id']}"
    assert [c.text for c in item.findall("dc:creator", NS)] == expected[0]["authors"]
    assert parsedate_to_datetime(item.findtext("pubDate")).date().isoformat() <= "2026-02-27"
    encoded = item.findtext("content:encoded", namespaces=NS)
    assert f"https://arxiv.org/abs/{expected[0]['paper_id']}" in encoded


def test_daily_feed_of_another_day_from_the_api_dump(client: TestClient, shared_data: Path) -> None:
    raw = orjson.loads((shared_data / OCT).read_bytes())
    root = parse(client.get("/feeds/daily.atom?date=2024-10-25&limit=100"), "application/atom+xml")
    titles = [e.findtext("a:title", namespaces=NS) for e in root.findall("a:entry", NS)]
    assert len(titles) == len(raw) == 29
    best = max(raw, key=lambda x: x["paper"]["upvotes"])
    assert titles[0] == clean_text(best["paper"]["title"])  # the raw title has hard line wraps


def test_limit_caps_the_entries(client: TestClient) -> None:
    root = parse(client.get("/feeds/daily.atom?date=2026-02-03&limit=5"), "application/atom+xml")
    assert len(root.findall("a:entry", NS)) == 5


def test_trending_feed_follows_the_store_ranking(client: TestClient, fed_store: Store) -> None:
    ranked = [paper.key for paper, _ in fed_store.trending(limit=50)]
    assert ranked, "the data has recent lists, so something trends"
    root = parse(client.get("/feeds/trending.atom"), "application/atom+xml")
    keys = [e.findtext("a:id", namespaces=NS).rsplit("/", 1)[1] for e in root.findall("a:entry", NS)]
    assert keys == ranked
    rss = parse(client.get("/feeds/trending.rss"), "application/rss+xml")
    assert [i.findtext("guid").rsplit("/", 1)[1] for i in rss.iter("item")] == ranked


def test_trending_feed_by_category(client: TestClient, fed_store: Store) -> None:
    newest = fed_store.list_days()[-1]
    record = PaperRecord(
        source="hf-api",
        origin="test",
        title="A categorised paper & <its> \x0bcontrol character",
        arxiv_id="2602.99999",
        abstract="An abstract with a vertical tab \x0b that XML 1.0 cannot carry.",
        authors=["Ada Lovelace"],
        categories=["cs.CL"],
        published=newest,
        upvotes=3,
        daily_date=newest,
    )
    fed_store.write_records([record])
    root = parse(client.get("/feeds/trending.atom?category=cs.CL"), "application/atom+xml")
    entries = root.findall("a:entry", NS)
    assert [e.findtext("a:id", namespaces=NS) for e in entries] == [f"{SITE}/papers/2602.99999"]
    assert entries[0].findtext("a:title", namespaces=NS) == "A categorised paper & <its> control character"
    assert [c.get("term") for c in entries[0].findall("a:category", NS)] == ["cs.CL"]
    other = parse(client.get("/feeds/trending.rss?category=math.AG"), "application/rss+xml")
    assert other.findall("channel/item") == []


def test_search_feed(client: TestClient) -> None:
    root = parse(client.get("/feeds/search.atom", params={"q": "Trinity of Consistency world models"}),
                 "application/atom+xml")
    titles = [e.findtext("a:title", namespaces=NS) for e in root.findall("a:entry", NS)]
    assert titles[0] == "The Trinity of Consistency as a Defining Principle for General World Models"
    rss = parse(client.get("/feeds/search.rss", params={"q": "Hilbert-Siegel modular forms", "limit": 3}),
                "application/rss+xml")
    items = rss.findall("channel/item")
    assert 1 <= len(items) <= 3
    # RSS <link> is the paper on arXiv; the guid is its page here.
    assert items[0].findtext("link") == "https://arxiv.org/abs/0704.0011"
    assert items[0].findtext("guid") == f"{SITE}/papers/0704.0011"
    assert "search" in rss.findtext("channel/title")


def test_feed_dates_are_timezone_aware(client: TestClient) -> None:
    root = parse(client.get("/feeds/daily.atom?date=2026-02-10"), "application/atom+xml")
    for entry in root.findall("a:entry", NS):
        for name in ("a:updated", "a:published"):
            assert datetime.fromisoformat(entry.findtext(name, namespaces=NS)).tzinfo is not None


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("/feeds/daily.atom?date=2026-13-01", 400, "date"),
        ("/feeds/daily.rss?date=yesterday", 400, "YYYY-MM-DD"),
        ("/feeds/daily.json", 400, "fmt: Input should be"),
        ("/feeds/search.atom", 400, "q"),
        ("/feeds/daily.atom?limit=0", 400, "limit"),
    ],
)
def test_bad_requests_say_what_is_wrong(client: TestClient, url: str, status: int, words: str) -> None:
    response = client.get(url)
    assert response.status_code == status
    assert words in response.text


def test_a_day_without_a_list_gives_an_empty_valid_feed(client: TestClient) -> None:
    root = parse(client.get("/feeds/daily.rss?date=2025-01-01"), "application/rss+xml")
    assert root.find("channel") is not None and root.findall("channel/item") == []
