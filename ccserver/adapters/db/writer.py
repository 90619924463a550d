"""A bus subscriber that writes events to the database in batches, off the event loop.

Events are buffered in order and flushed by one task: every `max_delay` seconds, or at once
when `max_batch` are waiting. A failed flush is logged and retried with the same batch (the
writes are idempotent upserts/appends), so a database outage loses nothing that fits in memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ...core.events import Event

logger = logging.getLogger(__name__)


class BatchedWriter:
    def __init__(
        self,
        name: str,
        flush: Callable[[list[Event]], Any],
        *,
        max_batch: int = 500,
        max_delay: float = 0.2,
        max_buffer: int = 100_000,
    ) -> None:
        self.name = name
        self._flush = flush
        self.max_batch, self.max_delay, self.max_buffer = max_batch, max_delay, max_buffer
        self._buffer: list[Event] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.written = 0
        self._failing = False

    def __call__(self, event: Event) -> None:
        """The bus listener: never blocks."""
        if len(self._buffer) >= self.max_buffer:
            logger.error("%s: %d events waiting for the database, dropping the oldest", self.name, len(self._buffer))
            del self._buffer[0]
        self._buffer.append(event)
        if len(self._buffer) >= self.max_batch:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"writer:{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.flush_now()

    async def flush_now(self) -> None:
        while self._buffer:
            batch = self._buffer[: self.max_batch]
            try:
                await asyncio.to_thread(self._flush, batch)
            except Exception as exc:
                if not self._failing:
                    logger.error("%s: database write failed (%s); will retry", self.name, exc)
                self._failing = True
                raise
            if self._failing:
                logger.info("%s: database writes work again", self.name)
                self._failing = False
            del self._buffer[: len(batch)]
            self.written += len(batch)

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.max_delay)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.flush_now()
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(1.0)

    @property
    def pending(self) -> int:
        return len(self._buffer)
