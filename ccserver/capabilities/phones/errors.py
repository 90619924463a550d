"""The phones capability's domain errors (stable ids; rendered by the web error middleware)."""

from __future__ import annotations

from ...core.errors import NotFound


class NoSuchPhone(NotFound):
    """The user exists but has no SIP account yet (create one first)."""

    error_id = "no-such-phone"


class NoSuchProvisioning(NotFound):
    """A provisioning link that was already used, expired or never existed."""

    error_id = "no-such-provisioning"
