"""A queue call's recording through the desk's call control, on the real Asterisk with sipp:
each party plays its own tone (the customer 350 Hz, Alice 800 Hz, Bruno 1200 Hz, see
tests.support.calls.tone_call), so the stored WAV says who was heard when. The recording goes on
through hold / resume, attended transfers (cancelled, completed, three-way, the agent leaving it)
and blind transfers, one file of the call's length, with every party's voice while they are with
the customer (the new party's too: RecordingService._restart); a recording the agent paused (a
card number) stays paused through all of them, never restarting by itself, to the end of the
call, and resumed, it hears whoever is with the customer then."""

from __future__ import annotations

import asyncio
import json
import math

import pytest

from tests.support.calls import TONE_WINDOW, heard_during, tone_call
from tests.support.sipp import wav_levels

pytestmark = pytest.mark.asterisk


async def test_recording_goes_on_through_hold_cancelled_transfer_and_three_way(asterisk, tmp_path):
    async with tone_call(asterisk, tmp_path) as call:
        await asyncio.sleep(3)
        await call.hold()
        call.mark("hold")
        await call.grows("hold")
        await asyncio.sleep(2)
        await call.resume()
        call.mark("resume")
        await call.grows("resume")
        await asyncio.sleep(3)
        await call.consult(1)
        call.mark("consult")
        await asyncio.sleep(3)
        await call.cancel()
        call.mark("cancelled")
        await call.grows("the cancelled transfer")
        await asyncio.sleep(3)
        await call.consult(2)
        await call.merge()
        call.mark("merged")
        await call.grows("the three-way call")
        await asyncio.sleep(3)
        await call.leave()
        call.mark("left")
        await call.grows("alice leaving")
        await asyncio.sleep(4)
        await call.hang_up()
        row, path, heard = await call.stored()

    def between(a, b):
        return call.between(heard, a, b)

    assert between("start", "hold") == {"caller", "alice"}, heard
    on_hold = between("hold", "resume")  # the customer waits (the music), alice away
    assert "caller" in on_hold and "alice" not in on_hold, on_hold
    assert between("resume", "consult") == {"caller", "alice"}, heard
    consulting = between("consult", "cancelled")  # the customer waits: not the consultation
    assert "caller" in consulting and not {"alice", "bruno"} & consulting, consulting
    assert between("cancelled", "merged") == {"caller", "alice"}, (call.marks, heard)
    assert between("merged", "left") == {"caller", "alice", "bruno"}, (call.marks, heard)
    # alice gone: the customer and bruno, both heard to the end
    assert between("left", "end") == {"caller", "bruno"}, (call.marks, heard)


@pytest.mark.parametrize("attended", [False, True], ids=["blind", "attended"])
async def test_recording_goes_on_through_a_transfer_to_another_agent(asterisk, tmp_path, attended):
    async with tone_call(asterisk, tmp_path) as call:
        await asyncio.sleep(3)
        call.mark("transfer")
        if attended:
            await call.consult(1)
            await asyncio.sleep(2)
            await call.complete()
        else:
            await call.blind_transfer(1)
            await call.alice_gone(1)
        call.mark("with_bruno")
        await call.grows("the transfer")
        await asyncio.sleep(4)
        await call.hang_up()
        row, path, heard = await call.stored()
    assert call.between(heard, "start", "transfer") == {"caller", "alice"}, heard
    # the customer and bruno, both heard to the end; alice gone
    assert call.between(heard, "with_bruno", "end") == {"caller", "bruno"}, (call.marks, heard)


async def test_a_paused_recording_stays_paused_through_hold_and_transfers(asterisk, tmp_path):
    async with tone_call(asterisk, tmp_path) as call:
        await asyncio.sleep(3)
        # the customer is about to read a card number: alice pauses the recording
        assert (await call.recording("pause"))["state"] == "paused"
        call.mark("paused")
        await asyncio.sleep(2)
        await call.hold()
        await asyncio.sleep(2)
        await call.resume()
        await asyncio.sleep(2)
        await call.consult(1)
        await asyncio.sleep(2)
        await call.cancel()
        await asyncio.sleep(2)
        assert call.state == "paused"
        await call.blind_transfer(2)
        await asyncio.sleep(3)  # the customer and bruno talk: still not recorded
        assert call.state == "paused"
        await call.hang_up()
        row, path, heard = await call.stored()
    marks = call.marks
    assert call.between(heard, "start", "paused") == {"caller", "alice"}, heard
    # nothing at all from the pause to the end: through hold, the consultation, the transfer
    levels = wav_levels(path, TONE_WINDOW)
    paused = levels[math.ceil((marks["paused"] + 0.5) / TONE_WINDOW) : int((marks["end"] - 0.3) / TONE_WINDOW)]
    assert len(paused) > 20 and max(paused) < 60, paused
    assert heard_during(heard, marks["paused"] + 0.5, marks["end"] - 0.3) == set()
    [(start, end)] = json.loads(row.pauses)  # one pause, closed when the call ended
    assert abs(start - marks["paused"]) < 1 and abs(end - row.duration_ms / 1000) < 1, (row.pauses, marks)
    assert row.status == "stored" and row.agent == "alice"


async def test_a_recording_paused_through_a_consultation_resumes_hearing_both(asterisk, tmp_path):
    """Paused, alice consults bruno then cancels: silence all along (the recording, mended while
    paused, is restarted only when she resumes); resumed, both sides are recorded again."""
    async with tone_call(asterisk, tmp_path) as call:
        await asyncio.sleep(3)
        assert (await call.recording("pause"))["state"] == "paused"
        call.mark("paused")
        await call.consult(1)
        await asyncio.sleep(2)
        await call.cancel()
        await asyncio.sleep(2)  # alice and the customer talk again: not recorded
        assert call.state == "paused"
        assert (await call.recording("resume"))["state"] == "recording"
        call.mark("resumed")
        await call.grows("the resume")
        await asyncio.sleep(3)
        await call.hang_up()
        row, path, heard = await call.stored()
    marks = call.marks
    assert heard_during(heard, marks["paused"] + 0.5, marks["resumed"] - 0.3) == set()
    assert call.between(heard, "resumed", "end") == {"caller", "alice"}, (marks, heard)
    [(start, end)] = json.loads(row.pauses)
    assert abs(start - marks["paused"]) < 1 and abs(end - marks["resumed"]) < 1, (row.pauses, marks)


async def test_a_recording_paused_before_a_transfer_resumes_hearing_the_new_agent(asterisk, tmp_path):
    """Paused, alice transfers the call to bruno (blind): silence until bruno resumes the
    recording from his desk; then the customer and bruno are both heard to the end."""
    async with tone_call(asterisk, tmp_path) as call:
        await asyncio.sleep(3)
        assert (await call.recording("pause"))["state"] == "paused"
        call.mark("paused")
        await call.blind_transfer(1)
        await call.alice_gone(1)
        await asyncio.sleep(2)  # the customer and bruno talk: not recorded
        assert call.state == "paused"
        bruno = await call.desk("bruno")
        assert (await call.recording("resume", bruno))["state"] == "recording"
        call.mark("resumed")
        await call.grows("bruno's resume")
        await asyncio.sleep(3)
        await call.hang_up()
        row, path, heard = await call.stored()
    marks = call.marks
    assert call.between(heard, "start", "paused") == {"caller", "alice"}, heard
    assert heard_during(heard, marks["paused"] + 0.5, marks["resumed"] - 0.3) == set()
    assert call.between(heard, "resumed", "end") == {"caller", "bruno"}, (marks, heard)
    [(start, end)] = json.loads(row.pauses)
    assert abs(start - marks["paused"]) < 1 and abs(end - marks["resumed"]) < 1, (row.pauses, marks)
