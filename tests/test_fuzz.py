"""Property-based fuzzing (hypothesis) of everything that reads input from outside: the query
parser, every importer, and every parameter of every GET route of the site and the API.

Fixed budget so that it runs in ``make test``: derandomized (the same examples every run, so a
failure reproduces), ``MAX_EXAMPLES`` per property, no deadline (a loaded CI machine is not a
bug).  Set ``PAPERSCOPE_FUZZ_EXAMPLES`` to fuzz longer by hand.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperscope.checks import has_controls, link_problem
from paperscope.ingest import Ingestor
from paperscope.records import MAX_ABSTRACT, MAX_TITLE, PaperRecord, ParseResult, Rejected, vet
from paperscope.search.query import MAX_CLAUSES, MAX_QUERY_CHARS, parse_query
from paperscope.sources.atom import parse_atom
from paperscope.sources.beir import beir_record
from paperscope.sources.files import parse_body
from paperscope.sources.hf_api import hf_item
from paperscope.sources.hf_page import parse_hf_page_text
from paperscope.sources.json_list import ALL_KEYS, json_record
from paperscope.sources.oai import parse_oai
from paperscope.sources.snapshot import snapshot_record
from paperscope.store import Store
from paperscope.web.app import create_app

MAX_EXAMPLES = int(os.environ.get("PAPERSCOPE_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Text that finds bugs more often than uniform Unicode: operators, dates, huge numbers, controls.
NASTY = [
    "", " ", "-", '"', "author:", "cat:", "year:", "since:", "until:", "-author:x", 'author:"', "cat:cs.CL",
    "9999-W52", "0000-W01", "2026-W54", "2026-W09", "2026-02", "2026-13", "9999-12", "0000-01", "2026-02-30",
    "2026-02-27", "9999-12-31", "-1", "0", "1", "10000", "99999999999999999999999", "1e309", "NaN", "inf",
    "\x00", "\x1b[31m", "\ufffe", "\u202e", "😀", "<script>", "javascript:alert(1)", "%00", "../../etc/passwd",
    "2602.23152", "arXiv:2602.23152v2", "https://arxiv.org/abs/2602.23152", "x" * 3000,
]
text = st.one_of(st.sampled_from(NASTY), st.text(max_size=40), st.integers().map(str))


# -- the query parser -------------------------------------------------------------------------------
@FUZZ
@given(st.one_of(text, st.lists(text, max_size=8).map(" ".join), st.text(max_size=2000)))
def test_the_query_parser_reads_anything(query: str) -> None:
    parsed = parse_query(query)
    assert len(parsed.raw) <= MAX_QUERY_CHARS
    terms = [*parsed.words, *parsed.phrases, *parsed.excluded, *parsed.authors, *parsed.categories]
    assert len(terms) <= MAX_CLAUSES
    assert not any(has_controls(t) or "\x00" in t for t in terms)
    for day in (parsed.since, parsed.until):
        assert day is None or _DAY.match(day)


# -- every importer ---------------------------------------------------------------------------------
KEYS = st.sampled_from([*ALL_KEYS, "paper", "summary", "publishedAt", "id", "title", "authors", "versions",
                        "update_date", "authors_parsed", "_id", "text", "created", "version", "name", "user"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS | st.text(max_size=6), inner, max_size=8),
    max_leaves=20,
)
RECORD_PARSERS: list[Callable[[Any, str], ParseResult]] = [json_record, hf_item, snapshot_record, beir_record]


def _check(result: object) -> None:
    assert isinstance(result, PaperRecord | Rejected), result
    if isinstance(result, PaperRecord):
        vetted = vet(result)
        assert isinstance(vetted, PaperRecord | Rejected)
        if isinstance(vetted, PaperRecord):
            assert len(vetted.title) <= MAX_TITLE and len(vetted.abstract) <= MAX_ABSTRACT
            assert not has_controls(vetted.title + vetted.abstract + "".join(vetted.authors))
            assert all(link_problem(u) is None for n, u in vetted.links.items() if n in ("code", "project"))
            assert vetted.upvotes is None or vetted.upvotes >= 0


@FUZZ
@given(json_values)
def test_every_json_importer_answers_a_record_or_a_reason(obj: Any) -> None:
    for parse in RECORD_PARSERS:
        _check(parse(obj, "fuzz"))
    for result in parse_body(repr(obj).encode(), "fuzz"):
        _check(result)


ATOM = ('<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/{id}</id><title>{t}</title>'
        "<summary>{t}</summary><published>{d}</published><updated>{d}</updated><author><name>{t}</name></author>"
        '<link href="{t}" rel="alternate"/><category term="{t}"/></entry></feed>')
OAI = ('<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords><record><header><identifier>'
       "oai:arXiv.org:{id}</identifier></header><metadata><arXiv xmlns=\"http://arxiv.org/OAI/arXiv/\"><id>{id}</id>"
       "<created>{d}</created><title>{t}</title><abstract>{t}</abstract><categories>{t}</categories>"
       "<authors><author><keyname>{t}</keyname></author></authors></arXiv></metadata></record></ListRecords></OAI-PMH>")


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;")


@FUZZ
@given(text, text, text, st.binary(max_size=200))
def test_xml_importers_answer_a_record_or_a_reason(title: str, day: str, ident: str, noise: bytes) -> None:
    for template, parse in ((ATOM, parse_atom), (OAI, parse_oai)):
        body = template.format(id=_xml_text(ident), t=_xml_text(title), d=_xml_text(day)).encode("utf-8", "replace")
        for data in (body, noise, body[: len(body) // 2], noise + body):
            for result in parse(data, "fuzz").results:  # type: ignore[operator]
                _check(result)


@FUZZ
@given(st.lists(st.one_of(text, st.sampled_from(["·", "  • 3 authors", "Nov 5, 2024", "Apr 25", ""])), max_size=30))
def test_the_saved_page_importer_answers_a_record_or_a_reason(lines: list[str]) -> None:
    for result in parse_hf_page_text("\n".join(lines), "fuzz", 2026):
        _check(result)


# -- every parameter of every GET route ------------------------------------------------------------
def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[TestClient]:
    home = tmp_path_factory.mktemp("fuzz-home")
    with Store.open(str(home)) as store:
        with Ingestor(store, report_rejects=False) as ingestor:
            ingestor.ingest_paths([shared_data / "hf-daily" / "daily_papers_2024-10-25.json"])
        from paperscope.index.build import update_indexes

        update_indexes(store, semantic=False)
        with TestClient(create_app(store, secret_key="k" * 32), raise_server_exceptions=False) as client:
            yield client


def _route_checker(client: TestClient, route: APIRoute, paths: list[str], names: list[str]) -> Callable[[], None]:
    @settings(FUZZ, max_examples=max(10, MAX_EXAMPLES // 3))
    @given(st.fixed_dictionaries({n: text for n in paths}, optional={n: text for n in names}))
    def check(values: dict[str, str]) -> None:
        url = route.path_format
        for name in paths:
            url = url.replace("{" + name + "}", quote(values.pop(name), safe="") or "x")
        answer = client.get(url, params=values, follow_redirects=False)
        assert answer.status_code < 500, (route.path, url, values, answer.status_code, answer.text[:300])

    return check


def test_every_get_parameter_is_answered_below_500(fuzz_client: TestClient) -> None:
    routes = [r for r in _api_routes(fuzz_client.app.routes) if "GET" in r.methods]  # type: ignore[attr-defined]
    assert len(routes) >= 20
    fuzzed = 0
    for route in routes:
        names = [p.alias for p in route.dependant.query_params]
        paths = [p.alias for p in route.dependant.path_params]
        if names or paths:
            _route_checker(fuzz_client, route, paths, names)()
            fuzzed += 1
    assert fuzzed >= 15
    print(f"fuzzed {fuzzed} GET routes, {max(10, MAX_EXAMPLES // 3)} examples each")


def test_every_get_parameter_survives_every_nasty_value(fuzz_client: TestClient) -> None:
    """The deterministic half: each parameter alone, given each value of NASTY in turn."""
    routes = [r for r in _api_routes(fuzz_client.app.routes) if "GET" in r.methods]  # type: ignore[attr-defined]
    asked = 0
    failures = []
    for route in routes:
        names = [p.alias for p in route.dependant.query_params]
        paths = [p.alias for p in route.dependant.path_params]
        for name in [*names, *paths]:
            for value in NASTY:
                url = route.path_format
                for path_name in paths:
                    url = url.replace("{" + path_name + "}", quote(value if path_name == name else "x", safe="") or "x")
                answer = fuzz_client.get(url, params={name: value} if name in names else {}, follow_redirects=False)
                asked += 1
                if answer.status_code >= 500:
                    failures.append((route.path, name, value[:40], answer.status_code))
    assert asked > 500
    print(f"asked {asked} requests: every GET parameter with each of {len(NASTY)} values")
    assert not failures, failures
