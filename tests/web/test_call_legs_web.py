"""A call's legs over HTTP (no PBX): an agent of the call and a supervisor of its queue read
them, the recording page and the customer file carry the list the page script fills."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ccserver.adapters.web.keys import RUNTIME
from tests.web.conftest import login
from tests.web.test_recording_web import recorded  # noqa: F401 (fixture)


async def test_legs_of_a_transferred_call_for_its_agents_and_its_supervisor(web_app, recorded):
    runtime, rid, _data = recorded
    runtime.users.create_user("bruno", "correct horse battery", role="agent")
    t0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    leg = dict(call_uniqueid="u1", linkedid="u1", interface="PJSIP/x", channel="PJSIP/x-1")
    runtime.acd_repo.upsert_legs(
        [
            dict(
                leg,
                seq=1,
                agent="agent1",
                started_at=t0,
                answered_at=t0,
                ended_at=t0 + timedelta(seconds=40),
                talk_seconds=40,
                hold_seconds=5,
                started_how="queue",
                ended_how="transferred",
            ),
            dict(
                leg,
                seq=2,
                agent="bruno",
                started_at=t0 + timedelta(seconds=41),
                answered_at=t0 + timedelta(seconds=44),
                ended_at=t0 + timedelta(seconds=100),
                talk_seconds=56,
                started_how="attended_transfer",
                ended_how="hangup",
                transferred_by="agent1",
            ),
        ]
    )
    for who in ("agent1", "bruno", "supervisor1", "admin1"):
        client = await login(web_app, who, "correct horse battery")
        resp = await client.get("/api/calls/u1/legs")
        assert resp.status == 200, (who, await resp.text())
        body = await resp.json()
        assert [(x["agent"], x["started_how"], x["ended_how"]) for x in body["legs"]] == [
            ("agent1", "queue", "transferred"),
            ("bruno", "attended_transfer", "hangup"),
        ]
        assert body["talk_by_agent"] == {"agent1": 40, "bruno": 56}
        assert body["legs"][1]["answered_at"] == "2026-12-06T09:00:44+00:00"
    stranger = await login(web_app, "agent2", "correct horse battery")
    resp = await stranger.get("/api/calls/u1/legs")
    assert resp.status == 403 and (await resp.json())["error"] == "forbidden"
    resp = await stranger.get("/api/calls/nope/legs")
    assert resp.status == 404
    # the recording's page carries the list that static/call_legs.js fills
    supervisor = await login(web_app, "supervisor1", "correct horse battery")
    page = await (await supervisor.get(f"/recordings/{rid}")).text()
    assert 'class="call-legs" data-call="u1"' in page and "/static/call_legs.js" in page
    assert web_app.app[RUNTIME] is runtime
