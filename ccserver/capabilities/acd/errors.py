"""The inbound capability's domain errors (stable ids; rendered by the web error middleware)."""

from __future__ import annotations

from ...core.errors import NotFound


class NoSuchQueue(NotFound):
    error_id = "no-such-queue"


class NoSuchAgent(NotFound):
    error_id = "no-such-agent"
