"""Composition root: builds the runtime objects once and wires them together.

Nothing here is a module-level singleton: `Runtime` lives on the aiohttp application
(`keys.RUNTIME`) and owns the start/stop order of everything that runs in the background.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from .adapters.asterisk.instance import AsteriskInstance
from .adapters.asterisk.media_files import media_files_of
from .adapters.asterisk.scratch import ScratchAsterisk
from .adapters.audio import SoundfileConverter
from .adapters.db.acd import AcdRepository
from .adapters.db.audit import AuditLog
from .adapters.db.callcenter import CallCenterRepository
from .adapters.db.customers import CustomerRepository
from .adapters.db.database import Database
from .adapters.db.dialplans import DIALPLAN_APPLY_LOCK, DialplanRepository
from .adapters.db.erasure import ErasureRepository
from .adapters.db.ivr import IvrStatsRepository, IvrVersionRepository
from .adapters.db.knowledge import KnowledgeRepository
from .adapters.db.locks import DatabaseLock
from .adapters.db.media import MediaRepository
from .adapters.db.outbound import OutboundRepository
from .adapters.db.phones import PhoneRepository
from .adapters.db.recordings import RecordingRepository
from .adapters.db.repositories import SessionRepository, UserRepository
from .adapters.db.users import UserDirectoryRepository
from .adapters.db.writer import BatchedWriter
from .adapters.pbx.connection import PbxConnection, PbxEndpoint
from .adapters.pbx.contacts import PjsipRegistrations
from .adapters.pbx.dialplan import AmiDialplan
from .adapters.pbx.stasis import AriStasis
from .capabilities.acd import plugin as acd_plugin
from .capabilities.admin import plugin as admin_plugin
from .capabilities.assistance import plugin as assistance_plugin
from .capabilities.audit import plugin as audit_plugin
from .capabilities.callbacks import plugin as callbacks_plugin
from .capabilities.callcenter import plugin as callcenter_plugin
from .capabilities.callcontrol import plugin as callcontrol_plugin
from .capabilities.clicktodial import plugin as clicktodial_plugin
from .capabilities.cti import plugin as cti_plugin
from .capabilities.customers import plugin as customers_plugin
from .capabilities.desk import plugin as desk_plugin
from .capabilities.dialplans import plugin as dialplans_plugin
from .capabilities.ivr import plugin as ivr_plugin
from .capabilities.knowledge import plugin as knowledge_plugin
from .capabilities.media import plugin as media_plugin
from .capabilities.outbound import plugin as outbound_plugin
from .capabilities.phones import plugin as phones_plugin
from .capabilities.privacy import plugin as privacy_plugin
from .capabilities.recording import plugin as recording_plugin
from .capabilities.supervision import plugin as supervision_plugin
from .capabilities.webrtc import plugin as webrtc_plugin
from .core import events as ev
from .core.alerts import CALL_REFUSED, Alerts
from .core.bus import InProcessBus, Intake
from .core.channels import ChannelRegistry
from .core.clock import Clock, SystemClock
from .core.plugin import Deps, Plugin
from .core.ports import ConfigWriter
from .settings import Settings

logger = logging.getLogger(__name__)


class Runtime:
    def __init__(
        self,
        settings: Settings,
        endpoint: PbxEndpoint | None,
        *,
        clock: Clock | None = None,
        database: Database | None = None,
        config_writer: ConfigWriter | None = None,
        dialplan_scratch: Any = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.bus = InProcessBus()
        self.intake = Intake(self.bus)
        self.alerts = Alerts()  # what needs a human: wallboard and /status
        self.bus.subscribe("alerts:refused", self._call_refused, topics=[ev.CallRefused.topic])
        self.channels = ChannelRegistry()
        self.channels.register(self.intake)
        self.database = database or Database(settings.storage.effective_database_url)
        self.users = UserRepository(self.database)
        self.sessions = SessionRepository(self.database)
        self.audit = AuditLog(self.database)
        self.plugins: list[Plugin] = []  # in start order; see install()
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.pbx = (
            PbxConnection(
                endpoint,
                self.intake.submit,
                command_timeout=settings.pbx.command_timeout,
                resync_interval=settings.pbx.resync_interval,
            )
            if endpoint is not None
            else None
        )
        self.deps = Deps(
            settings=settings,
            clock=self.clock,
            bus=self.bus,
            intake=self.intake,
            pbx=self.pbx.ami if self.pbx else None,
            audit=self.audit,
            alerts=self.alerts,
            channels=self.channels,
            config_writer=config_writer,
        )
        # the audit log: a tamper-evident chain, its viewer, entries from before the chain sealed
        self.audit_viewer = self.install(audit_plugin.setup(self.deps, store=self.audit)).service
        # user administration (users, teams, scopes, disable, password reset, revoke sessions;
        # expired sessions purged; disabled users' agents logged out of the queues)
        self.user_admin = self.install(
            admin_plugin.setup(
                self.deps,
                users=self.users,
                sessions=self.sessions,
                directory=UserDirectoryRepository(self.database, self.clock),
            )
        ).service
        # inbound: live agent states, call records, and the use cases acting on both
        self.acd_repo = AcdRepository(self.database, self.clock)
        self.writers: dict[str, BatchedWriter] = {}
        self.customers = self.install(
            customers_plugin.setup(self.deps, repository=CustomerRepository(self.database))
        ).service
        self.acd = self.install(
            acd_plugin.setup(
                self.deps, repository=self.acd_repo, customers=self.customers, writer_factory=self._batched_writer
            )
        ).service
        self.agent_board, self.call_tracker = self.acd.board, self.acd.tracker
        self.user_admin.membership = self.acd  # a disabled user's agent leaves every queue
        self.state_writer, self.call_writer = self.writers["db:agent-states"], self.writers["db:calls"]
        # call-center settings: skills and levels (live penalties), pause and wrap-up codes
        self.callcenter = self.install(
            callcenter_plugin.setup(self.deps, repository=CallCenterRepository(self.database), acd=self.acd)
        ).service
        # phones: a SIP account for any user, password shown once, applied with the ACD's files
        self.phones = self.install(
            phones_plugin.setup(
                self.deps,
                repository=PhoneRepository(self.database, self.clock),
                apply=self.acd.apply_configuration,
                registrations=PjsipRegistrations(self.pbx.ami) if self.pbx else None,
            )
        ).service
        # the browser phone: a WebRTC endpoint per agent, credentials per web session
        self.webrtc = self.install(webrtc_plugin.setup(self.deps, accounts=self.acd_repo)).service
        # media: each queue's language, music class, prompts and closed days (rendered by the
        # ACD with its queues), prompts and music on hold uploaded and converted
        self.media = self.install(
            media_plugin.setup(
                self.deps,
                repository=MediaRepository(self.database, self.clock),
                converter=SoundfileConverter(),
                files=media_files_of(settings, config_writer),
                apply_queues=self.acd.apply_configuration,
                queue_names=self._queue_names,
                queue_calendar=self.acd.queue,
            )
        ).service
        self.acd.media_config = self.media.config
        self.callbacks = self.install(
            callbacks_plugin.setup(self.deps, repository=self.acd_repo, tracker=self.call_tracker)
        ).service
        self.waiting_line = self.callbacks.line
        self.supervision = self.install(
            supervision_plugin.setup(self.deps, repository=self.acd_repo, acd=self.acd, waiting_line=self.waiting_line)
        ).service
        # ask a supervisor: agents' requests during a call, taken from the wallboard (ChanSpy)
        self.assistance = self.install(
            assistance_plugin.setup(self.deps, tracker=self.call_tracker, supervision=self.supervision)
        ).service
        self.screen_pop = self.install(
            cti_plugin.setup(self.deps, board=self.agent_board, tracker=self.call_tracker, customers=self.customers)
        ).service
        self.call_control = self.install(
            callcontrol_plugin.setup(
                self.deps,
                directory=self.acd_repo,
                board=self.agent_board,
                tracker=self.call_tracker,
                commands=self.pbx.ami if self.pbx else None,
                legs=self.acd.legs,
            )
        ).service
        self._background: list[asyncio.Task] = []
        # recording: MixMonitor by queue policy, files indexed into the store, retention purge
        self.recording = self.install(
            recording_plugin.setup(
                self.deps,
                repository=RecordingRepository(self.database, self.clock),
                board=self.agent_board,
                tracker=self.call_tracker,
                customers=self.customers,
                scopes=self.acd_repo,
                legs=self.acd.legs.legs if self.acd.legs is not None else None,
            )
        ).service
        self.acd.queue_listeners.append(self.recording.forget_policies)  # policies cached
        # outbound campaigns: contacts, consent ledger, compliance decisions, the dialer
        outbound_repo = OutboundRepository(self.database)
        self.outbound = self.install(
            outbound_plugin.setup(
                self.deps,
                repository=outbound_repo,
                board=self.agent_board,
                scopes=self.acd_repo,
                scheduler=self.scheduler,
            )
        ).service
        # GDPR erasure of a person everywhere; the do-not-call list recognises erased numbers
        self.click_to_dial = self.install(
            clicktodial_plugin.setup(
                self.deps,
                customers=self.customers,
                outbound=self.outbound,
                board=self.agent_board,
                callbacks=self.acd_repo,
                accounts=self.acd_repo,
                scopes=self.acd_repo,
                notes=self.acd_repo,
            )
        ).service
        self.erasure = self.install(
            privacy_plugin.setup(
                self.deps,
                repository=ErasureRepository(self.database),
                recording=self.recording,
                tracker=self.call_tracker,
                database=self.database,
                drain=privacy_plugin.until_written(self.call_writer),
            )
        ).service
        outbound_repo.number_hash = self.erasure.hash_of
        # a campaign's customers hear its language (or the default); only installed ones accepted
        self.outbound.campaigns.default_language = settings.asterisk.language
        self.outbound.campaigns.installed_languages = self.media.languages
        # IVR: scripts, their dialplan routes and statistics; the ARI engine running the calls
        ivr = self.install(
            ivr_plugin.setup(
                self.deps,
                repository=IvrStatsRepository(self.database),
                versions=IvrVersionRepository(self.database),
                customers=self.customers,
                stasis=AriStasis(self.pbx.ari) if self.pbx else None,
                ari_app=endpoint.ari_app if endpoint else settings.pbx.ari_app,
                node=endpoint.node if endpoint else "",
                queue_names=lambda: [q.name for q in self.acd_repo.queues()],
                skill_names=lambda: list(self.acd_repo.skills()),
                languages=self.media.languages,  # a script's language must be installed
            )
        )
        self.ivr, self.ivr_engine = ivr.service, ivr.engine
        self.acd.queue_listeners.append(self.ivr.on_queues_applied)  # scripts name queues
        # a queue or a skill an IVR script sends callers to is not removed from under it
        self.acd.queue_users.append(lambda queue: self.ivr.scripts_using(queue=queue))
        self.callcenter.skill_users.append(lambda skill: self.ivr.scripts_using(skill=skill))
        # dialplans: the admins' files, versioned, checked on a scratch Asterisk, applied with a probe
        live_files = config_writer if hasattr(config_writer, "read_dialplans") else None
        if dialplan_scratch is None and live_files is not None:
            environment = config_writer.environment_if_built() if isinstance(config_writer, AsteriskInstance) else None
            dialplan_scratch = ScratchAsterisk(settings, environment=environment)
        self.dialplans = self.install(
            dialplans_plugin.setup(
                self.deps,
                repository=DialplanRepository(self.database, self.clock),
                # one apply at a time with `ccserver dialplan` in another process
                apply_lock=DatabaseLock(self.database, DIALPLAN_APPLY_LOCK),
                files=live_files,
                pbx=AmiDialplan(self.pbx.ami) if self.pbx else None,
                scratch=dialplan_scratch,
            )
        ).service
        # knowledge base: the agents' articles, searched in full text, suggested on the screen-pop
        self.knowledge = self.install(
            knowledge_plugin.setup(
                self.deps,
                repository=KnowledgeRepository(self.database, self.clock),
                scopes=self.acd_repo,
                queue_names=lambda: [q.name for q in self.acd_repo.queues()],
            )
        ).service
        # the agent desk read whole again (hidden tab, dropped socket): last, it wraps the
        # screen-pop senders installed above
        self.desk = self.install(
            desk_plugin.setup(
                self.deps,
                agents=self.acd,
                call_control=self.call_control,
                callbacks=self.click_to_dial,
                recordings=self.recording,
                pop_senders=(self.screen_pop, self.click_to_dial),
            )
        ).service
        self.started_at: float | None = None

    async def _queue_names(self) -> list[str]:
        return [q.name for q in await self.acd.queues()]

    def install(self, plugin: Plugin) -> Plugin:
        """Wire what a capability's `setup` returned: its intake handlers and bus subscriptions
        now (before any event flows), its startup, jobs and cleanup at start()/stop(), its web
        routes and live pushes when the web application is built (adapters/web/app.py)."""
        for item in plugin.intake_handlers:
            self.intake.add_handler(item.event_type, item.handler)
        for sub in plugin.subscriptions:
            self.bus.subscribe(sub.name, sub.listener, topics=sub.topics, maxsize=sub.maxsize)
        self.plugins.append(plugin)
        return plugin

    async def _start_plugins(self) -> None:
        for plugin in self.plugins:
            for startup in plugin.startup:
                await startup()
            for job in plugin.jobs:
                self.scheduler.add_job(job.func, job.trigger, id=job.id, replace_existing=True, **job.options)

    async def _stop_plugins(self) -> None:
        for plugin in reversed(self.plugins):
            for cleanup in plugin.cleanup:
                try:
                    await cleanup()
                except Exception:  # one capability failing to stop must not keep others running
                    logger.exception("stopping %s failed", plugin.name)

    def _call_refused(self, event: ev.CallRefused) -> None:
        """A caller refused at admission: counted for the wallboard and /status, logged once
        (the call record with its cause is written by the call writer)."""
        count = self.alerts.note(
            CALL_REFUSED,
            self.clock.now(),
            call=event.uniqueid,
            caller=event.caller_number,
            number=event.exten,
            reason=event.reason,
            limit=event.limit,
        )
        logger.warning(
            "call %s from %s to %s refused on %s: %s, more than max_concurrent_calls %d at "
            "once; %d refused since start",
            event.uniqueid,
            event.caller_number,
            event.exten,
            event.node,
            event.reason or "capacity",
            event.limit,
            count,
        )

    def _batched_writer(self, name: str, write) -> BatchedWriter:
        """The database writers a plugin asks for (kept here: tests and erasure read them)."""
        writer = self.writers[name] = BatchedWriter(name, write)
        return writer

    async def start(self) -> None:
        await asyncio.to_thread(self.database.upgrade)
        await self.bus.start()
        self.intake.start()
        self.scheduler.start()
        await self._start_plugins()
        if self.pbx is not None:
            await self.pbx.start()
        self.started_at = time.time()

    def background(self, coro, name: str) -> asyncio.Task:
        """A task that lives as long as the runtime (cancelled at stop)."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._background.append(task)
        return task

    async def stop(self) -> None:
        await self._stop_plugins()
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._background.clear()
        if self.pbx is not None:
            await self.pbx.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.intake.stop()
        await self.bus.stop()
        for plugin in reversed(self.plugins):
            for cleanup in plugin.late_cleanup:
                try:
                    await cleanup()
                except Exception:  # one capability failing to stop must not keep others running
                    logger.exception("stopping %s failed", plugin.name)
        await asyncio.to_thread(self.database.dispose)

    async def health(self) -> dict[str, Any]:
        """What /status shows: each part's state, and ``ok`` only when all are fine."""
        try:
            db_ok = await asyncio.wait_for(asyncio.to_thread(self.database.ping), 3.5)
        except TimeoutError:
            db_ok = False
        parts: dict[str, Any] = {
            "database": {
                "state": "up" if db_ok else "down",
                "dialect": self.database.dialect,
                "url": self.database.url.render_as_string(hide_password=True),
            },
            "scheduler": {
                "state": "up" if self.scheduler.running else "down",
                "jobs": len(self.scheduler.get_jobs()) if self.scheduler.running else 0,
            },
            "intake": {"processed": self.intake.processed, "queued": self.intake.queue.qsize()},
            "bus": self.bus.stats(),
            # counts only: /status is public, the details are in the audit log and the records
            "alerts": dict(self.alerts.counts),
            "recording": {"storing": self.recording.storing},
        }
        pbx_ok = False
        if self.pbx is not None:
            parts.update(self.pbx.health())
            pbx_ok = self.pbx.healthy
        else:
            parts["ami"] = parts["ari"] = {"state": "not-configured"}
        ok = db_ok and self.scheduler.running and pbx_ok
        return {"status": "ok" if ok else "degraded", **parts}


def endpoint_from_settings(settings: Settings) -> PbxEndpoint | None:
    """An external Asterisk described by settings alone (ami_port and ari_port set)."""
    if not settings.pbx.ami_port or not settings.pbx.ari_port:
        return None
    return PbxEndpoint(
        ami_host=settings.pbx.ami_host,
        ami_port=settings.pbx.ami_port,
        ami_username=settings.pbx.ami_username,
        ami_secret=settings.pbx.ami_secret,
        ari_url=f"http://{settings.pbx.ami_host}:{settings.pbx.ari_port}/",
        ari_username=settings.pbx.ari_username,
        ari_password=settings.pbx.ari_password,
        ari_app=settings.pbx.ari_app,
        node=settings.asterisk.instance,
    )
