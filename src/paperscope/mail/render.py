"""The messages: a digest and a confirmation, each as multipart plain text + HTML.

The HTML uses inline styles and tables only (what Gmail, Outlook and Apple Mail all render),
and no remote images or tracking pixels: nothing in a digest phones home.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from ..store import Paper
from ..store.digests import Subscription
from .selection import Digest
from .settings import MailSettings
from .tokens import Tokens

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
ABSTRACT_CHARS = 400


@functools.cache
def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["short"] = short_abstract
    env.filters["authors"] = author_line
    return env


def short_abstract(text: str, limit: int = ABSTRACT_CHARS) -> str:
    """The abstract cut at a word boundary near ``limit`` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.")
    return cut + "…"


def author_line(authors: list[str], limit: int = 6) -> str:
    if not authors:
        return "Authors unknown"
    if len(authors) <= limit:
        return ", ".join(authors)
    return ", ".join(authors[:limit]) + f" and {len(authors) - limit} more"


def paper_view(paper: Paper, base_url: str) -> dict[str, Any]:
    return {
        "title": paper.title,
        "authors": paper.authors,
        "abstract": paper.abstract,
        "tldr": paper.ai_summary or "",
        "upvotes": paper.upvotes,
        "url": f"{base_url}/papers/{quote(paper.key, safe='')}",
        "abs_url": paper.abs_url,
        "pdf_url": paper.pdf_url,
        "arxiv_id": paper.arxiv_id,
    }


class Renderer:
    def __init__(self, mail: MailSettings) -> None:
        self.mail = mail
        self.tokens = Tokens(mail.secret)

    # -- links ----------------------------------------------------------------------------
    def unsubscribe_url(self, subscription: Subscription) -> str:
        token = self.tokens.unsubscribe_token(subscription.id, subscription.email)
        return f"{self.mail.base_url}/digest/unsubscribe/{token}"

    def confirm_url(
        self, subscription: Subscription, filters: dict[str, Any] | None = None, user_id: int | None = None
    ) -> str:
        token = self.tokens.confirm_token(
            subscription.id,
            subscription.email,
            filters if filters is not None else subscription.filters(),
            user_id,
        )
        return f"{self.mail.base_url}/digest/confirm/{token}"

    def _base(self, to: str, subject: str, now: datetime | None, message_id: str | None) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.mail.smtp.mail_from
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(now or datetime.now(UTC))
        message["Message-ID"] = message_id or self.new_message_id()
        message["Auto-Submitted"] = "auto-generated"
        return message

    def plain(self, to: str, subject: str, body: str, *, now: datetime | None = None) -> EmailMessage:
        """A plain-text message with this site's headers (the account mails: no HTML needed)."""
        message = self._base(to, subject, now, None)
        message.set_content(body)
        return message

    def new_message_id(self) -> str:
        return make_msgid(idstring="digest", domain=self.mail.smtp.from_domain)

    # -- messages -------------------------------------------------------------------------
    def digest(
        self, digest: Digest, *, now: datetime | None = None, message_id: str | None = None
    ) -> EmailMessage:
        sub = digest.subscription
        unsubscribe = self.unsubscribe_url(sub)
        context = {
            "subscription": sub,
            "frequency": sub.frequency,
            "period_key": digest.period_key,
            "start": digest.start,
            "end": digest.end,
            "trending": [paper_view(p, self.mail.base_url) for p in digest.trending],
            "related": [paper_view(p, self.mail.base_url) for p in digest.related],
            "base_url": self.mail.base_url,
            "unsubscribe_url": unsubscribe,
            "manage_url": f"{self.mail.base_url}/account/digests",
            "filters": describe_filters(sub),
        }
        label = "Daily" if sub.frequency == "daily" else "Weekly"
        count = len(digest.trending) + len(digest.related)
        subject = f"{label} papers digest, {digest.period_key}: {count} paper{'s' if count != 1 else ''}"
        message = self._base(sub.email, subject, now, message_id)
        mailto = f"mailto:{self.mail.unsubscribe_mailto}?subject={quote('unsubscribe ' + str(sub.id))}"
        # RFC 2369 + RFC 8058: mail clients show an unsubscribe button that POSTs to the https link.
        message["List-Unsubscribe"] = f"<{mailto}>, <{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message["List-Id"] = (
            f"paperscope {sub.frequency} digest <{sub.frequency}.digest.{self.mail.smtp.from_domain}>"
        )
        message.set_content(_environment(False).get_template("digest/email.txt").render(context))
        message.add_alternative(
            _environment(True).get_template("digest/email.html").render(context), subtype="html"
        )
        return message

    def confirmation(
        self,
        subscription: Subscription,
        filters: dict[str, Any] | None = None,
        *,
        user_id: int | None = None,
        now: datetime | None = None,
    ) -> EmailMessage:
        context = {
            "subscription": subscription,
            "confirm_url": self.confirm_url(subscription, filters, user_id),
            "filters": describe_filters(subscription, filters),
            "base_url": self.mail.base_url,
        }
        message = self._base(subscription.email, "Confirm your paperscope digest subscription", now, None)
        message.set_content(_environment(False).get_template("digest/confirm_email.txt").render(context))
        message.add_alternative(
            _environment(True).get_template("digest/confirm_email.html").render(context), subtype="html"
        )
        return message


def describe_filters(subscription: Subscription, filters: dict[str, Any] | None = None) -> str:
    """One line a reader understands: "categories cs.CL, cs.LG; keywords "diffusion"; 10+ upvotes"."""
    f = filters if filters is not None else subscription.filters()
    parts = []
    if f.get("categories"):
        parts.append("categories " + ", ".join(f["categories"]))
    if f.get("keywords"):
        parts.append(f"keywords \u201c{f['keywords']}\u201d")
    if int(f.get("min_upvotes") or 0) > 0:
        parts.append(f"at least {int(f['min_upvotes'])} upvotes")
    return "; ".join(parts) if parts else "all trending papers"
