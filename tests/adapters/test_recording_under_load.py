"""Recording under load: storing finished recordings (made slow on purpose) never delays the
start of new calls' recordings, and a call whose policy says "record" that is not recorded is an
alert (counter for the wallboard and /status, audit entry, failed row with its cause)."""

from __future__ import annotations

import time

import pytest

from ccserver.core import events as ev
from ccserver.core.alerts import RECORDING_MISSED
from ccserver.core.errors import PbxCommandFailed
from tests.adapters.test_recording_service import Harness

SLOW_STORE = 0.5  # seconds each finished file takes to store (MixMonitor closing it, a slow disk)


@pytest.fixture
def h(database, tmp_path):
    return Harness(database, tmp_path)


def slow_storing(h: Harness) -> None:
    wait_closed = h.store.wait_closed

    def slow(name, *args, **kwargs):
        time.sleep(SLOW_STORE)
        return wait_closed(name, *args, **kwargs)

    h.store.wait_closed = slow


def hangup(uniqueid: str) -> ev.ChannelHungup:
    return ev.ChannelHungup(uniqueid=uniqueid, linkedid=uniqueid, channel=f"PJSIP/customers-{uniqueid}", cause=16)


async def test_starts_are_issued_promptly_while_many_calls_end(h):
    slow_storing(h)
    sent_at: dict[str, float] = {}
    mix_monitor = h.pbx.mix_monitor

    async def timed_mix_monitor(channel, filename, options="b"):
        sent_at[channel.rsplit("-", 1)[1]] = time.monotonic()
        return await mix_monitor(channel, filename, options)

    h.pbx.mix_monitor = timed_mix_monitor
    for i in range(12):
        await h.answer(uniqueid=f"old.{i}")

    # a wave: each old call ends just before a new one is answered
    began = time.monotonic()
    for i in range(12):
        hung = hangup(f"old.{i}")
        h.apply(hung)
        await h.service.on_event(hung)
        await h.answer(uniqueid=f"new.{i}")
    latest_start = max(sent_at[f"new.{i}"] for i in range(12)) - began
    # 12 stores take 6 s one after another: the starts did not wait for them
    assert latest_start < 2 * SLOW_STORE, f"the last start was issued {latest_start:.2f} s after the wave began"
    assert all(h.repo.for_call(f"new.{i}")[0].status == "recording" for i in range(12))

    await h.service.settled()
    assert [h.repo.for_call(f"old.{i}")[0].status for i in range(12)] == ["stored"] * 12
    assert h.service.alerts.counts[RECORDING_MISSED] == 0


async def test_a_recording_that_cannot_start_is_an_alert(h):
    h.pbx.fail_next("mix_monitor", PbxCommandFailed("No such channel"), times=None)
    await h.answer(uniqueid="200.1", agent="bob")
    [row] = h.repo.for_call("200.1")
    assert row.status == "failed" and "No such channel" in row.error
    assert h.service.alerts.counts[RECORDING_MISSED] == 1
    last = h.service.alerts.to_dict()[RECORDING_MISSED]["last"]
    assert (last["call"], last["queue"], last["agent"]) == ("200.1", "sales", "bob")
    [entry] = h.audit.list(action="recording.missed")
    assert entry.target == "200.1" and entry.actor == "system"


async def test_a_call_whose_channel_is_already_gone_is_a_failed_recording_and_an_alert(h):
    # the subscriber learns of the answer after the call's channel left every live view
    connected = ev.AgentConnected(
        queue="sales", uniqueid="300.1", linkedid="300.1", interface="PJSIP/alice", member_name="alice"
    )
    await h.service.on_event(connected)
    [row] = h.repo.for_call("300.1")
    assert row.status == "failed" and "channel is unknown" in row.error
    assert h.service.alerts.counts[RECORDING_MISSED] == 1
    assert h.pbx.commands == []


async def test_a_recording_that_cannot_be_stored_is_an_alert(h):
    await h.answer(uniqueid="400.1")

    def broken(*args, **kwargs):
        raise OSError("No space left on device")

    h.store.ingest = broken
    await h.hang_up(uniqueid="400.1")
    [row] = h.repo.for_call("400.1")
    assert row.status == "failed" and "No space left" in row.error
    assert h.service.alerts.counts[RECORDING_MISSED] == 1
