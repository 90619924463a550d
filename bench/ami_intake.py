"""How many AMI events per second the intake handles on one core.

The stream is what a queue call looks like on the wire (the event mix recorded from Asterisk 22:
channel, state, queue, agent, bridge, member-status and hangup events, plus the unused ones a
filtered manager.conf still lets through). It goes through the same path as production:
panoramisk's protocol parser -> AmiLink (translation) -> the ordered Intake (handlers:
ChannelRegistry) -> the bus -> one subscriber. Last line: the headline figure.
Usage: python bench/ami_intake.py [--calls N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections import deque

from ccserver.adapters.pbx.ami import AmiLink
from ccserver.core.bus import InProcessBus, Intake
from ccserver.core.channels import ChannelRegistry


def call_events(i: int) -> list[dict[str, str]]:
    uid, agent_uid = f"1700000000.{2 * i}", f"1700000000.{2 * i + 1}"
    caller = f"PJSIP/customers-{i:08x}"
    agent = f"PJSIP/agent{i % 50}-{i:08x}"

    def snap(channel: str, state: str, desc: str, unique: str) -> dict[str, str]:
        """A channel snapshot, its headers in Asterisk's order (translate.tampered checks it)."""
        return {
            "Channel": channel,
            "ChannelState": state,
            "ChannelStateDesc": desc,
            "CallerIDNum": f"0612{i:06d}",
            "CallerIDName": "",
            "ConnectedLineNum": "",
            "ConnectedLineName": "",
            "Language": "fr",
            "AccountCode": "",
            "Context": "inbound",
            "Exten": "100",
            "Priority": "1",
            "Uniqueid": unique,
            "Linkedid": uid,
        }

    call = {"Privilege": "call,all"}
    q = {"Queue": "support", "Position": "1", "Count": "1"}
    up = snap(caller, "6", "Up", uid)
    return [
        {"Event": "Newchannel", **call, **snap(caller, "0", "Down", uid)},
        {"Event": "Newstate", **call, **up},
        {"Event": "QueueCallerJoin", **call, **up, **q},
        {"Event": "Newchannel", **call, **snap(agent, "0", "Down", agent_uid)},
        {
            "Event": "AgentCalled",
            **call,
            **up,
            "DestChannel": agent,
            "DestUniqueid": agent_uid,
            **q,
            "Interface": f"PJSIP/agent{i % 50}",
            "MemberName": f"Agent {i % 50}",
        },
        {
            "Event": "QueueMemberStatus",
            "Privilege": "agent,all",
            "Queue": "support",
            "MemberName": f"Agent {i % 50}",
            "Interface": f"PJSIP/agent{i % 50}",
            "StateInterface": f"PJSIP/agent{i % 50}",
            "Membership": "dynamic",
            "Penalty": "0",
            "CallsTaken": "3",
            "LastCall": "0",
            "LastPause": "0",
            "LoginTime": "1700000000",
            "InCall": "0",
            "Status": "6",
            "Paused": "0",
            "PausedReason": "",
            "Ringinuse": "0",
            "Wrapuptime": "0",
        },
        {"Event": "Newstate", **call, **snap(agent, "5", "Ringing", agent_uid)},
        {"Event": "DialState", **call, **up, "DialStatus": "RINGING"},
        {"Event": "Newstate", **call, **snap(agent, "6", "Up", agent_uid)},
        {"Event": "QueueCallerLeave", **call, **up, **q},
        {
            "Event": "AgentConnect",
            **call,
            **up,
            **q,
            "Interface": f"PJSIP/agent{i % 50}",
            "MemberName": f"Agent {i % 50}",
            "HoldTime": "4",
            "RingTime": "2",
            "DestChannel": agent,
        },
        {"Event": "BridgeEnter", **call, "BridgeUniqueid": f"b-{i}", "BridgeType": "basic", **up},
        {
            "Event": "BridgeEnter",
            **call,
            "BridgeUniqueid": f"b-{i}",
            "BridgeType": "basic",
            **snap(agent, "6", "Up", agent_uid),
        },
        {"Event": "BridgeLeave", **call, "BridgeUniqueid": f"b-{i}", "BridgeType": "basic", **up},
        {
            "Event": "AgentComplete",
            **call,
            **up,
            **q,
            "Interface": f"PJSIP/agent{i % 50}",
            "MemberName": f"Agent {i % 50}",
            "HoldTime": "4",
            "TalkTime": "60",
            "Reason": "caller",
        },
        {"Event": "Hangup", **call, **up, "Cause": "16", "Cause-txt": "Normal Clearing"},
        {"Event": "Hangup", **call, **snap(agent, "6", "Up", agent_uid), "Cause": "16", "Cause-txt": "Normal Clearing"},
    ]


def wire(events: list[dict[str, str]]) -> bytes:
    return "".join("".join(f"{k}: {v}\r\n" for k, v in e.items()) + "\r\n" for e in events).encode()


class NullTransport:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


async def run(calls: int) -> float:
    events = [e for i in range(calls) for e in call_events(i)]
    stream = wire(events)
    chunks = [stream[i : i + 65536] for i in range(0, len(stream), 65536)]
    bus = InProcessBus()
    intake = Intake(bus)
    ChannelRegistry().register(intake)
    received = 0

    def count(_event) -> None:
        nonlocal received
        received += 1

    bus.subscribe("counter", count, maxsize=len(events) * 2)
    link = AmiLink(host="127.0.0.1", port=1, username="u", secret="s", submit=intake.submit)
    protocol = link.manager.config["protocol_factory"]()  # the parser production uses
    protocol.connection_made(NullTransport())
    protocol.factory = link.manager
    protocol.queue = deque()
    protocol.encoding = "utf8"
    protocol.version = "bench"  # past the greeting
    await bus.start()
    intake.start()
    gc.disable()
    started = time.perf_counter()
    for chunk in chunks:
        protocol.data_received(chunk)
    await intake.drain(timeout=600)
    await bus.drain(timeout=600)
    elapsed = time.perf_counter() - started
    gc.enable()
    published = intake.processed
    await intake.stop()
    await bus.stop()
    print(f"calls: {calls}  AMI events on the wire: {len(events)}  bytes: {len(stream):,}")
    print(f"typed events through intake: {published}  delivered to subscriber: {received}")
    print(f"elapsed: {elapsed:.3f} s")
    return len(events) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    rate = asyncio.run(run(args.calls))
    print(f"ami_intake: {rate:,.0f} AMI events/s on one core (goal >= 50,000/s)")


if __name__ == "__main__":
    main()
