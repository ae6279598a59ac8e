"""Who is asking, and is it really them: session cookies, CSRF tokens, bearer tokens.

Sessions are server-side (``sessions`` table, token hash only); the browser holds the raw
token in the ``ps_session`` cookie: HttpOnly, SameSite=Lax, Secure when the request came over
HTTPS (the request scheme, or ``X-Forwarded-Proto: https`` from a reverse proxy).

CSRF uses the signed double-submit pattern: every visitor gets a random nonce in the
``ps_csrf`` cookie; forms carry ``itsdangerous``-signed copies of it (``csrf_token``) and a
state-changing request passes only when the signed token in the form field ``csrf_token`` or
the ``X-CSRF-Token`` header matches the cookie.  A cross-site page can neither read the cookie
nor forge the signature.  JSON API clients that are not browsers authenticate with
``Authorization: Bearer <token>`` (``paperscope user token NAME``) and need no CSRF token,
because browsers never attach that header on their own.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

from fastapi import HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..store.accounts import User
from .state import web_state

SESSION_COOKIE = "ps_session"
CSRF_COOKIE = "ps_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_UNSET = object()


class CsrfError(HTTPException):
    def __init__(self) -> None:
        super().__init__(
            403, "The form's security token is missing or stale: reload the page and try again (CSRF check)."
        )


def is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(web_state(request).secret_key, salt="paperscope-csrf")


def csrf_nonce(request: Request) -> str:
    """This visitor's nonce; a new one is made (and set as a cookie by the middleware) if absent."""
    nonce = getattr(request.state, "csrf_nonce", None)
    if nonce is None:
        nonce = request.cookies.get(CSRF_COOKIE) or ""
        if not (16 <= len(nonce) <= 100):
            nonce = secrets.token_urlsafe(24)
            request.state.new_csrf_nonce = nonce
        request.state.csrf_nonce = nonce
    return str(nonce)


def csrf_token(request: Request) -> str:
    """The signed token for this visitor's forms (made once per request: signing is not free)."""
    token = getattr(request.state, "csrf_token", None)
    if token is None:
        token = request.state.csrf_token = str(_serializer(request).dumps(csrf_nonce(request)))
    return str(token)


def check_csrf(request: Request, token: str | None) -> None:
    """Raise 403 unless ``token`` (form field, else the X-CSRF-Token header) matches the cookie."""
    token = token or request.headers.get(CSRF_HEADER)
    cookie = request.cookies.get(CSRF_COOKIE)
    if not token or not cookie:
        raise CsrfError()
    max_age = web_state(request).settings.session_days * 86400
    try:
        signed = _serializer(request).loads(token, max_age=max_age)
    except BadSignature as error:
        raise CsrfError() from error
    if not isinstance(signed, str) or not secrets.compare_digest(signed, cookie):
        raise CsrfError()


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def current_user(request: Request) -> User | None:
    """The signed-in user (session cookie or bearer token), looked up once per request."""
    cached = getattr(request.state, "user", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    token = bearer_token(request) or request.cookies.get(SESSION_COOKIE)
    user = web_state(request).store.accounts.session_user(token) if token else None
    request.state.user = user
    return user


def signin_url(target: str) -> str:
    """The sign-in page that comes back to ``target``, its query string kept (URL-encoded)."""
    return "/signin?next=" + quote(safe_next(target), safe="/")


def user_or_redirect(request: Request, target: str) -> User | Response:
    """The signed-in user, or a redirect to sign in that comes back to ``target``."""
    user = current_user(request)
    if user is None:
        return RedirectResponse(signin_url(target), status_code=303)
    return user


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=web_state(request).settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=is_https(request), path="/")


def set_csrf_cookie_if_new(request: Request, response: Response) -> None:
    nonce = getattr(request.state, "new_csrf_nonce", None)
    if nonce:
        response.set_cookie(
            CSRF_COOKIE,
            nonce,
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            secure=is_https(request),
            path="/",
        )


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target from user input: local paths only (no ``//evil.example``, no scheme)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
