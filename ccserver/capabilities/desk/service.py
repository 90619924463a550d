"""The desk snapshot: everything an agent's desk shows, assembled from the live services (agent
state and current call, its screen-pop, its call-control state, the recording, the callbacks
to make), for a page that may have missed live messages."""

from __future__ import annotations

import logging
from typing import Any

from ...core.clock import Clock
from ...core.errors import NotFound
from ...core.ports import EventBus
from ...core.text import Text
from .model import DeskSnapshot, PopMemory, control_of, current_pop, pop_wanted
from .ports import AgentStates, Callbacks, CallControls, Recordings

logger = logging.getLogger(__name__)


class DeskService:
    def __init__(
        self,
        agents: AgentStates,
        clock: Clock,
        *,
        controls: CallControls | None = None,
        callbacks: Callbacks | None = None,
        recordings: Recordings | None = None,
        resync_after: float = 2.0,
        bus: EventBus | None = None,
    ) -> None:
        self.agents = agents
        self.clock = clock
        self.controls = controls
        self.callbacks = callbacks
        self.recordings = recordings
        self.pops = PopMemory()
        self.resync_after = max(0.0, resync_after)
        self.served = 0
        self.bus = bus  # the board's events when the agent picks another of their calls

    def remember_pop(self, username: str, message: dict[str, Any]) -> None:
        """A screen-pop just sent to `username`'s pages (kept for their next snapshot)."""
        self.pops.remember(username, message)

    async def focus(self, username: str, uniqueid: object) -> DeskSnapshot:
        """`username` (an agent with calls at once) shows their call `uniqueid` on the desk:
        its screen-pop and controls; the call shown until then joins their other calls. Raises
        NotFound when it is not one of their calls (it ended meanwhile)."""
        live = self.agents.status_of(username)
        if live is None:
            raise NotFound(Text("%(username)s has no agent account", username=username), field="username")
        calls = [live.to_dict().get("call")] + list(live.to_dict().get("other_calls") or ())
        if not isinstance(uniqueid, str) or not any(c and c.get("uniqueid") == uniqueid for c in calls):
            raise NotFound(
                Text("no call %(uniqueid)s in progress (it may have ended)", uniqueid=str(uniqueid)[:64]),
                field="uniqueid",
            )
        for event in self.agents.focus_call(username, uniqueid):
            if self.bus is not None:
                self.bus.publish(event)
        return await self.snapshot(username)

    async def snapshot(self, username: str) -> DeskSnapshot:
        """The desk of `username` (an agent: only ever their own). Raises NotFound when they
        have no agent account."""
        live = self.agents.status_of(username)
        if live is None:
            raise NotFound(Text("%(username)s has no agent account", username=username), field="username")
        status = live.to_dict()
        if status["state"] == "logged_out":
            self.pops.forget(username)
        wanted = pop_wanted(status)
        pop = self.pops.of(username, wanted) if wanted else None
        if pop is None and status.get("call") is None:  # an outbound call's pop has its own id
            pop = self.pops.of(username)
        pop = current_pop(status, pop)
        call = status.get("call")
        known = self.controls.control_state(call["uniqueid"]) if self.controls and call else None
        other_calls = []
        for other in status.get("other_calls") or ():
            uid = other["uniqueid"]
            shown = {"username": username, "call": other}
            other_known = self.controls.control_state(uid) if self.controls else None
            other_calls.append(
                {**other, "screen_pop": self.pops.of(username, uid), "call_control": control_of(shown, other_known)}
            )
        callbacks: list[dict[str, Any]] = []
        if self.callbacks is not None:
            try:
                callbacks = await self.callbacks.callbacks_for(username, "agent")
            except Exception:  # the database is down: the live part of the desk still comes back
                logger.exception("desk snapshot of %s: callbacks not read", username)
        recording = None
        if self.recordings is not None:
            recording = self.recordings.desk_state(username).get("recording")  # in memory
        self.served += 1
        return DeskSnapshot(
            status=status,
            pop=pop,
            control=control_of(status, known),
            other_calls=other_calls,
            callbacks=callbacks,
            recording=recording,
            at=self.clock.now().isoformat(),
            resync_after=self.resync_after,
        )
