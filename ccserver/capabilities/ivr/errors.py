"""The IVR's domain errors (stable ids, rendered by the web error middleware)."""

from __future__ import annotations

from ccserver.core.errors import CcError, NotFound


class NoSuchIvrScript(NotFound):
    error_id = "no-such-ivr-script"


class HandOverFailed(CcError):
    """A hand-over target (queue, voicemail, transfer, fallback) has no dialplan."""

    error_id = "ivr-hand-over-failed"
    status = 502


class NoSuchIvrVersion(NotFound):
    error_id = "no-such-ivr-version"
