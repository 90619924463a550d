"""The callbacks capability's domain errors (stable ids; rendered by the web error middleware)."""

from __future__ import annotations

from ...core.errors import NotFound


class NoSuchCallback(NotFound):
    error_id = "no-such-callback"
