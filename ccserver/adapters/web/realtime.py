"""Live updates over one WebSocket per browser page.

Each client has a bounded queue and its own sender task: a broadcast is serialized once and
queued for every client whose role (or user) it targets; a client too slow to keep up is closed
(its page reconnects and reloads its state) rather than slowing everybody down. The Origin of
the upgrade request must be the server's own.

Every message a socket gets carries ``seq``: 0 for its ``hello``, then 1, 2, 3... for each
broadcast queued for it, so a page that sees a number skipped (or reconnects) knows it missed
something and re-reads its state (the agent desk: ``GET /api/agent/desk/snapshot``).

A socket lives no longer than the session it was opened with: logging out, disabling the user,
resetting their password or revoking their sessions closes it at once with code 4401 (the
page says "Session terminée" and goes to the login page), and `watch_sessions` re-checks the
sessions of all open sockets with one query every second or so, so a revocation made by
another process (the ``ccserver user`` command) or a session that expired closes them too.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, web

from ...core.errors import Forbidden
from . import i18n
from .auth import ROLES, CurrentUser, current_user, roles
from .keys import LANGUAGE, REALTIME, SETTINGS

logger = logging.getLogger(__name__)

# WebSocket close code (application range 4000-4999) telling the page its session ended
SESSION_ENDED = 4401


@dataclass(eq=False)
class RealtimeClient:
    user: CurrentUser
    ws: web.WebSocketResponse
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(256))
    dropped: bool = False
    seq: int = 0  # the number of the last message queued for this socket (its hello is 0)
    language: str = i18n.DEFAULT_LANGUAGE  # the page's: the domain's messages come in it


class RealtimeHub:
    def __init__(self) -> None:
        self.clients: set[RealtimeClient] = set()
        self.sent = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: set[asyncio.Task] = set()  # referenced until done (no garbage collection)

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop the sockets run on, so `revoke_user_threadsafe` works from worker threads."""
        self._loop = loop

    def close_sessions(self, session_ids: set[int] | frozenset[int], *, reason: str) -> int:
        """Close (code 4401) every socket opened with one of these sessions; returns how many."""
        return self._close_where(lambda c: c.user.session_id in session_ids, reason)

    def close_user(self, user_id: int, *, reason: str) -> int:
        """Close (code 4401) every socket of this user, whatever the session."""
        return self._close_where(lambda c: c.user.id == user_id, reason)

    def revoke_user_threadsafe(self, user_id: int, username: str) -> None:
        """A `UserAdminService` revocation listener: may be called from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self.close_user(user_id, reason="revoked")
        else:
            loop.call_soon_threadsafe(lambda: self.close_user(user_id, reason="revoked"))

    def _close_where(self, predicate, reason: str) -> int:
        closing = [c for c in list(self.clients) if predicate(c)]
        for client in closing:
            self.clients.discard(client)  # nothing more is queued for it
            logger.info(
                "closing realtime socket of %s (session %s): session ended (%s)",
                client.user.username,
                client.user.session_id,
                reason,
            )
            task = asyncio.get_running_loop().create_task(client.ws.close(code=SESSION_ENDED, message=b"session ended"))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        return len(closing)

    async def watch_sessions(self, sessions, interval: float) -> None:
        """Every `interval` seconds, one query tells which sessions of the open sockets are
        still live; the sockets of the others (deleted, expired, user disabled) close."""
        failing = False
        while True:
            await asyncio.sleep(interval)
            ids = {c.user.session_id for c in self.clients}
            if not ids:
                continue
            try:
                live = await asyncio.to_thread(sessions.live_ids, ids)
            except Exception as exc:  # the database is down: keep the sockets, say it once
                if not failing:
                    logger.warning(
                        "cannot re-check the sessions of realtime sockets: %s",
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                    )
                failing = True
                continue
            if failing:
                logger.info("realtime sockets' sessions re-checked again")
                failing = False
            ended = ids - live
            if ended:
                self.close_sessions(ended, reason="session no longer valid")

    def broadcast(
        self,
        message: dict[str, Any],
        *,
        roles: set[str] | frozenset[str] | None = None,
        usernames: set[str] | None = None,
    ) -> int:
        """Queue `message` for the matching clients; returns how many got it. Never blocks."""
        payloads: dict[str, str] = {}  # one per language (the domain's messages translated)
        count = 0
        for client in list(self.clients):
            if (
                roles is not None
                and client.user.role not in roles
                and not (usernames and client.user.username in usernames)
            ):
                continue
            if roles is None and usernames is not None and client.user.username not in usernames:
                continue
            payload = payloads.get(client.language)
            if payload is None:
                payload = payloads[client.language] = json.dumps(
                    i18n.localize(message, client.language), default=str, separators=(",", ":")
                )
            client.seq += 1  # counted even when dropped: the page sees the gap
            try:
                client.queue.put_nowait(_numbered(payload, client.seq))
                count += 1
            except asyncio.QueueFull:
                if not client.dropped:
                    client.dropped = True
                    logger.warning("realtime client %s too slow: closing it", client.user.username)
                    asyncio.get_running_loop().create_task(
                        client.ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow")
                    )
        return count

    async def close_all(self) -> None:
        # all at once: each close waits for the browser's reply (up to the socket's timeout)
        await asyncio.gather(
            *(
                client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
                for client in list(self.clients)
            ),
            return_exceptions=True,
        )


def _numbered(payload: str, seq: int) -> str:
    """The serialized message (a JSON object) with ``seq`` first, without parsing it again."""
    return f'{{"seq":{seq},{payload[1:]}' if payload != "{}" else f'{{"seq":{seq}}}'


def _origin_allowed(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser (tests, CLI tools); cookies still authenticate
    allowed = {f"{request.scheme}://{request.host}"}
    public_url = request.app[SETTINGS].web.public_url
    if public_url:
        parts = urlsplit(public_url)
        allowed.add(f"{parts.scheme}://{parts.netloc}")
    return origin in allowed


@roles(*ROLES)
async def websocket_handler(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    if not _origin_allowed(request):
        raise Forbidden("WebSocket from another origin refused", origin=request.headers.get("Origin"))
    ws = web.WebSocketResponse(heartbeat=20, max_msg_size=64 * 1024)
    await ws.prepare(request)
    hub = request.app[REALTIME]
    client = RealtimeClient(user=user, ws=ws, language=request.get(LANGUAGE, i18n.DEFAULT_LANGUAGE))
    # the hello (seq 0) is queued before any broadcast can be
    client.queue.put_nowait(json.dumps({"seq": 0, "topic": "hello", "user": user.username, "role": user.role}))
    hub.clients.add(client)
    sender = asyncio.get_running_loop().create_task(_send_loop(client, hub))
    try:
        async for _msg in ws:  # pages only listen; commands go through the JSON API
            pass
    finally:
        hub.clients.discard(client)
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
    return ws


async def _send_loop(client: RealtimeClient, hub: RealtimeHub) -> None:
    while True:
        payload = await client.queue.get()
        if client.ws.closed:
            return
        await client.ws.send_str(payload)
        hub.sent += 1


def add_routes(app: web.Application) -> None:
    app.router.add_get("/ws", websocket_handler, name="websocket")
