"""What the dialer learns from its calls: each attempt's progress (events from the
`AttemptTracker`) is written to its row; a final outcome also sets the contact's next step
(retry time, done, exhausted) in the same transaction, and feeds the pacing statistics of
predictive campaigns. Housekeeping releases expired preview reservations, ends attempts whose
call vanished, and tells agents about their due callbacks.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from ...core import events as ev
from ...core.clock import Clock
from .access import Notifier
from .dialer import AttemptTracker, DialAttemptChanged, Outcome, RetryPolicy, after_attempt
from .pacing import PacingStats
from .ports import OutboundRepositoryPort
from .views import contact_dict

logger = logging.getLogger(__name__)


class AttemptOutcomes:
    def __init__(
        self, repo: OutboundRepositoryPort, *, clock: Clock, tracker: AttemptTracker, notify: Notifier
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.tracker = tracker
        self.notify = notify
        self.stats: dict[int, PacingStats] = {}
        self._stats_counted: dict[int, set[str]] = {}
        self._callbacks_notified: set[int] = set()

    async def start(self) -> None:
        """Contacts and attempts a stopped server left open, then the last 24 h of pacing."""
        now = self.clock.now()
        reset = await asyncio.to_thread(self._close_stale, now)
        if reset:
            logger.info("outbound: %d contact(s) left dialing by the previous run are pending again", reset)
        await self._load_stats()

    def _close_stale(self, now: datetime) -> int:
        reset = self.repo.reset_dialing(now)
        self._close_stale_attempts(now)
        return reset

    def _close_stale_attempts(self, now: datetime) -> None:
        """Attempts a stopped server left open: their calls are gone."""
        for attempt in self.repo.open_attempts():
            outcome = {"dialing": Outcome.NO_ANSWER, "answered": Outcome.HANGUP, "connected": Outcome.COMPLETED}[
                attempt.outcome
            ]
            self.repo.update_attempt(attempt.id, outcome=outcome.value, ended_at=attempt.ended_at or now)

    def stats_of(self, campaign_id: int) -> PacingStats:
        if campaign_id not in self.stats:
            self.stats[campaign_id] = PacingStats()
            self._stats_counted[campaign_id] = set()
        return self.stats[campaign_id]

    async def on_attempt_event(self, event: ev.Event) -> None:
        if not isinstance(event, DialAttemptChanged):
            return
        self._count_stats(event)
        values: dict[str, Any] = dict(
            outcome=event.outcome,
            answered_at=event.answered_at,
            connected_at=event.connected_at,
            ended_at=event.ended_at,
            amd_result=event.amd_result,
            hangup_cause=event.hangup_cause,
            talk_seconds=event.talk_seconds,
        )
        if event.agent:
            values["agent"] = event.agent
        values = {k: v for k, v in values.items() if v is not None}
        if event.final:
            await asyncio.to_thread(self._end_attempt, event, values)
        else:
            await asyncio.to_thread(self.repo.update_attempt, event.attempt_id, **values)
        self.notify(
            {
                "topic": "outbound_attempt",
                "attempt_id": event.attempt_id,
                "campaign_id": event.campaign_id,
                "contact_id": event.contact_id,
                "outcome": event.outcome,
                "final": event.final,
                "agent": event.agent,
            },
            roles={"supervisor", "admin"},
        )

    def _count_stats(self, event: DialAttemptChanged) -> None:
        if event.mode == "preview":
            return
        stats = self.stats_of(event.campaign_id)
        counted = self._stats_counted[event.campaign_id]
        now_s = (event.ended_at or self.clock.now()).timestamp()
        key = str(event.attempt_id)
        if event.human and key + ":answered" not in counted and event.answered_at is not None:
            counted.add(key + ":answered")
            answer_after = (event.answered_at - event.started_at).total_seconds() if event.started_at else 0.0
            stats.record_answered(event.answered_at.timestamp(), max(0.0, answer_after))
        if event.outcome == Outcome.ABANDONED.value and key + ":abandoned" not in counted:
            counted.add(key + ":abandoned")
            stats.record_abandoned(now_s)
        if event.final:
            if key + ":answered" not in counted:
                stats.record_unanswered(now_s)
            if event.outcome == Outcome.COMPLETED.value and event.connected_at and event.ended_at:
                stats.record_handled(now_s, event.talk_seconds or (event.ended_at - event.connected_at).total_seconds())
            for suffix in (":answered", ":abandoned"):
                counted.discard(key + suffix)

    def _end_attempt(self, event: DialAttemptChanged, values: dict[str, Any]) -> None:
        """The attempt's final state and the contact's next step from its outcome, written in
        one transaction (thread)."""
        campaign = self.repo.campaign(event.campaign_id)
        contact = self.repo.contact(event.contact_id)
        outcome = Outcome(event.outcome)
        attempts = contact.attempts + (0 if outcome is Outcome.NOT_DIALED else 1)
        policy = RetryPolicy(
            busy=timedelta(minutes=campaign.retry_busy_minutes),
            no_answer=timedelta(minutes=campaign.retry_no_answer_minutes),
            machine=timedelta(minutes=campaign.retry_machine_minutes),
            abandoned=timedelta(minutes=campaign.retry_abandoned_minutes),
            congestion=timedelta(minutes=campaign.retry_congestion_minutes),
            max_attempts=campaign.max_attempts,
        )
        ended = event.ended_at or self.clock.now()
        step = after_attempt(policy, outcome, attempts, ended)
        if contact.status not in ("dialing", "reserved", "callback"):
            step_status = contact.status  # the agent already set a callback or a result
        else:
            step_status = step.status
        self.repo.end_attempt(
            event.attempt_id,
            values,
            contact.id,
            dict(
                status=step_status,
                attempts=attempts,
                last_outcome=outcome.value,
                last_attempt_at=event.started_at or ended,
                next_attempt_at=step.next_attempt_at or contact.next_attempt_at,
                reserved_by="",
                reserved_until=None,
            ),
            self.clock.now(),
        )
        logger.info(
            "dialer: attempt %s (contact %s) ended %s -> %s%s",
            event.attempt_id,
            contact.id,
            outcome.value,
            step_status,
            f" at {step.next_attempt_at:%Y-%m-%d %H:%M}Z" if step.next_attempt_at else "",
        )

    def _recent_attempts(self, since: datetime) -> list[tuple[int, list]]:
        return [(c.id, self.repo.attempts(c.id, since, 2000)) for c in self.repo.campaigns(["running", "paused"])]

    async def _load_stats(self) -> None:
        since = self.clock.now() - timedelta(hours=24)
        for campaign_id, rows in await asyncio.to_thread(self._recent_attempts, since):
            stats = self.stats_of(campaign_id)
            for a in reversed(rows):
                if a.mode == "preview" or a.outcome in ("dialing", Outcome.NOT_DIALED.value):
                    continue
                end = (a.ended_at or a.started_at).timestamp()
                if a.answered_at is not None and a.outcome not in ("machine",):
                    stats.record_answered(a.answered_at.timestamp(), (a.answered_at - a.started_at).total_seconds())
                    if a.outcome == "abandoned":
                        stats.record_abandoned(end)
                    if a.outcome == "completed" and a.connected_at and a.ended_at:
                        stats.record_handled(end, a.talk_seconds or (a.ended_at - a.connected_at).total_seconds())
                else:
                    stats.record_unanswered(end)

    async def housekeeping(self) -> None:
        now = self.clock.now()
        released = await asyncio.to_thread(self.repo.release_expired_reservations, now)
        if released:
            logger.info("outbound: %d preview reservation(s) expired", released)
        for event in self.tracker.expire(now - timedelta(minutes=5)):
            await self.on_attempt_event(event)
        due = await asyncio.to_thread(self.repo.due_callbacks, now)
        for contact in due:
            if contact.id not in self._callbacks_notified:
                self.notify(
                    {"topic": "outbound_callback_due", "contact": contact_dict(contact)},
                    usernames={contact.callback_agent},
                )
        self._callbacks_notified = {c.id for c in due}
