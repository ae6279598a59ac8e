"""The HTML pages, over HTTP with an in-process client against a home filled from ../shared/data."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import orjson
from fastapi.testclient import TestClient

from paperscope.records import PaperRecord
from paperscope.store import Store
from paperscope.store.lists import TRENDING_FORMULA
from paperscope.web.app import create_app
from web_support import SECRET, XSS_DAY, XSS_ID, make_client, sign_up

FEB = "hf-daily/hf-daily-2026-02.json"


def _feb(shared_data: Path) -> list[dict[str, object]]:
    papers: list[dict[str, object]] = orjson.loads((shared_data / FEB).read_bytes())["papers"]
    return papers


def _titles(html: str) -> list[str]:
    return re.findall(r'<h2 id="t-\d+" class="math"><a href="/papers/([^"]+)">', html)


def _count(pattern: str, html: str) -> int:
    found = re.search(pattern, html)
    assert found, pattern
    return int(found.group(1))


def test_root_shows_the_newest_day_with_navigation(web_client: TestClient, web_store: Store) -> None:
    newest = web_store.list_days()[-1]
    page = web_client.get("/")
    assert page.status_code == 200
    assert "Friday, February 27, 2026" in page.text and newest == "2026-02-27"
    assert 'href="/papers?date=2026-02-26">Previous day</a>' in page.text
    assert "Next day" not in page.text  # nothing after the newest day
    assert page.text.count('<article class="paper"') == web_store.count_daily(newest, newest)


def test_day_page_lists_that_days_papers_by_upvotes(web_client: TestClient, shared_data: Path) -> None:
    day = "2026-02-20"
    expected = [p for p in _feb(shared_data) if p["date"] == day]
    page = web_client.get(f"/papers?date={day}")
    assert page.status_code == 200
    keys = _titles(page.text)
    assert sorted(keys) == sorted(str(p["paper_id"]) for p in expected)
    votes = [int(v) for v in re.findall(r'data-hf="\d+">(\d+)</span>', page.text)]
    assert votes == sorted(votes, reverse=True) and len(votes) == len(expected)
    top = max(expected, key=lambda p: int(str(p["upvotes"])))
    assert keys[0] == top["paper_id"]
    assert 'rel="prev" href="/papers?date=2026-02-19">Previous day</a>' in page.text
    # Feb 21-22 is a weekend without lists: the next day with a list is Monday the 23rd.
    assert 'rel="next" href="/papers?date=2026-02-23">Next day</a>' in page.text
    first = expected[0]
    assert f"{len(first['authors'])} author" in page.text  # type: ignore[arg-type]
    if first.get("github_url"):
        assert str(first["github_url"]) in page.text


def test_week_and_month_views(web_client: TestClient, shared_data: Path) -> None:
    feb = _feb(shared_data)
    week = web_client.get("/papers?week=2026-W09")
    assert week.status_code == 200 and "Week 9 of 2026" in week.text
    in_week = {p["paper_id"] for p in feb if "2026-02-23" <= str(p["date"]) <= "2026-03-01"}
    assert re.search(rf"<p class=\"count-line\">{len(in_week | {XSS_ID})} papers</p>", week.text)
    assert 'href="/papers?week=2026-W08">Previous week</a>' in week.text
    month = web_client.get("/papers?month=2026-02")
    assert month.status_code == 200 and "February 2026" in month.text
    count = _count(r'<p class="count-line">(\d+) papers</p>', month.text)
    assert count == len({p["paper_id"] for p in feb} | {XSS_ID})
    assert (
        "Page 1 of" in month.text and 'rel="next" href="/papers?month=2026-02&amp;sort=upvotes' in month.text
    )
    second = web_client.get("/papers?month=2026-02&p=1")
    assert second.status_code == 200 and set(_titles(second.text)).isdisjoint(_titles(month.text))
    # The October 2024 list is the previous month with lists.
    assert 'href="/papers?month=2024-10">Previous month</a>' in month.text


def test_sort_and_category_filters(web_client: TestClient) -> None:
    page = web_client.get(f"/papers?date={XSS_DAY}&category=cs.CL")
    assert page.status_code == 200 and _titles(page.text) == [XSS_ID]
    assert web_client.get("/papers?date=2026-02-27&sort=published").status_code == 200


def test_bad_period_parameters_are_400_pages(web_client: TestClient) -> None:
    for query in (
        "date=2026-02-30",
        "date=yesterday",
        "week=2026-W60",
        "month=2026-13",
        "date=2026-02-27&week=2026-W09",
    ):
        page = web_client.get(f"/papers?{query}")
        assert page.status_code == 400, query
        assert '<p class="error" role="alert">' in page.text
    assert web_client.get("/papers?p=-1").status_code == 400
    assert web_client.get("/papers?sort=bogus").status_code == 400
    # A choice among words is answered with the choices, not with a regular expression.
    wrong_sort = web_client.get("/search?q=kv+cache&sort=newest")
    assert wrong_sort.status_code == 400
    assert "sort: must be one of relevance, date, upvotes (got &#39;newest&#39;)" in wrong_sort.text
    assert "^(" not in wrong_sort.text
    empty = web_client.get("/papers?date=1999-01-01")
    assert empty.status_code == 200 and "No papers in this list" in empty.text


def test_trending_page_shows_formula_and_filters(web_client: TestClient) -> None:
    page = web_client.get("/trending")
    assert page.status_code == 200
    assert TRENDING_FORMULA in page.text
    assert len(_titles(page.text)) > 10
    only = web_client.get("/trending?category=cs.CL")
    assert _titles(only.text) == [XSS_ID]
    assert web_client.get("/trending?days=0").status_code == 400
    assert web_client.get("/trending?days=").status_code == 200


def test_paper_page(web_client: TestClient, shared_data: Path) -> None:
    item = next(p for p in _feb(shared_data) if p["paper_id"] == "2602.23152")
    page = web_client.get("/papers/2602.23152")
    assert page.status_code == 200
    text = page.text
    assert str(item["title"]) in text
    assert "Jingxuan Wei" in text and "Conghui He" in text
    assert (
        'href="https://arxiv.org/abs/2602.23152"' in text
        and 'href="https://arxiv.org/pdf/2602.23152"' in text
    )
    assert str(item["github_url"]) in text
    # The total once (the count next to the button), then where it comes from, without repeating it.
    assert re.findall(r'<span class="count"[^>]*>(\d+)</span>', text) == ["168"]
    assert '168 from Hugging Face and <span class="local">0</span> here' in text
    assert ">Upvote</button>" in text and "Related papers" in text
    # Versioned ids and URLs reach the same page.
    for spelling in ("2602.23152v2", "arxiv:2602.23152"):
        assert web_client.get(f"/papers/{spelling}").status_code == 200


def test_unknown_paper_is_a_404_page(web_client: TestClient) -> None:
    page = web_client.get("/papers/2601.00000")
    assert page.status_code == 404 and "Paper not found" in page.text and "submit it" in page.text
    assert web_client.get("/papers/<script>").status_code == 404
    assert web_client.get("/no/such/page").status_code == 404


def test_search_page_form_results_and_paging(web_client: TestClient) -> None:
    empty = web_client.get("/search")
    assert empty.status_code == 200
    for label in (
        "Search",
        "Mode",
        "Sort by",
        "Published since",
        "Published until",
        "Category",
        "Minimum upvotes",
    ):
        assert re.search(rf'<label for="[a-z_]+">{label}</label>', empty.text), label
    page = web_client.get("/search?q=world+models&mode=keyword")
    assert page.status_code == 200
    assert "<mark>" in page.text
    assert re.search(r"\d+ authors?</span>", page.text)
    total = _count(r'<p class="count-line">(\d+) results?', page.text)
    assert total > 20 and 'rel="next"' in page.text
    second = web_client.get("/search?q=world+models&mode=keyword&p=1")
    assert second.status_code == 200 and set(_titles(second.text)).isdisjoint(_titles(page.text))
    by_votes = web_client.get("/search?q=world+models&mode=keyword&sort=upvotes")
    votes = [int(v) for v in re.findall(r'data-hf="\d+">(\d+)</span>', by_votes.text)]
    assert votes == sorted(votes, reverse=True)
    filtered = web_client.get("/search?q=attention&mode=keyword&category=cs.CL")
    assert _titles(filtered.text) == [XSS_ID]


def test_search_form_with_empty_fields(web_client: TestClient) -> None:
    # What a browser sends when the filters are left empty.
    empty = {"q": "world models", "mode": "keyword", "sort": "relevance", "since": "", "until": ""}
    page = web_client.get("/search", params={**empty, "category": "", "min_upvotes": ""})
    assert page.status_code == 200 and "<mark>" in page.text
    few = web_client.get("/search", params={**empty, "min_upvotes": "100"})
    votes = [int(v) for v in re.findall(r'data-hf="\d+">(\d+)</span>', few.text)]
    assert votes and min(votes) >= 100
    assert web_client.get("/search", params={**empty, "min_upvotes": "lots"}).status_code == 400


def test_search_jumps_to_arxiv_ids(web_client: TestClient) -> None:
    for query in ("2602.23152", "https://arxiv.org/abs/2602.23152v1"):
        answer = web_client.get("/search", params={"q": query}, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/papers/2602.23152")


def test_search_bad_input_is_not_a_500(web_client: TestClient) -> None:
    for params in (
        {"q": '"unbalanced ((( AND OR'},
        {"q": "x", "since": "2026-02-30"},
        {"q": "x", "mode": "magic"},
    ):
        assert web_client.get("/search", params=params).status_code in (200, 400), params


def test_empty_store_explains_how_to_ingest(store: Store) -> None:
    with make_client(store) as client:
        page = client.get("/")
        assert page.status_code == 200 and "paperscope ingest" in page.text
        assert client.get("/trending").status_code == 200
        assert client.get("/api/daily_papers").json() == []


def test_static_files_and_base_layout(web_client: TestClient) -> None:
    page = web_client.get("/")
    for asset in ("/static/app.css", "/static/app.js"):
        assert f'"{asset}"' in page.text
        assert web_client.get(asset).status_code == 200
    for vendor in ("katex.min.css", "katex.min.js", "contrib/auto-render.min.js"):
        assert f'/static/vendor/katex/{vendor}"' in page.text
    assert "cdn" not in page.text.lower()
    css = web_client.get("/static/app.css").text
    assert "prefers-color-scheme: dark" in css


def test_signed_in_pages(web_client: TestClient) -> None:
    assert web_client.get("/submit", follow_redirects=False).headers["location"] == "/signin?next=/submit"
    sign_up(web_client, "reader")
    page = web_client.get("/")
    assert "reader" in page.text and ">Sign out</button>" in page.text
    assert web_client.get("/submit").status_code == 200
    assert web_client.get("/account").status_code == 200
    paper = web_client.get("/papers/2602.23152")
    assert ">Save</button>" in paper.text and 'name="name"' in paper.text


def test_feed_and_digest_routers_are_included(web_client: TestClient) -> None:
    page = web_client.get("/")
    for link in ("/feeds/daily.atom", "/feeds/daily.rss", "/digest/subscribe"):
        assert f'href="{link}"' in page.text
        answer = web_client.get(link)
        assert answer.status_code == 200, link
    assert "<feed" in web_client.get("/feeds/daily.atom").text


def test_paper_with_a_local_id(web_client: TestClient, web_store: Store) -> None:
    title = "A paper without an arXiv id"
    web_store.write_records([PaperRecord(source="hf-page", origin="tests", title=title, abstract="Text.")])
    found = [p for batch in web_store.iter_papers() for p in batch if p.title == title]
    assert len(found) == 1 and found[0].arxiv_id is None
    key = found[0].key
    page = web_client.get(f"/papers/{key}")
    assert page.status_code == 200 and title in page.text
    assert "arXiv abstract" not in page.text  # no arXiv links for a paper arXiv does not have
    assert web_client.get(f"/api/papers/{key}").json()["id"] == key


def test_related_papers_fall_back_to_keywords_then_explain(web_client: TestClient, web_store: Store) -> None:
    """The fixture builds the keyword index only: related papers come from the title's words."""
    page = web_client.get("/papers/2602.23152")
    assert page.status_code == 200 and "Found by shared title words" in page.text
    related = re.search(r'<section class="related".*?</section>', page.text, re.S)
    assert related and related.group(0).count("<li>") >= 1 and 'href="/papers/2602.23152"' not in related.group(0)
    api = web_client.get("/api/papers/2602.23152/related?limit=3")
    assert api.status_code == 200, api.text
    ids = [r["paper"]["id"] for r in api.json()]
    assert 1 <= len(ids) <= 3 and "2602.23152" not in ids
    # With no index at all the page still renders, and the API says what to run.
    shutil.rmtree(web_store.settings.index_dir)
    with make_client(web_store) as fresh:
        page = fresh.get("/papers/2602.23152")
        assert page.status_code == 200 and "paperscope index" in page.text
        api = fresh.get("/api/papers/2602.23152/related")
        assert api.status_code == 503 and "paperscope index" in api.json()["error"]


def test_feed_and_account_pages_offer_the_digest(web_client: TestClient) -> None:
    for path in ("/", "/papers?date=2026-02-27", "/trending?category=cs.CL"):
        page = web_client.get(path)
        assert 'action="/digest/subscribe"' in page.text, path
    assert 'name="categories" maxlength="300" placeholder="cs.CL cs.LG"\n             value="cs.CL"' in (
        web_client.get("/trending?category=cs.CL").text
    )
    sign_up(web_client, "digester")
    account = web_client.get("/account").text
    assert 'href="/account/digests"' in account and 'action="/digest/subscribe"' in account
    assert 'value="digester@example.org"' in account


def test_favicon_and_security_headers(web_client: TestClient) -> None:
    page = web_client.get("/")
    assert 'rel="icon" href="/static/favicon.svg"' in page.text
    assert web_client.get("/static/favicon.svg").status_code == 200
    icon = web_client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in icon.text
    for answer in (page, icon, web_client.get("/api/daily_papers"), web_client.get("/no-such-page")):
        assert "'self'" in answer.headers["content-security-policy"]
        assert answer.headers["x-frame-options"] == "DENY"


def _day_count(html: str, key: str) -> int:
    found = re.search(rf'data-key="{re.escape(key)}">.*?<span class="count"[^>]*>(\d+)</span>', html, re.S)
    assert found, key
    return int(found.group(1))


def test_cached_lists_show_a_vote_on_the_next_load(web_client: TestClient) -> None:
    """Lists are cached a few seconds per worker; a vote through the site must not wait for that."""
    day, key = "/papers?date=2026-02-27", "2602.23152"
    before = _day_count(web_client.get(day).text, key)
    trending = _day_count(web_client.get("/trending").text, key)
    assert _day_count(web_client.get(day).text, key) == before  # served from the cache
    sign_up(web_client, "voter")
    page = web_client.get(day).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    answer = web_client.post(
        f"/papers/{key}/upvote", data={"csrf_token": token.group(1), "next": day}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert _day_count(web_client.get(day).text, key) == before + 1
    assert _day_count(web_client.get("/trending").text, key) == trending + 1
    # The JSON API's vote (taking it back) empties the cache too.
    voted = web_client.post(f"/api/papers/{key}/upvote", headers={"X-CSRF-Token": token.group(1)})
    assert voted.status_code == 200 and voted.json()["voted"] is False
    assert _day_count(web_client.get(day).text, key) == before
    assert web_client.get("/api/daily_papers", params={"date": "2026-02-27"}).json()[0]["paper"]["upvotes"] == before


def test_cached_cards_carry_each_visitors_own_token_and_votes(web_store: Store) -> None:
    """The day's cards are rendered once for many visitors: tokens and pressed buttons stay personal."""
    day, key = "/papers?date=2026-02-27", "2602.23152"
    pressed = (
        rf'data-key="{re.escape(key)}">\s*<input[^>]*>\s*<input[^>]*>\s*<button type="submit" aria-pressed="(\w+)"'
    )
    app = create_app(web_store, secret_key=SECRET)  # one app, so one cache, for both visitors
    with TestClient(app) as alice, TestClient(app) as bob:
        sign_up(alice, "alice")
        sign_up(bob, "bobby")
        pages = [alice.get(day).text, bob.get(day).text]
        tokens = [set(re.findall(r'name="csrf_token" value="([^"]+)"', page)) for page in pages]
        assert all(len(t) == 1 for t in tokens) and tokens[0] != tokens[1]
        assert "csrf-" not in pages[0] and "csrf-" not in pages[1]  # no placeholder left behind
        # Alice votes with her token from the cached cards; Bob's cards stay unpressed.
        answer = alice.post(
            f"/papers/{key}/upvote", data={"csrf_token": next(iter(tokens[0])), "next": day}, follow_redirects=False
        )
        assert answer.status_code == 303
        found_a = re.search(pressed, alice.get(day).text)
        found_b = re.search(pressed, bob.get(day).text)
        assert found_a and found_b
        assert (found_a.group(1), found_b.group(1)) == ("true", "false")


def test_search_page_shows_facets_reasons_and_a_category_chooser(web_client: TestClient) -> None:
    page = web_client.get("/search", params={"q": "world models", "mode": "keyword"})
    assert page.status_code == 200
    text = page.text
    # The category box lists the library's categories with their names.
    assert re.search(r'<select id="category" name="category">', text)
    assert "cs.CL — Computation and Language" in text
    # Facets: years and code links, as links that narrow the search.
    assert 'aria-label="Narrow the results"' in text and "<h2>Year</h2>" in text
    assert re.search(r'href="/search\?[^"]*has_code=1', text)
    # Every result says why it is there.
    assert text.count('class="why"') == len(re.findall(r'<article class="paper"', text)) > 0
    assert "match world models" in text or "match models world" in text
    count = re.search(r'<p class="count-line">(about )?(\d+) result', text)
    assert count is not None
    with_code = web_client.get("/search", params={"q": "world models", "mode": "keyword", "has_code": "1"})
    assert with_code.status_code == 200 and "<strong>with code</strong>" in with_code.text
    nothing = web_client.get("/search", params={"q": "sourdough zyzzyvan fermentation", "mode": "keyword"})
    assert "othing matches" in nothing.text


def test_list_pages_share_the_category_chooser(web_client: TestClient) -> None:
    # The day list and trending filter by the same chooser as search: the library's categories
    # with names and counts, the chosen one selected, and an unknown one kept rather than lost.
    for path in ("/papers?date=2026-02-27", "/trending"):
        text = web_client.get(path).text
        assert '<select id="category" name="category">' in text, path
        assert re.search(r'<option value="cs.cl">cs.CL — Computation and Language \(\d+\)</option>', text), path
    chosen = web_client.get("/papers", params={"date": "2026-02-27", "category": "cs.CL"}).text
    assert '<option value="cs.cl" selected>' in chosen
    unknown = web_client.get("/trending", params={"category": "astro-ph.XX"}).text
    assert '<option value="astro-ph.XX" selected>astro-ph.XX (no papers)</option>' in unknown


def test_category_values_from_the_chooser_filter_lists(web_client: TestClient) -> None:
    # The chooser sends lower-case values (cs.cl): lists must filter by them as by cs.CL.
    def count(category: str) -> str:
        text = web_client.get("/papers", params={"month": "2026-02", "category": category}).text
        found = re.search(r'<p class="count-line">(\d+) paper', text)
        assert found, category
        return found.group(1)

    assert count("cs.cl") == count("cs.CL") != "0"
