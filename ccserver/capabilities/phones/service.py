"""Phones use cases: list users with their phone, give a user a phone, regenerate its password.

The password is generated here, handed back once (with the softphone settings and provisioning)
and never stored: the repository keeps its digests. Every change is applied to Asterisk at once
through `apply` (the ACD's configuration: pjsip_agents.conf rendered and `res_pjsip.so`
reloaded, with the dialplan of the phones), without a restart.

A Linphone provisioning link (what the QR code holds) is kept in this process's memory only, for
`provisioning_ttl` seconds and for ONE fetch; a new password voids the older links of that user.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ...core.clock import Clock
from ...core.errors import Conflict, PbxCommandFailed, PbxTimeout, PbxUnavailable
from ...core.text import Text
from .errors import NoSuchPhone, NoSuchProvisioning
from .model import PhoneLine, PhoneServer, SoftphoneSettings, check_username, host_or_default, sip_username_for
from .ports import Audit, PhoneRepository, Registrations

logger = logging.getLogger(__name__)

PROVISIONING_TTL = 900.0  # seconds a Linphone provisioning link works (once)


def generate_sip_password() -> str:
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class IssuedPhone:
    """What the admin sees once: the user's phone, its settings (password included) and the
    one-time Linphone provisioning token."""

    line: PhoneLine
    settings: SoftphoneSettings
    provisioning_token: str
    expires_at: datetime
    # False when Asterisk could not be told (the change is stored and written; the server
    # reloads Asterisk's SIP accounts when it is reachable again): the password still works then
    applied: bool = True


@dataclass
class _Provisioning:
    username: str
    document: str
    expires_at: datetime


class PhoneService:
    def __init__(
        self,
        repo: PhoneRepository,
        audit: Audit,
        clock: Clock,
        *,
        apply: Callable[[], Awaitable[None]],
        server: PhoneServer,
        registrations: Registrations | None = None,
        provisioning_ttl: float = PROVISIONING_TTL,
    ) -> None:
        self.repo = repo
        self.audit = audit
        self.clock = clock
        self.apply = apply
        self.server = server
        self.registrations = registrations
        self.provisioning_ttl = provisioning_ttl
        self._provisioning: dict[str, _Provisioning] = {}  # sha256(token) -> document
        self._lock = asyncio.Lock()  # one change at a time: each is applied before the next

    async def phones(self) -> list[PhoneLine]:
        return await asyncio.to_thread(self.repo.lines)

    async def registered(self) -> set[str] | None:
        """The SIP users whose phone is registered now; None when Asterisk cannot say (not
        configured, down, or slower than 2 s: the list is shown without it)."""
        if self.registrations is None:
            return None
        try:
            return await asyncio.wait_for(self.registrations.registered(), 2.0)
        except (PbxUnavailable, PbxTimeout, PbxCommandFailed, TimeoutError) as exc:
            logger.info("phones: registrations unknown: %s", exc)
            return None

    async def phone(self, username: str) -> PhoneLine:
        return await asyncio.to_thread(self.repo.line, check_username(username))

    async def create(self, username: str, actor: str, *, host: str = "") -> IssuedPhone:
        """A phone for `username` (any active user); Conflict when they already have one."""
        check_username(username)
        line = await asyncio.to_thread(self.repo.line, username)
        if line.has_phone:
            raise Conflict(
                Text(
                    "%(username)s already has a phone (%(sip_username)s): regenerate its password instead",
                    username=username,
                    sip_username=line.sip_username,
                ),
                field="username",
            )
        sip_username = sip_username_for(username)
        password = generate_sip_password()
        async with self._lock:
            line = await asyncio.to_thread(self.repo.create_phone, username, sip_username, password)
            await asyncio.to_thread(self.audit.record, actor, "phone.create", username, sip_username=sip_username)
            applied = await self._apply(username)
        logger.info("phone %s of user %s created by %s", sip_username, username, actor)
        return self._issue(line, password, host, applied)

    async def regenerate(self, username: str, actor: str, *, host: str = "") -> IssuedPhone:
        """A new password for `username`'s phone: the old one stops working at once."""
        check_username(username)
        line = await asyncio.to_thread(self.repo.line, username)
        if not line.has_phone:
            raise NoSuchPhone(
                Text("%(username)s has no phone yet: create it first", username=username), field="username"
            )
        password = generate_sip_password()
        async with self._lock:
            line = await asyncio.to_thread(self.repo.set_phone_password, username, password)
            await asyncio.to_thread(self.audit.record, actor, "phone.password_reset", username)
            applied = await self._apply(username)
        logger.info("phone %s of user %s: new password by %s", line.sip_username, username, actor)
        return self._issue(line, password, host, applied)

    async def _apply(self, username: str) -> bool:
        """Apply the SIP accounts to Asterisk. The password is stored already: if Asterisk fails
        to answer, it is still shown (losing it would leave a phone nobody can use) and the
        server applies the accounts again when Asterisk is back (its AMI reconnection)."""
        try:
            await self.apply()
            return True
        except (PbxUnavailable, PbxTimeout, PbxCommandFailed) as exc:
            logger.warning("phone of user %s stored but not applied to Asterisk yet: %s", username, exc)
            return False

    # --- the one-time Linphone provisioning ----------------------------------------------------
    def _issue(self, line: PhoneLine, password: str, host: str, applied: bool) -> IssuedPhone:
        # no configured address: the host name the admin's browser used to reach this server
        server = self.server if self.server.host else replace(self.server, host=host_or_default(host))
        settings = SoftphoneSettings(server, line.sip_username, password, line.display_name)
        now = self.clock.now()
        self._forget(lambda p: p.expires_at <= now or p.username == line.username)
        token = secrets.token_urlsafe(32)
        expires_at = now + timedelta(seconds=self.provisioning_ttl)
        self._provisioning[_token_key(token)] = _Provisioning(line.username, settings.linphone_xml(), expires_at)
        return IssuedPhone(line, settings, token, expires_at, applied)

    def take_provisioning(self, token: str) -> str:
        """The Linphone document of a provisioning link, once; NoSuchProvisioning afterwards."""
        now = self.clock.now()
        self._forget(lambda p: p.expires_at <= now)
        found = self._provisioning.pop(_token_key(token), None) if 20 <= len(token) <= 100 else None
        if found is None:
            raise NoSuchProvisioning("this provisioning link was already used or has expired")
        logger.info("phone of user %s: Linphone provisioning fetched", found.username)
        return found.document

    def _forget(self, stale: Callable[[_Provisioning], bool]) -> None:
        for key in [k for k, p in self._provisioning.items() if stale(p)]:
            del self._provisioning[key]


def _token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
