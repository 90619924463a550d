"""Call legs model throughput: bridge and channel events of attended-transfer calls (queue answer,
consultation over a Local pair, completion, customer hang-up: 22 events a call) through
`CallLegTracker.apply`, with N calls open at once (the bridges and channels of all of them in
its graph). Prints events/s and the time per event (p50, p99). Pure CPU, no I/O.
Usage: python bench/call_legs.py [--calls 5000] [--open 500]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import percentile  # noqa: E402
from ccserver.capabilities.calls.legs import CallLegTracker  # noqa: E402
from ccserver.core import events as ev  # noqa: E402
from ccserver.core.clock import ManualClock  # noqa: E402


def call_events(n: int) -> tuple[list[ev.Event], list[ev.Event]]:
    """The events of call n up to the consultation, then the rest (completion, hang-up)."""
    lid = f"1700000000.{n}"
    cust, alice, bruno = f"PJSIP/customers-{n:08x}", f"PJSIP/a{n % 50}-{n:08x}", f"PJSIP/b{n % 50}-{n:08x}"
    l1, l2 = f"Local/1@ccserver-xfer-{n:08x};1", f"Local/1@ccserver-xfer-{n:08x};2"

    def enter(b, c):
        return ev.BridgeEntered(bridge_id=f"{b}{n}", uniqueid=c, linkedid=lid, channel=c)

    def leave(b, c):
        return ev.BridgeLeft(bridge_id=f"{b}{n}", uniqueid=c, linkedid=lid, channel=c)

    def created(c):
        return ev.ChannelCreated(uniqueid=c, linkedid=lid, channel=c)

    def hangup(c, uid=None):
        return ev.ChannelHungup(uniqueid=uid or c, linkedid=lid, channel=c)

    first = [
        created(cust),
        ev.QueueCallerJoined(queue="q", uniqueid=lid, linkedid=lid, channel=cust),
        created(alice),
        enter("b", cust),
        enter("b", alice),
        leave("b", alice),
        created(l1),
        created(l2),
        enter("c", alice),
        enter("c", l1),
        created(bruno),
        enter("d", l2),
        enter("d", bruno),
    ]
    rest = [
        leave("c", alice),
        leave("c", l1),
        leave("d", bruno),
        leave("d", l2),
        enter("b", bruno),
        hangup(alice),
        hangup(l1),
        hangup(l2),
        hangup(cust, lid),
    ]
    return first, rest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--open", type=int, default=500)
    args = parser.parse_args()
    clock = ManualClock(datetime(2026, 12, 6, 9, 0, tzinfo=UTC))
    agents = {f"PJSIP/{p}{i}": f"{p}{i}" for p in "ab" for i in range(50)}
    tracker = CallLegTracker(clock, lambda interface: agents.get(interface, ""))
    pending: list[list[ev.Event]] = []
    timings: list[float] = []
    events = 0
    started = time.perf_counter()
    for n in range(args.calls):
        first, rest = call_events(n)
        batch = first
        if len(pending) >= args.open:
            batch = first + pending.pop(0)
        pending.append(rest)
        for event in batch:
            t = time.perf_counter()
            tracker.apply(event)
            timings.append(time.perf_counter() - t)
            events += 1
        clock.advance(seconds=0.01)
    for rest in pending:
        for event in rest:
            tracker.apply(event)
            events += 1
    elapsed = time.perf_counter() - started
    assert not tracker.calls, "every call ended"
    print(f"calls {args.calls}, open at once {args.open}, events {events}")
    print(f"events/s {events / elapsed:,.0f}")
    print(f"per event p50 {percentile(timings, 0.5) * 1e6:.1f} us, p99 {percentile(timings, 0.99) * 1e6:.1f} us")


if __name__ == "__main__":
    main()
