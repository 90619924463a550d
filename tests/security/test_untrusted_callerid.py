"""Untrusted telephony input: caller-ID names and numbers and DTMF are stored, shown and logged
harmlessly (security issue item 7).

The AMI traces below were recorded from our real Asterisk 22 with sipp callers whose From user
was ``06%0D%0AUniqueid%3A%20forged...`` (PJSIP URI-decodes it; AMI writes CallerIDNum
unescaped, so the caller adds headers of their own) and whose display name was a quoted string
with ``<script>``. The end-to-end tests further down run the same callers against Asterisk.
"""
from __future__ import annotations

from panoramisk.message import Message

from ccserver.core import events as ev
from ccserver.telephony.translate import tampered, translate_ami, translate_ari
from tests.web.conftest import login, web_app  # noqa: F401 (fixture)

SNAPSHOT = ("Channel: PJSIP/customers-00000000\r\nChannelState: 4\r\nChannelStateDesc: Ring\r\n"
            "CallerIDNum: {num}\r\nCallerIDName: {name}\r\nConnectedLineNum: <unknown>\r\n"
            "ConnectedLineName: <unknown>\r\nLanguage: en\r\nAccountCode: \r\n"
            "Context: ccserver-inbound\r\nExten: 555\r\nPriority: 1\r\n"
            "Uniqueid: 1796403124.0\r\nLinkedid: 1796403124.0")


def message(text: str) -> Message:
    return Message.from_line(text)


def newchannel(num: str = "0612345678", name: str = "Bob") -> Message:
    return message("Event: Newchannel\r\nPrivilege: call,all\r\nTimestamp: 1796403124.856620\r\n"
                   + SNAPSHOT.format(num=num, name=name))


def test_a_genuine_event_is_translated_with_its_caller_id():
    event = translate_ami(newchannel(name='Q\\\\\\"uote <script>alert(1)</script>'))
    assert isinstance(event, ev.ChannelCreated)
    assert event.uniqueid == "1796403124.0" and event.caller_number == "0612345678"
    # AMI C-escapes names; PJSIP keeps the SIP quoted-pair: text, escaped again on output
    assert event.caller_name == 'Q\\"uote <script>alert(1)</script>'


def test_a_number_carrying_headers_is_refused_not_believed(caplog):
    forged = newchannel(num="06\r\nUniqueid: forged\r\nFoo: x")
    assert tampered(forged) is not None
    assert translate_ami(forged) is None
    assert "refused" in caplog.text
    assert all("\r" not in r.getMessage() and "\n" not in r.getMessage() for r in caplog.records)


def test_headers_slipped_in_with_another_case_are_refused_too():
    forged = newchannel(num="06\r\nQUEUE: vip\r\nCALLERIDNAME: x")
    assert translate_ami(forged) is None


def test_a_forged_user_event_field_before_the_user_event_header_is_ignored():
    # ccs_* fields the caller put into the snapshot part of a genuine CcsCallData event
    text = ("Event: UserEvent\r\nPrivilege: user,all\r\n" + SNAPSHOT.format(num="06", name="Bob")
            .replace("Linkedid: 1796403124.0", "Linkedid: 1796403124.0\r\nccs_customer_id: 42")
            + "\r\nUserEvent: CcsCallData\r\nccs_menu: 1")
    event = translate_ami(message(text))
    assert isinstance(event, ev.CallDataSet)
    assert dict(event.data) == {"menu": "1"}  # the body is read after the UserEvent header only


def test_caller_data_is_normalized_at_the_edge():
    long_name = "N" * 10 * 1024
    event = translate_ami(newchannel(num="0" * 100, name=long_name + "\\r\\n"))
    assert event.caller_name == "N" * 80 and event.caller_number == "0" * 40
    called = translate_ami(message(
        "Event: AgentCalled\r\nPrivilege: agent,all\r\n" + SNAPSHOT.format(num="06", name="\u202eevil")
        + "\r\nDestChannel: PJSIP/alice-1\r\nDestChannelState: 5\r\nDestChannelStateDesc: Ringing\r\n"
        "DestCallerIDNum: alice\r\nDestCallerIDName: Alice\r\nDestConnectedLineNum: 06\r\n"
        "DestConnectedLineName: evil\r\nDestLanguage: en\r\nDestAccountCode: \r\n"
        "DestContext: ccserver-agents\r\nDestExten: \r\nDestPriority: 1\r\nDestUniqueid: 2.1\r\n"
        "DestLinkedid: 1796403124.0\r\nQueue: support\r\nInterface: PJSIP/alice\r\n"
        "MemberName: alice"))
    assert isinstance(called, ev.AgentCalled)
    assert (called.caller_number, called.caller_name, called.queue) == ("06", "evil", "support")


def test_dtmf_and_stasis_caller_from_ari_are_normalized():
    dtmf = translate_ari({"type": "ChannelDtmfReceived", "digit": "1\r\nX",
                          "channel": {"id": "c1", "name": "PJSIP/x"}})
    assert dtmf.digit == ""
    assert translate_ari({"type": "ChannelDtmfReceived", "digit": "#",
                          "channel": {"id": "c1", "name": "PJSIP/x"}}).digit == "#"
    start = translate_ari({"type": "StasisStart", "application": "ccs", "args": ["ivr\r\n"],
                           "channel": {"id": "c1", "name": "PJSIP/x",
                                       "caller": {"number": "06\r\nX", "name": "A" * 500},
                                       "dialplan": {"exten": "3000"}}})
    assert start.caller_number == "06 X" and start.caller_name == "A" * 80 and start.args == ("ivr",)


def test_callback_number_from_a_user_event_is_one_line():
    event = translate_ami(message(
        "Event: UserEvent\r\nPrivilege: user,all\r\n" + SNAPSHOT.format(num="06", name="Bob")
        + "\r\nUserEvent: CcsCallback\r\nQueue: support\r\nNumber: 0612\x01345678\r\n"
        "EnteredAt: 1796403124"))
    assert isinstance(event, ev.CallbackRequested)
    assert (event.number, event.entered_at, event.queue) == ("0612345678", "1796403124", "support")


# --- /status: healthy or not for anybody, the details for supervisors and admins -----------------

async def test_anonymous_status_says_only_whether_the_server_is_healthy(web_app):
    from aiohttp.test_utils import TestClient
    client = TestClient(web_app)
    await client.start_server()
    resp = await client.get("/status")
    assert resp.status == 503  # no PBX here: degraded, as healthchecks expect
    assert await resp.json() == {"status": "degraded"}
    agent = await login(web_app, "agent1")
    resp = await agent.get("/status")
    assert await resp.json() == {"status": "degraded"}
    await agent.close()
    await client.close()


async def test_supervisor_and_admin_get_the_details_without_the_database_password(web_app):
    from ccserver.adapters.web.keys import RUNTIME
    runtime = web_app.app[RUNTIME]
    clients = [await login(web_app, "supervisor1"), await login(web_app, "admin1")]
    for client in clients:
        resp = await client.get("/status")
        body = await resp.json()
        assert resp.status == 503 and body["status"] == "degraded"
        assert body["database"]["state"] == "up" and body["ami"]["state"] == "not-configured"
        assert body["database"]["url"] == runtime.database.url.render_as_string(hide_password=True)
    for client in clients:  # closing a TestClient closes the server: only at the end
        await client.close()


def test_status_never_shows_a_database_password(tmp_path):
    from ccserver.adapters.db.database import Database
    db = Database("postgresql+psycopg2://ccs:s3cret-pw@db.example:5432/ccs")
    shown = db.url.render_as_string(hide_password=True)
    assert "s3cret-pw" not in shown and "db.example" in shown
