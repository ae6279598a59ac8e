"""Importing a reference library into a collection: BibTeX, RIS and id lists, identified by arXiv
id, DOI or exact title; missing papers fetched from the (replayed) arXiv API by the CLI; every
reference that could not be added reported with its line; the web form adds known papers at once
and queues the rest for the fetch-queue job (replayed arXiv), which adds them when fetched."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import rispy
from click.testing import CliRunner
from fastapi.testclient import TestClient

from paperscope.cli import main
from paperscope.harvest.client import Pacing
from paperscope.harvest.fetch_queue import process_fetch_queue
from paperscope.records import PaperRecord
from paperscope.sources.library import read_library
from paperscope.store import Store
from replay_server import ReplayServer
from web_support import csrf_of, make_client, sign_up

FAST = Pacing(delay=0.0, max_wait=1.0, retries=0, backoff=0.01, timeout=5.0)
FAST_ENV = {"PAPERSCOPE_HTTP_DELAY": "0", "PAPERSCOPE_HTTP_BACKOFF": "0.01", "PAPERSCOPE_HTTP_RETRIES": "1"}
KNOWN_TITLE = "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
OTHER_TITLE = "A Study of Things Only Known by Their Title"

BIBTEX = r"""% exported by a citation manager
@misc{known-by-eprint,
  title = {Calculation of prompt diphoton production},
  eprint = {0704.0001v2},
  archivePrefix = {arXiv},
}
@article{known-by-doi,
  title = {Some other spelling of the title},
  doi = {10.1103/PHYSREVD.76.013009},
}
@inproceedings{known-by-title,
  title = {A {Study} of Things Only Known by Their Title},
  year = {2019},
}
@article{fetched,
  title = {Learning to see},
  journal = {arXiv preprint arXiv:1605.08386},
}
@misc{not-on-arxiv,
  title = {No such preprint},
  eprint = {0000.0000},
  archivePrefix = {arXiv},
}
@book{unknown, title = {A book nobody here has}, year = 1999}
@article{broken, title = {never closed
"""


def _store_known(home: Path) -> None:
    with Store.open(str(home)) as store:
        store.write_records([
            PaperRecord(source="arxiv-api", origin="test", title=KNOWN_TITLE, arxiv_id="0704.0001",
                        doi="10.1103/PhysRevD.76.013009", published="2007-04-02"),
            PaperRecord(source="hf-page", origin="test", title=OTHER_TITLE, published="2019-05-01"),
        ])
        store.accounts.create_user("reader", "reader@example.org", "correct horse battery")


def test_formats_are_detected_and_read_with_their_lines() -> None:
    kind, items, problems = read_library(BIBTEX)
    assert kind == "bibtex"
    assert [(i.line, i.arxiv_id, i.doi) for i in items] == [
        (2, "0704.0001", None), (7, None, "10.1103/physrevd.76.013009"), (11, None, None),
        (15, "1605.08386", None), (19, "0000.0000", None), (24, None, None),
    ]
    assert items[2].title == OTHER_TITLE  # braces that protect capitals are not part of the title
    assert [p.line for p in problems] == [25]
    ris = rispy.dumps([
        {"type_of_reference": "JOUR", "title": KNOWN_TITLE, "doi": "10.1103/PhysRevD.76.013009"},
        {"type_of_reference": "ELEC", "title": "Learning", "urls": ["https://arxiv.org/abs/1605.08386v1"]},
        {"type_of_reference": "JOUR", "title": "Notes", "notes": ["arXiv:astro-ph/0601001"]},
    ])
    kind, items, problems = read_library(ris)
    assert kind == "ris" and not problems
    assert [(i.arxiv_id, i.doi) for i in items] == [
        (None, "10.1103/physrevd.76.013009"), ("1605.08386", None), ("astro-ph/0601001", None)
    ]
    assert [i.line for i in items] == [n for n, line in enumerate(ris.splitlines(), 1) if line.startswith("TY  -")]
    plain = (
        "# my reading list\n2410.17243\n\nhttps://arxiv.org/abs/hep-th/9901001v2\n"
        "https://doi.org/10.1000/xyz123\nfoo bar\n"
    )
    kind, items, problems = read_library(plain)
    assert kind == "list"
    assert [(i.line, i.arxiv_id, i.doi) for i in items] == [
        (2, "2410.17243", None), (4, "hep-th/9901001", None), (5, None, "10.1000/xyz123")
    ]
    assert [(p.line, p.text) for p in problems] == [(6, "foo bar")]


def test_cli_imports_fetches_missing_and_reports_each_line(home: Path, replay: ReplayServer, shared_data: Path,
                                                          tmp_path: Path) -> None:
    for recording in sorted((shared_data / "arxiv" / "atom").glob("id_*.json")):
        replay.route_recorded(recording)
    _store_known(home)
    library = tmp_path / "library.bib"
    library.write_text(BIBTEX)
    args = ["--home", str(home), "--quiet", "import-library", str(library), "--user", "reader",
            "--collection", "Thesis", "--endpoint", replay.url, "--batch-size", "1", "--json"]
    result = CliRunner().invoke(main, args, env=FAST_ENV)
    assert result.exit_code == 1, result.output  # some references could not be added
    report = orjson.loads(result.stdout)
    assert report["format"] == "bibtex" and report["collection"] == "Thesis"
    outcome = {line["line"]: (line["outcome"], line["paper"]) for line in report["lines"]}
    with Store.open(str(home)) as store:
        local = store.find_paper(title=OTHER_TITLE)
        assert local is not None
        local_key = store.get_papers([local])[0].key
    assert outcome == {
        2: ("added", "0704.0001"), 7: ("already", "0704.0001"), 11: ("added", local_key),
        15: ("fetched", "1605.08386"), 19: ("missing", None), 24: ("unidentified", None), 25: ("unreadable", None),
    }
    reasons = {line["line"]: line["reason"] for line in report["lines"]}
    assert "0000.0000" in reasons[19] and "title" in reasons[24] and "bibtexparser" in reasons[25]
    # Only the two ids the store lacked went to arXiv, one per request.
    assert sorted(r.query["id_list"] for r in replay.requests) == ["0000.0000", "1605.08386"]
    with Store.open(str(home)) as store:
        user = store.accounts.get_user_by_name("reader")
        assert user is not None
        (thesis,) = store.accounts.collections(user.id)
        keys = {p.key for p in store.get_papers(store.accounts.collection_paper_ids(thesis.id))}
        assert keys == {"0704.0001", local_key, "1605.08386"}
    # Rerun: nothing duplicated, the same collection, everything already there.
    again = orjson.loads(CliRunner().invoke(main, args, env=FAST_ENV).stdout)
    assert (again["added"], again["fetched"], again["already"]) == (0, 0, 4)
    plain = CliRunner().invoke(main, [*args[:4], str(tmp_path / "nope.bib"), *args[5:]], env=FAST_ENV)
    assert plain.exit_code == 2 and "does not exist" in plain.output


def test_cli_refuses_an_unknown_user(home: Path, tmp_path: Path) -> None:
    library = tmp_path / "ids.txt"
    library.write_text("2410.17243\n")
    result = CliRunner().invoke(main, ["--home", str(home), "import-library", str(library), "--user", "ghost",
                                       "--collection", "x", "--no-fetch"])
    assert result.exit_code != 0 and "no user 'ghost'" in result.output


def test_web_form_adds_known_papers_and_queues_the_rest(web_store: Store, replay: ReplayServer,
                                                      shared_data: Path) -> None:
    for recording in sorted((shared_data / "arxiv" / "atom").glob("id_*.json")):
        replay.route_recorded(recording)
    with make_client(web_store) as client:
        sign_up(client, "importer")
        created = client.post("/collections", data={"csrf_token": csrf_of(client, "/collections"), "name": "Mine"},
                              follow_redirects=False)
        collection = created.headers["location"]
        collection_id = int(collection.rsplit("/", 1)[1])
        page = client.get(collection).text
        assert 'action="' + collection + '/import"' in page and 'enctype="multipart/form-data"' in page
        ids = ("2410.17243\n# comment\nhttps://huggingface.co/papers/2602.23152\nhttps://arxiv.org/abs/1605.08386v1\n"
               "0000.0000\nnot an id\n")
        answer = client.post(f"{collection}/import", data={"csrf_token": csrf_of(client, collection)},
                             files={"library": ("ids.txt", ids.encode(), "text/plain")})
        assert answer.status_code == 200
        text = " ".join(answer.text.split())
        assert "2 added" in text and "1 not added" in text and "not an id" in text
        assert "2 papers are being fetched from arXiv and will be added" in text
        # Nothing was asked of arXiv while the reader waited: the two unknown ids are queued.
        assert replay.requests == []
        assert [(q.arxiv_id, q.status, q.collection_id, q.list_date) for q in web_store.fetch_queue.items()] == [
            ("0000.0000", "queued", collection_id, None), ("1605.08386", "queued", collection_id, None)
        ]
        keys = {p.key for p in web_store.get_papers(web_store.accounts.collection_paper_ids(collection_id))}
        assert keys == {"2410.17243", "2602.23152"}

        report = process_fetch_queue(web_store, api_url=replay.url, pacing=FAST)
        assert (report["fetched"], report["not_found"], report["remaining"]) == (1, 1, 0), report
        assert sorted(r.query["id_list"] for r in replay.requests) == ["0000.0000", "1605.08386"]
        keys = {p.key for p in web_store.get_papers(web_store.accounts.collection_paper_ids(collection_id))}
        assert keys == {"2410.17243", "2602.23152", "1605.08386"}
        fetched = web_store.get_paper("1605.08386")
        assert fetched is not None and fetched.list_dates == []  # an import joins no daily list
        assert "eprint = {1605.08386}" in client.get(f"{collection}.bib").text
        # Uploading the same file again duplicates nothing: the fetched paper is already there.
        again = client.post(f"{collection}/import", data={"csrf_token": csrf_of(client, collection)},
                            files={"library": ("ids.txt", ids.encode(), "text/plain")})
        assert "0 added, 3 already there" in " ".join(again.text.split())
        # No CSRF token: refused, nothing read.
        refused = client.post(f"{collection}/import", files={"library": ("ids.txt", b"2410.17243", "text/plain")})
        assert refused.status_code in (400, 403)
        with make_client(web_store) as other:
            sign_up(other, "other")
            stranger = other.post(f"{collection}/import", data={"csrf_token": csrf_of(other, "/collections")},
                                  files={"library": ("ids.txt", b"2410.17243", "text/plain")})
            assert stranger.status_code == 404


@pytest.mark.parametrize("body", [b"\xff\xfe\x00bad", b"x" * (2 * 1024 * 1024 + 1)])
def test_web_form_refuses_unreadable_uploads(web_client: TestClient, body: bytes) -> None:
    sign_up(web_client, "uploader")
    created = web_client.post("/collections", data={"csrf_token": csrf_of(web_client, "/collections"),
                                                    "name": "Up"}, follow_redirects=False)
    collection = created.headers["location"]
    answer = web_client.post(f"{collection}/import", data={"csrf_token": csrf_of(web_client, collection)},
                             files={"library": ("lib.bib", body, "text/plain")})
    assert answer.status_code in (400, 413)
