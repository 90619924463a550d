"""User administration's domain errors."""

from __future__ import annotations

from ...core.errors import Conflict, NotFound


class NoSuchUser(NotFound):
    error_id = "no-such-user"


class NoSuchTeam(NotFound):
    error_id = "no-such-team"


class LastAdmin(Conflict):
    """The change would leave no active admin (nobody could administer the center any more)."""

    error_id = "last-admin"
