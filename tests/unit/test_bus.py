import asyncio

from ccserver.core import events as ev
from ccserver.core.bus import InProcessBus, Intake


async def test_events_reach_subscribers_in_publish_order():
    bus = InProcessBus()
    seen = []
    bus.subscribe("a", seen.append)
    await bus.start()
    for i in range(100):
        bus.publish(ev.ChannelCreated(uniqueid=str(i)))
    await bus.drain()
    assert [e.uniqueid for e in seen] == [str(i) for i in range(100)]
    await bus.stop()


async def test_slow_subscriber_drops_oldest_without_blocking_others():
    bus = InProcessBus()
    fast = []
    release = asyncio.Event()

    async def slow(event):
        await release.wait()

    slow_sub = bus.subscribe("slow", slow, maxsize=5)
    bus.subscribe("fast", fast.append)
    await bus.start()
    for i in range(50):
        bus.publish(ev.ChannelCreated(uniqueid=str(i)))
    await asyncio.sleep(0.01)
    assert len(fast) == 50
    assert slow_sub.dropped >= 40
    release.set()
    await bus.drain()
    await bus.stop()


async def test_failing_subscriber_is_isolated():
    bus = InProcessBus()
    good = []

    def bad(event):
        raise RuntimeError("boom")

    bad_sub = bus.subscribe("bad", bad)
    bus.subscribe("good", good.append)
    await bus.start()
    bus.publish(ev.ChannelCreated(uniqueid="1"))
    bus.publish(ev.ChannelCreated(uniqueid="2"))
    await bus.drain()
    assert [e.uniqueid for e in good] == ["1", "2"]
    assert bad_sub.failed == 2
    await bus.stop()


async def test_topic_filter_only_delivers_wanted_topics():
    bus = InProcessBus()
    got = []
    bus.subscribe("hangups", got.append, topics={"channel_hungup"})
    await bus.start()
    bus.publish(ev.ChannelCreated(uniqueid="1"))
    bus.publish(ev.ChannelHungup(uniqueid="1"))
    await bus.drain()
    assert [e.topic for e in got] == ["channel_hungup"]
    await bus.stop()


async def test_intake_applies_handlers_before_publishing_outputs_in_order():
    bus = InProcessBus()
    intake = Intake(bus)
    order = []
    intake.add_handler(ev.ChannelHungup, lambda e: [ev.ResyncCompleted(differences=1)])
    bus.subscribe("all", lambda e: order.append(e.topic))
    await bus.start()
    intake.start()
    intake.submit(ev.ChannelCreated(uniqueid="1"))
    intake.submit(ev.ChannelHungup(uniqueid="1"))
    await intake.drain()
    await bus.drain()
    assert order == ["channel_created", "channel_hungup", "resync_completed"]
    await intake.stop()
    await bus.stop()


async def test_intake_survives_a_failing_handler():
    bus = InProcessBus()
    intake = Intake(bus)
    got = []
    intake.add_handler(ev.ChannelCreated, lambda e: 1 / 0)
    bus.subscribe("all", got.append)
    await bus.start()
    intake.start()
    intake.submit(ev.ChannelCreated(uniqueid="x"))
    intake.submit(ev.ChannelCreated(uniqueid="y"))
    await intake.drain()
    await bus.drain()
    assert [e.uniqueid for e in got] == ["x", "y"]
    await intake.stop()
    await bus.stop()
