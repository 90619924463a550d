"""/admin/dialplans and /api/dialplans: admins only (agents and supervisors get 403 and change
nothing), errors that name the field, the page lists versions and history."""

from __future__ import annotations

import pytest

from ccserver.adapters.web.app import RUNTIME
from tests.fakes.dialplans import FakePbx, FakeScratch, MemoryFiles
from tests.web.conftest import login

PROBE = "[inbound]\nexten => probe,1,Answer()\n same => n,Hangup()\n"
ROUTES = [
    ("GET", "/admin/dialplans", None),
    ("GET", "/api/dialplans", None),
    ("GET", "/api/dialplans/history", None),
    ("GET", "/api/dialplans/versions/1", None),
    ("GET", "/api/dialplans/versions/1/diff", None),
    ("POST", "/api/dialplans/check", {"files": {"default.conf": PROBE}}),
    ("POST", "/api/dialplans/diff", {"files": {"default.conf": PROBE + "; new\n"}}),
    ("POST", "/api/dialplans/versions", {"files": {"default.conf": PROBE + "exten => 1,1,NoOp()\n"}}),
    ("POST", "/api/dialplans/versions/1/apply", {}),
    ("POST", "/api/dialplans/versions/1/rollback", {}),
]


@pytest.fixture
async def dialplans(web_app):
    service = web_app.app[RUNTIME].dialplans
    service.files = MemoryFiles({"default.conf": PROBE})
    service.pbx = FakePbx(service.files)
    service.scratch = FakeScratch()
    await service.start()
    return service


async def send(client, method, path, body):
    return await client.request(method, path, json=body, headers={"X-CSRF-Token": client.csrf})


@pytest.mark.parametrize("role", ["agent", "supervisor"])
async def test_only_admins_reach_the_dialplans(web_app, dialplans, role):
    client = await login(web_app, f"{role}1")
    try:
        for method, path, body in ROUTES:
            resp = await send(client, method, path, body)
            assert resp.status == 403, (method, path)
    finally:
        await client.close()
    assert len(await dialplans.versions()) == 1 and dialplans.files.writes == 0


async def test_admin_saves_applies_and_sees_the_page(web_app, dialplans):
    client = await login(web_app, "admin1")
    try:
        for method, path, body in ROUTES:
            resp = await send(client, method, path, body)
            assert resp.status in (200, 201), (method, path, await resp.text())
        resp = await send(client, "POST", "/api/dialplans/diff", {"files": {"default.conf": PROBE + "; new\n"}})
        assert "+; new" in (await resp.json())["diff"]
        page = await (await client.get("/admin/dialplans")).text()
        assert "codemirror-5.65.18/codemirror.js" in page and "mode/asterisk/asterisk.js" in page
        assert 'data-version="2"' in page and "admin1" in page
        history = await (await client.get("/api/dialplans/history")).json()
        assert [(h["action"], h["version_id"], h["actor"]) for h in history[:2]] == [
            ("rollback", 1, "admin1"),
            ("apply", 1, "admin1"),
        ]
    finally:
        await client.close()


async def test_bad_requests_name_the_field(web_app, dialplans):
    client = await login(web_app, "admin1")
    try:
        for body, field in (
            ({}, "files"),
            ({"files": {"../x.conf": ""}}, "files"),
            ({"files": {"a.conf": PROBE}, "comment": "a\nb"}, "comment"),
        ):
            resp = await send(client, "POST", "/api/dialplans/versions", body)
            data = await resp.json()
            assert resp.status == 400 and data["details"]["field"] == field, data
        resp = await send(client, "GET", "/api/dialplans/versions/99", None)
        assert resp.status == 404 and (await resp.json())["error"] == "no-such-dialplan-version"
        resp = await send(
            client, "POST", "/api/dialplans/versions", {"files": {"default.conf": PROBE + "exten => 1,1,Nope()\n"}}
        )
        data = await resp.json()
        assert resp.status == 422 and data["details"]["problems"][0] == {
            "file": "default.conf", "line": 4, "rule": "unknown-application",
            "message": "no application 'Nope' in this Asterisk", "source": "lint",
        }  # fmt: skip
    finally:
        await client.close()
    assert len(await dialplans.versions()) == 1


async def test_without_an_asterisk_the_api_says_so(web_app):
    client = await login(web_app, "admin1")
    try:
        resp = await send(client, "POST", "/api/dialplans/check", {"files": {"default.conf": PROBE}})
        assert resp.status == 409 and (await resp.json())["error"] == "dialplan-unavailable"
    finally:
        await client.close()
