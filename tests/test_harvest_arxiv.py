"""``paperscope harvest arxiv``: OAI-PMH paging, resumption after a kill, errors, reruns.

The pages are real arXiv OAI-PMH responses from the shared data, with a ``<resumptionToken>``
inserted so that three of them form one paged ListRecords answer, served by a loopback server.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from paperscope.cli import main
from paperscope.harvest.oai import OaiQuery, set_spec_for
from paperscope.store import Store
from pg import child_env
from replay_server import ReplayServer, Reply

OAI = "arxiv/oai-pmh"
PAGE_FILES = (
    "functional__arxiv__fixtures__http_server__records__arxiv-physics-hep-ex.xml",
    "functional__arxiv__fixtures__http_server__records__arxiv-physics-hep-th.xml",
    "unit__responses__arxiv__sample_arxiv_record.xml",
)
PAGE_IDS = (
    ["1706.05371", "1706.09418", "1707.00874"],
    ["1412.8323", "1507.07790", "1607.01710"],
    [
        "1601.03238", "1512.07978", "1603.00997", "1603.01251", "1603.05976", "1604.05585",
        "1606.06775", "1606.07066", "1606.07538", "1607.00786", "1606.04259", "1808.04927",
    ],
)
ALL_IDS = sorted(i for ids in PAGE_IDS for i in ids)
TOKENS = ("tok-page2", "tok-page3")
FROM = "2017-12-14"
XML = {"Content-Type": "text/xml; charset=utf-8"}
HTML = {"Content-Type": "text/html"}
FAST_ENV = {
    "PAPERSCOPE_HTTP_DELAY": "0.01",
    "PAPERSCOPE_HTTP_BACKOFF": "0.01",
    "PAPERSCOPE_HTTP_MAX_WAIT": "2",
    "PAPERSCOPE_HTTP_RETRIES": "2",
}

NO_RECORDS = b"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
<responseDate>2026-02-27T10:00:00Z</responseDate>
<request verb="ListRecords" from="2030-01-01" metadataPrefix="arXiv">http://export.arxiv.org/oai2</request>
<error code="noRecordsMatch">The combination of the values of the from, until, set and metadataPrefix
arguments results in an empty list.</error>
</OAI-PMH>
"""

BAD_TOKEN = b"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
<responseDate>2026-02-27T10:00:00Z</responseDate>
<request verb="ListRecords">http://export.arxiv.org/oai2</request>
<error code="badResumptionToken">The value of the resumptionToken argument is invalid or expired.</error>
</OAI-PMH>
"""


def oai_pages(shared_data: Path) -> list[bytes]:
    """Three real pages made into one paged answer: tokens on the first two, an empty one last."""
    pages = []
    for index, name in enumerate(PAGE_FILES):
        body = (shared_data / OAI / name).read_bytes()
        # The third file is a GetRecord answer holding 12 records; as a ListRecords page it is the same XML.
        body = body.replace(b"<GetRecord>", b"<ListRecords>").replace(b"</GetRecord>", b"</ListRecords>")
        body = body.replace(b'verb="GetRecord"', b'verb="ListRecords"')
        token = TOKENS[index] if index < len(TOKENS) else ""
        size = len(ALL_IDS)
        element = f'<resumptionToken cursor="{index}" completeListSize="{size}">{token}</resumptionToken>'
        assert body.count(b"</ListRecords>") == 1
        pages.append(body.replace(b"</ListRecords>", element.encode() + b"</ListRecords>"))
    return pages


def serve_pages(server: ReplayServer, pages: list[bytes], slow: dict[int, float] | None = None) -> None:
    """Page 1 answers the first request (from=...), page N+1 answers the token of page N."""
    xml = XML
    slow = slow or {}
    for index, body in enumerate(pages):
        query = {"verb": "ListRecords", "from": FROM} if index == 0 else {
            "verb": "ListRecords", "resumptionToken": TOKENS[index - 1]
        }
        replies = [Reply(200, body, xml)]
        if index in slow:
            replies.insert(0, Reply(200, body, xml, delay=slow[index]))
        server.route("/oai", query, *replies)


def run_cli(home: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), "--quiet", *args], env={**FAST_ENV, **(env or {})})


def stored_ids(home: Path) -> list[str]:
    with Store.open(str(home)) as store:
        return sorted(p.arxiv_id for batch in store.iter_papers() for p in batch if p.arxiv_id)


def test_paging_stores_every_record_of_every_page(
    shared_data: Path, home: Path, replay: ReplayServer
) -> None:
    serve_pages(replay, oai_pages(shared_data))
    result = run_cli(home, "harvest", "arxiv", "--from", FROM, "--endpoint", f"{replay.url}/oai", "--json")
    assert result.exit_code == 0, result.output + result.stderr
    report = orjson.loads(result.stdout)
    assert (report["added"], report["updated"], report["unchanged"], report["rejected"]) == (18, 0, 0, 0)
    assert report["pages"] == 3 and report["requests"] == 3
    assert stored_ids(home) == ALL_IDS
    seen = replay.requests_to("/oai")
    assert [r.query.get("resumptionToken") for r in seen] == [None, *TOKENS]
    assert seen[0].query == {"verb": "ListRecords", "metadataPrefix": "arXiv", "from": FROM}
    assert "paperscope" in seen[0].headers["User-Agent"]
    with Store.open(str(home)) as store:
        # A finished harvest leaves no position behind, so the next run starts from --from.
        job = OaiQuery(f"{replay.url}/oai", FROM).job_name
        assert store.get_job_state(job) is None
        paper = store.get_paper("1412.8323")
        assert paper is not None and paper.title.startswith("Toolbox for reconstructing quantum theory")


def test_rerun_is_idempotent(
    shared_data: Path, home: Path, replay: ReplayServer
) -> None:
    serve_pages(replay, oai_pages(shared_data))
    args = ("harvest", "arxiv", "--from", FROM, "--endpoint", f"{replay.url}/oai", "--json")
    first = orjson.loads(run_cli(home, *args).stdout)
    second_run = run_cli(home, *args)
    assert second_run.exit_code == 0, second_run.stderr
    second = orjson.loads(second_run.stdout)
    assert first["added"] == 18
    assert (second["added"], second["updated"], second["unchanged"]) == (0, 0, 18)
    assert stored_ids(home) == ALL_IDS


def test_set_until_and_prefix_are_sent(
    shared_data: Path, home: Path, replay: ReplayServer
) -> None:
    body = (shared_data / OAI / PAGE_FILES[1]).read_bytes()
    replay.route("/oai", {"verb": "ListRecords"}, Reply(200, body, XML))
    result = run_cli(
        home, "harvest", "arxiv", "--from", FROM, "--until", "2017-12-15", "--set", "physics:hep-th",
        "--metadata-prefix", "arXivRaw", "--endpoint", f"{replay.url}/oai",
    )
    assert result.exit_code == 0, result.stderr
    assert replay.requests[0].query == {
        "verb": "ListRecords", "metadataPrefix": "arXivRaw", "from": FROM, "until": "2017-12-15",
        "set": "physics:hep-th",
    }
    assert stored_ids(home) == sorted(PAGE_IDS[1])


@pytest.mark.parametrize(
    ("name", "spec"),
    [
        ("cs", "cs"),
        ("stat.ML", "stat:stat:ML"),
        ("cs.LG", "cs:cs:LG"),
        ("q-bio.NC", "q-bio:q-bio:NC"),
        # Physics archives sit under the physics group, as the recorded responses' setSpecs show.
        ("hep-th", "physics:hep-th"),
        ("astro-ph.GA", "physics:astro-ph:GA"),
        ("cond-mat.str-el", "physics:cond-mat:str-el"),
        ("physics", "physics"),
        ("physics:hep-ex", "physics:hep-ex"),  # written as a spec: taken as is
    ],
)
def test_set_spec_for_names_arxivs_sets(name: str, spec: str) -> None:
    assert set_spec_for(name) == spec


def test_recorded_physics_set_specs_match_the_mapping(shared_data: Path) -> None:
    """Every archive setSpec in the recorded OAI answers is what ``--set ARCHIVE`` asks for."""
    import re

    specs = set()
    for path in (shared_data / OAI).glob("*.xml"):
        specs |= set(re.findall(r"<setSpec>([^<]+)</setSpec>", path.read_text(errors="replace")))
    assert specs and all(s.startswith("physics:") for s in specs), specs
    for spec in specs - {"physics:physics"}:  # "physics" alone is the whole group's set
        assert set_spec_for(spec.split(":")[1]) == spec


def test_no_records_match_is_an_empty_harvest(home: Path, replay: ReplayServer) -> None:
    replay.route("/oai", {"verb": "ListRecords"}, Reply(200, NO_RECORDS, XML))
    endpoint = f"{replay.url}/oai"
    result = run_cli(home, "harvest", "arxiv", "--from", "2030-01-01", "--endpoint", endpoint, "--json")
    assert result.exit_code == 0, result.stderr
    report = orjson.loads(result.stdout)
    assert (report["added"], report["rejected"], report["pages"], report["requests"]) == (0, 0, 0, 1)
    assert "no records match" in report["notes"][0]
    assert stored_ids(home) == []


def test_expired_token_restarts_from_the_from_date(
    shared_data: Path, home: Path, replay: ReplayServer
) -> None:
    endpoint = f"{replay.url}/oai"
    job = OaiQuery(endpoint, FROM).job_name
    with Store.open(str(home)) as store:
        store.set_job_state(job, {"token": "stale-token", "pages": 1, "records": 3})
    serve_pages(replay, oai_pages(shared_data))
    replay.route("/oai", {"resumptionToken": "stale-token"}, Reply(200, BAD_TOKEN, XML))
    result = run_cli(home, "harvest", "arxiv", "--from", FROM, "--endpoint", endpoint, "--json")
    assert result.exit_code == 0, result.stderr
    assert "restarting the harvest from 2017-12-14" in result.stderr
    report = orjson.loads(result.stdout)
    assert report["resumed"] and report["restarted"] and report["added"] == 18
    assert [r.query.get("resumptionToken") for r in replay.requests] == ["stale-token", None, *TOKENS]
    assert stored_ids(home) == ALL_IDS


def test_unexpected_oai_error_is_reported(home: Path, replay: ReplayServer) -> None:
    body = NO_RECORDS.replace(b"noRecordsMatch", b"badArgument")
    replay.route("/oai", {"verb": "ListRecords"}, Reply(200, body, XML))
    result = run_cli(home, "harvest", "arxiv", "--from", FROM, "--endpoint", f"{replay.url}/oai")
    assert result.exit_code == 2
    assert "OAI-PMH error badArgument" in result.stderr and "Check --from, --until" in result.stderr
    assert f"{replay.url}/oai?verb=ListRecords" in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_html_instead_of_xml_is_reported_with_the_url(home: Path, replay: ReplayServer) -> None:
    page = b"<!DOCTYPE html><html><body>Welcome to the portal</body></html>"
    replay.route("/oai", None, Reply(200, page, HTML))
    result = run_cli(home, "harvest", "arxiv", "--from", FROM, "--endpoint", f"{replay.url}/oai")
    assert result.exit_code == 2
    assert "HTML page instead of OAI-PMH XML" in result.stderr
    assert f"{replay.url}/oai?verb=ListRecords&metadataPrefix=arXiv&from={FROM}" in result.stderr
    assert "--endpoint" in result.stderr and "Traceback" not in result.stderr


def test_server_error_after_retries_is_reported(home: Path, replay: ReplayServer) -> None:
    error_page = Reply(500, b"<html>Internal Server Error</html>", HTML)
    replay.route("/oai", None, error_page)
    result = run_cli(home, "harvest", "arxiv", "--from", FROM, "--endpoint", f"{replay.url}/oai")
    assert result.exit_code == 2
    assert f"{replay.url}/oai?verb=ListRecords" in result.stderr and "HTTP 500" in result.stderr
    assert "gave up after 3 attempts" in result.stderr
    assert len(replay.requests) == 3  # the first try and PAPERSCOPE_HTTP_RETRIES=2 more


def test_bad_from_date_is_a_usage_error(home: Path) -> None:
    result = run_cli(home, "harvest", "arxiv", "--from", "2017-13-40", "--endpoint", "http://127.0.0.1:9/oai")
    assert result.exit_code == 2 and "is not a date" in result.stderr
    result = run_cli(home, "harvest", "arxiv", "--from", FROM, "--until", "2017-01-01")
    assert result.exit_code == 2 and "2017-01-01 is before --from 2017-12-14" in result.stderr


def _paperscope() -> str:
    script = Path(sys.executable).with_name("paperscope")
    assert script.exists(), f"entry point {script} missing: pip install -e . into this virtualenv"
    return str(script)


@pytest.mark.slow
def test_killed_harvest_resumes_without_refetching(
    shared_data: Path, home: Path, replay: ReplayServer
) -> None:
    """SIGKILL a real harvest process while page 2 is in flight, then rerun it to the end."""
    serve_pages(replay, oai_pages(shared_data), slow={1: 60.0})
    endpoint = f"{replay.url}/oai"
    job = OaiQuery(endpoint, FROM).job_name
    command = [_paperscope(), "--home", str(home), "--quiet", "harvest", "arxiv", "--from", FROM,
               "--endpoint", endpoint, "--json"]
    env = {**child_env(home), **FAST_ENV}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        saved = None
        while time.monotonic() < deadline:
            # Kill only once page 1 is committed and the slow page 2 has been asked for (by then
            # the harvest has created and migrated its database).
            if len(replay.requests) >= 2:
                with Store.open(str(home), upgrade=False) as store:
                    saved = store.get_job_state(job)
                if saved:
                    break
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        assert saved is not None, "the harvest never committed its first page"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert saved["token"] == TOKENS[0] and saved["pages"] == 1 and saved["records"] == 3
    assert stored_ids(home) == sorted(PAGE_IDS[0])  # page 1 committed, nothing of page 2
    first_run = len(replay.requests)

    rerun = subprocess.run(command, env=env, capture_output=True, timeout=60)
    assert rerun.returncode == 0, rerun.stderr.decode()
    report = orjson.loads(rerun.stdout)
    assert report["resumed"] is True and report["added"] == 15 and report["pages"] == 2
    # The rerun asked for page 2 and page 3 only: page 1 was never fetched again.
    assert [r.query.get("resumptionToken") for r in replay.requests[first_run:]] == list(TOKENS)
    with Store.open(str(home)) as store:
        assert store.get_job_state(job) is None
        assert store.count_papers() == len(ALL_IDS)
        with store.connect() as conn:
            rows = conn.execute(sa.text("SELECT arxiv_id, COUNT(*) FROM papers GROUP BY arxiv_id")).all()
    assert sorted(r[0] for r in rows) == ALL_IDS and all(r[1] == 1 for r in rows)


def test_rejected_records_exit_1_and_keep_the_rest(
    shared_data: Path, home: Path, replay: ReplayServer
) -> None:
    body = (shared_data / OAI / PAGE_FILES[0]).read_bytes()
    assert body.count(b"<id>1706.09418</id>") == 1
    broken = body.replace(b"<id>1706.09418</id>", b"<id>not-an-id</id>").replace(
        b"oai:arXiv.org:1706.09418", b"oai:arXiv.org:not-an-id"
    )
    replay.route("/oai", {"verb": "ListRecords"}, Reply(200, broken, XML))
    result = run_cli(home, "harvest", "arxiv", "--from", FROM, "--endpoint", f"{replay.url}/oai", "--json")
    assert result.exit_code == 1, result.stderr
    report = orjson.loads(result.stdout)
    assert (report["added"], report["rejected"]) == (2, 1)
    assert "not-an-id" in result.stderr  # each reject is named on stderr ...
    assert stored_ids(home) == ["1706.05371", "1707.00874"]
    assert "not-an-id" in (home / "rejects.jsonl").read_text()  # ... and kept in the rejects file
