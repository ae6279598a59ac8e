"""Sign-up does not tell which email addresses have accounts: with a mail server, the form
answers the same either way and the mail (delivered through the outbox, over real SMTP) tells
only the mailbox owner.  A username that is taken is still named (store/signups.py says why).
Runs on both backends (``web_store``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from mail_fixtures import SmtpServer, start_smtp_server
from paperscope.mail.outbox import send_outbox
from paperscope.store import Store
from web_support import csrf_of, make_client

PASSWORD = "correct horse battery"


@pytest.fixture()
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    yield from start_smtp_server(monkeypatch)


def _sign_up(client: TestClient, username: str, email: str, password: str = PASSWORD) -> httpx.Response:
    data = {"csrf_token": csrf_of(client, "/signup"), "username": username, "email": email, "password": password}
    return client.post("/signup", data=data, follow_redirects=False)


def _body(smtp: SmtpServer, address: str) -> str:
    received = smtp.handler.to(address)
    assert len(received) == 1, [r.rcpt_tos for r in smtp.handler.received]
    return str(received[0].message.get_content())


def _page(text: str, email: str) -> str:
    """The page less what differs by design: the address typed and the per-request CSRF token."""
    return re.sub(r'value="[^"]{40,}"', "", re.sub(r'content="[^"]{40,}"', "", text)).replace(email, "EMAIL")


def test_sign_up_answers_the_same_whether_or_not_the_address_has_an_account(
    smtp_server: SmtpServer, web_store: Store
) -> None:
    web_store.accounts.create_user("holder", "holder@example.org", PASSWORD)
    with make_client(web_store) as client:
        taken = _sign_up(client, "newcomer", "Holder@Example.org")
        free = _sign_up(client, "newcomer2", "fresh@example.org")
        assert taken.status_code == free.status_code == 200
        assert _page(taken.text, "holder@example.org") == _page(free.text, "fresh@example.org")
        assert "If <strong>holder@example.org</strong> can be used" in taken.text
        assert "ps_session" not in client.cookies  # nobody is signed in before the mailbox answers
    assert web_store.accounts.get_user_by_name("newcomer") is None
    assert web_store.accounts.get_user_by_name("newcomer2") is None
    # Queued, not sent from the request; the outbox job delivers both over SMTP.
    assert smtp_server.handler.received == []
    assert send_outbox(web_store)["sent"] == 2
    notice = _body(smtp_server, "holder@example.org")
    assert "already has an account (username 'holder')" in notice and "/signup/confirm/" not in notice
    assert "nothing was changed" in notice
    finish = _body(smtp_server, "fresh@example.org")
    found = re.search(r"http://testserver(/signup/confirm/\S+)", finish)
    assert found and "'newcomer2'" in finish and PASSWORD not in finish


def test_the_mailed_link_makes_the_account_once(smtp_server: SmtpServer, web_store: Store) -> None:
    with make_client(web_store) as client:
        assert _sign_up(client, "linker", "linker@example.org").status_code == 200
        send_outbox(web_store)
        found = re.search(r"http://testserver(/signup/confirm/\S+)", _body(smtp_server, "linker@example.org"))
        assert found
        link = found.group(1)
        # Opening the link (as a mail scanner does) only shows a button.
        page = client.get(link)
        assert page.status_code == 200 and "Create the account <strong>linker</strong>" in page.text
        assert web_store.accounts.get_user_by_name("linker") is None
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        made = client.post(link, data={"csrf_token": token.group(1)}, follow_redirects=False)
        assert made.status_code == 303 and "ps_session" in client.cookies
        user = web_store.accounts.get_user_by_name("linker")
        assert user is not None and user.email == "linker@example.org"
        assert web_store.accounts.authenticate("linker", PASSWORD) == user
        # Spent: the link cannot make a second account or sign anyone in again.
        again = client.post(link, data={"csrf_token": csrf_of(client, "/")})
        assert again.status_code == 400 and "not valid" in again.text
        assert client.get(link).status_code == 400


def test_a_taken_username_is_named_a_link_expires_and_the_address_is_not_flooded(
    smtp_server: SmtpServer, web_store: Store
) -> None:
    web_store.accounts.create_user("public", "public@example.org", PASSWORD)
    with make_client(web_store, rate_limits={"signup": "100/minute"}) as client:
        taken = _sign_up(client, "PUBLIC", "someone@example.org")
        assert taken.status_code == 400 and "username is already taken" in taken.text
        common = _sign_up(client, "fresh1", "someone@example.org", password="password123")
        assert common.status_code == 400 and "most common" in common.text
        for _ in range(5):  # the same neutral answer every time, but at most 3 mails an hour
            assert _sign_up(client, "flooder", "victim@example.org").status_code == 200
    assert len(web_store.outbox.items()) == 3
    started = web_store.signups.start("late", "late@example.org", PASSWORD, now=datetime.now(UTC) - timedelta(hours=25))
    assert started.token is not None and web_store.signups.pending(started.token) is None


def test_without_a_mail_server_sign_up_is_immediate(web_client: TestClient, web_store: Store) -> None:
    """Documented fallback: with nobody to mail, the account is made at once."""
    answer = _sign_up(web_client, "direct", "direct@example.org")
    assert answer.status_code == 303 and "ps_session" in web_client.cookies
    assert web_store.outbox.items() == []
