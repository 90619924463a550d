"""The AMI wrapper against a fake AMI server: timeouts, refused logins, drops, no replay."""

import asyncio
import logging

import pytest

from ccserver.adapters.pbx.ami import AmiLink
from ccserver.core import events as ev
from ccserver.core.errors import InvalidInput, PbxCommandFailed, PbxTimeout, PbxUnavailable
from ccserver.core.ports import OriginateRequest
from tests.fakes.ami_server import FakeAmi


async def wait_for(predicate, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@pytest.fixture
async def fake():
    server = FakeAmi()
    await server.start()
    yield server
    await server.stop()


def make_link(fake, submitted, secret="s", timeout=0.3):
    return AmiLink(
        host="127.0.0.1", port=fake.port, username="u", secret=secret, submit=submitted.append, command_timeout=timeout
    )


async def test_login_brings_link_up_and_events_arrive_translated_in_order(fake):
    submitted = []
    link = make_link(fake, submitted)
    await link.start()
    await wait_for(lambda: link.is_up)
    fake.send_event(
        Event="Newchannel",
        Uniqueid="1.1",
        Linkedid="1.1",
        Channel="Local/a@b-0001;1",
        ChannelStateDesc="Down",
        CallerIDNum="0612345678",
    )
    fake.send_event(Event="VarSet", Variable="X", Value="1")
    fake.send_event(Event="Newstate", Uniqueid="1.1", Linkedid="1.1", Channel="Local/a@b-0001;1", ChannelStateDesc="Up")
    fake.send_event(
        Event="Hangup",
        Uniqueid="1.1",
        Linkedid="1.1",
        Channel="Local/a@b-0001;1",
        Cause="16",
        **{"Cause-txt": "Normal Clearing"},
    )
    await wait_for(lambda: any(isinstance(e, ev.ChannelHungup) for e in submitted))
    kinds = [type(e).__name__ for e in submitted if not isinstance(e, (ev.PbxLinkUp, ev.PbxFullyBooted))]
    assert kinds == ["ChannelCreated", "ChannelAnswered", "ChannelHungup"]
    hangup = submitted[-1]
    assert (hangup.cause, hangup.cause_text, hangup.uniqueid) == (16, "Normal Clearing", "1.1")
    await link.stop()


async def test_wrong_credentials_give_auth_failed_state_logged_once(fake, caplog):
    submitted = []
    link = make_link(fake, submitted, secret="wrong")
    caplog.set_level(logging.WARNING)
    await link.start()
    await wait_for(lambda: fake.count("login") >= 3, timeout=8)
    assert link.state == "auth-failed"
    assert "login refused" in link.last_error
    refusals = [r for r in caplog.records if "refused login" in r.getMessage()]
    assert len(refusals) == 1
    assert not any(r.exc_info for r in caplog.records)
    with pytest.raises(PbxUnavailable):
        await link.hangup("PJSIP/x")
    await link.stop()


async def test_unanswered_action_times_out_and_is_not_retried(fake):
    link = make_link(fake, [])
    fake.responders["hangup"] = lambda f: None
    await link.start()
    await wait_for(lambda: link.is_up)
    with pytest.raises(PbxTimeout):
        await link.hangup("PJSIP/x-1")
    await asyncio.sleep(0.3)
    assert fake.count("hangup") == 1
    await link.stop()


async def test_action_pending_when_link_drops_fails_and_is_never_replayed(fake):
    link = make_link(fake, [], timeout=5)
    fake.responders["originate"] = lambda f: None  # Asterisk "dies" before answering
    await link.start()
    await wait_for(lambda: link.is_up)
    pending = asyncio.ensure_future(link.originate(OriginateRequest(channel="Local/1@x")))
    await wait_for(lambda: fake.count("originate") == 1)
    fake.drop_clients()
    with pytest.raises(PbxUnavailable):
        await asyncio.wait_for(pending, 3)
    fake.responders.pop("originate")
    await wait_for(lambda: fake.count("login") >= 2)
    await wait_for(lambda: link.is_up)
    await asyncio.sleep(0.5)
    assert fake.count("originate") == 1
    await link.stop()


async def test_command_while_down_fails_fast(fake):
    link = make_link(fake, [])
    await fake.stop()
    await link.start()
    started = asyncio.get_running_loop().time()
    with pytest.raises(PbxUnavailable):
        await link.queue_pause(None, "PJSIP/agent1", True, "break")
    assert asyncio.get_running_loop().time() - started < 0.1
    await link.stop()


async def test_control_characters_in_fields_are_refused_before_sending(fake):
    link = make_link(fake, [])
    await link.start()
    await wait_for(lambda: link.is_up)
    with pytest.raises(InvalidInput) as err:
        await link.queue_pause("q1", "PJSIP/agent1", True, "break\r\nAction: Originate")
    assert err.value.details["field"] == "Reason"
    assert fake.count("queuepause") == 0
    await link.stop()


async def test_error_reply_raises_command_failed(fake):
    link = make_link(fake, [])
    fake.responders["queueremove"] = lambda f: "Response: Error\r\nActionID: {aid}\r\nMessage: Not there\r\n\r\n"
    await link.start()
    await wait_for(lambda: link.is_up)
    with pytest.raises(PbxCommandFailed) as err:
        await link.queue_remove("q1", "PJSIP/agent9")
    assert "Not there" in err.value.message
    await link.stop()


async def test_queue_add_reply_does_not_hang(fake):
    """panoramisk takes 'Added interface to queue' for a list start unless as_list=False."""
    link = make_link(fake, [])
    fake.responders["queueadd"] = lambda f: (
        "Response: Success\r\nActionID: {aid}\r\nMessage: Added interface to queue\r\n\r\n"
    )
    await link.start()
    await wait_for(lambda: link.is_up)
    await asyncio.wait_for(link.queue_add("q1", "PJSIP/agent1", "Agent 1"), 1)
    await link.stop()
