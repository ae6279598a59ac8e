"""Subscribing on the site with double opt-in, and one-click unsubscribe, against real SMTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from mail_fixtures import SmtpServer, start_smtp_server
from paperscope.mail.outbox import send_outbox
from paperscope.mail.settings import MailSettings
from paperscope.mail.tokens import Tokens
from paperscope.store import Store
from paperscope.web.app import create_app


@pytest.fixture()
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    yield from start_smtp_server(monkeypatch)


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "page has no CSRF field"
    return found.group(1)


def link_in(message: EmailMessage, kind: str) -> str:
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(rf"http://testserver/digest/{kind}/\S+", text)
    assert found, text
    return found.group(0)


def path_of(url: str) -> str:
    return urlsplit(url).path


@pytest.fixture()
def client(store: Store) -> TestClient:
    return TestClient(create_app(store))


def subscribe_via_form(client: TestClient, **fields: str) -> str:
    page = client.get("/digest/subscribe")
    assert page.status_code == 200
    response = client.post("/digest/subscribe", data={"csrf_token": csrf_from(page.text), **fields})
    return response.text if response.status_code == 200 else f"{response.status_code}: {response.text}"


def test_double_opt_in_end_to_end(smtp_server: SmtpServer, store: Store, client: TestClient) -> None:
    body = subscribe_via_form(
        client, email="Ada@Example.ORG", frequency="daily", categories="cs.CL, cs.LG", keywords="agents"
    )
    assert "Check your inbox" in body, body
    # The request only queued the confirmation; the outbox job delivers it.
    assert smtp_server.handler.received == []
    assert [(m.kind, m.recipient, m.status) for m in store.outbox.items()] == [
        ("confirmation", "ada@example.org", "queued")
    ]
    assert send_outbox(store)["sent"] == 1
    subs = store.digests.subscriptions()
    assert [(s.email, s.status, s.categories, s.keywords) for s in subs] == [
        ("ada@example.org", "pending", ["cs.CL", "cs.LG"], "agents")
    ]
    # Exactly one message, the confirmation; nothing else goes to a pending address.
    assert len(smtp_server.handler.received) == 1
    received = smtp_server.handler.received[0]
    assert received.rcpt_tos == ["ada@example.org"]
    message = received.message
    assert message["Subject"] == "Confirm your paperscope digest subscription"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    link = link_in(message, "confirm")

    # A tampered link is refused and changes nothing.
    bad = client.get(path_of(link)[:-3] + "xyz")
    assert bad.status_code == 400
    assert store.digests.subscriptions()[0].status == "pending"

    confirmed = client.get(path_of(link))
    assert confirmed.status_code == 200 and "Subscription confirmed" in confirmed.text
    sub = store.digests.subscriptions()[0]
    assert sub.status == "active" and sub.confirmed_at
    # Following the link again is harmless.
    assert client.get(path_of(link)).status_code == 200
    assert store.digests.subscriptions()[0].status == "active"


def test_subscribe_needs_csrf_and_a_real_address(
    smtp_server: SmtpServer, store: Store, client: TestClient
) -> None:
    forged = client.post("/digest/subscribe", data={"email": "a@example.org", "frequency": "weekly"})
    assert forged.status_code == 403
    assert "not an email address" in subscribe_via_form(client, email="not-an-address", frequency="weekly")
    assert "not one of daily, weekly" in subscribe_via_form(
        client, email="a@example.org", frequency="hourly"
    )
    assert store.digests.subscriptions() == []
    assert smtp_server.handler.received == []


def test_expired_confirmation_link(smtp_server: SmtpServer, store: Store, client: TestClient) -> None:
    subscribe_via_form(client, email="late@example.org", frequency="weekly")
    send_outbox(store)
    token = path_of(link_in(smtp_server.handler.received[0].message, "confirm")).rsplit("/", 1)[1]
    tokens = Tokens(MailSettings.load(store.settings).secret)
    with pytest.raises(Exception, match="expired"):
        tokens.read_confirm(token, max_age=-1)


def test_one_click_unsubscribe_by_post(smtp_server: SmtpServer, store: Store, client: TestClient) -> None:
    from datetime import date

    from mail_fixtures import fill_store
    from paperscope.mail.sending import DigestSender

    fill_store(store, Path(__file__).resolve().parents[2] / "shared" / "data")
    sub = store.digests.subscribe("bob@example.org", "daily")
    store.digests.confirm(sub.id)
    report = DigestSender(store, MailSettings.load(store.settings)).run("daily", date(2026, 11, 23))
    assert report.sent == ["bob@example.org"]
    message = smtp_server.handler.to("bob@example.org")[-1].message
    https_link = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])[1]
    assert https_link == link_in(message, "unsubscribe")

    # GET only shows a button (prefetchers must not unsubscribe anyone).
    page = client.get(path_of(https_link))
    assert page.status_code == 200 and "Unsubscribe" in page.text
    assert store.digests.get(sub.id).status == "active"  # type: ignore[union-attr]

    # RFC 8058: a bare POST with the one-click body, no cookies, no CSRF token, not signed in.
    fresh = TestClient(create_app(store))
    done = fresh.post(
        path_of(https_link),
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and "unsubscribed" in done.text
    assert store.digests.get(sub.id).status == "unsubscribed"  # type: ignore[union-attr]

    # A forged token (another id) is refused.
    assert (
        fresh.post(
            "/digest/unsubscribe/" + Tokens("other-secret").unsubscribe_token(sub.id, sub.email)
        ).status_code
        == 400
    )
    # Nothing more is sent.
    later = DigestSender(store, MailSettings.load(store.settings)).run("daily", date(2026, 11, 24))
    assert later.sent == []


def test_confirmations_to_one_address_are_limited(smtp_server: SmtpServer, store: Store) -> None:
    app = create_app(store)
    clients = [TestClient(app) for _ in range(4)]  # as if from different visitors
    bodies = [subscribe_via_form(c, email="target@example.org", frequency="weekly") for c in clients]
    assert ["Check your inbox" in b for b in bodies] == [True, True, True, False]
    assert "several times this hour" in bodies[3]
    assert send_outbox(store)["sent"] == 3
    assert len(smtp_server.handler.received) == 3
