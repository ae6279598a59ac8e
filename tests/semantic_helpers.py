"""Real papers for the semantic-index tests: the 783 Hugging Face Daily Papers of February 2026."""

from __future__ import annotations

import json
from pathlib import Path

from paperscope.records import PaperRecord


def daily_records(shared_data: Path) -> list[PaperRecord]:
    """One PaperRecord per paper of ``hf-daily/hf-daily-2026-02.json`` (title, abstract, authors)."""
    path = shared_data / "hf-daily" / "hf-daily-2026-02.json"
    records = []
    for paper in json.loads(path.read_text(encoding="utf-8"))["papers"]:
        authors = paper["authors"]
        if isinstance(authors, str):  # the bot stored some author lists as Python reprs
            authors = [a.strip(" '\"") for a in authors.strip("[]").split(",") if a.strip(" '\"")]
        records.append(PaperRecord(
            source="json-list", origin=str(path), title=paper["title"], arxiv_id=paper["paper_id"],
            abstract=paper.get("abstract") or "", authors=authors, published=paper["date"],
        ))
    return records
