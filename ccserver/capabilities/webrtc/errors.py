"""The browser phone's domain errors (stable ids; rendered by the web error middleware)."""

from __future__ import annotations

from ...core.errors import NotFound


class NoBrowserPhone(NotFound):
    """The user has no SIP account, so no browser phone can be made for them."""

    error_id = "no-browser-phone"
