"""Phones on the real Asterisk: a phone made by an admin through the API registers with the
credentials shown, lets its supervisor listen to a call, and a new password voids the old one,
all without restarting Asterisk."""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import pytest

from ccserver.adapters.db import Database, UserRepository
from ccserver.capabilities.agents.model import AgentState
from ccserver.commands.phones import cmd_issue
from tests.integration.test_inbound import QUEUE_NUMBER, log_in, setup_call_center, start_phones
from tests.integration.test_supervision import SPEECH, silence
from tests.support.rtp_capture import RtpCapture
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import Answer, SippCaller, SippError, SippPhone

pytestmark = pytest.mark.asterisk


async def registers(asterisk, username: str, password: str) -> bool:
    """Whether a sipp phone registers with these credentials (False: refused with a 401)."""
    try:
        async with SippPhone(asterisk, username, password) as phone:
            return phone.registered_at is not None
    except SippError as refused:
        assert refused.details["status"] == "401", refused
        return False


async def test_a_phone_made_by_the_admin_registers_listens_and_its_new_password_voids_the_old(asterisk, tmp_path):
    info = asterisk.info
    async with Server(tmp_path, endpoint_of(info), config_writer=asterisk, asterisk={"sip_port": info.sip_port}) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        for username, role in (("root", "admin"), ("nadia", "supervisor")):
            await asyncio.to_thread(rt.users.create_user, username, "password-1234", role=role)
        await asyncio.to_thread(rt.acd_repo.give_scope, "nadia", "queue", "support")
        supervisor = await srv.login("nadia", "password-1234")
        admin = await srv.login("root", "password-1234")
        quiet = silence(tmp_path / "silence.wav")
        phones = await start_phones(asterisk, {"alice": accounts["alice"]}, alice=Answer(audio=quiet))
        nadia_phone = None
        try:
            await log_in(rt, "alice")
            caller = SippCaller(asterisk, QUEUE_NUMBER, caller="0644556677", audio=True, talk_seconds=None)
            await caller.start()
            await until(lambda: rt.agent_board.agents["alice"].state is AgentState.ON_CALL, 15)

            # without a phone, listening is refused
            spy = {"agent": "alice", "mode": "listen"}
            resp = await supervisor.post("/api/supervision/spy", json=spy, headers={"X-CSRF-Token": supervisor.csrf})
            refused = await resp.json()  # in French (the default), with its field
            assert resp.status == 409 and "pas de téléphone SIP" in refused["message"], refused
            assert refused["details"]["field"] == "supervisor"

            # the admin makes her one: the settings shown are the ones that work
            resp = await admin.post("/api/phones", json={"username": "nadia"}, headers={"X-CSRF-Token": admin.csrf})
            assert resp.status == 201, await resp.text()
            shown = (await resp.json())["settings"]
            assert (shown["server"], shown["port"], shown["transport"]) == ("127.0.0.1", info.sip_port, "udp")
            nadia_phone = SippPhone(asterisk, shown["username"], shown["password"], behaviour=Answer(audio=quiet))
            await nadia_phone.start()
            await nadia_phone.wait_registered()  # Asterisk was reloaded, not restarted
            listing = await (await admin.get("/api/phones")).json()
            registered = {p["username"]: p["registered"] for p in listing}
            assert registered == {"alice": True, "bruno": False, "nadia": True, "root": None}, registered

            heard = RtpCapture(nadia_phone._run.media_port).start()
            resp = await supervisor.post("/api/supervision/spy", json=spy, headers={"X-CSRF-Token": supervisor.csrf})
            assert resp.status == 201, await resp.text()
            await nadia_phone.wait_calls("answered", 1, timeout=10)  # the spy call reached her phone
            await until(lambda: rt.supervision.sessions.get("nadia") and rt.supervision.sessions["nadia"].started, 10)
            started = time.monotonic()
            await asyncio.sleep(4)
            heard.stop()
            assert heard.rms(started + 1.0, started + 3.5) > SPEECH  # she hears the caller speak
            resp = await supervisor.delete("/api/supervision/spy", headers={"X-CSRF-Token": supervisor.csrf})
            assert resp.status == 200, await resp.text()
            await nadia_phone.wait_for(lambda: nadia_phone.calls_ended == 1, 10, "spy leg ended")
            agent_channel = next(
                c.channel for c in rt.channels.channels.values() if c.channel.startswith("PJSIP/alice-")
            )
            await rt.pbx.ami.hangup(agent_channel)
            await caller.wait(timeout=10)
            await nadia_phone.stop()
            nadia_phone = None

            # a new password: the old one is refused at once, the new one registers
            resp = await admin.post("/api/phones/nadia/password", headers={"X-CSRF-Token": admin.csrf})
            assert resp.status == 200, await resp.text()
            renewed = (await resp.json())["settings"]
            assert renewed["password"] != shown["password"]
            assert not await registers(asterisk, "nadia", shown["password"])
            assert await registers(asterisk, "nadia", renewed["password"])
        finally:
            for phone in [*phones.values(), *([nadia_phone] if nadia_phone else [])]:
                await phone.stop()
            await supervisor.close()
            await admin.close()


async def test_the_phone_command_applies_to_the_running_private_asterisk(asterisk_factory, tmp_path, capsys):
    instance = asterisk_factory()  # its own: the command rewrites the SIP accounts from its database
    await asyncio.to_thread(instance.up)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    settings = instance.settings.replace({"storage.database_url": url})
    db = Database(url)
    await asyncio.to_thread(db.upgrade)
    await asyncio.to_thread(UserRepository(db).create_user, "carla", "password-1234", role="supervisor")
    db.dispose()
    passwords = []
    for action in ("add", "reset"):
        args = argparse.Namespace(phone_action=action, username="carla", json=True)
        assert await asyncio.to_thread(cmd_issue, args, settings) == 0
        issued = json.loads(capsys.readouterr().out)
        assert issued["applied_to"] == instance.name
        assert issued["settings"]["port"] == instance.info.sip_port
        passwords.append(issued["settings"]["password"])
        assert await registers(instance, "carla", passwords[-1])
    assert not await registers(instance, "carla", passwords[0])  # the reset voided it
