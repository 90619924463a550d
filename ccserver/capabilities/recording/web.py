"""Recordings (search, player, audio with HTTP ranges), the desk's pause/resume button,
quality grids and evaluations, the retention purge. Views call `RecordingService` only."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from ...adapters.web.auth import current_user, roles
from ...adapters.web.requests import read_json
from ...core.errors import InvalidInput
from ...core.text import Text
from .model import RangeNotSatisfiable, parse_range, validate_policy
from .ports import RecordingFilter
from .service import RecordingService

PAGE_SIZE = 50

RECORDING: web.AppKey[RecordingService] = web.AppKey("recording", RecordingService)


def _service(request: web.Request) -> RecordingService:
    return request.app[RECORDING]


def _int(value: Any, field: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(Text("%(field)s must be a whole number", field=field), field=field) from None
    if number < 0 or number > 2**62:
        raise InvalidInput(Text("%(field)s is out of range", field=field), field=field)
    return number


def _date(value: str | None, field: str, *, end: bool = False) -> datetime | None:
    """A day (2026-11-23, whole day) or an ISO instant; naive values are UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(Text("%(field)s: a date like 2026-11-23", field=field), field=field) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if end and len(value) == 10:
        parsed += timedelta(days=1)
    return parsed


def _filter(query) -> RecordingFilter:
    customer = query.get("customer_id") or None
    min_seconds = query.get("min_seconds") or None
    caller = "".join(ch for ch in query.get("caller", "") if ch.isdigit()) or None
    return RecordingFilter(
        agent=query.get("agent") or None,
        queue=query.get("queue") or None,
        customer_id=_int(customer, "customer_id") if customer else None,
        uniqueid=query.get("uniqueid") or None,
        caller=caller,
        since=_date(query.get("since"), "since"),
        until=_date(query.get("until"), "until", end=True),
        min_seconds=_int(min_seconds, "min_seconds") if min_seconds else None,
    )


def recording_view(row, call=None) -> dict[str, Any]:
    return {
        "id": row.id,
        "call_uniqueid": row.call_uniqueid,
        "linkedid": row.linkedid,
        "agent": row.agent,
        "queue": row.queue,
        "customer_id": row.customer_id
        if row.customer_id is not None
        else (call.customer_id if call is not None else None),
        "caller_number": call.caller_number if call is not None else None,
        "policy": row.policy,
        "status": row.status,
        "started_by": row.started_by,
        "started_at": row.started_at.isoformat(),
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
        "duration_seconds": None if row.duration_ms is None else row.duration_ms / 1000,
        "size_bytes": row.size_bytes,
        "sha256": row.sha256,
        "encrypted": row.encrypted,
        "pauses": json.loads(row.pauses or "[]"),
        "retention_days": row.retention_days,
        "audio_url": f"/recordings/{row.id}/audio" if row.status == "stored" else None,
    }


async def _search(request: web.Request) -> tuple[list[dict], int, int]:
    page = max(1, _int(request.query.get("page", "1"), "page"))
    rows, total = await asyncio.to_thread(
        _service(request).search,
        current_user(request),
        _filter(request.query),
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return [recording_view(r, c) for r, c in rows], total, page


# --- recordings ---------------------------------------------------------------------------------


@roles("supervisor", "admin")
async def list_page(request: web.Request) -> web.StreamResponse:
    recordings, total, page = await _search(request)
    return aiohttp_jinja2.render_template(
        "recordings/list.html",
        request,
        {
            "recordings": recordings,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "q": dict(request.query),
            "base_qs": urlencode({k: v for k, v in request.query.items() if k != "page" and v}),
        },
    )


@roles("supervisor", "admin")
async def api_list(request: web.Request) -> web.StreamResponse:
    recordings, total, page = await _search(request)
    return web.json_response({"recordings": recordings, "total": total, "page": page, "page_size": PAGE_SIZE})


async def _detail(request: web.Request) -> dict[str, Any]:
    service = _service(request)
    recording_id = _int(request.match_info["id"], "id")
    row, call, evaluations = await asyncio.to_thread(service.detail, current_user(request), recording_id)
    return {"recording": recording_view(row, call), "evaluations": [service.evaluation_view(e) for e in evaluations]}


@roles("supervisor", "admin")
async def detail_page(request: web.Request) -> web.StreamResponse:
    detail = await _detail(request)
    grids = await asyncio.to_thread(_service(request).grids, True)
    return aiohttp_jinja2.render_template("recordings/detail.html", request, {**detail, "grids": grids})


@roles("supervisor", "admin")
async def api_detail(request: web.Request) -> web.StreamResponse:
    return web.json_response(await _detail(request))


@roles("agent", "supervisor", "admin")
async def audio(request: web.Request) -> web.StreamResponse:
    """The WAV, whole (200) or a byte range (206); every listener is audit-logged."""
    service = _service(request)
    user = current_user(request)
    row = await asyncio.to_thread(service.playable, user, _int(request.match_info["id"], "id"))
    size = row.size_bytes or 0
    etag = f'"{row.sha256}"'
    header = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if header and if_range and if_range != etag:
        header = None  # the file changed since the client's copy: send it whole
    try:
        wanted = parse_range(header, size)
    except RangeNotSatisfiable:
        return web.Response(status=416, headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"})
    await asyncio.to_thread(service.note_playback, user, row, header or "", request.remote or "")
    start, end = wanted if wanted is not None else (0, size - 1)
    headers = {
        "Content-Type": "audio/wav",
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Cache-Control": "private, no-store",
        "Content-Disposition": f'inline; filename="recording-{row.id}.wav"',
        "Content-Length": str(max(0, end - start + 1)),
    }
    if wanted is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    response = web.StreamResponse(status=206 if wanted is not None else 200, headers=headers)
    await response.prepare(request)
    if request.method == "HEAD" or size == 0:
        await response.write_eof()
        return response
    pieces = service.read_audio(row, start, end)
    while True:
        piece = await asyncio.to_thread(next, pieces, None)
        if piece is None:
            break
        await response.write(piece)
    await response.write_eof()
    return response


@roles("admin")
async def api_purge(request: web.Request) -> web.StreamResponse:
    return web.json_response(await _service(request).purge(current_user(request).username))


@roles("supervisor", "admin")
async def api_policies(request: web.Request) -> web.StreamResponse:
    return web.json_response(await asyncio.to_thread(_service(request).policies))


@roles("admin")
async def api_campaign_policy(request: web.Request) -> web.StreamResponse:
    campaign_id = _int(request.match_info["id"], "id")
    body = await read_json(request)
    policy = validate_policy(body.get("recording_policy"), body.get("retention_days"))
    await _service(request).set_campaign_policy(campaign_id, policy, current_user(request).username)
    return web.json_response(
        {"campaign_id": campaign_id, "recording_policy": policy.policy, "retention_days": policy.retention_days}
    )


# --- the agent's desk -----------------------------------------------------------------------------


@roles("agent")
async def api_agent_recording(request: web.Request) -> web.StreamResponse:
    return web.json_response(_service(request).desk_state(current_user(request).username))


def _agent_action(action: str):
    @roles("agent")
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(await _service(request).agent_action(current_user(request).username, action))

    handler.__name__ = f"api_agent_recording_{action}"
    return handler


# --- quality review -------------------------------------------------------------------------------


@roles("supervisor", "admin")
async def quality_page(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    grids = await asyncio.to_thread(service.grids)
    since = _date(request.query.get("since"), "since")
    stats = await asyncio.to_thread(service.averages, since, current_user(request))
    recent = await asyncio.to_thread(service.evaluations, limit=200)
    recent = (await asyncio.to_thread(service.visible_evaluations, current_user(request), recent))[:50]
    return aiohttp_jinja2.render_template(
        "recordings/quality.html",
        request,
        {
            "grids": grids,
            "stats": stats,
            "evaluations": [service.evaluation_view(e) for e in recent],
            "since": request.query.get("since", ""),
        },
    )


@roles("supervisor", "admin")
async def api_grids(request: web.Request) -> web.StreamResponse:
    grids = await asyncio.to_thread(_service(request).grids, request.query.get("active") == "1")
    return web.json_response(grids)


@roles("supervisor", "admin")
async def api_grid(request: web.Request) -> web.StreamResponse:
    grid = await asyncio.to_thread(_service(request).grid, _int(request.match_info["id"], "id"))
    return web.json_response(grid)


@roles("supervisor", "admin")
async def api_grid_create(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    view = await asyncio.to_thread(_service(request).save_grid, None, body, current_user(request).username)
    return web.json_response(view, status=201)


@roles("supervisor", "admin")
async def api_grid_update(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    view = await asyncio.to_thread(
        _service(request).save_grid, _int(request.match_info["id"], "id"), body, current_user(request).username
    )
    return web.json_response(view)


@roles("supervisor", "admin")
async def api_evaluate(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    user = current_user(request)
    view = await asyncio.to_thread(
        _service(request).evaluate,
        _int(body.get("recording_id"), "recording_id"),
        _int(body.get("grid_id"), "grid_id"),
        body.get("answers"),
        body.get("comment"),
        user.username,
        user.role,
    )
    return web.json_response(view, status=201)


@roles("supervisor", "admin")
async def api_evaluation_update(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    user = current_user(request)
    view = await asyncio.to_thread(
        _service(request).update_evaluation,
        _int(request.match_info["id"], "id"),
        body.get("answers"),
        body.get("comment"),
        user.username,
        user.role,
    )
    return web.json_response(view)


@roles("supervisor", "admin")
async def api_evaluations(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    grid = request.query.get("grid_id")
    rows = await asyncio.to_thread(
        service.evaluations,
        agent=request.query.get("agent") or None,
        grid_id=_int(grid, "grid_id") if grid else None,
        since=_date(request.query.get("since"), "since"),
    )
    rows = await asyncio.to_thread(service.visible_evaluations, current_user(request), rows)
    return web.json_response([service.evaluation_view(r) for r in rows])


@roles("supervisor", "admin")
async def api_averages(request: web.Request) -> web.StreamResponse:
    since = _date(request.query.get("since"), "since")
    return web.json_response(await asyncio.to_thread(_service(request).averages, since, current_user(request)))


@roles("agent")
async def my_evaluations_page(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    user = current_user(request)
    rows = await asyncio.to_thread(service.evaluations, agent=user.username)
    views = [service.evaluation_view(r) for r in rows]
    mean = round(sum(v["score"] for v in views) / len(views), 1) if views else None
    return aiohttp_jinja2.render_template(
        "recordings/my_evaluations.html",
        request,
        {"evaluations": views, "average": mean, "may_listen": service.agents_may_listen},
    )


@roles("agent")
async def api_my_evaluations(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    rows = await asyncio.to_thread(service.evaluations, agent=current_user(request).username)
    return web.json_response([service.evaluation_view(r) for r in rows])


@roles("agent")
async def api_acknowledge(request: web.Request) -> web.StreamResponse:
    view = await asyncio.to_thread(
        _service(request).acknowledge, current_user(request).username, _int(request.match_info["id"], "id")
    )
    return web.json_response(view)


def add_routes(app: web.Application, service: RecordingService) -> None:
    app[RECORDING] = service
    r = app.router
    r.add_get("/recordings", list_page, name="recordings")
    r.add_get("/recordings/{id}", detail_page, name="recording")
    r.add_get("/recordings/{id}/audio", audio, name="recording-audio")
    r.add_get("/api/recordings", api_list, name="api-recordings")
    r.add_post("/api/recordings/purge", api_purge, name="api-recordings-purge")
    r.add_get("/api/recordings/{id}", api_detail, name="api-recording")
    r.add_get("/api/recording/policies", api_policies, name="api-recording-policies")
    r.add_put("/api/recording/policies/campaigns/{id}", api_campaign_policy, name="api-recording-campaign-policy")
    r.add_get("/api/agent/recording", api_agent_recording, name="api-agent-recording")
    for action in ("start", "pause", "resume", "stop"):
        r.add_post(f"/api/agent/recording/{action}", _agent_action(action), name=f"api-agent-recording-{action}")
    r.add_get("/quality", quality_page, name="quality")
    r.add_get("/api/quality/grids", api_grids, name="api-quality-grids")
    r.add_post("/api/quality/grids", api_grid_create, name="api-quality-grid-create")
    r.add_get("/api/quality/grids/{id}", api_grid, name="api-quality-grid")
    r.add_put("/api/quality/grids/{id}", api_grid_update, name="api-quality-grid-update")
    r.add_get("/api/quality/evaluations", api_evaluations, name="api-quality-evaluations")
    r.add_post("/api/quality/evaluations", api_evaluate, name="api-quality-evaluate")
    r.add_put("/api/quality/evaluations/{id}", api_evaluation_update, name="api-quality-evaluation-update")
    r.add_get("/api/quality/averages", api_averages, name="api-quality-averages")
    r.add_get("/my/evaluations", my_evaluations_page, name="my-evaluations")
    r.add_get("/api/agent/evaluations", api_my_evaluations, name="api-agent-evaluations")
    r.add_post("/api/agent/evaluations/{id}/acknowledge", api_acknowledge, name="api-agent-evaluation-ack")
