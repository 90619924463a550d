"""The shape of a capability plugin: what `setup(deps, ...)` receives and what it gives back.

Every capability has a `plugin.py` with one `setup` function. It receives typed dependencies
(`Deps`: the ports, the bus, the intake, the clock, the settings) plus, as keyword arguments, the
repository and the other capabilities' services it needs, and returns a `Plugin`: the service(s)
it built and everything it adds to the running server (intake handlers, bus subscriptions,
scheduled jobs, web routes, live pushes to the browsers, startup and cleanup). `ccserver/app.py`
calls every plugin's `setup` in one readable place and starts what they return, in order; nothing
is found by name, nothing reaches into a runtime object. (The idea of Wazo's plugins and Home
Assistant's `async_setup`, with typed dependencies instead of a dict.)

This module does no I/O and imports no framework: web routes and live pushes are opaque callables
that the web adapter calls with its application and its realtime hub.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .alerts import Alerts
from .channels import ChannelRegistry
from .clock import Clock
from .ports import AuditTrail, ConfigWriter, EventBus, EventIntake, PbxCommands


@dataclass(frozen=True)
class Deps:
    """What every plugin may use. `pbx` is None when no Asterisk is configured (some tests, the
    CLI); `config_writer` is None when generated Asterisk files have nowhere to go."""

    settings: Any  # ccserver.settings.Settings (typed there; core imports no settings loader)
    clock: Clock
    bus: EventBus
    intake: EventIntake
    pbx: PbxCommands | None
    audit: AuditTrail
    alerts: Alerts
    channels: ChannelRegistry
    config_writer: ConfigWriter | None = None


@dataclass(frozen=True)
class BusSubscription:
    """A bus listener: runs on its own bounded queue (see `core.bus`)."""

    name: str
    listener: Callable[[Any], Any]
    topics: tuple[str, ...]
    maxsize: int = 10_000  # bound of this listener's queue (see core.bus)


@dataclass(frozen=True)
class IntakeHandler:
    """A synchronous handler applied in the intake's order for one PBX event type."""

    event_type: type
    handler: Callable[[Any], Any]


@dataclass(frozen=True)
class ScheduledJob:
    """An APScheduler job: ``trigger`` is "interval" or "cron" with its keyword arguments."""

    id: str
    func: Callable[[], Any]
    trigger: str
    options: dict[str, Any] = field(default_factory=dict)


class Scheduler(Protocol):
    def add_job(self, func: Callable[..., Any], trigger: str, **options: Any) -> Any: ...


@dataclass
class Plugin:
    """What one capability adds to the server. ``service`` is its main use-case object (what the
    web handlers and the CLI call); ``web_routes(app)`` adds its routes (and puts its services on
    the application under its own typed keys); ``live(hub)`` subscribes its pushes to the
    browsers once the server runs."""

    name: str
    service: Any = None
    intake_handlers: list[IntakeHandler] = field(default_factory=list)
    subscriptions: list[BusSubscription] = field(default_factory=list)
    jobs: list[ScheduledJob] = field(default_factory=list)
    startup: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    cleanup: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # run after the bus is drained (Runtime.stop): work that the last events may still feed
    late_cleanup: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    web_routes: Callable[[Any], None] | None = None
    live: Callable[[Any], None] | None = None

    def handle(self, event_type: type, handler: Callable[[Any], Any]) -> None:
        self.intake_handlers.append(IntakeHandler(event_type, handler))

    def subscribe(
        self, name: str, listener: Callable[[Any], Any], topics: Iterable[str], *, maxsize: int = 10_000
    ) -> None:
        self.subscriptions.append(BusSubscription(name, listener, tuple(topics), maxsize))

    def add_handler(self, event_type: type, handler: Callable[[Any], Any]) -> None:
        """Same as `handle`: lets a model's ``register(intake)`` register into the plugin."""
        self.handle(event_type, handler)

    def every(self, job_id: str, func: Callable[[], Any], **interval: Any) -> None:
        self.jobs.append(ScheduledJob(job_id, func, "interval", dict(interval)))

    def cron(self, job_id: str, func: Callable[[], Any], **when: Any) -> None:
        self.jobs.append(ScheduledJob(job_id, func, "cron", dict(when)))
