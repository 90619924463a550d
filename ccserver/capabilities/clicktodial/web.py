"""Click-to-dial on the web: ``POST /api/calls/dial`` (every role: the caller's own phone rings
first) and ``GET /api/calls/dial/callbacks`` (the queue callbacks this user may call back)."""

from __future__ import annotations

from aiohttp import web

from ...adapters.web import i18n
from ...adapters.web.auth import ROLES, current_user, roles
from ...adapters.web.requests import read_json
from .service import ClickToDialService

CLICK_TO_DIAL: web.AppKey[ClickToDialService] = web.AppKey("click_to_dial", ClickToDialService)


@roles(*ROLES)
async def api_dial(request: web.Request) -> web.StreamResponse:
    """Body: one of ``customer_id`` (with optional ``phone``: one of the customer's numbers),
    ``ticket_id`` (optional ``phone``), ``callback_id``, ``contact_id`` (a campaign contact: the
    compliance engine decides) or ``number`` (typed; an agent may call a customer's number only).
    201 with the call's ``uniqueid``; 409 ``call-forbidden`` with the engine's reasons."""
    body = await read_json(request)
    user = current_user(request)
    result = await request.app[CLICK_TO_DIAL].dial(body, user.username, user.role)
    return i18n.json_response(result, status=201)


@roles(*ROLES)
async def api_callbacks(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    return i18n.json_response(await request.app[CLICK_TO_DIAL].callbacks_for(user.username, user.role))


def add_routes(app: web.Application, service: ClickToDialService) -> None:
    app[CLICK_TO_DIAL] = service
    app.router.add_post("/api/calls/dial", api_dial, name="api-call-dial")
    app.router.add_get("/api/calls/dial/callbacks", api_callbacks, name="api-call-dial-callbacks")
