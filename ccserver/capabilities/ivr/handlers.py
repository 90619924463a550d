"""The IVR engine on ARI: runs `IvrCall`s on the channels the dialplan sends to Stasis.

The dialplan (``extensions_ivr.conf``, see `service`) sends a caller to
``Stasis(<app>,ivr,<script>,did|exten)``. The ARI adapter translates what Asterisk reports into
typed events that reach the engine through the ordered intake, like AMI's: `StasisStarted`
(first argument ``ivr``), `DtmfReceived`, `PlaybackFinished`, `ChannelHangupRequested`,
`ChannelDestroyed` and `StasisEnded`. The engine's intake handlers are synchronous and never
slow: they route each event to its call's inbox. Each call has one asyncio task reading its
inbox, so a call's events are handled in order and a slow call (a slow lookup, a slow ARI
command) never blocks the others nor the intake. The task feeds each event to the pure runtime
(`IvrCall`) and performs the actions it returns through the `StasisCommands` port: answer, play
(playback ids from the runtime, mapped back to the channel), timers (``loop.call_later``),
customer lookups (a task; the runtime's own timer bounds them), and the hand-overs, which leave
Stasis with continueInDialplan after setting the channel variables (``IVR_CUSTOMER_ID``,
``IVR_MENU_PATH``, ``IVR_LANGUAGE``..., ``QUEUE_PRIO``, ``IVR_SKILLS``) and submitting
`CallDataSet` to the intake (the call record and the agent's screen-pop get it):

- queue: ``ccq-<queue>,open,1`` (the ACD's context, entering ``Queue(<queue>)``);
- voicemail / transfer: ``ccserver-ivr-voicemail,s,1`` / ``ccserver-ivr-transfer,s,1``;
- fallback: the script's dialplan fallback, else ``ccserver-ivr-fallback,s,1``.

A hand-over target is checked with ``DIALPLAN_EXISTS`` first: a missing queue context is a
failure the runtime answers with the script's fallback. **No caller is stranded**: a command
that fails becomes an `AdapterError` input (the runtime goes to the script's fallback), and any
exception in this module is logged with the channel id and sends the channel to the fallback
(the runtime's, else straight to ``ccserver-ivr-fallback``, else hung up). On (re)connection of
ARI, channels left in the application by a previous process are sent to the fallback too, and
at stop every call still in the IVR is.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ccserver.core import events as ev
from ccserver.core.errors import CcError, PbxCommandFailed
from ccserver.core.text import Text

from .errors import HandOverFailed
from .model import (
    DEFAULT_FALLBACK,
    Action,
    CallInfo,
    CancelTimer,
    ContinueInDialplan,
    Hangup,
    IvrCall,
    Lookup,
    LookupDone,
    Play,
    RequestCallback,
    SendToQueue,
    SendToVoicemail,
    StartTimer,
    StopPlayback,
    Transfer,
)
from .ports import StasisCommands
from .service import (
    FALLBACK_CONTEXT,
    QUEUE_CONTEXT,
    QUEUE_EXTEN,
    TRANSFER_CONTEXT,
    VOICEMAIL_CONTEXT,
    IvrService,
)

logger = logging.getLogger(__name__)

STASIS_ARG = "ivr"
MAX_RECOVERY_DEPTH = 3


@dataclass(slots=True)
class IvrCallEnded(ev.DomainEvent):
    """A call left the IVR (to a queue, voicemail, a transfer, the fallback, or hung up)."""

    topic: ClassVar[str] = "ivr_call_ended"
    uniqueid: str = ""
    linkedid: str = ""
    script: str = ""
    version: str = ""
    outcome: str = ""
    target: str = ""  # context,exten,priority of the hand-over
    menu_path: str = ""
    customer_id: str = ""
    error: str = ""


@dataclass(eq=False)
class IvrSession:
    """One channel in the IVR, as the engine sees it."""

    channel_id: str
    channel: str
    started: float  # monotonic
    inbox: asyncio.Queue = field(default_factory=asyncio.Queue)
    call: IvrCall | None = None
    linkedid: str = ""
    task: asyncio.Task | None = None
    timer: asyncio.TimerHandle | None = None
    timer_id: str | None = None
    lookups: set[asyncio.Task] = field(default_factory=set)
    left: bool = False  # we sent it out of Stasis (continue or hang-up)
    gone: bool = False  # the channel hung up or no longer exists
    closed: bool = False  # StasisEnd seen: the task ends
    played: list[str] = field(default_factory=list)  # media URIs, in order
    handover: tuple[str, str, int] | None = None
    outcome: str = ""
    errors: list[str] = field(default_factory=list)
    data_sent: bool = False
    language: str = ""  # the CHANNEL(language) set on the caller's channel


class IvrEngine:
    def __init__(
        self,
        service: IvrService,
        stasis: StasisCommands,
        submit: Callable[[ev.Event], None],
        *,
        node: str = "",
        transfer_dial: str = "PJSIP/{number}@customers",
        lookup_timeout: float = 30.0,
        stop_timeout: float = 3.0,
    ) -> None:
        self.service = service
        self.stasis = stasis
        self.submit = submit
        self.node = node
        self.transfer_dial = transfer_dial
        self.lookup_timeout = lookup_timeout
        self.stop_timeout = stop_timeout
        self.sessions: dict[str, IvrSession] = {}
        # milliseconds from a DTMF reaching the engine's handler to the end of the actions it
        # caused
        self.dtmf_latencies_ms: deque[float] = deque(maxlen=5000)
        self.calls_started = 0
        self.errors = 0
        # called with each new session (live views, tests)
        self.on_session: list[Callable[[IvrSession], None]] = []
        self._playbacks: dict[str, str] = {}

    def intake_handlers(self) -> list[tuple[type, Callable[[Any], None]]]:
        """The typed PBX events the engine consumes, each with its synchronous handler."""
        return [
            (ev.StasisStarted, self.on_stasis_started),
            (ev.DtmfReceived, self.on_dtmf),
            (ev.PlaybackFinished, self.on_playback_finished),
            (ev.ChannelHangupRequested, self.on_hangup),
            (ev.ChannelDestroyed, self.on_hangup),
            (ev.StasisEnded, self.on_stasis_ended),
        ]

    # -- lifecycle ----------------------------------------------------------------------------

    async def stop(self) -> None:
        sessions = list(self.sessions.values())
        if sessions:
            logger.info("ivr: stopping with %d call(s) in the IVR: sending them to the fallback", len(sessions))
            for s in sessions:
                if s.task is not None:
                    s.task.cancel()
            await asyncio.gather(*(s.task for s in sessions if s.task), return_exceptions=True)
            try:
                await asyncio.wait_for(
                    asyncio.gather(
                        *(
                            self._last_resort(s, "ccserver is stopping")
                            for s in sessions
                            if not (s.left or s.gone or s.closed)
                        ),
                        return_exceptions=True,
                    ),
                    self.stop_timeout,
                )
            except TimeoutError:
                logger.error("ivr: could not release every call in %.1f s", self.stop_timeout)
            for s in sessions:
                self._cleanup(s)

    def stats(self) -> dict[str, Any]:
        lat = sorted(self.dtmf_latencies_ms)

        def pct(p: float) -> float | None:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))], 2) if lat else None

        return {
            "active": len(self.sessions),
            "started": self.calls_started,
            "errors": self.errors,
            "dtmf_latency_ms": {"count": len(lat), "p50": pct(0.5), "p95": pct(0.95), "max": pct(1.0)},
        }

    # -- intake handlers (synchronous, never slow) --------------------------------------------

    def on_stasis_started(self, event: ev.StasisStarted) -> None:
        if not event.args or event.args[0] != STASIS_ARG:
            return
        cid = event.uniqueid
        if not cid or cid in self.sessions:
            return
        s = IvrSession(cid, event.channel, time.monotonic())
        self.sessions[cid] = s
        self.calls_started += 1
        for watcher in self.on_session:
            watcher(s)
        s.task = asyncio.get_running_loop().create_task(self._run(s, event), name=f"ivr:{cid}")

    def on_dtmf(self, event: ev.DtmfReceived) -> None:
        self._put(event.uniqueid, ("dtmf", event.digit, time.monotonic()))

    def on_playback_finished(self, event: ev.PlaybackFinished) -> None:
        pid = event.playback_id
        cid = self._playbacks.pop(pid, None) or event.uniqueid or None
        self._put(cid, ("playback", pid, event.state, time.monotonic()))

    def on_hangup(self, event: ev.ChannelHangupRequested | ev.ChannelDestroyed) -> None:
        self._put(event.uniqueid, ("hangup", type(event).__name__, time.monotonic()))

    def on_stasis_ended(self, event: ev.StasisEnded) -> None:
        self._put(event.uniqueid, ("end", None, time.monotonic()))

    def _put(self, cid: str | None, item: tuple) -> None:
        s = self.sessions.get(cid) if cid else None
        if s is not None and not s.closed:
            s.inbox.put_nowait(item)

    # -- one task per call --------------------------------------------------------------------

    async def _run(self, s: IvrSession, start: ev.StasisStarted) -> None:
        try:
            await self._guard(s, self._on_start(s, start))
            while not s.closed:
                item = await s.inbox.get()
                await self._guard(s, self._dispatch(s, item))
        finally:
            self._cleanup(s)

    async def _guard(self, s: IvrSession, step) -> None:
        try:
            await step
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.errors += 1
            logger.exception("ivr channel %s: engine error (%s); sending the call to the fallback", s.channel_id, exc)
            s.errors.append(f"{type(exc).__name__}: {exc}")
            await self._rescue(s, exc)

    async def _rescue(self, s: IvrSession, exc: BaseException) -> None:
        """After an exception of ours: the runtime's fallback, else the dialplan's."""
        if s.left or s.gone or s.closed:
            return
        try:
            if s.call is not None and not s.call.finished:
                actions = s.call.error(Text("engine error: %(name)s: %(exc)s", name=type(exc).__name__, exc=exc))
                if actions:
                    await self._perform(s, actions, depth=MAX_RECOVERY_DEPTH - 1)
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("ivr channel %s: the script's fallback failed too", s.channel_id)
        if not (s.left or s.gone or s.closed):
            await self._last_resort(s, f"{type(exc).__name__}: {exc}")

    async def _last_resort(self, s: IvrSession, reason: str) -> None:
        """Straight to ccserver-ivr-fallback; hang up if even that fails."""
        cid = s.channel_id
        try:
            self._send_call_data(s, force=True)
            await self.stasis.set_variable(cid, "IVR_ERROR", reason[:200])
        except Exception:
            pass
        try:
            target = DEFAULT_FALLBACK
            await self.stasis.continue_in_dialplan(cid, target.context, target.exten, target.priority)
            s.left, s.handover = True, (target.context, target.exten, target.priority)
            s.outcome = s.outcome or "fallback"
            logger.warning("ivr channel %s: sent to %s (%s)", cid, target.context, reason)
            return
        except Exception as exc:
            if _gone(exc):
                s.gone = True
                return
            logger.error("ivr channel %s: cannot send to %s (%s): hanging up", cid, FALLBACK_CONTEXT, exc)
        try:
            await self.stasis.hangup(cid)
            s.left, s.outcome = True, "hangup"
        except Exception as exc:
            if not _gone(exc):
                logger.error(
                    "ivr channel %s: cannot hang up either (%s): the channel may stay "
                    "in Stasis until ARI answers again",
                    cid,
                    exc,
                )

    def _cleanup(self, s: IvrSession) -> None:
        if s.timer is not None:
            s.timer.cancel()
            s.timer = None
        for task in list(s.lookups):
            task.cancel()
        s.lookups.clear()
        for pid in [p for p, c in self._playbacks.items() if c == s.channel_id]:
            self._playbacks.pop(pid, None)
        if self.sessions.get(s.channel_id) is s:
            del self.sessions[s.channel_id]
            self._publish_end(s)

    # -- inputs -------------------------------------------------------------------------------

    async def _on_start(self, s: IvrSession, start: ev.StasisStarted) -> None:
        args = start.args
        name = args[1] if len(args) > 1 and args[1] else None
        route = args[2] if len(args) > 2 else "did"
        info = CallInfo(
            uniqueid=s.channel_id,
            caller_number=start.caller_number,
            did=start.exten if route == "did" else "",
            exten=start.exten,
            channel=s.channel,
        )
        s.call = self.service.start_call(info, name)
        logger.info(
            "ivr channel %s (%s): %s from %s to %s",
            s.channel_id,
            s.channel,
            s.call.script.label,
            info.caller_number or "?",
            start.exten,
        )
        answer = None
        if start.state != "Up":
            answer = self.stasis.answer(s.channel_id)
        linked = self.stasis.get_variable(s.channel_id, "CHANNEL(linkedid)")
        results = await asyncio.gather(*(c for c in (answer, linked) if c is not None), return_exceptions=True)
        if answer is not None and isinstance(results[0], BaseException):
            raise results[0]
        value = results[-1]
        if not isinstance(value, BaseException):
            s.linkedid = value or ""
        await self._perform(s, s.call.start())

    async def _dispatch(self, s: IvrSession, item: tuple) -> None:
        kind, payload, *rest = item
        call = s.call
        if kind == "end":
            s.closed = True
            if call is not None and not call.finished and not s.left:
                s.gone = True
                call.hangup()
                s.outcome = "caller_hangup"
            return
        if kind == "hangup":
            if call is not None and not call.finished and not s.left:
                s.gone = True
                call.hangup()
                s.outcome = "caller_hangup"
                self._stop_local(s)
            return
        if call is None or call.finished or s.left or s.gone:
            return
        received = item[-1]
        if kind == "dtmf":
            actions = call.dtmf(payload)
            await self._perform(s, actions)
            if actions:
                self.dtmf_latencies_ms.append((time.monotonic() - received) * 1000)
        elif kind == "playback":
            state = rest[0] if rest else ""
            if state == "failed" and payload == call.playback_id:
                await self._perform(
                    s, call.error(Text("playback %(payload)s failed (missing prompt file?)", payload=payload))
                )
            else:
                await self._perform(s, call.playback_finished(payload))
        elif kind == "timer":
            if payload != s.timer_id:
                return
            s.timer, s.timer_id = None, None
            await self._perform(s, call.timeout(payload))
        elif kind == "lookup":
            await self._perform(s, call.handle(payload))

    def _stop_local(self, s: IvrSession) -> None:
        if s.timer is not None:
            s.timer.cancel()
        s.timer, s.timer_id = None, None
        for task in list(s.lookups):
            task.cancel()

    # -- actions ------------------------------------------------------------------------------

    async def _perform(self, s: IvrSession, actions: list[Action], depth: int = 0) -> None:
        for action in actions:
            if s.gone or s.closed or s.left:
                return
            try:
                await self._execute(s, action)
            except (TimeoutError, CcError) as exc:
                if _gone(exc):
                    s.gone = True
                    logger.info("ivr channel %s: channel gone during %s", s.channel_id, action.kind)
                    return
                message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
                s.errors.append(f"{action.kind}: {message}")
                logger.warning("ivr channel %s: %s failed: %s", s.channel_id, action.kind, message)
                if depth >= MAX_RECOVERY_DEPTH or s.call is None:
                    raise
                more = s.call.error(Text("%(kind)s failed: %(message)s", kind=action.kind, message=message))
                if more:  # the runtime's answer: its fallback
                    await self._perform(s, more, depth + 1)
                else:  # the runtime had let the call go already: the dialplan's fallback
                    await self._last_resort(s, f"{action.kind} failed: {message}")
                return

    async def _execute(self, s: IvrSession, action: Action) -> None:
        cid = s.channel_id
        if isinstance(action, Play):
            self._playbacks[action.playback_id] = cid
            s.played.extend(action.media)
            play = self.stasis.play(cid, list(action.media), language=action.language, playback_id=action.playback_id)
            if action.language and action.language != s.language:
                # the caller's channel speaks the script's language (a checked code): the
                # playbacks (lang) and what Asterisk plays itself later on (say, voicemail)
                s.language = action.language
                await asyncio.gather(play, self.stasis.set_variable(cid, "CHANNEL(language)", action.language))
            else:
                await play
        elif isinstance(action, StopPlayback):
            await self.stasis.stop_playback(action.playback_id)  # finished already: no error
        elif isinstance(action, StartTimer):
            if s.timer is not None:
                s.timer.cancel()
            s.timer_id = action.timer_id
            s.timer = asyncio.get_running_loop().call_later(
                action.seconds, self._put, cid, ("timer", action.timer_id, time.monotonic())
            )
        elif isinstance(action, CancelTimer):
            if s.timer_id == action.timer_id and s.timer is not None:
                s.timer.cancel()
                s.timer, s.timer_id = None, None
        elif isinstance(action, Lookup):
            task = asyncio.get_running_loop().create_task(self._lookup(s, action), name=f"ivr-lookup:{cid}")
            s.lookups.add(task)
            task.add_done_callback(s.lookups.discard)
        elif isinstance(action, SendToQueue):
            variables = {
                "QUEUE_PRIO": str(action.priority),
                "IVR_QUEUE": action.queue,
                "IVR_SKILLS": ",".join(f"{k}:{v}" for k, v in action.skills.items()),
            }
            await self._hand_over(s, QUEUE_CONTEXT.format(queue=action.queue), QUEUE_EXTEN, 1, variables)
        elif isinstance(action, SendToVoicemail):
            await self._hand_over(s, VOICEMAIL_CONTEXT, "s", 1, {"IVR_MAILBOX": action.mailbox})
        elif isinstance(action, Transfer):
            dial = self.transfer_dial.format(number=action.number)
            await self._hand_over(
                s, TRANSFER_CONTEXT, "s", 1, {"IVR_TRANSFER_NUMBER": action.number, "IVR_TRANSFER_DIAL": dial}
            )
        elif isinstance(action, ContinueInDialplan):
            default = (action.context, action.exten, action.priority) == (
                DEFAULT_FALLBACK.context,
                DEFAULT_FALLBACK.exten,
                DEFAULT_FALLBACK.priority,
            )
            try:
                await self._hand_over(
                    s,
                    action.context,
                    action.exten,
                    action.priority,
                    {"IVR_ERROR": (action.reason or "")[:200]},
                    check=not default,
                )
            except HandOverFailed as exc:
                logger.error(
                    "ivr channel %s: fallback %s,%s,%s unusable (%s): using %s",
                    cid,
                    action.context,
                    action.exten,
                    action.priority,
                    exc.message,
                    FALLBACK_CONTEXT,
                )
                await self._last_resort(s, action.reason or exc.message)
        elif isinstance(action, RequestCallback):
            self.submit(
                ev.CallbackRequested(
                    queue=action.queue or "",
                    uniqueid=cid,
                    linkedid=s.linkedid,
                    number=action.number,
                    entered_at=str(int(self.service.clock.now().timestamp())),
                    node=self.node,
                )
            )
        elif isinstance(action, Hangup):
            self._send_call_data(s)
            await self.stasis.hangup(cid)
            s.left = True
            s.outcome = s.call.outcome if s.call else "hangup"
        else:  # pragma: no cover - every action of the model is handled above
            raise TypeError(Text("unknown IVR action %(action)r", action=action))

    async def _hand_over(
        self, s: IvrSession, context: str, exten: str, priority: int, extra: dict[str, str], check: bool = True
    ) -> None:
        cid = s.channel_id
        if check:
            found = await self.stasis.get_variable(cid, f"DIALPLAN_EXISTS({context},{exten},{priority})")
            if found != "1":
                raise HandOverFailed(
                    Text(
                        "no dialplan at %(context)s,%(exten)s,%(priority)s",
                        context=context,
                        exten=exten,
                        priority=priority,
                    ),
                    context=context,
                    exten=exten,
                    priority=priority,
                )
        variables = dict(s.call.call_data.channel_variables()) if s.call else {}
        variables.update(extra)
        await asyncio.gather(*(self.stasis.set_variable(cid, name, value) for name, value in variables.items()))
        self._send_call_data(s, force=True)
        await self.stasis.continue_in_dialplan(cid, context, exten, priority)
        s.left = True
        s.handover = (context, exten, priority)
        s.outcome = (s.call.outcome if s.call else None) or "fallback"
        logger.info("ivr channel %s: %s -> %s,%s,%s", cid, s.outcome, context, exten, priority)

    async def _lookup(self, s: IvrSession, action: Lookup) -> None:
        lookup = self.service.lookup
        try:
            if lookup is None:
                raise RuntimeError("no customer directory configured")
            result = await asyncio.wait_for(lookup(action.lookup, action.value), self.lookup_timeout)
        except TimeoutError:
            return  # the runtime's timer (the node's timeout) has fired already
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("ivr channel %s: customer lookup (%s) failed: %s", s.channel_id, action.lookup, exc)
            done = LookupDone(False, None, action.request_id, error=str(exc) or repr(exc))
        else:
            if result is None:
                done = LookupDone(False, None, action.request_id)
            else:
                customer = result.to_dict() if hasattr(result, "to_dict") else result
                done = LookupDone(True, customer, action.request_id)
        self._put(s.channel_id, ("lookup", done, time.monotonic()))

    # -- call data for CTI --------------------------------------------------------------------

    def _send_call_data(self, s: IvrSession, force: bool = False) -> None:
        if s.call is None or (s.data_sent and not force):
            return
        self.submit(
            ev.CallDataSet(
                uniqueid=s.channel_id, linkedid=s.linkedid, data=tuple(call_data_pairs(s.call)), node=self.node
            )
        )
        s.data_sent = True

    def _publish_end(self, s: IvrSession) -> None:
        call = s.call
        if call is None:
            return
        data = call.call_data
        self.submit(
            IvrCallEnded(
                uniqueid=s.channel_id,
                linkedid=s.linkedid,
                script=call.script.name,
                version=call.script.version,
                outcome=data.outcome or s.outcome or "",
                target=",".join(map(str, s.handover)) if s.handover else "",
                menu_path=",".join(f"{m.node}:{m.key}" for m in data.menu_path),
                customer_id=data.customer_id or "",
                error=data.error or "",
            )
        )

    # -- orphans ------------------------------------------------------------------------------

    async def on_link_up(self, event: ev.Event) -> None:
        """Bus listener of `PbxLinkUp`: AMI back, the routes are reloaded; ARI back, the channels
        a previous run left in the application go to the fallback."""
        if not isinstance(event, ev.PbxLinkUp):
            return
        if event.link == "ami":
            await self.service.on_ami_login()
        elif event.link == "ari":
            await self.sweep_orphans()

    async def sweep_orphans(self, settle: float = 1.0) -> list[str]:
        """Channels in our Stasis application that no session knows (left by a previous run):
        send them to the fallback. Seen twice `settle` seconds apart, so a channel whose
        StasisStart is on its way is not taken for one."""
        try:
            first = await self.stasis.app_channels()
            if not first:
                return []
            await asyncio.sleep(settle)
            second = await self.stasis.app_channels()
        except CcError as exc:
            logger.warning("ivr: cannot list the channels of the ARI application: %s", exc.message)
            return []
        orphans = sorted((first & second) - set(self.sessions))
        for cid in orphans:
            logger.warning("ivr channel %s: left in Stasis by a previous run: sending it to the fallback", cid)
            await self._last_resort(IvrSession(cid, "", time.monotonic()), "left in the IVR by a previous run")
        return orphans


def call_data_pairs(call: IvrCall) -> list[tuple[str, str]]:
    """The IVR's call data as the flat (key, text) pairs of `CallDataSet`."""
    d = call.call_data
    pairs = {
        "ivr_script": d.script,
        "ivr_version": d.version,
        "language": d.language,
        "customer_id": d.customer_id or "",
        "menu_path": ",".join(f"{m.node}:{m.key}" for m in d.menu_path),
        "menu_labels": " > ".join(m.label or m.key for m in d.menu_path),
        "ivr_outcome": d.outcome or "",
    }
    if d.customer:
        pairs["customer"] = json.dumps(d.customer, default=str, ensure_ascii=False, sort_keys=True)
    if d.hours:
        pairs["ivr_hours"] = d.hours
    if d.error:
        pairs["ivr_error"] = d.error
    for key, value in d.collected.items():
        pairs[f"collected.{key}"] = str(value)
    for key, value in d.data.items():
        pairs[f"data.{key}"] = str(value)
    return sorted(pairs.items())


def _gone(exc: BaseException) -> bool:
    """The channel no longer exists or is no longer in Stasis (see `StasisCommands`)."""
    return isinstance(exc, PbxCommandFailed) and bool(exc.details.get("gone"))
