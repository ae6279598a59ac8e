"""Shape checks on values that come from people and from ingested data, one home each: arXiv
category names, e-mail addresses, link URLs, and the control characters text may not carry.

Used by the search language, the digest filters, sign-up and ingest alike, so a value that one
of them accepts is accepted by all.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# An arXiv category or archive: ``cs``, ``cs.CL``, ``hep-th``, ``math.AG`` (any case).
_CATEGORY = re.compile(r"^[a-z][a-z\-]*(?:\.[a-z\-]+)?$", re.IGNORECASE)
# Deliberately loose (one "@", a dot in the domain, no spaces): the confirmation mail is the
# real check, and strict RFC 5322 validation rejects addresses that work.
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
MAX_EMAIL = 254  # RFC 5321's limit on a forward path
# C0 controls but tab, newline and carriage return; DEL; and the two XML non-characters.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
LINK_SCHEMES = ("http", "https")


def is_category(name: str) -> bool:
    return bool(_CATEGORY.match(name))


def is_email(address: str) -> bool:
    return len(address) <= MAX_EMAIL and bool(_EMAIL.match(address))


def strip_controls(text: str) -> str:
    """``text`` without control characters (tab and line breaks stay): they break XML feeds and
    a NUL fails a whole PostgreSQL batch."""
    return _CONTROL.sub("", text)


def has_controls(text: str) -> bool:
    return bool(_CONTROL.search(text))


def link_problem(url: str) -> str | None:
    """Why ``url`` may not be shown as a link (``javascript:``, ``data:``, no host...), or None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError as error:
        return f"{url[:100]!r} is not a URL ({error})"
    if parts.scheme.lower() not in LINK_SCHEMES:
        return f"{url[:100]!r} is not an http(s) URL"
    if not parts.netloc or any(c.isspace() for c in url.strip()):
        return f"{url[:100]!r} is not an http(s) URL with a host"
    return None


# Entries of a paper's ``links`` that are shown as links; the others are ids (``hf_discussion``).
URL_LINKS = frozenset({"abs", "pdf", "code", "project"})


def is_url_like(name: str, value: str) -> bool:
    """Whether a ``links`` entry is (or claims to be) a URL: a link name, a scheme, or ``//``."""
    return name in URL_LINKS or ":" in value or value.lstrip().startswith("//")


def safe_link(url: str | None) -> str | None:
    """``url`` when it may be emitted as a link, else None: the last guard on output."""
    return url if url and link_problem(url) is None else None


def safe_links(links: dict[str, str]) -> dict[str, str]:
    """A paper's ``links`` without any URL that is not http(s) (ids such as ``hf_discussion`` stay)."""
    return {name: value for name, value in links.items() if not is_url_like(name, value) or safe_link(value)}
