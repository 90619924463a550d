"""What the dialer needs from the AMI link, against the fake AMI server: Originate with the
channel's uniqueid chosen up front, OriginateResponse and the dialer's UserEvents translated,
and a module reload Asterisk refused (another one running) asked again."""

import asyncio

from ccserver.adapters.pbx.ami import AmiLink
from ccserver.core import events as ev
from ccserver.core.ports import OriginateRequest
from tests.fakes.ami_server import FakeAmi


async def up(submitted, timeout=0.5):
    fake = FakeAmi()
    await fake.start()
    link = AmiLink(
        host="127.0.0.1", port=fake.port, username="u", secret="s", submit=submitted.append, command_timeout=timeout
    )
    await link.start()
    for _ in range(200):
        if link.is_up:
            break
        await asyncio.sleep(0.01)
    return fake, link


async def test_originate_sets_the_channel_id_and_its_outcome_comes_back_translated():
    submitted = []
    fake, link = await up(submitted)
    try:
        await link.originate(
            OriginateRequest(
                channel="PJSIP/customers/sip:0612345678@x",
                context="ccserver-dialer",
                exten="s",
                action_id="ccs-dial-7-ab",
                channel_id="ccsdial-7-cd",
                variables={"CCS_ATTEMPT": "7"},
            )
        )
        sent = [a for a in fake.received if a.get("action") == "Originate"][0]
        assert sent["channelid"] == "ccsdial-7-cd" and sent["async"] == "true"
        fake.send_event(
            Event="OriginateResponse",
            ActionID="ccs-dial-7-ab",
            Response="Failure",
            Channel="PJSIP/customers/sip:0612345678@x",
            Reason="5",
            Uniqueid="ccsdial-7-cd",
        )
        fake.send_event(
            Event="UserEvent",
            UserEvent="CcsDialer",
            Uniqueid="ccsdial-7-cd",
            Linkedid="ccsdial-7-cd",
            attempt="7",
            stage="amd",
            result="MACHINE",
            cause="LONGGREETING-2000-1500",
        )
        fake.send_event(
            Event="UserEvent",
            UserEvent="CcsCallData",
            Uniqueid="u1",
            Linkedid="u1",
            ccs_campaign="3",
            ccs_contact_id="9",
            ccs_direction="outbound",
        )
        for _ in range(200):
            if len([e for e in submitted if not isinstance(e, (ev.PbxLinkUp, ev.PbxFullyBooted))]) >= 3:
                break
            await asyncio.sleep(0.01)
        response, amd, data = [
            e for e in submitted if isinstance(e, (ev.OriginateResponded, ev.DialerReported, ev.CallDataSet))
        ]
        assert response == ev.OriginateResponded(
            action_id="ccs-dial-7-ab",
            success=False,
            reason=5,
            uniqueid="ccsdial-7-cd",
            channel="PJSIP/customers/sip:0612345678@x",
            node="asterisk",
        )
        assert (amd.attempt, amd.stage, amd.result, amd.cause) == ("7", "amd", "MACHINE", "LONGGREETING-2000-1500")
        assert dict(data.data) == {"campaign": "3", "contact_id": "9", "direction": "outbound"}
    finally:
        await link.stop()
        await fake.stop()


async def test_a_reload_refused_because_another_runs_is_asked_again():
    submitted = []
    fake, link = await up(submitted, timeout=2.0)
    answers = iter(
        ["Error\r\nActionID: {aid}\r\nMessage: A reload is in progress"] * 2
        + ["Success\r\nActionID: {aid}\r\nMessage: Module Reloaded"]
    )
    fake.responders["reload"] = lambda f: f"Response: {next(answers)}\r\n\r\n"
    try:
        await link.reload("app_queue.so")
        assert fake.count("reload") == 3 and fake.count("command") == 0
    finally:
        await link.stop()
        await fake.stop()
