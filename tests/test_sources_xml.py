"""sources/xml.py's hardening: untrusted XML never expands entities, reads files or fetches a DTD,
and a file that declares entities is refused with a message that says why."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperscope.records import Rejected
from paperscope.sources.atom import parse_atom
from paperscope.sources.common import UnknownFormat
from paperscope.sources.detect import detect_format
from paperscope.sources.oai import parse_oai
from paperscope.sources.xml import XmlRefused, parse_xml

ATOM = b'<feed xmlns="http://www.w3.org/2005/Atom">%s</feed>'
ENTRY = (
    b"<entry><id>http://arxiv.org/abs/2401.00001v1</id><title>%s</title><summary>s</summary>"
    b"<published>2024-01-01T00:00:00Z</published><author><name>A</name></author></entry>"
)


def _doctype(body: bytes, subset: bytes) -> bytes:
    return b'<?xml version="1.0"?>\n<!DOCTYPE feed [' + subset + b"]>\n" + body


def test_external_entity_is_refused_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = _doctype(ATOM % (ENTRY % b"&xxe;"), b'<!ENTITY xxe SYSTEM "file://' + str(secret).encode() + b'">')
    page = parse_atom(data, "evil.xml")
    assert isinstance(page.results[0], Rejected)
    assert "declares entities" in page.results[0].reason
    assert "TOP-SECRET" not in repr(page.results)
    assert len(page.results) == 1


def test_billion_laughs_is_refused_at_once() -> None:
    laughs = b'<!ENTITY l0 "ha">' + b"".join(
        b"<!ENTITY l%d \"%s\">" % (i, b"".join(b"&l%d;" % (i - 1) for _ in range(10))) for i in range(1, 10)
    )
    data = _doctype(ATOM % (ENTRY % b"&l9;"), laughs)
    start = time.perf_counter()
    with pytest.raises(XmlRefused):
        parse_xml(data)
    assert time.perf_counter() - start < 1.0  # 10**9 "ha"s would take minutes and gigabytes
    page = parse_oai(data.replace(b"feed [", b"OAI-PMH ["), "evil.xml")
    assert page.error is not None and "declares entities" in page.error[1]


@pytest.fixture()
def dtd_server() -> Iterator[tuple[str, list[str]]]:
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = b'<!ENTITY remote "FETCHED">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/evil.dtd", asked
    finally:
        server.shutdown()


def test_external_dtd_is_never_fetched(dtd_server: tuple[str, list[str]]) -> None:
    url, asked = dtd_server
    data = b'<?xml version="1.0"?>\n<!DOCTYPE feed SYSTEM "' + url.encode() + b'">\n' + ATOM % (ENTRY % b"Plain")
    root = parse_xml(data)
    assert asked == []
    assert "FETCHED" not in (root.findtext(".//{http://www.w3.org/2005/Atom}title") or "")


def test_comments_are_dropped_and_plain_doctype_still_detected(tmp_path: Path) -> None:
    data = _doctype(ATOM % (ENTRY % b"Real <!-- hidden --> title"), b"<!ELEMENT feed ANY>")
    page = parse_atom(data, "ok.xml")
    assert [r.title for r in page.results] == ["Real title"]  # type: ignore[union-attr]
    path = tmp_path / "ok.xml"
    path.write_bytes(data)
    assert detect_format(path) == "arxiv-atom"  # not "XML with root <?>"


def test_ingest_names_the_reason_for_an_entity_file(tmp_path: Path) -> None:
    path = tmp_path / "evil.xml"
    path.write_bytes(_doctype(ATOM % (ENTRY % b"&a;"), b'<!ENTITY a "x">'))
    with pytest.raises(UnknownFormat) as info:
        detect_format(path)
    assert "declares entities" in str(info.value) and "<?>" not in str(info.value)
