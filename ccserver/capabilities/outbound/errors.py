"""Domain errors of outbound campaigns (stable ids; the web edge renders them)."""

from __future__ import annotations

from ...core.errors import Conflict, NotFound


class NoSuchCampaign(NotFound):
    error_id = "no-such-campaign"


class NoSuchContact(NotFound):
    error_id = "no-such-contact"


class NoSuchImport(NotFound):
    error_id = "no-such-import"


class NoSuchAttempt(NotFound):
    error_id = "no-such-attempt"


class CampaignBlocked(Conflict):
    error_id = "campaign-blocked"


class CallForbidden(Conflict):
    """The compliance engine forbade the call; details carry the failed rules."""

    error_id = "call-forbidden"


__all__ = ["CallForbidden", "CampaignBlocked", "NoSuchAttempt", "NoSuchCampaign", "NoSuchContact", "NoSuchImport"]
