"""The phone chosen at login (softphone or browser phone): the queue member interface follows,
is stored for restarts, and the browser phone's endpoints are applied to Asterisk; on SQLite
and PostgreSQL."""

from __future__ import annotations

import pytest

from ccserver.capabilities.acd.service import AcdService
from ccserver.capabilities.agents.model import AgentBoard
from ccserver.capabilities.calls.model import CallTracker
from ccserver.capabilities.webrtc.service import WebrtcService, WssServer
from ccserver.core import events as ev
from ccserver.core.errors import Conflict, PbxTimeout
from tests.adapters.test_acd_service import FakeWriter, acd, added  # noqa: F401 (fixture)


async def test_browser_phone_login_makes_the_webrtc_endpoint_the_member_and_survives_a_restart(acd):
    await acd.create_agent("alice", "password-123", "Alice", "fr:9, tech:8", actor="admin")
    await acd.load()
    assert await acd.login("alice", phone="browser") == ["support"]
    assert ("support", "PJSIP/alice~webrtc", 3, False, "") in added(acd.pbx)
    [stored] = acd.repo.stored_logins()
    assert (stored.phone, stored.interface) == ("browser", "PJSIP/alice~webrtc")
    # Asterisk's events on that interface are alice's; pause goes to that interface
    acd.board.apply(ev.QueueMemberChanged(change="added", queue="support", interface="PJSIP/alice~webrtc"))
    assert acd.board.agents["alice"].queues == frozenset({"support"})
    await acd.pause("alice", "break")
    assert acd.pbx.called("queue_pause")[-1]["interface"] == "PJSIP/alice~webrtc"
    assert acd.repo.stored_logins()[0].phone == "browser"  # a pause keeps the phone
    # re-rendering the configuration keeps the chosen interface
    await acd.apply_configuration()
    assert acd.board.agents["alice"].interface == "PJSIP/alice~webrtc"
    # a server restart: the stored login puts the browser phone back as the member
    again = AcdService(
        acd.repo, AgentBoard(acd.clock), CallTracker(acd.clock), acd.pbx, FakeWriter(), acd.audit, acd.clock
    )
    await again.load()
    assert again.board.agents["alice"].interface == "PJSIP/alice~webrtc"
    assert again.phone_of("alice") == "browser"


async def test_changing_phones_needs_a_logout_first(acd):
    await acd.create_agent("alice", "password-123", "Alice", "fr:9, tech:8", actor="admin")
    await acd.load()
    await acd.login("alice", phone="browser")
    acd.board.apply(ev.QueueMemberChanged(change="added", queue="support", interface="PJSIP/alice~webrtc"))
    with pytest.raises(Conflict) as caught:
        await acd.login("alice", phone="softphone")
    assert caught.value.details["field"] == "phone"
    await acd.logout("alice")
    assert acd.pbx.called("queue_remove")[-1]["interface"] == "PJSIP/alice~webrtc"
    acd.board.apply(ev.QueueMemberChanged(change="removed", queue="support", interface="PJSIP/alice~webrtc"))
    await acd.login("alice")  # no choice: the softphone
    assert added(acd.pbx)[-1][1] == "PJSIP/alice"
    assert acd.repo.stored_logins()[0].phone == "softphone"


class Reloads:
    def __init__(self, fail: Exception | None = None):
        self.is_up, self.modules, self.fail = True, [], fail

    async def reload(self, module: str) -> None:
        self.modules.append(module)
        if self.fail:
            raise self.fail


async def test_credentials_are_applied_once_per_session_and_survive_a_slow_asterisk(acd):
    await acd.create_agent("alice", "password-123", "Alice", "fr:9", actor="admin")
    writer, pbx = FakeWriter(), Reloads()
    webrtc = WebrtcService(acd.repo, writer, pbx, WssServer("", 8089))
    await webrtc.start()
    assert writer.files["pjsip_webrtc.conf"].count("[") == 0  # a previous process's endpoints go
    first = await webrtc.credentials("alice", 7, host="cc.example")
    assert first.ws_url == "wss://cc.example:8089/ws" and first.sip_user == "alice~webrtc"
    assert "[alice~webrtc](ccserver-webrtc-endpoint)" in writer.files["pjsip_webrtc.conf"]
    assert first.password not in writer.files["pjsip_webrtc.conf"]
    assert pbx.modules == ["res_pjsip.so", "res_pjsip.so"]
    assert (await webrtc.credentials("alice", 7)).password == first.password
    assert len(pbx.modules) == 2  # the same session: nothing to apply
    pbx.fail = PbxTimeout("reload timed out")
    second = await webrtc.credentials("alice", 8)  # written; Asterisk reloads after it is back
    assert second.password != first.password and len(pbx.modules) == 3
    await webrtc.forget("alice")
    assert "alice~webrtc" not in writer.files["pjsip_webrtc.conf"]
