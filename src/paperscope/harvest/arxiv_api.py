"""Adding papers by id through the arXiv API (``{base}/api/query?id_list=...``), in batches.

This is both ``paperscope add`` and the web app's "submit a paper": ids come in every
spelling people paste (``2104.12255``, ``2104.12255v1``, ``hep-th/9901001``, arXiv and Hugging
Face URLs).  Input that is no arXiv id is rejected before any request; an id arXiv does not
know comes back either as no entry at all or as an ``Error`` entry, and is reported by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from ..arxiv_ids import parse_arxiv_id
from ..config import DEFAULT_ARXIV_API_URL, Settings, env_name, environment_settings
from ..errors import NetworkError, QueryError
from ..ingest import Ingestor, IngestSummary
from ..records import PaperRecord, ParseResult, Rejected
from ..store import Store
from .client import HttpClient, Pacing, full_url
from .report import reject_html

ARXIV_API_URL_ENV = env_name("arxiv_api_url")
HINT = f"Check --endpoint / ${ARXIV_API_URL_ENV} (the arXiv API base URL, such as {DEFAULT_ARXIV_API_URL})."
# arXiv's API takes long id lists, but a smaller batch keeps one bad id from costing many.
BATCH_SIZE = 50


def arxiv_api_url(api_url: str | None = None, settings: Settings | None = None) -> str:
    return (api_url or (settings or environment_settings()).arxiv_api_url).rstrip("/")


@dataclass(slots=True)
class AddResult:
    """Per-input outcome of an add: paper keys by what happened, and rejected inputs with reasons."""

    summary: IngestSummary
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    requests: int = 0

    @property
    def keys(self) -> list[str]:
        return [*self.added, *self.updated, *self.unchanged]

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "rejected": len(self.rejected),
            "pages": self.requests,
            "requests": self.requests,
            "papers": {"added": self.added, "updated": self.updated, "unchanged": self.unchanged},
            "rejects": [{"input": text, "reason": reason} for text, reason in self.rejected],
        }


@dataclass(slots=True)
class WantedId:
    text: str  # as the user gave it
    arxiv_id: str  # canonical, no version
    query_id: str  # what we ask arXiv for (keeps a version the user named)


def fetch_id_batch(
    client: HttpClient, base: str, batch: list[WantedId]
) -> tuple[list[PaperRecord], dict[str, str], list[Rejected]]:
    """Ask for one batch; return its records, the reason for each id it did not return, and rejects."""
    from ..sources.atom import parse_atom  # local: keeps CLI start fast

    url = f"{base}/api/query"
    params = {"id_list": ",".join(w.query_id for w in batch), "max_results": str(len(batch))}
    shown = full_url(url, params)
    # arXiv answers 400 with an Atom feed holding one "Error" entry for a malformed id.
    response = client.get(url, params, accept=(200, 400))
    reject_html(response, shown, "an Atom feed", HINT)
    page = parse_atom(response.content, shown)
    if page.error is not None:
        raise NetworkError(f"{shown} did not answer with an arXiv Atom feed: {page.error}. {HINT}")
    records = page.records
    errors = [r for r in page.results if isinstance(r, Rejected)]
    found = {r.arxiv_id for r in records}
    missing = [w for w in batch if w.arxiv_id not in found]
    if errors and len(batch) > 1 and missing:
        # One bad id spoils a whole batch's answer: ask for the others one by one.
        records_all = list(records)
        reasons_all: dict[str, str] = {}
        rejects_all: list[Rejected] = []
        for wanted in missing:
            more, more_reasons, more_rejects = fetch_id_batch(client, base, [wanted])
            records_all += more
            reasons_all.update(more_reasons)
            rejects_all += more_rejects
        return records_all, reasons_all, rejects_all
    reasons: dict[str, str] = {}
    rejects = list(errors)
    for wanted in missing:
        if errors:
            reasons[wanted.text] = "; ".join(e.reason for e in errors)
        else:
            reason = f"arXiv has no paper {wanted.query_id}"
            reasons[wanted.text] = reason
            rejects.append(Rejected(source="arxiv-api", origin=shown, reason=reason, excerpt=wanted.text))
    return records, reasons, rejects


def add_papers(
    store: Store,
    ids: Sequence[str],
    *,
    api_url: str | None = None,
    submitted_by: str | None = None,
    list_date: str | None = None,
    pacing: Pacing | None = None,
    batch_size: int = BATCH_SIZE,
    ingestor: Ingestor | None = None,
    submitted_at: str | None = None,
) -> AddResult:
    """Fetch ``ids`` from the arXiv API and store them.

    With ``submitted_by`` or ``list_date`` each paper also gets an entry in that day's list
    (default: today, UTC), recorded as a "submit"; ``submitted_at`` (ISO time) is when it was
    submitted, when that was earlier than now (a queued submission).  Raises NetworkError when arXiv cannot be
    reached; unknown ids are not errors but ``AddResult.rejected`` entries.
    """
    if list_date is not None:
        try:
            list_date = date.fromisoformat(list_date).isoformat()
        except ValueError as error:
            raise QueryError(f"list date {list_date!r} is not a date: use YYYY-MM-DD") from error
    own_ingestor = ingestor is None
    writer = ingestor if ingestor is not None else Ingestor(store, report_rejects=False)
    result = AddResult(summary=writer.summary)
    wanted: list[WantedId] = []
    seen: set[str] = set()
    local_rejects: list[ParseResult] = []
    for text in ids:
        parsed = parse_arxiv_id(text)
        if parsed is None:
            reason = "not an arXiv id or arXiv / Hugging Face paper URL"
            result.rejected.append((text, reason))
            local_rejects.append(
                Rejected(source="arxiv-api", origin="input", reason=f"{reason}: {text!r}", excerpt=text)
            )
            continue
        canonical, version = parsed
        if canonical in seen:
            continue
        seen.add(canonical)
        wanted.append(WantedId(text=text, arxiv_id=canonical, query_id=canonical + (version or "")))
    daily = submitted_by is not None or list_date is not None
    day = list_date or datetime.now(UTC).date().isoformat()
    base = arxiv_api_url(api_url)
    try:
        writer.write(local_rejects)
        with HttpClient(pacing, hint=HINT) as client:
            for start in range(0, len(wanted), batch_size):
                batch = wanted[start : start + batch_size]
                records, reasons, rejects = fetch_id_batch(client, base, batch)
                if daily:
                    for record in records:
                        record.source = "submit"
                        record.daily_date = day
                        record.daily_at = submitted_at or _now_iso()
                        record.submitted_by = submitted_by
                        if submitted_by:
                            # A local account: its username is both the handle and the name shown.
                            record.submitter = {"user": submitted_by, "name": submitted_by,
                                                "fullname": submitted_by, "type": "user"}
                existing = {w.arxiv_id: store.resolve_key(w.arxiv_id) for w in batch}
                seq = store.last_change_seq()
                writer.write([*rejects, *records])
                changed = {c.paper_id for c in store.changes_since(seq)}
                result.rejected += list(reasons.items())
                _classify(store, batch, reasons, existing, changed, result)
            result.requests = client.requests
    finally:
        if own_ingestor:
            writer.close()
    return result


def _classify(
    store: Store,
    batch: list[WantedId],
    reasons: dict[str, str],
    existing: dict[str, int | None],
    changed: set[int],
    result: AddResult,
) -> None:
    for wanted in batch:
        if wanted.text in reasons:
            continue
        paper = store.get_paper(wanted.arxiv_id)
        if paper is None:
            # Returned by arXiv yet not found under its id: say so rather than lose it silently.
            reason = f"arXiv answered for {wanted.query_id} but it was not stored"
            result.rejected.append((wanted.text, reason))
            continue
        if existing[wanted.arxiv_id] is None:
            result.added.append(paper.key)
        elif paper.id in changed:
            result.updated.append(paper.key)
        else:
            result.unchanged.append(paper.key)


def _now_iso() -> str:
    """This moment as the lists' times are written (``2026-12-05T17:30:00Z``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
