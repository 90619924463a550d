"""Untrusted telephony input: caller-ID names and numbers and DTMF are stored, shown and logged
harmlessly (security issue item 7).

The AMI traces below were recorded from our real Asterisk 22 with sipp callers whose From user
was ``06%0D%0AUniqueid%3A%20forged...`` (PJSIP URI-decodes it; AMI writes CallerIDNum
unescaped, so the caller adds headers of their own) and whose display name was a quoted string
with ``<script>``. The end-to-end tests further down run the same callers against Asterisk.
"""

from __future__ import annotations

from panoramisk.message import Message

from ccserver.adapters.pbx.ari_translate import translate_ari
from ccserver.adapters.pbx.translate import tampered, translate_ami
from ccserver.core import events as ev
from tests.web.conftest import login, web_app  # noqa: F401 (fixture)

SNAPSHOT = (
    "Channel: PJSIP/customers-00000000\r\nChannelState: 4\r\nChannelStateDesc: Ring\r\n"
    "CallerIDNum: {num}\r\nCallerIDName: {name}\r\nConnectedLineNum: <unknown>\r\n"
    "ConnectedLineName: <unknown>\r\nLanguage: en\r\nAccountCode: \r\n"
    "Context: ccserver-inbound\r\nExten: 555\r\nPriority: 1\r\n"
    "Uniqueid: 1796403124.0\r\nLinkedid: 1796403124.0"
)


def message(text: str) -> Message:
    return Message.from_line(text)


def newchannel(num: str = "0612345678", name: str = "Bob") -> Message:
    return message(
        "Event: Newchannel\r\nPrivilege: call,all\r\nTimestamp: 1796403124.856620\r\n"
        + SNAPSHOT.format(num=num, name=name)
    )


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
    text = (
        "Event: UserEvent\r\nPrivilege: user,all\r\n"
        + SNAPSHOT.format(num="06", name="Bob").replace(
            "Linkedid: 1796403124.0", "Linkedid: 1796403124.0\r\nccs_customer_id: 42"
        )
        + "\r\nUserEvent: CcsCallData\r\nccs_menu: 1"
    )
    event = translate_ami(message(text))
    assert isinstance(event, ev.CallDataSet)
    assert dict(event.data) == {"menu": "1"}  # the body is read after the UserEvent header only


def test_caller_data_is_normalized_at_the_edge():
    long_name = "N" * 10 * 1024
    event = translate_ami(newchannel(num="0" * 100, name=long_name + "\\r\\n"))
    assert event.caller_name == "N" * 80 and event.caller_number == "0" * 40
    called = translate_ami(
        message(
            "Event: AgentCalled\r\nPrivilege: agent,all\r\n"
            + SNAPSHOT.format(num="06", name="\u202eevil")
            + "\r\nDestChannel: PJSIP/alice-1\r\nDestChannelState: 5\r\nDestChannelStateDesc: Ringing\r\n"
            "DestCallerIDNum: alice\r\nDestCallerIDName: Alice\r\nDestConnectedLineNum: 06\r\n"
            "DestConnectedLineName: evil\r\nDestLanguage: en\r\nDestAccountCode: \r\n"
            "DestContext: ccserver-agents\r\nDestExten: \r\nDestPriority: 1\r\nDestUniqueid: 2.1\r\n"
            "DestLinkedid: 1796403124.0\r\nQueue: support\r\nInterface: PJSIP/alice\r\n"
            "MemberName: alice"
        )
    )
    assert isinstance(called, ev.AgentCalled)
    assert (called.caller_number, called.caller_name, called.queue) == ("06", "evil", "support")


def test_dtmf_and_stasis_caller_from_ari_are_normalized():
    dtmf = translate_ari({"type": "ChannelDtmfReceived", "digit": "1\r\nX", "channel": {"id": "c1", "name": "PJSIP/x"}})
    assert dtmf.digit == ""
    assert (
        translate_ari({"type": "ChannelDtmfReceived", "digit": "#", "channel": {"id": "c1", "name": "PJSIP/x"}}).digit
        == "#"
    )
    start = translate_ari(
        {
            "type": "StasisStart",
            "application": "ccs",
            "args": ["ivr\r\n"],
            "channel": {
                "id": "c1",
                "name": "PJSIP/x",
                "caller": {"number": "06\r\nX", "name": "A" * 500},
                "dialplan": {"exten": "3000"},
            },
        }
    )
    assert start.caller_number == "06 X" and start.caller_name == "A" * 80 and start.args == ("ivr",)


def test_callback_number_from_a_user_event_is_one_line():
    event = translate_ami(
        message(
            "Event: UserEvent\r\nPrivilege: user,all\r\n"
            + SNAPSHOT.format(num="06", name="Bob")
            + "\r\nUserEvent: CcsCallback\r\nQueue: support\r\nNumber: 0612\x01345678\r\n"
            "EnteredAt: 1796403124"
        )
    )
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
    from sqlalchemy import make_url

    from ccserver.adapters.web.keys import RUNTIME

    runtime = web_app.app[RUNTIME]
    # as in production: a PostgreSQL URL with a password (ping still uses the real engine)
    runtime.database.url = make_url("postgresql+psycopg2://ccs:s3cret-pw@db.example:5432/ccs")
    clients = [await login(web_app, "supervisor1"), await login(web_app, "admin1")]
    for client in clients:
        resp = await client.get("/status")
        body = await resp.json()
        assert resp.status == 503 and body["status"] == "degraded"
        assert body["database"]["state"] == "up" and body["ami"]["state"] == "not-configured"
        assert body["database"]["url"] == "postgresql+psycopg2://ccs:***@db.example:5432/ccs"
        assert "s3cret-pw" not in await resp.text()
    for client in clients:  # closing a TestClient closes the server: only at the end
        await client.close()


# --- end to end: sipp callers on the real Asterisk, the pages in Chromium -----------------------

import asyncio
import logging
from datetime import UTC

import pytest

from ccserver.capabilities.agents.model import AgentState
from tests.integration.conftest import asterisk  # noqa: F401 (the real Asterisk fixture)
from tests.integration.test_inbound import QUEUE_NUMBER, setup_call_center, start_phones
from tests.integration.test_inbound import log_in as acd_log_in
from tests.support.browser import chromium
from tests.support.browser import log_in as browser_log_in
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import Answer, SippCaller

# a display name with markup, quotes, a backslash and 10 KiB of padding (SIP allows all of it in
# a quoted-string; CR/LF it does not)
HOSTILE_NAME = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2"> "Q" \\ ' + "x" * 10240
# a From user with an escaped lone LF: PJSIP URI-decodes it into the caller-ID number
HOSTILE_NUMBER = "0612345678%0Afake"
# a From user whose CR/LF + blank line would write a whole AMI event of the caller's choosing:
# "alice left the support queue" (PJSIP keeps at most 79 characters of a number: it fits)
FORGING_NUMBER = "6%0D%0A%0D%0AEvent%3A%20QueueMemberRemoved%0D%0AQueue%3A%20support%0D%0AInterface%3A%20PJSIP%2Falice"
# the header-injecting variant: the caller's own Uniqueid and Queue in Asterisk's events
INJECTING_NUMBER = "0677777777%0D%0AUniqueid%3A%20forged%0D%0AQueue%3A%20vip"

XSS_PROBE = "window.__xss = 0; window.alert = () => { window.__xss = 'alert'; };"


def no_line_breaks_from_callers(records) -> list[str]:
    """Log lines where a caller's value started a line of its own."""
    bad = []
    for record in records:
        text = record.getMessage()
        if "\r" in text or any(
            line.startswith(("fake", "Uniqueid: forged", "Event: ", "Queue: vip")) for line in text.split("\n")[1:]
        ):
            bad.append(text)
    return bad


@pytest.mark.asterisk
@pytest.mark.browser
async def test_hostile_caller_id_is_stored_and_shown_as_text(asterisk, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv, wrapup=0)
        await asyncio.to_thread(rt.users.create_user, "sophie", "password-1234", role="supervisor")
        await asyncio.to_thread(rt.acd_repo.give_scope, "sophie", "queue", "support")
        phones = await start_phones(
            asterisk, {"alice": accounts["alice"]}, alice=Answer(ring_seconds=4, talk_seconds=4)
        )
        try:
            async with chromium() as browser:
                desk = await browser.new_page()
                await desk.add_init_script(XSS_PROBE)
                await browser_log_in(desk, srv.base_url, "alice", "password-1234")
                await desk.goto(srv.base_url + "/agent")
                await desk.wait_for_function("document.body.dataset.live === 'yes'")
                await desk.click("#btn-login")
                await desk.wait_for_selector("#state[data-state=available]", timeout=10_000)
                board = await browser.new_page()
                await board.add_init_script(XSS_PROBE)
                await browser_log_in(board, srv.base_url, "sophie", "password-1234")
                await board.goto(srv.base_url + "/wallboard")
                await board.wait_for_function("document.body.dataset.live === 'yes'")

                caller = SippCaller(
                    asterisk,
                    QUEUE_NUMBER,
                    caller=HOSTILE_NUMBER,
                    display_name=HOSTILE_NAME,
                    talk_seconds=None,
                    max_seconds=30,
                )
                await caller.start()
                await desk.wait_for_selector("#state[data-state=ringing]", timeout=10_000)
                await desk.wait_for_function("document.getElementById('call-name').textContent !== ''")
                shown = await desk.text_content("#call-name")
                # the name is text: the markup is there, literally, and nothing ran
                assert shown.startswith("<script>window.__xss=1</script><img src=x onerror=")
                assert len(shown) <= 80
                assert await desk.text_content("#call-number") == "0612345678fake"
                await board.wait_for_selector("#agents tr[data-agent=alice] td:has-text('<script>')", timeout=5_000)
                row_text = await board.text_content("#agents tr[data-agent=alice]")
                assert "<script>window.__xss=1</script>" in row_text
                await desk.wait_for_selector("#state[data-state=on_call]", timeout=15_000)
                await caller.wait(timeout=20)
                for page in (desk, board):
                    assert await page.evaluate("window.__xss") == 0
                    assert (
                        await page.evaluate(
                            "document.querySelectorAll('#call-card script, #call-card img, #agents script, #agents img').length"
                        )
                        == 0
                    )

            await until(lambda: rt.call_writer.pending == 0 and rt.acd_repo.calls(), 10)
            await rt.call_writer.flush_now()
            [row] = await asyncio.to_thread(rt.acd_repo.calls)
            assert row.caller_number == "0612345678fake"  # no LF, at most 40 characters
            assert all(
                e.caller_name == "" or len(e.caller_name) <= 80
                for e in srv.events
                if isinstance(e, (ev.ChannelCreated, ev.AgentCalled))
            )
        finally:
            for phone in phones.values():
                await phone.stop()
    assert no_line_breaks_from_callers(caplog.records) == []


@pytest.mark.asterisk
async def test_a_caller_id_number_cannot_forge_ami_events_or_headers(asterisk, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv, wrapup=0)
        phones = await start_phones(
            asterisk, {"alice": accounts["alice"]}, alice=Answer(ring_seconds=1, talk_seconds=2)
        )
        try:
            await acd_log_in(rt, "alice")
            for number in (FORGING_NUMBER, INJECTING_NUMBER):
                result = await SippCaller(
                    asterisk, QUEUE_NUMBER, caller=number, talk_seconds=None, max_seconds=20
                ).run()
                assert result.answered
            await until(lambda: rt.agent_board.agents["alice"].state is AgentState.AVAILABLE, 10)
            await until(lambda: rt.call_writer.pending == 0 and len(rt.acd_repo.calls()) == 2, 10)
            await rt.call_writer.flush_now()
            # nobody took alice out of her queue: the forged QueueMemberRemoved never arrived
            assert not [e for e in srv.events if isinstance(e, ev.QueueMemberChanged) and e.change == "removed"]
            assert rt.agent_board.agents["alice"].queues == frozenset({"support"})
            assert rt.agent_board.agents["alice"].state is AgentState.AVAILABLE
            # nor did a forged Uniqueid or queue: every call is a real one in the real queue
            assert not [
                e
                for e in srv.events
                if getattr(e, "uniqueid", "") == "forged" or getattr(e, "queue", "support") == "vip"
            ]
            rows = await asyncio.to_thread(rt.acd_repo.calls)
            numbers = sorted(r.caller_number for r in rows)
            # the numbers as the ccserver-customers context cleaned them: no control characters
            assert numbers == ["0677777777UniqueidforgedQueuevip", "6EventQueueMemberRemovedQueuesupportInte"]
            assert all(r.queue == "support" and r.outcome == "answered" for r in rows)
        finally:
            for phone in phones.values():
                await phone.stop()
    assert no_line_breaks_from_callers(caplog.records) == []


# --- the ARI IVR: the caller's number and the dialled extension, as the IVR engine keeps them -----


async def test_ivr_engine_keeps_a_clean_caller_number_and_extension(tmp_path, caplog):
    import textwrap
    from datetime import datetime

    from ccserver.capabilities.ivr.handlers import IvrEngine
    from ccserver.capabilities.ivr.service import IvrService
    from ccserver.core.bus import InProcessBus, Intake
    from ccserver.core.clock import ManualClock
    from tests.fakes.stasis import FakeStasis

    (tmp_path / "demo.yaml").write_text(
        textwrap.dedent("""\
        script:
          name: demo
          version: "1"
          entry: code
          fallback: fin
          routes:
            extensions: ["7000"]
        nodes:
          code:
            type: collect
            prompt: [beep]
            store_as: code
            min_digits: 2
            max_digits: 4
            terminator: "#"
            timeout: 5
            next: fin
          fin:
            type: hangup
        """)
    )
    service = IvrService(scripts_dir=tmp_path, clock=ManualClock(datetime(2026, 7, 15, 8, tzinfo=UTC)))
    await service.load_all()
    assert service.registry.names() == ["demo"], service.errors()

    engine = IvrEngine(service, FakeStasis(linkedid="l1"), lambda event: None, node="n")
    intake = Intake(InProcessBus())
    for event_type, handler in engine.intake_handlers():
        intake.add_handler(event_type, handler)

    def emit(message: dict) -> None:  # what the ARI link does with each event
        event = translate_ari(message, "n")
        if event is not None:
            intake.apply(event)

    caplog.set_level(logging.INFO)
    try:
        emit(
            {
                "type": "StasisStart",
                "args": ["ivr", "demo", "exten"],
                "application": "tapp",
                "channel": {
                    "id": "c1",
                    "name": "PJSIP/customers-1",
                    "state": "Up",
                    "caller": {"number": "06\r\n12345678" + "9" * 100},
                    "dialplan": {"exten": "7000\r\nfake"},
                },
            }
        )
        for _ in range(50):
            await asyncio.sleep(0)
        session = engine.sessions["c1"]
        assert session.call.call_data.caller_number == "06 12345678" + "9" * 29  # 40 characters
        for digit in ("1\r\nX", "A", "12", "3", "#"):  # only single phone keys count
            emit({"type": "ChannelDtmfReceived", "digit": digit, "channel": {"id": "c1"}})
            for _ in range(50):
                await asyncio.sleep(0)
        assert session.call.call_data.collected == {}  # "3" alone is too short: nothing else got in
        emit({"type": "StasisEnd", "channel": {"id": "c1"}})
        for _ in range(50):
            await asyncio.sleep(0)
    finally:
        await engine.stop()
    assert no_line_breaks_from_callers(caplog.records) == []
    assert not [r for r in caplog.records if "\n" in r.getMessage() and "fake" in r.getMessage()]


# --- CR/LF set by a dialplan (any entry but the customers trunk): ccserver's own defence ---------


@pytest.mark.asterisk
async def test_caller_id_with_line_breaks_set_by_a_dialplan_is_refused_by_ccserver(asterisk, tmp_path, caplog):
    import secrets

    from ccserver.core.errors import InvalidInput
    from ccserver.core.ports import OriginateRequest

    caplog.set_level(logging.INFO)
    context = f"sec-cid-{secrets.token_hex(3)}"
    dialplan = asterisk.info.instance_dir / "etc" / "dialplans" / f"zz-{context}.conf"
    dialplan.write_text(
        f"[{context}]\n"
        # a number with headers of its own, a name with a whole forged event (Asterisk escapes
        # names in its snapshots, but a dialplan's UserEvent would not)
        "exten => s,1,Set(CALLERID(num)=${URIDECODE(0611%0D%0AQueue%3A%20vip%0D%0AUniqueid%3A%20forged)})\n"
        " same => n,Set(CALLERID(name)=${URIDECODE(Bob%0D%0A%0D%0AEvent%3A%20QueueMemberRemoved%0D%0A"
        "Queue%3A%20support%0D%0AInterface%3A%20PJSIP%2Falice)})\n"
        " same => n,UserEvent(CcsCallData,ccs_note: ${CALLERID(name)})\n"
        " same => n,Goto(ccq-support,open,1)\n"
        " same => n,Hangup()\n"
    )
    try:
        asterisk.cli("dialplan reload")
        async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
            rt = srv.runtime
            accounts = await setup_call_center(srv, wrapup=0)
            phones = await start_phones(
                asterisk, {"alice": accounts["alice"]}, alice=Answer(ring_seconds=1, talk_seconds=2)
            )
            try:
                await acd_log_in(rt, "alice")
                # ccserver itself never sends a line break to AMI: refused before it leaves
                with pytest.raises(InvalidInput):
                    await rt.pbx.ami.originate(
                        OriginateRequest(
                            channel=f"Local/s@{context}",
                            application="Wait",
                            data="1",
                            caller_id='"Bob\r\nAction: Hangup" <0611>',
                        )
                    )
                await rt.pbx.ami.originate(
                    OriginateRequest(channel=f"Local/s@{context}", application="Wait", data="10")
                )
                # the call queues, Asterisk rings alice, the caller gives up after 10 s
                await until(
                    lambda: "0 active channels" not in asterisk.cli("core show channels count"), 5, "the call placed"
                )
                await until(
                    lambda: "0 active channels" in asterisk.cli("core show channels count"), 20, "the call over"
                )
                assert not [
                    e
                    for e in srv.events
                    if getattr(e, "uniqueid", "") == "forged" or getattr(e, "queue", "support") == "vip"
                ]
                assert not [e for e in srv.events if isinstance(e, ev.QueueMemberChanged) and e.change == "removed"]
                assert rt.agent_board.agents["alice"].queues == frozenset({"support"})
                # ccserver refused to believe those events, whose snapshot carried the caller's
                # extra headers, and said so, on one line each
                refused = [r for r in caplog.records if "event refused" in r.getMessage()]
                assert [r for r in refused if "AgentCalled event refused" in r.getMessage()]
                assert all("\n" not in r.getMessage() for r in refused)
            finally:
                for phone in phones.values():
                    await phone.stop()
    finally:
        dialplan.unlink()
        asterisk.cli("dialplan reload")
    assert no_line_breaks_from_callers(caplog.records) == []
