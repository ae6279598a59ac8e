"""Subscribing with double opt-in: create or re-open a pending subscription and mail the link.

Shared by the web form and the operator's ``paperscope digest subscribe``; nothing but the
confirmation is ever sent to a pending address.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from ..checks import is_category, is_email
from ..errors import QueryError
from ..store import Store
from ..store.digests import ACTIVE, Subscription
from .outbox import queue_message
from .periods import FREQUENCIES
from .render import Renderer
from .settings import MailSettings

MAX_KEYWORDS = 300


@dataclass(slots=True)
class SubscribeOutcome:
    subscription: Subscription
    filters: dict[str, Any]
    confirmation_sent: bool  # queued in the outbox
    already_active: bool
    outbox_id: int | None = None


def normalize_email(email: str) -> str:
    address = parseaddr(email.strip())[1]
    if not is_email(address):
        raise QueryError(f"{email!r} is not an email address: give one such as name@example.org")
    # Lower-cased whole: RFC 5321 lets the local part be case-sensitive, but no mainstream
    # provider treats it so, and one address must not hold two subscriptions of a kind.
    return address.lower()


def clean_filters(categories: Sequence[str], keywords: str, min_upvotes: int) -> dict[str, Any]:
    cats: list[str] = []
    for raw in categories:
        for cat in re.split(r"[,\s]+", raw.strip()):
            if not cat:
                continue
            if not is_category(cat):
                raise QueryError(f"category {cat!r} is not an arXiv category such as cs.CL or cs")
            if cat not in cats:
                cats.append(cat)
    keywords = " ".join(keywords.split())
    if len(keywords) > MAX_KEYWORDS:
        raise QueryError(f"keywords are {len(keywords)} characters: keep them under {MAX_KEYWORDS}")
    if min_upvotes < 0:
        raise QueryError(f"minimum upvotes {min_upvotes} is negative: give 0 or more")
    return {"categories": cats, "keywords": keywords, "min_upvotes": int(min_upvotes)}


def check_frequency(frequency: str) -> str:
    if frequency not in FREQUENCIES:
        raise QueryError(f"frequency {frequency!r} is not one of {', '.join(FREQUENCIES)}")
    return frequency


def subscribe(
    store: Store,
    mail: MailSettings,
    email: str,
    frequency: str,
    *,
    categories: Sequence[str] = (),
    keywords: str = "",
    min_upvotes: int = 0,
    user_id: int | None = None,
    send: bool = True,
) -> SubscribeOutcome:
    """Record the request and queue a signed confirmation link carrying the filters in the outbox.

    Nothing here touches the network: the ``outbox`` job (:func:`paperscope.mail.outbox.send_outbox`)
    delivers the message; ``outbox_id`` names its row.  For an already active subscription the
    stored filters stay as they are until the new link is clicked, so only the mailbox owner can
    change them; likewise ``user_id`` (the signed-in account asking) is linked only by the click.
    """
    address = normalize_email(email)
    filters = clean_filters(categories, keywords, min_upvotes)
    subscription = store.digests.subscribe(address, check_frequency(frequency), **filters)
    already = subscription.status == ACTIVE
    outbox_id = None
    if send:
        message = Renderer(mail).confirmation(subscription, filters, user_id=user_id)
        outbox_id = queue_message(store, "confirmation", message).id
    return SubscribeOutcome(subscription, filters, send, already, outbox_id)
