"""Callback requests: stored when a waiting caller asks, dialed when their turn comes.

Requests live in the database (`callbacks`), so a server restart loses none. The stand-in
placed in the queue is `Local/<number>@ccq-<queue>-cbqueue`: when an agent answers it, the
other half of the Local channel dials the customer through the trunk (`ccq-<queue>-cbdial`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from ...core import events as ev
from ...core.clock import Clock
from ...core.errors import CcError, InvalidInput
from ...core.ports import OriginateRequest, PbxCommands
from ..customers.model import display_number, normalize_number
from .model import STAND_IN_CONTEXT, PendingCallback, WaitingLine, due_callbacks, retry_delay
from .ports import CallbackRepository

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 3


def dial_digits(e164: str) -> str:
    """What the trunk is dialed with: the national form for French numbers, else 00 + E.164."""
    if e164.startswith("+33"):
        return display_number(e164).replace(" ", "")
    return "00" + e164.lstrip("+")


@dataclass(slots=True)
class CallbackConnected(ev.DomainEvent):
    """An agent answered a callback's stand-in: the customer is being dialed for them."""

    topic: ClassVar[str] = "callback_connected"
    callback_id: int = 0
    agent: str = ""


class CallbackService:
    def __init__(
        self,
        repo: CallbackRepository,
        line: WaitingLine,
        pbx: PbxCommands | None,
        clock: Clock,
        trunk_host: str,
        channel_of: Callable[[str], str] = lambda uniqueid: "",
    ) -> None:
        self.channel_of = channel_of  # uniqueid -> channel name of a queue caller
        self.repo = repo
        self.line = line
        self.pbx = pbx
        self.clock = clock
        self.trunk_host = trunk_host
        self.dialing: dict[int, tuple[str, str]] = {}  # callback id -> (stand-in channel prefix, queue)
        self._lock = asyncio.Lock()

    async def on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.CallbackRequested):
            await self.request(event)
        elif isinstance(event, CallbackConnected):
            await self._connected(event)
        elif isinstance(event, ev.ChannelHungup):
            await self._hungup(event)
        elif isinstance(event, ev.PbxSnapshot):
            await self._reconcile(event)
        await self.dial_due()

    async def request(self, event: ev.CallbackRequested) -> int | None:
        try:
            e164 = normalize_number(event.number, field="number")
        except InvalidInput as exc:
            logger.warning("callback from call %s in %s refused: %s", event.uniqueid, event.queue, exc.message)
            return None
        try:
            entered = datetime.fromtimestamp(int(event.entered_at), UTC)
        except (TypeError, ValueError):
            entered = self.clock.now()
        callback_id = await asyncio.to_thread(
            self.repo.add_callback, event.queue, dial_digits(e164), event.uniqueid, entered
        )
        logger.info(
            "callback #%s requested by call %s in %s (entered %s)",
            callback_id,
            event.uniqueid,
            event.queue,
            entered.isoformat(),
        )
        return callback_id

    async def dial_due(self) -> None:
        if self.pbx is None or not self.pbx.is_up:
            return
        async with self._lock:
            now = self.clock.now()
            rows = await asyncio.to_thread(self.repo.callbacks, "pending")
            pending = [
                PendingCallback(r.id, r.queue, r.number, r.entered_queue_at)
                for r in rows
                if r.completed_at is None or r.completed_at + retry_delay(r.attempts) <= now
            ]
            busy = {queue for _prefix, queue in self.dialing.values()}
            for callback in due_callbacks(pending, self.line, busy):
                await self._dial(callback, next(r for r in rows if r.id == callback.id).attempts)

    async def _dial(self, callback: PendingCallback, attempts: int) -> None:
        context = STAND_IN_CONTEXT.format(queue=callback.queue)
        request = OriginateRequest(
            channel=f"Local/{callback.number}@{context}",
            context=f"ccq-{callback.queue}-cbdial",
            exten=callback.number,
            caller_id=f'"Rappel" <{callback.number}>',
            timeout_ms=30 * 60 * 1000,
            variables={"CCS_TRUNK_HOST": self.trunk_host, "CCS_CALLBACK_ID": str(callback.id)},
        )
        try:
            await self.pbx.originate(request)
        except CcError as exc:
            logger.warning("callback #%s: cannot place the stand-in: %s", callback.id, exc.message)
            return
        self.dialing[callback.id] = (f"Local/{callback.number}@{context}-", callback.queue)
        await asyncio.to_thread(self.repo.update_callback, callback.id, status="dialing", attempts=attempts + 1)
        logger.info("callback #%s: its turn in %s came, stand-in placed", callback.id, callback.queue)

    def _callback_of(self, channel: str) -> int | None:
        for callback_id, (prefix, _queue) in self.dialing.items():
            if channel.startswith(prefix):
                return callback_id
        return None

    def match_connected(self, event: ev.AgentConnected) -> list[ev.Event]:
        """Intake handler (synchronous, in order): is the answered queue caller a stand-in?"""
        channel = self.channel_of(event.uniqueid)
        callback_id = self._callback_of(channel) if channel else None
        if callback_id is None:
            return []
        self._forget(callback_id)
        return [CallbackConnected(callback_id=callback_id, agent=event.member_name)]

    async def _connected(self, event: CallbackConnected) -> None:
        await asyncio.to_thread(
            self.repo.update_callback,
            event.callback_id,
            status="done",
            agent=event.agent,
            completed_at=self.clock.now(),
        )
        logger.info("callback #%s taken by %s", event.callback_id, event.agent)

    async def _hungup(self, event: ev.ChannelHungup) -> None:
        callback_id = self._callback_of(event.channel)
        if callback_id is None:
            return
        self._forget(callback_id)
        row = next((r for r in await asyncio.to_thread(self.repo.callbacks, "dialing") if r.id == callback_id), None)
        if row is None:
            return
        status = "failed" if row.attempts >= MAX_ATTEMPTS else "pending"
        await asyncio.to_thread(
            self.repo.update_callback,
            callback_id,
            status=status,
            completed_at=self.clock.now(),
            last_error=event.cause_text[:255],
        )

    async def _reconcile(self, snapshot: ev.PbxSnapshot) -> None:
        """After a restart of either side: a 'dialing' request whose stand-in is gone is pending again."""
        alive = [c.channel for c in snapshot.channels]
        for row in await asyncio.to_thread(self.repo.callbacks, "dialing"):
            prefix = f"Local/{row.number}@{STAND_IN_CONTEXT.format(queue=row.queue)}-"
            if any(channel.startswith(prefix) for channel in alive):
                self.dialing[row.id] = (prefix, row.queue)
            else:
                self._forget(row.id)
                await asyncio.to_thread(self.repo.update_callback, row.id, status="pending")

    def _forget(self, callback_id: int) -> None:
        self.dialing.pop(callback_id, None)
