"""What the outbound plugin adds to the server: the attempt tracker on the intake, the outcomes on
the bus, the windows and housekeeping jobs, start and stop, its routes and its pushes."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from aiohttp import web

from ccserver.capabilities.outbound import plugin as outbound_plugin
from ccserver.capabilities.outbound.dialer import AttemptTracker, DialAttemptChanged
from ccserver.capabilities.outbound.web import OUTBOUND
from ccserver.core.alerts import Alerts
from ccserver.core.bus import InProcessBus, Intake
from ccserver.core.channels import ChannelRegistry
from ccserver.core.clock import ManualClock
from ccserver.core.plugin import Deps
from ccserver.settings import Settings


def _setup():
    bus = InProcessBus()
    settings = Settings().replace({"outbound.dial_uri": "sip:{number}@127.0.0.1", "storage.data_dir": "var"})
    deps = Deps(
        settings=settings,
        clock=ManualClock(datetime(2026, 9, 15, 9, 30, tzinfo=UTC)),
        bus=bus,
        intake=Intake(bus),
        pbx=None,
        audit=SimpleNamespace(record=lambda *a, **k: None),
        alerts=Alerts(),
        channels=ChannelRegistry(),
    )
    return outbound_plugin.setup(deps, repository=SimpleNamespace(), board=None, scopes=None)


def test_setup_returns_the_service_and_everything_it_adds_to_the_server():
    plugin = _setup()
    service = plugin.service
    assert plugin.name == "outbound"
    assert {h.event_type for h in plugin.intake_handlers} == set(AttemptTracker._handlers)
    assert all(h.handler == service.tracker.apply for h in plugin.intake_handlers)
    (sub,) = plugin.subscriptions
    assert sub.topics == (DialAttemptChanged.topic,)
    assert sub.listener == service.outcomes.on_attempt_event
    jobs = {job.id: job for job in plugin.jobs}
    assert jobs["outbound-windows"].options == {"minutes": 5}
    assert jobs["outbound-windows"].func == service.dialer.refresh_windows
    assert jobs["outbound-housekeeping"].options == {"seconds": 30}
    assert jobs["outbound-housekeeping"].func == service.outcomes.housekeeping
    assert len(plugin.startup) == 1 and plugin.cleanup == [service.stop]


def test_web_routes_put_the_service_on_the_app_and_live_pushes_reach_the_hub():
    plugin = _setup()
    app = web.Application()
    plugin.web_routes(app)
    assert app[OUTBOUND] is plugin.service
    assert any(r.name == "api-outbound-preview-dial" for r in app.router.routes())
    sent = []
    plugin.live(SimpleNamespace(broadcast=lambda message, **kw: sent.append((message, kw))))
    plugin.service.notifier({"topic": "t"}, roles={"admin"})
    assert sent == [({"topic": "t"}, {"roles": {"admin"}, "usernames": None})]
