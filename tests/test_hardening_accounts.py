"""Regression tests for the account findings of the hardening review (issue 15, items 4 and 8),
on both backends: each failed before its fix."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from paperscope.cli import main
from paperscope.store import Store
from paperscope.store.accounts import AccountError
from paperscope.web.app import create_app

PASSWORD = "correct horse battery"


# -- 4. usernames unique ignoring case, enforced by the database ----------------------------------
def test_the_database_refuses_a_name_differing_only_in_case(store: Store) -> None:
    store.accounts.create_user("racer", "racer@example.org", PASSWORD)
    with pytest.raises(IntegrityError), store.transaction() as conn:
        conn.execute(sa.text("INSERT INTO users (username, email, password_hash, created_at) "
                             "VALUES ('rAcEr', 'other@example.org', 'x', '2026-01-01')"))


def test_racing_sign_ups_of_one_name_in_two_cases_make_one_account(store: Store) -> None:
    for round_ in range(5):
        names = [f"racer{round_}", f"RaCeR{round_}"]
        start = threading.Barrier(len(names))
        outcomes: list[str] = []

        def sign_up(name: str, start: threading.Barrier = start, outcomes: list[str] = outcomes) -> None:
            start.wait()
            try:
                store.accounts.create_user(name, f"{name}.{id(name)}@example.org", PASSWORD)
                outcomes.append("made")
            except AccountError:
                outcomes.append("refused")

        threads = [threading.Thread(target=sign_up, args=(n,)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["made", "refused"], outcomes
        with store.connect() as conn:
            count = conn.execute(sa.text("SELECT COUNT(*) FROM users WHERE lower(username) = :u"),
                                 {"u": names[0].lower()}).scalar_one()
        assert count == 1


# -- 8. API tokens can be listed and revoked ------------------------------------------------------
def _cli(home: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--home", str(home), "--quiet", *args])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_api_tokens_are_listed_and_revoked_from_the_command_line(store: Store, home: Path) -> None:
    store.accounts.create_user("tokener", "tokener@example.org", PASSWORD)
    first, second = _cli(home, "user", "token", "tokener"), _cli(home, "user", "token", "tokener")
    listed = _cli(home, "user", "tokens", "tokener", "--json")
    import json

    ids = [t["id"] for t in json.loads(listed)]
    assert len(ids) == 2 and first not in listed and second not in listed
    with TestClient(create_app(store, secret_key="k" * 32)) as client:
        def me(token: str) -> int:
            return client.get("/account", headers={"Authorization": f"Bearer {token}"},
                              follow_redirects=False).status_code

        assert me(first) == 200 and me(second) == 200
        from paperscope.store.accounts import hash_token

        first_id = hash_token(first)[:12]
        assert _cli(home, "user", "revoke", "tokener", first_id) == "revoked 1 token(s)"
        assert me(first) == 303 and me(second) == 200
        assert _cli(home, "user", "revoke", "tokener", "--all") == "revoked 1 token(s)"
        assert me(second) == 303
    bad = CliRunner().invoke(main, ["--home", str(home), "user", "revoke", "tokener", "0123456789ab"])
    assert bad.exit_code != 0 and "no API token" in bad.output


def test_the_account_page_lists_and_revokes_api_tokens(store: Store) -> None:
    user = store.accounts.create_user("pager", "pager@example.org", PASSWORD)
    token = store.accounts.create_session(user.id, days=365, kind="api")
    other = store.accounts.create_user("other", "other@example.org", PASSWORD)
    theirs = store.accounts.create_session(other.id, days=365, kind="api")
    from paperscope.store.accounts import hash_token

    with TestClient(create_app(store, secret_key="k" * 32)) as client:
        page = client.get("/signin")
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/signin", data={"username": "pager", "password": PASSWORD, "csrf_token": csrf})
        listing = client.get("/account/tokens")
        assert listing.status_code == 200 and hash_token(token)[:12] in listing.text
        assert hash_token(theirs)[:12] not in listing.text and "pager" in client.get("/account").text
        csrf = listing.text.split('name="csrf_token" value="')[1].split('"')[0]
        # Someone else's token id is answered as absent and stays alive.
        assert client.post(f"/account/tokens/{hash_token(theirs)[:12]}/revoke",
                           data={"csrf_token": csrf}).status_code == 404
        gone = client.post(f"/account/tokens/{hash_token(token)[:12]}/revoke", data={"csrf_token": csrf},
                           follow_redirects=False)
        assert gone.status_code == 303
    assert store.accounts.session_user(token) is None and store.accounts.session_user(theirs) is not None
    assert [t.id for t in store.accounts.api_tokens(user.id)] == []
