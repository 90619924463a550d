"""The browser phone's API: the logged-in agent's own WebRTC credentials, never another's (no
user name is taken from the request), never cached (no-store)."""

from __future__ import annotations

from aiohttp import web

from ...adapters.web.auth import current_user, roles
from ...adapters.web.keys import CONNECT_SOURCES
from ...adapters.web.requests import read_json
from ...core.errors import InvalidInput
from ...core.text import Text
from .service import WebrtcService

WEBRTC: web.AppKey[WebrtcService] = web.AppKey("webrtc", WebrtcService)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@roles("agent")
async def api_browser_phone(request: web.Request) -> web.StreamResponse:
    """POST (it may change Asterisk's configuration): {} -> ws_url, uri, authorization_user,
    password, realm, display_name, register_expires."""
    body = await read_json(request)
    if body:
        name = sorted(body)[0]
        raise InvalidInput(Text("unknown field %(name)r: the browser phone is always your own", name=name), field=name)
    user = current_user(request)
    settings = await request.app[WEBRTC].credentials(user.username, user.session_id, host=request.url.host or "")
    return web.json_response(settings.to_dict(), headers=NO_STORE)


def add_routes(app: web.Application, service: WebrtcService) -> None:
    app[WEBRTC] = service
    # the desk's page opens the WebSocket to Asterisk's HTTPS server: allowed by the CSP
    sources = app.get(CONNECT_SOURCES) or []
    sources.append(lambda request: service.server.origin(request.url.host or ""))
    app[CONNECT_SOURCES] = sources
    app.router.add_post("/api/agent/browser-phone", api_browser_phone, name="api-agent-browser-phone")
