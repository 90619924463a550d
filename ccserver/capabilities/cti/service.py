"""CTI screen-pop: when a queue rings an agent, their page shows who is calling; when a call is
transferred to an agent (blind, attended, a three-way call), their page gets the same screen-pop
the first agent had, looked up again (the notes and tickets saved so far), "transferred by".

Triggered by AgentCalled (the ringing moment). The customer is found from the customer id the
IVR collected, else from the caller's number; an unknown caller gets a prefilled new-customer
form. The message goes to that agent's pages only, over the WebSocket.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from ...core import events as ev
from ..agents.model import AgentBoard
from ..calls.legs import LegStarted
from ..calls.model import CallTracker

logger = logging.getLogger(__name__)

IVR_CUSTOMER_KEYS = ("customer_id", "customer_number", "IVR_CUSTOMER_ID")


class ScreenPopService:
    def __init__(
        self,
        board: AgentBoard,
        tracker: CallTracker,
        lookup: Callable[..., dict] | None,
        send_to_user: Callable[[str, dict], Any] | None,
    ) -> None:
        self.board = board
        self.tracker = tracker
        self.lookup = lookup  # CustomerService.screen_pop(caller_number=, customer_number=)
        self.send_to_user = send_to_user  # set once the web pages can be reached (plugin live)
        self.sent = 0
        self._tasks: set[asyncio.Task] = set()

    def on_event(self, event: ev.Event) -> None:
        """Bus listener: each ring is looked up on its own, so one slow lookup never delays
        the screen-pops of other agents."""
        if isinstance(event, ev.AgentCalled):
            task = asyncio.get_running_loop().create_task(self.on_agent_called(event))
        elif isinstance(event, LegStarted) and event.leg is not None:
            task = asyncio.get_running_loop().create_task(self.on_transferred(event))
        else:
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def call_data(self, uniqueid: str) -> dict[str, str]:
        record = self.tracker.open.get(uniqueid)
        if record is not None:
            return dict(record.data)
        return dict(self.tracker.pending_data.get(uniqueid, {}))

    async def _look_up(self, uniqueid: str, caller_number: str, username: str) -> tuple[dict, dict[str, Any]]:
        data = self.call_data(uniqueid)
        customer_number = next((data[k] for k in IVR_CUSTOMER_KEYS if data.get(k)), None)
        found: dict[str, Any] = {"found": False, "prefill": {"phone": caller_number}}
        if self.lookup is not None:
            try:
                found = await asyncio.to_thread(
                    self.lookup, caller_number=caller_number, customer_number=customer_number
                )
            except Exception:
                logger.exception("screen-pop lookup failed for call %s (agent %s)", uniqueid, username)
        return data, found

    async def on_transferred(self, event: LegStarted) -> None:
        """A call reached an agent by a transfer: the same screen-pop as the first agent's."""
        leg = event.leg
        record = self.tracker.open.get(leg.call_uniqueid)
        if record is None:
            return
        started = time.perf_counter()
        data, found = await self._look_up(record.uniqueid, record.caller_number, leg.agent)
        message = {
            "topic": "screen_pop",
            "uniqueid": record.uniqueid,
            "queue": record.queue,
            "caller_number": record.caller_number,
            "caller_name": "",
            "call_data": data,
            "entered_queue_at": record.entered_queue_at.isoformat(),
            "ringing_at": leg.started_at.isoformat(),
            "transferred_by": leg.transferred_by,
            "transfer": leg.started_how,
            "lookup_ms": round((time.perf_counter() - started) * 1000, 2),
            **found,
        }
        self.send_to_user(leg.agent, message)
        self.sent += 1

    async def on_agent_called(self, event: ev.AgentCalled) -> None:
        agent = self.board.agent_for(event.interface)
        if agent is None:
            return
        started = time.perf_counter()
        data, found = await self._look_up(event.uniqueid, event.caller_number, agent.username)
        record = self.tracker.open.get(event.uniqueid)
        message = {
            "topic": "screen_pop",
            "uniqueid": event.uniqueid,
            "queue": event.queue,
            "caller_number": event.caller_number,
            "caller_name": event.caller_name,
            "call_data": data,
            "entered_queue_at": record.entered_queue_at.isoformat() if record else None,
            "ringing_at": (agent.call.ringing_at.isoformat() if agent.call else None),
            "lookup_ms": round((time.perf_counter() - started) * 1000, 2),
            **found,
        }
        self.send_to_user(agent.username, message)
        self.sent += 1
