"""Every list page names its own feeds (in <head> and on the page), and those feeds parse in
feedparser, the library most feed readers in Python use: RSS items link to arXiv, and on list
feeds an item's date is the day the paper entered the list."""

from __future__ import annotations

import time
from datetime import date

import feedparser
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from lxml import html

from paperscope.config import DEFAULT_BASE_URL
from paperscope.store import Store
from web_support import csrf_of, make_client, sign_up

LIST_PAGES = {
    "/papers?date=2026-02-27": "/feeds/daily",
    "/papers?week=2026-W09": "/feeds/daily",
    "/papers?month=2026-02": "/feeds/daily",
    "/trending": "/feeds/trending",
    "/trending?category=cs.CL": "/feeds/trending",
    "/search?q=world+model": "/feeds/search",
}

# Links leave the request on the configured public address (base_url), never the Host header.
SITE = DEFAULT_BASE_URL


@pytest.mark.parametrize("page", sorted(LIST_PAGES))
def test_list_page_advertises_its_feeds(web_client: TestClient, page: str) -> None:
    tree = html.fromstring(web_client.get(page).text)
    query = page.partition("?")[2]
    head = {
        link.get("type"): link.get("href")
        for link in tree.xpath("//head/link[@rel='alternate']")
        if link.get("type") in ("application/atom+xml", "application/rss+xml")
    }
    expected = {
        "application/atom+xml": LIST_PAGES[page] + ".atom" + (f"?{query}" if query else ""),
        "application/rss+xml": LIST_PAGES[page] + ".rss" + (f"?{query}" if query else ""),
    }
    assert head == expected
    on_page = sorted(tree.xpath("//main//a[contains(@class, 'feed-')]/@href"))
    assert on_page == sorted(expected.values())
    for url in expected.values():
        feed = feedparser.parse(web_client.get(url).content)
        assert not feed.bozo, (url, feed.bozo_exception)
        assert feed.entries, url


def test_rss_items_link_to_arxiv_and_carry_the_list_day(web_client: TestClient) -> None:
    for period, days in {"date=2026-02-27": ("2026-02-27", "2026-02-27"),
                         "week=2026-W09": ("2026-02-23", "2026-03-01"),
                         "month=2026-02": ("2026-02-01", "2026-02-28")}.items():
        feed = feedparser.parse(web_client.get(f"/feeds/daily.rss?{period}&limit=100").content)
        assert len(feed.entries) > 10, period
        for entry in feed.entries:
            assert entry.link.startswith("https://arxiv.org/abs/"), entry.link
            assert entry.id.startswith(f"{SITE}/papers/")
            listed = date(*entry.published_parsed[:3]).isoformat()
            assert days[0] <= listed <= days[1], (period, entry.link, listed)
    # A paper listed on 2026-02-27 (arXiv date a day earlier) is dated by its list day there.
    day = feedparser.parse(web_client.get("/feeds/daily.atom?date=2026-02-27").content)
    assert {date(*e.published_parsed[:3]).isoformat() for e in day.entries} == {"2026-02-27"}
    assert {date(*e.updated_parsed[:3]).isoformat() for e in day.entries} == {"2026-02-27"}


def test_public_collection_advertises_atom_and_rss_dated_by_when_saved(web_store: Store) -> None:
    client = make_client(web_store)
    sign_up(client, "ada")
    accounts = web_store.accounts
    user = accounts.get_user_by_name("ada")
    assert user is not None
    reading = accounts.create_collection(user.id, "Reading")
    saved = {"2410.17243": "2026-11-30T08:15:00Z", "2602.23152": "2026-12-03T21:40:00Z"}
    for key in saved:
        paper_id = web_store.resolve_key(key)
        assert paper_id is not None
        accounts.add_to_collection(user.id, reading.id, paper_id)
    with web_store.transaction() as conn:  # saved on two known days, neither a list day of either paper
        for key, when in saved.items():
            conn.execute(sa.text("UPDATE collection_items SET added_at = :t WHERE paper_id = :p"),
                         {"t": when, "p": web_store.resolve_key(key)})
    where = f"/collections/{reading.id}"
    private = html.fromstring(client.get(where).text)
    assert not private.xpath("//main//a[contains(@class, 'feed-')]"), "a private collection has no feed"
    assert TestClient(client.app).get(where + "/feed.rss").status_code == 404
    client.post(where + "/share", data={"public": "yes", "csrf_token": csrf_of(client, where)})
    tree = html.fromstring(client.get(where).text)
    expected = {"application/atom+xml": where + "/feed.atom", "application/rss+xml": where + "/feed.rss"}
    head = {link.get("type"): link.get("href") for link in tree.xpath("//head/link[@rel='alternate']")}
    assert head == expected
    assert sorted(tree.xpath("//main//a[contains(@class, 'feed-')]/@href")) == sorted(expected.values())
    reader = TestClient(client.app)  # a feed reader: no cookies
    for fmt, url in (("atom", expected["application/atom+xml"]), ("rss", expected["application/rss+xml"])):
        answer = reader.get(url)
        assert answer.headers["content-type"].startswith(f"application/{fmt}+xml")
        feed = feedparser.parse(answer.content)
        assert not feed.bozo, (url, feed.bozo_exception)
        # Most recently saved first, each dated by when it was saved (to the second).
        assert [e.id.rsplit("/", 1)[-1] for e in feed.entries] == ["2602.23152", "2410.17243"]
        for entry in feed.entries:
            when = saved[entry.id.rsplit("/", 1)[-1]]
            assert time.strftime("%Y-%m-%dT%H:%M:%SZ", entry.published_parsed) == when, (fmt, entry.id)
            if fmt == "rss":
                assert entry.link.startswith("https://arxiv.org/abs/")
    assert reader.get(where + "/feed.json").status_code == 400  # the format is atom or rss
