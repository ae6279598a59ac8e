"""Completing papers from the arXiv API: ``paperscope enrich`` and the scheduler's ``enrich`` job.

Papers listed by Hugging Face, read from a saved page or given as a bare id carry a title and
little else (no categories, often no abstract, sometimes no authors or date).  This asks arXiv
for the rest:

* papers with an arXiv id: ``id_list`` queries of up to 100 ids (arXiv's own limit per page of
  answers), paced like every arXiv request (3 seconds apart by default);
* papers without one: a title query (``ti:"..."``) whose answer is used only when exactly one
  arXiv paper has the same normalised title, then merged by the store's usual local-id -> arXiv
  merge (the old ``ps-`` id keeps working).

arXiv's record wins over the listing's metadata (title, abstract, authors, categories, dates,
versions, DOI, comments), while what Hugging Face alone knows (upvotes, daily lists, submitter,
AI summary, code link) lives in other tables or fields and is left as it is.  A paper arXiv does
not know is noted with a back-off (1 day, doubling, capped) so each round asks only about
papers that are due.  Every batch is one transaction: a run killed half-way keeps what it
committed, and the next run asks only about what is left.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tqdm import tqdm

from ..errors import NetworkError
from ..records import PaperRecord, normalize_title, vet
from ..store import Candidate, Miss, Store
from .arxiv_api import HINT, WantedId, arxiv_api_url, fetch_id_batch
from .client import HttpClient, Pacing, full_url
from .report import reject_html

log = logging.getLogger(__name__)

# arXiv answers at most this many entries per page; one id_list request per 100 papers.
BATCH_SIZE = 100
BACKOFF = timedelta(days=1)
MAX_BACKOFF = timedelta(days=32)
# A title query's answer is ranked by arXiv's relevance; an exact title is among the first few.
TITLE_RESULTS = 10


@dataclass(slots=True)
class EnrichReport:
    """What one run did: papers completed, unknown to arXiv, failed (not asked: arXiv unreachable
    or answering badly), still due afterwards, and held back by their back-off."""

    enriched: int = 0
    not_found: int = 0
    failed: int = 0
    remaining: int = 0
    waiting: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "enriched": self.enriched,
            "not_found": self.not_found,
            "failed": self.failed,
            "remaining": self.remaining,
            "waiting": self.waiting,
            "requests": self.requests,
            "errors": list(self.errors),
        }


def title_query(title_norm: str) -> str:
    """The arXiv search for a title: its normalised words as one phrase in the title field."""
    return f'ti:"{title_norm}"'


def run_enrich(
    store: Store,
    *,
    limit: int | None = None,
    api_url: str | None = None,
    pacing: Pacing | None = None,
    batch_size: int = BATCH_SIZE,
    now: datetime | None = None,
    backoff: timedelta = BACKOFF,
    max_backoff: timedelta = MAX_BACKOFF,
    progress: bool = False,
) -> EnrichReport:
    """Complete up to ``limit`` papers that lack arXiv metadata; see the module docstring.

    Never raises for arXiv being unreachable: the papers it could not ask about are counted as
    ``failed``, the reason is in ``errors`` and the run stops there (the rest stays due).
    ``now`` is the clock the back-off is measured by (tests move it forward).
    """
    moment = now or datetime.now(UTC)
    report = EnrichReport()
    candidates = store.enrich_candidates(moment, limit)
    with_id = [c for c in candidates if c.arxiv_id]
    by_title = [c for c in candidates if not c.arxiv_id]
    base = arxiv_api_url(api_url, store.settings)
    pacing = pacing or Pacing.from_settings(store.settings)

    def save(records: list[PaperRecord], completed: list[int], misses: list[Miss], batch: list[Candidate]) -> None:
        # arXiv's answers get the same vetting as every ingested record; one out of bounds is a failure.
        by_id = {c.arxiv_id: c.id for c in batch if c.arxiv_id}
        kept: list[PaperRecord] = []
        for record in records:
            checked = vet(record)
            if isinstance(checked, PaperRecord):
                kept.append(checked)
                continue
            paper_id = by_id.get(record.arxiv_id or "", batch[0].id)  # a title lookup's batch is its paper
            if paper_id in completed:
                completed = [i for i in completed if i != paper_id]
                misses = [*misses, Miss(paper_id, "failed", checked.reason)]
        records = kept
        store.write_enrichment(
            records,
            completed,
            misses,
            {c.id: c.attempts for c in batch},
            now=moment,
            backoff=backoff,
            max_backoff=max_backoff,
        )
        report.enriched += len(completed)
        report.not_found += sum(1 for m in misses if m.status == "not_found")
        report.failed += sum(1 for m in misses if m.status == "failed")

    bar = tqdm(
        total=len(candidates), desc="enrich", unit="paper", disable=not progress, file=sys.stderr, dynamic_ncols=True
    )
    done = 0
    with HttpClient(pacing, hint=HINT) as client:
        try:
            for start in range(0, len(with_id), batch_size):
                batch = with_id[start : start + batch_size]
                save(*_by_ids(client, base, batch), batch)
                done += len(batch)
                bar.update(len(batch))
            for candidate in by_title:
                save(*_by_title(store, client, base, candidate), [candidate])
                done += 1
                bar.update(1)
        except NetworkError as error:
            # arXiv is unreachable or answers nonsense: asking about the others now would fail too.
            report.failed += len(candidates) - done
            report.errors.append(str(error))
            log.warning("enrich stopped: %s", error)
        finally:
            bar.close()
            report.requests = client.requests
    report.remaining = store.count_enrich_due(moment)
    report.waiting = store.count_enrich_waiting(moment)
    log.info(
        "enrich: %d enriched, %d not found, %d failed, %d remaining (%d requests)",
        report.enriched, report.not_found, report.failed, report.remaining, report.requests,
    )
    return report


def _by_ids(
    client: HttpClient, base: str, batch: list[Candidate]
) -> tuple[list[PaperRecord], list[int], list[Miss]]:
    """One ``id_list`` request for a batch: arXiv's records, the papers they complete, the misses."""
    wanted = [WantedId(text=c.key, arxiv_id=c.arxiv_id or "", query_id=c.arxiv_id or "") for c in batch]
    records, reasons, _rejects = fetch_id_batch(client, base, wanted)
    found = {r.arxiv_id for r in records}
    completed: list[int] = []
    misses: list[Miss] = []
    for candidate in batch:
        if candidate.arxiv_id in found:
            completed.append(candidate.id)
        else:
            reason = reasons.get(candidate.key) or f"arXiv has no paper {candidate.arxiv_id}"
            misses.append(Miss(candidate.id, "not_found", reason))
    return [r for r in records if r.arxiv_id in {c.arxiv_id for c in batch}], completed, misses


def _by_title(
    store: Store, client: HttpClient, base: str, candidate: Candidate
) -> tuple[list[PaperRecord], list[int], list[Miss]]:
    """A title query for a paper without an arXiv id; merged only on one exact normalised match."""
    from ..sources.atom import parse_atom  # local: keeps CLI start fast

    url = f"{base}/api/query"
    params = {"search_query": title_query(candidate.title_norm), "start": "0", "max_results": str(TITLE_RESULTS)}
    shown = full_url(url, params)
    response = client.get(url, params)
    reject_html(response, shown, "an Atom feed", HINT)
    page = parse_atom(response.content, shown)
    if page.error is not None:
        raise NetworkError(f"{shown} did not answer with an arXiv Atom feed: {page.error}. {HINT}")
    matches = {r.arxiv_id: r for r in page.records if r.arxiv_id and normalize_title(r.title) == candidate.title_norm}
    if not matches:
        return [], [], [Miss(candidate.id, "not_found", "no arXiv paper has exactly this title")]
    if len(matches) > 1:
        reason = f"{len(matches)} arXiv papers have exactly this title ({', '.join(sorted(matches))}): not merged"
        return [], [], [Miss(candidate.id, "not_found", reason)]
    (arxiv_id, record), = matches.items()
    other = store.resolve_key(arxiv_id)
    if other is not None and other != candidate.id:
        # The arXiv paper is stored already under another title spelling: merging two stored papers
        # is not what the title rule is for, so the listing stays as it is.
        reason = f"arXiv paper {arxiv_id} has this title but is stored separately"
        return [], [], [Miss(candidate.id, "not_found", reason)]
    return [record], [candidate.id], []
