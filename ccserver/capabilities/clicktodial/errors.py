"""Domain errors of click-to-dial (stable ids; the web edge renders them)."""

from __future__ import annotations

from ...core.errors import Conflict, NotFound


class NoPhoneNumber(Conflict):
    """The customer (of the file, the ticket) has no number to call."""

    error_id = "no-phone-number"


class UnknownNumber(NotFound):
    """A typed number that belongs to no customer (agents call their customers only)."""

    error_id = "unknown-number"


class NoAgentPhone(Conflict):
    """The user has no phone for the call to ring first (no agent account)."""

    error_id = "no-agent-phone"


class CallbackClosed(Conflict):
    """The callback is being dialled, done or cancelled meanwhile."""

    error_id = "callback-closed"


class AlreadyOnCall(Conflict):
    """The agent is already in a call: one call at a time from a desk."""

    error_id = "already-on-call"


__all__ = ["AlreadyOnCall", "CallbackClosed", "NoAgentPhone", "NoPhoneNumber", "UnknownNumber"]
