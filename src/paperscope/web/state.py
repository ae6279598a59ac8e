"""What one app instance holds: the store, its settings, the lazily built searcher, the limiter."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from cachetools import TTLCache
from fastapi import Request
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from ..store import Store

if TYPE_CHECKING:
    from ..search.api import Searcher

# Per client address.  Generous for a person, tight for a script guessing passwords.
DEFAULT_RATE_LIMITS: dict[str, str] = {
    "signin": "10/minute",
    "signup": "5/minute",
    "submit": "10/minute",
    "upvote": "60/minute",
    "subscribe": "5/minute",
    # Sign-up mails per address (not per client): the form must not flood someone's inbox.
    "signup_mail": "3/hour",
}
DAYS_CACHE_SECONDS = 5.0
# Lists (a day's page of papers, trending) are kept this long in each worker; a vote or a
# submission through this worker empties the cache at once, so its author sees it on the next
# load; another worker's votes and a command-line ingest show within this many seconds.
LIST_CACHE_SECONDS = 5.0
LIST_CACHE_SIZE = 512
T = TypeVar("T")


@dataclass(slots=True)
class WebSettings:
    """Knobs of one app.  ``secret_key`` signs CSRF tokens; by default it is the store's settings'
    (``$PAPERSCOPE_SECRET_KEY``, else a key file made once in the home, so all workers agree)."""

    secret_key: str | None = None
    rate_limits: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    page_size: int = 50
    arxiv_api_url: str | None = None
    session_days: int = 30


class RateLimited(Exception):
    """Raised by :meth:`WebState.rate_limit`; the app answers 429 with Retry-After."""

    def __init__(self, name: str, retry_after: int) -> None:
        super().__init__(f"too many {name} requests: wait {retry_after} s and try again")
        self.name = name
        self.retry_after = retry_after


class WebState:
    """Shared by every request of one app: reached as ``request.app.state.web``."""

    def __init__(self, store: Store, settings: WebSettings) -> None:
        self.store = store
        self.settings = settings
        self.secret_key = settings.secret_key or store.settings.web_secret()
        # In-memory storage counts per process: with N workers the effective limit is N times
        # higher, which is acceptable for abuse protection (documented in app.py).
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._limits = {name: parse(value) for name, value in settings.rate_limits.items()}
        self._searcher: Searcher | None = None
        self._searcher_lock = threading.Lock()
        self._days: tuple[float, list[str]] | None = None
        self._lists: TTLCache[Hashable, Any] = TTLCache(maxsize=LIST_CACHE_SIZE, ttl=LIST_CACHE_SECONDS)
        self._lists_lock = threading.Lock()
        self._generation = 0

    def rate_limit(self, name: str, key: str) -> None:
        limit = self._limits.get(name)
        if limit is None:
            return
        if not self._limiter.hit(limit, name, key):
            reset, _remaining = self._limiter.get_window_stats(limit, name, key)
            raise RateLimited(name, max(1, int(reset - time.time()) + 1))

    def allowed(self, name: str, key: str) -> bool:
        """Like :meth:`rate_limit`, but says instead of raising (for limits that act silently)."""
        limit = self._limits.get(name)
        return limit is None or bool(self._limiter.hit(limit, name, key))

    @property
    def searcher(self) -> Searcher:
        """The search API, built on first use (loading indexes is slow; most pages never search)."""
        if self._searcher is None:
            with self._searcher_lock:
                if self._searcher is None:
                    from ..search.api import Searcher

                    self._searcher = Searcher(self.store)
        return self._searcher

    def list_days(self) -> list[str]:
        """Days with a list, cached a few seconds: every daily page needs them for its navigation."""
        now = time.monotonic()
        cached = self._days
        if cached is None or now - cached[0] > DAYS_CACHE_SECONDS:
            cached = (now, self.store.list_days())
            self._days = cached
        return cached[1]

    def cached(self, key: Hashable, build: Callable[[], T]) -> T:
        """``build()``'s value, kept :data:`LIST_CACHE_SECONDS` under ``key`` (read-only data only:
        every request of this worker gets the same object)."""
        with self._lists_lock:
            found = self._lists.get(key)
            generation = self._generation
        if found is not None:
            return cast(T, found)
        value = build()
        with self._lists_lock:
            # Built from data read before a change that happened meanwhile: use it once, keep it not.
            if generation == self._generation:
                self._lists[key] = value
        return value

    def changed(self) -> None:
        """Local data changed (a vote, a submitted paper): forget cached lists and days."""
        with self._lists_lock:
            self._generation += 1
            self._lists.clear()
            self._days = None


def web_state(request: Request) -> WebState:
    return cast(WebState, request.app.state.web)


def public_url(request: Request, path: str = "") -> str:
    """``path`` on the site's configured public address (the ``base_url`` setting): links that
    leave the request (feeds, canonical and Open Graph URLs, citations) never copy the Host
    header, which any client can set."""
    return web_state(request).store.settings.base_url.rstrip("/") + path
