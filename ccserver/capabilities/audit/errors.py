"""The audit capability's domain errors (stable ids; rendered by the web error middleware, and
printed by the CLI as ``ccserver: error: ...``)."""

from __future__ import annotations

from ...core.errors import Conflict


class ChainBroken(Conflict):
    """The chain does not hold: `details` name the first broken entry (id, at, reason)."""

    error_id = "audit-chain-broken"
