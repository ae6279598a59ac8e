"""The two mails of a sign-up (see :mod:`paperscope.store.signups` for why sign-up mails
instead of answering): the link that finishes it, or the notice to an address that already
has an account.  Queued in the outbox, never sent from the web request."""

from __future__ import annotations

from email.message import EmailMessage

from ..store import Store
from ..store.signups import LINK_HOURS, Started
from .outbox import queue_message
from .render import Renderer
from .settings import MailSettings

FINISH_KIND = "signup"
NOTICE_KIND = "signup-notice"


def signup_message(mail: MailSettings, started: Started) -> tuple[str, EmailMessage]:
    """The message for ``started`` and its outbox kind."""
    renderer = Renderer(mail)
    site = mail.base_url
    if started.token is not None:
        body = (
            f"Someone (hopefully you) signed up on paperscope, {site}, as {started.username!r} with this address.\n\n"
            f"Open this link to finish creating the account (it expires in {LINK_HOURS} hours):\n\n"
            f"{site}/signup/confirm/{started.token}\n\n"
            "If it was not you, ignore this email: no account is made without the link.\n"
        )
        return FINISH_KIND, renderer.plain(started.email, "Finish signing up on paperscope", body)
    body = (
        f"Someone (hopefully you) tried to sign up on paperscope, {site}, with this address, "
        "which already has an account"
        + (f" (username {started.existing!r})" if started.existing else "")
        + ".\n\n"
        f"If it was you: sign in at {site}/signin with that username or this address.\n"
        "If it was not you: nothing was changed and no new account was made; you can ignore this email.\n"
    )
    return NOTICE_KIND, renderer.plain(started.email, "Someone tried to sign up with your address", body)


def queue_signup_mail(store: Store, mail: MailSettings, started: Started) -> int:
    """Queue the mail for ``started``; returns its outbox id."""
    kind, message = signup_message(mail, started)
    return queue_message(store, kind, message).id
