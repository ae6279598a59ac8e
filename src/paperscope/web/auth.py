"""Sign up, sign in and sign out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..mail.settings import MailSettings
from ..mail.signup import queue_signup_mail
from ..store.accounts import AccountError, User
from ..store.signins import Refusal
from ..store.signups import LINK_HOURS
from .security import (
    SESSION_COOKIE,
    check_csrf,
    clear_session_cookie,
    client_key,
    renew_csrf,
    safe_next,
    set_session_cookie,
    user_or_redirect,
)
from .state import web_state
from .templating import render

router = APIRouter(include_in_schema=False)

SIGNUP_LINK_GONE = (
    f"This sign-up link is not valid: it was used already, or is older than {LINK_HOURS} hours. "
    "Sign up again to get a new one."
)


def _signed_in(request: Request, user_id: int, target: str) -> Response:
    state = web_state(request)
    old = request.cookies.get(SESSION_COOKIE)
    if old:  # a new sign-in replaces the browser's previous session rather than leaving it alive
        state.store.accounts.delete_session(old)
    token = state.store.accounts.create_session(user_id, days=state.settings.session_days)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, token)
    renew_csrf(request)  # tokens of the anonymous pages (maybe planted by someone else) die here
    return response


@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request, next: Annotated[str, Query(max_length=2000)] = "/") -> Response:
    return render(request, "signup.html", {"next": safe_next(next), "error": None, "values": {}})


@router.post("/signup", response_class=HTMLResponse)
def signup(
    request: Request,
    username: Annotated[str, Form(max_length=100)] = "",
    email: Annotated[str, Form(max_length=300)] = "",
    password: Annotated[str, Form(max_length=2000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    state = web_state(request)
    state.rate_limit("signup", client_key(request))
    mail = MailSettings.load(state.store.settings)
    try:
        if not mail.smtp.configured:
            # No mail server: nobody can be mailed, so the account is made at once and an address
            # already registered has to be refused in words (README: "Accounts on the site").
            user = state.store.accounts.create_user(username, email, password)
            return _signed_in(request, user.id, safe_next(next))
        # The same answer whether or not the address has an account; the mail says which
        # (store/signups.py says why, and why a taken username is still named).
        started = state.store.signups.start(username, email, password)
    except AccountError as error:
        values = {"username": username, "email": email}
        context = {"next": safe_next(next), "error": str(error), "field": error.field, "values": values}
        return render(request, "signup.html", context, status_code=400)
    if state.allowed("signup_mail", started.email):
        queue_signup_mail(state.store, mail, started)
    return render(request, "signup_sent.html", {"email": started.email, "hours": LINK_HOURS})


@router.get("/signup/confirm/{token}", response_class=HTMLResponse)
def signup_link(request: Request, token: Annotated[str, Path(max_length=100)]) -> Response:
    """The mailed link: a page with a button, so that a mail scanner opening links makes nothing."""
    pending = web_state(request).store.signups.pending(token)
    if pending is None:
        context = {"error": SIGNUP_LINK_GONE, "pending": None, "token": token}
        return render(request, "signup_confirm.html", context, status_code=400)
    return render(request, "signup_confirm.html", {"error": None, "pending": pending, "token": token})


@router.post("/signup/confirm/{token}", response_class=HTMLResponse)
def signup_finish(
    request: Request, token: Annotated[str, Path(max_length=100)], csrf_token: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(request, csrf_token)
    try:
        user = web_state(request).store.signups.finish(token)
    except AccountError as error:
        context = {"error": str(error), "pending": None, "token": token}
        return render(request, "signup_confirm.html", context, status_code=400)
    return _signed_in(request, user.id, "/")


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, next: Annotated[str, Query(max_length=2000)] = "/") -> Response:
    return render(request, "signin.html", {"next": safe_next(next), "error": None, "username": ""})


@router.post("/signin", response_class=HTMLResponse)
def signin(
    request: Request,
    username: Annotated[str, Form(max_length=300)] = "",
    password: Annotated[str, Form(max_length=2000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    state = web_state(request)
    address = client_key(request)
    # Per address *and* name: a flood guard that never stops the others behind one address.
    state.rate_limit("signin", f"{address}|{username.strip().lower()}")
    outcome = state.store.accounts.sign_in(username, password, address)
    if isinstance(outcome, Refusal):
        error = f"Sign-in refused: {outcome.reason}. Try again in {outcome.retry_after} s."
        context = {"next": safe_next(next), "error": error, "username": username}
        response = render(request, "signin.html", context, status_code=429)
        response.headers["Retry-After"] = str(outcome.retry_after)
        return response
    if outcome is None:
        context = {"next": safe_next(next), "error": "Wrong username or password.", "username": username}
        return render(request, "signin.html", context, status_code=400)
    return _signed_in(request, outcome.id, safe_next(next))


@router.post("/signout")
def signout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf_token)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        web_state(request).store.accounts.delete_session(token)
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(request, response)
    renew_csrf(request)
    return response


@router.get("/account", response_class=HTMLResponse)
def account(request: Request) -> Response:
    user = user_or_redirect(request, "/account")
    if not isinstance(user, User):
        return user
    return render(request, "account.html", {})


@router.get("/account/tokens", response_class=HTMLResponse)
def api_tokens(request: Request) -> Response:
    """The account's API tokens (made with ``paperscope user token``), each revocable here."""
    user = user_or_redirect(request, "/account/tokens")
    if not isinstance(user, User):
        return user
    tokens = web_state(request).store.accounts.api_tokens(user.id)
    return render(request, "account_tokens.html", {"tokens": tokens})


@router.post("/account/tokens/{token_id}/revoke")
def revoke_api_token(
    request: Request, token_id: Annotated[str, Path(max_length=40)], csrf_token: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(request, csrf_token)
    user = user_or_redirect(request, "/account/tokens")
    if not isinstance(user, User):
        return user
    if not web_state(request).store.accounts.revoke_token(user.id, token_id):
        raise HTTPException(404, f"you have no API token {token_id[:40]!r}")
    return RedirectResponse("/account/tokens", status_code=303)
