"""Digest subscriptions on the site: subscribe form, confirmation link, one-click unsubscribe,
and a signed-in user's "my digests" page.

The confirmation and unsubscribe links carry signed tokens (:mod:`paperscope.mail.tokens`):
the token is the authority, so they work without signing in and cannot be guessed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from ..errors import QueryError
from ..mail.settings import MailSettings
from ..mail.subscribing import check_frequency, clean_filters, normalize_email, subscribe
from ..mail.tokens import BadToken, Tokens
from ..store.accounts import User
from ..store.digests import ACTIVE, Subscription
from .params import RowId
from .security import check_csrf, client_key, current_user, safe_next, user_or_redirect
from .state import web_state
from .templating import render

router = APIRouter(include_in_schema=False)

# Per address, on top of the app's per-client "subscribe" limit: the form must not become a
# way to flood someone's inbox with confirmation mails from many clients.  In process memory,
# like the app's limits (per worker), kept on the app so that each app counts its own.
_PER_ADDRESS = parse("3/hour")


def _address_allowed(request: Request, address: str) -> bool:
    limiter = getattr(request.app.state, "digest_address_limiter", None)
    if limiter is None:
        limiter = request.app.state.digest_address_limiter = MovingWindowRateLimiter(MemoryStorage())
    return bool(limiter.hit(_PER_ADDRESS, "digest-confirm", address))


Text = Annotated[str, Form(max_length=2000)]


def _mail(request: Request) -> MailSettings:
    return MailSettings.load(web_state(request).store.settings)


def _split(categories: str) -> list[str]:
    return [part for part in categories.replace(",", " ").split() if part]


def _upvotes(value: str) -> int:
    try:
        return int(value or 0)
    except ValueError:
        raise QueryError(f"minimum upvotes {value!r} is not a whole number") from None


# Shown instead of the form, and answered to a POST, when no mail server is configured.
NO_MAIL = (
    "Email is not set up on this site, so digests cannot be sent. "
    "The operator can enable them by configuring a mail server."
)


@router.get("/digest/subscribe", response_class=HTMLResponse)
def subscribe_page(request: Request) -> Response:
    no_mail = None if _mail(request).smtp.configured else NO_MAIL
    return render(request, "digest/subscribe.html", {"error": None, "values": {}, "no_mail": no_mail})


@router.post("/digest/subscribe", response_class=HTMLResponse)
def subscribe_post(
    request: Request,
    email: Annotated[str, Form(max_length=300)] = "",
    frequency: Annotated[str, Form(max_length=20)] = "weekly",
    categories: Text = "",
    keywords: Text = "",
    min_upvotes: Annotated[str, Form(max_length=10)] = "0",
    next: Text = "/",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    state = web_state(request)
    state.rate_limit("subscribe", client_key(request))
    user = current_user(request)
    values = {
        "email": email,
        "frequency": frequency,
        "categories": categories,
        "keywords": keywords,
        "min_upvotes": min_upvotes,
    }
    mail = _mail(request)
    if not mail.smtp.configured:
        refused = {"error": None, "values": values, "no_mail": NO_MAIL}
        return render(request, "digest/subscribe.html", refused, status_code=503)
    try:
        address = normalize_email(email or (user.email if user else ""))
        if not _address_allowed(request, address):
            raise QueryError(
                f"a confirmation was already sent to {address} several times this hour: check the inbox"
            )
        # Queued in the outbox, never sent from here: the ``outbox`` job delivers it.
        outcome = subscribe(
            state.store,
            mail,
            address,
            frequency,
            categories=_split(categories),
            keywords=keywords,
            min_upvotes=_upvotes(min_upvotes),
            user_id=user.id if user is not None else None,
        )
    except QueryError as error:
        return render(
            request, "digest/subscribe.html", {"error": str(error), "values": values}, status_code=400
        )
    context = {
        "subscription": outcome.subscription,
        "already_active": outcome.already_active,
        "next": safe_next(next),
    }
    return render(request, "digest/check_inbox.html", context)


@router.get("/digest/confirm/{token}", response_class=HTMLResponse)
def confirm(request: Request, token: str) -> Response:
    # Confirming on GET is what people expect of a double opt-in link.  It is idempotent, and
    # a mail scanner that prefetches it only confirms what the mailbox owner asked for.
    tokens = Tokens(_mail(request).secret)
    try:
        payload = tokens.read_confirm(token)
    except BadToken as error:
        return render(request, "digest/link_error.html", {"message": str(error)}, status_code=400)
    digests = web_state(request).store.digests
    current = digests.get(payload.subscription_id)
    if current is None or current.email != payload.email:
        return render(
            request,
            "digest/link_error.html",
            {"message": "this subscription no longer exists: subscribe again"},
            status_code=404,
        )
    subscription = digests.confirm(payload.subscription_id, payload.filters, payload.user_id)
    return render(request, "digest/confirmed.html", {"subscription": subscription})


def _unsubscribe_target(request: Request, token: str) -> Subscription:
    try:
        sid, email = Tokens(_mail(request).secret).read_unsubscribe(token)
    except BadToken as error:
        raise HTTPException(400, str(error)) from error
    subscription = web_state(request).store.digests.get(sid)
    if subscription is None or subscription.email != email:
        raise HTTPException(404, "this subscription no longer exists: nothing more will be sent")
    return subscription


@router.get("/digest/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(request: Request, token: str) -> Response:
    # GET only shows a button: link checkers and prefetchers fetch every URL in a mail, and
    # must not unsubscribe anyone (RFC 8058 §3.2).
    subscription = _unsubscribe_target(request, token)
    return render(request, "digest/unsubscribe.html", {"subscription": subscription, "done": False})


@router.post("/digest/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_post(request: Request, token: str) -> Response:
    # The one state-changing POST without a CSRF token, on purpose: mail clients send the
    # RFC 8058 one-click POST ("List-Unsubscribe=One-Click") with no cookies or form token,
    # and the signed, unguessable token in the URL is the authority.  A forged cross-site
    # POST could at worst unsubscribe the address the token was mailed to.
    subscription = _unsubscribe_target(request, token)
    done = web_state(request).store.digests.unsubscribe(subscription.id)
    return render(request, "digest/unsubscribe.html", {"subscription": done, "done": True})


# -- a signed-in user's digests ------------------------------------------------------------------
def _owned(request: Request, user: User, subscription_id: int) -> Subscription:
    sub = web_state(request).store.digests.get(subscription_id)
    if sub is None or sub.user_id != user.id:
        raise HTTPException(404, f"you have no digest subscription {subscription_id}")
    return sub


@router.get("/account/digests", response_class=HTMLResponse)
def my_digests(request: Request) -> Response:
    user = user_or_redirect(request, "/account/digests")
    if not isinstance(user, User):
        return user
    subs = web_state(request).store.digests.for_user(user.id)
    return render(request, "digest/manage.html", {"subscriptions": subs, "error": None})


@router.post("/account/digests/{subscription_id}", response_class=HTMLResponse)
def update_digest(
    request: Request,
    subscription_id: RowId,
    frequency: Annotated[str, Form(max_length=20)] = "",
    categories: Text = "",
    keywords: Text = "",
    min_upvotes: Annotated[str, Form(max_length=10)] = "0",
    action: Annotated[str, Form(max_length=20)] = "save",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    user = user_or_redirect(request, "/account/digests")
    if not isinstance(user, User):
        return user
    sub = _owned(request, user, subscription_id)
    digests = web_state(request).store.digests
    try:
        if action == "unsubscribe":
            digests.unsubscribe(sub.id)
        else:
            filters = clean_filters(_split(categories), keywords, _upvotes(min_upvotes))
            new_frequency = check_frequency(frequency) if frequency else None
            if (
                new_frequency
                and new_frequency != sub.frequency
                and any(
                    s.frequency == new_frequency and s.id != sub.id
                    for s in digests.subscriptions(email=sub.email)
                )
            ):
                raise QueryError(f"you already have a {new_frequency} digest: edit that one instead")
            digests.update(sub.id, frequency=new_frequency, filters=filters)
            if sub.status != ACTIVE and sub.status != "pending":
                # Re-enabling a stopped digest: the account was linked by a confirmation click,
                # which proved the mailbox, so no new opt-in is needed.
                digests.confirm(sub.id)
    except QueryError as error:
        subs = digests.for_user(user.id)
        return render(
            request, "digest/manage.html", {"subscriptions": subs, "error": str(error)}, status_code=400
        )
    return RedirectResponse("/account/digests", status_code=303)
