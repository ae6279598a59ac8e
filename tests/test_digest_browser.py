"""The HTML digest rendered in headless Chromium: it loads nothing remote, fits a phone screen,
and a screenshot is saved for a person to look at."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from mail_fixtures import fill_store
from paperscope.mail.render import Renderer
from paperscope.mail.selection import Selector
from paperscope.mail.settings import MailSettings
from paperscope.store import Store

REPO = Path(__file__).resolve().parents[1]


def screenshot_dir() -> Path:
    root = os.environ.get("PAPERSCOPE_TEST_OUTPUT")
    path = (Path(root) if root else REPO / "test-output") / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.browser
def test_digest_html_in_chromium(store: Store, shared_data: Path, browser: Browser) -> None:
    fill_store(store, shared_data)
    sub = store.digests.subscribe("reader@example.org", "weekly", categories=[], min_upvotes=0)
    store.digests.confirm(sub.id)
    sub = store.digests.get(sub.id)  # type: ignore[assignment]
    digest = Selector(store, top=6).select(sub, "2026-W48", date(2026, 11, 23))  # type: ignore[arg-type]
    # The "For you" section, filled by hand here: its selection is tested
    # with the real semantic index in test_digest_account.py; this test is about the looks.
    digest.related = [p for p, _ in store.trending(window_days=7, today=date(2026, 11, 23), limit=9)][6:8]
    mail = MailSettings.load(
        store.settings, {"PAPERSCOPE_SECRET": "s", "PAPERSCOPE_BASE_URL": "https://papers.example.org"}
    )
    html = Renderer(mail).digest(digest).get_body(("html",)).get_content()  # type: ignore[union-attr]
    out = screenshot_dir()

    requests: list[str] = []
    for name, width in (("digest", 800), ("digest-mobile", 390)):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.on("request", lambda request: requests.append(request.url))
        page.set_content(html, wait_until="load")
        assert page.title().startswith("paperscope weekly digest")
        titles = page.locator("a[href^='https://papers.example.org/papers/']").all_inner_texts()
        assert [t.strip() for t in titles if t.strip() != "paperscope"][: len(digest.trending)] == [
            p.title for p in digest.trending
        ]
        assert page.get_by_role("heading", name="For you").is_visible()
        # Nothing wider than the screen: no sideways scrolling on a phone.
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name}: {overflow}px wider than the viewport"
        # Readable: no text smaller than 10px anywhere.
        smallest = page.evaluate(
            "Math.min(...[...document.querySelectorAll('p, a, div, td')]"
            ".filter(e => e.innerText && e.innerText.trim())"
            ".map(e => parseFloat(getComputedStyle(e).fontSize)))"
        )
        assert smallest >= 10, smallest
        page.screenshot(path=str(out / f"{name}.png"), full_page=True)
        page.close()
    # set_content loads no URL: any request would be a remote image, font or tracker.
    assert requests == [], requests
    assert (out / "digest.png").stat().st_size > 10_000
