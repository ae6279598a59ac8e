"""Every list page names its own feeds (in <head> and on the page), and those feeds parse in
feedparser, the library most feed readers in Python use: RSS items link to arXiv, and on list
feeds an item's date is the day the paper entered the list."""

from __future__ import annotations

from datetime import date

import feedparser
import pytest
from fastapi.testclient import TestClient
from lxml import html

LIST_PAGES = {
    "/papers?date=2026-02-27": "/feeds/daily",
    "/papers?week=2026-W09": "/feeds/daily",
    "/papers?month=2026-02": "/feeds/daily",
    "/trending": "/feeds/trending",
    "/trending?category=cs.CL": "/feeds/trending",
    "/search?q=world+model": "/feeds/search",
}


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
            assert entry.id.startswith("http://testserver/papers/")
            listed = date(*entry.published_parsed[:3]).isoformat()
            assert days[0] <= listed <= days[1], (period, entry.link, listed)
    # A paper listed on 2026-02-27 (arXiv date a day earlier) is dated by its list day there.
    day = feedparser.parse(web_client.get("/feeds/daily.atom?date=2026-02-27").content)
    assert {date(*e.published_parsed[:3]).isoformat() for e in day.entries} == {"2026-02-27"}
    assert {date(*e.updated_parsed[:3]).isoformat() for e in day.entries} == {"2026-02-27"}
