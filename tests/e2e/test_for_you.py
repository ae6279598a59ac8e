"""For you in headless Chromium against the real ``paperscope serve`` (semantic index built):
onboarding, following an author, the For you page with its reasons and "less like this", and a
shared collection.  Screenshots go where test_site.py puts its own."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from .conftest import ACTION_TIMEOUT_MS, VIEWPORT, LiveServer, watch_for_errors

pytestmark = pytest.mark.browser

AUTHOR = "Nicole Cho"  # two papers of 2026-02-27, with William Watson


def shot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    page.screenshot(path=str(folder / f"{name}-top.png"))


def _reader_context(browser: Browser, live_server: LiveServer) -> tuple[BrowserContext, str]:
    """A new reader, signed in: the account and its session made in the server's own store (the
    sign-up form is rate limited per address and tested in test_site.py)."""
    name = f"fy{secrets.token_hex(4)}"
    with live_server.store() as store:
        user = store.accounts.create_user(name, f"{name}@example.org", "correct horse battery staple")
        token = store.accounts.create_session(user.id)
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    host = urlsplit(live_server.url).hostname or "127.0.0.1"
    context.add_cookies([{"name": "ps_session", "value": token, "domain": host, "path": "/"}])
    return context, name


@pytest.fixture()
def reader_page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    context, _name = _reader_context(browser, live_server)
    page = context.new_page()
    errors: list[str] = []
    watch_for_errors(page, errors)
    yield page
    context.close()
    assert not errors, errors


def test_onboarding_builds_a_feed(reader_page: Page, screenshots: Path) -> None:
    page = reader_page
    page.goto("/for-you")
    expect(page.get_by_role("heading", name="For you")).to_be_visible()
    expect(page.get_by_text("Tell paperscope what you read")).to_be_visible()
    page.get_by_role("link", name="Set up your feed").click()
    expect(page).to_have_url(re.compile(r"/for-you/start$"))
    page.get_by_label("cs.CL").check()
    seeds = page.locator("label.seed")
    expect(seeds.first).to_be_visible()
    seeds.nth(0).locator("input").check()
    seeds.nth(1).locator("input").check()
    chosen = [seeds.nth(0).inner_text().strip(), seeds.nth(1).inner_text().strip()]
    shot(page, screenshots, "onboarding")
    page.get_by_role("button", name="Build my feed").click()
    expect(page).to_have_url(re.compile(r"/for-you$"))
    cards = page.locator("article.paper")
    expect(cards.first).to_be_visible()
    # Each card says why: here, like one of the two chosen papers.
    why = page.locator("article.paper .why").first.inner_text()
    assert why.startswith("like ") and "which you asked more of" in why, why
    assert any(title in why for title in chosen), (why, chosen)
    titles = [t.strip() for t in page.locator("article.paper h2").all_inner_texts()]
    assert not set(titles) & set(chosen), "the chosen papers are not suggested back"
    # From now on the home page is the For you list.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/for-you$"))


def test_follow_an_author(reader_page: Page, screenshots: Path) -> None:
    page = reader_page
    page.goto("/papers/2602.20332")
    page.locator(".paper-page .authors").get_by_role("link", name=AUTHOR).click()
    expect(page).to_have_url(re.compile(r"/authors/Nicole%20Cho$"))
    expect(page.get_by_role("heading", name=AUTHOR)).to_be_visible()
    expect(page.get_by_text("matched by the author's name as written")).to_be_visible()
    expect(page.locator(".coauthors").get_by_role("link", name="William Watson")).to_be_visible()
    follow = page.get_by_role("button", name="Follow")
    follow.click()
    expect(page.get_by_role("button", name="Following")).to_have_attribute("aria-pressed", "true")
    shot(page, screenshots, "author")
    page.get_by_role("navigation", name="Site").get_by_role("link", name="For you").click()
    first = page.locator("article.paper").first
    expect(first.locator(".why")).to_contain_text(f"by {AUTHOR}, whom you follow")


def test_for_you_page_learns_from_less_like_this(reader_page: Page, screenshots: Path) -> None:
    page = reader_page
    # Two upvotes give the reader a model; the page then explains each card by them.
    for key in ("2602.22638", "2602.20332"):
        page.goto(f"/papers/{key}")
        button = page.locator(".votes").get_by_role("button", name="Upvote")
        button.click()
        expect(button).to_have_attribute("aria-pressed", "true")
    page.goto("/for-you")
    first = page.locator("article.paper").first
    expect(first.locator(".why")).to_contain_text("which you upvoted")
    shot(page, screenshots, "for-you")
    title = first.locator("h2").inner_text().strip()
    first.get_by_role("button", name="Less like this").click()
    expect(page).to_have_url(re.compile(r"/for-you$"))
    titles = [t.strip() for t in page.locator("article.paper h2").all_inner_texts()]
    assert title not in titles
    page.goto("/me/signals")
    expect(page.get_by_text(title)).to_be_visible()


def test_public_collection(browser: Browser, live_server: LiveServer, screenshots: Path) -> None:
    context, name = _reader_context(browser, live_server)
    page = context.new_page()
    page.goto("/papers/2602.20332")
    page.get_by_label("New collection").fill("Query quality")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Private: only you can see it.")).to_be_visible()
    where = urlsplit(page.url).path
    stranger = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    other = stranger.new_page()
    other.goto(where)
    expect(other).to_have_url(re.compile(r"/signin"))
    page.get_by_role("button", name="Make public").click()
    expect(page.get_by_text("Public: anyone with the link can read it")).to_be_visible()
    other.goto(where)
    expect(other.get_by_role("heading", name="Query quality")).to_be_visible()
    expect(other.get_by_text(f"a collection by {name}")).to_be_visible()
    expect(other.get_by_role("button", name="Remove from collection")).to_have_count(0)
    shot(other, screenshots, "public-collection")
    feed = other.request.get(where + "/feed.atom")
    assert feed.status == 200 and "No One Size Fits All" in feed.text()
    stranger.close()
    context.close()


def test_author_links_on_cards(page: Page) -> None:
    page.goto("/papers?date=2026-02-27")
    link = page.locator("article.paper .authors").get_by_role("link", name=AUTHOR).first
    assert link.get_attribute("href") == f"/authors/{quote(AUTHOR)}"
