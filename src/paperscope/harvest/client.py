"""The polite HTTP client every harvester shares: pacing, retries, Retry-After, clear errors.

arXiv asks robots for one request every few seconds and answers ``503 Retry-After`` when a
client is too eager; Hugging Face rate-limits with ``429``.  One client owns those rules so
that the harvesters only say *what* to fetch.  Retries use tenacity; the wait between two
attempts is either what the server asked for (capped) or an exponential backoff.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from .. import __version__
from ..config import Settings, environment_settings
from ..errors import NetworkError

USER_AGENT = f"paperscope/{__version__} (self-hosted paper discovery; +https://github.com/paperscope/paperscope)"

# Statuses that mean "not now" rather than "never": worth another try after a wait.
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Pacing:
    """How fast and how stubbornly to ask.  Defaults suit arXiv; tests shrink every figure."""

    delay: float = 3.0  # seconds between the starts of two requests (arXiv asks for ~3)
    max_wait: float = 120.0  # cap on one Retry-After wait, so a bad header cannot hang us
    retries: int = 4  # further attempts after the first for transient failures
    backoff: float = 2.0  # first backoff wait when the server named none; doubles each time
    timeout: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: float | int | None) -> Pacing:
        """Defaults, then the ``http_*`` settings that are set, then explicit non-None overrides."""
        values: dict[str, float | int] = {}
        for name in ("delay", "max_wait", "retries", "backoff", "timeout"):
            value = getattr(settings, f"http_{name}")
            if value is not None:
                values[name] = value
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, **overrides: float | int | None) -> Pacing:
        """:meth:`from_settings` for code that was handed no settings (``$PAPERSCOPE_HTTP_*``)."""
        return cls.from_settings(environment_settings(), **overrides)


class _Transient(Exception):
    """One failed attempt that may succeed later; ``retry_after`` is what the server asked for."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def full_url(url: str, params: Mapping[str, str] | None = None) -> str:
    return str(httpx.URL(url, params=dict(params) if params else None))


SHOWN_URL_CHARS = 200


def shown_url(url: str, params: Mapping[str, str] | None = None) -> str:
    """The URL for an error message: whole up to :data:`SHOWN_URL_CHARS`, else cut, since an
    enrichment batch's URL lists 100 ids (1,400 characters) and buried the reason in every log
    line, job record and page that quotes it."""
    whole = full_url(url, params)
    if len(whole) <= SHOWN_URL_CHARS:
        return whole
    return f"{whole[: SHOWN_URL_CHARS - 40]}… ({len(whole)} characters)"


class HttpClient:
    """A paced, retrying GET client.  ``hint`` ends every error message with what to do."""

    def __init__(self, pacing: Pacing | None = None, *, hint: str = "") -> None:
        self.pacing = pacing or Pacing.from_env()
        self.hint = hint
        self.requests = 0
        self.waited = 0.0  # seconds spent in Retry-After / backoff waits (reported, and tested)
        self._last_start: float | None = None
        self._client = httpx.Client(
            headers={"User-Agent": USER_AGENT},
            timeout=self.pacing.timeout,
            follow_redirects=True,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self, url: str, params: Mapping[str, str] | None = None, *, accept: Collection[int] = (200,)
    ) -> httpx.Response:
        """GET ``url``; return the response when its status is in ``accept``, else raise NetworkError."""
        shown = shown_url(url, params)
        retrying = Retrying(
            stop=stop_after_attempt(self.pacing.retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, url, params, accept, shown)
        except _Transient as error:
            attempts = self.pacing.retries + 1
            raise NetworkError(
                f"{error} (gave up after {attempts} attempt{'s' if attempts > 1 else ''}). {self._advice()}"
            ) from error

    def _advice(self) -> str:
        advice = "Check your network connection, or try again later."
        return f"{self.hint} {advice}".strip() if self.hint else advice

    def _attempt(
        self, url: str, params: Mapping[str, str] | None, accept: Collection[int], shown: str
    ) -> httpx.Response:
        self._pace()
        self.requests += 1
        try:
            response = self._client.get(url, params=dict(params) if params else None)
        except httpx.InvalidURL as error:
            raise NetworkError(f"{shown} is not a valid URL: {error}. {self._advice()}") from error
        except httpx.TransportError as error:
            # Connection refused, DNS failure, timeouts, resets: the network, not the request.
            detail = f"{type(error).__name__}: {error or 'no detail'}"
            raise _Transient(f"could not fetch {shown}: {detail}") from error
        if response.status_code in accept:
            return response
        if response.status_code in TRANSIENT_STATUSES:
            raise _Transient(
                f"{shown} answered HTTP {response.status_code}",
                parse_retry_after(response.headers.get("Retry-After")),
            )
        status = f"HTTP {response.status_code} {response.reason_phrase}"
        raise NetworkError(f"{shown} answered {status}. {self._advice()}")

    def _pace(self) -> None:
        # A plain "sleep until delay has passed since the last start" is all arXiv's rule needs;
        # a token-bucket library (limits) would add storage and nothing else for one client.
        if self._last_start is not None:
            remaining = self.pacing.delay - (time.monotonic() - self._last_start)
            if remaining > 0:
                time.sleep(remaining)
        self._last_start = time.monotonic()

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, _Transient) and error.retry_after is not None:
            return min(error.retry_after, self.pacing.max_wait)
        return float(min(self.pacing.backoff * 2 ** (state.attempt_number - 1), self.pacing.max_wait))

    def _sleep(self, seconds: float) -> None:
        self.waited += seconds
        time.sleep(seconds)
