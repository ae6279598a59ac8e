"""The mail outbox against a real SMTP server (aiosmtpd): a digest sign-up queues its
confirmation, the ``outbox`` job delivers it exactly once, through failures, back-off and a
sender that died half-way; and a site with no mail server says so instead of failing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from mail_fixtures import SmtpServer, start_smtp_server
from paperscope.mail.outbox import send_outbox
from paperscope.mail.sending import sender_identity
from paperscope.store import Store
from paperscope.store.queues import MAX_ATTEMPTS, iso
from paperscope.web.app import create_app
from test_digest_subscribe import subscribe_via_form


@pytest.fixture()
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    yield from start_smtp_server(monkeypatch)


def _sign_up(store: Store, email: str = "ada@example.org") -> None:
    body = subscribe_via_form(TestClient(create_app(store)), email=email, frequency="weekly")
    assert "Check your inbox" in body and "on its way" in body, body


def _statuses(store: Store) -> list[str]:
    return [m.status for m in store.outbox.items()]


def test_sign_up_queues_and_the_outbox_delivers_once(smtp_server: SmtpServer, store: Store) -> None:
    _sign_up(store)
    assert smtp_server.handler.received == [] and smtp_server.handler.data_attempts == 0
    assert _statuses(store) == ["queued"]

    report = send_outbox(store)
    assert (report["sent"], report["retried"], report["remaining"]) == (1, 0, 0), report
    assert [r.rcpt_tos for r in smtp_server.handler.received] == [["ada@example.org"]]
    message = smtp_server.handler.received[0].message
    assert message["Subject"] == "Confirm your paperscope digest subscription"
    row = store.outbox.items()[0]
    assert row.status == "sent" and row.sent_at and message["Message-ID"] == row.message_id

    # Rerunning sends nothing more.
    assert send_outbox(store)["sent"] == 0
    assert len(smtp_server.handler.received) == 1


def test_a_failed_send_is_retried_with_back_off_and_sent_once(smtp_server: SmtpServer, store: Store) -> None:
    smtp_server.handler.fail_first = 2  # 421 to the first two DATA commands
    _sign_up(store)
    start = datetime.now(UTC)

    first = send_outbox(store, now=start)
    assert (first["sent"], first["retried"], first["remaining"]) == (0, 1, 1), first
    row = store.outbox.items()[0]
    assert row.status == "queued" and row.attempts == 1 and "421" in (row.last_error or "")
    assert row.next_attempt_at > iso(start)

    # Not due yet: a run right away does not touch the server.
    attempts = smtp_server.handler.data_attempts
    assert send_outbox(store, now=start)["retried"] == 0
    assert smtp_server.handler.data_attempts == attempts

    second = send_outbox(store, now=start + timedelta(minutes=1, seconds=1))
    assert second["retried"] == 1
    assert store.outbox.items()[0].next_attempt_at >= iso(start + timedelta(minutes=3))  # doubled
    assert send_outbox(store, now=start + timedelta(minutes=2))["retried"] == 0  # not yet due

    third = send_outbox(store, now=start + timedelta(minutes=4))
    assert third["sent"] == 1
    assert send_outbox(store, now=start + timedelta(hours=5))["sent"] == 0
    assert len(smtp_server.handler.received) == 1 and smtp_server.handler.data_attempts == 3
    assert _statuses(store) == ["sent"]


def test_permanent_refusal_and_giving_up(smtp_server: SmtpServer, store: Store) -> None:
    smtp_server.handler.reject = {"gone@example.org"}
    _sign_up(store, "gone@example.org")
    report = send_outbox(store)
    assert report["failed"] == 1 and _statuses(store) == ["failed"]
    assert "550" in (store.outbox.items()[0].last_error or "")

    smtp_server.handler.fail_first = 1000
    _sign_up(store, "busy@example.org")
    moment = datetime.now(UTC)
    for _ in range(MAX_ATTEMPTS):
        send_outbox(store, now=moment)
        moment += timedelta(hours=2)
    assert _statuses(store) == ["failed", "failed"]
    assert "gave up after" in (store.outbox.items()[1].last_error or "")
    assert smtp_server.handler.received == []


def _dead_claim() -> str:
    """The identity of a sender on this host whose process has exited."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host, _pid, nonce = sender_identity().split(":")
    return f"{host}:{int(done.stdout)}:{nonce}"


def test_a_sender_that_died_half_way(smtp_server: SmtpServer, store: Store) -> None:
    _sign_up(store, "before@example.org")
    _sign_up(store, "after@example.org")
    dead = _dead_claim()
    _before, after = store.outbox.claim_due(dead, iso(datetime.now(UTC)), 10)
    # Died before the final "." of one (nothing was delivered), after it for the other.
    assert store.outbox.mark_committing(after)

    report = send_outbox(store)
    assert report["sent"] == 1 and report["unknown"] == 1, report
    assert [r.rcpt_tos for r in smtp_server.handler.received] == [["before@example.org"]]
    rows = {m.recipient: m for m in store.outbox.items()}
    assert rows["before@example.org"].status == "sent"
    unknown = rows["after@example.org"]
    assert unknown.status == "unknown" and "not resent" in (unknown.last_error or "")
    assert send_outbox(store)["sent"] == 0 and len(smtp_server.handler.received) == 1

    # A live sender's claim is left alone.
    _sign_up(store, "busy@example.org")
    (busy,) = store.outbox.claim_due(sender_identity(), iso(datetime.now(UTC)), 10)
    assert send_outbox(store)["sent"] == 0
    assert store.outbox.get(busy.id).status == "sending"  # type: ignore[union-attr]


def test_without_a_mail_server_the_page_says_email_is_not_set_up(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PAPERSCOPE_SMTP_HOST", "PAPERSCOPE_SMTP_PORT"):
        monkeypatch.delenv(name, raising=False)
    client = TestClient(create_app(store))
    page = client.get("/digest/subscribe")
    assert page.status_code == 200
    assert "Email is not set up on this site" in page.text and 'name="email"' not in page.text

    # The small forms elsewhere still post: the answer says the same, and nothing is recorded.
    from test_digest_subscribe import csrf_from

    token = csrf_from(client.get("/signin").text)
    answer = client.post("/digest/subscribe", data={"csrf_token": token, "email": "a@example.org"})
    assert answer.status_code == 503
    assert "Email is not set up on this site" in answer.text
    assert "localhost" not in answer.text and ":25" not in answer.text
    assert store.digests.subscriptions() == [] and store.outbox.items() == []
    report = send_outbox(store)
    assert report["mail_configured"] is False and report["errors"] == [] and report["sent"] == 0


def test_config_toml_host_counts_as_configured(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAPERSCOPE_SMTP_HOST", raising=False)
    (store.settings.home / "config.toml").write_text('[smtp]\nhost = "mail.example.org"\n')
    page = TestClient(create_app(store)).get("/digest/subscribe")
    assert "Email is not set up" not in page.text and 'name="email"' in page.text


def test_the_outbox_job_delivers(smtp_server: SmtpServer, store: Store) -> None:
    import orjson
    from click.testing import CliRunner

    from paperscope.cli import main

    _sign_up(store)
    done = CliRunner().invoke(main, ["--home", str(store.settings.home), "--quiet", "jobs", "run", "outbox", "--json"])
    assert done.exit_code == 0, done.output
    (run,) = orjson.loads(done.stdout)["runs"]
    assert run["status"] == "ok" and run["counts"]["sent"] == 1, run
    assert [r.rcpt_tos for r in smtp_server.handler.received] == [["ada@example.org"]]
    assert [(j.name, j.runs, j.failures) for j in store.job_runs()] == [("outbox", 1, 0)]
