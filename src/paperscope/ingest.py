"""The ingest stage: parse results in, batched upserts and a rejects file out.

Every importer and harvester funnels through :class:`Ingestor`, so counting, batching,
reject reporting and progress are written once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from tqdm import tqdm

from .errors import SourceError
from .records import PaperRecord, ParseResult, Rejected, vet
from .store import Store, UpsertCounts, utc_now


@dataclass(slots=True)
class IngestSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    # Records that an occurrence of the same paper later in the same file replaced whole.
    superseded: int = 0
    files: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def add_counts(self, counts: UpsertCounts) -> None:
        self.added += counts.added
        self.updated += counts.updated
        self.unchanged += counts.unchanged

    @property
    def records(self) -> int:
        return self.added + self.updated + self.unchanged

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RejectLog:
    """Appends rejected records to ``rejects.jsonl`` in the home and reports each on stderr."""

    def __init__(self, path: Path, echo: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.echo = echo
        self._handle: IO[bytes] | None = None

    def write(self, rejected: Rejected) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "ab")  # noqa: SIM115 - kept open across many writes
        entry = {"time": utc_now(), **asdict(rejected)}
        self._handle.write(orjson.dumps(entry) + b"\n")
        self._handle.flush()
        if self.echo is not None:
            self.echo(f"rejected {rejected.origin}: {rejected.reason}")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


class Ingestor:
    """Writes a stream of parse results to the store in batches (one transaction per batch)."""

    def __init__(
        self,
        store: Store,
        *,
        batch_size: int = 2000,
        progress: bool = False,
        report_rejects: bool = True,
    ) -> None:
        self.store = store
        self.batch_size = batch_size
        self.progress = progress
        self.rejects = RejectLog(store.settings.rejects_path, _stderr if report_rejects else None)
        self.summary = IngestSummary()

    def close(self) -> None:
        self.rejects.close()

    def __enter__(self) -> Ingestor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(
        self, results: Iterable[ParseResult], job: tuple[str, dict[str, Any] | None] | None = None
    ) -> None:
        """Write ``results`` (one file, or one harvested page); with ``job``, its state is
        committed together with the last batch.

        Each record is vetted first (:func:`paperscope.records.vet`: control characters out,
        bounds in).  When one paper occurs several times among ``results``, the last occurrence
        wins as a whole: inside a batch the earlier ones are dropped, and one that follows a
        committed batch is marked to replace what was written (``PaperRecord.supersedes``).
        """
        batch: dict[str, PaperRecord] = {}
        # hash() of the keys written by earlier batches of these results: 8 bytes of int each,
        # not the strings, so a 2.7-million-record snapshot stays in bounded memory.
        written: set[int] = set()
        for result in results:
            if isinstance(result, PaperRecord):
                result = vet(result)
            if isinstance(result, Rejected):
                self.summary.rejected += 1
                self.rejects.write(result)
                continue
            key = _paper_key(result)
            if key in batch:
                self.summary.superseded += 1
                # The dropped one was never written: this one replaces only what it replaced.
                result.supersedes = batch[key].supersedes
                del batch[key]  # re-inserted below: the batch keeps file order of last occurrences
            elif hash(key) in written:
                self.summary.superseded += 1
                result.supersedes = True
            batch[key] = result
            if len(batch) >= self.batch_size:
                self._flush(batch, written)
        if batch or job is not None:
            self._flush(batch, written, job)

    def _flush(
        self, batch: dict[str, PaperRecord], written: set[int], job: tuple[str, dict[str, Any] | None] | None = None
    ) -> None:
        self.summary.add_counts(self.store.write_records(list(batch.values()), job))
        written.update(hash(key) for key in batch)
        batch.clear()

    def ingest_paths(self, paths: Iterable[Path]) -> IngestSummary:
        """Ingest files and folders (folders recursively), each by its detected format."""
        from .sources import UnknownFormat, detect_format, expand_paths, parse_file

        try:
            files = list(expand_paths(paths))
        except SourceError as error:
            self.summary.errors.append(str(error))
            _stderr(f"error: {error}")
            return self.summary
        total = sum(f.stat().st_size for f, _ in files)
        bar = tqdm(
            total=total, unit="B", unit_scale=True, desc="ingest", disable=not self.progress, file=sys.stderr
        )
        try:
            for path, explicit in files:
                try:
                    detect_format(path)
                    self.summary.files += 1
                    # Parsing stays in this thread: a parse thread was measured slower (10.4 s vs
                    # 9.1 s per 100k records), the two take turns on the GIL rather than overlap.
                    self.write(_track(parse_file(path, on_bytes=bar.update), bar))
                except UnknownFormat as error:
                    # Inside a folder, files that are not paper metadata (READMEs, qrels) are
                    # passed over and listed; a file named on the command line is an error.
                    bar.update(path.stat().st_size)
                    if explicit:
                        self.summary.errors.append(str(error))
                        _stderr(f"error: {error}")
                    else:
                        self.summary.skipped.append(str(path))
                except SourceError as error:
                    # One unreadable file must not stop the others; the summary carries it.
                    self.summary.errors.append(str(error))
                    _stderr(f"error: {error}")
        finally:
            bar.close()
        return self.summary


def _paper_key(record: PaperRecord) -> str:
    """What makes two records of one file the same record: the paper (arXiv id, else local id,
    else title) and the daily-list day, since one list file names a paper again on each day it
    was listed, and those are distinct facts, not duplicates."""
    day = record.daily_date or ""
    if record.arxiv_id:
        return f"a:{record.arxiv_id}|{day}"
    if record.local_id:
        return f"l:{record.local_id}|{day}"
    return "t:" + " ".join(record.title.lower().split()) + "|" + day


def _track(results: Iterable[ParseResult], bar: tqdm) -> Iterator[ParseResult]:
    # The byte counter moves with the parser; the record rate is shown on the bar's postfix.
    for count, result in enumerate(results, start=1):
        if count % 5000 == 0:
            bar.set_postfix(records=count, refresh=False)
        yield result
