"""A queue call's recording through the desk's call control, on the real Asterisk with sipp:
each party plays its own tone (the customer 350 Hz, Alice 800 Hz, Bruno 1200 Hz), so the stored
WAV says who was heard when. The recording goes on through hold / resume, attended transfers
(cancelled, completed, three-way) and blind transfers, growing after each step, one file of the
call's length (the new party's voice after a transfer is not asserted: Asterisk's MixMonitor
sometimes keeps only the customer's, see RecordingService._mend); a recording the
agent paused (a card number) stays paused through all of them, never restarting by itself, to
the end of the call."""

from __future__ import annotations

import asyncio
import json
import math
import time
import wave
from pathlib import Path

import pytest

from tests.support.calls import post, queue_call, setup_call_center
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import Answer, wav_levels

pytestmark = pytest.mark.asterisk

TONES = {"caller": 350.0, "alice": 800.0, "bruno": 1200.0}
WINDOW = 0.5  # seconds per analysed chunk of the recording


def tone_wav(path: Path, freq: float, seconds: float = 120.0) -> Path:
    """An 8 kHz mono 16-bit WAV of a pure tone (what a sipp party plays)."""
    rate = 8000
    frames = bytearray()
    for n in range(int(seconds * rate)):
        frames += int(6000 * math.sin(2 * math.pi * freq * n / rate)).to_bytes(2, "little", signed=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(frames))
    return path


def who_is_heard(path: Path, window: float = WINDOW) -> list[set[str]]:
    """Per `window` seconds of a recording: which parties' tones are in it (Goertzel
    power at each frequency, a party is heard when its tone carries >= 10% of the energy)."""
    with wave.open(str(path), "rb") as wav:
        rate, count = wav.getframerate(), wav.getnframes()
        raw = wav.readframes(count)
    samples = [int.from_bytes(raw[i : i + 2], "little", signed=True) for i in range(0, len(raw), 2)]
    size = int(rate * window)
    heard = []
    for start in range(0, len(samples) - size + 1, size):
        chunk = samples[start : start + size]
        energy = sum(x * x for x in chunk)
        present = set()
        if energy > size * 60 * 60:
            for name, freq in TONES.items():
                coeff = 2 * math.cos(2 * math.pi * freq / rate)
                s1 = s2 = 0.0
                for x in chunk:
                    s1, s2 = x + coeff * s1 - s2, s1
                power = s1 * s1 + s2 * s2 - coeff * s1 * s2
                if power / (size / 2 * energy) >= 0.1:
                    present.add(name)
        heard.append(present)
    return heard


def heard_during(heard: list[set[str]], start: float, end: float) -> set[str]:
    """Every party heard in the recording between `start` and `end` seconds (whole windows)."""
    first, last = math.ceil(start / WINDOW), int(end / WINDOW)
    return set().union(*heard[first:last]) if last > first else set()


class Recorded:
    """The call's live recording: its spool file growing, and the offset in it of a moment."""

    def __init__(self, rt, uniqueid: str) -> None:
        self.rt = rt
        self.uniqueid = uniqueid
        self.started = 0.0

    async def started_now(self) -> None:
        rec = self.rt.recording
        await until(lambda: rec.live.get(self.uniqueid) and rec.live[self.uniqueid].state == "recording", 5)
        self.started = time.monotonic()
        self.spool = rec.store.spool_path(rec.live[self.uniqueid].spool_name)

    def at(self) -> float:
        """Seconds into the recording now (the file keeps the call's length: paused or held,
        Asterisk writes silence or the music)."""
        return time.monotonic() - self.started

    def size(self) -> int:
        return self.spool.stat().st_size if self.spool.exists() else 0

    async def grows(self, what: str) -> None:
        """The spool file gets bigger within 3 s: the recording goes on after `what`."""
        before = self.size()
        await until(lambda: self.size() > before + 8000, 3, f"the recording growing after {what}")

    async def stored(self):
        rows = await until(
            lambda: [r for r in self.rt.recording.repo.for_call(self.uniqueid) if r.status != "recording"], 15
        )
        assert len(rows) == 1, rows  # one recording for the whole call, never a second one
        [row] = rows
        assert row.status == "stored", row.error
        return row, self.rt.recording.store.store_dir / row.path


def phones_playing(tmp_path: Path) -> dict[str, Answer]:
    return {
        name: Answer(audio=tone_wav(tmp_path / f"{name}.wav", TONES[name]), audio_seconds=120)
        for name in ("alice", "bruno")
    }


async def consult(client, uid: str, phones, count: int) -> None:
    status, body = await post(
        client, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "bruno", "attended": True}
    )
    assert status == 200, body
    await phones["bruno"].wait_calls("answered", count, timeout=15)


async def test_recording_goes_on_through_hold_cancelled_transfer_and_three_way(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)  # the support queue records every call
        caller_tone = tone_wav(tmp_path / "caller.wav", TONES["caller"])
        call = queue_call(srv, asterisk, accounts, caller_audio=caller_tone, **phones_playing(tmp_path))
        async with call as (phones, caller, uid):
            rec = Recorded(rt, uid)
            await rec.started_now()
            client = await srv.login("alice", "password-1234")
            marks = {}
            await asyncio.sleep(3)
            # hold, then resume
            assert (await post(client, f"/api/calls/{uid}/hold"))[0] == 200
            await until(lambda: rt.call_control.board.calls[uid].held, 5)
            marks["hold"] = rec.at()
            await rec.grows("hold")
            await asyncio.sleep(2)
            assert (await post(client, f"/api/calls/{uid}/resume"))[0] == 200
            await until(lambda: not rt.call_control.board.calls[uid].held, 5)
            marks["resume"] = rec.at()
            await rec.grows("resume")
            await asyncio.sleep(3)
            # consult bruno, then cancel
            await consult(client, uid, phones, 1)
            marks["consult"] = rec.at()
            await asyncio.sleep(3)
            assert (await post(client, f"/api/calls/{uid}/transfer/cancel"))[0] == 200
            await until(lambda: not rt.call_control.board.calls[uid].held, 5)
            marks["cancelled"] = rec.at()
            await rec.grows("the cancelled transfer")
            await asyncio.sleep(3)
            # consult again, the three together, then alice leaves them
            await consult(client, uid, phones, 2)
            await until(lambda: rt.call_control.board.calls[uid].settled, 5)
            assert (await post(client, f"/api/calls/{uid}/transfer/merge"))[0] == 200
            marks["merged"] = rec.at()
            await rec.grows("the three-way call")
            await asyncio.sleep(3)
            assert (await post(client, f"/api/calls/{uid}/leave"))[0] == 200
            await phones["alice"].wait_for(lambda: phones["alice"].calls_ended == 1, 10, "alice left")
            marks["left"] = rec.at()
            await rec.grows("alice leaving")
            await asyncio.sleep(3)
            marks["end"] = rec.at()
            await rt.pbx.ami.hangup(rt.call_tracker.open[uid].channel)
            await caller.wait(timeout=10)
            await client.close()

        row, path = await rec.stored()
        heard = who_is_heard(path)
        assert abs(row.duration_ms / 1000 - marks["end"]) <= 1.5, (row.duration_ms, marks)

        def between(a, b):
            return heard_during(heard, marks[a] + 0.7, marks[b] - 0.3)

        assert {"caller", "alice"} <= heard_during(heard, 0.7, marks["hold"] - 0.3), heard
        on_hold = between("hold", "resume")  # the customer waits (the music), alice away
        assert "caller" in on_hold and "alice" not in on_hold, on_hold
        assert {"caller", "alice"} <= between("resume", "consult")
        consulting = between("consult", "cancelled")  # the customer waits: not the consultation
        assert "caller" in consulting and not {"alice", "bruno"} & consulting, consulting
        assert {"caller", "alice"} <= between("cancelled", "merged") and "bruno" not in between("cancelled", "merged")
        assert {"caller", "alice", "bruno"} <= between("merged", "left")
        after = between("left", "end")
        # the recording goes on once alice left. Bruno's voice is not asserted here: after the
        # agent leaves a three-way call, Asterisk's MixMonitor (even restarted) keeps only the
        # customer's voice in about half the runs
        assert "caller" in after and "alice" not in after, (after, marks, heard)


@pytest.mark.parametrize("attended", [False, True], ids=["blind", "attended"])
async def test_recording_goes_on_through_a_transfer_to_another_agent(asterisk, tmp_path, attended):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        caller_tone = tone_wav(tmp_path / "caller.wav", TONES["caller"])
        call = queue_call(srv, asterisk, accounts, caller_audio=caller_tone, **phones_playing(tmp_path))
        async with call as (phones, caller, uid):
            rec = Recorded(rt, uid)
            await rec.started_now()
            client = await srv.login("alice", "password-1234")
            await asyncio.sleep(3)
            marks = {"transfer": rec.at()}
            if attended:
                await consult(client, uid, phones, 1)
                await until(lambda: rt.call_control.board.calls[uid].settled, 5)
                await asyncio.sleep(2)
                assert (await post(client, f"/api/calls/{uid}/transfer/complete"))[0] == 200
            else:
                status, body = await post(client, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "bruno"})
                assert status == 200, body
                await phones["bruno"].wait_calls("answered", 1, timeout=15)
            await phones["alice"].wait_for(lambda: phones["alice"].calls_ended == 1, 10, "alice's leg ended")
            marks["with_bruno"] = rec.at()
            await rec.grows("the transfer")
            await asyncio.sleep(4)
            marks["end"] = rec.at()
            await rt.pbx.ami.hangup(rt.call_tracker.open[uid].channel)
            await caller.wait(timeout=10)
            await client.close()

        row, path = await rec.stored()
        heard = who_is_heard(path)
        assert abs(row.duration_ms / 1000 - marks["end"]) <= 1.5, (row.duration_ms, marks)
        assert {"caller", "alice"} <= heard_during(heard, 0.7, marks["transfer"] - 0.3), heard
        with_bruno = heard_during(heard, marks["with_bruno"] + 0.7, marks["end"] - 0.3)
        # the recording goes on with the customer, alice gone. Bruno's voice is not asserted:
        # Asterisk's MixMonitor, even restarted after the transfer (RecordingService._mend),
        # sometimes keeps only the customer's voice (under load; Asterisk issue 507)
        assert "caller" in with_bruno and "alice" not in with_bruno, (with_bruno, marks, heard)


async def test_a_paused_recording_stays_paused_through_hold_and_transfers(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        caller_tone = tone_wav(tmp_path / "caller.wav", TONES["caller"])
        call = queue_call(srv, asterisk, accounts, caller_audio=caller_tone, **phones_playing(tmp_path))
        async with call as (phones, caller, uid):
            rec = Recorded(rt, uid)
            await rec.started_now()
            client = await srv.login("alice", "password-1234")
            marks = {}
            await asyncio.sleep(3)
            # the customer is about to read a card number: alice pauses the recording
            status, body = await post(client, "/api/agent/recording/pause")
            assert status == 200 and body["recording"]["state"] == "paused", body
            marks["paused"] = rec.at()
            await asyncio.sleep(2)
            assert (await post(client, f"/api/calls/{uid}/hold"))[0] == 200
            await until(lambda: rt.call_control.board.calls[uid].held, 5)
            await asyncio.sleep(2)
            assert (await post(client, f"/api/calls/{uid}/resume"))[0] == 200
            await until(lambda: not rt.call_control.board.calls[uid].held, 5)
            await asyncio.sleep(2)
            await consult(client, uid, phones, 1)
            await asyncio.sleep(2)
            assert (await post(client, f"/api/calls/{uid}/transfer/cancel"))[0] == 200
            await until(lambda: not rt.call_control.board.calls[uid].held, 5)
            await asyncio.sleep(2)
            assert rt.recording.live[uid].state == "paused"
            status, body = await post(client, f"/api/calls/{uid}/transfer", {"kind": "agent", "target": "bruno"})
            assert status == 200, body
            await phones["bruno"].wait_calls("answered", 2, timeout=15)
            await asyncio.sleep(3)  # the customer and bruno talk: still not recorded
            assert rt.recording.live[uid].state == "paused"
            marks["end"] = rec.at()
            await rt.pbx.ami.hangup(rt.call_tracker.open[uid].channel)
            await caller.wait(timeout=10)
            await client.close()

        row, path = await rec.stored()
        heard = who_is_heard(path)
        assert abs(row.duration_ms / 1000 - marks["end"]) <= 1.5, (row.duration_ms, marks)
        assert {"caller", "alice"} <= heard_during(heard, 0.7, marks["paused"] - 0.3), heard
        # nothing at all from the pause to the end: through hold, the consultation, the transfer
        levels = wav_levels(path, WINDOW)
        paused = levels[math.ceil((marks["paused"] + 0.5) / WINDOW) : int((marks["end"] - 0.3) / WINDOW)]
        assert len(paused) > 20 and max(paused) < 60, paused
        assert heard_during(heard, marks["paused"] + 0.5, marks["end"] - 0.3) == set()
        [(start, end)] = json.loads(row.pauses)  # one pause, closed when the call ended
        assert abs(start - marks["paused"]) < 1 and abs(end - row.duration_ms / 1000) < 1, (row.pauses, marks)
        assert row.status == "stored" and row.agent == "alice"


async def test_a_recording_paused_through_a_consultation_resumes_hearing_both(asterisk, tmp_path):
    """Paused, alice consults bruno then cancels: silence all along (the recording, mended while
    paused, is restarted only when she resumes); resumed, both sides are recorded again."""
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv)
        caller_tone = tone_wav(tmp_path / "caller.wav", TONES["caller"])
        call = queue_call(srv, asterisk, accounts, caller_audio=caller_tone, **phones_playing(tmp_path))
        async with call as (phones, caller, uid):
            rec = Recorded(rt, uid)
            await rec.started_now()
            client = await srv.login("alice", "password-1234")
            marks = {}
            await asyncio.sleep(3)
            status, body = await post(client, "/api/agent/recording/pause")
            assert status == 200 and body["recording"]["state"] == "paused", body
            marks["paused"] = rec.at()
            await consult(client, uid, phones, 1)
            await asyncio.sleep(2)
            assert (await post(client, f"/api/calls/{uid}/transfer/cancel"))[0] == 200
            await until(lambda: not rt.call_control.board.calls[uid].held, 5)
            await asyncio.sleep(2)  # alice and the customer talk again: not recorded
            assert rt.recording.live[uid].state == "paused"
            status, body = await post(client, "/api/agent/recording/resume")
            assert status == 200 and body["recording"]["state"] == "recording", body
            marks["resumed"] = rec.at()
            await rec.grows("the resume")
            await asyncio.sleep(3)
            marks["end"] = rec.at()
            await rt.pbx.ami.hangup(rt.call_tracker.open[uid].channel)
            await caller.wait(timeout=10)
            await client.close()

        row, path = await rec.stored()
        heard = who_is_heard(path)
        assert heard_during(heard, marks["paused"] + 0.5, marks["resumed"] - 0.3) == set()
        assert {"caller", "alice"} <= heard_during(heard, marks["resumed"] + 0.7, marks["end"] - 0.3), heard
        [(start, end)] = json.loads(row.pauses)
        assert abs(start - marks["paused"]) < 1 and abs(end - marks["resumed"]) < 1, (row.pauses, marks)
