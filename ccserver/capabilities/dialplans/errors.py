"""The dialplans capability's domain errors (stable ids; rendered by the web error middleware)."""

from __future__ import annotations

from ...core.errors import CcError, Conflict, NotFound


class NoSuchVersion(NotFound):
    error_id = "no-such-dialplan-version"


class DialplanRefused(CcError):
    """The version has problems (lint or the scratch Asterisk): ``details["problems"]`` lists
    them with file and line. Nothing reached the live Asterisk."""

    error_id = "dialplan-refused"
    status = 422


class DialplanUnavailable(Conflict):
    """No live Asterisk to apply to (no configuration directory, or AMI down)."""

    error_id = "dialplan-unavailable"


class DialplanBusy(Conflict):
    """Another apply or rollback holds the dialplan (in this process or another: the server,
    `ccserver dialplan`); nothing was changed."""

    error_id = "dialplan-busy"
