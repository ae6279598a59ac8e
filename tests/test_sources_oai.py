"""arXiv OAI-PMH responses: the real ``arXiv``-format files and an ``arXivRaw`` page."""

from __future__ import annotations

from pathlib import Path

from paperscope.records import PaperRecord, Rejected, Version
from paperscope.sources import detect_format, parse_file, parse_oai

OAI = "arxiv/oai-pmh"

# An arXivRaw ListRecords page as export.arxiv.org/oai2 serves it (schema: arxiv.org/OAI/arXivRaw.xsd):
# one record with two versions, one deleted record, and a resumption token.
ARXIV_RAW = b"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">
<responseDate>2024-05-02T10:00:00Z</responseDate>
<request verb="ListRecords" metadataPrefix="arXivRaw" from="2007-04-01">http://export.arxiv.org/oai2</request>
<ListRecords>
<record>
<header>
 <identifier>oai:arXiv.org:0704.0001</identifier>
 <datestamp>2008-11-26</datestamp>
 <setSpec>physics:hep-ph</setSpec>
</header>
<metadata>
 <arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/"
  xsi:schemaLocation="http://arxiv.org/OAI/arXivRaw/ http://arxiv.org/OAI/arXivRaw.xsd">
 <id>0704.0001</id><submitter>Pavel Nadolsky</submitter>
 <version version="v1"><date>Mon, 2 Apr 2007 19:18:42 GMT</date><size>424kb</size>
 <source_type>D</source_type></version>
 <version version="v2"><date>Tue, 24 Jul 2007 20:10:27 GMT</date><size>478kb</size>
 <source_type>D</source_type></version>
 <title>Calculation of prompt diphoton production cross sections at Tevatron and
  LHC energies</title>
 <authors>C. Bal\\'azs, E. L. Berger (ANL, Argonne), P. M. Nadolsky and C.-P. Yuan</authors>
 <categories>hep-ph</categories>
 <comments>37 pages, 15 figures; published version</comments>
 <report-no>ANL-HEP-PR-07-12</report-no>
 <journal-ref>Phys.Rev.D76:013009,2007</journal-ref>
 <doi>10.1103/PhysRevD.76.013009</doi>
 <license>http://arxiv.org/licenses/nonexclusive-distrib/1.0/</license>
 <abstract>  A fully differential calculation in perturbative quantum chromodynamics is
presented for the production of massive photon pairs at hadron colliders.
</abstract>
 </arXivRaw>
</metadata>
</record>
<record>
<header status="deleted">
 <identifier>oai:arXiv.org:0704.0099</identifier>
 <datestamp>2009-01-01</datestamp>
</header>
</record>
<resumptionToken cursor="0" completeListSize="2400">6960524|1001</resumptionToken>
</ListRecords>
</OAI-PMH>
"""


def test_arxiv_format_get_record(shared_data: Path) -> None:
    path = shared_data / OAI / "unit__responses__arxiv__sample_arxiv_record0.xml"
    (paper,) = list(parse_file(path))
    assert isinstance(paper, PaperRecord)
    assert paper.source == "arxiv-oai"
    assert paper.origin == f"{path}#oai:arXiv.org:1601.03238"
    assert paper.arxiv_id == "1601.03238"
    assert paper.title == "Irreversible degradation of quantum coherence under relativistic motion"
    # A keyname-only author (a collaboration) and forenames + keyname ones, in order.
    assert paper.authors == ["Planck Collaboration", "Jieci Wang", "Zehua Tian", "Jiliang Jing", "Heng Fan"]
    assert paper.categories == ["quant-ph", "gr-qc", "hep-th", "chao-dyn", "nlin.CD"]
    assert paper.primary_category == "quant-ph"
    assert paper.doi == "10.1103/PhysRevD.93.016005"  # first of three DOIs in the field
    assert paper.journal_ref == "Phys.Rev. D93 (2015) 016005"
    assert paper.license == "https://creativecommons.org/licenses/by/3.0/"
    assert paper.versions == [Version("v1", "2016-01-13")]
    assert (paper.published, paper.updated) == ("2016-01-13", "2016-01-13")


def test_arxiv_format_list_records(shared_data: Path) -> None:
    name = "functional__arxiv__fixtures__http_server__records__arxiv-physics-hep-th.xml"
    results = list(parse_file(shared_data / OAI / name))
    assert [r.arxiv_id for r in results if isinstance(r, PaperRecord)] == ["1412.8323", "1507.07790", "1607.01710"]
    first = results[0]
    assert isinstance(first, PaperRecord)
    assert first.title == "Toolbox for reconstructing quantum theory from rules on information acquisition"
    assert first.authors == ["Philipp A Hoehn"]
    assert (first.published, first.updated) == ("2014-12-29", "2017-12-13")


def test_every_real_file_parses(shared_data: Path) -> None:
    total = 0
    for path in sorted((shared_data / OAI).glob("*.xml")):
        assert detect_format(path) == "arxiv-oai"
        results = list(parse_file(path))
        assert results and all(isinstance(r, PaperRecord) and r.title and r.arxiv_id for r in results)
        total += len(results)
    assert total == 25


def test_arxiv_raw_page() -> None:
    page = parse_oai(ARXIV_RAW, "https://export.arxiv.org/oai2?verb=ListRecords")
    assert page.resumption_token == "6960524|1001"
    assert page.complete_list_size == 2400
    assert page.error is None
    (paper,) = page.results  # the deleted record is skipped, not rejected
    assert isinstance(paper, PaperRecord)
    assert paper.origin == "https://export.arxiv.org/oai2?verb=ListRecords#oai:arXiv.org:0704.0001"
    assert paper.arxiv_id == "0704.0001"
    assert paper.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert paper.authors == ["C. Bal\\'azs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan"]
    assert paper.versions == [Version("v1", "2007-04-02T19:18:42Z"), Version("v2", "2007-07-24T20:10:27Z")]
    assert (paper.published, paper.updated) == ("2007-04-02", "2007-07-24")
    assert paper.abstract.startswith("A fully differential calculation") and "\n" not in paper.abstract
    assert paper.journal_ref == "Phys.Rev.D76:013009,2007"


def test_arxiv_raw_bad_version_date_is_rejected() -> None:
    data = ARXIV_RAW.replace(b"Tue, 24 Jul 2007", b"Tue, 31 Jun 2007")
    (result,) = parse_oai(data, "u").results
    assert isinstance(result, Rejected)
    assert result.origin == "u#oai:arXiv.org:0704.0001" and "does not exist" in result.reason


def test_oai_errors_and_last_page() -> None:
    no_match = b"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-05-02T10:00:00Z</responseDate>
<request verb="ListRecords">http://export.arxiv.org/oai2</request>
<error code="noRecordsMatch">The combination of the values of the from, until and set arguments
results in an empty list.</error></OAI-PMH>"""
    page = parse_oai(no_match, "u")
    assert page.error is not None and page.error[0] == "noRecordsMatch"
    assert page.error[1].startswith("The combination of the values") and page.results == []
    last = ARXIV_RAW.replace(b'cursor="0" completeListSize="2400">6960524|1001<', b'completeListSize="2400"><')
    assert parse_oai(last, "u").resumption_token is None


def test_truncated_and_missing_parts(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / OAI / "unit__responses__arxiv__sample_arxiv_record.xml").read_bytes()
    path = tmp_path / "cut.xml"
    path.write_bytes(data[:5000])
    (result,) = list(parse_file(path))
    assert isinstance(result, Rejected) and "not well-formed XML" in result.reason
    assert parse_oai(data[:5000], "u").error is not None

    untitled = parse_oai(ARXIV_RAW.replace(b"<title>Calculation", b"<nottitle>Calculation").replace(
        b"energies</title>", b"energies</nottitle>"), "u").results
    assert isinstance(untitled[0], Rejected) and untitled[0].reason == "0704.0001: record has no title"

    zero = (shared_data / OAI / "unit__responses__arxiv__sample_arxiv_record0.xml").read_bytes()
    bad_day = parse_oai(zero.replace(b"<created>2016-01-13", b"<created>2016-02-30"), "u").results
    assert isinstance(bad_day[0], Rejected) and "does not exist" in bad_day[0].reason
