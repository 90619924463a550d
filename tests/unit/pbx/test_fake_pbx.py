"""The shared FakePbx (tests/fakes) implements the whole PBX port, with the port's signatures,
and fails like the real link: on an outage, and when a failure is injected."""

from __future__ import annotations

import inspect

import pytest

from ccserver.core.errors import PbxCommandFailed, PbxUnavailable
from ccserver.core.ports import OriginateRequest, PbxCommands
from tests.fakes import Command, FakePbx

PORT_METHODS = sorted(name for name, value in vars(PbxCommands).items() if inspect.iscoroutinefunction(value))


def test_every_command_of_the_port_is_implemented_with_its_signature():
    assert "originate" in PORT_METHODS and "set_variable" in PORT_METHODS
    for name in PORT_METHODS:
        mine = getattr(FakePbx, name)
        assert mine is not getattr(PbxCommands, name), name
        assert inspect.signature(mine) == inspect.signature(getattr(PbxCommands, name)), name
    assert FakePbx().is_up is True


async def test_commands_are_recorded_in_order_with_their_arguments():
    pbx = FakePbx()
    request = OriginateRequest(channel="PJSIP/alice", application="Playback", data="beep", action_id="a1")
    assert await pbx.originate(request) == "a1"
    await pbx.queue_add("support", "PJSIP/alice", "alice", penalty=2)
    await pbx.queue_pause(None, "PJSIP/alice", True, "lunch")
    await pbx.mix_monitor("PJSIP/x-1", "f.wav")
    assert [c.name for c in pbx.commands] == ["originate", "queue_add", "queue_pause", "mix_monitor"]
    assert pbx.originated == [request]
    assert pbx.commands[-1] == Command("mix_monitor", {"channel": "PJSIP/x-1", "filename": "f.wav", "options": "b"})
    assert pbx.members[("support", "PJSIP/alice")]["paused"] is True
    await pbx.queue_remove("support", "PJSIP/alice")
    assert pbx.members == {}


async def test_an_outage_and_injected_failures_raise_like_the_real_link():
    pbx = FakePbx()
    pbx.is_up = False
    with pytest.raises(PbxUnavailable):
        await pbx.hangup("PJSIP/x-1")
    pbx.is_up = True
    pbx.fail_next("hangup", PbxCommandFailed("No such channel"))
    with pytest.raises(PbxCommandFailed):
        await pbx.hangup("PJSIP/x-1")
    await pbx.hangup("PJSIP/x-1")  # only the next one failed
    pbx.fail_next("reload", PbxCommandFailed("busy"), times=None)
    for _ in range(3):
        with pytest.raises(PbxCommandFailed):
            await pbx.reload("res_pjsip.so")
    pbx.recover("reload")
    await pbx.reload("res_pjsip.so")
    assert len(pbx.called("hangup")) == 3 and len(pbx.called("reload")) == 4
    with pytest.raises(AttributeError):
        pbx.fail_next("no_such_command", RuntimeError())


async def test_hooks_play_asterisk_side_effects():
    pbx = FakePbx()
    written = []

    async def mixmonitor_writes(channel, filename, options):
        written.append(filename)

    pbx.on("mix_monitor", mixmonitor_writes)
    await pbx.mix_monitor("PJSIP/x-1", "a.wav")
    pbx.fail_next("mix_monitor", PbxCommandFailed("no"))
    with pytest.raises(PbxCommandFailed):
        await pbx.mix_monitor("PJSIP/x-1", "b.wav")
    assert written == ["a.wav"]
