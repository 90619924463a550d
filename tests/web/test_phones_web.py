"""The phones administration: a SIP account for any user, its password shown once, roles, CSRF,
errors naming the field."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from ccserver.adapters.web.keys import RUNTIME
from ccserver.capabilities.acd.model import sip_password_digests
from ccserver.core.errors import PbxTimeout
from tests.support.web import csrf_field
from tests.web.conftest import PASSWORD, csrf_of, login


async def page_token(client) -> str:
    page = await client.get("/admin/phones")
    assert page.status == 200
    return csrf_field(await page.text())


def shown(page: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}">([^<]+)<', page).group(1)


async def test_admin_gives_a_supervisor_a_phone_whose_password_is_shown_once(web_app):
    runtime = web_app.app[RUNTIME]
    client = await login(web_app, "admin1")
    page = await (await client.get("/admin/phones")).text()
    # every user is listed with the state of their phone: nobody has one yet
    assert re.search(r'data-username="supervisor1" data-has-phone="no"', page)
    assert re.search(r'data-username="agent1" data-has-phone="no"', page)
    token = csrf_field(page)

    resp = await client.post("/admin/phones/supervisor1", data={"csrf_token": token})
    assert resp.status == 201
    assert resp.headers["Cache-Control"] == "no-store"
    page = await resp.text()
    password = shown(page, "sip-password")
    assert shown(page, "sip-username") == "supervisor1"
    assert shown(page, "sip-transport") == "UDP"
    assert shown(page, "sip-port") == "5060"  # the settings' port (the private instance fills it in)
    assert shown(page, "sip-server") == "127.0.0.1"
    assert "<svg" in page and 'class="segno"' in page  # the QR code, inline
    assert f"Password: {password}" in page  # Zoiper's form
    assert page.count(password) == 3  # the settings, Zoiper's form and Linphone's XML
    # only the digests are stored; the account is a SIP phone of the supervisor
    account = runtime.acd_repo.sip_account_of("supervisor1")
    assert dict(account.sip_digests) == sip_password_digests("supervisor1", password)
    [entry] = [e for e in runtime.audit.list(actor="admin1") if e.action == "phone.create"]
    assert entry.target == "supervisor1"

    # a second look shows the phone, never its password
    again = await client.get("/admin/phones")
    text = await again.text()
    assert password not in text
    assert re.search(r'data-username="supervisor1" data-has-phone="yes"', text)
    listing = await client.get("/api/phones")
    assert password not in await listing.text()
    [shown_later] = [p for p in await listing.json() if p["username"] == "supervisor1"]
    # no Asterisk here: whether the phone is registered is unknown
    assert shown_later == {
        "username": "supervisor1",
        "display_name": "Supervisor One",
        "role": "supervisor",
        "has_phone": True,
        "sip_username": "supervisor1",
        "registered": None,
    }
    await client.close()


async def test_regenerating_a_password_replaces_the_digests_and_voids_the_old_provisioning_link(web_app):
    runtime = web_app.app[RUNTIME]
    client = await login(web_app, "admin1")
    headers = {"X-CSRF-Token": await csrf_of(client)}
    resp = await client.post("/api/phones", json={"username": "agent1"}, headers=headers)
    assert resp.status == 201, await resp.text()
    assert resp.headers["Cache-Control"] == "no-store"
    first = await resp.json()
    assert first["settings"] | {"password": "x"} == {
        "server": "127.0.0.1",
        "port": 5060,
        "transport": "udp",
        "username": "agent1",
        "password": "x",
        "realm": "ccserver",
        "display_name": "Agent One",
    }
    old_link = first["provisioning"]["linphone_url"]

    resp = await client.post("/api/phones/agent1/password", headers=headers)
    assert resp.status == 200, await resp.text()
    second = await resp.json()
    assert second["settings"]["password"] != first["settings"]["password"]
    assert dict(runtime.acd_repo.agent("agent1").sip_digests) == sip_password_digests(
        "agent1", second["settings"]["password"]
    )
    phone = TestClient(web_app)  # the phone fetches its provisioning without logging in
    await phone.start_server()
    path = old_link.split("//", 1)[1].split("/", 1)[1]
    assert (await phone.get("/" + path)).status == 404  # the older link died with its password
    path = second["provisioning"]["linphone_url"].split("//", 1)[1].split("/", 1)[1]
    xml = await phone.get("/" + path)
    assert xml.status == 200 and xml.headers["Cache-Control"] == "no-store"
    body = await xml.text()
    assert f'<entry name="passwd" overwrite="true">{second["settings"]["password"]}</entry>' in body
    assert (await phone.get("/" + path)).status == 404  # once only
    actions = [e.action for e in runtime.audit.list(actor="admin1") if e.action.startswith("phone.")]
    assert sorted(actions) == ["phone.create", "phone.password_reset"]
    await phone.close()
    await client.close()


async def test_only_admins_make_phones_and_every_change_needs_the_csrf_token(web_app):
    runtime = web_app.app[RUNTIME]
    clients = []  # closed at the end: closing a test client stops the shared test server
    for role in ("supervisor1", "agent1"):
        client = await login(web_app, role)
        clients.append(client)
        headers = {"X-CSRF-Token": await csrf_of(client)}
        resp = await client.post("/api/phones", json={"username": "agent1"}, headers=headers)
        assert resp.status == 403 and (await resp.json())["error"] == "forbidden"
        resp = await client.post("/api/phones/supervisor1/password", headers=headers)
        assert resp.status == 403
        page = await client.get("/admin/phones", headers={"Accept": "application/json"})
        assert page.status == 403
    client = await login(web_app, "admin1")
    resp = await client.post("/api/phones", json={"username": "agent1"})
    assert resp.status == 403 and (await resp.json())["error"] == "csrf-rejected"
    resp = await client.post("/admin/phones/agent1", data={"csrf_token": "forged"})
    assert resp.status == 403
    assert runtime.acd_repo.sip_account_of("agent1") is None  # nothing was created
    for other in clients:
        await other.close()
    await client.close()


async def test_bad_usernames_are_refused_naming_the_field(web_app):
    runtime = web_app.app[RUNTIME]
    runtime.users.create_user("7seven", PASSWORD, role="agent")
    client = await login(web_app, "admin1")
    headers = {"X-CSRF-Token": await csrf_of(client)}
    for body, status in (
        ({"username": "Bad Name!"}, 400),
        ({"username": "a\r\nb"}, 400),
        ({}, 400),
        ({"username": "nobody"}, 404),
        ({"username": "7seven"}, 400),  # a SIP user (and a dialplan extension) starts with a letter
    ):
        resp = await client.post("/api/phones", json=body, headers=headers)
        assert resp.status == status, (body, await resp.text())
        assert (await resp.json())["details"]["field"] == "username", body
    resp = await client.post("/api/phones/nobody/password", headers=headers)
    assert resp.status == 404 and (await resp.json())["details"]["field"] == "username"
    resp = await client.post("/api/phones/agent1/password", headers=headers)  # no phone yet
    assert resp.status == 404 and (await resp.json())["error"] == "no-such-phone"
    assert (await client.post("/api/phones", json={"username": "agent1"}, headers=headers)).status == 201
    resp = await client.post("/api/phones", json={"username": "agent1"}, headers=headers)
    assert resp.status == 409 and (await resp.json())["details"]["field"] == "username"
    # the form answers with the page, the error naming the field
    token = await page_token(client)
    resp = await client.post("/admin/phones/nobody", data={"csrf_token": token})
    assert resp.status == 404
    assert "champ : <strong>username</strong>" in await resp.text()
    assert [p.username for p in await runtime.phones.phones() if p.has_phone] == ["agent1"]
    await client.close()


async def test_a_password_is_still_shown_when_asterisk_does_not_answer_the_reload(web_app):
    runtime = web_app.app[RUNTIME]

    async def asterisk_silent() -> None:
        raise PbxTimeout("Reload: no answer in 5 s")

    runtime.phones.apply = asterisk_silent
    client = await login(web_app, "admin1")
    resp = await client.post("/admin/phones/agent1", data={"csrf_token": await page_token(client)})
    assert resp.status == 201
    page = await resp.text()
    password = shown(page, "sip-password")
    assert "Asterisk n'a pas répondu" in page
    # stored: applied by the next configuration (the AMI reconnection reloads the written files)
    assert dict(runtime.acd_repo.agent("agent1").sip_digests) == sip_password_digests("agent1", password)
    await client.close()
