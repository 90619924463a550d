"""User administration's domain errors."""

from __future__ import annotations

from ...core.errors import NotFound


class NoSuchUser(NotFound):
    error_id = "no-such-user"
