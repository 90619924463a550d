"""Helpers for the IVR tests: build scripts from inline YAML and drive an `IvrCall` the way the
ARI adapter would (echoing the playback and timer ids back)."""

from __future__ import annotations

import textwrap
from datetime import datetime
from zoneinfo import ZoneInfo

from ccserver.capabilities.ivr.loader import ValidationContext, parse_script, validate_script
from ccserver.capabilities.ivr.model import (
    CallInfo,
    IvrCall,
    IvrScript,
    IvrStats,
    Lookup,
    Play,
    StartTimer,
)
from ccserver.core.clock import ManualClock

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def script_from(text: str, file: str = "test.yaml") -> IvrScript:
    """A valid script (the test fails with every error when it is not)."""
    script = parse_script(textwrap.dedent(text), file)
    issues = validate_script(script, ValidationContext())
    assert not issues, "\n".join(map(str, issues))
    return script


def issues_of(text: str, context: ValidationContext | None = None, file: str = "t.yaml"):
    return validate_script(parse_script(textwrap.dedent(text), file), context)


class Driver:
    """Plays the adapter: remembers the current playback/timer/lookup ids."""

    def __init__(
        self,
        script: IvrScript,
        *,
        caller: str = "0612345678",
        did: str = "+33140000000",
        at: datetime | None = None,
        stats: IvrStats | None = None,
    ) -> None:
        self.clock = ManualClock(at or paris(2026, 7, 15, 10, 0))  # a Wednesday, open
        self.call = IvrCall(script, CallInfo("1700000000.1", caller_number=caller, did=did), self.clock, stats=stats)
        self.actions: list = []
        self.playback: str | None = None
        self.timer: str | None = None
        self.request: str | None = None

    def _track(self, actions: list) -> list:
        for action in actions:
            if isinstance(action, Play):
                self.playback = action.playback_id
            elif isinstance(action, StartTimer):
                self.timer = action.timer_id
            elif isinstance(action, Lookup):
                self.request = action.request_id
        self.actions.extend(actions)
        return actions

    def start(self) -> list:
        return self._track(self.call.start())

    def played(self) -> list:
        """The current playback finished."""
        return self._track(self.call.playback_finished(self.playback))

    def press(self, keys: str) -> list:
        out: list = []
        for key in keys:
            out += self._track(self.call.dtmf(key))
        return out

    def expire(self) -> list:
        return self._track(self.call.timeout(self.timer))

    def found(self, customer: dict) -> list:
        return self._track(self.call.lookup_result(True, customer, request_id=self.request))

    def not_found(self) -> list:
        return self._track(self.call.lookup_result(False, request_id=self.request))

    @property
    def node(self) -> str | None:
        return self.call.node_id


def kinds(actions: list) -> list[str]:
    return [a.kind for a in actions]


def only(actions: list, cls):
    found = [a for a in actions if isinstance(a, cls)]
    assert len(found) == 1, f"expected one {cls.__name__} in {actions}"
    return found[0]
