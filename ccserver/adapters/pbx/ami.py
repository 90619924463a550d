"""The AMI link: panoramisk behind a small, strict wrapper.

What the wrapper adds to panoramisk's Manager (see DESIGN.md, "panoramisk pitfalls"):
- events go to the ordered intake synchronously (translated), never as fire-and-forget tasks;
- every action has a timeout and fails fast with `PbxUnavailable` while the link is down;
- nothing is ever replayed after a reconnect (a pending Originate would dial a customer twice):
  actions pending when the link drops fail with `PbxUnavailable`, the caller decides;
- connection and login failures are logged once per outage, without tracebacks;
- single-reply actions are sent with ``as_list=False`` (panoramisk mistakes QueueAdd's reply
  for the start of a list and would wait forever).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

from panoramisk import Manager

from ...core.errors import InvalidInput, PbxCommandFailed, PbxTimeout, PbxUnavailable
from ...core.events import PbxEvent, PbxLinkDown, PbxLinkUp
from ...core.ports import OriginateRequest
from .ami_wire import FastAmiProtocol
from .translate import ami_fields, tampered, translate_ami

logger = logging.getLogger(__name__)

# AMI fields are "Key: value\r\n" lines: a CR or LF in a value would inject headers/actions.
_FORBIDDEN_IN_FIELD = re.compile(r"[\x00-\x1f\x7f]")


def check_ami_value(name: str, value: Any) -> str:
    text = str(value)
    if _FORBIDDEN_IN_FIELD.search(text):
        raise InvalidInput(f"AMI field {name} contains a control character", field=name)
    return text


# panoramisk logs every reconnect attempt at ERROR; AmiLink logs each outage and recovery once
_PANORAMISK_LOG = logging.getLogger(__name__ + ".panoramisk")
_PANORAMISK_LOG.setLevel(logging.CRITICAL)


class _Manager(Manager):
    """panoramisk Manager with our failure semantics (see module docstring)."""

    link: AmiLink

    def connection_made(self, f):
        if f.exception() is not None:
            self._connected = False
            self.link._connect_failed(f.exception())
            self.loop.call_later(self.link.retry_delay(), self.connect)
            return
        super().connection_made(f)

    def login(self, future):
        if future.cancelled() or future.exception() is not None:
            return False  # the link dropped during login: _disconnected handles it
        authenticated = super().login(future)
        if not authenticated:
            self.link._login_failed(future.result().message)
            # hang up; panoramisk reconnects (and retries the login) after reconnect_timeout
            if self.protocol is not None:
                self.protocol.close()
                self.connection_lost(None)
        return authenticated

    async def send_awaiting_actions(self, *_):
        """Never replay: fail whatever panoramisk kept from the previous connection."""
        self.link._fail_awaiting()


class AmiLink:
    """One AMI connection to one Asterisk node."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        secret: str,
        submit: Callable[[PbxEvent], None],
        node: str = "asterisk",
        command_timeout: float = 5.0,
        on_login: Callable[[], Any] | None = None,
    ) -> None:
        self.host, self.port, self.username = host, port, username
        self.node = node
        self.command_timeout = command_timeout
        self._submit = submit
        self._on_login_cb = on_login
        self.state = "stopped"  # stopped | connecting | up | down | auth-failed
        self.last_error = ""
        self._failures = 0
        self.manager = _Manager(
            host=host,
            port=port,
            username=username,
            secret=secret,
            ping_delay=5,
            ping_interval=5,
            reconnect_timeout=1,
            forgetable_actions=("login", "ping"),
            protocol_factory=FastAmiProtocol,
            log=_PANORAMISK_LOG,
            on_login=self._logged_in,
            on_disconnect=self._disconnected,
        )
        self.manager.link = self
        self.manager.register_event("*", self._on_event)

    # --- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        self.manager.loop = asyncio.get_running_loop()
        self.state = "connecting"
        self.manager.connect()

    async def stop(self) -> None:
        self.state = "stopped"
        self.manager.connection_lost = lambda exc: None  # no reconnect after a deliberate stop
        self.manager.close()
        self._fail_awaiting()

    @property
    def is_up(self) -> bool:
        return self.state == "up"

    def retry_delay(self) -> float:
        return min(0.5 * (2 ** min(self._failures, 3)), 2.0)

    # --- panoramisk callbacks ---------------------------------------------------------------
    def _connect_failed(self, exc: BaseException) -> None:
        self._failures += 1
        if self.state != "down":
            logger.warning("AMI %s:%s unreachable (%s); retrying until it answers", self.host, self.port, exc)
        self.state, self.last_error = "down", f"unreachable: {exc}"

    def _login_failed(self, message: str) -> None:
        self._failures += 1
        if self.state != "auth-failed":
            logger.error(
                "AMI %s:%s refused login for user %r (%s): check ami_username/ami_secret",
                self.host,
                self.port,
                self.username,
                message,
            )
        self.state, self.last_error = "auth-failed", f"login refused: {message}"

    def _logged_in(self, manager: Manager) -> None:
        if self.state != "up":
            logger.info("AMI %s:%s logged in as %s", self.host, self.port, self.username)
        self.state, self.last_error, self._failures = "up", "", 0
        self._submit(PbxLinkUp(link="ami", node=self.node))
        if self._on_login_cb is not None:
            self._on_login_cb()

    def _disconnected(self, manager: Manager, exc: Any) -> None:
        self._fail_awaiting()
        if self.state == "stopped":
            return
        if self.state == "up":
            logger.warning("AMI %s:%s connection lost; reconnecting", self.host, self.port)
            self._submit(PbxLinkDown(link="ami", reason="connection lost", node=self.node))
        if self.state not in ("auth-failed",):
            self.state, self.last_error = "down", "connection lost"

    def _fail_awaiting(self) -> None:
        awaiting = self.manager.awaiting_actions
        while awaiting:
            action = awaiting.popleft()
            if not action.future.done():
                action.future.set_exception(
                    PbxUnavailable(
                        f"AMI link dropped before {action.get('Action')} was answered; not replayed",
                        action=action.get("Action"),
                    )
                )

    def _on_event(self, manager: Manager, message: Any) -> None:
        try:
            event = translate_ami(message, self.node)
        except Exception:
            logger.exception("cannot translate AMI event %s", message.get("Event"))
            return
        if event is not None:
            self._submit(event)

    # --- actions -----------------------------------------------------------------------------
    async def send(self, action: dict[str, Any], *, as_list: bool = False, timeout: float | None = None) -> Any:
        """Send one action; returns the reply (or the list of events of a list action)."""
        name = str(action.get("Action", ""))
        if not self.is_up or self.manager.protocol is None:
            raise PbxUnavailable(f"AMI is {self.state}: cannot send {name}", action=name, link_state=self.state)
        clean = {
            k: ([check_ami_value(k, x) for x in v] if isinstance(v, list) else check_ami_value(k, v))
            for k, v in action.items()
        }
        future = self.manager.send_action(clean, as_list=as_list)
        try:
            reply = await asyncio.wait_for(asyncio.shield(future), timeout or self.command_timeout)
        except TimeoutError:
            self._forget(future)
            raise PbxTimeout(
                f"Asterisk did not answer {name} within {timeout or self.command_timeout:g} s; not retried", action=name
            ) from None
        if as_list:
            return reply if isinstance(reply, list) else [reply]
        if getattr(reply, "response", "") in ("Error", "Fail", "Failure"):
            raise PbxCommandFailed(f"Asterisk refused {name}: {reply.message}", action=name, reply=reply.message)
        return reply

    def _forget(self, future: asyncio.Future) -> None:
        protocol = self.manager.protocol
        if protocol is None:
            return
        for key, action in list(protocol.responses.items()):
            if action.future is future:
                protocol.responses.pop(key, None)
        future.cancel()

    async def list_action(self, action: dict[str, Any], timeout: float | None = None) -> list[dict[str, str]]:
        """A list action (QueueStatus, CoreShowChannels): the events as lower-cased dicts."""
        replies = await self.send(action, as_list=True, timeout=timeout)
        first = replies[0] if replies else None
        if first is not None and getattr(first, "response", "") == "Error":
            raise PbxCommandFailed(f"Asterisk refused {action.get('Action')}: {first.message}")
        entries = []
        for reply in replies:
            if "event" not in reply:
                continue
            why = tampered(reply)
            if why is not None:  # a caller-ID number with line breaks: see translate.tampered
                logger.warning("AMI %s: %s entry refused: %s", action.get("Action"), reply.get("Event"), why)
                continue
            entries.append(ami_fields(reply))
        return entries

    # --- the PbxCommands port ---------------------------------------------------------------
    async def originate(self, request: OriginateRequest) -> str:
        action: dict[str, Any] = {
            "Action": "Originate",
            "Channel": request.channel,
            "Timeout": request.timeout_ms,
            "Async": "true",
        }
        if request.application:
            action.update(Application=request.application, Data=request.data or "")
        else:
            action.update(Context=request.context or "default", Exten=request.exten or "s", Priority=request.priority)
        if request.caller_id:
            action["CallerID"] = request.caller_id
        if request.variables:
            action["Variable"] = [f"{check_ami_value('Variable', k)}={v}" for k, v in request.variables.items()]
        if request.action_id:
            action["ActionID"] = request.action_id
        if request.channel_id:
            action["ChannelId"] = request.channel_id
        reply = await self.send(action)
        return str(reply.get("ActionID", ""))

    async def queue_add(
        self,
        queue: str,
        interface: str,
        member_name: str = "",
        penalty: int = 0,
        paused: bool = False,
        reason: str = "",
    ) -> None:
        action = {
            "Action": "QueueAdd",
            "Queue": queue,
            "Interface": interface,
            "Penalty": penalty,
            "Paused": "true" if paused else "false",
        }
        if member_name:
            action["MemberName"] = member_name
        if reason:
            action["Reason"] = reason
        await self.send(action)

    async def queue_pause(self, queue: str | None, interface: str, paused: bool, reason: str = "") -> None:
        action = {"Action": "QueuePause", "Interface": interface, "Paused": "true" if paused else "false"}
        if queue:
            action["Queue"] = queue
        if reason:
            action["Reason"] = reason
        await self.send(action)

    async def queue_remove(self, queue: str, interface: str) -> None:
        await self.send({"Action": "QueueRemove", "Queue": queue, "Interface": interface})

    async def queue_penalty(self, queue: str, interface: str, penalty: int) -> None:
        """A member's new penalty in one queue, live (skill levels changed)."""
        await self.send({"Action": "QueuePenalty", "Queue": queue, "Interface": interface, "Penalty": int(penalty)})

    async def queue_params(self) -> dict[str, dict[str, str]]:
        """The queues app_queue runs now, with the parameters QueueStatus reports for each: how
        a reload is checked (a setting Asterisk did not take shows here)."""
        entries = await self.list_action({"Action": "QueueStatus"})
        return {e["queue"]: e for e in entries if e.get("event", "").lower() == "queueparams" and "queue" in e}

    async def hangup(self, channel: str) -> None:
        await self.send({"Action": "Hangup", "Channel": channel})

    async def mix_monitor(self, channel: str, filename: str, options: str = "b") -> None:
        """Start recording `channel` into `filename` (MixMonitor; option b: only while bridged)."""
        await self.send({"Action": "MixMonitor", "Channel": channel, "File": filename, "Options": options})

    async def mix_monitor_mute(self, channel: str, muted: bool, direction: str = "both") -> None:
        """Pause (muted) or resume the recording of `channel`: silence is written meanwhile."""
        await self.send(
            {"Action": "MixMonitorMute", "Channel": channel, "Direction": direction, "State": "1" if muted else "0"}
        )

    async def stop_mix_monitor(self, channel: str) -> None:
        await self.send({"Action": "StopMixMonitor", "Channel": channel})

    async def play_dtmf(self, channel: str, digit: str, duration_ms: int = 120) -> None:
        await self.send({"Action": "PlayDTMF", "Channel": channel, "Digit": digit, "Duration": duration_ms})

    # --- call control from the desk (capabilities/callcontrol's CallControlCommands port) ------
    async def atxfer(self, channel: str, context: str, exten: str) -> None:
        """Attended transfer started on `channel` (the agent's): Asterisk types the atxfer
        feature code and `exten` (digits) on it; the peer is held with music meanwhile."""
        await self.send({"Action": "Atxfer", "Channel": channel, "Context": context, "Exten": exten})

    async def cancel_atxfer(self, channel: str) -> None:
        await self.send({"Action": "CancelAtxfer", "Channel": channel})

    async def blind_transfer(self, channel: str, context: str, exten: str) -> None:
        """`channel`'s peer (the customer) goes to exten@context; `channel` leaves the call."""
        await self.send({"Action": "BlindTransfer", "Channel": channel, "Context": context, "Exten": exten})

    async def mute_audio(self, channel: str, direction: str, muted: bool) -> None:
        """MuteAudio (res_mutestream): `in` is what the channel's phone sends."""
        await self.send(
            {"Action": "MuteAudio", "Channel": channel, "Direction": direction, "State": "on" if muted else "off"}
        )

    async def receive_dtmf(self, channel: str, digit: str, duration_ms: int = 120) -> None:
        """A DTMF digit as if `channel`'s phone had pressed it (PlayDTMF Receive)."""
        await self.send(
            {"Action": "PlayDTMF", "Channel": channel, "Digit": digit, "Duration": duration_ms, "Receive": "true"}
        )

    async def set_variable(self, channel: str, name: str, value: str) -> None:
        await self.send({"Action": "Setvar", "Channel": channel, "Variable": name, "Value": value})

    async def reload(self, module: str) -> None:
        """Reload one module's configuration (`res_pjsip.so`, `app_queue.so`, `pbx_config.so` for
        the dialplan; `logger` makes it reopen its log files) with the `Reload` action: it needs the `system` class, not `command` (the
        whole CLI), which the AMI user is not given. Asterisk runs one reload at a time and
        REFUSES one asked meanwhile ("A reload is in progress"): several capabilities reload at
        start and after a reconnect, so a refused reload is asked again (for up to
        command_timeout)."""
        if not re.match(r"^([A-Za-z0-9_]+\.so|logger)$", module):
            raise InvalidInput(
                f"module: a module file name such as res_pjsip.so (or logger), not {module!r}", field="module"
            )
        deadline = asyncio.get_running_loop().time() + self.command_timeout
        while True:
            try:
                await self.send({"Action": "Reload", "Module": module})
                return
            except PbxCommandFailed as exc:
                if (
                    "in progress" not in str(exc.details.get("reply", "")).lower()
                    or asyncio.get_running_loop().time() > deadline
                ):
                    raise
            await asyncio.sleep(0.1)
