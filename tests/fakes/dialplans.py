"""In-memory stand-ins for the dialplans capability's ports (no Asterisk, no database)."""

from __future__ import annotations

from datetime import UTC, datetime

from ccserver.capabilities.dialplans.errors import NoSuchVersion
from ccserver.capabilities.dialplans.model import Deployment, Version, parse

APPS = {"Answer", "Hangup", "NoOp", "Goto", "Gosub", "Return", "Dial", "Playback", "Wait"}


class MemoryRepository:
    def __init__(self) -> None:
        self._versions: list[Version] = []
        self._deployments: list[Deployment] = []

    def add_version(self, files, author, comment):
        v = Version(len(self._versions) + 1, datetime.now(UTC), author, comment, dict(files))
        self._versions.append(v)
        return v

    def version(self, version_id):
        for v in self._versions:
            if v.id == version_id:
                return v
        raise NoSuchVersion(f"no dialplan version {version_id}", field="version")

    def versions(self):
        return list(reversed(self._versions))

    def add_deployment(self, **kw):
        d = Deployment(id=len(self._deployments) + 1, at=datetime.now(UTC), **kw)
        self._deployments.append(d)
        return d

    def deployments(self, limit=200):
        return list(reversed(self._deployments))[:limit]

    def running_version_id(self):
        return next((d.version_id for d in reversed(self._deployments) if d.outcome == "applied"), None)


class MemoryFiles:
    def __init__(self, files=None) -> None:
        self.files = dict(files or {})
        self.writes = 0

    def read_dialplans(self):
        return dict(self.files)

    def write_dialplans(self, files):
        self.writes += 1
        self.files = dict(files)


class FakeScratch:
    """Asterisk's one complaint these tests need: a label used twice in an extension."""

    def __init__(self) -> None:
        self.loaded: list[dict[str, str]] = []

    async def applications(self):
        return set(APPS)

    async def load(self, files):
        self.loaded.append(dict(files))
        lines = []
        for ctx in parse(files).contexts.values():
            seen = set()
            for p in ctx.priorities:
                if p.label and (p.exten, p.label) in seen:
                    lines.append(
                        f"[x] WARNING[1] pbx.c: Extension '{p.exten}' priority {p.number} in '{ctx.name}', label '{p.label}' already in use"
                    )
                seen.add((p.exten, p.label))
        return lines


class FakePbx:
    """The live Asterisk: what the files on disk define is what is loaded (unless `drop` names
    contexts that fail to load); the probe answers while `probe_ok`."""

    def __init__(self, files: MemoryFiles) -> None:
        self.files = files
        self.reloads = 0
        self.probe_ok = True
        self.drop: set[str] = set()
        self.probes: list[str] = []

    async def reload_dialplan(self):
        self.reloads += 1

    async def loaded_contexts(self):
        return (set(parse(self.files.files).contexts) | {"ccserver-inbound"}) - self.drop

    async def probe(self, channel, timeout):
        self.probes.append(channel)
        return None if self.probe_ok else "not answered: hung up"


class MemoryAudit:
    def __init__(self) -> None:
        self.entries: list[tuple] = []

    def record(self, actor, action, target="", **details):
        self.entries.append((actor, action, target, details))
