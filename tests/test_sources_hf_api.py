"""Hugging Face Papers API JSON: the real /api/daily_papers response and single paper objects."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from paperscope.records import PaperRecord, Rejected
from paperscope.sources import detect_format, parse_file, parse_hf_api

DAILY = "hf-daily/daily_papers_2024-10-25.json"


def daily(shared_data: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = orjson.loads((shared_data / DAILY).read_bytes())
    return data


def test_daily_list(shared_data: Path) -> None:
    path = shared_data / DAILY
    results = list(parse_file(path))
    assert len(results) == 29
    papers = [r for r in results if isinstance(r, PaperRecord)]
    assert len(papers) == 29
    first = papers[0]
    assert first.source == "hf-api"
    assert first.origin == f"{path}[0]#2410.17243"
    assert first.arxiv_id == "2410.17243"
    assert first.title == "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss"
    assert first.abstract.startswith("Contrastive loss is a powerful approach for representation learning, where large")
    assert first.authors[:2] == ["Zesen Cheng", "Hang Zhang"]
    assert first.published == "2024-10-22"  # paper.publishedAt: the arXiv date
    assert first.daily_date == "2024-10-25"  # outer publishedAt: the day it entered the list
    assert first.upvotes == 64
    assert first.submitted_by == "Zesen Cheng"
    assert first.num_comments == 3
    assert first.links == {"hf_discussion": "671b005126d87414f5a615f4"}  # discussionId, for the API
    assert first.submitter == {
        "user": "ClownRat", "name": "ClownRat", "fullname": "Zesen Cheng",
        "avatarUrl": "https://huggingface.co/avatars/1b09e2742aecce1bbdc57f0c4504cf38.svg", "type": "user",
    }
    assert {p.daily_date for p in papers} == {"2024-10-25"}
    assert [p.upvotes for p in papers][:5] == [64, 41, 37, 35, 28]


def test_hidden_author_claims_keep_the_name(shared_data: Path) -> None:
    # "hidden" hides the claimed HF profile, not the author: the name stays in the byline.
    papers = [r for r in parse_file(shared_data / DAILY) if isinstance(r, PaperRecord)]
    by_id = {p.arxiv_id: p for p in papers}
    assert by_id["2410.17897"].authors == ["Zhanchao Zhou", "Tianyi Wu", "Zhiyun Jiang", "Zhenzhong Lan"]


def test_single_paper_object_and_list_of_papers(shared_data: Path, tmp_path: Path) -> None:
    paper = copy.deepcopy(daily(shared_data)[1]["paper"])
    paper["githubRepo"] = "https://github.com/example/code"
    paper["projectPage"] = "https://example.test/project"
    (one,) = list(parse_hf_api(paper, "https://huggingface.co/api/papers/2410.16251"))
    assert isinstance(one, PaperRecord)
    assert one.arxiv_id == "2410.16251" and one.origin == "https://huggingface.co/api/papers/2410.16251#2410.16251"
    assert one.links == {
        "code": "https://github.com/example/code",
        "project": "https://example.test/project",
        "hf_discussion": "67171d2d69532dd147c9dba1",
    }
    assert one.daily_date is None and one.submitted_by is None  # not in the daily list form
    assert one.upvotes == 41

    path = tmp_path / "papers.json"
    path.write_bytes(orjson.dumps([paper, daily(shared_data)[2]["paper"]]))
    assert detect_format(path) == "hf-api"
    assert [r.arxiv_id for r in parse_file(path) if isinstance(r, PaperRecord)] == ["2410.16251", "2410.18533"]


def test_submitter_falls_back_to_user_name(shared_data: Path) -> None:
    entry = copy.deepcopy(daily(shared_data)[0])
    del entry["submittedBy"]["fullname"]
    (record,) = list(parse_hf_api(entry, "u"))
    assert isinstance(record, PaperRecord) and record.submitted_by == "ClownRat"


def test_bad_entries_are_rejected_and_the_rest_kept(shared_data: Path, tmp_path: Path) -> None:
    entries = daily(shared_data)[:4]
    entries[0]["paper"]["publishedAt"] = "2024-02-30T10:00:00.000Z"
    entries[1]["paper"]["title"] = ""
    entries[1]["title"] = ""
    entries[2]["paper"]["id"] = "not-an-id"
    path = tmp_path / "daily.json"
    path.write_bytes(orjson.dumps(entries))
    results = list(parse_file(path))
    assert [type(r).__name__ for r in results] == ["Rejected", "Rejected", "Rejected", "PaperRecord"]
    reasons = [r.reason for r in results if isinstance(r, Rejected)]
    assert "does not exist" in reasons[0] and "2410.17243" in reasons[0]
    assert reasons[1] == "2410.16251: paper has no title"
    assert reasons[2] == "paper id 'not-an-id' is not an arXiv id"
    assert results[0].origin == f"{path}[0]#2410.17243"


def test_time_a_paper_entered_the_list_is_kept(shared_data: Path, home: Path) -> None:
    from paperscope.store import Store

    entry = daily(shared_data)[0]  # 2410.17243, outer publishedAt 2024-10-25T00:57:09.392Z
    (older,) = parse_hf_api([entry], "old")
    assert isinstance(older, PaperRecord)
    assert (older.daily_date, older.daily_at) == ("2024-10-25", "2024-10-25T00:57:09.392Z")
    # Newer answers (and /api/papers/{id}) say it inside the paper as submittedOnDailyAt.
    newer = copy.deepcopy(entry)
    newer["paper"]["submittedOnDailyAt"] = "2024-10-25T01:02:03.000Z"
    (record,) = parse_hf_api([newer], "new")
    assert isinstance(record, PaperRecord) and record.daily_at == "2024-10-25T01:02:03.000Z"
    with Store.open(str(home)) as store:
        store.write_records([older])
        assert store.get_paper("2410.17243").listed_at == "2024-10-25T00:57:09.392Z"  # type: ignore[union-attr]
        # A later record of the same listing that only knows the day keeps the time.
        day_only = copy.deepcopy(older)
        day_only.daily_at, day_only.num_comments = None, 7
        store.write_records([day_only])
        paper = store.get_paper("2410.17243")
        assert paper is not None and (paper.listed_at, paper.num_comments) == ("2024-10-25T00:57:09.392Z", 7)
        # A time on another day than the list's is not this listing's: the day alone is kept.
        other = copy.deepcopy(older)
        other.daily_date, other.daily_at = "2024-10-28", "2024-10-30T10:00:00Z"
        store.write_records([other])
        with store.connect() as conn:
            rows = conn.execute(sa.text("SELECT list_date, submitted_at FROM daily_entries ORDER BY list_date"))
            assert [tuple(r) for r in rows] == [("2024-10-25", "2024-10-25T00:57:09.392Z"), ("2024-10-28", None)]
