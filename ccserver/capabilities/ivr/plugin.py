"""The IVR capability wired: `setup(deps, ...)` builds the service (scripts, dialplan routes,
statistics) and, when Asterisk is there, the ARI engine running the calls; it returns what they
add to the server (intake handlers of the engine, the link-up listener, startup and cleanup, the
web routes)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccserver.core import events as ev
from ccserver.core.plugin import Deps, Plugin

from . import web
from .handlers import IvrEngine
from .ports import CustomerDirectory, NamesSource, ScriptVersionStore, StasisCommands, StatsStore
from .service import IvrService, prompt_checker_for_instance

# how often the server looks whether another process (``ccserver ivr rollback``, another node)
# changed the active versions in the database: one small query
VERSIONS_CHECK_SECONDS = 5


@dataclass
class IvrPlugin(Plugin):
    """`service` is the `IvrService`; `engine` the `IvrEngine` (None without Asterisk)."""

    engine: IvrEngine | None = None


def setup(
    deps: Deps,
    *,
    repository: StatsStore,
    versions: ScriptVersionStore | None = None,
    customers: CustomerDirectory | None,
    stasis: StasisCommands | None,
    ari_app: str,
    node: str = "",
    queue_names: NamesSource | None = None,
    skill_names: NamesSource | None = None,
    languages: NamesSource | None = None,
) -> IvrPlugin:
    """`repository` stores the statistics; `versions` the scripts' versions (None: in memory,
    lost at exit); `customers` answers the lookup nodes; `stasis` runs
    the calls (None: no engine); `ari_app` is the Stasis application the dialplan routes enter;
    scripts are validated against `queue_names` and `skill_names` (the ACD's), `languages` (those
    Asterisk has sounds for: the media capability's) and against the prompt files of the private Asterisk (`deps.config_writer`, when it is one)."""
    settings = deps.settings
    pbx = deps.pbx

    async def reload_dialplan() -> bool:
        if pbx is None or not pbx.is_up:
            return False
        await pbx.reload("pbx_config.so")  # the dialplan
        return True

    service = IvrService(
        scripts_dir=Path(settings.ivr.scripts_dir),
        clock=deps.clock,
        ari_app=ari_app,
        stats_store=repository,
        versions=versions,
        config_writer=deps.config_writer,
        reload_dialplan=reload_dialplan,
        queue_names=queue_names,
        skill_names=skill_names,
        languages=languages,
        prompt_checker=prompt_checker_for_instance(deps.config_writer),
        customers=customers,
        audit=deps.audit.record,
        flush_interval=settings.ivr.stats_flush_interval,
    )
    plugin = IvrPlugin(name="ivr", service=service)
    plugin.startup.append(service.start)
    plugin.every("ivr-versions-sync", service.sync, seconds=VERSIONS_CHECK_SECONDS)
    engine = None
    if stasis is not None:
        # transfers leave through the customers trunk
        trunk = settings.outbound.trunk_host
        dial = f"PJSIP/customers/sip:{{number}}@{trunk}" if trunk else "PJSIP/{number}@customers"
        engine = IvrEngine(service, stasis, deps.intake.submit, node=node, transfer_dial=dial)
        plugin.engine = engine
        for event_type, handler in engine.intake_handlers():
            plugin.handle(event_type, handler)
        plugin.subscribe("ivr:links", engine.on_link_up, [ev.PbxLinkUp.topic])
        plugin.cleanup.append(engine.stop)
    plugin.cleanup.append(service.stop)

    def web_routes(app: Any) -> None:
        web.add_routes(app, service, engine)

    plugin.web_routes = web_routes
    return plugin
