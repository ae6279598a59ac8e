"""For you, onboarding, signals, author pages, private feeds and shared collections, over HTTP
against a home filled from ../shared/data (keyword index only: follows and trending answer)."""

from __future__ import annotations

import re
from urllib.parse import quote

import orjson
from fastapi.testclient import TestClient

from paperscope.store import Store
from web_support import csrf_of, make_client, sign_up

AUTHOR = "Nicole Cho"  # two papers on 2026-02-27, both with William Watson


def _post(client: TestClient, path: str, data: dict[str, str], page: str = "/for-you/start") -> object:
    return client.post(path, data={"csrf_token": csrf_of(client, page), **data}, follow_redirects=False)


def test_for_you_needs_sign_in_and_offers_onboarding(web_client: TestClient, web_store: Store) -> None:
    answer = web_client.get("/for-you", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin?next=/for-you")
    assert web_client.get("/api/for-you").status_code == 401
    sign_up(web_client, "ada")
    page = web_client.get("/for-you")
    assert page.status_code == 200 and "Set up your feed" in page.text and "trending this week" in page.text
    assert web_client.get("/api/for-you").json()["mode"] == "trending"
    # A script reads it with an API token (paperscope user token) and no cookie.
    user = web_store.accounts.get_user_by_name("ada")
    assert user is not None
    token = web_store.accounts.create_session(user.id)
    script = TestClient(web_client.app)
    assert script.get("/api/for-you", headers={"Authorization": f"Bearer {token}"}).json()["onboarding"] is True
    assert script.get("/api/for-you", headers={"Authorization": "Bearer nope"}).status_code == 401
    # Without signals the home page stays the daily list.
    assert web_client.get("/", follow_redirects=False).status_code == 200


def test_onboarding_follows_categories_and_seeds(web_client: TestClient, web_store: Store) -> None:
    sign_up(web_client, "ada")
    start = web_client.get("/for-you/start")
    seed = re.findall(r'name="seed" value="([^"]+)"', start.text)[0]
    token = csrf_of(web_client, "/for-you/start")
    answer = web_client.post(
        "/for-you/start",
        data={"csrf_token": token, "category": ["cs.CL", "cs.LG"], "other_categories": "hep-ph", "seed": seed,
              "library": "2602.99001 9999.99999"},
        follow_redirects=False,
    )
    assert answer.status_code == 200 and "9999.99999" in answer.text  # reported, the rest kept
    user = web_store.accounts.get_user_by_name("ada")
    assert user is not None
    signals = web_store.signals.reader(user.id)
    assert sorted(f.value for f in signals.categories) == ["cs.CL", "cs.LG", "hep-ph"]
    assert set(signals.positive_ids) == {web_store.resolve_key(seed), web_store.resolve_key("2602.99001")}
    # With signals, the home page is the For you list; a hep-ph paper is "new in hep-ph".
    assert web_client.get("/", follow_redirects=False).headers["location"] == "/for-you"
    data = web_client.get("/api/for-you?limit=50").json()
    assert data["mode"] == "follows"
    reasons = {r["text"] for p in data["papers"] for r in p["reasons"]}
    assert "new in hep-ph" in reasons
    assert seed not in {p["id"] for p in data["papers"]}, "a paper the reader chose is not suggested back"


def test_author_page_follow_and_reason(web_client: TestClient, web_store: Store) -> None:
    page = web_client.get(f"/authors/{quote(AUTHOR)}")
    assert page.status_code == 200
    assert "matched by the author's name as written" in page.text
    assert {"2602.20332", "2602.20300"} <= set(re.findall(r'<a href="/papers/([^"]+)">', page.text))
    assert 'href="/authors/William%20Watson"' in page.text  # a co-author, linked
    # Case and accents do not matter; an unknown name is 404.
    assert web_client.get("/authors/nicole%20CHO").status_code == 200
    assert web_client.get("/authors/Nobody%20Atall").status_code == 404
    sign_up(web_client, "ada")
    answer = _post(web_client, "/follow", {"kind": "author", "value": AUTHOR, "next": f"/authors/{AUTHOR}"})
    assert answer.status_code == 303  # type: ignore[attr-defined]
    assert "Following" in web_client.get(f"/authors/{quote(AUTHOR)}").text
    data = web_client.get("/api/for-you").json()
    top = data["papers"][0]
    assert AUTHOR in top["authors"] and top["reasons"][0]["text"] == f"by {AUTHOR}, whom you follow"
    # Author names on cards and paper pages link to their pages.
    assert f'href="/authors/{quote(AUTHOR)}"' in web_client.get(f"/papers/{top['id']}").text


def test_less_like_this_removes_a_paper_and_undo_brings_it_back(web_client: TestClient) -> None:
    sign_up(web_client, "ada")
    _post(web_client, "/follow", {"kind": "author", "value": AUTHOR})
    first = web_client.get("/api/for-you").json()["papers"]
    key = first[0]["id"]
    _post(web_client, f"/papers/{key}/feedback", {"value": "less", "next": "/for-you"})
    assert key not in {p["id"] for p in web_client.get("/api/for-you").json()["papers"]}
    signals = web_client.get("/me/signals")
    assert "Less like" in signals.text
    _post(web_client, f"/papers/{key}/feedback", {"value": "undo", "next": "/me/signals"})
    assert key in {p["id"] for p in web_client.get("/api/for-you").json()["papers"]}


def test_private_feed_needs_the_token_and_revoking_stops_it(web_client: TestClient) -> None:
    assert web_client.get("/feeds/for-you.atom").status_code == 404
    sign_up(web_client, "ada")
    _post(web_client, "/follow", {"kind": "author", "value": AUTHOR})
    made = _post(web_client, "/me/feed-token", {"action": "new"}, page="/me/signals")
    token = re.search(r"/feeds/for-you\.atom\?token=([\w-]+)", made.text).group(1)  # type: ignore[attr-defined, union-attr]
    anonymous = TestClient(web_client.app)
    feed = anonymous.get(f"/feeds/for-you.atom?token={token}")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    assert "No One Size Fits All" in feed.text and token not in feed.text
    assert anonymous.get("/feeds/for-you.atom?token=wrong").status_code == 404
    _post(web_client, "/me/feed-token", {"action": "revoke"}, page="/me/signals")
    assert anonymous.get(f"/feeds/for-you.atom?token={token}").status_code == 404


def test_collections_private_by_default_public_when_shared(web_client: TestClient, web_store: Store) -> None:
    sign_up(web_client, "ada")
    saved = _post(web_client, "/collections", {"name": "Agents", "paper": "2602.99001"}, page="/collections")
    where = saved.headers["location"]  # type: ignore[attr-defined]
    other = make_client(web_store)
    sign_up(other, "bob")
    assert other.get(where).status_code == 404, "another user's private collection stays 404"
    assert TestClient(web_client.app).get(where, follow_redirects=False).status_code == 303
    assert TestClient(web_client.app).get(where + "/feed.atom").status_code == 404
    _post(other, where + "/share", {"public": "yes"}, page="/collections")
    assert other.get(where).status_code == 404, "only the owner can share"
    _post(web_client, where + "/share", {"public": "yes"}, page=where)
    public = other.get(where)
    assert public.status_code == 200 and "a collection by ada" in public.text
    assert "Remove from collection" not in public.text and "Delete this collection" not in public.text
    assert f'href="{where}.bib"' in public.text
    assert TestClient(web_client.app).get(where + ".bib").status_code == 200, "a public collection's BibTeX"
    feed = TestClient(web_client.app).get(where + "/feed.atom")
    assert feed.status_code == 200 and "Scaling" in feed.text
    _post(web_client, where + "/share", {"public": "no"}, page=where)
    assert other.get(where).status_code == 404


def test_export_and_delete_my_signals(web_client: TestClient) -> None:
    sign_up(web_client, "ada")
    _post(web_client, "/follow", {"kind": "author", "value": AUTHOR})
    _post(web_client, "/searches", {"q": "hallucination"})
    _post(web_client, "/papers/2602.99001/upvote", {"next": "/"})
    exported = web_client.get("/me/signals.json")
    assert "attachment" in exported.headers["content-disposition"]
    data = orjson.loads(exported.content)
    assert data["followed_authors"][0]["name"] == AUTHOR
    assert data["saved_searches"][0]["query"] == "hallucination"
    assert [u["paper"] for u in data["upvotes"]] == ["2602.99001"]
    assert "2602.99001" in web_client.get("/me/upvotes").text
    refused = _post(web_client, "/me/signals/delete", {}, page="/me/signals")
    assert refused.status_code == 400  # type: ignore[attr-defined]
    _post(web_client, "/me/signals/delete", {"confirm": "yes"}, page="/me/signals")
    empty = orjson.loads(web_client.get("/me/signals.json").content)
    assert not empty["followed_authors"] and not empty["saved_searches"] and not empty["upvotes"]


def test_save_a_search_and_follow_a_category_from_their_pages(web_client: TestClient, web_store: Store) -> None:
    assert "Save this search" not in web_client.get("/search?q=hallucination").text
    sign_up(web_client, "ada")
    page = web_client.get("/search?q=hallucination")
    assert "Save this search" in page.text
    _post(web_client, "/searches", {"q": "hallucination", "next": "/search?q=hallucination"}, page="/search?q=x")
    trending = web_client.get("/trending?category=hep-ph&days=365")
    assert "Follow hep-ph" in trending.text
    _post(web_client, "/follow", {"kind": "category", "value": "hep-ph"}, page="/trending")
    refused = _post(web_client, "/follow", {"kind": "category", "value": "not a category!"}, page="/trending")
    assert refused.status_code == 400  # type: ignore[attr-defined]
    user = web_store.accounts.get_user_by_name("ada")
    assert user is not None
    signals = web_store.signals.reader(user.id)
    assert [s.query for s in signals.searches] == ["hallucination"]
    assert [f.value for f in signals.categories] == ["hep-ph"]
    reasons = {r["text"] for p in web_client.get("/api/for-you?limit=100").json()["papers"] for r in p["reasons"]}
    assert "matches your saved search “hallucination”" in reasons


def test_author_page_lists_newest_first_and_folds_accents(web_client: TestClient, web_store: Store) -> None:
    from paperscope.index.build import update_indexes
    from paperscope.records import PaperRecord

    web_store.write_records([
        PaperRecord(source="json-list", origin="t", title=f"Paper of {year}", arxiv_id=f"2601.0{year}",
                    abstract="text", authors=[name, "Other Person"], published=f"{year}-03-01")
        for year, name in ((2020, "Zoë Tëster"), (2024, "Zoe Tester"), (2022, "ZOË TËSTER"))
    ] + [PaperRecord(source="json-list", origin="t", title="Not hers", arxiv_id="2601.09999", abstract="x",
                     authors=["Zoe Tester-Smith"], published="2025-01-01")])
    update_indexes(web_store, semantic=False)
    page = web_client.get("/authors/zoe%20tester")
    assert page.status_code == 200
    keys = re.findall(r'<h2 id="t-\d+" class="math"><a href="/papers/([^"]+)">', page.text)
    assert keys == ["2601.02024", "2601.02022", "2601.02020"], "newest first, spellings folded, no namesakes"
    assert "here: " in page.text  # the spellings found are listed
