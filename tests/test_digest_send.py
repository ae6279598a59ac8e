"""Sending digests against a real SMTP server on loopback: exactly once, retries, bounces,
dry runs, and a sender killed half-way (a real ``paperscope digest send`` subprocess)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from mail_fixtures import SmtpServer, fill_store, free_port, start_smtp_server, wait_for
from paperscope.cli import main
from paperscope.mail.sending import DigestSender
from paperscope.mail.settings import MailSettings
from paperscope.store import Store
from paperscope.store.digests import SUSPEND_AFTER_FAILURES
from pg import child_env

MONDAY, TUESDAY, WEDNESDAY = date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)
SATURDAY = date(2026, 11, 28)


@pytest.fixture()
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    yield from start_smtp_server(monkeypatch)


@pytest.fixture()
def filled(store: Store, shared_data: Path) -> Iterator[Store]:
    fill_store(store, shared_data)
    yield store


def subscribers(store: Store, count: int, frequency: str = "daily") -> list[str]:
    emails = [f"reader{i}@example.org" for i in range(count)]
    for email in emails:
        store.digests.confirm(store.digests.subscribe(email, frequency).id)
    return emails


def sender(store: Store, **kw: object) -> DigestSender:
    kw.setdefault("retry_wait", 0.01)
    return DigestSender(store, MailSettings.load(store.settings), **kw)  # type: ignore[arg-type]


def test_each_due_digest_goes_out_once(smtp_server: SmtpServer, filled: Store) -> None:
    emails = subscribers(filled, 3)
    filled.digests.subscribe("pending@example.org", "daily")  # never confirmed
    first = sender(filled).run("daily", MONDAY)
    assert sorted(first.sent) == emails
    assert sorted(r.rcpt_tos[0] for r in smtp_server.handler.received) == emails
    rerun = sender(filled).run("daily", MONDAY)
    assert rerun.sent == [] and rerun.already_done == 3
    assert len(smtp_server.handler.received) == 3
    sends = filled.digests.sends(period_key="2026-11-23")
    assert {(s.status, s.email) for s in sends} == {("sent", e) for e in emails}
    # The recorded Message-ID is the one the reader got.
    got = {r.rcpt_tos[0]: r.message["Message-ID"] for r in smtp_server.handler.received}
    assert {s.email: s.message_id for s in sends} == got
    # No digests at weekends; the next weekday is a new period with new papers.
    assert sender(filled).run("daily", SATURDAY).period_key is None
    tuesday = sender(filled).run("daily", TUESDAY)
    assert sorted(tuesday.sent) == emails
    by_reader = Counter(r.rcpt_tos[0] for r in smtp_server.handler.received)
    assert set(by_reader.values()) == {2}
    # No paper is sent to the same subscriber twice across digests.
    for email in emails:
        titles = [
            line
            for r in smtp_server.handler.to(email)
            for line in r.message.get_body(("plain",)).get_content().splitlines()  # type: ignore[union-attr]
            if line.strip().startswith("paperscope: http")
        ]
        assert len(titles) == 20 and len(set(titles)) == 20


def test_weekly_period_is_the_iso_week(smtp_server: SmtpServer, filled: Store) -> None:
    subscribers(filled, 1, "weekly")
    report = sender(filled).run("weekly", MONDAY)
    assert report.period_key == "2026-W48" and len(report.sent) == 1
    assert sender(filled).run("weekly", date(2026, 11, 29)).sent == []  # Sunday, same ISO week
    assert len(sender(filled).run("weekly", date(2026, 11, 30)).sent) == 1  # 2026-W49


def test_421_is_retried_until_the_server_recovers(smtp_server: SmtpServer, filled: Store) -> None:
    subscribers(filled, 1)
    smtp_server.handler.fail_first = 2
    report = sender(filled, attempts=4).run("daily", MONDAY)
    assert report.sent == ["reader0@example.org"]
    assert smtp_server.handler.data_attempts == 3 and len(smtp_server.handler.received) == 1
    assert filled.digests.sends()[0].status == "sent"


def test_persistent_421_leaves_the_digest_due(smtp_server: SmtpServer, filled: Store) -> None:
    subscribers(filled, 1)
    smtp_server.handler.fail_first = 100
    report = sender(filled, attempts=3).run("daily", MONDAY)
    assert report.deferred == ["reader0@example.org"] and report.sent == []
    send = filled.digests.sends()[0]
    assert send.status == "deferred" and "421" in (send.last_error or "")
    assert filled.digests.sent_paper_ids(send.subscription_id) == set()  # its papers are free again
    smtp_server.handler.fail_first = 0
    smtp_server.handler.data_attempts = 0
    again = sender(filled).run("daily", MONDAY)
    assert again.sent == ["reader0@example.org"] and len(smtp_server.handler.received) == 1
    assert filled.digests.sends()[0].status == "sent"


def test_connection_refused_is_temporary(
    smtp_server: SmtpServer, filled: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscribers(filled, 1)
    monkeypatch.setenv("PAPERSCOPE_SMTP_PORT", str(free_port()))  # nothing listens there
    report = sender(filled, attempts=2).run("daily", MONDAY)
    assert report.deferred == ["reader0@example.org"]
    assert "cannot reach" in (filled.digests.sends()[0].last_error or "")


def test_550_is_recorded_and_suspends_after_repeats(smtp_server: SmtpServer, filled: Store) -> None:
    emails = subscribers(filled, 2)
    bouncing = emails[0]
    smtp_server.handler.reject.add(bouncing)
    for n, day in enumerate((MONDAY, TUESDAY, WEDNESDAY), start=1):
        report = sender(filled).run("daily", day)
        assert report.failed == [bouncing] and report.sent == [emails[1]]
        sub = filled.digests.subscriptions(email=bouncing)[0]
        assert sub.permanent_failures == n
        send = filled.digests.send_for(sub.id, day.isoformat())
        assert send is not None and send.status == "failed" and "550" in (send.last_error or "")
    assert SUSPEND_AFTER_FAILURES == 3
    assert sub.status == "suspended" and report.suspended == [bouncing]
    # Shown to the operator, and no longer tried.
    listing = CliRunner().invoke(main, ["--home", str(filled.settings.home), "digest", "list"])
    assert listing.exit_code == 0 and "SUSPENDED" in listing.output and bouncing in listing.output
    assert sender(filled).run("daily", date(2026, 11, 26)).failed == []
    assert all(r.rcpt_tos == [emails[1]] for r in smtp_server.handler.received)


def test_dry_run_writes_files_and_records_nothing(
    smtp_server: SmtpServer, filled: Store, tmp_path: Path
) -> None:
    emails = subscribers(filled, 2)
    out = tmp_path / "dry"
    result = CliRunner().invoke(
        main,
        [
            "--home",
            str(filled.settings.home),
            "digest",
            "send",
            "--period",
            "daily",
            "--dry-run",
            "--out",
            str(out),
            "--today",
            "2026-11-23",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    run = orjson.loads(result.output)["runs"][0]
    assert run["dry_run"] and run["sent"] == []
    assert sorted(p.suffix for p in out.iterdir()) == [".eml", ".eml", ".html", ".html"]
    for eml in out.glob("*.eml"):
        message = message_from_bytes(eml.read_bytes(), policy=policy.default)
        assert message["To"] in emails and message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert eml.with_suffix(".html").read_text().startswith("<!DOCTYPE html>")
    assert smtp_server.handler.received == []
    assert filled.digests.sends() == []
    assert all(not filled.digests.sent_paper_ids(s.id) for s in filled.digests.subscriptions())


def test_stale_claim_before_data_ended_is_resent(smtp_server: SmtpServer, filled: Store) -> None:
    """A sender that died before the final "." delivered nothing: the digest is sent, once."""
    subscribers(filled, 1)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    import socket

    claim = filled.digests.claim(
        filled.digests.subscriptions()[0].id,
        "2026-11-23",
        claimed_by=f"{socket.gethostname()}:{int(dead.stdout)}:dead",
        message_id="<x@test>",
        is_stale=lambda s: False,
    )
    assert claim is not None
    filled.digests.record_items(claim, [1, 2, 3])
    report = sender(filled).run("daily", MONDAY)
    assert report.sent == ["reader0@example.org"] and len(smtp_server.handler.received) == 1
    send = filled.digests.sends()[0]
    assert send.status == "sent" and send.attempts == 2


def test_live_claim_of_another_sender_is_left_alone(smtp_server: SmtpServer, filled: Store) -> None:
    subscribers(filled, 1)
    import socket

    filled.digests.claim(
        filled.digests.subscriptions()[0].id,
        "2026-11-23",
        claimed_by=f"{socket.gethostname()}:{os.getppid()}:alive",
        message_id="<y@test>",
        is_stale=lambda s: False,
    )
    report = sender(filled).run("daily", MONDAY)
    assert report.sent == [] and report.already_done == 1 and smtp_server.handler.received == []


def _cli_env(smtp_server: SmtpServer, home: Path) -> dict[str, str]:
    env = {**child_env(home), **smtp_server.env(), "PAPERSCOPE_HOME": str(home)}
    env.pop("PAPERSCOPE_SECRET", None)
    return env


def test_killed_half_way_then_rerun(smtp_server: SmtpServer, filled: Store) -> None:
    """SIGKILL while the server holds the 3rd message; the rerun sends the rest, once each."""
    emails = subscribers(filled, 6)
    handler = smtp_server.handler
    handler.hold_at = 3
    exe = str(Path(sys.executable).parent / "paperscope")  # the installed entry point
    cmd = [exe, "digest", "send", "--period", "daily", "--today", "2026-11-23"]
    env = _cli_env(smtp_server, filled.settings.home)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: handler.held.is_set() or proc.poll() is not None, timeout=120)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    handler.hold_at = None
    handler.release.set()
    assert proc.returncode == -signal.SIGKILL
    assert len(handler.received) == 3
    statuses = Counter(s.status for s in filled.digests.sends())
    assert statuses == {"sent": 2, "committing": 1}

    rerun = subprocess.run([*cmd, "--json"], env=env, capture_output=True, text=True, timeout=300)
    report = orjson.loads(rerun.stdout)["runs"][0]
    assert len(report["sent"]) == 3, rerun.stdout + rerun.stderr
    # Every subscriber got exactly one digest: none twice, none skipped.
    assert Counter(r.rcpt_tos[0] for r in handler.received) == Counter(emails)
    # The one in flight at the kill is flagged for the operator, not resent.
    assert [u["email"] for u in report["unknown"]] == [handler.received[2].rcpt_tos[0]]
    assert rerun.returncode == 1
    statuses = Counter(s.status for s in filled.digests.sends())
    assert statuses == {"sent": 5, "unknown": 1}
    # A third run sends nothing.
    third = subprocess.run([*cmd, "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert orjson.loads(third.stdout)["runs"][0]["sent"] == []
    assert len(handler.received) == 6
    # The operator settles it after checking the mail log.
    unknown_id = report["unknown"][0]["id"]
    settle = CliRunner().invoke(
        main, ["--home", str(filled.settings.home), "digest", "resolve", str(unknown_id), "--delivered"]
    )
    assert settle.exit_code == 0 and "sent" in settle.output


def test_killed_during_backoff_then_rerun(smtp_server: SmtpServer, filled: Store) -> None:
    """SIGKILL while the sender sleeps after a 421 (nothing accepted): the rerun sends it, once."""
    emails = subscribers(filled, 4)
    handler = smtp_server.handler
    handler.fail_at = {3}
    exe = str(Path(sys.executable).parent / "paperscope")
    base = [exe, "digest", "send", "--period", "daily", "--today", "2026-11-23"]
    env = _cli_env(smtp_server, filled.settings.home)
    proc = subprocess.Popen(
        [*base, "--retry-wait", "60"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        wait_for(lambda: handler.data_attempts >= 3 or proc.poll() is not None, timeout=120)
        # Wait until the refusal is recorded (the claim is back to 'sending'), then kill.
        wait_for(
            lambda: (
                any(s.status == "sending" and s.last_error is None for s in filled.digests.sends())
                and not any(s.status == "committing" for s in filled.digests.sends())
            ),
            timeout=30,
        )
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(handler.received) == 2
    rerun = subprocess.run([*base, "--json"], env=env, capture_output=True, text=True, timeout=300)
    report = orjson.loads(rerun.stdout)["runs"][0]
    assert len(report["sent"]) == 2 and report["unknown"] == [], rerun.stdout + rerun.stderr
    assert rerun.returncode == 0
    assert Counter(r.rcpt_tos[0] for r in handler.received) == Counter(emails)
    assert Counter(s.status for s in filled.digests.sends()) == {"sent": 4}


def test_bad_smtp_settings_stop_the_run_and_blame_no_one(
    smtp_server: SmtpServer, filled: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    emails = subscribers(filled, 3)
    monkeypatch.setenv("PAPERSCOPE_SMTP_USER", "bot")  # this server offers no AUTH
    report = sender(filled).run("daily", MONDAY)
    assert report.sent == [] and report.failed == [] and len(report.errors) == 1
    assert report.errors[0].startswith("stopped:")
    assert [s.status for s in filled.digests.sends()] == ["deferred"]
    assert all(s.permanent_failures == 0 for s in filled.digests.subscriptions())
    monkeypatch.delenv("PAPERSCOPE_SMTP_USER")
    assert sorted(sender(filled).run("daily", MONDAY).sent) == emails


def test_empty_digests_are_not_sent_and_stay_due(smtp_server: SmtpServer, filled: Store) -> None:
    sub = filled.digests.subscribe("niche@example.org", "daily", categories=["q-bio.NC"])
    filled.digests.confirm(sub.id)
    report = sender(filled).run("daily", MONDAY)
    assert report.empty == ["niche@example.org"] and report.sent == []
    assert smtp_server.handler.received == [] and filled.digests.sends() == []
    filled.digests.update(sub.id, filters={"categories": ["cs.CV"]})
    assert sender(filled).run("daily", MONDAY).sent == ["niche@example.org"]
