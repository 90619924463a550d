"""Every route refuses users without the right role; login, CSRF, errors, WebSocket origin."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from ccserver.adapters.web.auth import PUBLIC, ROLES, allowed_roles
from tests.support.web import login_form, post_login
from tests.web.conftest import PASSWORD, csrf_of, login

# the only routes anybody may reach without logging in
EXPECTED_PUBLIC = {
    ("GET", "/login"),
    ("POST", "/login"),
    # the login page's language (a cookie until the login)
    ("POST", "/login/language"),
    ("GET", "/status"),
    # a phone fetches its configuration once, through the link of the QR code (capabilities/phones)
    ("GET", "/provisioning/linphone/{token}"),
}


def route_table(app):
    """(method, path template, declared roles) for every route but HEAD duplicates and static."""
    rows = []
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        canonical = route.resource.canonical
        if canonical.startswith("/static"):
            continue
        rows.append((route.method, canonical, allowed_roles(route.handler)))
    return rows


def concrete(path: str) -> str:
    return path.replace("{", "").replace("}", "")  # /x/{id} -> /x/id: reaches the handler check


async def test_every_route_declares_an_audience(web_app):
    rows = route_table(web_app.app)
    assert len(rows) >= 6
    undeclared = [(m, p) for m, p, r in rows if r is None]
    assert undeclared == []
    public = {(m, p) for m, p, r in rows if r is PUBLIC}
    assert public == EXPECTED_PUBLIC


async def test_anonymous_user_is_refused_everywhere_but_public_routes(web_app):
    client = TestClient(web_app)
    await client.start_server()
    for method, path, audience in route_table(web_app.app):
        if audience is PUBLIC:
            continue
        resp = await client.request(method, concrete(path), allow_redirects=False)
        if path.startswith("/api/") or path == "/ws":
            assert resp.status == 401, (method, path, resp.status)
            body = await resp.json()
            assert body["error"] == "authentication-required"
        else:
            assert resp.status in (302, 401), (method, path, resp.status)
            if resp.status == 302:
                assert resp.headers["Location"].startswith("/login")
    await client.close()


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_is_refused_routes_not_meant_for_it(web_app, role):
    client = await login(web_app, f"{role}1")
    token = await csrf_of(client)
    checked = 0
    for method, path, audience in route_table(web_app.app):
        if audience is PUBLIC or role in audience:
            continue
        resp = await client.request(
            method, concrete(path), headers={"X-CSRF-Token": token, "Accept": "application/json"}, allow_redirects=False
        )
        assert resp.status == 403, (role, method, path, resp.status)
        assert (await resp.json())["error"] == "forbidden"
        checked += 1
    if role == "agent":
        assert checked >= 1  # the system page is not for agents
    await client.close()


async def test_role_can_reach_its_own_pages(web_app):
    client = await login(web_app, "supervisor1")
    resp = await client.get("/system")
    assert resp.status == 200
    assert "État du système" in await resp.text()
    await client.close()


async def test_wrong_password_is_refused_with_a_message(web_app):
    client = TestClient(web_app)
    await client.start_server()
    resp = await post_login(client, "admin1", "nope")
    assert resp.status == 401
    # in the page's language: French by default (English for an English browser: test_i18n_web)
    assert "mot de passe erroné" in await resp.text()
    me = await client.get("/api/me")
    assert me.status == 401
    await client.close()


async def test_login_form_without_csrf_token_is_refused(web_app):
    client = TestClient(web_app)
    await client.start_server()
    resp = await client.post("/login", data={"username": "admin1", "password": PASSWORD}, allow_redirects=False)
    assert resp.status == 403
    await client.close()


async def test_state_changing_request_without_csrf_is_refused(web_app):
    client = await login(web_app, "agent1")
    resp = await client.post("/logout", allow_redirects=False)
    assert resp.status == 403
    still = await client.get("/api/me")
    assert still.status == 200
    token = await csrf_of(client)
    resp = await client.post("/logout", data={"csrf_token": token}, allow_redirects=False)
    assert resp.status == 302
    gone = await client.get("/api/me")
    assert gone.status == 401
    await client.close()


async def test_login_redirect_only_to_local_paths(web_app):
    client = TestClient(web_app)
    await client.start_server()
    token, _, text = await login_form(client, "?next=//evil.example/x")
    assert "evil.example" not in text
    resp = await post_login(client, "admin1", PASSWORD, token=token, next="https://evil.example/")
    assert resp.headers["Location"] == "/"
    await client.close()


async def test_unknown_api_route_gives_json_error_with_stable_id(web_app):
    client = await login(web_app, "admin1")
    resp = await client.get("/api/nothing-here")
    assert resp.status == 404
    assert (await resp.json())["error"] == "not-found"
    await client.close()


async def test_websocket_refuses_foreign_origin_and_greets_own(web_app):
    client = await login(web_app, "supervisor1")
    resp = await client.get(
        "/ws",
        headers={
            "Origin": "http://evil.example",
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert resp.status == 403
    origin = f"http://{web_app.host}:{web_app.port}"
    ws = await client.ws_connect("/ws", headers={"Origin": origin})
    hello = await ws.receive_json(timeout=2)
    assert hello == {"seq": 0, "topic": "hello", "user": "supervisor1", "role": "supervisor"}
    await ws.close()
    await client.close()


async def test_status_reports_each_part_to_a_supervisor_and_is_degraded_without_pbx(web_app):
    client = await login(web_app, "supervisor1")
    resp = await client.get("/status")
    body = await resp.json()
    assert resp.status == 503
    assert body["status"] == "degraded"
    assert body["database"]["state"] == "up"
    assert body["scheduler"]["state"] == "up"
    assert body["ami"]["state"] == "not-configured"
    await client.close()


async def test_passwords_are_stored_hashed(web_app):
    from ccserver.adapters.web.keys import RUNTIME

    user = web_app.app[RUNTIME].users.get_by_username("admin1")
    assert PASSWORD not in user.password_hash
    assert user.password_hash.startswith("scrypt$")


# Routes that name an object but whose objects are not anybody's in particular: each with why.
# Every other route naming an object is in tests/security/test_object_permissions.py
# (OBJECT_ROUTES), where out-of-scope users get 403 and change nothing.
SHARED_OBJECT_ROUTES = {
    ("PATCH", "/api/queues/{name}"): "admins only (queues are the center's configuration)",
    ("GET", "/api/queues/{name}"): "admins only (queues are the center's configuration)",
    ("DELETE", "/api/queues/{name}"): "admins only (queues are the center's configuration)",
    ("PATCH", "/api/skills/{name}"): "admins only (skills are the center's configuration)",
    ("DELETE", "/api/skills/{name}"): "admins only (skills are the center's configuration)",
    ("PUT", "/api/agents/{username}/skills"): "admins only (agents' skill levels)",
    ("PATCH", "/api/pause-codes/{code}"): "admins only (pause codes are the center's configuration)",
    ("DELETE", "/api/pause-codes/{code}"): "admins only (pause codes are the center's configuration)",
    ("DELETE", "/api/wrapup-codes/{code}"): "admins only (wrap-up codes are the center's configuration)",
    ("POST", "/api/agents/{username}/sip-password"): "admins only (a new SIP password, shown once)",
    ("POST", "/admin/acd/agents/{username}/sip-password"): "admins only (a new SIP password, shown once)",
    ("POST", "/admin/phones/{username}"): "admins only (any user's phone, its password shown once)",
    ("POST", "/admin/phones/{username}/password"): "admins only (a new SIP password, shown once)",
    ("POST", "/api/phones/{username}/password"): "admins only (a new SIP password, shown once)",
    ("GET", "/provisioning/linphone/{token}"): "public: the token is the secret (one fetch, 15 minutes)",
    ("POST", "/admin/users/{username}"): "admins only (users are the center's configuration)",
    ("POST", "/admin/users/{username}/disable"): "admins only (users are the center's configuration)",
    ("POST", "/api/users/{username}/disable"): "admins only (users are the center's configuration)",
    ("POST", "/admin/users/{username}/enable"): "admins only (users are the center's configuration)",
    ("POST", "/api/users/{username}/enable"): "admins only (users are the center's configuration)",
    ("POST", "/admin/users/{username}/password"): "admins only (users are the center's configuration)",
    ("POST", "/api/users/{username}/password"): "admins only (users are the center's configuration)",
    ("POST", "/admin/users/{username}/revoke"): "admins only (users are the center's configuration)",
    ("POST", "/api/users/{username}/revoke"): "admins only (users are the center's configuration)",
    ("GET", "/api/users/{username}"): "admins only (users are the center's configuration)",
    ("PATCH", "/api/users/{username}"): "admins only (users are the center's configuration)",
    ("POST", "/admin/teams/{name}"): "admins only (teams are the center's configuration)",
    ("PATCH", "/api/teams/{name}"): "admins only (teams are the center's configuration)",
    ("GET", "/api/dialplans/versions/{id}"): "admins only (the PBX's dialplan is the center's configuration)",
    ("GET", "/api/dialplans/versions/{id}/diff"): "admins only (the PBX's dialplan is the center's configuration)",
    ("POST", "/api/dialplans/versions/{id}/apply"): "admins only (the PBX's dialplan is the center's configuration)",
    ("POST", "/api/dialplans/versions/{id}/rollback"): "admins only (the PBX's dialplan is the center's configuration)",
    ("PUT", "/api/recording/policies/campaigns/{id}"): "admins only",
    ("POST", "/api/customers/{id}/erase"): "admins only (GDPR erasure)",
    ("GET", "/customers/{id}"): "the customer file is the whole center's: any agent may take any customer's call",
    ("GET", "/api/customers/{id}"): "the customer file is the whole center's",
    ("PATCH", "/api/customers/{id}"): "the customer file is the whole center's",
    ("PATCH", "/api/tickets/{id}"): "tickets follow the customer file; the author is recorded",
    ("GET", "/customers/import/{job}"): "private to the uploader: another user's job is 404",
    ("POST", "/customers/import/{job}/confirm"): "private to the uploader",
    ("GET", "/api/customers/imports/{job}"): "private to the uploader",
    ("GET", "/api/quality/grids/{id}"): "evaluation grids are shared by all supervisors",
    ("PUT", "/api/quality/grids/{id}"): "evaluation grids are shared by all supervisors",
    ("DELETE", "/api/outbound/dnc/{number}"): "the company's do-not-call list is one list",
    ("GET", "/api/ivr/scripts/{name}"): "IVR scripts are the center's configuration",
    ("GET", "/api/ivr/scripts/{name}/versions"): "admins only (IVR scripts are the center's configuration)",
    ("GET", "/api/ivr/scripts/{name}/versions/{number}"): "admins only (IVR scripts are the center's configuration)",
    ("GET", "/api/ivr/scripts/{name}/diff"): "admins only (IVR scripts are the center's configuration)",
    ("POST", "/api/ivr/scripts/{name}/rollback"): "admins only (IVR scripts are the center's configuration)",
    ("GET", "/ivr/scripts/{name}/history"): "admins only (IVR scripts are the center's configuration)",
    ("POST", "/ivr/scripts/{name}/rollback"): "admins only (IVR scripts are the center's configuration)",
    # media (capabilities/media): prompts, music classes and queues' sounds are the center's
    ("POST", "/admin/media/prompts/{language}/{name}/remove"): "admins only (the center's prompts)",
    ("POST", "/admin/media/moh/{name}/files"): "admins only (the center's music on hold)",
    ("POST", "/admin/media/moh/{name}/remove"): "admins only (the center's music on hold)",
    ("POST", "/admin/media/queues/{queue}"): "admins only (queues are the center's configuration)",
    ("DELETE", "/api/media/prompts/{language}/{name}"): "admins only (the center's prompts)",
    ("DELETE", "/api/media/moh/{name}"): "admins only (the center's music on hold)",
    ("POST", "/api/media/moh/{name}/files"): "admins only (the center's music on hold)",
    ("DELETE", "/api/media/moh/{name}/files/{file}"): "admins only (the center's music on hold)",
    ("PUT", "/api/media/queues/{queue}"): "admins only (queues are the center's configuration)",
    ("GET", "/api/media/queues/{queue}/open"): "admins only (queues are the center's configuration)",
    ("GET", "/api/knowledge/{id}"): "knowledge articles are every agent's reference (writing is scoped)",
}


async def test_every_route_naming_an_object_checks_who_may_act_on_it(web_app):
    """The route walk: a new route with an id in its path must either join the object
    permission table (with an out-of-scope user refused) or say why its objects are shared."""
    from tests.security.test_object_permissions import OBJECT_ROUTES

    checked = {(case.method, case.template) for case in OBJECT_ROUTES}
    naming = {(m, p) for m, p, _r in route_table(web_app.app) if "{" in p}
    unclassified = naming - checked - set(SHARED_OBJECT_ROUTES)
    assert unclassified == set()
    assert set(SHARED_OBJECT_ROUTES) <= naming  # no stale entries
    # routes naming their object in the body are walked too
    assert {
        ("POST", "/api/quality/evaluations"),
        ("POST", "/api/supervision/spy"),
        ("POST", "/api/agent/wrapup"),
    } <= checked
