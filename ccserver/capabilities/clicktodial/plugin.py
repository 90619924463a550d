"""Click-to-dial as a plugin: the customer-service calls followed on the intake (their outbound
call records go to the calls writer on the bus), the API, and the screen-pop pushed to the
dialling user's pages."""

from __future__ import annotations

from ...core.plugin import Deps, Plugin
from ..agents.model import AgentBoard
from ..calls.model import CallRecordChanged
from ..customers.service import CustomerService
from ..outbound.service import OutboundService
from . import web
from .model import DialedCalls
from .ports import AgentAccounts, CallbackStore, CallNotes, ScopeSource
from .service import ClickToDialService


def setup(
    deps: Deps,
    *,
    customers: CustomerService,
    outbound: OutboundService,
    board: AgentBoard,
    callbacks: CallbackStore,
    accounts: AgentAccounts,
    scopes: ScopeSource | None,
    notes: CallNotes,
) -> Plugin:
    calls = DialedCalls(deps.clock)
    service = ClickToDialService(
        clock=deps.clock,
        calls=calls,
        customers=customers,
        outbound=outbound,
        board=board,
        callbacks=callbacks,
        accounts=accounts,
        scopes=scopes,
        notes=notes,
        pbx=deps.pbx,
        publish=deps.bus.publish,
        audit=deps.audit,
        caller_id=deps.settings.outbound.service_caller_id,
    )
    plugin = Plugin("clicktodial", service=service)
    calls.register(plugin)
    plugin.subscribe("clicktodial:desk", service.on_record, [CallRecordChanged.topic])
    plugin.web_routes = lambda app: web.add_routes(app, service)

    def live(hub) -> None:  # the screen-pop goes to the dialling user's pages only
        service.send_to_user = lambda username, message: hub.broadcast(message, roles=set(), usernames={username})

    plugin.live = live
    return plugin
