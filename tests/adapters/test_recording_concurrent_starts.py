"""Recording starts do not wait on each other: each call's events are handled in order on
their own chain, different calls side by side. A PBX answering MixMonitor slowly (a busy
Asterisk, a contended AMI link) delays that call's recording only, not every later caller's;
a call hung up while its start is in flight is still recorded and stored."""

from __future__ import annotations

import asyncio
import time

import pytest

from ccserver.capabilities.acd.model import QueueDefinition
from ccserver.capabilities.recording.service import TOPICS
from ccserver.core import events as ev
from ccserver.core.alerts import RECORDING_MISSED
from ccserver.core.bus import InProcessBus
from tests.adapters.test_recording_service import Harness

SLOW_MIXMONITOR = 0.5  # seconds Asterisk takes to answer each MixMonitor action
CALLS = 20


@pytest.fixture
def h(database, tmp_path):
    return Harness(database, tmp_path)


def slow_mixmonitor(h: Harness) -> dict[str, float]:
    """MixMonitor answered after SLOW_MIXMONITOR; returns when each was sent, by uniqueid."""
    sent_at: dict[str, float] = {}
    mix_monitor = h.pbx.mix_monitor

    async def slow(channel, filename, options="b"):
        sent_at[channel.rsplit("-", 1)[1]] = time.monotonic()
        await asyncio.sleep(SLOW_MIXMONITOR)
        return await mix_monitor(channel, filename, options)

    h.pbx.mix_monitor = slow
    return sent_at


def hangup(uniqueid: str) -> ev.ChannelHungup:
    return ev.ChannelHungup(uniqueid=uniqueid, linkedid=uniqueid, channel=f"PJSIP/customers-{uniqueid}", cause=16)


async def until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def through_the_bus(h: Harness) -> InProcessBus:
    """The service subscribed to a bus as the runtime does: answers published, not awaited."""
    bus = InProcessBus()
    bus.subscribe("recording", h.service.dispatch, topics=TOPICS)
    await bus.start()

    async def publish(event):
        bus.publish(event)

    h.service.on_event = publish  # Harness.answer hands the AgentConnected to the bus
    return bus


async def test_twenty_calls_answered_at_once_are_all_started_without_waiting_on_each_other(h):
    sent_at = slow_mixmonitor(h)
    bus = await through_the_bus(h)
    began = time.monotonic()
    for i in range(CALLS):
        await h.answer(uniqueid=f"c.{i}", agent="alice" if i % 2 else "bob")
    await bus.drain(timeout=30)
    await h.service.settled()
    assert sorted(sent_at) == sorted(f"c.{i}" for i in range(CALLS))
    latest = max(sent_at.values()) - began
    # one after the other they would take 20 x 0.5 s = 10 s
    assert latest < 2 * SLOW_MIXMONITOR, f"the last MixMonitor was sent {latest:.2f} s after the answers"
    assert [h.repo.for_call(f"c.{i}")[0].status for i in range(CALLS)] == ["recording"] * CALLS
    assert all(h.service.live[f"c.{i}"].recording_id is not None for i in range(CALLS))
    assert h.service.alerts.counts[RECORDING_MISSED] == 0
    await bus.stop()


async def test_a_call_hung_up_while_its_start_is_in_flight_is_recorded_and_stored(h):
    sent_at = slow_mixmonitor(h)
    bus = await through_the_bus(h)
    await h.answer(uniqueid="gone.1")
    await h.answer(uniqueid="stays.1", agent="bob")
    await until(lambda: "gone.1" in sent_at)
    hung = hangup("gone.1")
    h.apply(hung)
    bus.publish(hung)  # before Asterisk answered the MixMonitor of that call
    await bus.drain(timeout=30)
    assert not h.repo.for_call("gone.1")  # its start still in flight
    await h.service.settled()
    row = h.repo.for_call("gone.1")[0]
    assert row.status == "stored" and row.ended_at is not None and row.path
    assert "gone.1" not in h.service.live
    assert h.repo.for_call("stays.1")[0].status == "recording"  # the other call goes on
    assert h.service.live["stays.1"].recording_id is not None
    assert h.service.alerts.counts[RECORDING_MISSED] == 0
    await bus.stop()


async def test_a_desk_pause_waits_for_its_calls_start_and_a_policy_change_applies_to_the_next_call(h):
    slow_mixmonitor(h)
    bus = await through_the_bus(h)
    h.acd.save_queue(QueueDefinition(name="support", recording_policy="on_demand", retention_days=0), create=False)
    await h.answer(uniqueid="sup.1", queue="support")
    await bus.drain(timeout=30)
    await h.service.settled()
    started = asyncio.ensure_future(h.service.agent_action("alice", "start"))
    paused = asyncio.ensure_future(h.service.agent_action("alice", "pause"))
    assert (await started)["recording"]["state"] == "recording"
    assert (await paused)["recording"]["state"] == "paused"  # in order, after the slow start

    # the queue now always records: the cached policy is dropped (the ACD's queue listener)
    h.acd.save_queue(QueueDefinition(name="secret", recording_policy="always", retention_days=7), create=False)
    h.service.forget_policies([])
    await h.answer(uniqueid="sec.1", queue="secret", agent="bob")
    await bus.drain(timeout=30)
    await h.service.settled()
    assert h.repo.for_call("sec.1")[0].status == "recording"
    await bus.stop()
