"""The ARI link: aioari behind a reconnecting, time-limited wrapper.

aioari's `run()` returns when the WebSocket closes, and it awaits listeners one after the other:
this wrapper loops with backoff (re-registering the Stasis application on each connection),
translates events synchronously into the intake, and puts a timeout on every REST call.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from collections.abc import Callable
from typing import Any

import aioari
import aiohttp
from aiohttp import web
from aioswagger11.http_client import ApiKeyAuthenticator, AsynchronousHttpClient

from ...core.errors import PbxCommandFailed, PbxTimeout, PbxUnavailable
from ...core.events import PbxEvent, PbxLinkDown, PbxLinkUp
from .ari_translate import translate_ari

logger = logging.getLogger(__name__)


class AriLink:
    def __init__(
        self,
        *,
        base_url: str,
        username: str,
        password: str,
        app: str,
        submit: Callable[[PbxEvent], None],
        node: str = "asterisk",
        command_timeout: float = 5.0,
        on_connect: Callable[[], Any] | None = None,
    ) -> None:
        self.base_url, self.username, self._password, self.app = base_url, username, password, app
        self.node = node
        self.command_timeout = command_timeout
        self._submit = submit
        self._on_connect = on_connect
        self.client: Any = None
        self.state = "stopped"  # stopped | connecting | up | down | auth-failed
        self.last_error = ""
        self._task: asyncio.Task | None = None

    @property
    def is_up(self) -> bool:
        return self.state == "up"

    async def start(self) -> None:
        self.state = "connecting"
        self._task = asyncio.get_running_loop().create_task(self._run_forever(), name="ari-link")

    async def stop(self) -> None:
        self.state = "stopped"
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self._close_client()

    async def _close_client(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                await client.close()
            except Exception:  # closing a dead client is best effort
                logger.debug("closing ARI client failed", exc_info=True)

    async def _run_forever(self) -> None:
        failures = 0
        while True:
            try:
                self.client = await asyncio.wait_for(self._connect(), 10)
                self.client.on_event("*", self._on_event)
                runner = asyncio.ensure_future(self.client.run(apps=self.app))
                # run() registers the app when its WebSocket opens; give it a moment to fail early
                done, _ = await asyncio.wait({runner}, timeout=0.3)
                if runner in done:
                    runner.result()
                    raise ConnectionError("ARI WebSocket closed at once")
                failures = 0
                if self.state != "up":
                    logger.info("ARI %s connected (app %s)", self.base_url, self.app)
                self.state, self.last_error = "up", ""
                self._submit(PbxLinkUp(link="ari", node=self.node))
                if self._on_connect is not None:
                    self._on_connect()
                await runner
                raise ConnectionError("ARI WebSocket closed")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                was_up = self.state == "up"
                auth = _is_auth_error(exc)
                new_state = "auth-failed" if auth else "down"
                if was_up:
                    logger.warning("ARI %s connection lost (%s); reconnecting", self.base_url, _short(exc))
                    self._submit(PbxLinkDown(link="ari", reason=_short(exc), node=self.node))
                elif self.state != new_state:
                    if auth:
                        logger.error(
                            "ARI %s refused user %r: check ari_username/ari_password", self.base_url, self.username
                        )
                    else:
                        logger.warning("ARI %s unreachable (%s); retrying until it answers", self.base_url, _short(exc))
                self.state, self.last_error = new_state, _short(exc)
                await self._close_client()
                await asyncio.sleep(min(0.5 * 2 ** min(failures - 1, 2), 2.0))

    async def _connect(self) -> Any:
        """aioari.connect, but closing the HTTP session when the connection fails."""
        host = urllib.parse.urlparse(self.base_url).netloc.split(":")[0]
        http = AsynchronousHttpClient(auth=ApiKeyAuthenticator(host, f"{self.username}:{self._password}"))
        client = aioari.Client(self.base_url, http)
        try:
            await client.init()
        except BaseException:
            await http.close()
            raise
        return client

    async def _on_event(self, message: dict) -> None:
        """Every ARI event: translated at once into the intake (in the order Asterisk sent
        them, like AMI's), never awaited work."""
        try:
            event = translate_ari(message, self.node)
        except Exception:
            logger.exception("cannot translate ARI event %s", message.get("type"))
            return
        if event is not None:
            self._submit(event)

    async def call(self, resource: str, operation: str, **params: Any) -> Any:
        """Call one ARI REST operation (e.g. ``call("channels", "answer", channelId=...)``)."""
        if not self.is_up or self.client is None:
            raise PbxUnavailable(f"ARI is {self.state}: cannot {resource}.{operation}", link_state=self.state)
        repo = getattr(self.client, resource)
        try:
            return await asyncio.wait_for(getattr(repo, operation)(**params), self.command_timeout)
        except TimeoutError:
            raise PbxTimeout(
                f"ARI {resource}.{operation} took more than {self.command_timeout:g} s",
                operation=f"{resource}.{operation}",
            ) from None
        except web.HTTPException as exc:  # how aioswagger reports an error status
            raise PbxCommandFailed(
                f"ARI {resource}.{operation} failed: {exc.status} {exc.reason}",
                operation=f"{resource}.{operation}",
                status=exc.status,
            ) from None
        except aiohttp.ClientError as exc:
            raise PbxUnavailable(f"ARI {resource}.{operation}: {exc}") from None

    async def channel_ids(self) -> list[str]:
        channels = await self.call("channels", "list")
        return [c.id for c in channels]


def _is_auth_error(exc: BaseException) -> bool:
    # aioswagger raises aiohttp.web's HTTPUnauthorized for a refused ARI login
    if isinstance(exc, (aiohttp.ClientResponseError, web.HTTPException)):
        return exc.status in (401, 403)
    return False


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
