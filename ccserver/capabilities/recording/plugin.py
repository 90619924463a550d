"""The recording capability wired: MixMonitor by queue policy on the bus's call events, the
files indexed into the store, the daily retention purge, the web pages and API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...core.errors import InvalidInput
from ...core.plugin import Deps, Plugin
from ...core.text import Text
from .model import validate_policy
from .ports import CustomerLookup, RecordingRepository, Scopes
from .service import TOPICS, RecordingService
from .storage import RecordingStore, parse_key


def store_of(settings: Any, config_writer: Any = None) -> RecordingStore:
    """The store (settings: recordings_dir, else data_dir/recordings; the encryption key) and the
    spool MixMonitor writes into (recordings_spool_dir, else the private instance's)."""
    spool = settings.recording.spool_dir or None
    if spool is None and config_writer is not None:
        try:  # the private instance: its spool/monitor directory
            spool = getattr(config_writer.info, "recordings_dir", None)
        except Exception:
            spool = None
    store_dir = (
        Path(settings.recording.store_dir)
        if settings.recording.store_dir
        else Path(settings.storage.data_dir) / "recordings"
    )
    return RecordingStore(store_dir, Path(spool) if spool else None, parse_key(settings.recording.encryption_key))


def setup(
    deps: Deps,
    *,
    repository: RecordingRepository,
    board,
    tracker,
    customers: CustomerLookup | None = None,
    scopes: Scopes | None = None,
    store: RecordingStore | None = None,
    legs: Any = None,
) -> Plugin:
    settings = deps.settings
    try:
        click_to_dial = validate_policy(
            settings.recording.click_to_dial_policy, settings.recording.click_to_dial_retention_days
        )
    except InvalidInput as exc:
        name = "policy" if exc.details.get("field") == "recording_policy" else "retention_days"
        raise InvalidInput(
            Text("recording.click_to_dial_%(name)s: %(message)s", name=name, message=exc.message),
            field=f"recording.click_to_dial_{name}",
        )
    service = RecordingService(
        repository,
        store or store_of(settings, deps.config_writer),
        board,
        deps.channels,
        tracker,
        deps.pbx,
        deps.audit,
        deps.clock,
        customers,
        agents_may_listen=settings.recording.agents_may_listen,
        scopes=scopes,
        alerts=deps.alerts,
        click_to_dial=click_to_dial,
        legs=legs,
    )
    plugin = Plugin("recording", service)
    plugin.subscribe("recording", service.dispatch, TOPICS)
    plugin.startup.append(service.start)
    plugin.cron("recording-purge", service.purge, hour=settings.recording.purge_hour, minute=17)
    # the starts under way and the files being indexed finish once the last events are handled
    plugin.late_cleanup.append(service.stop)

    def web_routes(app: Any) -> None:
        from . import web

        web.add_routes(app, service)

    plugin.web_routes = web_routes
    return plugin
