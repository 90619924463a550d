"""Agents asking a supervisor during a call; supervisors taking the request (listening to or
whispering on the call from their SIP phone, through supervision's ChanSpy). Pending requests
live in memory (`AssistanceDesk`): they never outlive their call. Every ask, cancel and take is
audit-logged (the history of requests), and so is a request ending with its call."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from collections.abc import Iterable

from ...core import events as ev
from ...core.clock import Clock
from ...core.errors import Conflict, NotFound
from ...core.permissions import Actor, Target, may_act, require
from ...core.ports import AuditTrail, EventBus
from ...core.text import Text
from ..calls.model import CallRecord, CallRecordChanged, CallTracker
from ..supervision.service import SupervisionService
from .model import AssistanceDesk, AssistanceRequest, check_mode, check_reason, check_request_id

logger = logging.getLogger(__name__)
RECENT = 500  # ended requests remembered (the desk shows "taken by X" after the fact)


class NoSuchCall(NotFound):
    """No answered call with this id in progress (it ended, or never was)."""

    error_id = "no-such-call"


class AssistanceService:
    def __init__(
        self,
        tracker: CallTracker,
        supervision: SupervisionService,
        audit: AuditTrail,
        bus: EventBus,
        clock: Clock,
    ) -> None:
        self.tracker = tracker
        self.supervision = supervision
        self.audit = audit
        self.bus = bus
        self.clock = clock
        self.desk = AssistanceDesk(new_id=lambda: secrets.token_hex(8))
        self.recent: OrderedDict[str, AssistanceRequest] = OrderedDict()  # call -> last ended request
        self.taking: dict[str, str] = {}  # request id -> supervisor starting to listen
        self._tasks: set[asyncio.Task] = set()

    # --- helpers ---------------------------------------------------------------------------------
    def _publish(self, events: Iterable[ev.Event]) -> None:
        for event in events:
            self.bus.publish(event)

    def _ended(self, request: AssistanceRequest) -> None:
        self.recent[request.call] = request
        self.recent.move_to_end(request.call)
        while len(self.recent) > RECENT:
            self.recent.popitem(last=False)

    async def _audit(self, actor: str, action: str, target: str, **details) -> None:
        await asyncio.to_thread(self.audit.record, actor, action, target, **details)

    @staticmethod
    def target(request: AssistanceRequest) -> Target:
        """A request belongs to its agent and its call's queue (the scope of who may take it)."""
        return Target.of("request", request.id, agents=[request.agent], queues=[request.queue])

    def _own_call(self, username: str, role: str, call: str) -> CallRecord:
        """The answered call `call` if it is `username`'s (NoSuchCall / Forbidden otherwise)."""
        record = self.tracker.open.get(call)
        if record is None or not record.agent or record.answered_at is None:
            raise NoSuchCall(Text("no call %(call)s in progress (it may have ended)", call=call), call=call)
        require(
            Actor(username, role),
            Target.of("call", call, agents=[record.agent], queues=[record.queue]),
            "ask a supervisor on",
        )
        return record

    # --- the agent -------------------------------------------------------------------------------
    async def ask(self, username: str, role: str, call: str, reason: object = None) -> AssistanceRequest:
        reason = check_reason(reason)
        record = self._own_call(username, role, call)
        request, events = self.desk.ask(
            agent=record.agent,
            queue=record.queue,
            call=call,
            customer_number=record.caller_number,
            reason=reason,
            now=self.clock.now(),
        )
        self._publish(events)
        await self._audit(username, "assistance.ask", call, request=request.id, queue=record.queue, reason=reason)
        logger.info("supervisor asked: request %s agent %s call %s queue %s", request.id, username, call, record.queue)
        return request

    def current(self, username: str, role: str, call: str) -> AssistanceRequest | None:
        """The call's open request, else its last ended one, else None."""
        self._own_call(username, role, call)
        return self.desk.for_call(call) or self.recent.get(call)

    async def cancel(self, username: str, role: str, call: str) -> AssistanceRequest:
        self._own_call(username, role, call)
        request, events = self.desk.cancel(call, self.clock.now())
        self.taking.pop(request.id, None)
        self._ended(request)
        self._publish(events)
        await self._audit(username, "assistance.cancel", call, request=request.id)
        return request

    # --- the supervisors -------------------------------------------------------------------------
    async def visible(self, username: str, role: str) -> list[AssistanceRequest]:
        """The open requests this user may see and take, oldest first."""
        actor = await self.supervision.actor(username, role)
        requests = sorted(self.desk.open.values(), key=lambda r: r.asked_at)
        return [r for r in requests if may_act(actor, self.target(r))]

    async def audience(self, request: AssistanceRequest, supervisors: Iterable[str]) -> set[str]:
        """Which of these supervisors may see `request` (their scope covers its queue or agent)."""
        target = self.target(request)
        allowed = set()
        for username in supervisors:
            try:
                if may_act(await self.supervision.actor(username, "supervisor"), target):
                    allowed.add(username)
            except Exception:
                logger.exception("request %s: cannot read the scope of %s", request.id, username)
        return allowed

    async def take(self, username: str, role: str, request_id: object, mode: object = None) -> AssistanceRequest:
        """Start listening (or whispering) to the agent's call from the supervisor's phone, then
        mark the request taken by them. Nothing changes when the listening cannot start."""
        request_id = check_request_id(request_id)
        mode = check_mode(mode)
        request = self.desk.get(request_id)
        require(await self.supervision.actor(username, role), self.target(request), "take")
        other = self.taking.get(request_id)
        if other is not None:
            raise Conflict(Text("%(other)s is already taking this request", other=other), request=request_id)
        self.taking[request_id] = username
        try:
            await self.supervision.start_spy(username, role, request.agent, mode)
        finally:
            self.taking.pop(request_id, None)
        if request_id not in self.desk.open:  # cancelled or call ended while the phone was called
            # the listening started anyway (it ends with the call): say how the request ended
            await self._audit(username, "assistance.take_late", request.call, request=request_id, mode=mode)
            return self.recent.get(request.call, request)
        ended, events = self.desk.take(request_id, username, self.clock.now())
        self._ended(ended)
        self._publish(events)
        await self._audit(username, "assistance.take", request.call, request=request_id, agent=request.agent, mode=mode)
        logger.info("request %s taken by %s (%s) agent %s", request_id, username, mode, request.agent)
        return ended

    # --- the calls -------------------------------------------------------------------------------
    def on_event(self, event: ev.Event) -> None:
        """Bus listener (sync): a call's end ends its open request."""
        if isinstance(event, CallRecordChanged) and event.ended and event.record is not None:
            request, events = self.desk.call_ended(event.record.uniqueid, self.clock.now())
            if request is None:
                return
            self.taking.pop(request.id, None)
            self._ended(request)
            self._publish(events)
            task = asyncio.get_running_loop().create_task(
                self._audit(request.agent, "assistance.call_ended", request.call, request=request.id)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
