"""Test data: arXiv API Atom answers for papers the recorded responses do not cover.

Not product code.  The February 2026 month file (``hf-daily/hf-daily-2026-02.json``) lists
2026 arXiv ids, and the recorded arXiv API responses in ``arxiv/atom/`` are for other papers,
so answers for the month's ids are *built*: each month paper is paired with one record of the
real arXiv snapshot sample (``arxiv/kaggle/``, 100 records, reused in turn), which gives the
categories, comments, journal reference, DOI, version count and time of day; the title, the
authors and the abstract are the month file's own (Hugging Face copies them from arXiv; where
the month file has only the AI summary the snapshot record's abstract stands in).  Dates are
put in the paper's own month (the day before it was listed).  Real content mapped to those
ids, so that enrichment is exercised on the month's papers over a real socket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import orjson

HEAD = (
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
    'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">\n'
    "  <id>https://arxiv.org/api/built-for-tests</id>\n  <title>arXiv Query</title>\n"
    "  <updated>2026-12-05T00:00:00Z</updated>\n"
)


@dataclass(slots=True)
class Entry:
    arxiv_id: str
    version: int
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    published: str
    updated: str
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def feed(entries: Sequence[Entry]) -> bytes:
    """An arXiv API answer holding ``entries``, shaped like the recorded ones."""
    parts = [HEAD, f"  <opensearch:totalResults>{len(entries)}</opensearch:totalResults>\n"]
    for e in entries:
        parts.append("  <entry>\n")
        parts.append(f"    <id>http://arxiv.org/abs/{e.arxiv_id}v{e.version}</id>\n")
        parts.append(f"    <title>{escape(e.title)}</title>\n")
        parts.append(f"    <updated>{e.updated}</updated>\n")
        abs_url = f"https://arxiv.org/abs/{e.arxiv_id}v{e.version}"
        parts.append(f'    <link href="{abs_url}" rel="alternate" type="text/html"/>\n')
        parts.append(f"    <summary>{escape(e.abstract)}</summary>\n")
        for category in e.categories:
            parts.append(f'    <category term={quoteattr(category)} scheme="http://arxiv.org/schemas/atom"/>\n')
        parts.append(f"    <published>{e.published}</published>\n")
        if e.comment:
            parts.append(f"    <arxiv:comment>{escape(e.comment)}</arxiv:comment>\n")
        if e.journal_ref:
            parts.append(f"    <arxiv:journal_ref>{escape(e.journal_ref)}</arxiv:journal_ref>\n")
        if e.doi:
            parts.append(f"    <arxiv:doi>{escape(e.doi)}</arxiv:doi>\n")
        parts.append(f"    <arxiv:primary_category term={quoteattr(e.categories[0])}/>\n")
        for name in e.authors:
            parts.append(f"    <author>\n      <name>{escape(name)}</name>\n    </author>\n")
        parts.append("  </entry>\n")
    parts.append("</feed>\n")
    return "".join(parts).encode("utf-8")


def snapshot_records(shared_data: Path) -> list[dict[str, object]]:
    path = shared_data / "arxiv" / "kaggle" / "arxiv-metadata-oai-snapshot.sample.jsonl"
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def month_papers(shared_data: Path) -> list[dict[str, object]]:
    data = orjson.loads((shared_data / "hf-daily" / "hf-daily-2026-02.json").read_bytes())
    return list(data["papers"])


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def entry_for(
    arxiv_id: str, title: str, authors: list[str], abstract: str, listed: str, snapshot: dict[str, object]
) -> Entry:
    """An entry for ``arxiv_id`` from a snapshot record: ids, dates and listing text as described above."""
    versions = snapshot["versions"]
    assert isinstance(versions, list) and versions
    first = parsedate_to_datetime(str(versions[0]["created"]))
    day = date.fromisoformat(listed) - timedelta(days=1)
    published = datetime(day.year, day.month, day.day, first.hour, first.minute, first.second)
    # Later versions a few days apart, as many as the snapshot record had.
    updated = published + timedelta(days=3 * (len(versions) - 1))
    text = str(snapshot["abstract"])
    return Entry(
        arxiv_id=arxiv_id,
        version=len(versions),
        title=title,
        abstract=abstract or " ".join(text.split()),
        authors=authors,
        categories=str(snapshot["categories"]).split(),
        published=_stamp(published),
        updated=_stamp(updated),
        comment=str(snapshot["comments"]) if snapshot.get("comments") else None,
        journal_ref=str(snapshot["journal-ref"]) if snapshot.get("journal-ref") else None,
        doi=str(snapshot["doi"]).split()[0] if snapshot.get("doi") else None,
    )


def month_entries(shared_data: Path) -> dict[str, Entry]:
    """An entry for every paper of the month file, by arXiv id."""
    snapshots = snapshot_records(shared_data)
    entries: dict[str, Entry] = {}
    for index, paper in enumerate(month_papers(shared_data)):
        abstract = " ".join(str(paper.get("abstract") or "").split())
        summary = " ".join(str(paper.get("summary_en") or "").split())
        if summary and abstract.startswith(summary):
            abstract = abstract[len(summary) :].strip()  # hf_bot put its summary in front
        arxiv_id = str(paper["paper_id"])
        entries[arxiv_id] = entry_for(
            arxiv_id,
            str(paper["title"]),
            [str(a) for a in paper["authors"]],  # type: ignore[attr-defined]
            abstract,
            str(paper["date"]),
            snapshots[index % len(snapshots)],
        )
    return entries
