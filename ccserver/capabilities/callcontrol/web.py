"""The desk's call control API: POST /api/calls/{id}/<action> (agent on the call, supervisor in
scope, admin). Each answers with the call's control state; hold, resume and transfers are
confirmed later by a `call_control_changed` push."""

from __future__ import annotations

from aiohttp import web

from ...adapters.web.auth import current_user, roles
from ...adapters.web.requests import read_json
from .service import CallControlService

CALL_CONTROL: web.AppKey[CallControlService] = web.AppKey("call_control", CallControlService)


def _args(request: web.Request):
    user = current_user(request)
    return request.app[CALL_CONTROL], user.username, user.role, request.match_info["call"]


def _state(call) -> web.Response:
    return web.json_response(call.to_dict() if call is not None else {"ok": True})


@roles("agent", "supervisor", "admin")
async def api_hangup(request: web.Request) -> web.StreamResponse:
    service, username, role, call = _args(request)
    await service.hangup(username, role, call)
    return web.json_response({"ok": True})


@roles("agent", "supervisor", "admin")
async def api_hold(request: web.Request) -> web.StreamResponse:
    service, username, role, call = _args(request)
    return _state(await service.hold(username, role, call))


@roles("agent", "supervisor", "admin")
async def api_resume(request: web.Request) -> web.StreamResponse:
    service, username, role, call = _args(request)
    return _state(await service.resume(username, role, call))


@roles("agent", "supervisor", "admin")
async def api_mute(request: web.Request) -> web.StreamResponse:
    service, username, role, call = _args(request)
    return _state(await service.mute(username, role, call, True))


@roles("agent", "supervisor", "admin")
async def api_unmute(request: web.Request) -> web.StreamResponse:
    service, username, role, call = _args(request)
    return _state(await service.mute(username, role, call, False))


@roles("agent", "supervisor", "admin")
async def api_dtmf(request: web.Request) -> web.StreamResponse:
    service, username, role, call = _args(request)
    body = await read_json(request)
    await service.dtmf(username, role, call, body.get("digits"))
    return web.json_response({"ok": True})


@roles("agent", "supervisor", "admin")
async def api_transfer(request: web.Request) -> web.StreamResponse:
    service, username, role, call = _args(request)
    body = await read_json(request)
    attended = body.get("attended", False)
    if not isinstance(attended, bool):
        from ...core.errors import InvalidInput

        raise InvalidInput("attended: true or false", field="attended")
    state = await service.transfer(username, role, call, body.get("kind"), body.get("target"), attended)
    return _state(state)


@roles("agent", "supervisor", "admin")
async def api_transfer_complete(request: web.Request) -> web.StreamResponse:
    service, username, role, call = _args(request)
    await service.complete_transfer(username, role, call)
    return web.json_response({"ok": True})


@roles("agent", "supervisor", "admin")
async def api_transfer_cancel(request: web.Request) -> web.StreamResponse:
    service, username, role, call = _args(request)
    await service.cancel_transfer(username, role, call)
    return web.json_response({"ok": True})


@roles("agent", "supervisor", "admin")
async def api_merge(request: web.Request) -> web.StreamResponse:
    service, username, role, call = _args(request)
    await service.merge(username, role, call)
    return web.json_response({"ok": True})


@roles("agent", "supervisor", "admin")
async def api_leave(request: web.Request) -> web.StreamResponse:
    service, username, role, call = _args(request)
    await service.leave(username, role, call)
    return web.json_response({"ok": True})


def add_routes(app: web.Application, service: CallControlService) -> None:
    app[CALL_CONTROL] = service
    add = app.router.add_post
    add("/api/calls/{call}/hangup", api_hangup, name="api-call-hangup")
    add("/api/calls/{call}/hold", api_hold, name="api-call-hold")
    add("/api/calls/{call}/resume", api_resume, name="api-call-resume")
    add("/api/calls/{call}/mute", api_mute, name="api-call-mute")
    add("/api/calls/{call}/unmute", api_unmute, name="api-call-unmute")
    add("/api/calls/{call}/dtmf", api_dtmf, name="api-call-dtmf")
    add("/api/calls/{call}/transfer", api_transfer, name="api-call-transfer")
    add("/api/calls/{call}/transfer/complete", api_transfer_complete, name="api-call-transfer-complete")
    add("/api/calls/{call}/transfer/cancel", api_transfer_cancel, name="api-call-transfer-cancel")
    add("/api/calls/{call}/transfer/merge", api_merge, name="api-call-transfer-merge")
    add("/api/calls/{call}/leave", api_leave, name="api-call-leave")
