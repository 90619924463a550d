"""Which SIP accounts have a phone registered right now: PJSIP's contacts over AMI (the phones
pages show it next to each account)."""

from __future__ import annotations

from typing import Any


class PjsipRegistrations:
    """`registered()`: the AORs (our SIP user names) with at least one registered contact."""

    def __init__(self, ami: Any) -> None:
        self.ami = ami  # adapters.pbx.ami: list_action with a timeout, never replayed

    async def registered(self) -> set[str]:
        rows = await self.ami.list_action({"Action": "PJSIPShowContacts"})
        # ObjectName is "<aor>;@<hash>" (Asterisk 22 lists no Aor field); ours are named as the
        # SIP user (pjsip_agents.conf)
        return {
            row["objectname"].partition(";@")[0]
            for row in rows
            if row.get("event") == "ContactList" and row.get("objectname")
        }
