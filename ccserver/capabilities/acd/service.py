"""Inbound use cases: provisioning queues and SIP accounts into Asterisk, agents' login, pause,
wrap-up and logout, and keeping Asterisk's memberships as the agents left them.

Commands go to Asterisk through the PbxCommands port; the agents' states change only when
Asterisk confirms (queue events -> AgentBoard). The database keeps each agent's login so that
an Asterisk restart puts everybody back as they were.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from ...core import events as ev
from ...core.clock import Clock
from ...core.errors import Conflict, InvalidInput, NotFound, PbxCommandFailed, PbxUnavailable
from ...core.permissions import Actor, Target, actor_for, require
from ...core.ports import AuditTrail, ConfigWriter, PbxCommands
from ...core.text import Text
from ..agents.model import (
    WRAPUP_REASON,
    AgentBoard,
    AgentMembershipLost,
    AgentState,
    AgentStateChanged,
    AgentStatus,
    AgentWrapUpStarted,
)
from ..calls.legs import CallLeg, CallLegsChanged, CallLegTracker, talk_by_agent
from ..calls.model import CallRecord, CallRecordChanged, CallTracker
from ..media.model import MediaConfig
from .errors import NoSuchQueue, QueueSettingRefused
from .model import (
    AgentAccount,
    QueueDefinition,
    check_phone_choice,
    member_penalty,
    parse_skills,
    render_acd_dialplan,
    render_pjsip_agents,
    render_queues,
    validate_agent,
    validate_queue,
)
from .ports import AcdRepository

if TYPE_CHECKING:
    from ..customers.service import CustomerService

logger = logging.getLogger(__name__)


class AcdService:
    def __init__(
        self,
        repo: AcdRepository,
        board: AgentBoard,
        tracker: CallTracker,
        pbx: PbxCommands | None,
        writer: ConfigWriter | None,
        audit: AuditTrail,
        clock: Clock,
        *,
        customers: CustomerService | None = None,
    ) -> None:
        self.repo = repo
        self.customers = customers  # a wrap-up records the contact and the ticket there
        self.board = board
        self.tracker = tracker
        self.pbx = pbx
        self.writer = writer
        self.audit = audit
        self.clock = clock
        self._wrapup_timers: dict[str, asyncio.TimerHandle] = {}
        # one queue change at a time: each is tried on Asterisk, then stored or rolled back
        self._queue_changes = asyncio.Lock()
        # told the queue definitions each time they are (re)applied (wallboard targets...)
        self.queue_listeners: list = []
        # other places naming a queue (IVR scripts...): queue -> ["ivr NAME node N", ...]
        self.queue_users: list = []
        # each queue's language, music class, prompts and closed days (capabilities/media,
        # set by app.py); None: every queue in the default language and music
        self.media_config: Callable[[], Awaitable[MediaConfig]] | None = None
        # the phone each agent chose at their last login ("softphone" when absent): the queue
        # member interface is that phone's (PJSIP/<sip user> or PJSIP/<sip user>~webrtc)
        self.phones: dict[str, str] = {}
        # each call's legs (the agents who handled it), set by the plugin
        self.legs: CallLegTracker | None = None

    # --- start-up -----------------------------------------------------------------------------
    async def load(self) -> None:
        """Agents, stored logins and open calls from the database into the live models."""
        agents = await asyncio.to_thread(self.repo.agents)
        logins = {login.username: login for login in await asyncio.to_thread(self.repo.stored_logins)}
        queues = await asyncio.to_thread(self.repo.queues)
        self.board.wrapup_seconds = {q.name: q.wrapup_seconds for q in queues}
        for agent in agents:
            login = logins.get(agent.username)
            if login is not None:
                self.phones[agent.username] = login.phone
            self.board.add_agent(
                agent.username,
                self.interface_of(agent),
                queues=frozenset(login.queues) if login else frozenset(),
                paused=login.paused if login else False,
                reason=login.pause_reason if login else "",
            )
        open_calls = await asyncio.to_thread(self.repo.open_calls)
        self.tracker.load_open([record_from_row(row) for row in open_calls])

    async def apply_configuration(self, queues: list[QueueDefinition] | None = None) -> None:
        """Render queues, SIP accounts and dialplan from the database (or these queues, to try
        them before they are stored) and reload Asterisk. The queue listeners are told only of
        stored queues (they read the database): a trial is told by `_queues_stored`."""
        stored = queues is None
        if queues is None:
            queues = await asyncio.to_thread(self.repo.queues)
        agents = await asyncio.to_thread(self.repo.agents)
        accounts = await asyncio.to_thread(self.repo.sip_accounts)
        media = await self.media_config() if self.media_config is not None else None
        now = self.clock.now()
        files = {
            "pjsip_agents.conf": render_pjsip_agents(accounts),
            "queues_generated.conf": render_queues(queues, media),
            "extensions_acd.conf": render_acd_dialplan(queues, [now.year, now.year + 1], phones=accounts, media=media),
        }
        self.board.wrapup_seconds = {q.name: q.wrapup_seconds for q in queues}
        for agent in agents:
            self.board.add_agent(agent.username, self.interface_of(agent))
        if stored:
            self._queues_stored(queues)
        if self.writer is None:
            logger.warning("no Asterisk configuration writer: queues and SIP accounts not applied")
            return
        for name, text in files.items():
            await asyncio.to_thread(self.writer.write_generated, name, text)
        await self._reload_asterisk()

    def _queues_stored(self, queues: list[QueueDefinition]) -> None:
        """Tell the queue listeners (the IVR validates its scripts against the queues) the
        queues as they now are in the database."""
        for listener in self.queue_listeners:
            listener(queues)

    async def _reload_asterisk(self) -> None:
        """Make Asterisk read the generated files (again after each AMI login: it may have been
        running before they were written)."""
        if self.pbx is None or not self.pbx.is_up or self.writer is None:
            return
        for module in ("res_pjsip.so", "app_queue.so", "pbx_config.so"):  # pbx_config: the dialplan
            await self.pbx.reload(module)

    # --- administration ----------------------------------------------------------------------------
    async def create_queue(self, queue: QueueDefinition, actor: str) -> None:
        async with self._queue_changes:
            current = await asyncio.to_thread(self.repo.queues)
            if queue.name in {q.name for q in current}:
                raise Conflict(Text("a queue named %(name)r already exists", name=queue.name), field="name")
            validate_queue(queue, await asyncio.to_thread(self.repo.skills), {q.name for q in current} | {queue.name})
            await self._apply_checked([*current, queue], current, queue)
            await asyncio.to_thread(self.repo.save_queue, queue, create=True)
            self._queues_stored([*current, queue])
            await asyncio.to_thread(self.audit.record, actor, "queue.create", queue.name, after=queue_dict(queue))

    async def update_queue(self, queue: QueueDefinition, actor: str) -> None:
        """Validated, tried on Asterisk, and stored only when Asterisk runs it: a setting it does
        not take puts the previous configuration back and leaves the database as it was."""
        async with self._queue_changes:
            current = await asyncio.to_thread(self.repo.queues)
            by_name = {q.name: q for q in current}
            if queue.name not in by_name:
                raise NoSuchQueue(Text("no queue named %(name)r", name=queue.name), field="name", queue=queue.name)
            validate_queue(queue, await asyncio.to_thread(self.repo.skills), set(by_name))
            before = by_name[queue.name]
            proposed = [queue if q.name == queue.name else q for q in current]
            await self._apply_checked(proposed, current, queue)
            await asyncio.to_thread(self.repo.save_queue, queue, create=False)
            self._queues_stored(proposed)
            old, new = queue_dict(before), queue_dict(queue)
            changed = sorted(k for k in new if old.get(k) != new[k])
            await asyncio.to_thread(
                self.audit.record,
                actor,
                "queue.update",
                queue.name,
                before={k: old.get(k) for k in changed},
                after={k: new[k] for k in changed},
            )

    async def remove_queue(self, name: str, actor: str) -> None:
        """Refused while agents are logged into it or another queue overflows into it."""
        async with self._queue_changes:
            current = await asyncio.to_thread(self.repo.queues)
            by_name = {q.name: q for q in current}
            if name not in by_name:
                raise NoSuchQueue(Text("no queue named %(name)r", name=name), field="name", queue=name)
            users = sorted(f"agent {s.username} (logged in)" for s in self.board.agents.values() if name in s.queues)
            users += sorted(
                f"queue {q.name} (overflow)"
                for q in current
                if q.overflow_kind == "queue" and q.overflow_target == name
            )
            users += [where for find in self.queue_users for where in find(name)]
            if users:
                raise Conflict(
                    Text("queue %(name)r is in use by %(value)s", name=name, value=", ".join(users)),
                    field="name",
                    used_by=users,
                )
            remaining = [q for q in current if q.name != name]
            await self._apply_checked(remaining, current, None)
            await asyncio.to_thread(self.repo.delete_queue, name)
            self._queues_stored(remaining)
            await asyncio.to_thread(self.audit.record, actor, "queue.remove", name, before=queue_dict(by_name[name]))

    async def _apply_checked(
        self, proposed: list[QueueDefinition], previous: list[QueueDefinition], changed: QueueDefinition | None
    ) -> None:
        """Apply `proposed`; when Asterisk refuses the reload or does not run the changed queue
        as written, apply `previous` again and raise QueueSettingRefused (nothing is stored).
        A refused reload may have dropped the queues' members: they are put back as they were."""
        members = [
            AgentMembershipLost(
                username=s.username,
                interface=s.interface,
                queues=tuple(sorted(s.queues)),
                paused=bool(s.paused_in),
                reason=s.pause_reason,
            )
            for s in self.board.agents.values()
            if s.queues
        ]
        try:
            await self.apply_configuration(proposed)
            problem = await self._not_running_as_written(changed)
        except PbxCommandFailed as exc:
            problem = f"the reload failed ({exc})"
        except BaseException:
            await self.apply_configuration(previous)  # the files as they were, for the next reload
            raise
        if problem is None:
            return
        await self.apply_configuration(previous)
        for member in members:
            await self._restore(member, quiet=True)
        name = changed.name if changed else ""
        raise QueueSettingRefused(
            Text(
                "Asterisk did not take the settings of queue %(name)r: %(problem)s; the previous settings are running",
                name=name,
                problem=problem,
            ),
            field=problem.split(" ", 1)[0] if problem.split(" ", 1)[0] in QueueDefinition.__dataclass_fields__ else "",
            queue=name,
        )

    async def _not_running_as_written(self, queue: QueueDefinition | None) -> str | None:
        """What app_queue runs differs from `queue`: the first difference, named by our field;
        None when it matches (or when this PBX link cannot tell)."""
        if queue is None or self.pbx is None or not self.pbx.is_up or self.writer is None:
            return None
        running = await self.pbx.queue_params()
        if running is None:
            return None
        params = running.get(queue.name)
        if params is None:
            return "name: the queue is not loaded"
        expected = {
            "strategy": ("strategy", queue.strategy),
            "max_callers": ("max", str(queue.max_callers)),
            "service_level_seconds": ("servicelevel", str(queue.service_level_seconds)),
        }
        for field_name, (param, value) in expected.items():
            if param in params and params[param] != value:
                return f"{field_name} runs as {params[param]!r}, not {value!r}"
        return None

    async def create_agent(
        self, username: str, password: str, display_name: str, skills: str | dict, actor: str, team: str = ""
    ) -> AgentAccount:
        parsed = parse_skills(skills) if isinstance(skills, str) else dict(skills)
        known = await asyncio.to_thread(self.repo.skills)
        validate_agent(AgentAccount(username, display_name, username.replace(".", "-"), "x" * 16, parsed), known)
        account = await asyncio.to_thread(self.repo.create_agent, username, password, display_name, parsed, team)
        await asyncio.to_thread(self.audit.record, actor, "agent.create", username)
        await self.apply_configuration()
        return account

    async def reset_sip_password(self, username: str, actor: str) -> AgentAccount:
        """A new SIP password for `username`'s phone, applied to Asterisk at once (the old one
        stops working). Only its digests are stored: the account returned carries it in clear,
        to be shown this once."""
        account = await asyncio.to_thread(self.repo.reset_sip_password, username)
        await asyncio.to_thread(self.audit.record, actor, "agent.sip_password_reset", username)
        await self.apply_configuration()
        return account

    # --- what the pages show ------------------------------------------------------------------------
    def status_of(self, username: str) -> AgentStatus | None:
        """The agent's live state (None: no agent account)."""
        return self.board.agents.get(username)

    def focus_call(self, username: str, uniqueid: str) -> list[ev.Event]:
        """The agent's desk shows their call `uniqueid` (one of their calls at once) from now:
        the board's events to publish (none when it is shown already or not theirs)."""
        return self.board.focus(username, uniqueid)

    async def queues(self) -> list[QueueDefinition]:
        return await asyncio.to_thread(self.repo.queues)

    async def queue(self, name: str) -> QueueDefinition:
        return await asyncio.to_thread(self.repo.queue, name)

    async def agents(self) -> list[AgentAccount]:
        return await asyncio.to_thread(self.repo.agents)

    async def agent(self, username: str) -> AgentAccount:
        return await asyncio.to_thread(self.repo.agent, username)

    async def skills(self) -> list[str]:
        return await asyncio.to_thread(self.repo.skills)

    async def pause_reasons(self) -> list:
        return await asyncio.to_thread(self.repo.pause_reasons)

    async def agents_with_status(self) -> list[tuple[AgentAccount, AgentStatus | None]]:
        """Every agent account with its live state (None when the board does not know it)."""
        return [(a, self.board.agents.get(a.username)) for a in await self.agents()]

    # --- agent actions -----------------------------------------------------------------------------
    def _status(self, username: str):
        status = self.board.agents.get(username)
        if status is None:
            raise InvalidInput(Text("%(username)r is not an agent", username=username), field="username")
        return status

    def _require_pbx(self):
        if self.pbx is None or not self.pbx.is_up:
            raise PbxUnavailable("the telephone system is not reachable right now: try again shortly")
        return self.pbx

    async def eligible_queues(self, username: str) -> list[tuple[QueueDefinition, int]]:
        agent = await asyncio.to_thread(self.repo.agent, username)
        result = []
        for queue in await asyncio.to_thread(self.repo.queues):
            penalty = member_penalty(agent.skills, queue.required_skills)
            if penalty is not None:
                result.append((queue, penalty))
        return result

    def interface_of(self, agent: AgentAccount) -> str:
        """The queue member interface of `agent`: that of the phone chosen at login."""
        return agent.interface_for(self.phones.get(agent.username, "softphone"))

    def phone_of(self, username: str) -> str:
        """The phone `username` takes calls on: "softphone" or "browser"."""
        return self.phones.get(username, "softphone")

    async def login(self, username: str, queues: Iterable[str] | None = None, phone: str | None = None) -> list[str]:
        """Join the given queues (default: every queue the agent's skills allow), taking calls
        on `phone` ("softphone", the default, or "browser": the desk's WebRTC phone). Already
        in queues with the other phone: Conflict (log out first: a member has one interface)."""
        pbx = self._require_pbx()
        status = self._status(username)
        phone = check_phone_choice(phone)
        agent = await asyncio.to_thread(self.repo.agent, username)
        interface = agent.interface_for(phone)
        if status.queues and interface != status.interface:
            raise Conflict(
                Text(
                    "%(username)s is logged in with the %(value)s: log out before changing phones",
                    username=username,
                    value=self.phone_of(username),
                ),
                field="phone",
            )
        eligible = {q.name: penalty for q, penalty in await self.eligible_queues(username)}
        wanted = list(queues) if queues is not None else sorted(eligible)
        refused = [q for q in wanted if q not in eligible]
        if refused:
            raise InvalidInput(
                Text(
                    "%(username)s lacks the skills of queue(s) %(value)s", username=username, value=", ".join(refused)
                ),
                field="queues",
                queues=refused,
            )
        if not wanted:
            raise InvalidInput(Text("no queue matches %(username)s's skills", username=username), field="queues")
        self.phones[username] = phone
        status = self.board.add_agent(username, interface)
        for queue in wanted:
            if queue in status.queues:
                continue
            try:
                await pbx.queue_add(queue, interface, member_name=username, penalty=eligible[queue])
            except Exception as exc:
                if "Already there" not in str(exc):
                    raise
        await asyncio.to_thread(
            self.repo.store_login, username, set(wanted) | set(status.queues), False, "", phone=phone
        )
        logger.info("agent %s logged in to %s on the %s (%s)", username, ",".join(wanted), phone, interface)
        return wanted

    async def logout(self, username: str) -> None:
        pbx = self._require_pbx()
        status = self._status(username)
        if status.state in (AgentState.ON_CALL, AgentState.RINGING):
            raise Conflict("finish the current call before logging out", field="state")
        for queue in sorted(status.queues):
            await pbx.queue_remove(queue, status.interface)
        await asyncio.to_thread(self.repo.clear_login, username)
        self._cancel_wrapup(username)

    def logged_in_agents(self) -> list[str]:
        """The agents Asterisk has in at least one queue (as the board last heard it)."""
        return sorted(name for name, status in self.board.agents.items() if status.queues)

    async def logout_everywhere(self, username: str, actor: str, why: str = "") -> list[str]:
        """Take `username` out of every queue now, whatever they are doing (an account being
        disabled: a call in progress goes on, no new one comes). Their stored login goes first,
        so an Asterisk restart does not put them back. Returns the queues they left."""
        status = self.board.agents.get(username)
        queues = sorted(status.queues) if status is not None else []
        await asyncio.to_thread(self.repo.clear_login, username)
        if queues:
            pbx = self._require_pbx()
            for queue in queues:
                try:
                    await pbx.queue_remove(queue, status.interface)
                except Exception as exc:  # already gone (a race with their own logout) is fine
                    if "Not there" not in str(exc):
                        raise
        self._cancel_wrapup(username)
        await asyncio.to_thread(self.audit.record, actor, "agent.logout_everywhere", username, queues=queues, why=why)
        logger.info("agent %s logged out of %s by %s (%s)", username, ",".join(queues) or "no queue", actor, why)
        return queues

    async def pause(self, username: str, reason: str) -> None:
        pbx = self._require_pbx()
        status = self._status(username)
        codes = {r.code for r in await asyncio.to_thread(self.repo.pause_reasons)}
        if reason not in codes:
            raise InvalidInput(
                Text("unknown pause reason %(reason)r", reason=reason), field="reason", allowed=sorted(codes)
            )
        if not status.queues:
            raise Conflict("log in before pausing", field="state")
        await pbx.queue_pause(None, status.interface, True, reason)
        await asyncio.to_thread(self.repo.store_login, username, status.queues, True, reason)
        self._cancel_wrapup(username)

    async def unpause(self, username: str) -> None:
        """Back to available (also ends a wrap-up early)."""
        pbx = self._require_pbx()
        status = self._status(username)
        if not status.queues:
            raise Conflict("log in first", field="state")
        await pbx.queue_pause(None, status.interface, False)
        await asyncio.to_thread(self.repo.store_login, username, status.queues, False, "")
        self._cancel_wrapup(username)

    def _cancel_wrapup(self, username: str) -> None:
        timer = self._wrapup_timers.pop(username, None)
        if timer is not None:
            timer.cancel()

    # --- reactions to events (bus subscriber) -------------------------------------------------------
    async def on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.PbxLinkUp) and event.link == "ami":
            await self._reload_asterisk()
        elif isinstance(event, AgentMembershipLost):
            await self._restore(event)
        elif isinstance(event, AgentWrapUpStarted):
            await self._start_wrapup(event)

    async def _restore(self, event: AgentMembershipLost, quiet: bool = False) -> None:
        """Asterisk restarted (or a refused reload dropped the members): put the agent back in
        their queues, paused as they were. `quiet`: memberships still there are no news."""
        if self.pbx is None or not self.pbx.is_up:
            return
        eligible = {q.name: p for q, p in await self.eligible_queues(event.username)}
        for queue in event.queues:
            if queue not in eligible:
                continue
            try:
                await self.pbx.queue_add(
                    queue,
                    event.interface,
                    member_name=event.username,
                    penalty=eligible[queue],
                    paused=event.paused,
                    reason=event.reason if event.paused else "",
                )
            except Exception as exc:
                if not (quiet and "Already there" in str(exc)):
                    logger.warning("agent %s: cannot restore membership of %s: %s", event.username, queue, exc)
        logger.info(
            "agent %s restored in %s (paused=%s %s)", event.username, ",".join(event.queues), event.paused, event.reason
        )

    async def _start_wrapup(self, event: AgentWrapUpStarted) -> None:
        if self.pbx is None or not self.pbx.is_up:
            return
        await self.pbx.queue_pause(None, event.interface, True, WRAPUP_REASON)
        loop = asyncio.get_running_loop()
        self._cancel_wrapup(event.username)
        self._wrapup_timers[event.username] = loop.call_later(
            event.seconds, lambda: loop.create_task(self._end_wrapup(event.username))
        )

    async def _end_wrapup(self, username: str) -> None:
        self._wrapup_timers.pop(username, None)
        status = self.board.agents.get(username)
        if status is not None and status.state == AgentState.WRAP_UP:
            try:
                await self.unpause(username)
            except Exception as exc:
                logger.warning("agent %s: wrap-up could not end: %s", username, exc)

    # --- after the call: notes, disposition, ticket (runs in a thread) ------------------------------
    def save_wrapup(self, username: str, body: dict) -> dict:
        """Validate everything first, then write: the call row, the customer's interaction and
        the ticket. An agent may only annotate calls they took."""
        uniqueid = body.get("uniqueid")
        if not isinstance(uniqueid, str) or not uniqueid:
            raise InvalidInput("uniqueid of the call is required", field="uniqueid")
        customers = self.customers
        call = self.repo.call(uniqueid)
        open_record = self.tracker.open.get(uniqueid)
        agent = (open_record.agent if open_record else None) or (call.agent if call else None)
        if call is None and open_record is None:
            raise InvalidInput(Text("no call %(uniqueid)r", uniqueid=uniqueid), field="uniqueid")
        # only an agent who took the call (the queue's, or one it was transferred to) annotates
        # it (403 for anybody else's call)
        agents = [agent, *(leg.agent for leg in self.call_legs([uniqueid]).get(uniqueid, []))]
        require(Actor(username, "agent"), Target.of("call", uniqueid, agents=agents), "wrap up")
        queue_name = (open_record.queue if open_record else call.queue) or ""
        disposition = body.get("disposition") or ""
        if disposition:
            allowed = self.repo.queue(queue_name).dispositions if queue_name else ()
            if disposition not in allowed:
                raise InvalidInput(
                    Text(
                        "unknown disposition %(disposition)r for queue %(queue_name)s",
                        disposition=disposition,
                        queue_name=queue_name,
                    ),
                    field="disposition",
                    allowed=list(allowed),
                )
        notes = body.get("notes") or ""
        if not isinstance(notes, str) or len(notes) > 10_000:
            raise InvalidInput("notes: text up to 10,000 characters", field="notes")
        customer_id = body.get("customer_id")
        if customer_id is not None and (not isinstance(customer_id, int) or isinstance(customer_id, bool)):
            raise InvalidInput("customer_id must be a number", field="customer_id")
        ticket = body.get("ticket") or None
        if ticket is not None:
            if not isinstance(ticket, dict):
                raise InvalidInput("ticket must be an object", field="ticket")
            if customer_id is None:
                raise InvalidInput("a ticket needs a customer", field="customer_id")
        if customers is not None and customer_id is not None:
            customers.customer_file(customer_id)  # raises not-found before anything is written
        self.repo.annotate_call(uniqueid, disposition=disposition or None, notes=notes or None, customer_id=customer_id)
        result: dict[str, Any] = {"uniqueid": uniqueid, "disposition": disposition}
        if customers is not None and customer_id is not None:
            customers.record_interaction(
                customer_id, uniqueid, username, queue=queue_name, disposition=disposition or None, notes=notes or None
            )
            if ticket is not None:
                if ticket.get("id"):
                    view = customers.update_ticket(
                        ticket["id"], status=ticket.get("status"), append_note=ticket.get("notes"), author=username
                    )
                else:
                    view = customers.open_ticket(
                        customer_id, uniqueid, ticket.get("subject", ""), notes=ticket.get("notes")
                    )
                result["ticket"] = view.to_dict()
        return result

    # --- persistence (batched writers call these in a thread) -------------------------------------
    def write_states(self, events: list[ev.Event]) -> None:
        self.repo.append_states(
            dict(
                agent=e.username,
                at=e.at,
                state=e.state,
                previous=e.previous,
                reason=e.reason[:64],
                queue=e.queue,
                call_uniqueid=e.uniqueid,
            )
            for e in events
            if isinstance(e, AgentStateChanged)
        )

    def write_legs(self, events: list[ev.Event]) -> None:
        latest: dict[tuple[str, int], CallLeg] = {}
        for e in events:
            if isinstance(e, CallLegsChanged):
                for leg in e.legs:
                    latest[(leg.call_uniqueid, leg.seq)] = leg
        self.repo.upsert_legs(_row_from_leg(leg) for leg in latest.values())

    def call_legs(self, uniqueids: list[str]) -> dict[str, list[CallLeg]]:
        """Blocking. The legs of these calls: live ones from the tracker, ended ones stored."""
        found = {u: [leg_from_row(r) for r in rows] for u, rows in self.repo.legs_of(uniqueids).items()}
        if self.legs is not None:
            for uniqueid in uniqueids:
                live = self.legs.legs(uniqueid)
                if live:
                    found[uniqueid] = live
        return found

    def legs_for(self, username: str, role: str, uniqueid: str) -> dict:
        """Blocking. A call with its legs, for an agent who handled it, a supervisor whose
        queues or teams cover it, an admin (NotFound for an unknown call, Forbidden otherwise)."""
        record = self.tracker.open.get(uniqueid)
        row = self.repo.call(uniqueid) if record is None else None
        if record is None and row is None:
            raise NotFound(Text("no call %(uniqueid)r", uniqueid=uniqueid), field="call")
        if record is None:
            record = record_from_row(row)
        legs = self.call_legs([uniqueid]).get(uniqueid, [])
        agents = [record.agent, *(leg.agent for leg in legs)]
        actor = actor_for(username, role, self.repo)
        require(actor, Target.of("call", uniqueid, agents=agents, queues=[record.queue]), "see")
        return {
            "uniqueid": uniqueid,
            "queue": record.queue,
            "agent": record.agent,
            "outcome": record.outcome,
            "talk_seconds": record.talk_seconds,
            "legs": [leg.to_dict() for leg in legs],
            "talk_by_agent": talk_by_agent(legs),
        }

    def write_calls(self, events: list[ev.Event]) -> None:
        latest: dict[str, CallRecord] = {}
        for e in events:
            if isinstance(e, CallRecordChanged) and e.record is not None:
                # an event queued before its caller was erased must not write them back
                latest[e.record.uniqueid] = self.tracker.anonymous(e.record)
        self.repo.upsert_calls(_row_from_record(r) for r in latest.values())


def queue_dict(q: QueueDefinition) -> dict:
    """A queue as JSON-ready values (API answers, audit entries' before/after)."""
    return {
        **q.__dict__,
        "numbers": list(q.numbers),
        "dispositions": list(q.dispositions),
        "required_skills": dict(q.required_skills),
        "hours": dict(q.hours),
    }


def _row_from_record(r: CallRecord) -> dict:
    return dict(
        uniqueid=r.uniqueid,
        linkedid=r.linkedid,
        channel=r.channel[:255],
        caller_number=r.caller_number[:64],
        direction=r.direction,
        queue=r.queue,
        agent=r.agent or None,
        created_at=r.entered_queue_at,
        answered_at=r.answered_at,
        ended_at=r.ended_at,
        outcome=r.outcome or None,
        hangup_cause=r.hangup_cause,
        hangup_reason=r.hangup_reason[:64] or None,
        overflowed_from=r.overflowed_from or None,
        wait_seconds=r.wait_seconds,
        talk_seconds=r.talk_seconds,
        call_data=json.dumps(dict(r.data)) if r.data else None,
    )


def _row_from_leg(leg: CallLeg) -> dict:
    return dict(
        call_uniqueid=leg.call_uniqueid,
        linkedid=leg.linkedid,
        seq=leg.seq,
        agent=leg.agent[:64],
        interface=leg.interface[:128],
        channel=leg.channel[:255],
        started_at=leg.started_at,
        answered_at=leg.answered_at,
        ended_at=leg.ended_at,
        talk_seconds=leg.talk_seconds,
        hold_seconds=leg.hold_seconds,
        started_how=leg.started_how,
        ended_how=leg.ended_how or None,
        transferred_by=leg.transferred_by or None,
    )


def leg_from_row(row) -> CallLeg:
    return CallLeg(
        call_uniqueid=row.call_uniqueid,
        linkedid=row.linkedid,
        seq=row.seq,
        agent=row.agent,
        interface=row.interface,
        channel=row.channel,
        started_at=row.started_at,
        answered_at=row.answered_at,
        ended_at=row.ended_at,
        talk_seconds=row.talk_seconds,
        hold_seconds=row.hold_seconds,
        started_how=row.started_how,
        ended_how=row.ended_how or "",
        transferred_by=row.transferred_by or "",
    )


def record_from_row(row) -> CallRecord:
    return CallRecord(
        uniqueid=row.uniqueid,
        linkedid=row.linkedid or row.uniqueid,
        channel=row.channel or "",
        caller_number=row.caller_number or "",
        queue=row.queue or "",
        entered_queue_at=row.created_at,
        direction=row.direction or "inbound",
        overflowed_from=row.overflowed_from or "",
        agent=row.agent or "",
        answered_at=row.answered_at,
        ended_at=row.ended_at,
        outcome=row.outcome or "",
        wait_seconds=row.wait_seconds,
        talk_seconds=row.talk_seconds,
        data=tuple(sorted(json.loads(row.call_data).items())) if row.call_data else (),
    )
