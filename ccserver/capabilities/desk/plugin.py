"""The desk snapshot wired to the live services it reads. The screen-pops sent by the CTI
(queue calls) and click-to-dial (outbound calls) are remembered on their way to the pages."""

from __future__ import annotations

from typing import Any

from ...core.plugin import Deps, Plugin
from . import web
from .ports import AgentStates, Callbacks, Recordings
from .service import DeskService


class _Controls:
    """The call-control board's state of a call (capabilities/callcontrol)."""

    def __init__(self, call_control: Any) -> None:
        self.call_control = call_control

    def control_state(self, uniqueid: str) -> dict[str, Any] | None:
        known = self.call_control.board.calls.get(uniqueid)
        return known.to_dict() if known is not None else None


def setup(
    deps: Deps,
    *,
    agents: AgentStates,
    call_control: Any | None = None,
    callbacks: Callbacks | None = None,
    recordings: Recordings | None = None,
    pop_senders: tuple[Any, ...] = (),
) -> Plugin:
    service = DeskService(
        agents,
        deps.clock,
        controls=_Controls(call_control) if call_control is not None else None,
        callbacks=callbacks,
        recordings=recordings,
        resync_after=deps.settings.web.resync_after,
        bus=deps.bus,
    )
    plugin = Plugin("desk", service)
    plugin.web_routes = lambda app: web.add_routes(app, service)

    def live(hub) -> None:
        # after the senders' own live(): their send_to_user now reaches the hub; remember each
        # screen-pop as it goes so the next snapshot carries it
        for sender in pop_senders:
            send = sender.send_to_user

            def remembering(username: str, message: dict, send=send) -> Any:
                service.remember_pop(username, message)
                return send(username, message)

            sender.send_to_user = remembering

    plugin.live = live
    return plugin
