"""Recordings over HTTP (no PBX): range requests, playback rights and audit, search, quality
grids and evaluations, the agent's evaluations, purge and GDPR erasure routes."""

from __future__ import annotations

import json
import math
import struct
import wave
from datetime import UTC, datetime

import pytest

from ccserver.adapters.web.keys import RUNTIME
from tests.web.conftest import csrf_of, login


def make_wav(path, seconds=2.0) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", int(2000 * math.sin(i / 4))) for i in range(int(8000 * seconds))))
    return path.read_bytes()


@pytest.fixture
async def recorded(web_app):
    runtime = web_app.app[RUNTIME]
    runtime.users.create_user("agent2", "correct horse battery", role="agent")
    runtime.acd_repo.give_scope("supervisor1", "queue", "sales")  # supervisors see their queues
    now = datetime.now(UTC)
    runtime.acd_repo.upsert_calls(
        [
            dict(
                uniqueid="u1",
                caller_number="0612345678",
                queue="sales",
                agent="agent1",
                created_at=now,
                outcome="answered",
            )
        ]
    )
    row = runtime.recording.repo.insert(
        call_uniqueid="u1",
        agent="agent1",
        queue="sales",
        started_at=now,
        status="stored",
        retention_days=30,
        duration_ms=2000,
        pauses=json.dumps([[0.5, 1.0]]),
    )
    data = make_wav(runtime.recording.store.store_dir / "2026" / f"{row.id}.wav")
    import hashlib

    runtime.recording.repo.update(
        row.id, path=f"2026/{row.id}.wav", size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest()
    )
    return runtime, row.id, data


async def test_audio_is_served_whole_or_by_range_with_the_right_bytes(web_app, recorded):
    runtime, rid, data = recorded
    client = await login(web_app, "supervisor1")
    resp = await client.get(f"/recordings/{rid}/audio")
    assert resp.status == 200 and resp.headers["Accept-Ranges"] == "bytes"
    assert resp.headers["Content-Type"] == "audio/wav" and await resp.read() == data
    resp = await client.get(f"/recordings/{rid}/audio", headers={"Range": "bytes=44-143"})
    assert resp.status == 206 and resp.headers["Content-Range"] == f"bytes 44-143/{len(data)}"
    assert resp.headers["Content-Length"] == "100" and await resp.read() == data[44:144]
    resp = await client.get(f"/recordings/{rid}/audio", headers={"Range": "bytes=-10"})
    assert resp.status == 206 and await resp.read() == data[-10:]
    resp = await client.get(f"/recordings/{rid}/audio", headers={"Range": f"bytes={len(data) + 5}-"})
    assert resp.status == 416 and resp.headers["Content-Range"] == f"bytes */{len(data)}"
    etag = resp.headers.get("ETag")
    resp = await client.get(f"/recordings/{rid}/audio", headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert resp.status == 200 and await resp.read() == data  # changed since: the whole file
    resp = await client.head(f"/recordings/{rid}/audio", headers={"Range": "bytes=0-9"})
    assert resp.status == 206 and resp.headers["Content-Length"] == "10"
    [entry] = runtime.audit.list(action="recording.play")  # one entry for the whole listening
    assert entry.actor == "supervisor1" and entry.target == str(rid) and entry.details_dict["range"] == "all"
    assert etag is None or etag
    await client.close()


async def test_agents_hear_only_their_own_calls_and_only_if_allowed(web_app, recorded):
    runtime, rid, data = recorded
    owner = await login(web_app, "agent1")
    resp = await owner.get(f"/recordings/{rid}/audio", headers={"Range": "bytes=0-9"})
    assert resp.status == 403  # the setting is off by default
    runtime.recording.agents_may_listen = True
    resp = await owner.get(f"/recordings/{rid}/audio", headers={"Range": "bytes=0-9"})
    assert resp.status == 206 and await resp.read() == data[:10]
    other = await login(web_app, "agent2")
    resp = await other.get(f"/recordings/{rid}/audio", headers={"Range": "bytes=0-9"})
    assert resp.status == 403
    assert [e.actor for e in runtime.audit.list(action="recording.play")] == ["agent1"]
    resp = await other.get("/recordings", headers={"Accept": "application/json"})
    assert resp.status == 403
    for client in (owner, other):
        await client.close()


async def test_supervisor_searches_and_opens_the_player_page(web_app, recorded):
    runtime, rid, _data = recorded
    client = await login(web_app, "supervisor1")
    resp = await client.get("/api/recordings", params={"agent": "agent1", "caller": "06 12"})
    body = await resp.json()
    assert body["total"] == 1 and body["recordings"][0]["id"] == rid
    assert body["recordings"][0]["caller_number"] == "0612345678"
    assert body["recordings"][0]["audio_url"] == f"/recordings/{rid}/audio"
    assert (await (await client.get("/api/recordings", params={"queue": "other"})).json())["total"] == 0
    today = datetime.now(UTC).date()
    resp = await client.get("/api/recordings", params={"since": str(today), "until": str(today)})
    assert (await resp.json())["total"] == 1
    resp = await client.get("/api/recordings", params={"since": "yesterday"})
    assert resp.status == 400
    page = await (await client.get("/recordings", params={"agent": "agent1"})).text()
    assert f"/recordings/{rid}/audio" in page and "0612345678" in page
    page = await (await client.get(f"/recordings/{rid}")).text()
    assert 'id="player"' in page and "0.5 s" in page
    resp = await client.get("/recordings/abc")
    assert resp.status == 400
    await client.close()


GRID = {
    "name": "Accueil",
    "sections": [
        {
            "title": "Accueil",
            "weight": 1,
            "criteria": [{"id": "hello", "label": "Bonjour"}, {"id": "identity", "label": "Identité", "fatal": True}],
        },
        {"title": "Fond", "weight": 2, "criteria": [{"id": "answer", "label": "Réponse", "max_points": 5}]},
    ],
}


async def test_grid_scoring_agent_view_and_averages(web_app, recorded):
    runtime, rid, _data = recorded
    sup = await login(web_app, "supervisor1")
    token = await csrf_of(sup)
    headers = {"X-CSRF-Token": token}
    resp = await sup.post("/api/quality/grids", json=GRID, headers=headers)
    assert resp.status == 201, await resp.text()
    grid = await resp.json()
    resp = await sup.post("/api/quality/grids", json={"name": "x", "sections": []}, headers=headers)
    assert resp.status == 400 and (await resp.json())["details"]["field"] == "sections"
    resp = await sup.post(
        "/api/quality/evaluations",
        headers=headers,
        json={
            "recording_id": rid,
            "grid_id": grid["id"],
            "answers": {"hello": 1, "identity": 1, "answer": 4},
            "comment": "Très bien",
        },
    )
    assert resp.status == 201, await resp.text()
    evaluation = await resp.json()
    assert evaluation["score"] == round((100 + 2 * 80) / 3, 1) and evaluation["agent"] == "agent1"
    page = await (await sup.get("/quality")).text()
    assert "agent1" in page and str(evaluation["score"]) in page
    page = await (await sup.get(f"/recordings/{rid}")).text()  # the scoring form beside the player
    assert f'data-grid="{grid["id"]}"' in page and 'name="answer"' in page and "Très bien" in page
    averages = await (await sup.get("/api/quality/averages")).json()
    assert averages["by_agent"] == [{"key": "agent1", "count": 1, "average": evaluation["score"], "fatal_count": 0}]
    agent = await login(web_app, "agent1")
    mine = await (await agent.get("/api/agent/evaluations")).json()
    assert [e["id"] for e in mine] == [evaluation["id"]]
    page = await (await agent.get("/my/evaluations")).text()
    assert "Très bien" in page and "Réponse" in page
    resp = await agent.post(
        f"/api/agent/evaluations/{evaluation['id']}/acknowledge",
        json={},
        headers={"X-CSRF-Token": await csrf_of(agent)},
    )
    assert resp.status == 200 and (await resp.json())["acknowledged_at"]
    other = await login(web_app, "agent2")
    assert await (await other.get("/api/agent/evaluations")).json() == []
    resp = await other.post(
        f"/api/agent/evaluations/{evaluation['id']}/acknowledge",
        json={},
        headers={"X-CSRF-Token": await csrf_of(other)},
    )
    assert resp.status == 403
    for client in (sup, agent, other):
        await client.close()


async def test_desk_recording_api_without_a_call_says_so(web_app):
    agent = await login(web_app, "agent1")
    assert await (await agent.get("/api/agent/recording")).json() == {"recording": None}
    resp = await agent.post("/api/agent/recording/pause", json={}, headers={"X-CSRF-Token": await csrf_of(agent)})
    assert resp.status == 409 and (await resp.json())["error"] == "conflict"
    await agent.close()


async def test_policies_purge_and_erasure_routes(web_app, recorded):
    runtime, rid, _data = recorded
    admin = await login(web_app, "admin1")
    headers = {"X-CSRF-Token": await csrf_of(admin)}
    resp = await admin.put(
        "/api/recording/policies/campaigns/7",
        headers=headers,
        json={"recording_policy": "on_demand", "retention_days": 60},
    )
    assert resp.status == 200
    resp = await admin.put(
        "/api/recording/policies/campaigns/7",
        headers=headers,
        json={"recording_policy": "sometimes", "retention_days": 60},
    )
    assert resp.status == 400
    policies = await (await admin.get("/api/recording/policies")).json()
    assert policies["campaigns"]["7"] == {"policy": "on_demand", "retention_days": 60}
    resp = await admin.post("/api/recordings/purge", json={}, headers=headers)
    assert resp.status == 200 and (await resp.json())["removed"] == 0
    customer = runtime.customers.create_customer(phones=["0612345678"], last_name="Martin")
    sup = await login(web_app, "supervisor1")
    resp = await sup.post(f"/api/customers/{customer.id}/erase", json={}, headers={"X-CSRF-Token": await csrf_of(sup)})
    assert resp.status == 403
    resp = await admin.post(f"/api/customers/{customer.id}/erase", json={}, headers=headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["recordings"] == 1
    resp = await admin.get(f"/api/recordings/{rid}")
    assert resp.status == 404
    resp = await admin.post("/api/customers/999999/erase", json={}, headers=headers)
    assert resp.status == 404
    for client in (admin, sup):
        await client.close()


async def test_supervisors_see_only_recordings_of_their_queues_and_teams(web_app, recorded):
    runtime, rid, _data = recorded
    runtime.users.create_user("supervisor2", "correct horse battery", role="supervisor")
    runtime.acd_repo.give_scope("supervisor2", "queue", "billing")
    other = await login(web_app, "supervisor2")
    assert (await (await other.get("/api/recordings")).json())["total"] == 0
    assert (await other.get(f"/recordings/{rid}/audio")).status == 403
    assert (await other.get(f"/api/recordings/{rid}")).status == 403
    resp = await other.post(
        "/api/quality/evaluations",
        headers={"X-CSRF-Token": await csrf_of(other)},
        json={"recording_id": rid, "grid_id": 1, "answers": {}},
    )
    assert resp.status == 403
    assert (await resp.json())["error"] == "forbidden"
    assert runtime.audit.list(action="recording.play") == []
    # given the team of the call's agent, they see it
    await runtime.acd.create_agent("agent9", "correct horse battery", "Agent Nine", {}, "admin", team="north")
    runtime.recording.repo.update(rid, agent="agent9")
    runtime.acd_repo.give_scope("supervisor2", "team", "north")
    assert (await (await other.get("/api/recordings")).json())["total"] == 1
    assert (await other.get(f"/recordings/{rid}/audio", headers={"Range": "bytes=0-1"})).status == 206
    admin = await login(web_app, "admin1")
    assert (await (await admin.get("/api/recordings")).json())["total"] == 1
    for client in (other, admin):
        await client.close()
