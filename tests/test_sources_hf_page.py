"""Saved Hugging Face Papers pages (plain text): cards, dates without a year, the save day."""

from __future__ import annotations

from pathlib import Path

from paperscope.records import PaperRecord, Rejected
from paperscope.sources import detect_format, parse_file, parse_hf_page_text

OLD = "hf-pages/000_471d764557894017.txt"
NEW = "hf-pages/003_dd9ea458efea1772.txt"


def papers(path: Path, saved_year: int | None = None) -> list[PaperRecord]:
    results = list(parse_file(path, saved_year=saved_year))
    assert all(isinstance(r, PaperRecord) for r in results), [r for r in results if isinstance(r, Rejected)]
    return [r for r in results if isinstance(r, PaperRecord)]


def test_old_page_titles_and_abstracts(shared_data: Path) -> None:
    path = shared_data / OLD
    assert detect_format(path) == "hf-page"
    cards = papers(path)
    assert len(cards) == 61
    first = cards[0]
    assert first.source == "hf-page"
    assert first.origin == f"{path}:11"
    assert first.title == "Studying Large Language Model Generalization with Influence Functions"
    assert first.abstract.startswith("When trying to gain better visibility into a machine learning model")
    assert first.arxiv_id is None and first.local_id is None  # the store keys it by normalised title
    assert first.authors == [] and first.upvotes is None
    assert all(c.published is None for c in cards)  # this page shows no dates
    assert cards[-1].title == (
        "Exploiting Inter-Layer Expert Affinity for Accelerating Mixture-of-Experts Model Inference"
    )
    assert all(len(c.abstract) > 300 for c in cards)  # no abstract was taken for a title


def test_new_page_dates(shared_data: Path) -> None:
    path = shared_data / NEW
    assert detect_format(path) == "hf-page"
    cards = papers(path)
    assert len(cards) == 50
    by_title = {c.title: c for c in cards}
    assert cards[0].title == "Formalizing and Estimating Distribution Inference Risks"
    assert cards[0].published == "2021-09-13"
    # Yearless dates: the page's largest explicit year is 2024, so it was saved on Dec 12, 2025.
    assert cards[1].published == "2025-04-25"
    assert by_title["Long-Context Inference with Retrieval-Augmented Speculative Decoding"].published == "2025-02-27"
    assert cards[2].published == "2024-09-20"
    # "May 23, 2024 1": the trailing number is not an upvote count (see hf_page.py).
    dmd2 = by_title["Improved Distribution Matching Distillation for Fast Image Synthesis"]
    assert dmd2.published == "2024-05-23" and dmd2.upvotes is None and dmd2.authors == []
    assert sum(1 for c in cards if c.published) == 48
    assert max(c.published or "" for c in cards) <= "2025-12-12"


def test_saved_year_from_caller(shared_data: Path) -> None:
    cards = papers(shared_data / NEW, saved_year=2030)
    assert cards[1].published == "2030-04-25"
    assert cards[0].published == "2021-09-13"


def page(*cards: str, saved: str = "Mar 11") -> str:
    head = "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nbyAK and the research community\n\n"
    return head + saved + "\n\n" + "\n\n".join(cards) + "\n"


def card(title: str, when: str) -> str:
    return f"{title}\n\nAn abstract for {title}.\n\n  • 3 authors\n·\n{when}"


def test_date_after_the_save_day_is_the_year_before() -> None:
    text = page(card("Early", "Mar 10"), card("Late", "Dec 20"), card("Known", "Jan 5, 2023"))
    results = list(parse_hf_page_text(text, "saved.txt"))
    assert [r.published for r in results if isinstance(r, PaperRecord)] == ["2024-03-10", "2023-12-20", "2023-01-05"]
    assert results[0].origin == "saved.txt:11"


def test_impossible_date_is_rejected_and_others_kept() -> None:
    text = page(card("Fine", "Jan 2, 2024"), card("Broken", "Feb 30, 2024"), card("Also fine", "Mar 1, 2024"))
    results = list(parse_hf_page_text(text, "saved.txt"))
    assert [type(r).__name__ for r in results] == ["PaperRecord", "Rejected", "PaperRecord"]
    bad = results[1]
    assert isinstance(bad, Rejected)
    assert bad.source == "hf-page" and bad.reason == "date 'Feb 30, 2024' does not exist"
    assert bad.origin.startswith("saved.txt:") and bad.excerpt == "Broken"


def test_yearless_dates_without_any_year_are_left_out() -> None:
    (result,) = list(parse_hf_page_text(page(card("Only", "Apr 2")), "saved.txt"))
    assert isinstance(result, PaperRecord) and result.published is None
    text = page(card("Before", "Feb 2"), card("After", "Apr 2"))  # saved on Mar 11
    results = list(parse_hf_page_text(text, "saved.txt", saved_year=2026))
    assert [r.published for r in results if isinstance(r, PaperRecord)] == ["2026-02-02", "2025-04-02"]
