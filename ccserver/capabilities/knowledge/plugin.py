"""Knowledge base wired: the service over the article store, the supervisors' scopes and the
ACD's queues (queue tags name real queues), its pages and API."""

from __future__ import annotations

from collections.abc import Callable

from ...core.plugin import Deps, Plugin
from . import web
from .ports import KnowledgeRepository, Scopes
from .service import KnowledgeService


def setup(
    deps: Deps,
    *,
    repository: KnowledgeRepository,
    scopes: Scopes | None,
    queue_names: Callable[[], list[str]] | None,
) -> Plugin:
    service = KnowledgeService(repository, deps.audit, scopes=scopes, queue_names=queue_names)
    plugin = Plugin("knowledge", service)
    plugin.web_routes = lambda app: web.add_routes(app, service)
    return plugin
