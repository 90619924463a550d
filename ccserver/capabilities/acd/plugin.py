"""The inbound ACD: the live agents' board and call records (fed by the intake), the use cases
on queues and agents, the batched writers of their history, the agent desk and the ACD admin."""

from __future__ import annotations

from ...core.events import PbxLinkUp
from ...core.plugin import Deps, Plugin
from ..agents.model import AgentBoard, AgentMembershipLost, AgentStateChanged, AgentWrapUpStarted
from ..calls.legs import CallLegsChanged, CallLegTracker, LegStarted
from ..calls.model import CallRecordChanged, CallTracker
from ..customers.service import CustomerService
from . import web
from .ports import AcdRepository, WriterFactory
from .service import AcdService

WRITER_BOUND = 100_000  # events a writer's bus queue holds while the database is slow


def setup(
    deps: Deps, *, repository: AcdRepository, customers: CustomerService, writer_factory: WriterFactory
) -> Plugin:
    """`writer_factory(name, write)` gives a batched database writer (a bus listener with
    start/stop): the agents' state timeline and the call records are written through two."""
    plugin = Plugin("acd")
    board = AgentBoard(deps.clock)
    board.register(plugin)

    def agent_of_interface(interface: str) -> str:
        status = board.agent_for(interface)
        return status.username if status else ""

    tracker = CallTracker(deps.clock, agent_of_interface=agent_of_interface)
    tracker.register(plugin)
    legs = CallLegTracker(deps.clock, agent_of_interface=agent_of_interface)

    def legs_then_board(event):
        """The legs from the PBX events, then the board: an agent a call reached through Dial
        (a transfer, a three-way call: no queue events) is on call while their leg lasts."""
        out = legs.apply(event)
        for item in list(out):
            if isinstance(item, LegStarted) and item.leg is not None:
                leg = item.leg
                record = tracker.open.get(leg.call_uniqueid)
                out += board.leg_started(
                    leg.agent,
                    uniqueid=leg.call_uniqueid,
                    linkedid=leg.linkedid,
                    queue=record.queue if record else "",
                    caller_number=record.caller_number if record else "",
                )
            elif isinstance(item, CallLegsChanged):
                for leg in item.legs:
                    if leg.ended_at is not None:
                        out += board.leg_ended(leg.agent, uniqueid=leg.call_uniqueid)
        return out

    for event_type in legs.handled_events():
        plugin.handle(event_type, legs_then_board)
    acd = AcdService(
        repository, board, tracker, deps.pbx, deps.config_writer, deps.audit, deps.clock, customers=customers
    )
    acd.legs = legs
    plugin.service = acd

    state_writer = writer_factory("db:agent-states", acd.write_states)
    call_writer = writer_factory("db:calls", acd.write_calls)
    legs_writer = writer_factory("db:call-legs", acd.write_legs)
    plugin.subscribe("db:call-legs", legs_writer, [CallLegsChanged.topic], maxsize=WRITER_BOUND)
    plugin.subscribe("acd:click-to-dial-legs", legs.on_record, [CallRecordChanged.topic])
    plugin.subscribe("db:agent-states", state_writer, [AgentStateChanged.topic], maxsize=WRITER_BOUND)
    plugin.subscribe("db:calls", call_writer, [CallRecordChanged.topic], maxsize=WRITER_BOUND)
    plugin.subscribe(
        "acd:reactions", acd.on_event, [AgentMembershipLost.topic, AgentWrapUpStarted.topic, PbxLinkUp.topic]
    )

    async def start() -> None:
        await acd.load()
        await acd.apply_configuration()
        state_writer.start()
        call_writer.start()
        legs_writer.start()

    async def stop_writers() -> None:  # after the bus is drained: the last events are written
        await state_writer.stop()
        await call_writer.stop()
        await legs_writer.stop()

    plugin.startup.append(start)
    plugin.late_cleanup.append(stop_writers)
    plugin.cron("acd-regenerate-dialplan", acd.apply_configuration, hour=0, minute=5)
    plugin.web_routes = lambda app: web.add_routes(app, acd)

    def live(hub) -> None:
        deps.bus.subscribe("realtime:agent-states", web.agent_state_pusher(hub), topics=[AgentStateChanged.topic])

    plugin.live = live
    return plugin
