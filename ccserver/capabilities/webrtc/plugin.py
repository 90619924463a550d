"""The browser phone wired: its service (endpoints written to pjsip_webrtc.conf, PJSIP reloaded)
and the agent's credentials API."""

from __future__ import annotations

from typing import Any

from ...core.plugin import Deps, Plugin
from . import web
from .ports import Accounts
from .service import WebrtcService, WssServer

_ANY_ADDRESS = ("", "0.0.0.0", "::")


def wss_server(settings: Any) -> WssServer:
    """Where pages reach Asterisk's HTTPS server: the advertised address (behind NAT) or the SIP
    bind address ("" for a wildcard: the host the browser used), port asterisk.wss_port."""
    asterisk = settings.asterisk
    host = asterisk.sip_external_signaling_address or asterisk.sip_bind_address
    return WssServer(host="" if host in _ANY_ADDRESS else host, port=asterisk.wss_port or 8089)


def setup(deps: Deps, *, accounts: Accounts) -> Plugin:
    service = WebrtcService(accounts, deps.config_writer, deps.pbx, wss_server(deps.settings))
    plugin = Plugin("webrtc", service)
    plugin.startup.append(service.start)
    plugin.web_routes = lambda app: web.add_routes(app, service)
    return plugin
