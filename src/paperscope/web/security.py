"""Who is asking, and is it really them: session cookies, CSRF tokens, bearer tokens.

Sessions are server-side (``sessions`` table, token hash only); the browser holds the raw
token in the ``ps_session`` cookie: HttpOnly, SameSite=Lax, Secure when the request came over
HTTPS.  The scheme (and the client address the rate limits count) is the connection's own;
``X-Forwarded-Proto``/``-For`` rewrite them only behind ``--proxy``, where uvicorn's
``ProxyHeadersMiddleware`` reads them from the trusted proxy addresses (``create_app``).

CSRF uses the signed double-submit pattern, bound to the session: every visitor gets a random
nonce in the ``ps_csrf`` cookie; forms carry ``itsdangerous``-signed tokens of that nonce *and*
of a digest of the session cookie (``csrf_token``), and a state-changing request passes only
when the signed token in the form field ``csrf_token`` or the ``X-CSRF-Token`` header names
both this request's cookie nonce and this request's session.  So a token from an anonymous
page or another session is refused once signed in, and signing in or out renews the nonce
(:func:`renew_csrf`): a token planted before sign-in (login CSRF, fixation) is worth nothing
after it.  A cross-site page can neither read the cookies nor forge the signature.  JSON API
clients that are not browsers authenticate with ``Authorization: Bearer <token>``
(``paperscope user token NAME``) and need no CSRF token, because browsers never attach that
header on their own.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

from fastapi import HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..store.accounts import User, hash_token
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
    # Never the X-Forwarded-Proto header itself: anyone can send it.  Behind ``--proxy`` the
    # ProxyHeadersMiddleware has already made the trusted proxy's value the request's scheme.
    return request.url.scheme == "https"


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


def renew_csrf(request: Request) -> None:
    """A fresh nonce for this browser (sign-in, sign-out): every token made before is refused
    from now on.  The middleware sets the new ``ps_csrf`` cookie on whatever response follows."""
    nonce = secrets.token_urlsafe(24)
    request.state.new_csrf_nonce = nonce
    request.state.csrf_nonce = nonce
    request.state.csrf_token = None


def _session_binding(request: Request) -> str:
    """What ties a token to the session: a digest of the session cookie ("" when there is none).
    A digest, not the cookie: the token sits in pages, the session cookie must stay HttpOnly."""
    session = request.cookies.get(SESSION_COOKIE)
    return hash_token(session)[:32] if session else ""


def csrf_token(request: Request) -> str:
    """The signed token for this visitor's forms (made once per request: signing is not free)."""
    token = getattr(request.state, "csrf_token", None)
    if token is None:
        payload = [csrf_nonce(request), _session_binding(request)]
        token = request.state.csrf_token = str(_serializer(request).dumps(payload))
    return str(token)


def check_csrf(request: Request, token: str | None) -> None:
    """Raise 403 unless ``token`` (form field, else the X-CSRF-Token header) names this request's
    CSRF cookie and its session."""
    token = token or request.headers.get(CSRF_HEADER)
    cookie = request.cookies.get(CSRF_COOKIE)
    if not token or not cookie:
        raise CsrfError()
    max_age = web_state(request).settings.session_days * 86400
    try:
        signed = _serializer(request).loads(token, max_age=max_age)
    except BadSignature as error:
        raise CsrfError() from error
    if not (isinstance(signed, list) and len(signed) == 2 and all(isinstance(part, str) for part in signed)):
        raise CsrfError()  # a token of the older, unbound shape: the page is simply stale
    nonce, binding = signed
    if not (secrets.compare_digest(nonce, cookie) and secrets.compare_digest(binding, _session_binding(request))):
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
