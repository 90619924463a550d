"""The call-center settings' domain errors (stable ids; rendered by the web error middleware)."""

from __future__ import annotations

from ...core.errors import Conflict, NotFound


class NoSuchSkill(NotFound):
    error_id = "no-such-skill"


class NoSuchPauseCode(NotFound):
    error_id = "no-such-pause-code"


class NoSuchWrapupCode(NotFound):
    error_id = "no-such-wrapup-code"


class SkillInUse(Conflict):
    """A skill still given to agents or required by queues (details name where)."""

    error_id = "skill-in-use"
