"""Regression tests for the ingest findings of the hardening review (issue 15, items 1, 2, 5 and 9):
each failed before its fix.  They run on both backends (``--backend postgresql``: a NUL would
fail a whole PostgreSQL batch)."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from fastapi.testclient import TestClient

from paperscope.ingest import Ingestor
from paperscope.records import PaperRecord
from paperscope.store import Store
from paperscope.web.app import create_app

DAY = "2026-02-27"


def _line(arxiv_id: str, **fields: object) -> dict[str, object]:
    return {"arxiv_id": arxiv_id, "title": f"Paper {arxiv_id}", "abstract": "An abstract.", "authors": ["A. Author"],
            "daily_date": DAY, "upvotes": 3, "categories": ["cs.CL"], **fields}


def _ingest(store: Store, path: Path, lines: list[dict[str, object]]) -> dict[str, object]:
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    with Ingestor(store, report_rejects=False) as ingestor:
        return ingestor.ingest_paths([path]).as_dict()


def _rejects(store: Store) -> list[dict[str, str]]:
    path = store.settings.rejects_path
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# -- 1. links are http(s) only: refused at ingest, never emitted -----------------------------------
def test_script_and_data_links_are_rejected_at_ingest(store: Store, tmp_path: Path) -> None:
    summary = _ingest(store, tmp_path / "links.jsonl", [
        _line("2602.00001", github_url="javascript:alert(document.cookie)"),
        _line("2602.00002", project_page="data:text/html,<script>alert(1)</script>"),
        _line("2602.00003", github_url="https://github.com/example/repo"),
    ])
    assert summary["rejected"] == 2 and summary["added"] == 1
    reasons = [r["reason"] for r in _rejects(store)]
    assert all("http(s)" in reason for reason in reasons), reasons
    assert store.get_paper("2602.00003").links == {"code": "https://github.com/example/repo"}  # type: ignore[union-attr]


def test_a_stored_script_link_is_never_emitted(store: Store) -> None:
    # As an older version's ingest could have stored it: straight into the store.
    store.write_records([PaperRecord(source="json-list", origin="old", title="Old evil paper", arxiv_id="2602.00009",
                                     abstract="x", daily_date=DAY, published=DAY,
                                     links={"code": "javascript:alert(1)", "project": "JaVaScRiPt:alert(2)"})])
    with TestClient(create_app(store, secret_key="k" * 32)) as client:
        for path in ("/papers/2602.00009", "/api/papers/2602.00009", f"/api/daily_papers?date={DAY}",
                     "/feeds/daily.atom", "/feeds/daily.rss", f"/papers?date={DAY}"):
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert "javascript:" not in answer.text.lower(), path
        assert client.get("/api/papers/2602.00009").json().get("githubRepo") is None


# -- 2. control characters and NUL cleaned at ingest ----------------------------------------------
def test_control_characters_are_cleaned_and_feeds_stay_up(store: Store, tmp_path: Path) -> None:
    summary = _ingest(store, tmp_path / "controls.jsonl", [
        _line("2602.00011", categories=["cs.\x01CL"], title="Nul\x00 in the \x1b[31mtitle\x7f"),
        _line("2602.00012", abstract="tab\tand\nnewline stay; \x0bvertical tab goes", authors=["Bell\x07 Ringer"]),
    ])
    assert summary["added"] == 2 and summary["rejected"] == 0
    first, second = store.get_paper("2602.00011"), store.get_paper("2602.00012")
    assert first is not None and second is not None
    assert first.title == "Nul in the [31mtitle" and first.categories == ["cs.CL"]
    assert second.authors == ["Bell Ringer"] and "\x0b" not in second.abstract
    with TestClient(create_app(store, secret_key="k" * 32)) as client:
        for feed in ("daily.atom", "daily.rss", "trending.atom", "trending.rss"):
            assert client.get(f"/feeds/{feed}").status_code == 200, feed


# -- 5. every field bounded; the last occurrence of an id in a file wins as a whole ---------------
def test_fields_out_of_bounds_are_rejected_with_the_reason(store: Store, tmp_path: Path) -> None:
    summary = _ingest(store, tmp_path / "bounds.jsonl", [
        _line("2602.00021", upvotes=-5),
        _line("2602.00022", title="T" * 100_000),
        _line("2602.00023", abstract="A" * 2_000_000),
        _line("2602.00024", published="2026-02-27T25:61:00Z"),
        _line("2602.00025"),
    ])
    assert summary["rejected"] == 4 and summary["added"] == 1
    reasons = {r["origin"].rsplit("#", 1)[-1]: r["reason"] for r in _rejects(store)}
    assert "upvotes -5 is out of range" in reasons["2602.00021"]
    assert "title is 100,000 characters" in reasons["2602.00022"]
    assert "abstract is 2,000,000 characters" in reasons["2602.00023"]
    assert "25:61" in reasons["2602.00024"] and "does not exist" in reasons["2602.00024"]


def test_the_last_occurrence_of_an_id_in_one_file_wins_whole(store: Store, tmp_path: Path) -> None:
    first = _line("2602.00031", title="First title", doi="10.1000/first", upvotes=9, github_url="https://a.example/x")
    last = _line("2602.00031", title="Last title", abstract="Last abstract.", upvotes=2)
    summary = _ingest(store, tmp_path / "dupes.jsonl", [first, _line("2602.00032"), last])
    paper = store.get_paper("2602.00031")
    assert paper is not None
    assert (paper.title, paper.abstract, paper.doi, paper.hf_upvotes) == ("Last title", "Last abstract.", None, 2)
    assert summary["superseded"] == 1 and summary["added"] == 2
    # Across batches too (batch size 1: every line commits before the next is read).
    path = tmp_path / "dupes2.jsonl"
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in [
        _line("2602.00041", title="One", doi="10.1000/one", upvotes=7), _line("2602.00042"),
        _line("2602.00041", title="Two", upvotes=1)]))
    with Ingestor(store, batch_size=1, report_rejects=False) as ingestor:
        again = ingestor.ingest_paths([path])
    paper = store.get_paper("2602.00041")
    assert paper is not None and (paper.title, paper.doi, paper.hf_upvotes) == ("Two", None, 1)
    assert again.superseded == 1
    # Re-ingesting the same file changes nothing.
    with Ingestor(store, report_rejects=False) as ingestor:
        rerun = ingestor.ingest_paths([tmp_path / "dupes.jsonl"])
    assert rerun.added == 0 and rerun.updated == 0


def test_a_duplicate_never_overrides_a_more_trusted_source(store: Store, tmp_path: Path) -> None:
    store.write_records([PaperRecord(source="arxiv-api", origin="api", title="The arXiv title", arxiv_id="2602.00051",
                                     abstract="Authoritative abstract.", doi="10.1000/arxiv")])
    _ingest(store, tmp_path / "dupes3.jsonl", [_line("2602.00051", title="Copy one"), _line("2602.00051",
                                                                                         title="Copy two")])
    paper = store.get_paper("2602.00051")
    assert paper is not None and (paper.title, paper.doi) == ("The arXiv title", "10.1000/arxiv")


def test_every_format_passes_the_same_vetting() -> None:
    from paperscope.records import Rejected, Version, vet

    bad_time = vet(PaperRecord(source="arxiv-api", origin="x", title="T", arxiv_id="2602.00061",
                               versions=[Version("v1", "2024-01-01T25:61:00Z")]))
    assert isinstance(bad_time, Rejected) and "version v1 date" in bad_time.reason
    many = vet(PaperRecord(source="hf-api", origin="x", title="T", authors=["A"] * 5001))
    assert isinstance(many, Rejected) and "5,001 authors" in many.reason
    clean = vet(PaperRecord(source="hf-page", origin="x", title="T\x00", submitted_by="eve\x1b"))
    assert isinstance(clean, PaperRecord) and (clean.title, clean.submitted_by) == ("T", "eve")


# -- 9. a UTF-8 byte order mark at the start of a JSON file is accepted ---------------------------
def test_a_json_file_with_a_bom_is_read(store: Store, tmp_path: Path, shared_data: Path) -> None:
    lines = tmp_path / "bom.jsonl"
    lines.write_bytes(b"\xef\xbb\xbf" + orjson.dumps(_line("2602.00071")) + b"\n" + orjson.dumps(_line("2602.00072")))
    document = tmp_path / "bom.json"
    document.write_bytes(b"\xef\xbb\xbf" + (shared_data / "hf-daily" / "daily_papers_2024-10-25.json").read_bytes())
    recorded = tmp_path / "bom-recorded.json"
    body = (shared_data / "arxiv" / "atom").glob("*.json")
    recorded.write_bytes(b"\xef\xbb\xbf" + next(iter(sorted(body))).read_bytes())
    with Ingestor(store, report_rejects=False) as ingestor:
        summary = ingestor.ingest_paths([lines, document, recorded])
    assert summary.errors == [] and summary.added >= 2 + 29, summary
    assert store.get_paper("2602.00071") is not None
