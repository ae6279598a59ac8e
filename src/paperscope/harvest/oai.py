"""Harvesting arXiv over OAI-PMH (``ListRecords`` with resumption tokens), resumable after a kill.

After every page the page's records and the *next* resumption token are committed in one
transaction (``Ingestor.write(..., job=...)``), so the saved position never runs ahead of,
nor falls behind, what is stored.  A rerun with the same parameters picks up at that token;
a finished harvest clears its position, so the next run starts over (and finds everything
unchanged).
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tqdm import tqdm

from ..config import DEFAULT_OAI_URL, Settings, env_name, environment_settings
from ..errors import NetworkError, QueryError
from ..ingest import Ingestor
from ..store import Store
from .client import HttpClient, full_url
from .report import HarvestReport, reject_html

OAI_URL_ENV = env_name("oai_url")
HINT = f"Check --endpoint / ${OAI_URL_ENV} (an OAI-PMH base URL such as {DEFAULT_OAI_URL})."
# How often an expired token may send us back to the start before we give up: a server that
# rejects every token it hands out would otherwise loop for ever.
MAX_RESTARTS = 2
# OAI-PMH errors that mean "your parameters", not "my server": the user must change the command.
PARAMETER_ERRORS = frozenset({"badArgument", "cannotDisseminateFormat", "noSetHierarchy", "badVerb"})


def oai_url(endpoint: str | None = None, settings: Settings | None = None) -> str:
    return endpoint or (settings or environment_settings()).oai_url


@dataclass(frozen=True, slots=True)
class OaiQuery:
    """The parameters that define one harvest; the same parameters resume the same job."""

    endpoint: str
    from_date: str
    until: str | None = None
    set_spec: str | None = None
    prefix: str = "arXiv"

    @property
    def job_name(self) -> str:
        # Readable for a person looking at job_state, plus a digest so that two endpoints
        # with long URLs never collide after any shortening.
        parts = f"{self.endpoint}|set={self.set_spec or ''}|from={self.from_date}|until={self.until or ''}"
        parts += f"|prefix={self.prefix}"
        digest = hashlib.sha1(parts.encode()).hexdigest()[:10]
        window = f"{self.from_date}..{self.until or ''}"
        return f"harvest-arxiv:{self.set_spec or 'all'}:{window}:{self.prefix}:{digest}"

    def first_params(self) -> dict[str, str]:
        params = {"verb": "ListRecords", "metadataPrefix": self.prefix, "from": self.from_date}
        if self.until:
            params["until"] = self.until
        if self.set_spec:
            params["set"] = self.set_spec
        return params


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def harvest_oai(
    query: OaiQuery,
    ingestor: Ingestor,
    client: HttpClient,
    *,
    progress: bool = False,
    echo: Callable[[str], None] = _stderr,
) -> HarvestReport:
    """Run (or resume) the harvest ``query`` to its end; NetworkError when the server fails us."""
    from ..sources.oai import parse_oai  # local: the parsers pull in lxml, slow at CLI start

    store = ingestor.store
    job = query.job_name
    report = HarvestReport(summary=ingestor.summary)
    saved = store.get_job_state(job)
    params: dict[str, str]
    if saved and saved.get("token"):
        params = {"verb": "ListRecords", "resumptionToken": str(saved["token"])}
        report.resumed = True
        note = f"resuming {job} after page {saved.get('pages', '?')} ({saved.get('records', '?')} records)"
        report.notes.append(note)
        echo(note)
    else:
        params = query.first_params()
    pages_done = int(saved.get("pages", 0)) if saved else 0
    records_done = int(saved.get("records", 0)) if saved else 0
    restarts = 0
    requests_before = client.requests
    bar = tqdm(
        desc="arxiv oai", unit="rec", initial=records_done, disable=not progress, file=sys.stderr,
        dynamic_ncols=True,
    )
    try:
        while True:
            shown = full_url(query.endpoint, params)
            response = client.get(query.endpoint, params)
            reject_html(response, shown, "OAI-PMH XML", HINT)
            page = parse_oai(response.content, shown)
            if page.error is not None:
                code, message = page.error
                if code == "badXML":
                    raise NetworkError(f"{shown} did not answer with OAI-PMH XML: {message}. {HINT}")
                if code == "noRecordsMatch":
                    # Nothing changed in the window: an empty harvest, and nothing to resume.
                    ingestor.write([], job=(job, None))
                    report.notes.append(f"no records match: {message}".strip())
                    break
                if code == "badResumptionToken" and "resumptionToken" in params and restarts < MAX_RESTARTS:
                    restarts += 1
                    report.restarted = True
                    note = (
                        f"the server no longer accepts the saved resumption token ({message}); "
                        f"restarting the harvest from {query.from_date}"
                    )
                    report.notes.append(note)
                    echo(note)
                    ingestor.write([], job=(job, None))
                    params = query.first_params()
                    pages_done = records_done = 0
                    bar.reset()
                    continue
                if code in PARAMETER_ERRORS:
                    raise QueryError(
                        f"{shown} answered with OAI-PMH error {code}: {message}. "
                        "Check --from, --until, --set and --metadata-prefix."
                    )
                raise NetworkError(f"{shown} answered with OAI-PMH error {code}: {message}. {HINT}")
            results = list(page.results)
            report.pages += 1
            pages_done += 1
            records_done += len(results)
            token = page.resumption_token or None
            state: dict[str, Any] | None = None
            if token:
                state = {
                    "token": token,
                    "pages": pages_done,
                    "records": records_done,
                    "complete_list_size": page.complete_list_size,
                    "query": {"from": query.from_date, "until": query.until, "set": query.set_spec},
                }
            # One transaction: this page's records and where to go next (or: done).  A page
            # larger than the ingestor's batch would otherwise be split over several.
            ingestor.batch_size = max(ingestor.batch_size, len(results) + 1)
            ingestor.write(results, job=(job, state))
            if page.complete_list_size and bar.total != page.complete_list_size:
                bar.total = page.complete_list_size
            bar.set_postfix(pages=pages_done, added=ingestor.summary.added, refresh=False)
            bar.update(len(results))
            if not token:
                break
            params = {"verb": "ListRecords", "resumptionToken": token}
    finally:
        bar.close()
        report.requests = client.requests - requests_before
    return report


# -- incremental harvesting ---------------------------------------------------------------------
# arXiv's archives of the physics group: their OAI sets sit under ``physics:`` (``physics:hep-th``,
# ``physics:astro-ph:GA``); every other archive is a group of its own (``cs``, ``math``, ``stat``,
# ``q-bio``, ``q-fin``, ``econ``, ``eess``).
PHYSICS_ARCHIVES = frozenset(
    {"astro-ph", "cond-mat", "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math-ph", "nlin", "nucl-ex",
     "nucl-th", "physics", "quant-ph"}
)  # fmt: skip


def set_spec_for(name: str) -> str:
    """The OAI-PMH set of a group, archive or category as a person writes it.

    The OAI endpoint (``oaipmh.arxiv.org/oai``, arXiv's OAI-PMH since 2025) names sets
    ``group[:archive[:CATEGORY]]``: ``cs``, ``stat:stat:ML``, ``physics:hep-th``,
    ``physics:astro-ph:GA``.  Evidence: the recorded responses in ``../shared/data/arxiv/oai-pmh``
    carry ``<setSpec>physics:hep-th</setSpec>`` (and ``physics:astro-ph``, ``physics:quant-ph``...)
    for physics archives; no ListSets answer is recorded there, and arXiv's help page
    (info.arxiv.org/help/oa) names only the group and archive sets, so the category level
    (``stat:stat:ML``, ``cs:cs:LG``) rests on what harvesters measured against the live ListSets
    (it lists every category down to the leaf, e.g. ``cs:cs:AI`` and ``stat:stat:ML``).  A spec
    that already has a ``:`` is taken as written."""
    if ":" in name:
        return name
    archive, dot, sub = name.partition(".")
    if archive in PHYSICS_ARCHIVES:
        return f"physics:{archive}:{sub}" if dot else ("physics" if archive == "physics" else f"physics:{archive}")
    return f"{archive}:{archive}:{sub}" if dot else archive


def cursor_name(endpoint: str, set_spec: str | None, prefix: str) -> str:
    """The job_state row where the incremental harvest of (endpoint, set) keeps its datestamp."""
    digest = hashlib.sha1(f"{endpoint}|set={set_spec or ''}|prefix={prefix}".encode()).hexdigest()[:10]
    return f"harvest-arxiv-cursor:{set_spec or 'all'}:{prefix}:{digest}"


def incremental_query(
    store: Store, endpoint: str, set_spec: str | None, *, today: date, window_days: int, prefix: str = "arXiv"
) -> OaiQuery:
    """The harvest that brings (endpoint, set) up to date: from the datestamp the last complete
    harvest stored, else ``window_days`` back from ``today``.  Until that harvest completes the
    datestamp does not move, so a run killed half-way is resumed by the next one (same query,
    same resumption token)."""
    saved = store.get_job_state(cursor_name(endpoint, set_spec, prefix))
    start = str(saved["datestamp"]) if saved and saved.get("datestamp") else None
    if start is None:
        start = (today - timedelta(days=window_days)).isoformat()
    return OaiQuery(endpoint=endpoint, from_date=start, set_spec=set_spec, prefix=prefix)


def harvest_incremental(
    query: OaiQuery,
    ingestor: Ingestor,
    client: HttpClient,
    *,
    today: date,
    progress: bool = False,
    echo: Callable[[str], None] = _stderr,
) -> HarvestReport:
    """:func:`harvest_oai` of an :func:`incremental_query`, then the new datestamp: ``today``
    (arXiv's granularity is the day; the next harvest asks again for today, whose records may
    not all be out yet -- an overlap that costs only "unchanged" records)."""
    report = harvest_oai(query, ingestor, client, progress=progress, echo=echo)
    state = {"datestamp": today.isoformat(), "from": query.from_date}
    ingestor.store.set_job_state(cursor_name(query.endpoint, query.set_spec, query.prefix), state)
    report.notes.append(f"harvested from {query.from_date}; the next harvest starts at {today.isoformat()}")
    return report
