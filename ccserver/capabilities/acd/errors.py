"""The inbound capability's domain errors (stable ids; rendered by the web error middleware)."""

from __future__ import annotations

from ...core.errors import Conflict, NotFound


class NoSuchQueue(NotFound):
    error_id = "no-such-queue"


class NoSuchAgent(NotFound):
    error_id = "no-such-agent"


class QueueSettingRefused(Conflict):
    """Asterisk did not take a queue's new settings: the previous ones were applied again and
    nothing was stored."""

    error_id = "queue-setting-refused"
