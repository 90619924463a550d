"""The desk snapshot's rules (pure: no I/O). Which screen-pop still belongs on the desk, which
call-control state goes with the call shown, and the snapshot's shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# the desk keeps its screen-pop (customer file, IVR path, wrap-up form) while the agent is on
# the call, still ringing, or qualifying it afterwards
_POP_STATES = frozenset({"ringing", "on_call", "wrap_up"})


POPS_PER_AGENT = 8  # an agent's calls at once (and the one just ended) fit many times over


class PopMemory:
    """The last screen-pops sent to each agent, one per call (an agent may have two calls at
    once: a call transferred to them while on another), the latest last."""

    def __init__(self) -> None:
        self.pops: dict[str, dict[str, dict[str, Any]]] = {}

    def remember(self, username: str, message: dict[str, Any]) -> None:
        if message.get("topic") == "screen_pop" and message.get("uniqueid"):
            pops = self.pops.setdefault(username, {})
            pops.pop(message["uniqueid"], None)
            pops[message["uniqueid"]] = dict(message)
            while len(pops) > POPS_PER_AGENT:
                pops.pop(next(iter(pops)))

    def forget(self, username: str) -> None:
        self.pops.pop(username, None)

    def of(self, username: str, uniqueid: str = "") -> dict[str, Any] | None:
        """The pop of call `uniqueid`, else (no id) the latest one sent."""
        pops = self.pops.get(username) or {}
        if uniqueid:
            return pops.get(uniqueid)
        return pops[next(reversed(pops))] if pops else None


def pop_wanted(status: dict[str, Any]) -> str:
    """Which call's screen-pop the desk shows: the call shown, else (wrap-up) the call that
    just ended; "" for the latest pop sent (an outbound call without a queue call)."""
    call = status.get("call")
    if call is not None:
        return call.get("uniqueid", "")
    return status.get("last_call", "") if status.get("state") == "wrap_up" else ""


def current_pop(status: dict[str, Any], pop: dict[str, Any] | None) -> dict[str, Any] | None:
    """The screen-pop the desk should show now: the one of the call the agent is on (or ringing
    for), or of the call just ended while they qualify it; none otherwise."""
    if pop is None or status.get("state") not in _POP_STATES:
        return None
    call = status.get("call")
    if call is not None:
        return pop if call.get("uniqueid") == pop.get("uniqueid") else None
    return pop if status.get("state") == "wrap_up" or pop.get("direction") == "outbound" else None


def control_of(status: dict[str, Any], known: dict[str, Any] | None) -> dict[str, Any] | None:
    """The call-control state of the answered call shown: the one known (held, muted,
    consulting...), else that of a call nobody acted on yet."""
    call = status.get("call")
    if call is None or not call.get("answered_at"):
        return None
    if known is not None and known.get("uniqueid") == call["uniqueid"]:
        return known
    return {
        "uniqueid": call["uniqueid"],
        "agent": status.get("username", ""),
        "held": False,
        "muted": False,
        "consulting": "",
        "settled": False,
        "transfer": "",
        "reason": "",
        "conference": "",
    }


@dataclass
class DeskSnapshot:
    status: dict[str, Any]
    pop: dict[str, Any] | None = None
    control: dict[str, Any] | None = None
    # the agent's other calls at the same time, each with its screen-pop and call-control state
    other_calls: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    recording: dict[str, Any] | None = None
    at: str = ""
    resync_after: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "screen_pop": self.pop,
            "call_control": self.control,
            "other_calls": self.other_calls,
            "callbacks": self.callbacks,
            "recording": self.recording,
            "at": self.at,
            "resync_after": self.resync_after,
        }
