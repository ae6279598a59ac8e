"""Papers and collections for citation managers and link previews: .md, .bib, .ris, Highwire,
Open Graph and Twitter tags.  Each file is read back with the library a reader would use."""

from __future__ import annotations

import bibtexparser
import rispy
from fastapi.testclient import TestClient
from lxml import html

from paperscope.config import DEFAULT_BASE_URL
from paperscope.store import Store
from web_support import csrf_of, make_client, sign_up

KAGGLE = "0704.0001"  # arXiv metadata with authors, category hep-ph and a DOI
HF_PAPER = "2410.17243"

# Links leave the request on the configured public address (base_url), never the Host header.
SITE = DEFAULT_BASE_URL


def test_paper_bibtex_is_arxivs_misc_form(web_client: TestClient) -> None:
    answer = web_client.get(f"/papers/{KAGGLE}.bib")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/x-bibtex")
    (entry,) = bibtexparser.parse_string(answer.text).entries
    assert entry.entry_type == "misc" and entry.key == "balazs2007calculation"
    fields = {f.key: f.value for f in entry.fields}
    assert fields["eprint"] == KAGGLE and fields["archivePrefix"] == "arXiv" and fields["primaryClass"] == "hep-ph"
    assert fields["doi"] == "10.1103/PhysRevD.76.013009" and fields["year"] == "2007"
    assert fields["author"].startswith("C. Bal") and " and E. L. Berger and " in fields["author"]
    assert fields["title"].startswith("Calculation of prompt diphoton production")
    assert fields["url"] == f"https://arxiv.org/abs/{KAGGLE}"


def test_paper_ris_and_markdown(web_client: TestClient) -> None:
    (record,) = rispy.loads(web_client.get(f"/papers/{HF_PAPER}.ris").text)
    assert record["type_of_reference"] == "ELEC" and record["title"].startswith("Breaking the Memory Barrier")
    assert record["authors"][0] == "Zesen Cheng" and record["year"] == "2024"
    assert f"https://arxiv.org/abs/{HF_PAPER}" in record["urls"]
    md = web_client.get(f"/papers/{HF_PAPER}.md")
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.text.startswith("# Breaking the Memory Barrier") and "## Abstract" in md.text
    for suffix in (".md", ".bib", ".ris"):
        assert web_client.get(f"/papers/2999.99999{suffix}").status_code == 404


def test_paper_page_has_citation_and_preview_tags(web_client: TestClient) -> None:
    page = html.fromstring(web_client.get(f"/papers/{KAGGLE}").text)

    def meta(name: str) -> list[str]:
        return [m.get("content") for m in page.xpath(f'//meta[@name="{name}" or @property="{name}"]')]

    assert meta("citation_title")[0].startswith("Calculation of prompt diphoton production")
    assert len(meta("citation_author")) == 4 and meta("citation_author")[1] == "E. L. Berger"
    assert meta("citation_date") == ["2007/04/02"] and meta("citation_arxiv_id") == [KAGGLE]
    assert meta("citation_pdf_url") == [f"https://arxiv.org/pdf/{KAGGLE}"]
    assert meta("citation_abstract_html_url") == [f"{SITE}/papers/{KAGGLE}"]
    assert meta("citation_doi") == ["10.1103/PhysRevD.76.013009"]
    assert meta("og:title") == meta("twitter:title") == meta("citation_title")
    assert meta("og:url") == meta("citation_abstract_html_url") and meta("twitter:card") == ["summary"]
    description = meta("description")[0]
    assert description.startswith("A fully differential calculation") and len(description) <= 301
    assert meta("og:description") == [description]
    assert page.xpath('//button[contains(@class, "cite-button")]/@data-bib-url') == [f"/papers/{KAGGLE}.bib"]


def test_collection_export_for_its_owner_and_readers_of_a_public_one(web_store: Store) -> None:
    with make_client(web_store) as owner:
        sign_up(owner, "collector")
        created = owner.post(
            "/collections",
            data={"csrf_token": csrf_of(owner, f"/papers/{KAGGLE}"), "name": "Reading", "paper": KAGGLE},
            follow_redirects=False,
        )
        collection = created.headers["location"]
        owner.post("/collections", data={"csrf_token": csrf_of(owner), "collection_id": collection.rsplit("/", 1)[1],
                                          "paper": HF_PAPER})
        bib = owner.get(f"{collection}.bib")
        assert bib.status_code == 200
        keys = [e.key for e in bibtexparser.parse_string(bib.text).entries]
        assert sorted(keys) == ["balazs2007calculation", "cheng2024breaking"]
        ris = rispy.loads(owner.get(f"{collection}.ris").text)
        assert sorted(r["title"][:12] for r in ris) == ["Breaking the", "Calculation "]
        with make_client(web_store) as stranger:
            # Private: a visitor is sent to sign in, another reader gets a 404.
            assert stranger.get(f"{collection}.bib", follow_redirects=False).status_code == 303
            sign_up(stranger, "stranger")
            assert stranger.get(f"{collection}.bib").status_code == 404
            owner.post(f"{collection}/share", data={"csrf_token": csrf_of(owner), "public": "yes"})
            assert len(bibtexparser.parse_string(stranger.get(f"{collection}.bib").text).entries) == 2
