"""The agent desk's call control: hang up, hold, resume, mute, DTMF, blind and attended transfer.

Only the agent on the call, or a supervisor whose scope covers its queue or agent (an admin), may
act; every action is audit-logged. A call that ended in between or an unknown target is refused
with a clear error before anything is sent to Asterisk: the call stays as it was. The result of
hold / resume and of a transfer comes back from Asterisk as events (`call_control_changed`)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from ...core import events as ev
from ...core.channels import ChannelRegistry
from ...core.clock import Clock
from ...core.errors import PbxUnavailable
from ...core.permissions import Target, actor_for, require
from ...core.ports import AuditTrail, EventBus
from ...core.text import Text
from ..agents.model import AgentBoard
from ..calls.legs import CallLegTracker
from ..calls.model import CallTracker
from .errors import CallNotInState, NoSuchCall, NoSuchTransferTarget
from .model import (
    HOLD_CONTEXT,
    HOLD_EXTEN,
    QUEUE_RE,
    SIP_USER_RE,
    THREEWAY_CODE,
    XFER_CONTEXT,
    CallControlBoard,
    CallControlChanged,
    ControlledCall,
    TransferTarget,
    check_digits,
    check_kind,
    external_number,
    requeue_queue,
)
from .ports import CallControlCommands, CallControlDirectory

logger = logging.getLogger(__name__)
SETTLE_SECONDS = 3.0
# After a cancelled transfer (a resume) Asterisk gives the agent's channel its transfer feature
# back a little later (an Atxfer 50 ms after the Unhold event was lost; one 1 s after works).
REARM_SECONDS = 1.0


class CallControlService:
    def __init__(
        self,
        directory: CallControlDirectory,
        board: AgentBoard,
        tracker: CallTracker,
        channels: ChannelRegistry,
        pbx: CallControlCommands | None,
        audit: AuditTrail,
        bus: EventBus,
        clock: Clock,
        *,
        trunk_host: str = "",
        region: str = "FR",
        legs: CallLegTracker | None = None,
    ) -> None:
        self.directory = directory
        self.agents = board
        self.tracker = tracker
        self.channels = channels
        self.pbx = pbx
        self.audit = audit
        self.bus = bus
        self.clock = clock
        self.trunk_host = trunk_host
        self.region = region
        self.legs = legs  # told how the next leg of a call starts (transfer kind, by whom)
        self.board = CallControlBoard()
        self._settled: dict[str, asyncio.Event] = {}
        self._unheld_at: dict[str, float] = {}  # call -> when its last hold/consultation ended

    # --- events (intake handlers: sync) ----------------------------------------------------
    def on_event(self, event) -> list:
        out = self.board.apply(event)
        for changed in out:
            if isinstance(event, ev.ChannelUnheld) and changed.call is not None:
                self._unheld_at[changed.call.uniqueid] = asyncio.get_running_loop().time()
            if changed.ended and changed.call is not None:
                self._unheld_at.pop(changed.call.uniqueid, None)
            waiter = self._settled.get(changed.call.uniqueid) if changed.call else None
            if waiter is not None and (changed.call.settled or changed.ended or not changed.call.held):
                waiter.set()
        return out

    def on_leg_started(self, event) -> None:
        """Bus listener (`call_leg_started`): a call transferred to an agent (blind or attended)
        is theirs to control from now; their desk gets its state. A three-way call stays the
        first agent's until they leave (each acts on their own leg)."""
        leg = getattr(event, "leg", None)
        if leg is None or leg.started_how not in ("blind_transfer", "attended_transfer"):
            return
        if leg.call_uniqueid not in self.tracker.open:
            return
        old = self.board.calls.get(leg.call_uniqueid)
        if old is not None and old.agent == leg.agent:
            # back with the same agent (a failed blind transfer rang them again): their new
            # channel, the transfer's outcome and reason kept on their desk
            self.board.track(replace(old, agent_channel=leg.channel))
            return
        if old is not None:  # no longer theirs: their desk lets it go
            self.bus.publish(CallControlChanged(call=old, ended=True))
        call = self.board.track(ControlledCall(uniqueid=leg.call_uniqueid, agent=leg.agent, agent_channel=leg.channel))
        self.bus.publish(CallControlChanged(call=call))

    async def _quiet(self, call: ControlledCall) -> None:
        """Wait (at most SETTLE_SECONDS) until the call's previous hold or consultation leg (a
        Local channel of this call) is gone: Asterisk ignores a transfer started while the
        last one is still being torn down."""
        record = self.tracker.open.get(call.uniqueid)
        linked = {call.uniqueid, record.linkedid if record else ""}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_SECONDS
        while loop.time() < deadline:
            if not any(
                c.channel.startswith("Local/") and c.linkedid in linked for c in self.channels.channels.values()
            ):
                break
            await asyncio.sleep(0.02)  # the registry follows Asterisk's hang-up events
        rearmed = self._unheld_at.get(call.uniqueid, 0.0) + REARM_SECONDS - loop.time()
        if rearmed > 0:
            await asyncio.sleep(rearmed)

    async def _settle(self, call: ControlledCall) -> ControlledCall:
        """Wait (at most SETTLE_SECONDS) until a hold or consultation just asked is in place."""
        if not call.held or call.settled:
            return call
        waiter = self._settled.setdefault(call.uniqueid, asyncio.Event())
        try:
            await asyncio.wait_for(waiter.wait(), SETTLE_SECONDS)
        except TimeoutError:
            pass
        finally:
            self._settled.pop(call.uniqueid, None)
        return self.board.calls.get(call.uniqueid, call)

    # --- which call, whose ---------------------------------------------------------------------
    def _pbx(self) -> CallControlCommands:
        if self.pbx is None or not self.pbx.is_up:
            raise PbxUnavailable("the telephone system is not reachable right now")
        return self.pbx

    def _agent_channel(self, interface: str, linkedid: str, uniqueid: str) -> str:
        prefix = f"{interface}-"
        for live in self.channels.channels.values():
            if live.channel.startswith(prefix) and live.linkedid in (linkedid, uniqueid):
                return live.channel
        return ""

    async def call_for(self, username: str, role: str, uniqueid: str) -> ControlledCall:
        """The call `uniqueid` as `username` may act on it (raises NoSuchCall / Forbidden)."""
        record = self.tracker.open.get(uniqueid)
        if record is None or not record.agent or record.answered_at is None:
            raise NoSuchCall(
                Text("no call %(uniqueid)s in progress (it may have ended)", uniqueid=uniqueid), call=uniqueid
            )
        # the agent with the customer now: a call transferred to bruno is bruno's to control
        leg = self._current_leg(uniqueid, username)
        agent = leg.agent if leg is not None else record.agent
        if not (role == "agent" and username == agent):
            actor = await asyncio.to_thread(actor_for, username, role, self.directory)
            require(actor, Target.of("call", uniqueid, agents=[agent], queues=[record.queue]), "control")
        status = self.agents.agents.get(agent)
        known = self.board.calls.get(uniqueid)
        live = {c.channel for c in self.channels.channels.values()}
        if leg is not None and leg.channel in live:
            channel = leg.channel
        else:
            channel = self._agent_channel(status.interface, record.linkedid, uniqueid) if status else ""
        if not channel and known is not None and known.agent == agent and known.agent_channel in live:
            channel = known.agent_channel
        if not channel:
            raise NoSuchCall(Text("call %(uniqueid)s has no agent on it now", uniqueid=uniqueid), call=uniqueid)
        if known is None or known.agent_channel != channel or known.agent != agent:  # a new leg
            known = self.board.track(ControlledCall(uniqueid=uniqueid, agent=agent, agent_channel=channel))
        return known

    def _current_leg(self, uniqueid: str, username: str):
        """The live leg of this call the action is for: the user's own, else the latest."""
        if self.legs is None:
            return None
        live = [leg for leg in self.legs.legs(uniqueid) if leg.ended_at is None and leg.answered_at is not None]
        mine = [leg for leg in live if leg.agent == username]
        return (mine or live or [None])[-1]

    def _customer_channel(self, uniqueid: str) -> str:
        record = self.tracker.open.get(uniqueid)
        if record is None:
            raise NoSuchCall(
                Text("no call %(uniqueid)s in progress (it may have ended)", uniqueid=uniqueid), call=uniqueid
            )
        return record.channel

    async def _audit(self, actor: str, action: str, uniqueid: str, **details) -> None:
        await asyncio.to_thread(self.audit.record, actor, f"call.{action}", uniqueid, **details)

    def _publish(self, uniqueid: str, **changes) -> None:
        for event in self.board.update(uniqueid, **changes):
            self.bus.publish(event)

    # --- actions -------------------------------------------------------------------------------
    async def hangup(self, username: str, role: str, uniqueid: str) -> None:
        await self.call_for(username, role, uniqueid)
        await self._pbx().hangup(self._customer_channel(uniqueid))
        await self._audit(username, "hangup", uniqueid)

    async def hold(self, username: str, role: str, uniqueid: str) -> ControlledCall:
        call = await self.call_for(username, role, uniqueid)
        if call.held or call.consulting:
            raise CallNotInState("the call is already on hold", call=uniqueid, field="call")
        await self._quiet(call)
        pbx = self._pbx()
        record = self.tracker.open.get(uniqueid)
        queues = {q.name for q in await asyncio.to_thread(self.directory.queues)}
        queue = requeue_queue(record.queue, record.direction, queues) if record else ""
        # the hold extension watches the agent's channel: should the agent's phone hang up while
        # holding, Asterisk completes the "transfer" to the hold extension, which then puts the
        # customer back in their queue ([ccserver-requeue], the customer's CCS_REQUEUE), or ends
        # at once when there is none, instead of keeping the customer in silence for hours
        if queue:
            await pbx.set_variable(record.channel, "CCS_REQUEUE", queue)
        await pbx.set_variable(call.agent_channel, "__CCS_HOLD_CALLER", uniqueid if queue else "")
        await pbx.set_variable(call.agent_channel, "__CCS_HOLDER", call.agent_channel)
        await pbx.atxfer(call.agent_channel, HOLD_CONTEXT, HOLD_EXTEN)
        await self._audit(username, "hold", uniqueid, agent=call.agent)
        return call

    async def resume(self, username: str, role: str, uniqueid: str) -> ControlledCall:
        call = await self.call_for(username, role, uniqueid)
        if not call.held or call.consulting:
            raise CallNotInState("the call is not on hold", call=uniqueid, field="call")
        call = await self._settle(call)
        await self._pbx().cancel_atxfer(call.agent_channel)
        await self._audit(username, "resume", uniqueid, agent=call.agent)
        return call

    async def mute(self, username: str, role: str, uniqueid: str, muted: bool) -> ControlledCall:
        call = await self.call_for(username, role, uniqueid)
        await self._pbx().mute_audio(call.agent_channel, "in", muted)
        self._publish(uniqueid, muted=muted)
        await self._audit(username, "mute" if muted else "unmute", uniqueid, agent=call.agent)
        return self.board.calls.get(uniqueid, call)

    async def dtmf(self, username: str, role: str, uniqueid: str, digits: object) -> None:
        digits = check_digits(digits)
        await self.call_for(username, role, uniqueid)
        channel = self._customer_channel(uniqueid)
        pbx = self._pbx()
        for digit in digits:
            await pbx.play_dtmf(channel, digit, duration_ms=120)
        await self._audit(username, "dtmf", uniqueid, count=len(digits))  # not the digits: a card number...

    async def target(self, kind: object, name: object) -> TransferTarget:
        """A transfer target from what the desk sends: an agent's username, a queue's name or
        an external number; unknown ones are refused (NoSuchTransferTarget)."""
        kind = check_kind(kind)
        if not isinstance(name, str) or not name or len(name) > 64:
            from ...core.errors import InvalidInput

            raise InvalidInput("target: an agent, a queue or a number", field="target")
        if kind == "agent":
            account = await asyncio.to_thread(self.directory.sip_account_of, name)
            if account is None or not SIP_USER_RE.match(account.sip_username or ""):
                raise NoSuchTransferTarget(
                    Text("no agent %(name)r with a phone", name=name), target=name, field="target"
                )
            return TransferTarget("agent", name, account.sip_username)
        if kind == "queue":
            queues = {q.name for q in await asyncio.to_thread(self.directory.queues)}
            if name not in queues or not QUEUE_RE.match(name):
                raise NoSuchTransferTarget(Text("no queue %(name)r", name=name), target=name, field="target")
            return TransferTarget("queue", name, name)
        number = external_number(name, self.region)
        return TransferTarget("external", number, number)

    async def _set_transfer_vars(self, channel: str, target: TransferTarget, uniqueid: str, back: str, inherit: str):
        pbx = self._pbx()
        for name, value in (
            ("CCS_XFER_DEST", target.dest),
            ("CCS_XFER_ID", uniqueid),
            ("CCS_XFER_BACK", back),
            ("CCS_TRUNK_HOST", self.trunk_host),
        ):
            await pbx.set_variable(channel, inherit + name, value)

    async def transfer(self, username: str, role: str, uniqueid: str, kind: object, name: object, attended: bool):
        target = await self.target(kind, name)
        call = await self.call_for(username, role, uniqueid)
        if call.consulting or call.held:
            raise CallNotInState("resume the call or end the consultation first", call=uniqueid, field="call")
        if target.kind == "agent" and target.name == call.agent:
            raise CallNotInState("the call is already with this agent", call=uniqueid, field="target")
        pbx = self._pbx()
        await self._quiet(call)
        if self.legs is not None:
            self.legs.hint(uniqueid, "attended_transfer" if attended else "blind_transfer", call.agent)
        account = await asyncio.to_thread(self.directory.sip_account_of, call.agent)
        back = account.sip_username if account else ""
        if attended:
            # the consultation's Local channel inherits the agent channel's __ variables; a
            # failed consultation brings the agent back to the customer by itself
            await self._set_transfer_vars(call.agent_channel, target, uniqueid, "", "__")
            # shown before it is sent: a transfer failing at once reports back before the answer
            self._publish(uniqueid, consulting=target.label(), transfer="", reason="")
            try:
                await pbx.atxfer(call.agent_channel, XFER_CONTEXT, target.exten)
            except Exception:
                self._publish(uniqueid, consulting="")
                raise
        else:
            await self._set_transfer_vars(self._customer_channel(uniqueid), target, uniqueid, back, "")
            self._publish(uniqueid, transfer=f"blind {target.label()}", reason="")
            try:
                await pbx.blind_transfer(call.agent_channel, XFER_CONTEXT, target.exten)
            except Exception:
                self._publish(uniqueid, transfer="")
                raise
        await self._audit(
            username, "transfer", uniqueid, agent=call.agent, kind=target.kind, to=target.name, attended=attended
        )
        return self.board.calls.get(uniqueid, call)

    async def complete_transfer(self, username: str, role: str, uniqueid: str) -> None:
        """The agent leaves; the customer and the consulted party stay together."""
        call = await self.call_for(username, role, uniqueid)
        if not call.consulting:
            raise CallNotInState("no attended transfer in progress", call=uniqueid, field="call")
        target = call.consulting
        call = await self._settle(call)
        await self._pbx().hangup(call.agent_channel)
        self._publish(uniqueid, transfer=f"completed {target}", consulting="")
        await self._audit(username, "transfer_complete", uniqueid, agent=call.agent, to=target)

    async def cancel_transfer(self, username: str, role: str, uniqueid: str) -> None:
        call = await self.call_for(username, role, uniqueid)
        if not call.consulting:
            raise CallNotInState("no attended transfer in progress", call=uniqueid, field="call")
        target = call.consulting
        call = await self._settle(call)
        await self._pbx().cancel_atxfer(call.agent_channel)
        self._publish(uniqueid, transfer=f"cancelled {target}")
        await self._audit(username, "transfer_cancel", uniqueid, agent=call.agent, to=target)

    async def merge(self, username: str, role: str, uniqueid: str) -> None:
        """Three-way call: the consulted party joins the customer and the agent; any of the
        three may then leave (`leave` for the agent), the two others stay together."""
        call = await self.call_for(username, role, uniqueid)
        if not call.consulting:
            raise CallNotInState("no consultation in progress to merge", call=uniqueid, field="call")
        target = call.consulting
        call = await self._settle(call)
        pbx = self._pbx()
        if self.legs is not None:
            self.legs.hint(uniqueid, "three_way", call.agent)
        for digit in THREEWAY_CODE:
            await pbx.receive_dtmf(call.agent_channel, digit, duration_ms=80)
        # Asterisk merges the bridges (BridgeMerge, the customer's music stops) without an
        # Unhold event: the merge's own answer is the confirmation
        self._publish(uniqueid, conference=target, consulting="", transfer="", held=False, settled=False)
        await self._audit(username, "conference", uniqueid, agent=call.agent, to=target)

    async def leave(self, username: str, role: str, uniqueid: str) -> None:
        """The agent leaves a three-way call; the customer and the third party stay."""
        call = await self.call_for(username, role, uniqueid)
        if not call.conference:
            raise CallNotInState("no three-way call to leave (hang up ends the call)", call=uniqueid, field="call")
        await self._pbx().hangup(call.agent_channel)
        await self._audit(username, "conference_leave", uniqueid, agent=call.agent, to=call.conference)

    def changed_events(self) -> tuple[type, ...]:
        return (CallControlChanged,)
