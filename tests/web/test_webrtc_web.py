"""The browser phone's credentials: the logged-in agent's own only, per web session, never
cached; other roles, strangers and requests naming another user are refused."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from ccserver.adapters.web.keys import RUNTIME
from ccserver.capabilities.acd.model import sip_password_digests
from tests.web.conftest import login

URL = "/api/agent/browser-phone"


async def post(client, body=None, *, csrf: bool = True):
    headers = {"X-CSRF-Token": client.csrf} if csrf else {}
    return await client.post(URL, json=body if body is not None else {}, headers=headers)


async def test_agent_gets_their_own_browser_phone_per_session_and_never_cached(web_app):
    runtime = web_app.app[RUNTIME]
    await runtime.acd.create_agent("zoe", "password-1234", "Zoé", {}, "admin1")
    await runtime.acd.create_agent("yann", "password-1234", "Yann", {}, "admin1")
    first = await login(web_app, "zoe", "password-1234")
    resp = await post(first)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Cache-Control"] == "no-store"
    phone = await resp.json()
    assert phone["uri"] == "sip:zoe~webrtc@127.0.0.1"
    assert phone["authorization_user"] == "zoe~webrtc"
    assert phone["ws_url"] == "wss://127.0.0.1:8089/ws"
    assert (phone["realm"], phone["display_name"]) == ("ccserver", "Zoé")
    # the same session asks again (a page reload): the same password, Asterisk not touched
    assert (await (await post(first)).json())["password"] == phone["password"]

    # Asterisk is given the endpoint with the digest of that password, never the password
    [endpoint] = runtime.webrtc.endpoints()
    assert endpoint.endpoint == "zoe~webrtc"
    assert dict(endpoint.digests) == {"MD5": sip_password_digests("zoe~webrtc", phone["password"])["MD5"]}

    # another session of the same agent: another password; the first one no longer works
    second = await login(web_app, "zoe", "password-1234")
    other = await (await post(second)).json()
    assert other["password"] != phone["password"]
    [endpoint] = runtime.webrtc.endpoints()
    assert dict(endpoint.digests)["MD5"] == sip_password_digests("zoe~webrtc", other["password"])["MD5"]

    # another agent gets their own endpoint, and nothing of zoe's
    yann = await (await post(await login(web_app, "yann", "password-1234"))).json()
    assert yann["authorization_user"] == "yann~webrtc"
    assert {e.endpoint for e in runtime.webrtc.endpoints()} == {"zoe~webrtc", "yann~webrtc"}
    for client in (first, second):
        await client.close()


async def test_asking_for_another_agents_browser_phone_is_refused(web_app):
    runtime = web_app.app[RUNTIME]
    await runtime.acd.create_agent("zoe", "password-1234", "Zoé", {}, "admin1")
    await runtime.acd.create_agent("yann", "password-1234", "Yann", {}, "admin1")
    client = await login(web_app, "zoe", "password-1234")
    resp = await post(client, {"username": "yann"})
    assert resp.status == 400
    error = await resp.json()
    assert error["details"]["field"] == "username"
    assert runtime.webrtc.endpoints() == []  # nothing made for anybody
    await client.close()


async def test_browser_phone_refused_to_other_roles_strangers_and_without_csrf(web_app):
    runtime = web_app.app[RUNTIME]
    await runtime.acd.create_agent("zoe", "password-1234", "Zoé", {}, "admin1")
    for role in ("supervisor1", "admin1"):
        client = await login(web_app, role)
        assert (await post(client)).status == 403
    zoe = await login(web_app, "zoe", "password-1234")
    assert (await post(zoe, csrf=False)).status == 403
    stranger = TestClient(web_app)
    await stranger.start_server()
    resp = await stranger.post(URL, json={})
    assert resp.status in (401, 403)
    assert "password" not in await resp.text()
    await stranger.close()
    assert runtime.webrtc.endpoints() == []


async def test_an_agent_user_without_agent_account_gets_a_clear_error(web_app):
    client = await login(web_app, "agent1")  # a user with the agent role, no agent account
    resp = await post(client)
    assert resp.status == 404
    body = await resp.json()
    assert body["error"] == "no-browser-phone" and body["details"]["field"] == "username"
    await client.close()


async def test_login_with_an_unknown_phone_names_the_field(web_app):
    runtime = web_app.app[RUNTIME]
    await runtime.acd.create_agent("zoe", "password-1234", "Zoé", {}, "admin1")
    client = await login(web_app, "zoe", "password-1234")
    resp = await client.post("/api/agent/login", json={"phone": "fax"}, headers={"X-CSRF-Token": client.csrf})
    assert resp.status == 400
    assert (await resp.json())["details"]["field"] == "phone"
    await client.close()


async def test_the_desk_may_open_the_websocket_to_asterisk_and_nothing_else(web_app):
    runtime = web_app.app[RUNTIME]
    await runtime.acd.create_agent("zoe", "password-1234", "Zoé", {}, "admin1")
    client = await login(web_app, "zoe", "password-1234")
    page = await client.get("/agent")
    assert page.status == 200
    policy = page.headers["Content-Security-Policy"]
    connect = next(part for part in policy.split(";") if part.strip().startswith("connect-src"))
    assert "wss://127.0.0.1:8089" in connect.split()
    assert "script-src 'self';" in policy  # no inline script for the phone either
    html = await page.text()
    assert 'id="browser-phone"' in html and "/static/vendor/jssip-3.13.8/jssip.min.js" in html
    assert (await client.get("/static/vendor/jssip-3.13.8/LICENSE.md")).status == 200
