"""The paper page's "Cite" button copies the paper's BibTeX to the clipboard (headless Chromium,
real server); the collection page offers BibTeX/RIS export and the library import form."""

from __future__ import annotations

from pathlib import Path

import bibtexparser
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from .conftest import LiveServer

pytestmark = pytest.mark.browser

PAPER = "2410.17243"


def test_cite_button_copies_bibtex(context: BrowserContext, page: Page, live_server: LiveServer,
                                   screenshots: Path) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(f"/papers/{PAPER}")
    cite = page.get_by_role("button", name="Cite")
    expect(cite).to_be_visible()  # shown by script only where the clipboard can be written
    cite.click()
    expect(page.locator(".cite-status")).to_have_text("BibTeX copied.")
    copied = page.evaluate("navigator.clipboard.readText()")
    (entry,) = bibtexparser.parse_string(copied).entries
    assert entry.entry_type == "misc" and entry.key == "cheng2024breaking"
    assert {f.key: f.value for f in entry.fields}["eprint"] == PAPER
    assert page.locator('meta[name="citation_arxiv_id"]').get_attribute("content") == PAPER
    page.screenshot(path=str(screenshots / "paper-cite.png"))


def test_collection_exports_and_import_form(page: Page, live_server: LiveServer, screenshots: Path,
                                            tmp_path: Path) -> None:
    page.goto("/signup")
    page.fill("#username", "citer")
    page.fill("#email", "citer@example.org")
    page.fill("#password", "correct horse battery")
    page.get_by_role("button", name="Sign up").click()
    page.goto(f"/papers/{PAPER}")
    page.fill("#new-name", "To cite")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="To cite")).to_be_visible()
    library = tmp_path / "reading.txt"
    # 1707.08567 is in the recorded arXiv answers but not in the site's data: it is queued.
    library.write_text("2602.23152\nhttps://arxiv.org/abs/1707.08567\nnot a reference\n")
    page.set_input_files("#library", str(library))
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator(".import-summary")).to_contain_text("1 added")
    # The unknown id is queued for the fetch job (no arXiv request inside the web request).
    expect(page.locator(".import-queued")).to_contain_text("1 paper is being fetched from arXiv")
    expect(page.locator(".import-problems")).to_contain_text("no arXiv id, arXiv URL or DOI on this line")
    page.screenshot(path=str(screenshots / "collection-import.png"), full_page=True)
    page.locator("h1").get_by_role("link", name="To cite").click()
    bib = page.request.get(page.url + ".bib").text()
    assert sorted(e.key for e in bibtexparser.parse_string(bib).entries)[:1] == ["cheng2024breaking"]
    assert len(bibtexparser.parse_string(bib).entries) == 2
    page.screenshot(path=str(screenshots / "collection.png"), full_page=True)
