"""The desk's call control API: POST /api/calls/{id}/<action> (agent on the call, supervisor in
scope, admin). Each answers with the call's control state, or {"ok": true} when the action has
none to give; hold, resume and transfers are confirmed later by a `call_control_changed` push.
Every action is one row of ACTIONS: its path, route name, service method and extra arguments."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from ...adapters.web.auth import current_user, roles
from ...adapters.web.requests import read_json
from ...core.errors import InvalidInput
from .service import CallControlService

CALL_CONTROL: web.AppKey[CallControlService] = web.AppKey("call_control", CallControlService)

Arguments = Callable[[web.Request], Awaitable[tuple]]


def _state(call) -> web.Response:
    return web.json_response(call.to_dict() if call is not None else {"ok": True})


async def _none(request: web.Request) -> tuple:
    return ()


def _constant(*values: object) -> Arguments:
    async def arguments(request: web.Request) -> tuple:
        return values

    return arguments


async def _dtmf(request: web.Request) -> tuple:
    body = await read_json(request)
    return (body.get("digits"),)


async def _transfer(request: web.Request) -> tuple:
    body = await read_json(request)
    attended = body.get("attended", False)
    if not isinstance(attended, bool):
        raise InvalidInput("attended: true or false", field="attended")
    return body.get("kind"), body.get("target"), attended


# path under /api/calls/{call}/, route name, CallControlService method, its arguments after
# (username, role, call) read from the request
ACTIONS: tuple[tuple[str, str, str, Arguments], ...] = (
    ("hangup", "api-call-hangup", "hangup", _none),
    ("hold", "api-call-hold", "hold", _none),
    ("resume", "api-call-resume", "resume", _none),
    ("mute", "api-call-mute", "mute", _constant(True)),
    ("unmute", "api-call-unmute", "mute", _constant(False)),
    ("dtmf", "api-call-dtmf", "dtmf", _dtmf),
    ("transfer", "api-call-transfer", "transfer", _transfer),
    ("transfer/complete", "api-call-transfer-complete", "complete_transfer", _none),
    ("transfer/cancel", "api-call-transfer-cancel", "cancel_transfer", _none),
    ("transfer/merge", "api-call-transfer-merge", "merge", _none),
    ("leave", "api-call-leave", "leave", _none),
)


def _view(path: str, method: str, arguments: Arguments) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    @roles("agent", "supervisor", "admin")
    async def view(request: web.Request) -> web.StreamResponse:
        user = current_user(request)
        service = request.app[CALL_CONTROL]
        extra = await arguments(request)
        return _state(await getattr(service, method)(user.username, user.role, request.match_info["call"], *extra))

    view.__name__ = view.__qualname__ = "api_" + path.replace("/", "_")
    return view


def add_routes(app: web.Application, service: CallControlService) -> None:
    app[CALL_CONTROL] = service
    for path, name, method, arguments in ACTIONS:
        app.router.add_post(f"/api/calls/{{call}}/{path}", _view(path, method, arguments), name=name)
