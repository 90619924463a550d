"""The browser phone's use case: hand the logged-in agent's page the credentials of their own
WebRTC endpoint, made (or kept) in Asterisk for this web session, without a restart.

The password is derived from the web session (model.session_password, a key held by this
process only): a page reloaded in the same session gets the same password and Asterisk is not
touched again; a new session replaces the agent's endpoint credentials (the older session's
phone stops registering). Asterisk gets the endpoints in pjsip_webrtc.conf (digests only), then
`module reload res_pjsip.so`. At start the file is rewritten empty: the endpoints of a previous
process (whose key is gone) are removed, and the pages ask again (they do when refused).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass

from ...core.errors import PbxCommandFailed, PbxTimeout, PbxUnavailable
from ..acd.errors import NoSuchAgent
from .errors import NoBrowserPhone
from .model import BrowserPhoneSettings, WebrtcAccount, render_pjsip_webrtc, session_password
from .ports import Accounts, ConfigWriter, PjsipReload

logger = logging.getLogger(__name__)

GENERATED_FILE = "pjsip_webrtc.conf"


@dataclass(frozen=True)
class WssServer:
    """Where the pages connect: Asterisk's HTTPS server (host "" means the host the browser
    used to reach ccserver) and its port."""

    host: str
    port: int

    def origin(self, request_host: str = "") -> str:
        host = self.host or request_host or "127.0.0.1"
        shown = f"[{host}]" if ":" in host else host
        return f"wss://{shown}:{self.port}"

    def url(self, request_host: str = "") -> str:
        return f"{self.origin(request_host)}/ws"


class WebrtcService:
    def __init__(
        self,
        accounts: Accounts,
        writer: ConfigWriter | None,
        pbx: PjsipReload | None,
        server: WssServer,
        *,
        key: bytes | None = None,
    ) -> None:
        self.accounts = accounts
        self.writer = writer
        self.pbx = pbx
        self.server = server
        self._key = key or secrets.token_bytes(32)
        self._endpoints: dict[str, WebrtcAccount] = {}  # username -> its endpoint in Asterisk
        self._lock = asyncio.Lock()

    def endpoints(self) -> list[WebrtcAccount]:
        return sorted(self._endpoints.values(), key=lambda a: a.username)

    async def credentials(self, username: str, session_id: int, *, host: str = "") -> BrowserPhoneSettings:
        """The settings of `username`'s browser phone for this web session (their own only: the
        web layer passes the logged-in user). NoBrowserPhone when they have no SIP account."""
        try:
            agent = await asyncio.to_thread(self.accounts.agent, username)
        except NoSuchAgent:
            raise NoBrowserPhone(f"{username} has no agent account: no browser phone", field="username") from None
        if not agent.sip_username:
            raise NoBrowserPhone(f"{username} has no SIP account: no browser phone", field="username")
        password = session_password(self._key, username, str(session_id))
        account = WebrtcAccount.with_password(username, agent.sip_username, agent.display_name, password)
        async with self._lock:
            if self._endpoints.get(username) != account:
                self._endpoints[username] = account
                await self._apply()
                logger.info(
                    "browser phone %s of agent %s: credentials of a new session applied", account.endpoint, username
                )
        domain = self.server.host or host or "127.0.0.1"
        return BrowserPhoneSettings(self.server.url(host), domain, account.endpoint, password, agent.display_name)

    async def forget(self, username: str) -> None:
        """Remove `username`'s browser phone from Asterisk (their account was disabled)."""
        async with self._lock:
            if self._endpoints.pop(username, None) is not None:
                await self._apply()

    async def start(self) -> None:
        async with self._lock:
            await self._apply()

    async def _apply(self) -> None:
        if self.writer is None:
            logger.warning("no Asterisk configuration writer: browser phones not applied")
            return
        await asyncio.to_thread(
            self.writer.write_generated, GENERATED_FILE, render_pjsip_webrtc(self._endpoints.values())
        )
        if self.pbx is None or not self.pbx.is_up:
            return  # read when Asterisk starts, or at the ACD's reload after the AMI login
        try:
            await self.pbx.reload("res_pjsip.so")
        except (PbxUnavailable, PbxTimeout, PbxCommandFailed) as exc:
            # written: the ACD reloads res_pjsip after the next AMI login
            logger.warning("browser phones written but not reloaded in Asterisk yet: %s", exc)
