"""Phones wired: the service (its changes applied to Asterisk through the ACD's configuration)
and its admin pages, API and one-time provisioning link."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ...core.plugin import Deps, Plugin
from . import web
from .model import PhoneServer
from .ports import PhoneRepository, Registrations
from .service import PhoneService

_ANY_ADDRESS = ("", "0.0.0.0", "::")


def phone_server(settings: Any) -> PhoneServer:
    """Where phones register, from the settings: the advertised address (behind NAT) or the SIP
    bind address; "" (a wildcard bind) means: the host name the admin's browser used."""
    asterisk = settings.asterisk
    host = asterisk.sip_external_signaling_address or asterisk.sip_bind_address
    return PhoneServer(host="" if host in _ANY_ADDRESS else host, port=asterisk.sip_port or 5060, transport="udp")


def setup(
    deps: Deps,
    *,
    repository: PhoneRepository,
    apply: Callable[[], Awaitable[None]],
    registrations: Registrations | None = None,
) -> Plugin:
    """`apply()` renders the SIP accounts into Asterisk's configuration and reloads it (the ACD
    service's `apply_configuration`); `registrations` tells which phones are registered."""
    service = PhoneService(
        repository,
        deps.audit,
        deps.clock,
        apply=apply,
        server=phone_server(deps.settings),
        registrations=registrations,
    )
    plugin = Plugin("phones", service)
    plugin.web_routes = lambda app: web.add_routes(app, service)
    return plugin
