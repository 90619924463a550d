"""FakePbx: the one in-memory implementation of `ccserver.core.ports.PbxCommands` for tests.

Every command is recorded, in order, as a `Command(name, args)` in `fake.commands` (`args` holds
the call's arguments by name, defaults filled in). Like the real `AmiLink`, a command raises
`PbxUnavailable` while `fake.is_up` is False (set it to simulate an outage), and a failure can
be injected with `fake.fail_next(method, exc)`. `fake.on(method, hook)` runs `hook(**args)`
(sync or async) after a command is recorded, to play Asterisk's side effects (a file written by
MixMonitor, a channel created by Originate...).

    pbx = FakePbx()
    service = AcdService(..., pbx, ...)
    await service.login("alice")
    assert pbx.called("queue_add") == [dict(queue="support", interface="PJSIP/alice", ...)]
    pbx.fail_next("queue_pause", PbxCommandFailed("Interface not found"))
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ccserver.core.errors import PbxUnavailable
from ccserver.core.ports import OriginateRequest, PbxCommands


@dataclass(frozen=True)
class Command:
    """One command the code under test sent: the port method's name and its arguments."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Failure:
    exc: BaseException
    times: int | None  # None: every call until `recover`


class FakePbx(PbxCommands):
    """Records commands; answers like a healthy Asterisk unless told otherwise."""

    is_up: bool = True  # a plain settable attribute here (a read-only property on the port)

    def __init__(self, *, is_up: bool = True, node: str = "fake") -> None:
        self.is_up = is_up
        self.node = node
        self.commands: list[Command] = []
        self.members: dict[tuple[str, str], dict[str, Any]] = {}  # (queue, interface) -> args
        self._failures: dict[str, list[_Failure]] = {}
        self._hooks: dict[str, list[Callable[..., Any]]] = {}
        self._originated = 0
        self.running_queues: dict[str, dict[str, str]] | None = None  # what queue_params answers

    # --- test controls -----------------------------------------------------------------------
    def fail_next(self, method: str, exc: BaseException, *, times: int | None = 1) -> None:
        """The next `times` calls of `method` raise `exc` (after being recorded); `times=None`:
        every call until `recover(method)`."""
        self._check_method(method)
        self._failures.setdefault(method, []).append(_Failure(exc, times))

    def recover(self, method: str | None = None) -> None:
        """Forget the injected failures (of `method`, or all)."""
        if method is None:
            self._failures.clear()
        else:
            self._failures.pop(method, None)

    def on(self, method: str, hook: Callable[..., Any | Awaitable[Any]]) -> None:
        """Run `hook(**args)` after each successful `method` call (e.g. write MixMonitor's file)."""
        self._check_method(method)
        self._hooks.setdefault(method, []).append(hook)

    def called(self, method: str) -> list[dict[str, Any]]:
        """The arguments of each `method` call, in order."""
        return [c.args for c in self.commands if c.name == method]

    @property
    def originated(self) -> list[OriginateRequest]:
        return [c.args["request"] for c in self.commands if c.name == "originate"]

    def clear(self) -> None:
        self.commands.clear()

    def _check_method(self, method: str) -> None:
        if not callable(getattr(type(self), method, None)) or method.startswith("_"):
            raise AttributeError(f"FakePbx has no command {method!r}")

    async def _record(self, name: str, **args: Any) -> None:
        self.commands.append(Command(name, args))
        if not self.is_up:
            raise PbxUnavailable(f"AMI is down: cannot send {name}", action=name, link_state="down")
        failures = self._failures.get(name)
        if failures:
            failure = failures[0]
            if failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    failures.pop(0)
            raise failure.exc
        for hook in self._hooks.get(name, ()):
            result = hook(**args)
            if inspect.isawaitable(result):
                await result

    # --- the PbxCommands port ------------------------------------------------------------------
    async def originate(self, request: OriginateRequest) -> str:
        await self._record("originate", request=request)
        self._originated += 1
        return request.action_id or f"fake-originate-{self._originated}"

    async def queue_add(
        self,
        queue: str,
        interface: str,
        member_name: str = "",
        penalty: int = 0,
        paused: bool = False,
        reason: str = "",
    ) -> None:
        args = dict(
            queue=queue, interface=interface, member_name=member_name, penalty=penalty, paused=paused, reason=reason
        )
        await self._record("queue_add", **args)
        self.members[(queue, interface)] = args

    async def queue_pause(self, queue: str | None, interface: str, paused: bool, reason: str = "") -> None:
        await self._record("queue_pause", queue=queue, interface=interface, paused=paused, reason=reason)
        for (q, i), member in self.members.items():
            if i == interface and queue in (None, q):
                member.update(paused=paused, reason=reason)

    async def queue_remove(self, queue: str, interface: str) -> None:
        await self._record("queue_remove", queue=queue, interface=interface)
        self.members.pop((queue, interface), None)

    async def queue_penalty(self, queue: str, interface: str, penalty: int) -> None:
        await self._record("queue_penalty", queue=queue, interface=interface, penalty=penalty)
        if (queue, interface) in self.members:
            self.members[(queue, interface)]["penalty"] = penalty

    async def queue_params(self) -> dict[str, dict[str, str]] | None:
        """`fake.running_queues` (None unless a test sets it: "cannot tell")."""
        await self._record("queue_params")
        return self.running_queues

    async def hangup(self, channel: str) -> None:
        await self._record("hangup", channel=channel)

    async def reload(self, module: str) -> None:
        await self._record("reload", module=module)

    async def mix_monitor(self, channel: str, filename: str, options: str = "b") -> None:
        await self._record("mix_monitor", channel=channel, filename=filename, options=options)

    async def mix_monitor_mute(self, channel: str, muted: bool, direction: str = "both") -> None:
        await self._record("mix_monitor_mute", channel=channel, muted=muted, direction=direction)

    async def stop_mix_monitor(self, channel: str) -> None:
        await self._record("stop_mix_monitor", channel=channel)

    async def play_dtmf(self, channel: str, digit: str, duration_ms: int = 120) -> None:
        await self._record("play_dtmf", channel=channel, digit=digit, duration_ms=duration_ms)

    async def set_variable(self, channel: str, name: str, value: str) -> None:
        await self._record("set_variable", channel=channel, name=name, value=value)
