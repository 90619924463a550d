"""The platform against the real private Asterisk: events in order, outages, clear failures."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid

import pytest

from ccserver.adapters.asterisk.instance import AsteriskInstance
from ccserver.adapters.pbx.connection import PbxEndpoint
from ccserver.cli import main as cli_main
from ccserver.core import events as ev
from ccserver.core.errors import PbxUnavailable
from ccserver.core.ports import OriginateRequest
from ccserver.settings import Settings
from tests.support.server import Server, endpoint_of, until

pytestmark = pytest.mark.asterisk


async def test_local_call_produces_created_answered_hungup_in_order(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info)) as srv:
        await until(srv.ok, 10)
        await srv.runtime.pbx.ami.originate(
            OriginateRequest(channel="Local/answer-hangup@ccserver-test", application="Wait", data="1")
        )

        def first_leg_hung_up():
            return [
                e
                for e in srv.events
                if isinstance(e, ev.ChannelHungup)
                and e.channel.startswith("Local/answer-hangup@ccserver-test")
                and e.channel.endswith(";1")
            ]

        hangups = await until(first_leg_hung_up, 10)
        leg = hangups[0].uniqueid
        sequence = [
            type(e).__name__
            for e in srv.events
            if getattr(e, "uniqueid", None) == leg
            and isinstance(e, (ev.ChannelCreated, ev.ChannelAnswered, ev.ChannelHungup))
        ]
        assert sequence == ["ChannelCreated", "ChannelAnswered", "ChannelHungup"]
        assert leg not in srv.runtime.channels.channels


async def test_sigkill_and_restart_recovers_within_10s_without_replaying_commands(tmp_path):
    settings = Settings().replace(
        {"storage.data_dir": tmp_path / "ast", "asterisk.instance": f"kill-{os.getpid()}-{uuid.uuid4().hex[:6]}"}
    )
    instance = AsteriskInstance(settings)
    info = instance.up()
    try:
        async with Server(tmp_path, endpoint_of(info)) as srv:
            await until(srv.ok, 10)
            # a long call that the kill will cut: the resync must report it ended
            await srv.runtime.pbx.ami.originate(
                OriginateRequest(channel="Local/echo@ccserver-test", application="Wait", data="60")
            )
            await until(lambda: len(srv.runtime.channels.channels) >= 2, 5)
            live_before = set(srv.runtime.channels.channels)

            instance.kill()
            await until(lambda: not srv.runtime.pbx.ami.is_up, 5)
            code, body = await srv.status()
            assert code == 503 and body["ami"]["state"] in ("down", "connecting")
            # a command during the outage fails at once and is not kept for later
            with pytest.raises(PbxUnavailable):
                await srv.runtime.pbx.ami.originate(
                    OriginateRequest(channel="Local/echo@ccserver-test", application="Wait", data="30")
                )

            restarted = time.monotonic()
            await asyncio.to_thread(instance.up)
            await until(srv.ok, 10)
            recovery = time.monotonic() - restarted
            assert recovery < 10

            vanished = [e for e in srv.events if isinstance(e, ev.ChannelHungup) and e.uniqueid in live_before]
            assert {e.uniqueid for e in vanished} == live_before
            assert all(e.cause_text == "vanished during outage" for e in vanished)
            # nothing was replayed: the restarted Asterisk has no channel at all
            await asyncio.sleep(1.5)
            output = await asyncio.to_thread(instance.cli, "core show channels count")
            assert "0 active channels" in output, output
            assert srv.runtime.channels.channels == {}
    finally:
        instance.down()
        instance.destroy()


async def test_wrong_ami_credentials_show_in_status_while_web_answers(asterisk, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    async with Server(
        tmp_path, endpoint_of(asterisk.info, ami_secret="not-the-secret", ari_password="not-this-either")
    ) as srv:

        async def refused():
            _, body = await srv.status()
            return body["ami"]["state"] == "auth-failed" and body["ari"]["state"] == "auth-failed"

        await until(refused, 10)
        await asyncio.sleep(3)  # several retries happen meanwhile
        code, body = await srv.status()
        assert code == 503 and body["status"] == "degraded"
        assert "login refused" in body["ami"]["error"]
        login = await srv.client.get("/login")
        assert login.status == 200
    ami_lines = [r for r in caplog.records if "refused login" in r.getMessage()]
    ari_lines = [r for r in caplog.records if "refused user" in r.getMessage()]
    assert len(ami_lines) == 1 and len(ari_lines) == 1
    assert not [r for r in caplog.records if r.exc_info and r.name.startswith("ccserver")]


async def test_asterisk_not_running_shows_down_while_web_answers(tmp_path, caplog):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    endpoint = PbxEndpoint(
        ami_host="127.0.0.1",
        ami_port=closed_port,
        ami_username="x",
        ami_secret="y",
        ari_url=f"http://127.0.0.1:{closed_port}/",
        ari_username="x",
        ari_password="y",
    )
    caplog.set_level(logging.INFO)
    async with Server(tmp_path, endpoint) as srv:
        await asyncio.sleep(3)
        code, body = await srv.status()
        assert code == 503
        assert body["ami"]["state"] == "down" and "unreachable" in body["ami"]["error"]
        assert body["ari"]["state"] == "down"
        assert body["database"]["state"] == "up"
        assert (await srv.client.get("/login")).status == 200
    unreachable = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(unreachable) == 2  # once for AMI, once for ARI, however many retries
    assert not [r for r in caplog.records if r.exc_info]


def test_unreadable_config_file_gives_a_clear_error(tmp_path, capsys):
    config = tmp_path / "ccserver.toml"
    config.write_text("[web]\nport = 'eighty'\n")
    code = cli_main(["--config", str(config), "db", "upgrade"])
    err = capsys.readouterr().err
    assert code == 2
    assert "web.port: must be an integer" in err and "Traceback" not in err
    broken = tmp_path / "broken.toml"
    broken.write_text("http_port = = 1\n")
    code = cli_main(["--config", str(broken), "db", "upgrade"])
    err = capsys.readouterr().err
    assert code == 2 and "broken.toml" in err and "line 1" in err
    missing = tmp_path / "missing.toml"
    code = cli_main(["--config", str(missing), "db", "upgrade"])
    assert code == 2 and "does not exist" in capsys.readouterr().err
