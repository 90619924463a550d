"""Click-to-dial on the real Asterisk with sipp: the agent's phone rings first and answers, then
the customer (a sipp UAS behind the trunk) is dialled; audio flows both ways (RTP captured at
each phone), the call is stored as an outbound call record of that agent and customer, and the
screen-pop reaches the agent's desk over the WebSocket. A campaign contact the compliance engine
forbids (fixed clock outside the legal hours) is refused with the reason and no channel is made."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from tests.integration.test_outbound_dialer import ANSWERS, OPEN_CONSENT_REGIME, Center
from tests.support.calls import SPEECH, callback_contact, desk_socket, ended_row, next_of
from tests.support.rtp_capture import RtpCapture
from tests.support.server import until
from tests.support.sipp import Answer, Reject, SippPhone

pytestmark = pytest.mark.asterisk

# Tuesday 15 September 2026, 21:30 in Paris: after the 20:00 end of the legal window
CLOSED_HOURS = datetime(2026, 9, 15, 19, 30, tzinfo=UTC)


async def test_customer_service_call_rings_the_agent_then_the_customer_with_audio_and_record(asterisk, tmp_path):
    customers = {ANSWERS: Answer(ring_seconds=0.3, talk_seconds=5, audio=True)}
    async with Center(asterisk, tmp_path, OPEN_CONSENT_REGIME, customers) as center:
        rt = center.runtime
        customer = rt.customers.create_customer(phones=[ANSWERS], first_name="Anne", last_name="Martin")
        client, headers, ws = await desk_socket(center)
        heard_by_agent = RtpCapture(center.phone._run.media_port).start()
        heard_by_customer = RtpCapture(center.customer._run.media_port).start()
        try:
            resp = await client.post("/api/calls/dial", json={"customer_id": customer.id}, headers=headers)
            assert resp.status == 201, await resp.text()
            uniqueid = (await resp.json())["uniqueid"]
            pop = await next_of(ws, "screen_pop")
            assert pop["uniqueid"] == uniqueid and pop["found"] and pop["customer"]["id"] == customer.id
            assert pop["direction"] == "outbound" and pop["caller_number"] == "+33" + ANSWERS[1:]
            (agent_leg,) = await center.phone.wait_calls("answered", 1, timeout=10)  # the agent's phone first
            (call,) = await center.customer.wait_calls("answered", 1, timeout=10)
            assert call.dialed == ANSWERS
            answered = time.monotonic()
            live = rt.click_to_dial.calls.live

            def customer_answer_seen():
                return uniqueid in live and live[uniqueid].record.answered_at is not None

            await until(customer_answer_seen, 10, "the customer's answer on the record")
            center.clock.advance(seconds=5)  # the fixed clock: the talk lasts 5 s on it
            await center.customer.wait_calls("ended", 1, timeout=15)  # the customer hangs up after 5 s
            ended = time.monotonic()
            await center.phone.wait_calls("ended", 1, timeout=10)  # and the agent's leg ends with it
        finally:
            heard_by_agent.stop()
            heard_by_customer.stop()
        # both directions carried speech while they talked
        assert heard_by_agent.rms(answered + 1.0, ended - 0.5) > SPEECH
        assert heard_by_customer.rms(answered + 1.0, ended - 0.5) > SPEECH

        row = await ended_row(rt, uniqueid, "the outbound call record stored")
        assert (row.direction, row.agent, row.caller_number, row.customer_id) == (
            "outbound",
            center.agent,
            "+33" + ANSWERS[1:],
            customer.id,
        )
        assert row.outcome == "answered" and row.answered_at is not None and row.talk_seconds == 5
        # its one leg: the agent's, started by click-to-dial, the customer's 5 s
        await rt.writers["db:call-legs"].flush_now()
        [leg] = (await asyncio.to_thread(rt.acd_repo.legs_of, [uniqueid]))[uniqueid]
        assert (leg.agent, leg.started_how, leg.ended_how, leg.talk_seconds) == (
            center.agent,
            "click_to_dial",
            "hangup",
            5,
        )
        assert row.answered_at == OPEN_CONSENT_REGIME.replace(tzinfo=None) or row.answered_at == OPEN_CONSENT_REGIME
        entries = rt.audit.list(actor=center.agent, action="call.dial")
        assert [e.target for e in entries] == [f"customer:{customer.id}"]
        await ws.close()


async def test_forbidden_campaign_contact_is_refused_with_the_reason_and_no_channel(asterisk, tmp_path):
    customers = {ANSWERS: Answer(ring_seconds=0.3, talk_seconds=2)}
    async with Center(asterisk, tmp_path, CLOSED_HOURS, customers) as center:
        service = center.service
        contact = await callback_contact(center, "Soiree", ANSWERS, "Mme Soir", due=False)
        client, headers, ws = await desk_socket(center)
        channels_before = len(center.runtime.channels.channels)
        resp = await client.post("/api/calls/dial", json={"contact_id": contact.id}, headers=headers)
        data = await resp.json()
        assert resp.status == 409 and data["error"] == "call-forbidden", data
        assert data["details"]["rules"] == ["hours.window"] and "hours.window" in data["message"]
        # nothing was originated: no channel on Asterisk, neither phone offered a call
        await asyncio.sleep(0)  # let any event already received be applied
        assert center.service.dialer.originates == 0 and center.runtime.click_to_dial.placed == 0
        assert len(center.runtime.channels.channels) == channels_before
        shown = await asyncio.to_thread(center.asterisk.cli, "core show channels count")
        assert "0 active channels" in shown, shown
        assert center.phone.calls_offered == 0 and center.customer.calls_offered == 0
        assert service.repo.contact(contact.id).status == "callback"
        await ws.close()


async def test_agent_phone_busy_ends_the_record_as_failed_and_the_customer_is_never_dialled(asterisk, tmp_path):
    customers = {ANSWERS: Answer(ring_seconds=0.3, talk_seconds=2)}
    async with Center(asterisk, tmp_path, OPEN_CONSENT_REGIME, customers) as center:
        rt = center.runtime
        customer = rt.customers.create_customer(phones=[ANSWERS], last_name="Occupé")
        # the agent's phone refuses the call (busy)
        busy = SippPhone(asterisk, center.phone.username, center.phone.password, behaviour=Reject(486))
        await center.phone.stop()
        center.phone = busy
        await busy.start()
        await busy.wait_registered(10)
        client, headers, ws = await desk_socket(center)
        resp = await client.post("/api/calls/dial", json={"customer_id": customer.id}, headers=headers)
        assert resp.status == 201, await resp.text()
        uniqueid = (await resp.json())["uniqueid"]
        await busy.wait_calls("rejected", 1, timeout=10)

        row = await ended_row(rt, uniqueid)
        assert (row.direction, row.agent, row.customer_id, row.outcome) == (
            "outbound",
            center.agent,
            customer.id,
            "failed",
        )
        assert row.answered_at is None and row.talk_seconds == 0
        assert center.customer.calls_offered == 0  # the customer was never dialled
        assert rt.click_to_dial.calls.live == {}
        await ws.close()


async def test_allowed_campaign_contact_is_called_as_an_attempt_of_its_campaign(asterisk, tmp_path):
    customers = {ANSWERS: Answer(ring_seconds=0.3, talk_seconds=2)}
    async with Center(asterisk, tmp_path, OPEN_CONSENT_REGIME, customers) as center:
        service = center.service
        contact = await callback_contact(center, "Journee", ANSWERS, "Mme Jour")
        client, headers, ws = await desk_socket(center)
        resp = await client.post("/api/calls/dial", json={"contact_id": contact.id}, headers=headers)
        assert resp.status == 201, await resp.text()
        result = await resp.json()
        assert result["kind"] == "campaign" and result["decision_id"]
        await center.phone.wait_calls("answered", 1, timeout=10)  # the agent's phone first
        (call,) = await center.customer.wait_calls("answered", 1, timeout=10)
        assert call.dialed == ANSWERS and call.caller == "0162000001"  # the campaign's caller ID
        await until(lambda: service.repo.attempt(result["attempt_id"]).ended_at, 15, "the attempt's end")
        attempt = service.repo.attempt(result["attempt_id"])
        assert (attempt.outcome, attempt.agent, attempt.contact_id) == ("completed", center.agent, contact.id)
        await ws.close()


async def test_customer_service_call_is_recorded_by_its_policy_and_paused_from_the_desk(asterisk, tmp_path):
    """recording.click_to_dial_policy "always" (the default): recorded from the customer's
    answer like a queue call (no queue), the desk pauses and resumes it; "never": not recorded."""
    from ccserver.capabilities.recording.model import RecordingPolicy
    from tests.support.sipp import wav_rms

    customers = {ANSWERS: Answer(ring_seconds=0.3, talk_seconds=9, audio=True)}
    async with Center(asterisk, tmp_path, OPEN_CONSENT_REGIME, customers) as center:
        rt = center.runtime
        recording = rt.recording
        customer = rt.customers.create_customer(phones=[ANSWERS], first_name="Anne", last_name="Martin")
        client, headers, ws = await desk_socket(center)
        resp = await client.post("/api/calls/dial", json={"customer_id": customer.id}, headers=headers)
        assert resp.status == 201, await resp.text()
        uniqueid = (await resp.json())["uniqueid"]
        await center.customer.wait_calls("answered", 1, timeout=10)
        await until(lambda: uniqueid in recording.live and recording.live[uniqueid].state == "recording", 5)
        started = time.monotonic()
        await asyncio.sleep(2.5)
        # the customer reads a card number: the agent pauses, then resumes, from the desk's API
        resp = await client.post("/api/agent/recording/pause", json={}, headers=headers)
        assert resp.status == 200 and (await resp.json())["recording"]["state"] == "paused", await resp.text()
        paused = time.monotonic() - started
        await asyncio.sleep(2.5)
        resp = await client.post("/api/agent/recording/resume", json={}, headers=headers)
        assert resp.status == 200 and (await resp.json())["recording"]["state"] == "recording", await resp.text()
        resumed = time.monotonic() - started
        await center.customer.wait_calls("ended", 1, timeout=15)
        ended = time.monotonic() - started

        rows = await until(lambda: [r for r in recording.repo.for_call(uniqueid) if r.status != "recording"], 15)
        [row] = rows
        assert row.status == "stored", row.error
        assert (row.agent, row.queue, row.policy) == (center.agent, "", "always")
        path = recording.store.store_dir / row.path
        assert abs(row.duration_ms / 1000 - ended) <= 1.5, (row.duration_ms, ended)
        assert wav_rms(path, 0.5, paused - 0.3) > SPEECH  # both talk: recorded
        assert wav_rms(path, paused + 0.4, resumed - 0.4) < 60  # the pause: silence
        assert wav_rms(path, resumed + 0.4, ended - 0.5) > SPEECH  # recorded again after it
        await until(lambda: rt.acd_repo.call(uniqueid) is not None and rt.acd_repo.call(uniqueid).ended_at, 15)

        # the policy says never: the next call is not recorded at all
        recording.click_to_dial = RecordingPolicy("never", 30)
        resp = await client.post("/api/calls/dial", json={"customer_id": customer.id}, headers=headers)
        assert resp.status == 201, await resp.text()
        second = (await resp.json())["uniqueid"]
        await center.customer.wait_calls("answered", 2, timeout=10)
        resp = await client.post("/api/agent/recording/pause", json={}, headers=headers)
        assert resp.status == 409, await resp.text()  # nothing to pause
        await center.customer.wait_calls("ended", 2, timeout=15)
        await ended_row(rt, second)
        assert recording.repo.for_call(second) == [] and second not in recording.live
        await ws.close()
