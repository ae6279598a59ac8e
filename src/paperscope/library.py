"""Importing a reference library into a collection: ``paperscope import-library`` and the upload
form on a collection page share this.

Each reference is identified by arXiv id, else DOI, else exact title (folded as records are
merged).  Papers this site does not have yet are fetched from the arXiv API when a ``fetch``
function is given (the CLI passes ``add_papers``); the web form, whose request must not wait on
the network, queues them instead for the ``fetch-queue`` job, which adds each to the collection
once fetched.  Everything that could not be identified is reported with its line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .sources.library import LibraryItem, read_library
from .store import Store

# ``fetch(arxiv_ids)`` -> the keys it stored and (id, reason) for those it could not.
Fetch = Callable[[Sequence[str]], tuple[list[str], list[tuple[str, str]]]]
# ``queue(arxiv_id)``: have it fetched later and added to the collection then (the web form).
Queue = Callable[[str], object]


@dataclass(slots=True)
class ImportLine:
    line: int
    text: str
    key: str | None = None  # the paper here, when identified
    outcome: str = ""  # added | already | fetched | queued | missing | unidentified | unreadable
    reason: str = ""


@dataclass(slots=True)
class ImportReport:
    format: str
    collection: str
    lines: list[ImportLine] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for line in self.lines if line.outcome == outcome)

    @property
    def failed(self) -> list[ImportLine]:
        return [line for line in self.lines if line.outcome in ("missing", "unidentified", "unreadable")]

    def as_dict(self) -> dict[str, Any]:
        outcomes = ("added", "already", "fetched", "queued", "missing", "unidentified", "unreadable")
        return {
            "format": self.format,
            "collection": self.collection,
            **{outcome: self.count(outcome) for outcome in outcomes},
            "lines": [
                {"line": x.line, "text": x.text, "paper": x.key, "outcome": x.outcome, "reason": x.reason}
                for x in self.lines
            ],
        }


def _identify(store: Store, item: LibraryItem) -> int | None:
    if item.arxiv_id:
        found = store.resolve_key(item.arxiv_id)
        if found is not None:
            return found
    return store.find_paper(doi=item.doi, title=item.title)


def import_library(
    store: Store,
    text: str,
    *,
    user_id: int,
    collection_id: int,
    collection_name: str,
    fetch: Fetch | None = None,
    queue: Queue | None = None,
) -> ImportReport:
    """Add what ``text`` (BibTeX, RIS or a list) references to the collection; report every line.
    Papers this site lacks are fetched now (``fetch``), or queued for the ``fetch-queue`` job
    (``queue``), which adds them to the collection once it has them; else reported missing."""
    kind, items, problems = read_library(text)
    report = ImportReport(format=kind, collection=collection_name)
    found: dict[int, int | None] = {i: _identify(store, item) for i, item in enumerate(items)}
    wanted = sorted({item.arxiv_id for i, item in enumerate(items) if found[i] is None and item.arxiv_id})
    fetch_errors: dict[str, str] = {}
    if wanted and fetch is not None:
        _keys, rejected = fetch(wanted)
        fetch_errors = dict(rejected)
        for i, item in enumerate(items):
            if found[i] is None and item.arxiv_id:
                found[i] = store.resolve_key(item.arxiv_id)
    if wanted and fetch is None and queue is not None:
        for arxiv_id in wanted:
            queue(arxiv_id)
    accounts = store.accounts
    keys = {p.id: p.key for p in store.get_papers([pid for pid in found.values() if pid is not None])}
    for i, item in enumerate(items):
        paper_id = found[i]
        line = ImportLine(item.line, item.text)
        if paper_id is not None:
            line.key = keys.get(paper_id)
            newly = accounts.add_to_collection(user_id, collection_id, paper_id)
            fetched = item.arxiv_id in wanted
            line.outcome = ("fetched" if fetched else "added") if newly else "already"
        elif item.arxiv_id and fetch is None and queue is not None:
            line.outcome = "queued"
            line.reason = f"arXiv {item.arxiv_id} is being fetched and will be added to the collection"
        elif item.arxiv_id:
            line.outcome = "missing"
            line.reason = (
                f"arXiv {item.arxiv_id}: {fetch_errors.get(item.arxiv_id, 'arXiv did not return it')}"
                if fetch is not None
                else f"arXiv {item.arxiv_id} is not on this site yet (paperscope add {item.arxiv_id}, "
                "or paperscope import-library, fetches it)"
            )
        else:
            line.outcome = "unidentified"
            what = " or ".join(w for w, v in (("DOI " + (item.doi or ""), item.doi), ("title", item.title)) if v)
            line.reason = f"no arXiv id, and no paper here with this {what}" if what else "no arXiv id, DOI or title"
        report.lines.append(line)
    for problem in problems:
        report.lines.append(ImportLine(problem.line, problem.text, outcome="unreadable", reason=problem.reason))
    report.lines.sort(key=lambda x: x.line)
    return report
