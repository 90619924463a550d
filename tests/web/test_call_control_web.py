"""The call control API's routes and its input errors, without a PBX (the actions themselves on
the real Asterisk: tests/integration/test_call_control.py; who may act: tests/security)."""

from __future__ import annotations

from tests.web.conftest import csrf_of, login

ROUTES = {
    ("POST", "/api/calls/{call}/hangup", "api-call-hangup"),
    ("POST", "/api/calls/{call}/hold", "api-call-hold"),
    ("POST", "/api/calls/{call}/resume", "api-call-resume"),
    ("POST", "/api/calls/{call}/mute", "api-call-mute"),
    ("POST", "/api/calls/{call}/unmute", "api-call-unmute"),
    ("POST", "/api/calls/{call}/dtmf", "api-call-dtmf"),
    ("POST", "/api/calls/{call}/transfer", "api-call-transfer"),
    ("POST", "/api/calls/{call}/transfer/complete", "api-call-transfer-complete"),
    ("POST", "/api/calls/{call}/transfer/cancel", "api-call-transfer-cancel"),
    ("POST", "/api/calls/{call}/transfer/merge", "api-call-transfer-merge"),
    ("POST", "/api/calls/{call}/leave", "api-call-leave"),
}


def test_every_action_has_its_route_and_name(web_app):
    """The call-control actions (POST, named api-call-*); other capabilities add their own routes
    under /api/calls/{call}/ (asking a supervisor, the call's legs)."""
    routes = {
        (r.method, r.resource.canonical, r.name)
        for r in web_app.app.router.routes()
        if r.resource is not None
        and r.resource.canonical.startswith("/api/calls/{call}/")
        and r.method == "POST"
        and (r.name or "").startswith("api-call-")
    }
    assert routes == ROUTES


async def test_attended_must_be_true_or_false(web_app):
    admin = await login(web_app, "admin1")
    refused = await admin.post(
        "/api/calls/live-1/transfer",
        json={"kind": "agent", "target": "agent2", "attended": "yes"},
        headers={"X-CSRF-Token": await csrf_of(admin)},
    )
    assert refused.status == 400
    body = await refused.json()
    # the message in the page's language (French by default: "attended : true ou false")
    assert body["details"]["field"] == "attended" and "true" in body["message"] and "false" in body["message"]
    await admin.close()


async def test_an_unknown_call_is_named(web_app):
    admin = await login(web_app, "admin1")
    missing = await admin.post("/api/calls/nope-1/hold", headers={"X-CSRF-Token": await csrf_of(admin)})
    assert missing.status == 404
    await admin.close()
