"""Regression tests for the web findings of the hardening review (issue 15): each failed before its fix."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from web_support import XSS_ID, csrf_of, sign_up


# -- 3. every parameter range-checked at the edge, with a 4xx that names it -----------------------
def test_a_week_past_the_calendar_is_a_400_naming_week(web_client: TestClient) -> None:
    page = web_client.get("/papers?week=9999-W52")
    assert page.status_code == 400 and "week" in page.text
    api = web_client.get("/api/daily_papers?week=9999-W52")
    assert api.status_code == 400 and api.json()["parameter"] == "week"
    assert web_client.get("/api/daily_papers?month=9999-12").json()["parameter"] == "month"
    assert web_client.get("/api/daily_papers?date=9999-12-31").json()["parameter"] == "date"


def test_a_huge_row_id_is_a_4xx_naming_it(web_client: TestClient) -> None:
    sign_up(web_client, "ranger")
    token = csrf_of(web_client, "/account/digests")
    answer = web_client.post(
        "/account/digests/99999999999999999999999", data={"csrf_token": token}, follow_redirects=False
    )
    assert answer.status_code in (400, 404, 422) and "subscription_id" in answer.text
    assert web_client.get("/collections/99999999999999999999999").status_code == 400


def test_a_page_past_the_last_searchable_one_names_p(web_client: TestClient) -> None:
    page = web_client.get("/search?q=attention&p=10000")
    assert page.status_code == 400 and "p:" in page.text
    api = web_client.get("/api/papers/search?q=attention&p=10000&limit=100")
    assert api.status_code in (400, 422) and api.json()["parameter"] == "p"
    assert web_client.get("/api/papers/search?q=attention&p=1&limit=10").status_code == 200


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute, inside included routers too (FastAPI keeps those as one entry each)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _api_routes(route.original_router.routes)
        elif hasattr(route, "routes") and not hasattr(route, "app"):
            found += _api_routes(route.routes)
    return found


# -- 9. HEAD on every GET route ---------------------------------------------------------------------
def test_head_answers_like_get_on_every_get_route(web_client: TestClient) -> None:
    samples = {"key": XSS_ID, "fmt": "atom", "collection_id": "1", "token": "x", "name": "cs.CL"}
    checked = 0
    for route in _api_routes(web_client.app.routes):  # type: ignore[attr-defined]
        if "GET" not in route.methods:
            continue
        path = route.path_format
        for name, value in samples.items():
            path = path.replace("{" + name + "}", value)
        if "{" in path:
            continue
        get, head = web_client.get(path, follow_redirects=False), web_client.head(path, follow_redirects=False)
        assert head.status_code == get.status_code, (path, get.status_code, head.status_code)
        assert head.content == b"", path
        if get.status_code == 200:
            assert head.headers.get("content-type") == get.headers.get("content-type"), path
        checked += 1
    assert checked >= 15


def test_a_nul_anywhere_is_a_4xx_on_both_backends(web_client: TestClient) -> None:
    api = web_client.get("/api/daily_papers", params={"category": "cs\x00CL"})
    assert api.status_code == 400 and api.json()["parameter"] == "category"
    assert web_client.get("/api/papers/%00").status_code == 400
    assert web_client.get("/search", params={"q": "a\x00b"}).status_code == 400
    token = csrf_of(web_client, "/signin")
    form = web_client.post("/signin", data={"username": "a\x00b", "password": "x" * 10, "csrf_token": token})
    assert form.status_code == 400  # wrong username or password, not a database error
