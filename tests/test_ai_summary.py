"""Hugging Face's AI summary and keywords, and publishedAt's time of day: parsed, stored apart from
the abstract, kept through arXiv's metadata and through re-ingesting (both backends).

The month file is the real ``hf-daily-2026-02.json``; the API object is the real first entry of
``daily_papers_2024-10-25.json`` with the ``ai_summary`` / ``ai_keywords`` fields that the live
API has added since that recording (its shape: a string and a list of strings).
"""

from __future__ import annotations

from pathlib import Path

import orjson

from paperscope.ingest import Ingestor
from paperscope.records import PaperRecord, Version
from paperscope.sources.hf_api import hf_item
from paperscope.sources.json_list import json_record
from paperscope.store import Store

MONTH = "hf-daily/hf-daily-2026-02.json"


def _month(shared_data: Path) -> dict[str, dict[str, object]]:
    return {str(p["paper_id"]): p for p in orjson.loads((shared_data / MONTH).read_bytes())["papers"]}


def test_month_file_summary_is_split_from_the_abstract(shared_data: Path) -> None:
    papers = _month(shared_data)
    prefixed = json_record(papers["2602.22897"], "m")  # summary, then the abstract
    assert isinstance(prefixed, PaperRecord)
    assert prefixed.ai_summary.startswith("OmniGAIA benchmark evaluates")
    assert prefixed.abstract.startswith("Human intelligence naturally intertwines")
    alone = json_record(papers["2602.23152"], "m")  # the "abstract" is the summary alone
    assert isinstance(alone, PaperRecord)
    assert alone.ai_summary.startswith("World Models require") and alone.abstract == ""
    summaries = [json_record(p, "m") for p in papers.values()]
    records = [r for r in summaries if isinstance(r, PaperRecord)]
    assert len(records) == 783
    assert sum(1 for r in records if r.ai_summary) == 780
    assert not any(r.ai_summary and r.ai_summary in r.abstract for r in records)


def test_hf_api_ai_fields_and_time_of_day(shared_data: Path) -> None:
    item = orjson.loads((shared_data / "hf-daily/daily_papers_2024-10-25.json").read_bytes())[0]
    item["paper"]["ai_summary"] = "A one-line summary."
    item["paper"]["ai_keywords"] = ["diffusion", " ", "video generation", 3]
    record = hf_item(item, "api")
    assert isinstance(record, PaperRecord)
    assert record.ai_summary == "A one-line summary." and record.ai_keywords == ["diffusion", "video generation"]
    assert record.published_at == item["paper"]["publishedAt"] and "T" in record.published_at
    assert record.published == item["paper"]["publishedAt"][:10]


def test_stored_apart_kept_under_arxiv_metadata_and_reingest_is_a_no_op(store: Store, shared_data: Path) -> None:
    item = orjson.loads((shared_data / "hf-daily/daily_papers_2024-10-25.json").read_bytes())[0]
    item["paper"]["ai_summary"] = "A one-line summary."
    item["paper"]["ai_keywords"] = ["diffusion"]
    record = hf_item(item, "api")
    assert isinstance(record, PaperRecord) and record.arxiv_id
    assert store.write_records([record]).added == 1
    paper = store.get_paper(record.arxiv_id)
    assert paper is not None
    assert (paper.ai_summary, paper.ai_keywords, paper.published_at) == (
        "A one-line summary.", ["diffusion"], record.published_at
    )
    again = hf_item(item, "api")
    assert isinstance(again, PaperRecord)
    assert store.write_records([again]).unchanged == 1
    arxiv = PaperRecord(source="arxiv-api", origin="a", title=record.title, arxiv_id=record.arxiv_id,
                        abstract="arXiv's abstract.", authors=["A. Author"], categories=["cs.CV"],
                        versions=[Version("v1", "2024-10-22T17:59:30Z")])
    assert store.write_records([arxiv]).updated == 1
    after = store.get_paper(record.arxiv_id)
    assert after is not None and after.abstract == "arXiv's abstract." and after.ai_summary == "A one-line summary."
    assert after.published_at == "2024-10-22T17:59:30Z" and after.ai_keywords == ["diffusion"]


def test_month_file_reingest_changes_nothing(store: Store, shared_data: Path) -> None:
    with Ingestor(store, report_rejects=False) as ingestor:
        first = ingestor.ingest_paths([shared_data / MONTH])
    with Ingestor(store, report_rejects=False) as ingestor:
        second = ingestor.ingest_paths([shared_data / MONTH])
    assert first.as_dict()["added"] == 783 and second.as_dict()["unchanged"] == 783
