"""Logging in to the ccserver web app from a test, as a browser does (one copy for every test).

The login form carries a CSRF token (a hidden field, paired with a cookie); once logged in,
state-changing API calls need the session's CSRF token from ``/api/me`` in ``X-CSRF-Token``.

    client = await logged_in(server, "agent1", PASSWORD)     # a new client, client.csrf set
    csrf = await login(client, "agent1", PASSWORD)           # an existing client
    resp = await post_login(client, "agent1", "wrong")       # the raw answer to the form
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_field(html: str) -> str:
    """The CSRF token of a form page."""
    found = _CSRF_FIELD.search(html)
    assert found, "no csrf_token field in the page"
    return found.group(1)


async def login_form(client: TestClient, query: str = "") -> tuple[str, ClientResponse, str]:
    """GET /login (with `query`, e.g. "?next=/wallboard"): its CSRF token, response and text."""
    page = await client.get("/login" + query)
    text = await page.text()
    return csrf_field(text), page, text


async def post_login(
    client: TestClient,
    username: str,
    password: str,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> ClientResponse:
    """Submit the login form (fetching it first unless `token` is given), without following the
    redirect; `fields` are extra form fields (``next``...)."""
    if token is None:
        token, _, _ = await login_form(client)
    return await client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, **fields},
        headers=headers,
        allow_redirects=False,
    )


async def api_csrf(client: TestClient) -> str:
    """The logged-in session's CSRF token for the API (``X-CSRF-Token``)."""
    me = await client.get("/api/me")
    return (await me.json())["csrf_token"]


async def login(client: TestClient, username: str, password: str) -> str:
    """Log `client` in (asserting the 302) and return the session's API CSRF token."""
    resp = await post_login(client, username, password)
    assert resp.status == 302, await resp.text()
    return await api_csrf(client)


async def logged_in(server: TestServer, username: str, password: str) -> TestClient:
    """A new browser-like client logged in as `username`; ``client.csrf`` is its API token.
    The caller closes it."""
    client = TestClient(server)
    await client.start_server()
    client.csrf = await login(client, username, password)
    return client
