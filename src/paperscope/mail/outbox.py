"""The outbox: mail a web request wants sent, delivered later by the ``outbox`` job.

A web request never talks to SMTP (a slow or absent mail server would hold the page, and a
worker thread, for the SMTP timeout).  It renders the message and queues it with
:func:`queue_message`; :func:`send_outbox` (the scheduler's ``outbox`` job, or ``paperscope
digest subscribe`` for the one message it queued) delivers the due rows.

Exactly once: a row is claimed with a conditional write before the connection, marked
``committing`` right before the final ``.`` of SMTP DATA and ``sent`` after the server's
answer (the digest sends' protocol, :mod:`paperscope.mail.sending`).  A temporary failure puts
the row back in the queue with exponential back-off (:func:`paperscope.store.queues.retry_at`)
and after :data:`~paperscope.store.queues.MAX_ATTEMPTS` tries it is ``failed``; a permanent refusal
(5xx) fails it at once.  A sender killed before the final ``.`` delivered nothing and its row
is sent by the next run; one killed after it may have delivered, so the row becomes
``unknown`` and is never resent automatically.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Any

from ..store import Store
from ..store.queues import MAX_ATTEMPTS, QUEUED, OutboxItem, iso, retry_at
from .sending import ClaimLost, Deliver, claim_is_stale, sender_identity
from .settings import MailSettings
from .smtp import Misconfigured, Permanent, Temporary, Unknown, deliver

log = logging.getLogger(__name__)

# One message takes at most the SMTP timeout; a claim this old belongs to a dead sender.
LEASE_S = 5 * 60


@dataclass(slots=True)
class OutboxReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unknown: int = 0
    remaining: int = 0
    # False: no SMTP host is configured, so nothing was tried (and the site queues nothing).
    mail_configured: bool = True
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def queue_message(store: Store, kind: str, message: EmailMessage) -> OutboxItem:
    """Queue a rendered message (no network); the ``outbox`` job delivers it."""
    # as_string with the message's own policy: headers stay folded as they will be sent, and a
    # text column holds it on both backends (the parts are 7-bit after set_content's encoding).
    return store.outbox.enqueue(kind, str(message["To"]), message.as_string(), str(message["Message-ID"]))


def _parse(item: OutboxItem) -> EmailMessage:
    return message_from_string(item.message, policy=policy.default)


def send_outbox(
    store: Store,
    mail: MailSettings | None = None,
    *,
    limit: int = 100,
    now: datetime | None = None,
    only: Sequence[int] | None = None,
    deliver_fn: Deliver = deliver,
) -> dict[str, Any]:
    """Deliver the due rows of the outbox (at most ``limit``; with ``only``, just those ids).

    Returns ``{"sent", "retried", "failed", "unknown", "remaining", "mail_configured", "errors"}``
    (``remaining``: rows still queued, due now or later; ``mail_configured`` False: no SMTP host,
    nothing tried).  ``now`` is for tests moving the clock over back-offs.
    """
    mail = mail if mail is not None else MailSettings.load(store.settings)
    report = OutboxReport()
    outbox = store.outbox
    for item in outbox.recover(lambda row: claim_is_stale(row, lease_s=LEASE_S)):
        report.unknown += 1
        log.error("outbox: message %s to %s: delivery unknown, not resent", item.message_id, item.recipient)
    if not mail.smtp.configured:
        report.mail_configured = False
    else:
        moment = now or datetime.now(UTC)
        identity = sender_identity()
        claimed = outbox.claim_due(identity, iso(moment), limit, only)
        for index, item in enumerate(claimed):
            try:
                _send_one(store, mail, item, moment, report, deliver_fn)
            except Misconfigured as error:
                # Every other message would fail the same way: put them back untried and stop.
                report.errors.append(f"stopped: {error}")
                for rest in claimed[index + 1 :]:
                    outbox.release(rest)
                break
    report.remaining = outbox.counts().get(QUEUED, 0)
    return report.as_dict()


def _send_one(
    store: Store, mail: MailSettings, item: OutboxItem, now: datetime, report: OutboxReport, deliver_fn: Deliver
) -> None:
    outbox = store.outbox

    def on_commit() -> None:
        if not outbox.mark_committing(item):
            raise ClaimLost(f"outbox row {item.id} was taken over; message aborted before it was complete")

    try:
        deliver_fn(mail.smtp, _parse(item), on_commit)
    except Misconfigured as error:
        outbox.retry(item, str(error), retry_at(now, item.attempts))
        report.retried += 1
        raise
    except Temporary as error:
        if item.attempts >= MAX_ATTEMPTS:
            outbox.fail(item, f"gave up after {item.attempts} attempts: {error}")
            report.failed += 1
            log.error("outbox: %s to %s failed for good: %s", item.kind, item.recipient, error)
        else:
            outbox.retry(item, str(error), retry_at(now, item.attempts))
            report.retried += 1
            log.warning("outbox: %s to %s deferred: %s", item.kind, item.recipient, error)
    except Permanent as error:
        outbox.fail(item, str(error))
        report.failed += 1
        log.warning("outbox: %s to %s refused: %s", item.kind, item.recipient, error)
    except ClaimLost as error:
        log.warning("outbox: %s", error)
    except Unknown as error:
        outbox.mark_unknown(item, str(error))
        report.unknown += 1
        log.error("outbox: %s to %s: delivery unknown: %s", item.kind, item.recipient, error)
    else:
        outbox.mark_sent(item)
        report.sent += 1
        log.debug("outbox: %s sent to %s", item.kind, item.recipient)  # counted in the job report
