"""``paperscope harvest hf``: the daily papers API, one request per list day, replayed on loopback."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result

from paperscope.cli import main
from paperscope.errors import QueryError
from paperscope.harvest import hf
from paperscope.store import Store
from replay_server import ReplayServer, Reply

DAY = "2024-10-25"
FAST_ENV = {
    "PAPERSCOPE_HTTP_DELAY": "0.01", "PAPERSCOPE_HTTP_BACKOFF": "0.01", "PAPERSCOPE_HTTP_RETRIES": "1",
}
JSON = {"Content-Type": "application/json"}


def recorded_day(shared_data: Path) -> tuple[bytes, list[dict[str, Any]]]:
    body = (shared_data / "hf-daily" / f"daily_papers_{DAY}.json").read_bytes()
    return body, orjson.loads(body)


def run_cli(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), "--quiet", *args], env=FAST_ENV)


def test_one_day_stores_papers_upvotes_and_daily_entries(
    shared_data: Path, home: Path, replay: ReplayServer
) -> None:
    body, items = recorded_day(shared_data)
    replay.route("/api/daily_papers", {"date": DAY}, Reply(200, body, JSON))
    result = run_cli(home, "harvest", "hf", "--date", DAY, "--endpoint", replay.url, "--json")
    assert result.exit_code == 0, result.output + result.stderr
    report = orjson.loads(result.stdout)
    assert (report["added"], report["rejected"], report["pages"], report["requests"]) == (29, 0, 1, 1)
    assert [r.query for r in replay.requests] == [{"date": DAY}]
    with Store.open(str(home)) as store:
        stats = store.stats()
        assert (stats["papers"], stats["daily_entries"], stats["list_days"]) == (29, 29, 1)
        for item in items:
            paper = store.get_paper(item["paper"]["id"])
            assert paper is not None
            assert paper.hf_upvotes == item["paper"]["upvotes"]
            assert paper.list_dates == [DAY]
            submitter = item.get("submittedBy") or {}
            assert paper.submitted_by in (submitter.get("fullname"), submitter.get("name"))
        top = store.get_paper("2410.17243")
        assert top is not None and top.hf_upvotes == 64


def test_rerun_changes_nothing(shared_data: Path, home: Path, replay: ReplayServer) -> None:
    body, _ = recorded_day(shared_data)
    replay.route("/api/daily_papers", {"date": DAY}, Reply(200, body, JSON))
    args = ("harvest", "hf", "--date", DAY, "--endpoint", replay.url, "--json")
    assert orjson.loads(run_cli(home, *args).stdout)["added"] == 29
    second = orjson.loads(run_cli(home, *args).stdout)
    assert (second["added"], second["updated"], second["unchanged"]) == (0, 0, 29)


def test_week_asks_day_by_day(shared_data: Path, home: Path, replay: ReplayServer) -> None:
    body, _ = recorded_day(shared_data)
    replay.route("/api/daily_papers", None, Reply(200, b"[]", JSON))
    replay.route("/api/daily_papers", {"date": DAY}, Reply(200, body, JSON))
    result = run_cli(home, "harvest", "hf", "--week", "2024-W43", "--endpoint", replay.url, "--json")
    assert result.exit_code == 0, result.stderr
    monday = date(2024, 10, 21)
    week = [(monday + timedelta(d)).isoformat() for d in range(7)]
    assert [r.query["date"] for r in replay.requests] == week
    report = orjson.loads(result.stdout)
    assert report["added"] == 29 and report["pages"] == 7
    with Store.open(str(home)) as store:
        assert store.stats()["list_days"] == 1  # the empty days add nothing


def test_html_instead_of_json_is_an_error(home: Path, replay: ReplayServer) -> None:
    page = Reply(200, b"<html><body>Sign in</body></html>", {"Content-Type": "text/html"})
    replay.route("/api/daily_papers", None, page)
    result = run_cli(home, "harvest", "hf", "--date", DAY, "--endpoint", replay.url)
    assert result.exit_code == 2
    assert f"{replay.url}/api/daily_papers?date={DAY} answered with an HTML page" in result.stderr


def test_day_ranges() -> None:
    assert hf.days_of(month="2024-02") == [date(2024, 2, d) for d in range(1, 30)]
    assert hf.days_of(week="2026-W09")[0] == date(2026, 2, 23)
    assert hf.days_of(day="2024-10-25") == [date(2024, 10, 25)]
    # Days after today have no list yet: not asked for.
    assert all(d <= date.today() + timedelta(days=1) for d in hf.days_of(month=f"{date.today():%Y-%m}"))
    for bad in ({"week": "2026-W60"}, {"month": "2026-13"}, {"day": "yesterday"}, {}):
        with pytest.raises(QueryError):
            hf.days_of(**bad)
    with pytest.raises(QueryError, match="exactly one"):
        hf.days_of(day="2024-10-25", week="2024-W43")


def test_cli_rejects_a_bad_week(home: Path) -> None:
    result = run_cli(home, "harvest", "hf", "--week", "2026-9")
    assert result.exit_code == 2 and "is not an ISO week" in result.stderr
