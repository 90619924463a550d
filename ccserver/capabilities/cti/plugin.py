"""CTI: the screen-pop on the agent's page when a queue rings them or a call is transferred to them."""

from __future__ import annotations

from ...core import events as ev
from ...core.plugin import Deps, Plugin
from ..agents.model import AgentBoard
from ..calls.legs import LegStarted
from ..calls.model import CallTracker
from ..customers.service import CustomerService
from .service import ScreenPopService


def setup(deps: Deps, *, board: AgentBoard, tracker: CallTracker, customers: CustomerService) -> Plugin:
    pop = ScreenPopService(board, tracker, customers.screen_pop, send_to_user=None)
    plugin = Plugin("cti", service=pop)

    def live(hub) -> None:  # screen-pops go to the ringing agent's pages only
        pop.send_to_user = lambda username, message: hub.broadcast(message, roles=set(), usernames={username})
        deps.bus.subscribe("cti:screen-pop", pop.on_event, topics=[ev.AgentCalled.topic, LegStarted.topic])

    plugin.live = live
    return plugin
