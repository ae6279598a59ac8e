"""What a reader sees of incomplete and enriched papers: unknown stays unknown, the AI summary is a
labelled TLDR (never the abstract), and the home page says when its newest list is old.

Pages over HTTP with the in-process client; the month file is the real one, and its papers are
enriched by ``run_enrich`` against the loopback replay server with Atom answers built from the
arXiv snapshot sample (``tests/arxiv_feeds.py`` says how).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson

from arxiv_feeds import feed, month_entries
from paperscope.harvest.client import Pacing
from paperscope.harvest.enrich import run_enrich
from paperscope.ingest import Ingestor
from paperscope.mail.render import author_line
from paperscope.records import PaperRecord
from paperscope.store import Store
from paperscope.web.pages import last_working_day
from replay_server import ReplayServer, Reply
from web_support import make_client

FAST = Pacing(delay=0.0, retries=0, backoff=0.01, timeout=10.0)
MONTH = "hf-daily/hf-daily-2026-02.json"
PAPER = "2602.22897"  # OmniGAIA: its month-file abstract is the AI summary followed by the abstract
SUMMARY_ONLY = "2602.23152"  # its month-file "abstract" is the AI summary alone


def _month(store: Store, shared_data: Path) -> dict[str, dict[str, object]]:
    with Ingestor(store, report_rejects=False) as ingestor:
        ingestor.ingest_paths([shared_data / MONTH])
    papers = orjson.loads((shared_data / MONTH).read_bytes())["papers"]
    return {str(p["paper_id"]): p for p in papers}


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _card(html: str, key: str) -> str:
    """The text of the list card of paper ``key``."""
    match = re.search(rf'<article class="paper"[^>]*>(?:(?!</article>).)*/papers/{key}".*?</article>', html, re.S)
    assert match, key
    return _text(match.group(0))


def _section(html: str, heading: str) -> str:
    """The page's text from an ``<h2>`` starting with ``heading`` to the next ``<h2>``."""
    match = re.search(rf"<h2[^>]*>{heading}.*?(?=<h2|\Z)", html, re.S)
    assert match, heading
    return _text(match.group(0))


def test_ai_summary_is_a_labelled_tldr_and_never_the_abstract(store: Store, shared_data: Path) -> None:
    raw = _month(store, shared_data)
    with make_client(store) as client:
        page = client.get(f"/papers/{PAPER}").text
        summary = " ".join(str(raw[PAPER]["summary_en"]).split())
        tldr = _section(page, "TLDR")
        assert "AI summary" in tldr and summary in tldr
        abstract = _section(page, "Abstract")
        assert summary not in abstract and abstract.startswith("Abstract Human intelligence naturally intertwines")
        # Where the month file had only the summary, the abstract is unknown, not the summary again.
        only = client.get(f"/papers/{SUMMARY_ONLY}").text
        assert "Not known yet" in _section(only, "Abstract")
        assert str(raw[SUMMARY_ONLY]["abstract"]) not in _section(only, "Abstract")
        # The card on the day's list labels it too.
        day = client.get("/papers?date=2026-02-27").text
        assert "TLDR (AI summary)" in _card(day, SUMMARY_ONLY)


def test_unknown_authors_and_dates_read_as_unknown(store: Store, shared_data: Path) -> None:
    pages = shared_data / "hf-pages/003_dd9ea458efea1772.txt"
    with Ingestor(store, report_rejects=False) as ingestor:
        ingestor.ingest_paths([pages])
    # A listed paper with no authors and no date (a bare id in a JSON list).
    store.write_records([PaperRecord(source="json-list", origin="t", title="Bare Listing", arxiv_id="2602.99998",
                                     daily_date="2026-02-27", upvotes=3)])
    undated = next(p for batch in store.iter_papers() for p in batch if p.published is None and not p.authors
                   and p.key.startswith("ps-"))
    with make_client(store) as client:
        page = _text(client.get(f"/papers/{undated.key}").text)
        assert "Authors unknown" in page and "Published unknown" in page
        assert "0 authors" not in page and date.today().strftime("%b %-d, %Y") not in page
        listing = client.get("/papers?date=2026-02-27").text
        text = _card(listing, "2602.99998")
        assert "authors unknown" in text and "date unknown" in text and "0 authors" not in text
        # The list day is shown as what it is (search and lists sort by it), never as a publication date.
        assert "date unknown · listed Feb 27, 2026" in text
        card = re.search(r'<article class="paper"[^>]*>(?:(?!</article>).)*/papers/2602.99998".*?</article>',
                         listing, re.S)
        assert card and '<a href="/papers?date=2026-02-27"><time datetime="2026-02-27">' in card.group(0)
        rss = client.get("/feeds/daily.rss?date=2026-02-27").text
        item = re.search(r"<item>(?:(?!</item>).)*2602.99998.*?</item>", rss, re.S)
        assert item and "Authors unknown" in item.group(0)
    assert author_line([]) == "Authors unknown"


def test_paper_page_before_and_after_enrichment(store: Store, shared_data: Path, replay: ReplayServer) -> None:
    _month(store, shared_data)
    entries = month_entries(shared_data)
    with make_client(store) as client:
        before = _text(client.get(f"/papers/{SUMMARY_ONLY}").text)
    assert "Published unknown" in before and "Categories" not in before
    ids = [c.arxiv_id for c in store.enrich_candidates(datetime.now(UTC)) if c.arxiv_id]
    for start in range(0, len(ids), 100):
        batch = ids[start : start + 100]
        replay.route("/api/query", {"id_list": ",".join(batch)}, Reply(200, feed([entries[i] for i in batch])))
    assert run_enrich(store, api_url=replay.url, pacing=FAST).enriched == 783
    entry = entries[SUMMARY_ONLY]
    with make_client(store) as client:
        html = client.get(f"/papers/{SUMMARY_ONLY}").text
    after = _text(html)
    assert f'datetime="{entry.published}"' in html  # the time of day is kept
    assert "Published " + date.fromisoformat(entry.published[:10]).strftime("%b %-d, %Y") in after
    assert "Categories " + ", ".join(entry.categories) in after
    assert _section(html, "Abstract") == "Abstract " + entry.abstract
    assert "TLDR" in after and "168" in after  # Hugging Face's summary and upvotes stay


def test_home_page_says_when_its_newest_list_is_old(store: Store, shared_data: Path) -> None:
    _month(store, shared_data)
    added = store.last_paper_added()
    assert added is not None and store.last_harvest() is None
    with make_client(store) as client:
        home = _text(client.get("/").text)
        day = date.fromisoformat(added[:10]).strftime("%b %-d, %Y")
        assert ("Latest list: Feb 27, 2026 — the sources have not been harvested on this site "
                f"(papers were last added on {day}).") in home
        # A list asked for by its date is as old as asked: no notice.
        assert "Latest list" not in _text(client.get("/papers?date=2026-02-27").text)
    # A failed attempt when none ever succeeded: named after the sentence, with its reason.
    store.jobs.finished("harvest-arxiv", at="2026-12-02T06:00:00Z", status="failed", counts={},
                        error="could not fetch https://oaipmh.arxiv.org/oai?verb=ListRecords: ReadTimeout",
                        next_run=None)
    with make_client(store) as client:
        home = _text(client.get("/").text)
    assert (f"(papers were last added on {day}). The last harvest attempt, Dec 2, 2026 (06:00 UTC), failed: "
            "could not reach oaipmh.arxiv.org.") in home
    # The scheduler's last successful harvest is what the notice names; a failed one is not, and a
    # failure older than that success is no longer news.
    store.jobs.finished("harvest-hf", at="2026-12-03T06:00:00Z", status="ok", counts={}, error=None, next_run=None)
    store.jobs.finished("harvest-arxiv", at="2026-12-04T06:00:00Z", status="failed", counts={}, error="x",
                        next_run=None)
    assert store.last_harvest() == "2026-12-03T06:00:00Z"
    with make_client(store) as client:
        home = _text(client.get("/").text)
    assert "Latest list: Feb 27, 2026 — the sources have not been harvested since Dec 3, 2026 (06:00 UTC)." in home
    # A failed attempt after the last success is named, with its reason in a few words and the next try.
    url = "https://huggingface.co/api/daily_papers?date=2026-12-04"
    store.jobs.finished("harvest-hf", at="2026-12-04T08:00:00Z", status="failed", counts={},
                        error=f"could not fetch {url}: ConnectError: [Errno -2] Name or service not known",
                        next_run="2026-12-04T09:05:00Z")
    with make_client(store) as client:
        home = _text(client.get("/").text)
    assert ("since Dec 3, 2026 (06:00 UTC). The last harvest attempt, Dec 4, 2026 (08:00 UTC), failed: "
            "could not reach huggingface.co. "
            "The next try is on Dec 4, 2026 at 09:05 UTC.") in home
    assert url not in home
    # A list of the last working day is current: no notice.
    today = datetime.now(UTC).date()
    store.write_records([PaperRecord(source="json-list", origin="t", title="Fresh Paper", arxiv_id="2612.00001",
                                     daily_date=last_working_day(today).isoformat(), upvotes=1)])
    with make_client(store) as client:
        assert "Latest list" not in _text(client.get("/").text)


def test_last_working_day_skips_weekends() -> None:
    assert last_working_day(date(2026, 12, 7)) == date(2026, 12, 4)  # Monday -> Friday
    assert last_working_day(date(2026, 12, 5)) == date(2026, 12, 4)  # Saturday -> Friday
    assert last_working_day(date(2026, 12, 9)) == date(2026, 12, 8)
    assert last_working_day(date(2026, 12, 9)) - timedelta(days=1) == date(2026, 12, 7)
