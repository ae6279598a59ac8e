"""The digest run that cron calls: send every due digest exactly once, and record each send.

Exactly-once, and what happens when a sender dies
-------------------------------------------------
Before it talks to SMTP, a sender claims the (subscription, period) row of ``digest_sends``
in its own transaction (status ``sending``, ``claimed_by`` = host:pid:nonce, ``claimed_at``)
and records the digest's papers in ``digest_items`` with it.  Right before it writes the
final ``.`` of SMTP DATA it marks the row ``committing``; after the server's 250, ``sent``.

A rerun finds a claim whose owner is gone (same host and its pid is dead, or the claim is
older than the lease) and decides from the status alone:

* ``sending``: the sender died before the server had the whole message.  SMTP servers
  discard an unterminated DATA, so nothing was delivered: the claim is taken over and the
  digest is sent.  No skip, no duplicate.
* ``committing``: the server had the whole message and we never saw its answer; it may
  well have been delivered.  Resending could deliver it twice, so the row becomes
  ``unknown``: never resent automatically, listed by ``digest send`` and ``digest list`` for
  the operator, who settles it with ``digest resolve ID --delivered|--resend`` (after
  looking at the mail server's log for the Message-ID recorded in the row).  This window is
  one network round trip per message, so it is rare; "never twice" wins inside it.

Temporary failures (4xx, refused connection) are retried with exponential backoff; if they
persist the row becomes ``deferred`` and is due again on the next run.  Permanent failures
(5xx) make it ``failed`` for this period and count against the address, which is suspended
after three in a row.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential
from tqdm import tqdm

from ..errors import PaperscopeError
from ..store import Store
from ..store.digests import ACTIVE, SUSPENDED, UNKNOWN, Claim, Subscription
from .periods import period_key
from .render import Renderer
from .selection import Selector
from .settings import MailSettings, SmtpSettings
from .smtp import Misconfigured, Permanent, Temporary, Unknown, deliver

log = logging.getLogger(__name__)

LEASE_S = 15 * 60

Deliver = Callable[[SmtpSettings, EmailMessage, Callable[[], None] | None], None]


@dataclass(slots=True)
class SendReport:
    frequency: str
    period_key: str | None
    dry_run: bool = False
    sent: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    suspended: list[str] = field(default_factory=list)
    unknown: list[dict[str, Any]] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    already_done: int = 0
    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sender_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class Claimed(Protocol):
    """A row claimed by a sender: a digest send, or an outbox message (:mod:`.outbox`)."""

    claimed_by: str | None
    claimed_at: str | None


def claim_is_stale(send: Claimed, *, lease_s: float = LEASE_S, now: datetime | None = None) -> bool:
    """True when the claim's owner is known dead (same host) or its lease has run out."""
    now = now or datetime.now(UTC)
    if send.claimed_at:
        claimed = datetime.strptime(send.claimed_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if now - claimed > timedelta(seconds=lease_s):
            return True
    host, _, rest = (send.claimed_by or "").partition(":")
    pid_text = rest.partition(":")[0]
    # A pid is only meaningful on its own host; elsewhere the lease is the only evidence.
    if host == socket.gethostname() and pid_text.isdigit() and int(pid_text) != os.getpid():
        return not _pid_alive(int(pid_text))
    return False


class ClaimLost(Exception):
    """Another sender took our claim over (it presumed us dead); we stop before completing DATA."""


class DigestSender:
    def __init__(
        self,
        store: Store,
        mail: MailSettings,
        *,
        selector: Selector | None = None,
        deliver_fn: Deliver = deliver,
        attempts: int = 4,
        retry_wait: float = 2.0,
        retry_max_wait: float = 60.0,
        lease_s: float = LEASE_S,
        on_sent: Callable[[Subscription], None] | None = None,
    ) -> None:
        self.store = store
        self.mail = mail
        self.renderer = Renderer(mail)
        self.selector = selector or Selector(store)
        self.deliver = deliver_fn
        self.attempts = attempts
        self.retry_wait = retry_wait
        self.retry_max_wait = retry_max_wait
        self.lease_s = lease_s
        self.identity = sender_identity()
        self.on_sent = on_sent

    def due(self, frequency: str) -> list[Subscription]:
        return [s for s in self.store.digests.subscriptions(status=ACTIVE) if s.frequency == frequency]

    def run(
        self,
        frequency: str,
        today: date,
        *,
        dry_run: bool = False,
        out_dir: Path | None = None,
        progress: bool = False,
    ) -> SendReport:
        key = period_key(frequency, today)
        report = SendReport(frequency, key, dry_run=dry_run)
        if key is None:
            return report
        due = self.due(frequency)
        bar = tqdm(due, desc=f"{frequency} {key}", unit="digest", disable=not progress, file=sys.stderr)
        for subscription in bar:
            if dry_run:
                self._dry_run(
                    subscription, key, today, out_dir or self.store.settings.home / "digest-dry-run", report
                )
                continue
            try:
                self._send_one(subscription, key, today, report)
            except Misconfigured as error:
                # Every other digest would fail the same way: stop, leave them all due.
                report.errors.append(f"stopped: {error}")
                break
        report.unknown = [
            {"id": s.id, "email": s.email, "period_key": s.period_key, "message_id": s.message_id}
            for s in self.store.digests.sends(statuses=[UNKNOWN])
        ]
        report.suspended = sorted(
            {*report.suspended, *(s.email for s in self.store.digests.subscriptions(status=SUSPENDED))}
        )
        return report

    def _dry_run(
        self, subscription: Subscription, key: str, today: date, out_dir: Path, report: SendReport
    ) -> None:
        existing = self.store.digests.send_for(subscription.id, key)
        if existing is not None and existing.status not in ("deferred",):
            report.already_done += 1
            return
        try:
            digest = self.selector.select(subscription, key, today)
        except PaperscopeError as error:
            report.errors.append(f"{subscription.email}: {error}")
            return
        if digest.is_empty:
            report.empty.append(subscription.email)
            return
        message = self.renderer.digest(digest)
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = out_dir / f"{key}-{subscription.id}"
        eml, html = stem.with_suffix(".eml"), stem.with_suffix(".html")
        eml.write_bytes(message.as_bytes())
        html_part = message.get_body(preferencelist=("html",))
        html.write_text(html_part.get_content() if html_part is not None else "", encoding="utf-8")
        report.files += [str(eml), str(html)]

    def _send_one(self, subscription: Subscription, key: str, today: date, report: SendReport) -> None:
        digests = self.store.digests
        claim = digests.claim(
            subscription.id,
            key,
            claimed_by=self.identity,
            message_id=self.renderer.new_message_id(),
            is_stale=lambda send: claim_is_stale(send, lease_s=self.lease_s),
        )
        if claim is None:
            report.already_done += 1
            return
        try:
            digest = self.selector.select(subscription, key, today)
        except PaperscopeError as error:  # e.g. a saved search while the search index is missing
            digests.defer(claim, str(error))
            report.errors.append(f"{subscription.email}: {error}")
            return
        if digest.is_empty:
            # Due again on a later run of the period (today's list may not be out yet).
            digests.release(claim)
            report.empty.append(subscription.email)
            return
        digests.record_items(claim, digest.paper_ids)
        message = self.renderer.digest(digest, message_id=claim.message_id)
        try:
            self._deliver_with_retries(claim, message)
        except Misconfigured:
            digests.defer(claim, "not sent: the SMTP settings need fixing")
            raise
        except Temporary as error:
            digests.defer(claim, str(error))
            report.deferred.append(subscription.email)
            log.warning("digest to %s deferred: %s", subscription.email, error)
        except Permanent as error:
            if digests.fail(claim, str(error)):
                report.suspended.append(subscription.email)
            report.failed.append(subscription.email)
            log.warning("digest to %s failed: %s", subscription.email, error)
        except ClaimLost as error:
            report.already_done += 1
            log.warning("%s", error)
        except Unknown as error:
            digests.mark_unknown(claim, str(error))
            log.error("digest to %s: delivery unknown: %s", subscription.email, error)
        else:
            digests.mark_sent(claim)
            report.sent.append(subscription.email)
            if self.on_sent is not None:
                self.on_sent(subscription)

    def _deliver_with_retries(self, claim: Claim, message: EmailMessage) -> None:
        digests = self.store.digests

        def on_commit() -> None:
            if not digests.mark_committing(claim):
                # Our claim was taken over (we were presumed dead): abort before the final ".".
                raise ClaimLost(
                    f"claim {claim.send_id} was taken over; message aborted before it was complete"
                )

        retrying = Retrying(
            retry=retry_if_exception(
                lambda e: isinstance(e, Temporary) and not isinstance(e, Misconfigured)
            ),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.retry_wait, max=self.retry_max_wait),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                try:
                    self.deliver(self.mail.smtp, message, on_commit)
                except Temporary:
                    # A definite refusal (or a failure before the final "."): nothing was
                    # accepted, so the claim goes back to 'sending' before the backoff sleep;
                    # a sender killed while sleeping is then resent, not left 'unknown'.
                    digests.mark_sending(claim)
                    raise
