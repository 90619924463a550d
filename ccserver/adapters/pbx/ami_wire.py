"""panoramisk's AMI protocol with a faster message parser.

panoramisk builds each message through `Message.from_line`, a dict, then a case-insensitive dict
filled one `__setitem__` at a time: about 40 % of the intake's time (bench/ami_intake.py). Here a
message whose headers are all distinct (every event Asterisk sends; a repeated header is how
caller data carrying line breaks shows, see `translate.tampered`) gets the same `Message` built in
one pass. Anything else (a repeated header, a reply with a body, a block without Event/Response)
still goes through panoramisk's own parser, so the messages are the same either way.
"""

from __future__ import annotations

from typing import Any

from panoramisk import utils
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

_EOL = utils.EOL
_WITH_BODY = ("Response: Follows", "Response: Fail")
_QUOTED = frozenset(Message.quoted_keys)


def parse_message(block: str) -> Any:
    """The `Message` panoramisk's `Message.from_line(block)` returns (None for a block that is
    neither an event nor a reply)."""
    if block.startswith(_WITH_BODY):
        return Message.from_line(block)
    store: dict[str, tuple[str, Any]] = {}
    for line in block.split(_EOL):
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        lower = key.lower()
        if lower in store or lower == "content":
            return Message.from_line(block)  # panoramisk's rules for repeated headers
        if lower in _QUOTED:
            return Message.from_line(block)
        store[lower] = (key, value)
    if "event" not in store and "response" not in store:
        return None
    store["content"] = ("content", "")  # as Message(headers, content="") stores it
    message = Message.__new__(Message)
    message._store = store
    message.manager = None
    return message


class FastAmiProtocol(AMIProtocol):
    """AMIProtocol whose `data_received` parses with `parse_message`."""

    def data_received(self, data: bytes) -> None:
        if self.version is None or getattr(self.factory, "save_stream", None):
            super().data_received(data)  # the greeting (and panoramisk's stream capture)
            return
        text = data.decode(getattr(self, "encoding", "ascii"), "ignore")
        if self.queue:
            text = self.queue.popleft() + text
        blocks = text.split(_EOL + _EOL)
        self.queue.append(blocks.pop(-1))
        for block in blocks:
            message = parse_message(block.strip())
            if message is not None:
                self.handle_message(message)
