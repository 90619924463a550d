"""/admin/users and /api/users, /api/teams: admins only, CSRF, errors naming the field, a
generated password shown once, disabling ends the user's sessions, the last admin kept."""

from __future__ import annotations

import re

import pytest

from ccserver.adapters.web.keys import RUNTIME
from tests.support.web import csrf_field, post_login
from tests.web.conftest import PASSWORD, csrf_of, login

API_ROUTES = [
    ("GET", "/api/users", None),
    ("POST", "/api/users", {"username": "x1", "role": "agent", "password": PASSWORD}),
    ("GET", "/api/users/agent1", None),
    ("PATCH", "/api/users/agent1", {"display_name": "Hacked"}),
    ("POST", "/api/users/agent1/disable", None),
    ("POST", "/api/users/agent1/password", {"password": "whatever long 1"}),
    ("POST", "/api/users/agent1/revoke", None),
    ("GET", "/api/teams", None),
    ("POST", "/api/teams", {"name": "Nord"}),
]


@pytest.mark.parametrize("role", ["agent", "supervisor"])
async def test_only_admins_reach_users_and_teams(web_app, role):
    client = await login(web_app, f"{role}1")
    token = await csrf_of(client)
    for method, path, body in API_ROUTES:
        resp = await client.request(method, path, json=body, headers={"X-CSRF-Token": token})
        assert resp.status == 403, (method, path)
    page = await client.get("/admin/users", headers={"Accept": "text/html"})
    assert page.status == 403
    runtime = web_app.app[RUNTIME]
    assert runtime.users.require("agent1").active and runtime.users.require("agent1").display_name == "Agent One"
    await client.close()


async def test_api_needs_the_csrf_token(web_app):
    client = await login(web_app, "admin1")
    resp = await client.post("/api/users", json={"username": "x1", "role": "agent", "password": PASSWORD})
    assert resp.status == 403 and (await resp.json())["error"] == "csrf-rejected"
    resp = await client.post("/api/users/agent1/disable")
    assert resp.status == 403
    assert web_app.app[RUNTIME].users.require("agent1").active
    page = await client.post("/admin/users", data={"username": "x2", "role": "agent", "password": PASSWORD})
    assert page.status == 403
    assert web_app.app[RUNTIME].users.get_by_username("x2") is None
    await client.close()


async def test_admin_manages_users_and_teams_through_the_api(web_app):
    client = await login(web_app, "admin1")
    token = await csrf_of(client)
    h = {"X-CSRF-Token": token}

    resp = await client.post("/api/users", headers=h, json={"username": "lea", "role": "supervisor"})
    assert resp.status == 201 and resp.headers["Cache-Control"] == "no-store"
    created = await resp.json()
    assert created["role"] == "supervisor" and len(created["password"]) >= 16
    fresh = await login(web_app, "lea", created["password"])  # the generated password works
    assert (await fresh.get("/api/me")).status == 200

    assert (await client.post("/api/teams", headers=h, json={"name": "Nord"})).status == 201
    resp = await client.patch("/api/users/lea", headers=h, json={"scopes": {"teams": ["Nord"]}})
    assert resp.status == 200 and (await resp.json())["scopes"]["teams"] == ["Nord"]
    resp = await client.patch("/api/teams/Nord", headers=h, json={"name": "North"})
    assert resp.status == 200
    assert (await (await client.get("/api/users/lea")).json())["scopes"]["teams"] == ["North"]
    assert await (await client.get("/api/teams")).json() == [{"name": "North", "agents": 0}]

    listing = {u["username"]: u for u in await (await client.get("/api/users")).json()}
    assert set(listing) == {"admin1", "agent1", "supervisor1", "lea"}
    assert listing["lea"]["last_login_at"] is not None and listing["agent1"]["last_login_at"] is None
    assert listing["agent1"]["phone"] is False

    # a new password given by the admin: the old sessions end
    resp = await client.post("/api/users/lea/password", headers=h, json={"password": "a fresh long secret"})
    assert resp.status == 200 and (await resp.json())["password"] is None
    assert (await fresh.get("/api/me")).status == 401
    # revoke, disable, enable
    again = await login(web_app, "lea", "a fresh long secret")
    assert (await (await client.post("/api/users/lea/revoke", headers=h)).json())["sessions_revoked"] == 1
    assert (await again.get("/api/me")).status == 401
    again = await login(web_app, "lea", "a fresh long secret")
    resp = await client.post("/api/users/lea/disable", headers=h)
    assert (await resp.json()) == {"username": "lea", "active": False, "sessions_revoked": 1, "queues_left": []}
    assert (await again.get("/api/me")).status == 401
    assert (await post_login(again, "lea", "a fresh long secret")).status != 302
    assert (await client.post("/api/users/lea/enable", headers=h)).status == 200
    await login(web_app, "lea", "a fresh long secret")

    actions = [e.action for e in web_app.app[RUNTIME].audit.list(target="lea")]
    assert {"user.create", "user.edit", "user.password_reset", "user.sessions_revoked", "user.disable"} <= set(actions)
    for client_ in (client, fresh, again):
        await client_.close()


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("POST", "/api/users", {"username": "Bad Name", "role": "agent"}, 400, "username"),
        ("POST", "/api/users", {"username": "newbie", "role": "boss"}, 400, "role"),
        ("POST", "/api/users", {"username": "newbie", "role": "agent", "password": ""}, 400, "password"),
        ("POST", "/api/users", {"username": "newbie", "role": "agent", "password": "short"}, 400, "password"),
        ("POST", "/api/users", {"username": "agent1", "role": "agent", "password": PASSWORD}, 409, "username"),
        ("PATCH", "/api/users/supervisor1", {"scopes": {"queues": ["ghost"]}}, 400, "scopes.queues"),
        ("PATCH", "/api/users/supervisor1", {"scopes": {"campaigns": ["42"]}}, 400, "scopes.campaigns"),
        ("PATCH", "/api/users/supervisor1", {"scopes": {"teams": ["ghost"]}}, 400, "scopes.teams"),
        ("PATCH", "/api/users/supervisor1", {"scopes": {"campaigns": ["abc"]}}, 400, "scopes.campaigns"),
        ("PATCH", "/api/users/supervisor1", {"colour": "red"}, 400, "colour"),
        ("PATCH", "/api/users/agent1", {"team": "ghost"}, 400, "team"),
        ("PATCH", "/api/users/nobody", {"role": "agent"}, 404, "username"),
        ("PATCH", "/api/users/admin1", {"role": "agent"}, 409, "role"),
        ("POST", "/api/users/admin1/disable", None, 409, "active"),
        ("POST", "/api/users/agent1/password", {"password": "1234"}, 400, "password"),
        ("POST", "/api/teams", {"name": ""}, 400, "name"),
        ("PATCH", "/api/teams/ghost", {"name": "x"}, 404, "name"),
    ],
)
async def test_bad_requests_name_the_field_and_change_nothing(web_app, method, path, body, status, field):
    client = await login(web_app, "admin1")
    token = await csrf_of(client)
    before = await (await client.get("/api/users")).json()
    resp = await client.request(method, path, json=body, headers={"X-CSRF-Token": token})
    answer = await resp.json()
    assert resp.status == status, answer
    assert answer["details"]["field"] == field, answer
    after = await (await client.get("/api/users")).json()
    strip = lambda users: [{k: v for k, v in u.items() if k != "last_login_at"} for u in users]
    assert strip(after) == strip(before)
    await client.close()


async def test_the_page_creates_edits_and_disables_with_a_password_shown_once(web_app):
    client = await login(web_app, "admin1")
    page = await client.get("/admin/users")
    assert page.status == 200 and page.headers["Cache-Control"] == "no-store"
    text = await page.text()
    assert 'data-user="agent1" data-active="yes"' in text
    token = csrf_field(text)

    resp = await client.post(
        "/admin/users", data={"csrf_token": token, "username": "paul", "display_name": "Paul", "role": "agent"}
    )
    assert resp.status == 201
    text = await resp.text()
    password = re.search(r'id="shown-password">([^<]+)<', text).group(1)
    assert (await (await login(web_app, "paul", password)).get("/api/me")).status == 200
    # shown once: the page read again does not carry it
    assert password not in await (await client.get("/admin/users")).text()

    resp = await client.post(
        "/admin/users", data={"csrf_token": token, "username": "paul", "role": "agent", "password": PASSWORD}
    )
    assert resp.status == 409
    assert "(champ : <strong>username</strong>)" in await resp.text()

    resp = await client.post(
        "/admin/users/paul",
        data={
            "csrf_token": token,
            "display_name": "Paul Martin",
            "role": "supervisor",
            "teams": "",
            "queues": "ghost",
            "campaigns": "",
        },
    )
    assert resp.status == 400 and "scopes.queues" in await resp.text()
    resp = await client.post(
        "/admin/users/paul", data={"csrf_token": token, "display_name": "Paul Martin", "role": "supervisor"}
    )
    assert resp.status == 200
    assert web_app.app[RUNTIME].users.require("paul").role == "supervisor"

    resp = await client.post("/admin/users/paul/disable", data={"csrf_token": token})
    assert resp.status == 200
    assert 'data-user="paul" data-active="no"' in await resp.text()
    assert not web_app.app[RUNTIME].users.require("paul").active

    resp = await client.post("/admin/users/admin1/disable", data={"csrf_token": token})
    assert resp.status == 409 and "admin1 is the last active admin" in await resp.text()
    assert web_app.app[RUNTIME].users.require("admin1").active

    resp = await client.post("/admin/teams", data={"csrf_token": token, "name": "Sud"})
    assert resp.status == 201 and 'data-team="Sud"' in await resp.text()
    resp = await client.post("/admin/teams/Sud", data={"csrf_token": token, "name": "South"})
    assert resp.status == 200 and 'data-team="South"' in await resp.text()
    await client.close()
