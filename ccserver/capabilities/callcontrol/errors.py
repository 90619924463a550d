"""Call control's domain errors (stable ids; rendered by the web error middleware)."""

from __future__ import annotations

from ...core.errors import Conflict, NotFound


class NoSuchCall(NotFound):
    """No call in progress with this id (it ended in between, or never was)."""

    error_id = "no-such-call"


class NoSuchTransferTarget(NotFound):
    """A transfer to an agent, a queue or a number the server does not know."""

    error_id = "no-such-transfer-target"


class CallNotInState(Conflict):
    """The action does not fit the call's state now (resume a call not held, complete a
    transfer never started...): nothing was done."""

    error_id = "call-not-in-state"
