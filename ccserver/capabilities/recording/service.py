"""Recording use cases: MixMonitor on answered queue calls by policy (and on the customer-service
calls agents place from their desks, by the click-to-dial policy), pause/resume from the
desk, indexing the files when calls end, playback rights, the retention purge, the GDPR
erasure of a customer, and quality evaluations.

Asterisk holds the truth about the audio: `MixMonitor` (option ``b``: only while bridged) is
started on the caller's channel when an agent answers (AgentConnect), `MixMonitorMute` with
Direction both writes silence while paused (the file keeps the call's length, the pause is a
silent gap), and the recording ends with the channel. There is no MixMonitor stop event on
hangup: the caller channel's Hangup (or its absence from a resync snapshot) closes it, then the
file is moved from Asterisk's spool into ccserver's store (`RecordingStore`) and indexed. When
the recorded channel changes bridge or party (hold, transfers, three-way calls), MixMonitor is
restarted on the same file once the bridge is quiet (`_mend`): Asterisk's would otherwise keep
only that channel's own voice. The restart leaves `RESTART_GAP` between the stop and the new
start, so that the new MixMonitor gets a fresh audiohook list on the channel (restarted at once,
it joined the old one and, after a transfer or a three-way call, missed the new party's voice
in about half the calls). A paused recording is restarted only when resumed.

Each call's events (answer, hang-up, a desk action, a resync closing it) are handled in their
order on that call's own chain of tasks, and different calls' chains run side by side (at most
`STARTERS` starts at once): a slow MixMonitor answer or a stalled row insert delays that call's
recording only, never the next caller's. The queue's policy is read once and kept
(`forget_policies` when a queue or campaign changes). Storing a finished file (waiting for
MixMonitor to close it, copying, hashing) runs beside it in a bounded pool of `STORERS`, so a
burst of calls ending never delays the recordings of calls being answered. A call whose policy
says "record" and that was not recorded (MixMonitor refused, channel gone, file not stored) is
an alert: `Alerts` (wallboard, /status), an audit entry and one log line, plus its failed row.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from ...core import events as ev
from ...core.alerts import RECORDING_MISSED, Alerts
from ...core.clock import Clock
from ...core.errors import CcError, Conflict, Forbidden, InvalidInput, NotFound, PbxUnavailable
from ...core.permissions import Target, actor_for, may_act, require
from ...core.ports import AuditTrail, PbxCommands
from ...core.text import Text
from ..calls.model import CallRecordChanged
from .model import (
    PAUSED,
    RECORDING,
    STOPPED,
    LiveRecording,
    RecordingPolicy,
    apply_action,
    averages,
    check_action,
    close_pauses,
    parse_grid,
    paused_seconds,
    score_evaluation,
    spool_name,
)
from .ports import CustomerLookup, RecordingFilter, RecordingRepository, Scopes
from .storage import RecordingStore

logger = logging.getLogger(__name__)

TOPICS = (
    ev.QueueCallerJoined.topic,
    ev.AgentConnected.topic,
    ev.ChannelHungup.topic,
    ev.PbxSnapshot.topic,
    ev.BridgeEntered.topic,  # hold, transfers, three-way calls: the recording is mended
    ev.BridgeLeft.topic,
    CallRecordChanged.topic,  # click-to-dial calls: recorded when the customer answers
)
# recordings started at once (each mostly waits for Asterisk's answer to MixMonitor)
STARTERS = 64
# a recording is mended this long after the last change of its bridge (seconds)
MEND_DELAY = 0.5
# bridge changes this soon after a recording started are the call being answered: not mended
START_QUIET = 1.0
# a cached queue policy is read again after this long (a change made outside this process)
POLICY_TTL = 60.0
# between stopping a MixMonitor and starting its successor on the same channel (seconds): long
# enough for a few audio frames, so that Asterisk frees the channel's emptied audiohook list and
# the new MixMonitor gets a fresh one. Restarted at once (joining the old list, as we read it),
# the new MixMonitor, after a transfer or a three-way call, kept missing what the customer hears
# (the other party's voice, which the customer did hear) to the end of the call in 6 of 27 runs
# of test_recording_transfers.py's transfer tests; with the gap, in none of 48. Each restart
# drops this much audio from the file.
RESTART_GAP = 0.2
# recordings stored at once (each mostly waits for its file to close, then copies and hashes it)
STORERS = 8
# one audit entry per user and recording within this window (a player sends many range requests)
PLAYBACK_AUDIT_WINDOW = 600.0


class RecordingService:
    def __init__(
        self,
        repo: RecordingRepository,
        store: RecordingStore,
        board,
        channels,
        tracker,
        pbx: PbxCommands | None,
        audit: AuditTrail,
        clock: Clock,
        customers: CustomerLookup | None = None,
        *,
        agents_may_listen: bool = False,
        scopes: Scopes | None = None,
        alerts: Alerts | None = None,
        storers: int = STORERS,
        click_to_dial: RecordingPolicy | None = None,
        legs: Callable[[str], list] | None = None,
    ) -> None:
        self.repo = repo
        # a call's legs (CallLegTracker.legs): the agent a call was transferred to acts on it too
        self.legs = legs
        # the policy of the customer-service calls agents place from their desks (click-to-dial)
        self.click_to_dial = click_to_dial or RecordingPolicy()
        self.scopes = scopes  # supervisors' queues and teams (AcdRepository); None: no scoping
        self.store = store
        self.board = board
        self.channels = channels
        self.tracker = tracker
        self.pbx = pbx
        self.audit = audit
        self.clock = clock
        self.customers = customers
        self.agents_may_listen = agents_may_listen
        self.live: dict[str, LiveRecording] = {}  # by the caller channel's uniqueid
        self._lock = asyncio.Lock()  # erasures, one at a time
        # the last task of each call's chain (its events handled in order), by uniqueid
        self._chains: dict[str, asyncio.Task] = {}
        self._starters = asyncio.Semaphore(STARTERS)
        self._policies: dict[str, tuple[float, Any]] = {}  # queue -> (read at, RecordingPolicy)
        self._policies_generation = 0
        self._finishing: set[asyncio.Task] = set()
        self._storers = asyncio.Semaphore(storers)
        self.alerts = alerts or Alerts()
        # caller channels as the queue events told them, in this subscriber's order: the start
        # never depends on the live registry, which runs ahead of a busy subscriber
        self._callers: dict[str, tuple[str, str]] = {}  # uniqueid -> (channel, caller number)
        self._played: dict[tuple[str, int], float] = {}
        # live calls whose person was erased: uniqueid -> spool name, deleted when the call ends
        self._doomed: dict[str, str] = {}
        # the bridge each channel is in (BridgeEnter), and the paused recordings to mend on resume
        self._bridge_of: dict[str, str] = {}
        self._stale: set[str] = set()
        self._menders: dict[str, asyncio.Task] = {}  # by uniqueid: a mend waiting for a quiet bridge
        self._started_mono: dict[str, float] = {}  # by uniqueid: when its MixMonitor started
        self.mend_delay = MEND_DELAY
        self.start_quiet = START_QUIET
        self.restart_gap = RESTART_GAP

    # --- start-up --------------------------------------------------------------------------------
    async def start(self) -> None:
        """Follow the recordings left running (the daily retention purge is the plugin's job)."""
        await self.load()
        if self.store.spool_dir is None:
            logger.warning(
                "recording: no spool directory (recordings_spool_dir): recordings cannot be collected from Asterisk"
            )

    async def load(self) -> None:
        """Recordings still running when the server stopped: followed again (the next resync
        closes those whose call ended meanwhile)."""
        for row in await asyncio.to_thread(self.repo.unfinished):
            self.live[row.call_uniqueid] = LiveRecording(
                uniqueid=row.call_uniqueid,
                linkedid=row.linkedid,
                channel=row.channel,
                agent=row.agent,
                queue=row.queue,
                policy=row.policy,
                retention_days=row.retention_days,
                state=row.status,
                recording_id=row.id,
                spool_name=row.spool_name,
                started_at=row.started_at,
                pauses=tuple((p[0], p[1]) for p in json.loads(row.pauses or "[]")),
            )
        if self.live:
            logger.info("recording: %d recording(s) still running at start-up", len(self.live))

    async def stop(self) -> None:
        """Let the starts under way and the files being indexed finish (a few seconds at most)."""
        for mender in self._menders.values():
            mender.cancel()
        self._menders.clear()
        if self._chains:
            await asyncio.wait(set(self._chains.values()), timeout=10)
        if self._finishing:
            await asyncio.wait(self._finishing, timeout=10)

    async def settled(self, timeout: float = 10.0) -> None:
        """Wait until every call's events are handled and every ended recording is stored
        (tests, shutdown)."""
        while self._chains or self._finishing:
            await asyncio.wait(set(self._chains.values()) | set(self._finishing), timeout=timeout)

    @property
    def storing(self) -> int:
        """Ended recordings not stored yet (waiting for a storer or being stored)."""
        return len(self._finishing)

    # --- reactions to events (bus subscriber) -----------------------------------------------------
    def dispatch(self, event: ev.Event) -> None:
        """The bus subscriber: hands the event to its call's chain and returns at once, so one
        call's start never waits for another's."""
        self._dispatch(event)

    async def on_event(self, event: ev.Event) -> None:
        """`dispatch`, then wait until this event is handled (tests, direct callers)."""
        tasks = self._dispatch(event)
        if tasks:
            await asyncio.gather(*tasks)

    def _dispatch(self, event: ev.Event) -> list[asyncio.Task]:
        if isinstance(event, ev.QueueCallerJoined):
            if len(self._callers) >= 20_000:  # callers whose hang-up we never saw
                self._callers.pop(next(iter(self._callers)))
            self._callers[event.uniqueid] = (event.channel, event.caller_number)
            return []
        if isinstance(event, ev.AgentConnected):
            return [self._follow(event.uniqueid, lambda: self._answered(event))]
        if isinstance(event, ev.ChannelHungup):
            return [self._follow(event.uniqueid, lambda: self._hung_up(event.uniqueid))]
        if isinstance(event, (ev.BridgeEntered, ev.BridgeLeft)):
            return self._bridge_changed(event)
        if isinstance(event, CallRecordChanged):
            record = event.record
            if (
                record is not None
                and not event.ended
                and record.answered_at is not None
                and record.agent
                and any(key == "click_to_dial" for key, _ in record.data)
                and record.uniqueid not in self.live
            ):
                return [self._follow(record.uniqueid, lambda: self._dialled_answered(record))]
            return []
        if isinstance(event, ev.PbxSnapshot):
            alive = {c.uniqueid for c in event.channels}
            # followed calls and calls whose start is under way (their chain closes them after it)
            gone = [u for u in {**self.live, **self._chains} if u not in alive]
            return [self._follow(u, lambda u=u: self._ended(u)) for u in gone]
        return []

    def _bridge_changed(self, event: ev.BridgeEntered | ev.BridgeLeft) -> list[asyncio.Task]:
        """A recorded channel moved to another bridge (a blind transfer, a merge), or somebody
        joined or left the bridge it is in (hold, resume, a completed transfer, the third party
        left alone with the customer): its recording is mended (`_mend`) once the bridge has been
        quiet for `mend_delay` (a transfer is several moves in a row)."""
        if isinstance(event, ev.BridgeLeft):
            if self._bridge_of.get(event.uniqueid) == event.bridge_id:
                del self._bridge_of[event.uniqueid]  # mended when it enters the next one
            concerned = [u for u in self.live if self._bridge_of.get(u) == event.bridge_id]
        else:
            self._bridge_of.pop(event.uniqueid, None)
            if len(self._bridge_of) >= 20_000:  # channels whose hang-up we never saw
                self._bridge_of.pop(next(iter(self._bridge_of)))
            self._bridge_of[event.uniqueid] = event.bridge_id
            # the recorded channel entering any bridge (it left the last one), or a party
            # entering its bridge; its first bridge (the answer) comes before its recording
            concerned = [u for u in self.live if self._bridge_of.get(u) == event.bridge_id]
        now = time.monotonic()
        for uniqueid in concerned:
            # not started yet, or the bridge forming as the call is answered: what it starts on
            started = self._started_mono.get(uniqueid)
            if started is not None and now - started >= self.start_quiet:
                self._mend_later(uniqueid)
        return []

    def _mend_later(self, uniqueid: str) -> None:
        waiting = self._menders.pop(uniqueid, None)
        if waiting is not None:
            waiting.cancel()

        async def mend():
            await asyncio.sleep(self.mend_delay)
            self._menders.pop(uniqueid, None)
            await self._follow(uniqueid, lambda: self._mend(uniqueid))

        self._menders[uniqueid] = asyncio.get_running_loop().create_task(mend(), name=f"recording-mend-{uniqueid}")

    async def mended(self) -> None:
        """Wait until every mend asked is done (tests)."""
        while self._menders:
            await asyncio.gather(*self._menders.values(), return_exceptions=True)
        await self.settled()

    async def _mend(self, uniqueid: str) -> None:
        """Restart the call's MixMonitor, appending to the same file. After its channel changed
        bridge or party, Asterisk's MixMonitor goes on writing only what the recorded channel
        says (never what it hears: after a blind transfer the customer's voice alone); a new one,
        on a fresh audiohook list (`_restart`), hears both. A paused recording is mended when
        resumed (restarting it would record)."""
        live = self.live.get(uniqueid)
        if live is None or live.recording_id is None or live.state not in (RECORDING, PAUSED):
            return
        if live.state == PAUSED:
            self._stale.add(uniqueid)
            return
        await self._restart(live)

    async def _restart(self, live: LiveRecording, *, failing: bool = False) -> None:
        """Stop the call's MixMonitor and start another on the same file (option a: appended)
        `restart_gap` later. `failing`: errors raised (a resume from the desk), else logged."""
        self._stale.discard(live.uniqueid)
        try:
            if self.pbx is None or not self.pbx.is_up:
                raise PbxUnavailable("the telephone system is not reachable right now: try again shortly")
            await self.pbx.stop_mix_monitor(live.channel)
            # the channel's audiohook list is freed once empty (at its next audio frame): the
            # new MixMonitor gets a fresh one (see RESTART_GAP)
            await asyncio.sleep(self.restart_gap)
            await self.pbx.mix_monitor(live.channel, live.spool_name, "ab")
        except CcError as exc:
            if failing:
                self._stale.add(live.uniqueid)
                raise
            logger.warning(
                "recording %s of call %s: cannot restart MixMonitor (%s)", live.recording_id, live.uniqueid, exc
            )
            return
        logger.debug(
            "recording %s of call %s: MixMonitor restarted on %s", live.recording_id, live.uniqueid, live.channel
        )

    def _in_order(self, uniqueid: str, step) -> asyncio.Task:
        """Run `step()` after the call's earlier steps (whatever became of them), beside the
        other calls' steps."""
        previous = self._chains.get(uniqueid)

        async def run():
            if previous is not None and not previous.done():
                await asyncio.wait([previous])
            return await step()

        task = asyncio.get_running_loop().create_task(run(), name=f"recording-call-{uniqueid}")
        self._chains[uniqueid] = task

        def done(t: asyncio.Task) -> None:
            if self._chains.get(uniqueid) is t:
                del self._chains[uniqueid]

        task.add_done_callback(done)
        return task

    def _follow(self, uniqueid: str, step) -> asyncio.Task:
        """A bus event's step: its failure is logged (nobody awaits it)."""

        async def logged():
            try:
                await step()
            except Exception:
                logger.exception("recording: call %s: event handling failed", uniqueid)

        return self._in_order(uniqueid, logged)

    async def _hung_up(self, uniqueid: str) -> None:
        self._callers.pop(uniqueid, None)
        self._bridge_of.pop(uniqueid, None)
        self._stale.discard(uniqueid)
        await self._ended(uniqueid)

    async def policy_for_queue(self, queue: str):
        """The queue's recording policy, read from the database once per `POLICY_TTL`."""
        now = time.monotonic()
        cached = self._policies.get(queue)
        if cached is not None and now - cached[0] < POLICY_TTL:
            return cached[1]
        generation = self._policies_generation
        policy = await asyncio.to_thread(self.repo.policy_for_queue, queue)
        if generation == self._policies_generation:  # not changed while it was read
            if len(self._policies) >= 10_000:
                self._policies.clear()
            self._policies[queue] = (now, policy)
        return policy

    def forget_policies(self, *_args) -> None:
        """A queue's or a campaign's policy changed: read them again (an ACD queue listener)."""
        self._policies_generation += 1
        self._policies.clear()

    async def _answered(self, e: ev.AgentConnected) -> None:
        if e.uniqueid in self._doomed or (e.linkedid and e.linkedid in self._doomed):
            return  # its person was erased during the call: never recorded again
        status = self.board.agent_for(e.interface)
        agent = status.username if status else e.member_name
        current = self.live.get(e.uniqueid)
        if current is not None:
            if current.state in (RECORDING, PAUSED, STOPPED):
                return  # transferred to another queue: the channel's recording goes on
            self.live[e.uniqueid] = replace(current, agent=agent, queue=e.queue)
            return
        async with self._starters:
            policy = await self.policy_for_queue(e.queue)
            if e.uniqueid in self._doomed or (e.linkedid and e.linkedid in self._doomed):
                return  # erased while its policy was read
            live_channel = self.channels.channels.get(e.uniqueid)
            record = self.tracker.open.get(e.uniqueid)
            joined_channel, joined_caller = self._callers.get(e.uniqueid, ("", ""))
            channel = (
                joined_channel or (live_channel.channel if live_channel else "") or (record.channel if record else "")
            )
            caller = (
                joined_caller
                or (record.caller_number if record else "")
                or (live_channel.caller_number if live_channel else "")
            )
            live = LiveRecording(
                uniqueid=e.uniqueid,
                linkedid=e.linkedid or e.uniqueid,
                channel=channel,
                agent=agent,
                queue=e.queue,
                policy=policy.policy,
                retention_days=policy.retention_days,
                caller_number=caller,
            )
            if policy.policy == "never":
                logger.debug("call %s queue %s: never recorded", e.uniqueid, e.queue)
                return
            self.live[e.uniqueid] = live
            if policy.starts_on_answer:
                try:
                    await self._start(live, "system")
                except CcError as exc:
                    await self._missed(live, f"could not start: {exc.message}")

    async def _dialled_answered(self, record) -> None:
        """A click-to-dial call's customer answered: recorded by the click-to-dial policy
        (setting `recording.click_to_dial_policy`), MixMonitor on the agent's channel (the call
        placed from the desk: its uniqueid), like a queue call's; no queue."""
        if record.uniqueid in self.live or record.uniqueid in self._doomed:
            return
        policy = self.click_to_dial
        if policy.policy == "never":
            logger.debug("click-to-dial call %s: never recorded", record.uniqueid)
            return
        live_channel = self.channels.channels.get(record.uniqueid)
        live = LiveRecording(
            uniqueid=record.uniqueid,
            linkedid=record.linkedid or record.uniqueid,
            channel=live_channel.channel if live_channel else "",
            agent=record.agent,
            queue="",
            policy=policy.policy,
            retention_days=policy.retention_days,
            caller_number=record.caller_number,
        )
        self.live[record.uniqueid] = live
        if policy.starts_on_answer:
            async with self._starters:
                try:
                    await self._start(live, "system")
                except CcError as exc:
                    await self._missed(live, f"could not start: {exc.message}")

    async def _missed(self, live: LiveRecording, reason: str) -> None:
        """A call its policy says to record was not recorded: an alert, not just a log line."""
        count = self.alerts.note(
            RECORDING_MISSED, self.clock.now(), call=live.uniqueid, queue=live.queue, agent=live.agent, reason=reason
        )
        logger.error(
            "call %s queue %s agent %s: policy %r says record, but the call is not recorded "
            "(%s); %d such call(s) since start",
            live.uniqueid,
            live.queue,
            live.agent,
            live.policy,
            reason,
            count,
        )
        try:
            await asyncio.to_thread(
                self.audit.record,
                "system",
                "recording.missed",
                live.uniqueid,
                queue=live.queue,
                agent=live.agent,
                policy=live.policy,
                reason=reason[:255],
            )
        except Exception:
            logger.exception("call %s: cannot audit-log the missed recording", live.uniqueid)

    async def _start(self, live: LiveRecording, actor: str) -> LiveRecording:
        """MixMonitor on the caller's channel, then its row (called on the call's chain). A
        refusal is kept as a failed row with its cause."""
        now = self.clock.now()
        name = spool_name(live.uniqueid, now, secrets.token_hex(4))
        fields = dict(
            call_uniqueid=live.uniqueid,
            linkedid=live.linkedid,
            channel=live.channel[:255],
            agent=live.agent[:64],
            queue=live.queue[:128],
            policy=live.policy,
            started_by=actor[:64],
            started_at=now,
            spool_name=name,
            retention_days=live.retention_days,
        )
        try:
            if not live.channel:
                raise Conflict(Text("call %(uniqueid)s: its channel is unknown; cannot record", uniqueid=live.uniqueid))
            if self.pbx is None or not self.pbx.is_up:
                raise PbxUnavailable("the telephone system is not reachable right now")
            await self.pbx.mix_monitor(live.channel, name, "b")
        except CcError as exc:
            await asyncio.to_thread(self.repo.insert, status="failed", ended_at=now, error=exc.message[:255], **fields)
            raise
        self._started_mono[live.uniqueid] = time.monotonic()
        row = await asyncio.to_thread(self.repo.insert, status="recording", **fields)
        started = replace(apply_action(live, "start", now), recording_id=row.id, spool_name=name)
        self.live[live.uniqueid] = started
        logger.info(
            "recording %s started on %s (call %s, queue %s, agent %s, by %s)",
            row.id,
            live.channel,
            live.uniqueid,
            live.queue,
            live.agent,
            actor,
        )
        if actor != "system":
            await asyncio.to_thread(
                self.audit.record, actor, "recording.start", str(row.id), call=live.uniqueid, queue=live.queue
            )
        return started

    async def _ended(self, uniqueid: str) -> None:
        live = self.live.pop(uniqueid, None)
        self._stale.discard(uniqueid)
        self._started_mono.pop(uniqueid, None)
        mender = self._menders.pop(uniqueid, None)
        if mender is not None:
            mender.cancel()
        doomed = self._doomed.pop(uniqueid, None)
        if live is not None and (doomed is not None or live.linkedid in self._doomed):
            # its person is being erased (forget_live waits for this chain): never indexed
            doomed, live = doomed or live.spool_name or "", None
        if doomed:
            await asyncio.to_thread(self._delete_doomed, uniqueid, doomed)
        if live is None or live.recording_id is None:
            return
        # stored beside the subscriber, never in front of the next call's start
        task = asyncio.get_running_loop().create_task(
            self._store(live, self.clock.now()), name=f"recording-finish-{live.recording_id}"
        )
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)

    async def _store(self, live: LiveRecording, ended_at: datetime) -> None:
        async with self._storers:
            await self._finish(live, ended_at)

    async def _finish(self, live: LiveRecording, ended_at: datetime) -> None:
        pauses = [list(p) for p in close_pauses(live.pauses, live.offset(ended_at))]
        try:
            source = await asyncio.to_thread(self.store.wait_closed, live.spool_name)
            if source is None:
                await asyncio.to_thread(
                    self.repo.update,
                    live.recording_id,
                    status="empty",
                    ended_at=ended_at,
                    pauses=json.dumps(pauses),
                    duration_ms=0,
                )
                logger.info("recording %s of call %s: no audio (never bridged)", live.recording_id, live.uniqueid)
                return
            name = f"{live.started_at:%Y/%m/%d}/{live.recording_id}.wav"
            stored = await asyncio.to_thread(self.store.ingest, source, name)
            customer_id = await asyncio.to_thread(self._customer_of, live)
            await asyncio.to_thread(
                self.repo.update,
                live.recording_id,
                status="stored",
                ended_at=ended_at,
                duration_ms=stored.duration_ms,
                size_bytes=stored.size_bytes,
                sha256=stored.sha256,
                path=stored.path,
                encrypted=stored.encrypted,
                pauses=json.dumps(pauses),
                customer_id=customer_id,
            )
            logger.info(
                "recording %s of call %s stored: %.2f s, %d bytes, %.1f s paused, sha256 %s",
                live.recording_id,
                live.uniqueid,
                stored.duration_ms / 1000,
                stored.size_bytes,
                paused_seconds(pauses),
                stored.sha256[:12],
            )
        except Exception as exc:
            logger.exception("recording %s of call %s could not be stored", live.recording_id, live.uniqueid)
            try:
                await asyncio.to_thread(
                    self.repo.update,
                    live.recording_id,
                    status="failed",
                    ended_at=ended_at,
                    pauses=json.dumps(pauses),
                    error=f"{type(exc).__name__}: {exc}"[:255],
                )
            except Exception:
                logger.exception("recording %s: cannot mark it failed", live.recording_id)
            await self._missed(live, f"recording {live.recording_id} could not be stored: {type(exc).__name__}: {exc}")

    def _customer_of(self, live: LiveRecording) -> int | None:
        call = self.repo.call(live.uniqueid)
        if call is not None and call.customer_id is not None:
            return call.customer_id
        if self.customers is None or not live.caller_number:
            return None
        try:
            found = self.customers.find_by_number(live.caller_number)
        except CcError:
            return None
        return getattr(found, "id", None) if found is not None else None

    # --- the agent's desk -------------------------------------------------------------------------
    def _call_of(self, username: str) -> str | None:
        """The uniqueid of the user's call now: the queue call the board shows, else a
        click-to-dial call they placed (queue "", its agent)."""
        status = self.board.agents.get(username)
        if status is not None and status.call is not None:
            return status.call.uniqueid
        # a call transferred to them (as call control finds it): their own live leg of it
        for uniqueid in self.live:
            if username in self._with_customer(uniqueid):
                return uniqueid
        return next((u for u, live in self.live.items() if live.agent == username and not live.queue), None)

    def _with_customer(self, uniqueid: str) -> set[str]:
        """The agents with a live, answered leg of this call (the one who took it, the one it
        was transferred to, the third party of a three-way call)."""
        if self.legs is None:
            return set()
        return {leg.agent for leg in self.legs(uniqueid) if leg.ended_at is None and leg.answered_at is not None}

    def _mine(self, live: LiveRecording, username: str) -> bool:
        return live.agent == username or username in self._with_customer(live.uniqueid)

    def current(self, username: str) -> LiveRecording | None:
        uniqueid = self._call_of(username)
        live = self.live.get(uniqueid) if uniqueid else None
        return live if live is not None and self._mine(live, username) else None

    def desk_state(self, username: str) -> dict[str, Any]:
        live = self.current(username)
        return {"recording": live.to_dict() if live else None}

    async def agent_action(self, username: str, action: str) -> dict[str, Any]:
        """start, pause, resume or stop the recording of the agent's current call."""
        uniqueid = self._call_of(username)
        if uniqueid is None:
            raise Conflict("you have no call in progress", field="call")
        # on the call's chain: after its start, before its hang-up
        return await asyncio.shield(self._in_order(uniqueid, lambda: self._agent_action(uniqueid, username, action)))

    async def _agent_action(self, uniqueid: str, username: str, action: str) -> dict[str, Any]:
        live = self.live.get(uniqueid)
        if live is None:
            raise Conflict("this call has no recording (its queue never records)", field="call")
        if not self._mine(live, username):
            raise Forbidden("this call is not yours", field="call")
        check_action(live, action)
        if action == "start":
            live = await self._start(live, username)
        else:
            if self.pbx is None or not self.pbx.is_up:
                raise PbxUnavailable("the telephone system is not reachable right now: try again shortly")
            if action == "resume" and uniqueid in self._stale:
                await self._restart(live, failing=True)  # moved while paused: a new one, not muted
            elif action in ("pause", "resume"):
                await self.pbx.mix_monitor_mute(live.channel, action == "pause")
            else:
                self._stale.discard(uniqueid)
                await self.pbx.stop_mix_monitor(live.channel)
            live = apply_action(live, action, self.clock.now())
            self.live[uniqueid] = live
            await asyncio.to_thread(
                self.repo.update,
                live.recording_id,
                status=PAUSED if live.state == PAUSED else RECORDING,
                pauses=json.dumps([list(p) for p in live.pauses]),
            )
            await asyncio.to_thread(
                self.audit.record,
                username,
                f"recording.{action}",
                str(live.recording_id),
                call=uniqueid,
                at_second=live.offset(self.clock.now()),
            )
            logger.info("recording %s of call %s: %s by %s", live.recording_id, uniqueid, action, username)
        return {"recording": live.to_dict()}

    # --- who sees what ------------------------------------------------------------------------------
    def scope_of(self, user) -> tuple[set[str], set[str]] | None:
        """(queues, agents) whose recordings a supervisor sees: the queues and teams they were
        given (as on the wallboard); None for admins (everything)."""
        if user.role == "admin" or self.scopes is None:
            return None
        queues, teams = self.scopes.scopes_of(user.username)
        team_of = self.scopes.teams()
        return set(queues), {u for u, team in team_of.items() if team and team in teams}

    def require(self, user, target: Target, action: str) -> None:
        """The scope rules of core/permissions.py for `user` (anything with username and role).
        Without a scope source (self.scopes None, engine tests) supervisors are not scoped."""
        if self.scopes is None and user.role != "agent":
            return
        require(actor_for(user.username, user.role, self.scopes), target, action)

    def visible(self, user, recording_id: int):
        """The recording row if `user` (supervisor or admin) may see it: its queue or its
        agent's team is theirs; Forbidden otherwise."""
        row = self.repo.get(recording_id)
        if user.role != "agent":
            self.require(user, Target.of("recording", recording_id, agents=[row.agent], queues=[row.queue]), "see")
        return row

    def visible_evaluations(self, user, rows) -> list:
        """The evaluations among `rows` that `user` may see (a supervisor: their scope's)."""
        if user.role == "admin" or (self.scopes is None and user.role != "agent"):
            return list(rows)
        actor = actor_for(user.username, user.role, self.scopes)
        return [r for r in rows if may_act(actor, Target.of("evaluation", r.id, agents=[r.agent], queues=[r.queue]))]

    def evaluation_of(self, user, evaluation_id: int, action: str = "see"):
        """The evaluation row if `user` may act on it: a supervisor of the call's queue or of
        its agent's team, an admin, or (to see and acknowledge it) the agent evaluated."""
        row = self.repo.evaluation(evaluation_id)
        self.require(user, Target.of("evaluation", evaluation_id, agents=[row.agent], queues=[row.queue]), action)
        return row

    # --- reads for the web (synchronous: call through asyncio.to_thread) ----------------------------
    def search(self, user, wanted: RecordingFilter, *, limit: int, offset: int = 0):
        """(recording, call) pairs matching `wanted` within `user`'s scope, and their total."""
        scope = self.scope_of(user)
        if scope is not None:
            wanted = replace(wanted, scope_queues=frozenset(scope[0]), scope_agents=frozenset(scope[1]))
        return self.repo.search(wanted, limit=limit, offset=offset)

    def detail(self, user, recording_id: int):
        """(recording, its call or None, its evaluations) if `user` may see the recording."""
        row = self.visible(user, recording_id)
        return row, self.repo.call(row.call_uniqueid), self.repo.evaluations(recording_id=recording_id)

    def grids(self, active_only: bool = False) -> list[dict[str, Any]]:
        return [self.grid_view(g) for g in self.repo.grids(active_only)]

    def grid(self, grid_id: int) -> dict[str, Any]:
        return self.grid_view(self.repo.grid(grid_id))

    def evaluations(
        self, *, agent: str | None = None, grid_id: int | None = None, since: datetime | None = None, limit: int = 200
    ) -> list:
        return self.repo.evaluations(agent=agent, grid_id=grid_id, since=since, limit=limit)

    def policies(self) -> dict[str, Any]:
        """The queues' and the campaigns' recording policies."""
        queues, campaigns = self.repo.queue_policies(), self.repo.campaign_policies()
        return {
            "queues": {name: {"policy": p.policy, "retention_days": p.retention_days} for name, p in queues.items()},
            "campaigns": {
                str(cid): {"policy": p.policy, "retention_days": p.retention_days} for cid, p in campaigns.items()
            },
        }

    async def set_campaign_policy(self, campaign_id: int, policy, actor: str) -> None:
        await asyncio.to_thread(self.repo.set_campaign_policy, campaign_id, policy, actor)
        self.forget_policies()
        await asyncio.to_thread(
            self.audit.record,
            actor,
            "recording.policy",
            f"camp-{campaign_id}",
            policy=policy.policy,
            retention_days=policy.retention_days,
        )

    def read_audio(self, row, start: int, end: int):
        """The stored WAV's bytes `start`..`end` (inclusive), in pieces (blocking reads: call
        `next` through asyncio.to_thread)."""
        return self.store.read(row.path, row.encrypted, start, end)

    # --- playback ---------------------------------------------------------------------------------
    def playable(self, user, recording_id: int):
        """The recording row if `user` may listen to it (admins: all; supervisors: their queues
        and teams; agents: their own calls, when the setting allows)."""
        row = self.visible(user, recording_id) if user.role != "agent" else self.repo.get(recording_id)
        if user.role == "agent":
            if not self.agents_may_listen:
                raise Forbidden("agents may not listen to recordings here", recording=recording_id)
            if row.agent != user.username:
                raise Forbidden("this recording is not one of your calls", recording=recording_id)
        if row.status != "stored" or not row.path:
            raise NotFound(
                Text(
                    "recording %(recording_id)s has no audio (%(status)s)", recording_id=recording_id, status=row.status
                ),
                recording=recording_id,
                status=row.status,
            )
        return row

    def note_playback(self, user, row, byte_range: str, remote: str) -> bool:
        """Audit-log a playback: once per user and recording per 10 minutes (a player sends a
        request per seek). True when an entry was written."""
        key = (user.username, row.id)
        now = time.monotonic()
        last = self._played.get(key)
        if last is not None and now - last < PLAYBACK_AUDIT_WINDOW:
            return False
        if len(self._played) > 10_000:
            self._played = {k: v for k, v in self._played.items() if now - v < PLAYBACK_AUDIT_WINDOW}
        self._played[key] = now
        self.audit.record(
            user.username,
            "recording.play",
            str(row.id),
            call=row.call_uniqueid,
            agent=row.agent,
            queue=row.queue,
            range=byte_range or "all",
            remote=remote,
            role=user.role,
        )
        return True

    # --- retention ------------------------------------------------------------------------------
    async def purge(self, actor: str = "system") -> dict[str, Any]:
        """Delete the recordings past their retention (files, then rows); log what went."""
        now = self.clock.now()
        expired = await asyncio.to_thread(self.repo.expired, now)
        if not expired:
            logger.info("recording purge: nothing expired")
            return {"removed": 0, "ids": [], "bytes": 0}
        ids, size = [], 0
        for row in expired:
            try:
                await asyncio.to_thread(self.store.delete, row.path)
                if row.spool_name and row.status != "stored":
                    await asyncio.to_thread(self.store.delete_spool, row.spool_name)
            except OSError as exc:
                logger.warning(
                    "recording purge: cannot delete the file of recording %s (%s); kept for the next run", row.id, exc
                )
                continue
            ids.append(row.id)
            size += row.size_bytes or 0
        removed = await asyncio.to_thread(self.repo.delete, ids)
        details = [
            {"id": r.id, "queue": r.queue, "started_at": r.started_at.isoformat(), "retention_days": r.retention_days}
            for r in expired
            if r.id in set(ids)
        ]
        logger.info(
            "recording purge: removed %d expired recording(s) (%d bytes): ids %s",
            removed,
            size,
            ",".join(map(str, ids)),
        )
        await asyncio.to_thread(
            self.audit.record,
            actor,
            "recording.purge",
            f"{removed} recordings",
            ids=ids,
            bytes=size,
            recordings=details[:500],
        )
        return {"removed": removed, "ids": ids, "bytes": size}

    # --- GDPR erasure (see capabilities/privacy) --------------------------------------------------
    async def forget_live(self, uniqueids: set[str]) -> list[str]:
        """Stop recording the live calls among `uniqueids` (their person is being erased): the
        MixMonitor is stopped, the call is never indexed, and its spool file is deleted now and
        again when the call ends (MixMonitor may still hold it open). Returns the spool names."""
        names = []
        for uniqueid in uniqueids:  # not started yet: never will be
            self._doomed.setdefault(uniqueid, "")
        # the starts under way end first: what they started is stopped below
        if self._chains:
            await asyncio.wait(set(self._chains.values()))
        async with self._lock:
            for uniqueid in [u for u, live in self.live.items() if u in uniqueids or live.linkedid in uniqueids]:
                live = self.live.pop(uniqueid)
                self._doomed[uniqueid] = live.spool_name or ""
                if live.spool_name:
                    names.append(live.spool_name)
                if live.state in (RECORDING, PAUSED) and self.pbx is not None and self.pbx.is_up:
                    try:
                        await self.pbx.stop_mix_monitor(live.channel)
                    except CcError as exc:
                        logger.warning(
                            "erasure: call %s: MixMonitor could not be stopped (%s); its "
                            "file is deleted when the call ends",
                            uniqueid,
                            exc.message,
                        )
                logger.info("erasure: recording %s of live call %s stopped and discarded", live.recording_id, uniqueid)
        return names

    def _delete_doomed(self, uniqueid: str, spool: str) -> None:
        try:
            path = self.store.wait_closed(spool)
            if path is not None:
                path.unlink(missing_ok=True)
                logger.info("erasure: spool file of call %s deleted after the hangup", uniqueid)
        except OSError as exc:
            logger.error("erasure: cannot delete the spool file %s of call %s: %s", spool, uniqueid, exc)

    # --- quality grids and evaluations (synchronous: call through asyncio.to_thread) ----------------
    @staticmethod
    def grid_view(row) -> dict[str, Any]:
        definition = json.loads(row.definition)
        return {
            "id": row.id,
            "name": row.name,
            "description": row.description,
            "version": row.version,
            "active": row.active,
            "sections": definition["sections"],
            "created_by": row.created_by,
            "updated_at": row.updated_at.isoformat(),
        }

    def save_grid(self, grid_id: int | None, data: Any, actor: str) -> dict[str, Any]:
        grid = parse_grid(data)
        active = data.get("active", True)
        if not isinstance(active, bool):
            raise InvalidInput("active is true or false", field="active")
        row = self.repo.save_grid(grid_id, grid.name, grid.description, grid.to_dict(), actor, active)
        self.audit.record(
            actor,
            "quality.grid.create" if grid_id is None else "quality.grid.update",
            str(row.id),
            name=grid.name,
            version=row.version,
        )
        return self.grid_view(row)

    def evaluation_view(self, row) -> dict[str, Any]:
        grid = json.loads(row.grid_snapshot)
        result = score_evaluation(parse_grid(grid), json.loads(row.answers))
        return {
            "id": row.id,
            "grid_id": row.grid_id,
            "grid_name": grid["name"],
            "grid_version": row.grid_version,
            "sections": grid["sections"],
            "recording_id": row.recording_id,
            "call_uniqueid": row.call_uniqueid,
            "agent": row.agent,
            "queue": row.queue,
            "evaluator": row.evaluator,
            "last_edited_by": row.last_edited_by or None,
            "last_edited_at": row.last_edited_at.isoformat() if row.last_edited_at else None,
            "answers": json.loads(row.answers),
            "score": row.score,
            "fatal": row.fatal,
            "section_scores": result.to_dict()["sections"],
            "failed_fatal": list(result.failed_fatal),
            "comment": row.comment,
            "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat(),
            "acknowledged_at": row.acknowledged_at.isoformat() if row.acknowledged_at else None,
        }

    def evaluate(
        self, recording_id: int, grid_id: int, answers: Any, comment: Any, evaluator: str, role: str | None = None
    ) -> dict[str, Any]:
        """`role` None: an internal caller (no scope check); a user's evaluation is checked
        against their scope before anything is written."""
        recording = self.repo.get(recording_id)
        if role is not None:
            self.require(
                _User(evaluator, role),
                Target.of("recording", recording_id, agents=[recording.agent], queues=[recording.queue]),
                "evaluate",
            )
        grid_row = self.repo.grid(grid_id)
        if not grid_row.active:
            raise Conflict(Text("grid %(name)r is retired", name=grid_row.name), field="grid_id")
        comment = self._comment(comment)
        if recording.agent == evaluator:
            raise Forbidden("nobody evaluates their own calls", field="recording_id")
        result = score_evaluation(parse_grid(json.loads(grid_row.definition)), answers)
        now = self.clock.now()
        row = self.repo.add_evaluation(
            grid_id=grid_row.id,
            grid_version=grid_row.version,
            grid_snapshot=grid_row.definition,
            recording_id=recording.id,
            call_uniqueid=recording.call_uniqueid,
            agent=recording.agent,
            queue=recording.queue,
            evaluator=evaluator[:64],
            answers=json.dumps(dict(result.answers)),
            score=result.score,
            fatal=result.fatal,
            comment=comment,
            created_at=now,
            updated_at=now,
        )
        self.audit.record(
            evaluator,
            "quality.evaluate",
            str(row.id),
            recording=recording.id,
            agent=recording.agent,
            grid=grid_row.name,
            score=result.score,
            fatal=result.fatal,
        )
        return self.evaluation_view(row)

    def update_evaluation(
        self, evaluation_id: int, answers: Any, comment: Any, evaluator: str, role: str | None = None
    ) -> dict[str, Any]:
        """Change an evaluation: the first evaluator's name stays, the editor and the time of
        the edit are kept next to it (and in the audit log)."""
        if role is not None:
            row = self.evaluation_of(_User(evaluator, role), evaluation_id, "edit")
        else:
            row = self.repo.evaluation(evaluation_id)
        if row.agent == evaluator:
            raise Forbidden("nobody evaluates their own calls", field="evaluation")
        result = score_evaluation(parse_grid(json.loads(row.grid_snapshot)), answers)
        now = self.clock.now()
        row = self.repo.update_evaluation(
            evaluation_id,
            answers=json.dumps(dict(result.answers)),
            score=result.score,
            fatal=result.fatal,
            comment=self._comment(comment),
            updated_at=now,
            acknowledged_at=None,
            last_edited_by=evaluator[:64],
            last_edited_at=now,
        )
        self.audit.record(
            evaluator,
            "quality.evaluation.update",
            str(row.id),
            score=result.score,
            fatal=result.fatal,
            evaluator=row.evaluator,
            agent=row.agent,
        )
        return self.evaluation_view(row)

    @staticmethod
    def _comment(comment: Any) -> str:
        comment = comment or ""
        if not isinstance(comment, str) or len(comment) > 10_000:
            raise InvalidInput("comment: text up to 10,000 characters", field="comment")
        return comment.strip()

    def acknowledge(self, username: str, evaluation_id: int) -> dict[str, Any]:
        row = self.evaluation_of(_User(username, "agent"), evaluation_id, "acknowledge")
        if row.acknowledged_at is None:
            row = self.repo.update_evaluation(evaluation_id, acknowledged_at=self.clock.now())
        return self.evaluation_view(row)

    def averages(self, since: datetime | None = None, user=None) -> dict[str, Any]:
        """Average scores by agent and grid; a supervisor's (`user`) cover their scope only."""
        rows = self.repo.score_rows(since)
        if user is not None and user.role != "admin" and not (self.scopes is None and user.role != "agent"):
            actor = actor_for(user.username, user.role, self.scopes)
            rows = [r for r in rows if may_act(actor, Target.of("evaluation", "-", agents=[r[0]], queues=[r[5]]))]
        rows = [r[:5] for r in rows]
        return {
            "by_agent": [a.to_dict() for a in averages((agent, score, fatal) for agent, _g, _n, score, fatal in rows)],
            "by_grid": [a.to_dict() for a in averages((name, score, fatal) for _a, _g, name, score, fatal in rows)],
            "by_agent_and_grid": [
                a.to_dict()
                for a in averages((f"{agent} · {name}", score, fatal) for agent, _g, name, score, fatal in rows)
            ],
        }


class _User:
    """A username and a role: what the scope rules need of a user."""

    __slots__ = ("username", "role")

    def __init__(self, username: str, role: str) -> None:
        self.username, self.role = username, role
