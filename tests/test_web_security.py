"""Security over HTTP: CSRF, XSS, exact votes under concurrency, private collections, rate limits,
cookie flags, and GET never changing data."""

from __future__ import annotations

import re
import threading

import sqlalchemy as sa
from fastapi.testclient import TestClient

from paperscope.store import Store
from paperscope.store.accounts import hash_token
from paperscope.web.app import create_app
from web_support import _CSRF, SECRET, XSS_ID, csrf_of, make_client, sign_up

PAPER = "2602.23152"  # 168 Hugging Face upvotes in the month file


def _local_votes(store: Store, key: str = PAPER) -> int:
    paper = store.get_paper(key)
    assert paper is not None
    return paper.local_upvotes


def _table_counts(store: Store) -> dict[str, int]:
    tables = ("papers", "daily_entries", "users", "sessions", "votes", "collections", "collection_items")
    with store.connect() as conn:
        return {t: int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar() or 0) for t in tables}


def test_state_changing_posts_need_the_csrf_token(web_client: TestClient, web_store: Store) -> None:
    sign_up(web_client, "victim")
    forms = {
        f"/papers/{PAPER}/upvote": {},
        "/collections": {"name": "Stolen"},
        "/submit": {"paper": "1605.08386"},
        "/signout": {},
    }
    before = _table_counts(web_store)
    for path, data in forms.items():
        for token in (None, "forged", "InZpY3RpbSI.aaaa.bbbb"):
            payload = dict(data) if token is None else {**data, "csrf_token": token}
            answer = web_client.post(path, data=payload, follow_redirects=False)
            assert answer.status_code == 403, (path, token, answer.status_code)
    assert _table_counts(web_store) == before
    # A token is bound to this visitor's CSRF cookie: another visitor's valid token fails too.
    with make_client(web_store) as other:
        foreign = csrf_of(other, "/")
    assert web_client.post(f"/papers/{PAPER}/upvote", data={"csrf_token": foreign}).status_code == 403
    # Sign-in and sign-up forms are protected as well (login CSRF).
    with make_client(web_store) as fresh:
        fresh.get("/")
        assert fresh.post("/signin", data={"username": "victim", "password": "x"}).status_code == 403
        assert (
            fresh.post(
                "/signup", data={"username": "x1234", "email": "a@b.c", "password": "y" * 10}
            ).status_code
            == 403
        )
    assert _local_votes(web_store) == 0


def test_xss_payload_in_abstract_and_title_is_inert(web_client: TestClient) -> None:
    for path in (
        f"/papers/{XSS_ID}",
        "/papers?date=2026-02-27",
        "/search?q=inert+xss&mode=keyword",
        "/trending?category=cs.CL",
    ):
        page = web_client.get(path)
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<img src=x" not in page.text, path
        assert "<b>bold</b>" not in page.text, path
        assert "&lt;b&gt;bold&lt;/b&gt;" in page.text, path
    paper = web_client.get(f"/papers/{XSS_ID}").text
    assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in paper
    assert r"$\alpha$" in paper  # LaTeX left for KaTeX to render in the browser
    # Only our own scripts are on the page, and the CSP forbids any other.
    assert re.findall(r"<script[^>]*>", paper) == [
        '<script defer src="/static/vendor/katex/katex.min.js">',
        '<script defer src="/static/vendor/katex/contrib/auto-render.min.js">',
        '<script defer src="/static/app.js">',
    ]
    csp = web_client.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'self'" in csp and "unsafe-inline" not in csp


def test_upvote_twice_counts_once_then_toggles(web_client: TestClient, web_store: Store) -> None:
    sign_up(web_client, "voter")
    token = csrf_of(web_client, f"/papers/{PAPER}")
    first = web_client.post(f"/papers/{PAPER}/upvote", data={"csrf_token": token}, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == f"/papers/{PAPER}"
    page = web_client.get(f"/papers/{PAPER}").text
    assert "169 (168 Hugging Face + 1 here)" in page and 'aria-pressed="true"' in page
    web_client.post(f"/papers/{PAPER}/upvote", data={"csrf_token": token})
    assert _local_votes(web_store) == 0
    assert "168 (168 Hugging Face + 0 here)" in web_client.get(f"/papers/{PAPER}").text
    # The redirect goes back where the vote was cast, but never off-site.
    back = web_client.post(
        f"/papers/{PAPER}/upvote",
        data={"csrf_token": token, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert back.headers["location"] == f"/papers/{PAPER}"
    assert _local_votes(web_store) == 1


def test_concurrent_votes_over_http_stay_exact(web_store: Store) -> None:
    users = [
        web_store.accounts.create_user(f"crowd{i}", f"c{i}@example.org", "a long password") for i in range(12)
    ]
    tokens = [web_store.accounts.create_session(u.id) for u in users]
    barrier = threading.Barrier(len(tokens))
    statuses: list[int] = []
    with make_client(web_store, rate_limits={"upvote": "1000/minute"}) as client:

        def vote(token: str) -> None:
            headers = {"Authorization": f"Bearer {token}"}
            barrier.wait()
            for _ in range(3):  # vote, unvote, vote: net one each
                statuses.append(client.post(f"/api/papers/{PAPER}/upvote", headers=headers).status_code)

        threads = [threading.Thread(target=vote, args=(t,)) for t in tokens]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses == [200] * (3 * len(tokens))
        assert client.get(f"/api/papers/{PAPER}").json()["upvotes"] == 168 + len(tokens)
    assert _local_votes(web_store) == len(tokens)


def test_collections_are_private(web_store: Store) -> None:
    with make_client(web_store) as alice, make_client(web_store) as bob, make_client(web_store) as anon:
        sign_up(alice, "alice")
        token = csrf_of(alice, f"/papers/{PAPER}")
        made = alice.post(
            "/collections",
            data={"csrf_token": token, "name": "Alice's reading", "paper": PAPER},
            follow_redirects=False,
        )
        assert made.status_code == 303
        location = made.headers["location"]
        assert re.fullmatch(r"/collections/\d+", location)
        mine = alice.get(location)
        assert (
            mine.status_code == 200 and "Alice&#39;s reading" in mine.text and f"/papers/{PAPER}" in mine.text
        )
        # Save a second paper into the existing collection by id.
        cid = location.rsplit("/", 1)[1]
        alice.post("/collections", data={"csrf_token": token, "collection_id": cid, "paper": XSS_ID})
        assert alice.get("/collections").text.count("2 papers") == 1
        sign_up(bob, "bob")
        assert bob.get(location).status_code == 404
        assert "Alice" not in bob.get("/collections").text
        bob_token = csrf_of(bob, "/collections")
        stolen = bob.post(
            "/collections", data={"csrf_token": bob_token, "collection_id": cid, "paper": PAPER}
        )
        assert stolen.status_code == 400
        assert bob.post(f"{location}/delete", data={"csrf_token": bob_token}).status_code == 404
        assert (
            bob.post(f"{location}/remove", data={"csrf_token": bob_token, "paper": PAPER}).status_code == 404
        )
        assert anon.get(location, follow_redirects=False).status_code == 303
        assert bob.get("/collections/99999999999999999999999").status_code == 400
        alice.post(f"{location}/remove", data={"csrf_token": token, "paper": XSS_ID})
        assert XSS_ID not in alice.get(location).text


def test_rate_limits_answer_429(web_store: Store) -> None:
    limits = {"signin": "3/minute", "upvote": "2/minute", "signup": "2/minute"}
    with make_client(web_store, rate_limits=limits) as client:
        token = csrf_of(client)
        answers = [
            client.post("/signin", data={"csrf_token": token, "username": "nobody", "password": "wrong pass"})
            for _ in range(4)
        ]
        assert [a.status_code for a in answers] == [400, 400, 400, 429]
        assert int(answers[-1].headers["retry-after"]) >= 1
        codes = []
        for i in range(3):  # a browser each: a sign-up signs in, which renews the CSRF token
            with TestClient(client.app) as spammer:
                data = {"username": f"spam{i}", "email": f"s{i}@x.org", "password": "long password"}
                data["csrf_token"] = csrf_of(spammer)
                codes.append(spammer.post("/signup", data=data, follow_redirects=False).status_code)
        assert codes == [303, 303, 429]
        user = web_store.accounts.get_user_by_name("spam1")
        assert user is not None
        auth = {"Authorization": f"Bearer {web_store.accounts.create_session(user.id)}"}
        votes = [client.post(f"/api/papers/{PAPER}/upvote", headers=auth).status_code for _ in range(3)]
        assert votes == [200, 200, 429]


def test_session_cookie_flags(web_store: Store) -> None:
    with make_client(web_store) as client:
        sign_up(client, "plainhttp")
        # TestClient keeps the Set-Cookie of the redirect; read the raw header of a fresh sign-in.
        answer = client.post(
            "/signin",
            data={"csrf_token": csrf_of(client), "username": "plainhttp", "password": "correct horse battery"},
            follow_redirects=False,
        )
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("ps_session=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Secure" not in cookie
        # Not behind --proxy: anyone can send X-Forwarded-Proto, so it changes nothing.
        forged = client.post(
            "/signin",
            data={"csrf_token": csrf_of(client), "username": "plainhttp", "password": "correct horse battery"},
            headers={"X-Forwarded-Proto": "https"},
            follow_redirects=False,
        )
        assert forged.status_code == 303 and "Secure" not in forged.headers["set-cookie"]
    # Behind --proxy, the proxy's (127.0.0.1's) X-Forwarded-Proto makes the cookies Secure.
    proxied_app = create_app(web_store, secret_key=SECRET, proxy=True)
    with TestClient(proxied_app, client=("127.0.0.1", 50000)) as proxied:
        https = {"X-Forwarded-Proto": "https"}
        form = proxied.get("/signin", headers=https)
        token = _CSRF.search(form.text)
        assert token is not None and "Secure" in form.headers["set-cookie"]
        # The client's jar keeps a Secure cookie from a plain-http URL to itself: send it by hand,
        # as the browser does to the https site the proxy serves.
        https["Cookie"] = f"ps_csrf={form.cookies['ps_csrf']}"
        answer = proxied.post(
            "/signin",
            data={"csrf_token": token.group(1), "username": "plainhttp", "password": "correct horse battery"},
            headers=https,
            follow_redirects=False,
        )
        session = answer.headers.get_list("set-cookie")[0]
        assert answer.status_code == 303 and session.startswith("ps_session=")
        assert "Secure" in session and "HttpOnly" in session
    with TestClient(client.app, base_url="https://testserver") as secure:
        token = csrf_of(secure)
        answer = secure.post(
            "/signin",
            data={"csrf_token": token, "username": "plainhttp", "password": "correct horse battery"},
            follow_redirects=False,
        )
        assert "Secure" in answer.headers["set-cookie"]
    # Only the token's hash is stored server-side.
    raw = answer.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    with web_store.connect() as conn:
        stored = [r[0] for r in conn.execute(sa.text("SELECT token_hash FROM sessions"))]
    # One session each for the http client (each sign-in replaced the last), the proxied one
    # and the https one.
    assert raw not in stored and hash_token(raw) in stored and len(stored) == 3


def test_sign_in_and_out(web_client: TestClient, web_store: Store) -> None:
    sign_up(web_client, "roundtrip")
    token = csrf_of(web_client, "/")
    web_client.post("/signout", data={"csrf_token": token})
    assert "ps_session" not in web_client.cookies
    assert ">Sign in</a>" in web_client.get("/").text
    with web_store.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM sessions")).scalar() == 0
    token = csrf_of(web_client)
    wrong = web_client.post(
        "/signin", data={"csrf_token": token, "username": "roundtrip", "password": "nope nope"}
    )
    assert wrong.status_code == 400 and "Wrong username or password" in wrong.text
    right = web_client.post(
        "/signin",
        data={
            "csrf_token": token,
            "username": "roundtrip",
            "password": "correct horse battery",
            "next": "/trending",
        },
        follow_redirects=False,
    )
    assert right.status_code == 303 and right.headers["location"] == "/trending"
    dup = web_client.post(
        "/signup",
        data={
            "csrf_token": csrf_of(web_client, "/signup"),
            "username": "roundtrip",
            "email": "x@y.org",
            "password": "long password",
        },
    )
    assert dup.status_code == 400 and "already registered" in dup.text


def test_get_never_changes_data(web_client: TestClient, web_store: Store) -> None:
    sign_up(web_client, "getter")
    before = _table_counts(web_store)
    change_seq = web_store.last_change_seq()
    for path in (
        "/",
        "/papers?date=2026-02-27",
        "/papers?week=2026-W09",
        "/papers?month=2026-02",
        "/trending",
        "/search?q=world",
        f"/papers/{PAPER}",
        f"/papers/{PAPER}/upvote",
        "/submit",
        "/collections",
        "/account",
        "/signout",
        "/api/daily_papers",
        f"/api/papers/{PAPER}",
        f"/api/papers/{PAPER}/upvote",
        "/api/trending",
        "/api/papers/search?q=world",
    ):
        answer = web_client.get(path)
        assert answer.status_code < 500, path
    assert web_client.get(f"/papers/{PAPER}/upvote").status_code in (404, 405)
    assert web_client.get(f"/api/papers/{PAPER}/upvote").status_code in (404, 405)
    assert _table_counts(web_store) == before
    assert web_store.last_change_seq() == change_seq
    assert "ps_session" in web_client.cookies  # /signout by GET did not sign out


def test_signin_redirect_keeps_the_query_string(web_client: TestClient) -> None:
    """``/signin?next=`` is URL-encoded: the page's own query parameters survive signing in."""
    token = csrf_of(web_client, "/")
    target = "/papers?date=2026-02-27&sort=upvotes"
    answer = web_client.post(
        f"/papers/{XSS_ID}/upvote", data={"csrf_token": token, "next": target}, follow_redirects=False
    )
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location == "/signin?next=/papers%3Fdate%3D2026-02-27%26sort%3Dupvotes"
    form = web_client.get(location)
    assert f'value="{target.replace("&", "&amp;")}"' in form.text


def test_the_csrf_token_is_bound_to_the_session_and_renewed_at_sign_in_and_out(web_store: Store) -> None:
    with make_client(web_store) as alice, make_client(web_store) as bob:
        anonymous = csrf_of(alice, "/")
        nonce_before = alice.cookies["ps_csrf"]
        sign_up(alice, "alice")
        # Signing in renewed the nonce: the token of the anonymous page (or one an attacker
        # planted before the sign-in) is refused now, a token of a page seen signed in is not.
        assert alice.cookies["ps_csrf"] != nonce_before
        assert alice.post(f"/papers/{PAPER}/upvote", data={"csrf_token": anonymous}).status_code == 403
        signed_in = csrf_of(alice, "/")
        assert alice.post(f"/papers/{PAPER}/upvote", data={"csrf_token": signed_in}).status_code == 200
        # Another session with the very same CSRF cookie (a nonce that leaked, or was fixed by
        # a sibling subdomain): alice's token is bound to alice's session and fails in bob's.
        sign_up(bob, "bob")
        bob.cookies.set("ps_csrf", alice.cookies["ps_csrf"])
        assert bob.post(f"/papers/{PAPER}/upvote", data={"csrf_token": signed_in}).status_code == 403
        assert bob.post(f"/papers/{PAPER}/upvote", data={"csrf_token": csrf_of(bob, "/")}).status_code == 200
        # Signing out renews it too: the signed-in page's token does not outlive the session.
        nonce_signed_in = alice.cookies["ps_csrf"]
        assert alice.post("/signout", data={"csrf_token": csrf_of(alice, "/")}).status_code == 200
        assert alice.cookies["ps_csrf"] != nonce_signed_in
        assert alice.post("/signin", data={"csrf_token": signed_in, "username": "alice"}).status_code == 403
    assert _local_votes(web_store) == 2


def _failed_sign_ins(client: TestClient, forwarded_for: list[str]) -> list[int]:
    """The status of a wrong-password sign-in claiming each ``X-Forwarded-For`` address in turn."""
    token = csrf_of(client)
    return [
        client.post(
            "/signin",
            data={"csrf_token": token, "username": "nobody", "password": "wrong pass"},
            headers={"X-Forwarded-For": address},
        ).status_code
        for address in forwarded_for
    ]


def test_forwarded_headers_count_only_behind_the_proxy(web_store: Store) -> None:
    """Without --proxy, X-Forwarded-For/-Proto/-Host and Host change neither the client
    address the rate limits count, nor the scheme, nor any link; behind it the proxy's do."""
    forged = {"X-Forwarded-Host": "evil.example", "Host": "evil.example", "X-Forwarded-Proto": "https"}
    site = web_store.settings.base_url
    with make_client(web_store, rate_limits={"signin": "2/minute"}) as client:
        feed = client.get("/feeds/daily.atom", headers=forged).text
        page = client.get(f"/papers/{PAPER}", headers=forged).text
        markdown = client.get(f"/papers/{PAPER}.md", headers=forged).text
        for text in (feed, page, markdown):
            assert "evil.example" not in text
        assert f'<id>{site}/feeds/daily.atom</id>' in feed and f"<id>{site}/papers/" in feed
        assert f'content="{site}/papers/{PAPER}"' in page and f"{site}/papers/{PAPER}" in markdown
        codes = _failed_sign_ins(client, [f"198.51.100.{i}" for i in range(3)])
        assert codes == [400, 400, 429]  # one client, whatever it claims to forward for
    proxied_app = create_app(web_store, secret_key=SECRET, proxy=True, rate_limits={"signin": "2/minute"})
    with TestClient(proxied_app, client=("127.0.0.1", 50000)) as proxied:
        codes = _failed_sign_ins(proxied, [f"198.51.100.{i % 2}" for i in range(5)])
        assert codes == [400, 400, 400, 400, 429]  # two clients behind the proxy, two tries each
        # Links still come from base_url: the proxy's Host is not the site's public name either.
        assert "evil.example" not in proxied.get("/feeds/daily.atom", headers=forged).text


def test_a_guesser_is_refused_on_the_account_while_others_behind_its_address_sign_in(web_store: Store) -> None:
    from paperscope.store.signins import PAIR_LIMIT

    web_store.accounts.create_user("target", "target@example.org", "correct horse battery")
    web_store.accounts.create_user("colleague", "colleague@example.org", "correct horse battery")
    with make_client(web_store) as guesser, make_client(web_store) as colleague:  # one address, two browsers
        token = csrf_of(guesser)
        for _ in range(PAIR_LIMIT):
            wrong = guesser.post("/signin", data={"csrf_token": token, "username": "target", "password": "guess guess"})
            assert wrong.status_code == 400
        refused = guesser.post(
            "/signin", data={"csrf_token": token, "username": "target", "password": "correct horse battery"}
        )
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert "too many failed sign-ins to this account from your address" in refused.text
        answer = colleague.post(
            "/signin",
            data={"csrf_token": csrf_of(colleague), "username": "colleague", "password": "correct horse battery"},
            follow_redirects=False,
        )
        assert answer.status_code == 303


def test_sign_up_refuses_a_common_password_with_a_clear_message(web_client: TestClient) -> None:
    page = web_client.get("/signup").text
    assert "not one of the most common passwords" in page
    answer = web_client.post(
        "/signup",
        data={"csrf_token": csrf_of(web_client, "/signup"), "username": "newbie", "email": "n@example.org",
              "password": "iloveyou1"},
    )  # fmt: skip
    assert answer.status_code == 400 and "one of the most common" in answer.text
    assert 'value="newbie"' in answer.text  # what was typed stays
