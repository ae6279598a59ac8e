"""The site as a reader uses it, in headless Chromium against the real ``paperscope serve``.

Each main page is saved as a full-page screenshot under the run's output folder
(``$PAPERSCOPE_TEST_OUTPUT/screenshots`` or ``test-output/screenshots``) for a person to look at.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from lxml import etree
from playwright.sync_api import Browser, BrowserContext, Page, expect

from paperscope.harvest.client import Pacing
from paperscope.harvest.fetch_queue import process_fetch_queue
from paperscope.records import clean_text

from .conftest import ACTION_TIMEOUT_MS, VIEWPORT, LiveServer, watch_for_errors

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
LATEX_PAPER = "0704.0005"  # title: "From dyadic $\Lambda_{\alpha}$ to $\Lambda_{\alpha}$"
SUBMITTED = "1605.08386"  # in the recorded arXiv API answers, not in the home's data files


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    email: str
    state: Path  # Playwright storage state: the signed-in cookies


def february(shared_data: Path, day: str) -> list[dict[str, object]]:
    """The data file's papers of one list day, most upvoted first."""
    papers = orjson.loads((shared_data / "hf-daily" / "hf-daily-2026-02.json").read_bytes())["papers"]
    return sorted((p for p in papers if p["date"] == day), key=lambda p: -int(p["upvotes"]))


def shot(page: Page, folder: Path, name: str) -> None:
    """The whole page, and what the first screen shows (a tall page shrinks to a blur in a viewer)."""
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    page.screenshot(path=str(folder / f"{name}-top.png"))


def sign_up(page: Page, username: str, email: str) -> None:
    page.goto("/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("navigation", name="Site").get_by_role("link", name=username)).to_be_visible()


@pytest.fixture(scope="session")
def account(browser: Browser, live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Account:
    """One account for the tests that need a signed-in reader (sign-up is rate limited per address)."""
    username = f"reader{secrets.token_hex(3)}"
    email = f"{username}@example.org"
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    sign_up(page, username, email)
    state = tmp_path_factory.mktemp("e2e-auth") / "state.json"
    context.storage_state(path=str(state))
    context.close()
    return Account(username, email, state)


@pytest.fixture()
def user_page(browser: Browser, live_server: LiveServer, account: Account) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_server.url, storage_state=str(account.state), viewport=VIEWPORT
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    opened = context.new_page()
    errors: list[str] = []
    watch_for_errors(opened, errors)
    yield opened
    context.close()
    assert not errors, errors


def card_titles(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("article.paper h2").all_inner_texts()]


# -- reading --------------------------------------------------------------------------------
def test_daily_list_and_day_navigation(page: Page, shared_data: Path, screenshots: Path) -> None:
    expected = february(shared_data, "2026-02-27")
    page.goto("/papers?date=2026-02-27")
    expect(page.get_by_role("heading", level=1)).to_have_text("Friday, February 27, 2026")
    expect(page.locator(".count-line")).to_have_text(f"{len(expected)} papers")
    titles = card_titles(page)
    assert titles[0] == expected[0]["title"]
    assert set(titles) == {p["title"] for p in expected}
    first_count = page.locator("article.paper .count").first
    expect(first_count).to_have_text(str(int(expected[0]["upvotes"])))
    shot(page, screenshots, "daily")

    page.get_by_role("link", name="Previous day").click()
    expect(page).to_have_url(re.compile(r"date=2026-02-26$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Thursday, February 26, 2026")
    assert card_titles(page)[0] == february(shared_data, "2026-02-26")[0]["title"]
    page.get_by_role("link", name="Next day").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Friday, February 27, 2026")

    # The day before the first February list is the other list in the data, months earlier.
    page.goto("/papers?date=2026-02-02")
    page.get_by_role("link", name="Previous day").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Friday, October 25, 2024")
    expect(page.locator(".count-line")).to_have_text("29 papers")


def test_sort_filter_on_the_daily_list(page: Page, live_server: LiveServer) -> None:
    page.goto("/papers?date=2024-10-25")
    by_votes = card_titles(page)
    page.get_by_label("Sort by").select_option("published")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"sort=published"))
    with live_server.store() as store:
        newest_first = [p.title for p in store.daily_papers("2024-10-25", "2024-10-25", sort="published")]
    assert card_titles(page) == newest_first
    assert sorted(newest_first) == sorted(by_votes) and newest_first != by_votes


def test_trending(page: Page, live_server: LiveServer, screenshots: Path) -> None:
    page.goto("/trending")
    expect(page.get_by_role("heading", level=1)).to_have_text("Trending papers")
    with live_server.store() as store:
        ranked = [p.title for p, _ in store.trending(limit=5)]
    assert ranked and card_titles(page)[:5] == ranked
    page.get_by_text("How trending is ranked").click()
    expect(page.get_by_text("score = upvotes / (age_days + 2) ^ 1.5")).to_be_visible()
    shot(page, screenshots, "trending")


def _fits(page: Page, selector: str) -> bool:
    """Whether an input is wide enough for its whole placeholder (measured in its own font)."""
    return bool(
        page.eval_on_selector(
            selector,
            """el => {
                const style = getComputedStyle(el);
                const ctx = document.createElement("canvas").getContext("2d");
                ctx.font = style.font;
                const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
                return ctx.measureText(el.placeholder).width <= el.clientWidth - padding;
            }""",
        )
    )


def _check_search_layout(page: Page) -> None:
    assert _fits(page, "#site-q"), "the header search box cuts its placeholder"
    # Each filter's label sits on the same line as its control.
    for field in page.locator("fieldset .field").all():
        label, control = field.locator("label").bounding_box(), field.locator("input, select").bounding_box()
        assert label and control
        assert abs((label["y"] + label["height"] / 2) - (control["y"] + control["height"] / 2)) < 8, (
            field.inner_text()
        )


def test_search_and_open_a_paper(page: Page, screenshots: Path) -> None:
    page.goto("/papers?date=2026-02-27")
    box = page.get_by_role("searchbox", name="Search papers")
    box.fill("trinity of consistency world models")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=trinity"))
    title = "The Trinity of Consistency as a Defining Principle for General World Models"
    expect(page.locator("article.paper h2").first).to_have_text(title)
    expect(page.locator(".count-line")).to_contain_text("results for")
    _check_search_layout(page)
    shot(page, screenshots, "search")

    page.get_by_role("link", name=title).click()
    expect(page).to_have_url(re.compile(r"/papers/2602\.23152$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_role("link", name="arXiv abstract")).to_have_attribute(
        "href", "https://arxiv.org/abs/2602.23152"
    )
    expect(page.locator(".upvote .count")).to_have_text("168")


def _result_count(page: Page) -> int:
    line = page.locator(".count-line").inner_text()
    return int(line.split()[0])


def test_search_filters(page: Page) -> None:
    page.goto("/search")
    page.get_by_label("Search", exact=True).fill("modular forms")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator(".count-line")).to_be_visible()
    unfiltered = _result_count(page)
    # The category box is a chooser of the categories the library holds, labelled with their names.
    option = page.locator("#category option", has_text=re.compile(r"^math\.NT\b"))
    expect(option).to_have_count(1)
    page.get_by_label("Category").select_option(option.get_attribute("value"))
    page.get_by_label("Search", exact=True).press("Enter")
    expect(page).to_have_url(re.compile(r"category=math\.NT", re.IGNORECASE))
    expect(page.locator("article.paper").first).to_be_visible()
    filtered = _result_count(page)
    assert 0 < filtered < unfiltered
    for key in page.locator("article.paper h2 a").evaluate_all("links => links.map(a => a.pathname)"):
        categories = page.request.get(f"/api{key}").json().get("categories") or []
        assert "math.NT" in categories, (key, categories)


def test_latex_renders_with_katex(page: Page, screenshots: Path) -> None:
    page.goto(f"/papers/{LATEX_PAPER}")
    heading = page.get_by_role("heading", level=1)
    expect(heading.locator(".katex").first).to_be_visible()
    assert "$" not in heading.inner_text()  # the delimiters were consumed by the renderer
    # KaTeX keeps the source as MathML annotation: the formula is the one in the data.
    annotations = heading.locator("annotation").evaluate_all("nodes => nodes.map(n => n.textContent)")
    assert annotations == ["\\Lambda_{\\alpha}", "\\Lambda_{\\alpha}"]
    shot(page, screenshots, "paper")


def test_katex_comes_from_this_server(page: Page, live_server: LiveServer) -> None:
    loaded: list[str] = []
    page.on("requestfinished", lambda request: loaded.append(request.url))
    page.goto(f"/papers/{LATEX_PAPER}")
    expect(page.locator("h1 .katex").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    katex = [url for url in loaded if "katex" in url.lower()]
    assert any(url.endswith("/static/vendor/katex/katex.min.js") for url in katex)
    assert any(url.endswith(".woff2") for url in katex), "the KaTeX fonts load"
    assert all(url.startswith(live_server.url) for url in loaded), [u for u in loaded if "127.0.0.1" not in u]


def test_read_a_feed(page: Page, shared_data: Path) -> None:
    expected = february(shared_data, "2026-02-27")
    response = page.request.get("/feeds/daily.atom?date=2026-02-27")
    assert response.ok and response.headers["content-type"].startswith("application/atom+xml")
    root = etree.fromstring(response.body())
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert len(entries) == len(expected)
    assert entries[0].findtext("a:title", namespaces=ns) == expected[0]["title"]
    # The entry's link opens the paper's page on this site.
    page.goto(entries[0].find("a:link[@rel='alternate']", ns).get("href"))
    expect(page.get_by_role("heading", level=1)).to_have_text(str(expected[0]["title"]))


# -- accounts -------------------------------------------------------------------------------
def test_sign_up_sign_out_sign_in(page: Page, screenshots: Path) -> None:
    username = f"e2e{secrets.token_hex(4)}"
    sign_up(page, username, f"{username}@example.org")
    nav = page.get_by_role("navigation", name="Site")
    nav.get_by_role("button", name="Sign out").click()
    expect(nav.get_by_role("link", name="Sign in")).to_be_visible()
    expect(nav.get_by_role("link", name=username)).to_have_count(0)

    nav.get_by_role("link", name="Sign in").click()
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill("not the password")
    shot(page, screenshots, "signin")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(nav.get_by_role("link", name=username)).to_have_count(0)

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(nav.get_by_role("link", name=username)).to_be_visible()


def test_upvote_needs_an_account(page: Page, browser_errors: list[str]) -> None:
    page.goto("/papers/2602.22859")
    before = page.locator(".upvote .count").inner_text()
    page.get_by_role("button", name="Upvote").click()
    expect(page).to_have_url(re.compile(r"/signin\?next="))
    # The page's script tries the JSON API first; its 401 is the expected answer, then the form
    # is posted and the server sends the reader to sign in.
    browser_errors[:] = [e for e in browser_errors if not re.match(r"401 for .*/api/papers/.*/upvote$", e)]
    page.goto("/papers/2602.22859")
    expect(page.locator(".upvote .count")).to_have_text(before)


def test_upvote_and_take_it_back(user_page: Page, live_server: LiveServer) -> None:
    page = user_page
    page.goto("/papers/2602.22638")
    count = page.locator(".votes .upvote .count")
    button = page.locator(".votes").get_by_role("button", name="Upvote")
    before = int(count.inner_text())
    paper_local = int(page.locator(".votes .breakdown .local").inner_text())
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()
    expect(count).to_have_text(str(before + 1))
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".votes .breakdown .local")).to_have_text(str(paper_local + 1))
    page.reload()  # the vote is stored, not only shown
    expect(count).to_have_text(str(before + 1))
    with live_server.store() as store:
        paper = store.get_paper("2602.22638")
        # Other browser tests share this server's store: count from what the page showed before.
        assert paper is not None and paper.local_upvotes == paper_local + 1
    button.click()
    expect(count).to_have_text(str(before))
    expect(button).to_have_attribute("aria-pressed", "false")
    page.reload()
    expect(count).to_have_text(str(before))


def test_save_to_a_collection_and_open_it(user_page: Page, screenshots: Path) -> None:
    page = user_page
    name = f"Reading list {secrets.token_hex(2)}"
    page.goto(f"/papers/{LATEX_PAPER}")
    page.get_by_label(re.compile("collection", re.IGNORECASE)).last.fill(name)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.locator("article.paper h2 a")).to_have_attribute("href", f"/papers/{LATEX_PAPER}")
    expect(page.locator("article.paper h2")).to_contain_text("From dyadic")
    page.goto("/papers/2602.23152")
    page.get_by_label("Collection", exact=True).select_option(label=name)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("article.paper")).to_have_count(2)
    page.get_by_role("navigation", name="Site").get_by_role("link", name="Collections").click()
    page.get_by_role("link", name=name).click()
    expect(page.locator(".count-line")).to_contain_text("2 papers")
    # Each card holds its own "Remove" button, inside its border.
    expect(page.locator("article.paper").get_by_role("button", name="Remove from collection")).to_have_count(2)
    shot(page, screenshots, "collection")


def test_submit_a_paper_by_arxiv_id(
    user_page: Page, account: Account, live_server: LiveServer, screenshots: Path
) -> None:
    page = user_page
    page.goto("/submit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Submit a paper")
    assert _fits(page, "#paper"), "the submit box cuts its placeholder"
    shot(page, screenshots, "submit")
    page.get_by_label("arXiv id or URL").fill("0000.0000")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("status")).to_contain_text("on its way")  # queued: the page asks no one

    page.get_by_label("arXiv id or URL").fill(f"https://arxiv.org/abs/{SUBMITTED}")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("status")).to_contain_text(f"{SUBMITTED} is on its way")
    shot(page, screenshots, "submit-queued")
    # The fetch-queue job's work, done here at once against the replayed arXiv API.
    with live_server.store() as store:
        report = process_fetch_queue(store, api_url=live_server.arxiv_url, pacing=Pacing(delay=0.0, retries=0))
        # Other browser tests share this store's queue (a library import): judge this test's own rows.
        outcome = {item.arxiv_id: item.status for item in store.fetch_queue.items()
                   if item.submitted_by == account.username}
        assert outcome == {"0000.0000": "failed", SUBMITTED: "done"}, report
        assert report["retry"] == 0, report
    page.goto("/submit")
    # The recorded API has no such paper: the submitter reads so on the submit page.
    expect(page.locator(".submissions")).to_contain_text("0000.0000: not added")
    page.get_by_role("link", name=SUBMITTED).click()
    expect(page).to_have_url(re.compile(rf"/papers/{re.escape(SUBMITTED)}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Heat-bath random walks with Markov bases")
    expect(page.locator(".submitted-by")).to_have_text(account.username)
    with live_server.store() as store:
        paper = store.get_paper(SUBMITTED)
        assert paper is not None and paper.list_dates and paper.submitted_by == account.username


# -- accessibility --------------------------------------------------------------------------
def _luminance(rgb: str) -> float:
    channels = [int(v) / 255 for v in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _colours(page: Page, selector: str) -> tuple[str, str]:
    return page.eval_on_selector(
        selector,
        "el => [getComputedStyle(el).color, getComputedStyle(document.body).backgroundColor]",
    )


def test_dark_mode_is_readable(browser: Browser, live_server: LiveServer, screenshots: Path) -> None:
    context: BrowserContext = browser.new_context(
        base_url=live_server.url, color_scheme="dark", viewport=VIEWPORT
    )
    try:
        page = context.new_page()
        page.goto("/papers?date=2026-02-27")
        _text, background = _colours(page, "article.paper .abstract")
        assert _luminance(background) < 0.05, f"dark mode keeps a light background {background}"
        for selector in ("h1", "article.paper .abstract", "article.paper h2 a", "article.paper .meta"):
            fg, bg = _colours(page, selector)
            assert _contrast(fg, bg) >= 4.5, f"{selector}: {fg} on {bg} is hard to read in dark mode"
        shot(page, screenshots, "daily-dark")
    finally:
        context.close()


def test_keyboard_reaches_the_search_box(page: Page) -> None:
    page.goto("/papers?date=2026-02-27")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    for _ in range(30):  # bounded: the header has a dozen focusable things
        if page.evaluate("document.activeElement.id") == "site-q":
            break
        page.keyboard.press("Tab")
    else:
        pytest.fail("30 presses of Tab never reached the search box")
    page.keyboard.type("Hilbert-Siegel modular forms")
    page.keyboard.press("Enter")
    expect(page.locator("article.paper h2").first).to_contain_text("Hilbert-Siegel modular forms")


def test_pages_have_one_main_landmark_and_a_title(page: Page) -> None:
    paths = ("/papers?date=2026-02-27", "/trending", "/search?q=diffusion", "/papers/2602.23152", "/signin")
    for path in paths:
        page.goto(path)
        expect(page.locator("main")).to_have_count(1)
        assert page.title().endswith("· paperscope"), (path, page.title())
        assert clean_text(page.locator("h1").first.inner_text())
