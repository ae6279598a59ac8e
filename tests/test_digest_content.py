"""What goes into a digest, and how the message is built: real store, real templates."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from mail_fixtures import CATEGORIES, fill_store
from paperscope.mail.render import Renderer
from paperscope.mail.selection import Selector
from paperscope.mail.settings import MailSettings
from paperscope.store import Store
from paperscope.store.digests import Subscription

MONDAY = date(2026, 11, 23)  # the sample ends on Friday 2026-02-27: trending is anchored there
TUESDAY = date(2026, 11, 24)
ENV = {
    "PAPERSCOPE_SMTP_HOST": "127.0.0.1",
    "PAPERSCOPE_MAIL_FROM": "paperscope <digest@paperscope.test>",
    "PAPERSCOPE_BASE_URL": "https://papers.example.org",
    "PAPERSCOPE_SECRET": "test-secret",
}


@pytest.fixture()
def filled(store: Store, shared_data: Path) -> Iterator[Store]:
    fill_store(store, shared_data)
    yield store


def active(store: Store, email: str, frequency: str = "daily", **filters: object) -> Subscription:
    sub = store.digests.subscribe(email, frequency, **filters)  # type: ignore[arg-type]
    confirmed = store.digests.confirm(sub.id)
    assert confirmed is not None and confirmed.status == "active"
    return confirmed


def test_unfiltered_digest_is_the_trending_top(filled: Store) -> None:
    sub = active(filled, "all@example.org")
    digest = Selector(filled).select(sub, "2026-11-23", MONDAY)
    # Monday's daily digest reaches back to the previous Friday, on the store's newest list day.
    assert (digest.start, digest.end) == (date(2026, 2, 24), date(2026, 2, 27))
    expected = [p.id for p, _ in filled.trending(window_days=4, today=MONDAY, limit=10)]
    assert [p.id for p in digest.trending] == expected
    assert len(expected) == 10
    assert digest.trending[0].key == "2602.23152"  # 168 upvotes on the newest day
    assert digest.related == []  # not a signed-in subscriber


def test_category_and_upvote_filters(filled: Store) -> None:
    cv = active(filled, "cv@example.org", categories=["cs.CV"])
    digest = Selector(filled).select(cv, "2026-11-23", MONDAY)
    wanted = {k for k, cats in CATEGORIES.items() if "cs.CV" in cats}
    assert {p.key for p in digest.trending} == wanted
    # An archive name matches all its categories.
    cs = active(filled, "cs@example.org", categories=["cs"])
    assert {p.key for p in Selector(filled).select(cs, "2026-11-23", MONDAY).trending} <= set(CATEGORIES)
    assert len(Selector(filled).select(cs, "2026-11-23", MONDAY).trending) == len(CATEGORIES)

    popular = active(filled, "popular@example.org", min_upvotes=50)
    papers = Selector(filled).select(popular, "2026-11-23", MONDAY).trending
    assert papers and all(p.upvotes >= 50 for p in papers)
    unfiltered = filled.trending(window_days=4, today=MONDAY, limit=1000)
    assert len(papers) == min(10, sum(1 for p, _ in unfiltered if p.upvotes >= 50))


def test_keywords_go_through_the_search_api(filled: Store) -> None:
    from paperscope.index.build import update_indexes

    update_indexes(filled, semantic=False)
    sub = active(filled, "agents@example.org", frequency="weekly", keywords="agent")
    digest = Selector(filled).select(sub, "2026-W48", MONDAY)
    assert digest.trending, "the last week of February has agent papers"
    for paper in digest.trending:
        assert re.search(r"\bagent", f"{paper.title} {paper.abstract}", re.IGNORECASE), paper.title
    everything = Selector(filled).select(
        active(filled, "w@example.org", frequency="weekly"), "2026-W48", MONDAY
    )
    assert [p.id for p in digest.trending] != [p.id for p in everything.trending]


def test_saved_and_sent_papers_are_excluded(filled: Store) -> None:
    sub = active(filled, "seen@example.org")
    first = Selector(filled).select(sub, "2026-11-23", MONDAY)
    from paperscope.store.digests import Claim

    claim = filled.digests.claim(
        sub.id, "2026-11-23", claimed_by="test:1:a", message_id="<m1@test>", is_stale=lambda s: False
    )
    assert isinstance(claim, Claim)
    filled.digests.record_items(claim, first.paper_ids)
    filled.digests.mark_sent(claim)
    second = Selector(filled).select(sub, "2026-11-24", TUESDAY)
    assert second.trending and not set(second.paper_ids) & set(first.paper_ids)


def test_message_headers_and_parts(filled: Store) -> None:
    mail = MailSettings.load(filled.settings, ENV)
    sub = active(filled, "reader@example.org")
    digest = Selector(filled).select(sub, "2026-11-23", MONDAY)
    now = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    message = Renderer(mail).digest(digest, now=now)
    assert message["From"] == "paperscope <digest@paperscope.test>"
    assert message["To"] == "reader@example.org"
    assert message["Subject"] == "Daily papers digest, 2026-11-23: 10 papers"
    assert message["Date"] == "Mon, 23 Nov 2026 07:00:00 +0000"
    assert re.fullmatch(r"<[^@>]+@paperscope\.test>", message["Message-ID"])
    links = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
    assert links[0].startswith("mailto:unsubscribe@paperscope.test?subject=")
    assert links[1].startswith("https://papers.example.org/digest/unsubscribe/")
    assert str(sub.id) not in links[1].rsplit("/", 1)[1][:3] or len(links[1].rsplit("/", 1)[1]) > 20
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    for paper in digest.trending:
        assert paper.title in text
        assert f"https://papers.example.org/papers/{paper.key}" in text
        assert f"https://arxiv.org/abs/{paper.key}" in html and f"https://arxiv.org/pdf/{paper.key}" in html
        assert f">{paper.upvotes}<" in html
    assert "168 upvotes" in text and "Jingxuan Wei" in text
    # No remote images, scripts or tracking pixels; inline styles only.
    assert not re.search(r"<img\b", html, re.IGNORECASE)
    assert not re.search(r"<(script|link)\b", html, re.IGNORECASE)
    assert "style=" in html and "<style" not in html


def test_abstracts_are_shortened_and_html_escaped(filled: Store) -> None:
    mail = MailSettings.load(filled.settings, ENV)
    sub = active(filled, "x@example.org")
    digest = Selector(filled).select(sub, "2026-11-23", MONDAY)
    digest.trending[0].title = "Attention <script>alert(1)</script> & more"
    digest.trending[0].abstract = "word " * 300
    message = Renderer(mail).digest(digest)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "&lt;script&gt;" in html
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "word word…" in text and "word " * 100 not in text
