"""PhoneService with an in-memory repository: one-time provisioning links that expire, changes
applied to the PBX one at a time, the server address handed to phones."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from ccserver.capabilities.phones.errors import NoSuchProvisioning
from ccserver.capabilities.phones.model import PhoneLine, PhoneServer
from ccserver.capabilities.phones.service import PhoneService
from ccserver.core.clock import ManualClock


class Repo:
    def __init__(self) -> None:
        self.phones: dict[str, str] = {}
        self.passwords: dict[str, str] = {}

    def line(self, username: str) -> PhoneLine:
        return PhoneLine(username, username.title(), "supervisor", self.phones.get(username, ""))

    def lines(self) -> list[PhoneLine]:
        return [self.line(u) for u in sorted(self.phones)]

    def create_phone(self, username: str, sip_username: str, password: str) -> PhoneLine:
        self.phones[username], self.passwords[username] = sip_username, password
        return self.line(username)

    def set_phone_password(self, username: str, password: str) -> PhoneLine:
        self.passwords[username] = password
        return self.line(username)


class Audit:
    def __init__(self) -> None:
        self.entries: list[tuple] = []

    def record(self, actor, action, target="", **details):
        self.entries.append((actor, action, target))


def service(clock, applied, server=PhoneServer("", 5062)) -> PhoneService:
    async def apply() -> None:
        applied.append("start")
        await asyncio.sleep(0.01)
        applied.append("end")

    return PhoneService(Repo(), Audit(), clock, apply=apply, server=server)


async def test_a_provisioning_link_works_once_and_not_after_it_expired():
    clock = ManualClock(datetime(2026, 12, 5, 9, 0, tzinfo=UTC))
    phones = service(clock, [])
    issued = await phones.create("nadia", "root", host="pbx.example")
    assert (issued.settings.server.host, issued.settings.server.port) == ("pbx.example", 5062)
    document = phones.take_provisioning(issued.provisioning_token)
    assert issued.settings.password in document
    with pytest.raises(NoSuchProvisioning):
        phones.take_provisioning(issued.provisioning_token)

    later = await phones.regenerate("nadia", "root", host="<bad host>")
    assert later.settings.server.host == "127.0.0.1"  # only a host name or an address goes out
    clock.advance(seconds=901)
    with pytest.raises(NoSuchProvisioning):
        phones.take_provisioning(later.provisioning_token)


async def test_changes_are_applied_one_at_a_time():
    applied: list[str] = []
    phones = service(ManualClock(datetime(2026, 12, 5, 9, 0, tzinfo=UTC)), applied)
    await asyncio.gather(phones.create("nadia", "root"), phones.create("bruno", "root"))
    assert applied == ["start", "end", "start", "end"]
    assert sorted(e[1:] for e in phones.audit.entries) == [("phone.create", "bruno"), ("phone.create", "nadia")]
