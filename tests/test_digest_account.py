"""Signed-in subscribers: managing digests on the account page, and the "similar to what you
saved" section built from the semantic index."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mail_fixtures import HF_DAILY, SmtpServer, start_smtp_server
from paperscope.mail.outbox import send_outbox
from paperscope.mail.selection import Selector
from paperscope.store import Store
from paperscope.web.app import create_app
from test_digest_subscribe import csrf_from, link_in, path_of


@pytest.fixture()
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    yield from start_smtp_server(monkeypatch)


def sign_up(client: TestClient, username: str, email: str) -> None:
    page = client.get("/signup")
    response = client.post(
        "/signup",
        data={
            "csrf_token": csrf_from(page.text),
            "username": username,
            "email": email,
            "password": "correct horse battery staple",
            "next": "/account",
        },
    )
    assert response.status_code == 200, response.text
    # With a mail server, sign-up finishes through the mailed link (store/signups.py).
    store = client.app.state.web.store  # type: ignore[attr-defined]
    assert send_outbox(store)["sent"] == 1
    mailed = store.outbox.items()[-1]
    assert mailed.kind == "signup" and mailed.recipient == email
    found = re.search(r"/signup/confirm/[A-Za-z0-9_-]+", mailed.message)
    assert found, mailed.message
    page = client.get(found.group(0))
    done = client.post(found.group(0), data={"csrf_token": csrf_from(page.text)})
    assert done.status_code == 200 and "ps_session" in client.cookies, done.text


def test_account_page_manages_confirmed_digests(smtp_server: SmtpServer, store: Store) -> None:
    client = TestClient(create_app(store))
    sign_up(client, "ada", "ada@example.org")
    account = client.get("/account/digests")
    assert account.status_code == 200 and "You have no digest yet" in account.text
    assert 'action="/digest/subscribe"' in account.text  # the subscribe form partial
    response = client.post(
        "/digest/subscribe",
        data={"csrf_token": csrf_from(account.text), "email": "ada@example.org", "frequency": "weekly"},
    )
    assert "Check your inbox" in response.text
    # Not linked (nor listed) before the mailbox owner clicks: account emails are not verified.
    assert store.digests.subscriptions()[0].user_id is None
    assert "You have no digest yet" in client.get("/account/digests").text
    assert send_outbox(store)["sent"] == 1
    client.get(path_of(link_in(smtp_server.handler.received[-1].message, "confirm")))
    sub = store.digests.subscriptions()[0]
    assert sub.status == "active" and sub.user_id is not None

    page = client.get("/account/digests")
    assert "Weekly digest to ada@example.org" in page.text
    saved = client.post(
        f"/account/digests/{sub.id}",
        data={
            "csrf_token": csrf_from(page.text),
            "frequency": "daily",
            "categories": "cs.CL cs.LG",
            "keywords": "retrieval",
            "min_upvotes": "5",
            "action": "save",
        },
    )
    assert saved.status_code == 200 and "Daily digest to ada@example.org" in saved.text
    changed = store.digests.get(sub.id)
    assert changed is not None
    assert (changed.frequency, changed.categories, changed.keywords, changed.min_upvotes) == (
        "daily",
        ["cs.CL", "cs.LG"],
        "retrieval",
        5,
    )
    bad = client.post(
        f"/account/digests/{sub.id}",
        data={
            "csrf_token": csrf_from(page.text),
            "frequency": "daily",
            "categories": "not a category!",
            "action": "save",
        },
    )
    assert bad.status_code == 400 and "not an arXiv category" in bad.text
    # Without the CSRF token nothing changes.
    assert client.post(f"/account/digests/{sub.id}", data={"action": "unsubscribe"}).status_code == 403
    client.post(
        f"/account/digests/{sub.id}", data={"csrf_token": csrf_from(page.text), "action": "unsubscribe"}
    )
    assert store.digests.get(sub.id).status == "unsubscribed"  # type: ignore[union-attr]

    # Another account cannot see or change it.
    other = TestClient(create_app(store))
    sign_up(other, "eve", "eve@example.org")
    eve_page = other.get("/account/digests")
    assert "ada@example.org" not in eve_page.text
    denied = other.post(
        f"/account/digests/{sub.id}", data={"csrf_token": csrf_from(eve_page.text), "action": "save"}
    )
    assert denied.status_code == 404


@pytest.mark.slow
def test_related_section_from_saved_papers(store: Store, shared_data: Path, tmp_path: Path) -> None:
    # Two days of the sample keep embedding time short; the semantic index is the real one.
    data = json.loads((shared_data / HF_DAILY).read_text())
    data["papers"] = [p for p in data["papers"] if p["date"] in ("2026-02-26", "2026-02-27")]
    subset = tmp_path / "hf-daily-subset.json"
    subset.write_text(json.dumps(data))
    from paperscope.index.build import update_indexes
    from paperscope.ingest import Ingestor

    with Ingestor(store, report_rejects=False) as ingestor:
        assert ingestor.ingest_paths([subset]).added == len(data["papers"])
    update_indexes(store)

    user = store.accounts.create_user("reader", "reader@example.org", "correct horse battery staple")
    seeds = [p for p in data["papers"] if re.search(r"\bagent", p["title"], re.IGNORECASE)][:2]
    assert len(seeds) == 2
    seed_ids = [store.resolve_key(p["paper_id"]) for p in seeds]
    store.accounts.set_vote(user.id, seed_ids[0], True)  # type: ignore[arg-type]
    collection = store.accounts.create_collection(user.id, "to read")
    store.accounts.add_to_collection(user.id, collection.id, seed_ids[1])  # type: ignore[arg-type]
    sub = store.digests.subscribe("reader@example.org", "daily")
    store.digests.confirm(sub.id, user_id=user.id)
    sub = store.digests.get(sub.id)  # type: ignore[assignment]

    digest = Selector(store, top=5, related=5).select(sub, "2026-11-23", date(2026, 11, 23))  # type: ignore[arg-type]
    assert len(digest.related) == 5
    related_ids = [p.id for p in digest.related]
    assert not set(related_ids) & set(seed_ids), "saved papers are never suggested"
    assert not set(related_ids) & {p.id for p in digest.trending}, "no paper twice in one digest"
    # The section is the reader's For you list (the recommender the site uses), which leans
    # towards the seeds: most suggestions are among the seeds' 15 nearest neighbours.
    from paperscope.index.vectors import SemanticIndex
    from paperscope.recommend import Recommender

    taken = set(seed_ids) | {p.id for p in digest.trending}
    expected = Recommender(store).recommend(user.id, 5, exclude=taken)  # type: ignore[arg-type]
    assert related_ids == [r.paper.id for r in expected.items]
    with SemanticIndex.open(store.settings.index_dir) as index:
        near = {int(i) for seed in seed_ids for i in index.related(seed, 15).ids.tolist()}  # type: ignore[arg-type]
    assert len(set(related_ids) & near) >= 3
    # A subscriber who saved nothing gets no such section.
    plain = store.digests.subscribe("plain@example.org", "daily")
    store.digests.confirm(plain.id)
    assert (
        Selector(store).select(store.digests.get(plain.id), "2026-11-23", date(2026, 11, 23)).related == []
    )  # type: ignore[arg-type]
