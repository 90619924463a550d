"""The ordered intake and the event bus.

`Intake` is the single ordered queue every PbxEvent goes through: one consumer task applies the
synchronous capability handlers (no await, so each event applies atomically) and publishes the
event and the handlers' outputs on the bus.

`InProcessBus` isolates subscribers: each has its own bounded queue and task, so a slow or
failing subscriber never blocks intake or the others. When a subscriber's queue is full the
oldest event is dropped and counted; the overflow is logged once, and its end once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .events import Event

logger = logging.getLogger(__name__)

Listener = Callable[[Event], None | Awaitable[None]]
Handler = Callable[[Event], Iterable[Event] | None]


@dataclass
class Subscription:
    name: str
    topics: frozenset[str] | None
    listener: Listener
    queue: asyncio.Queue
    dropped: int = 0
    failed: int = 0
    overflowing: bool = False
    busy: bool = False  # handling an event right now (drain waits for it)
    task: asyncio.Task | None = field(default=None, repr=False)

    def wants(self, topic: str) -> bool:
        return self.topics is None or topic in self.topics


class InProcessBus:
    """Publish/subscribe inside one process. `publish` never blocks and never raises."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self._by_topic: dict[str, list[Subscription]] = {}
        self._started = False

    def subscribe(
        self, name: str, listener: Listener, topics: Iterable[str] | None = None, maxsize: int = 10_000
    ) -> Subscription:
        sub = Subscription(
            name=name,
            topics=frozenset(topics) if topics is not None else None,
            listener=listener,
            queue=asyncio.Queue(maxsize),
        )
        self._subscriptions.append(sub)
        self._by_topic.clear()
        if self._started:
            sub.task = asyncio.get_running_loop().create_task(self._run(sub), name=f"bus:{name}")
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subscriptions:
            self._subscriptions.remove(sub)
            self._by_topic.clear()
        if sub.task is not None:
            sub.task.cancel()

    def publish(self, event: Event) -> None:
        topic = event.topic
        subs = self._by_topic.get(topic)
        if subs is None:
            subs = self._by_topic[topic] = [s for s in self._subscriptions if s.wants(topic)]
        for sub in subs:
            queue = sub.queue
            if queue.full():
                queue.get_nowait()
                sub.dropped += 1
                if not sub.overflowing:
                    sub.overflowing = True
                    logger.warning("bus subscriber %s is too slow: dropping oldest events", sub.name)
            elif sub.overflowing and queue.qsize() < queue.maxsize // 2:
                sub.overflowing = False
                logger.info("bus subscriber %s caught up (%d events dropped so far)", sub.name, sub.dropped)
            queue.put_nowait(event)

    async def start(self) -> None:
        self._started = True
        loop = asyncio.get_running_loop()
        for sub in self._subscriptions:
            if sub.task is None:
                sub.task = loop.create_task(self._run(sub), name=f"bus:{sub.name}")

    async def stop(self) -> None:
        self._started = False
        tasks = [s.task for s in self._subscriptions if s.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sub in self._subscriptions:
            sub.task = None

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait until every subscriber has handled what was published (tests, shutdown)."""

        async def _all_empty() -> None:
            while any(s.queue.qsize() or s.busy for s in self._subscriptions):  # noqa: ASYNC110 (polled: no event per queue)
                await asyncio.sleep(0.005)

        await asyncio.wait_for(_all_empty(), timeout)

    @staticmethod
    async def _run(sub: Subscription) -> None:
        while True:
            event = await sub.queue.get()
            sub.busy = True
            try:
                result = sub.listener(event)
                if asyncio.iscoroutine(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception:
                sub.failed += 1
                logger.exception("bus subscriber %s failed on %s", sub.name, event.topic)
            finally:
                sub.busy = False

    def stats(self) -> dict[str, dict[str, Any]]:
        return {
            s.name: {"queued": s.queue.qsize(), "dropped": s.dropped, "failed": s.failed} for s in self._subscriptions
        }


class Intake:
    """The one ordered queue between the adapters and the capability handlers."""

    def __init__(self, bus: InProcessBus) -> None:
        self.bus = bus
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self._handlers: dict[type, list[Handler]] = defaultdict(list)
        self._resolved: dict[type, list[Handler]] = {}
        self._task: asyncio.Task | None = None
        self.processed = 0

    def add_handler(self, event_type: type, handler: Handler) -> None:
        """Register a synchronous handler; it may return events to publish after the input."""
        self._handlers[event_type].append(handler)
        self._resolved.clear()

    def submit(self, event: Event) -> None:
        """Called by adapters, synchronously, in the order the PBX sent the messages."""
        self.queue.put_nowait(event)

    def apply(self, event: Event) -> None:
        """Apply one event now: handlers first, then publish the event and what they produced."""
        handlers = self._resolved.get(type(event))
        if handlers is None:
            handlers = self._resolved[type(event)] = [h for t in type(event).__mro__ for h in self._handlers.get(t, ())]
        outputs: list[Event] = []
        for handler in handlers:
            try:
                produced = handler(event)
            except Exception:
                logger.exception(
                    "handler %s failed on %s %s",
                    getattr(handler, "__qualname__", handler),
                    event.topic,
                    getattr(event, "uniqueid", ""),
                )
                continue
            if produced:
                outputs.extend(produced)
        self.bus.publish(event)
        for out in outputs:
            self.bus.publish(out)
        self.processed += 1

    async def run(self) -> None:
        queue = self.queue
        while True:
            event = await queue.get()
            self.apply(event)
            # apply everything already queued without yielding per event
            while not queue.empty():
                self.apply(queue.get_nowait())

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(), name="intake")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def drain(self, timeout: float = 5.0) -> None:
        async def _empty() -> None:
            while not self.queue.empty():  # noqa: ASYNC110 (asyncio.Queue has no "emptied" event)
                await asyncio.sleep(0.002)

        await asyncio.wait_for(_empty(), timeout)
