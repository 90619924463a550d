"""A small fake AMI server: to provoke what a real Asterisk rarely does on demand
(refused logins, actions never answered, a dropped connection mid-action)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class FakeAmi:
    def __init__(self, *, username: str = "u", secret: str = "s") -> None:
        self.username, self.secret = username, secret
        self.received: list[dict[str, str]] = []
        self.writers: list[asyncio.StreamWriter] = []
        # action name (lower) -> callable(fields) returning reply text, or None for "never answer"
        self.responders: dict[str, Callable[[dict], str | None]] = {}
        self.server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.drop_clients()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    def drop_clients(self) -> None:
        for writer in self.writers:
            writer.close()
        self.writers.clear()

    def send_event(self, **fields: str) -> None:
        text = "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
        for writer in self.writers:
            writer.write(text.encode())

    def count(self, action: str) -> int:
        return sum(1 for a in self.received if a.get("action", "").lower() == action.lower())

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        try:
            while True:
                block = await reader.readuntil(b"\r\n\r\n")
                fields = {}
                for line in block.decode().split("\r\n"):
                    if ": " in line:
                        k, v = line.split(": ", 1)
                        fields[k.lower()] = v
                self.received.append(fields)
                reply = self._reply(fields)
                if reply is not None:
                    writer.write(reply.encode())
                    if fields.get("action", "").lower() == "login" and "Success" in reply:
                        writer.write(b"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if writer in self.writers:
                self.writers.remove(writer)

    def _reply(self, fields: dict[str, str]) -> str | None:
        action = fields.get("action", "").lower()
        aid = fields.get("actionid", "")
        if action == "login":
            ok = fields.get("username") == self.username and fields.get("secret") == self.secret
            return (
                f"Response: {'Success' if ok else 'Error'}\r\nActionID: {aid}\r\n"
                f"Message: {'Authentication accepted' if ok else 'Authentication failed'}\r\n\r\n"
            )
        responder = self.responders.get(action)
        if responder is not None:
            body = responder(fields)
            if body is None:
                return None
            return body.replace("{aid}", aid)
        if action in ("coreshowchannels", "queuestatus"):
            return (
                f"Response: Success\r\nActionID: {aid}\r\nEventList: start\r\nMessage: follows\r\n\r\n"
                f"Event: {'CoreShowChannelsComplete' if action == 'coreshowchannels' else 'QueueStatusComplete'}"
                f"\r\nActionID: {aid}\r\nEventList: Complete\r\nListItems: 0\r\n\r\n"
            )
        return f"Response: Success\r\nActionID: {aid}\r\nMessage: ok\r\n\r\n"
