"""The fast AMI parser gives the messages panoramisk's own parser gives: on every recorded trace,
on the messages it leaves to panoramisk (repeated headers, replies with a body, quoted results),
and on a stream cut anywhere, events and replies alike."""

from __future__ import annotations

import random
from collections import deque
from pathlib import Path

import pytest
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from ccserver.adapters.pbx.ami_wire import FastAmiProtocol, parse_message
from ccserver.adapters.pbx.translate import tampered, translate_ami

TRACES = Path(__file__).resolve().parents[2] / "traces" / "ami"
EOL = "\r\n"


def as_seen(message) -> tuple | None:
    """What a reader of a Message can see: its class, headers in order, manager."""
    if message is None:
        return None
    return type(message), list(message._store.items()), message.manager, message.id, message.success


def trace_blocks() -> list[str]:
    blocks = []
    for path in sorted(TRACES.glob("*.txt")):
        text = path.read_bytes().decode("utf-8")
        blocks += [b.strip() for b in text.split(EOL * 2) if b.strip()]
    return blocks


def test_every_recorded_message_parses_as_panoramisk_parses_it():
    blocks = trace_blocks()
    assert len(blocks) >= 30
    for block in blocks:
        assert as_seen(parse_message(block)) == as_seen(Message.from_line(block)), block[:80]


@pytest.mark.parametrize(
    "block",
    [
        # caller data carrying a line break repeats a header: still caught as tampered
        "Event: Newchannel\r\nChannel: PJSIP/x-1\r\nCallerIDNum: 0612\r\nCallerIDNum: 33\r\nUniqueid: 1.1",
        "Event: Newchannel\r\nCallerIDNum: 1\r\ncalleridnum: 2",
        "Response: Follows\r\nActionID: 7\r\nPrivilege: Command\r\noutput line\r\n--END COMMAND--",
        "Response: Fail\r\nActionID: 8\r\nMessage: nope\r\nbody",
        "Response: Success\r\nActionID: 9\r\nResult: %22quoted%22 ",
        "Event: UserEvent\r\nContent: x\r\nUserEvent: y",
        "Response: Success\r\nActionID: 10\r\nMessage: Originate successfully queued",
        "Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted",
        "Asterisk Call Manager/9.0.0",
        "no colon here",
        "",
        "Event: Hangup\r\nCause-txt: Normal: Clearing\r\nAccountCode: ",
    ],
)
def test_unusual_messages_parse_as_panoramisk_parses_them(block):
    assert as_seen(parse_message(block)) == as_seen(Message.from_line(block))


def test_a_repeated_header_is_still_refused_as_tampered():
    block = "Event: Newchannel\r\nChannel: PJSIP/x-1\r\nCallerIDNum: 0612\r\nCallerIDNum: 33\r\nUniqueid: 1.1"
    message = parse_message(block)
    assert tampered(message) is not None and translate_ami(message) is None


class Factory:
    """The manager side of a protocol: collects what it is handed."""

    def __init__(self) -> None:
        self.events: list = []

    def dispatch(self, message) -> None:
        self.events.append(message)


def feed(protocol_class, stream: bytes, cuts: list[int]) -> tuple[list, list]:
    protocol = protocol_class()
    protocol.connection_made(type("T", (), {"write": lambda self, d: None, "close": lambda self: None})())
    protocol.factory = Factory()
    protocol.queue = deque()
    protocol.encoding = "utf8"
    replies: list = []

    class Waiting:  # an action waiting for its reply (ActionID 7)
        id = action_id = "7"

        def add_message(self, message) -> bool:
            replies.append(message)
            return True

    protocol.responses = {"7": Waiting()}
    start = 0
    for cut in [*cuts, len(stream)]:
        protocol.data_received(stream[start:cut])
        start = cut
    return [as_seen(m) for m in protocol.factory.events], [as_seen(m) for m in replies]


def test_a_stream_cut_anywhere_gives_the_same_events_and_replies():
    greeting = "Asterisk Call Manager/9.0.0\r\n"
    body = (EOL * 2).join([*trace_blocks(), "Response: Success\r\nActionID: 7\r\nMessage: ok"]) + EOL * 2
    stream = (greeting + body).encode()
    rng = random.Random(2026)
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(stream)), 40))
        fast = feed(FastAmiProtocol, stream, cuts)
        assert fast == feed(AMIProtocol, stream, cuts)
        assert len(fast[0]) >= 30 and len(fast[1]) == 1
