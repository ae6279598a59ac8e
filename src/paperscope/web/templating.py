"""Templates: one Jinja2 environment (autoescape on) shared by every router.

Render with :func:`render`; every template then sees:

- ``user``: the signed-in :class:`~paperscope.store.accounts.User` or None,
- ``csrf_token``: the token to send with a state-changing request, and ``csrf_input``, the
  ready ``<input type="hidden" name="csrf_token">`` to drop into a ``<form method="post">``,
- ``request``, and the filters below (``authors_line``, ``short``, ``nice_date``, ``votes_title``).
"""

from __future__ import annotations

import html
import secrets
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from ..store.models import Paper
from .security import CSRF_FIELD, csrf_token, current_user
from .state import public_url

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"


def _context(request: Request) -> dict[str, Any]:
    token = csrf_token(request)
    return {
        "user": current_user(request),
        "csrf_token": token,
        "csrf_input": Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token),
        "public_url": lambda path="": public_url(request, path),
    }


def short(text: str, limit: int = 320) -> str:
    """The start of an abstract, cut at a word, never inside a ``$...$`` formula."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    if cut.count("$") % 2:
        cut = cut[: cut.rfind("$")].rstrip()
    return cut.rstrip(" ,;:") + " …"


def nice_date(value: str | None) -> str:
    if not value:
        return ""
    try:
        return date.fromisoformat(value[:10]).strftime("%b %-d, %Y")
    except ValueError:
        return value


def authors_line(authors: list[str], shown: int = 6) -> str:
    if len(authors) <= shown:
        return ", ".join(authors)
    return ", ".join(authors[:shown]) + f" and {len(authors) - shown} more"


def votes_title(paper: Paper) -> str:
    """Where the count comes from, e.g. "168 (165 Hugging Face + 3 here)"."""
    return f"{paper.upvotes} ({paper.hf_upvotes} Hugging Face + {paper.local_upvotes} here)"


def mark_safe_snippet(snippet_html: str | None) -> Markup:
    """A search snippet with only ``<mark>`` kept as markup.

    Whether or not the search API escaped the text, unescaping and escaping again yields the
    same safe markup, so an abstract holding ``<script>`` can never become a live tag.
    """
    text = html.unescape(snippet_html or "")
    safe = str(escape(text)).replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>")
    return Markup(safe)


templates = Jinja2Templates(directory=str(TEMPLATES_DIR), context_processors=[_context])
templates.env.filters.update(
    short=short, nice_date=nice_date, authors_line=authors_line, votes_title=votes_title
)
templates.env.filters["snippet"] = mark_safe_snippet
# Templates ship inside the package: checking every file's mtime on each render (four stat
# calls per daily page) cost ~6% of the server's CPU for a reload feature a deployment never uses.
templates.env.auto_reload = False
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context or {}, status_code=status_code)


# Cards rendered once serve many visitors, so the one per-visitor part, the CSRF token in each
# upvote form, is a placeholder that :func:`with_csrf` swaps for the visitor's token.  Random per
# process: no paper's text can contain it by chance or by design.
_CSRF_PLACEHOLDER = f"csrf-{secrets.token_hex(16)}"


def render_cards(papers: list[Paper], voted: set[int], here: str) -> str:
    """The ``paper_card`` of each paper, with a placeholder where the visitor's CSRF token goes."""
    csrf_input = Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, _CSRF_PLACEHOLDER)
    return templates.get_template("_cards.html").render(
        papers=papers, voted=voted, here=here, csrf_input=csrf_input
    )


def with_csrf(cards: str, request: Request) -> Markup:
    """Cards from :func:`render_cards` with this visitor's CSRF token filled in."""
    return Markup(cards.replace(_CSRF_PLACEHOLDER, csrf_token(request)))
