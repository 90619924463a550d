"""Dialplan use cases: check (lint + scratch Asterisk), save a version, apply it to the live
Asterisk with verification and a health probe, roll back (by hand or by itself), history.

Apply, in order, under one lock (one change at a time, across processes: the server and
`ccserver dialplan` take the same `ApplyLock`; the second waits up to `lock_wait` seconds, then is
refused with DialplanBusy, nothing changed):
1. lint the version and load it into the scratch Asterisk: any problem refuses it (nothing
   written to the live one);
2. write the files into the live dialplans/ directory and reload the dialplan (AMI Reload);
3. verify every context of the version and the server's entry context are loaded (ShowDialPlan);
4. probe: Originate Local/probe@ccserver-inbound; it must be answered within `probe_timeout`;
if 3 or 4 fails, the files that ran before are written back and reloaded, by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from ...core.errors import CcError
from ...core.text import Text
from .errors import DialplanBusy, DialplanRefused, DialplanUnavailable
from .model import (
    ADMIN_HOOKS,
    GUARD_RULES,
    PROBE_CONTEXT,
    PROBE_EXTEN,
    Deployment,
    Problem,
    Version,
    asterisk_problems,
    check_comment,
    check_files,
    diff,
    lint,
    parse,
)
from .ports import ApplyLock, Audit, DialplanRepository, LiveDialplanFiles, LiveDialplanPbx, ScratchAsterisk

logger = logging.getLogger(__name__)

LOCK_POLL_SECONDS = 0.2


@dataclass
class CheckReport:
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "problems": [p.to_dict() for p in self.problems]}


@dataclass
class ApplyResult:
    deployment: Deployment
    problems: list[Problem] = field(default_factory=list)

    @property
    def applied(self) -> bool:
        return self.deployment.outcome == "applied"

    def to_dict(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            **self.deployment.to_dict(),
            "problems": [p.to_dict() for p in self.problems],
        }


def probe_rule(files: dict[str, str]) -> list[Problem]:
    """The version must answer the health probe: extension `probe` in one of the hooked contexts."""
    plan = parse(files)
    for hook in ADMIN_HOOKS:
        ctx = plan.contexts.get(hook)
        if ctx and PROBE_EXTEN in ctx.extensions():
            return []
    first = sorted(files)[0]
    return [
        Problem(
            first,
            0,
            "no-probe",
            f"no extension {PROBE_EXTEN!r} in [{ADMIN_HOOKS[0]}]: the health probe after an apply calls it "
            f"(exten => {PROBE_EXTEN},1,Answer() then same => n,Hangup())",
        )
    ]


class DialplanService:
    def __init__(
        self,
        repository: DialplanRepository,
        audit: Audit,
        *,
        files: LiveDialplanFiles | None,
        pbx: LiveDialplanPbx | None,
        scratch: ScratchAsterisk | None,
        probe_timeout: float = 30.0,
        apply_lock: ApplyLock | None = None,
        lock_wait: float = 90.0,
    ) -> None:
        self.repository = repository
        self.audit = audit
        self.files = files
        self.pbx = pbx
        self.scratch = scratch
        self.probe_timeout = probe_timeout
        self._lock = asyncio.Lock()
        self.apply_lock = apply_lock  # None: one process only (the asyncio lock)
        self.lock_wait = lock_wait  # how long a second apply waits for the first one to end

    # --- reading -------------------------------------------------------------------------
    async def versions(self) -> list[Version]:
        return await asyncio.to_thread(self.repository.versions)

    async def version(self, version_id: int) -> Version:
        return await asyncio.to_thread(self.repository.version, version_id)

    async def running_id(self) -> int | None:
        return await asyncio.to_thread(self.repository.running_version_id)

    async def running_files(self) -> dict[str, str]:
        """What the live Asterisk reads now (its directory), else the running version's files."""
        if self.files is not None:
            return await asyncio.to_thread(self.files.read_dialplans)
        running = await self.running_id()
        return (await self.version(running)).files if running else {}

    async def history(self, limit: int = 200) -> list[Deployment]:
        return await asyncio.to_thread(self.repository.deployments, limit)

    async def diff(self, version_id: int) -> str:
        """The version against what runs now."""
        version = await self.version(version_id)
        return diff(await self.running_files(), version.files, "running", f"v{version_id}")

    async def diff_files(self, files: Any) -> str:
        """Edited (unsaved) files against what runs now."""
        return diff(await self.running_files(), check_files(files), "running", "edited")

    # --- checking ------------------------------------------------------------------------
    async def check(self, files: Any) -> CheckReport:
        """Lint, then load into the scratch Asterisk (unless a guard refused the files: a
        #include outside, a server context...): both lists of problems, Asterisk's with its
        own file:line."""
        files = check_files(files)
        if self.scratch is None:
            raise DialplanUnavailable("no scratch Asterisk to check dialplans on: nothing can be applied")
        try:
            apps = await self.scratch.applications()
        except CcError as exc:
            raise DialplanUnavailable(
                Text("the scratch Asterisk did not start: %(message)s", message=exc.message)
            ) from None
        problems = lint(files, known_apps=apps) + probe_rule(files)
        if not any(p.rule in GUARD_RULES for p in problems):  # never load what the guards refuse
            messages = await self.scratch.load(files)
            problems += asterisk_problems(messages, files)
        return CheckReport(sorted(problems, key=lambda p: (p.file, p.line, p.source, p.rule)))

    async def save(self, files: Any, author: str, comment: Any = "") -> tuple[Version, CheckReport]:
        """Store a version (checked first: one with problems is refused, not stored)."""
        comment = check_comment(comment)
        report = await self.check(files)
        if not report.ok:
            raise DialplanRefused(
                Text(
                    "the dialplan has %(count)s problem(s); first: %(problems)s",
                    count=len(report.problems),
                    problems=report.problems[0],
                ),
                problems=[p.to_dict() for p in report.problems],
            )
        version = await asyncio.to_thread(self.repository.add_version, check_files(files), author, comment)
        await asyncio.to_thread(
            self.audit.record,
            author,
            "dialplan.save",
            f"dialplan v{version.id}",
            comment=comment,
            files=sorted(version.files),
        )
        return version, report

    # --- applying ------------------------------------------------------------------------
    async def apply(self, version_id: int, actor: str, comment: Any = "", *, action: str = "apply") -> ApplyResult:
        """Apply a stored version (``action`` "rollback" when it is an earlier one going back)."""
        comment = check_comment(comment)
        if self.files is None or self.pbx is None:
            raise DialplanUnavailable("no live Asterisk to apply a dialplan to (no configuration directory or AMI)")
        async with self._lock, self._held(actor):
            version = await self.version(version_id)
            previous_id = await self.running_id()
            started = time.monotonic()
            report = await self.check(version.files)
            if not report.ok:
                deployment = await self._record(
                    actor,
                    action,
                    version.id,
                    previous_id,
                    "refused",
                    comment,
                    "; ".join(map(str, report.problems[:5])),
                    0.0,
                )
                raise DialplanRefused(
                    Text("v%(id)s was not applied: %(problems)s", id=version.id, problems=report.problems[0]),
                    problems=[p.to_dict() for p in report.problems],
                    deployment=deployment.id,
                )
            previous_files = await asyncio.to_thread(self.files.read_dialplans)
            failure = await self._deploy(version.files, probe=True)
            seconds = time.monotonic() - started
            if failure is None:
                deployment = await self._record(actor, action, version.id, previous_id, "applied", comment, "", seconds)
                return ApplyResult(deployment)
            logger.warning("dialplan v%s: %s; the previous dialplan comes back", version.id, failure)
            restored = await self._deploy(previous_files, probe=False)
            seconds = time.monotonic() - started
            detail = failure if restored is None else f"{failure}; restoring the previous files failed too: {restored}"
            deployment = await self._record(
                actor, action, version.id, previous_id, "rolled-back", comment, detail, seconds
            )
            return ApplyResult(deployment, [Problem(sorted(version.files)[0], 0, "apply", failure, source="asterisk")])

    @contextlib.asynccontextmanager
    async def _held(self, actor: str) -> AsyncIterator[None]:
        """The cross-process lock, polled (a cancelled wait leaves nothing held behind)."""
        lock = self.apply_lock
        if lock is None:
            yield
            return
        deadline = time.monotonic() + self.lock_wait
        while not await self._try_acquire(lock):
            if time.monotonic() >= deadline:
                raise DialplanBusy(
                    Text(
                        "another apply or rollback of the dialplan is under way (the server or `ccserver dialplan` in another process) and did not end within %(lock_wait)s s; nothing was changed: try again when it has ended (see the history)",
                        lock_wait=f"{self.lock_wait:g}",
                    ),
                    actor=actor,
                )
            await asyncio.sleep(LOCK_POLL_SECONDS)  # polling the lock itself: it has no event to wait on
        try:
            yield
        finally:
            await asyncio.to_thread(lock.release)

    @staticmethod
    async def _try_acquire(lock: ApplyLock) -> bool:
        attempt = asyncio.ensure_future(asyncio.to_thread(lock.try_acquire))
        try:
            return await asyncio.shield(attempt)
        except asyncio.CancelledError:  # the request went away: never leave the lock taken
            if await attempt:
                await asyncio.to_thread(lock.release)
            raise

    async def rollback(self, version_id: int, actor: str, comment: Any = "") -> ApplyResult:
        return await self.apply(version_id, actor, comment, action="rollback")

    async def _deploy(self, files: dict[str, str], *, probe: bool) -> str | None:
        """Write, reload, verify (and probe): None when it runs, else what went wrong."""
        assert self.files is not None and self.pbx is not None
        try:
            await asyncio.to_thread(self.files.write_dialplans, files)
            await self.pbx.reload_dialplan()
            expected = {name for name, c in parse(files).contexts.items() if c.priorities or c.includes}
            expected.add(PROBE_CONTEXT)
            missing = expected - await self.pbx.loaded_contexts()
            if missing:
                return f"contexts not loaded after the reload: {', '.join(sorted(missing))}"
            if probe:
                return await self._probe()
        except CcError as exc:
            return f"{type(exc).__name__}: {exc.message}"
        except OSError as exc:
            return f"the dialplan files could not be written: {exc}"
        return None

    async def _probe(self) -> str | None:
        assert self.pbx is not None
        channel = f"Local/{PROBE_EXTEN}@{PROBE_CONTEXT}"
        why = await self.pbx.probe(channel, self.probe_timeout)
        return None if why is None else f"health probe {channel}: {why}"

    async def _record(self, actor, action, version_id, previous_id, outcome, comment, detail, seconds) -> Deployment:
        deployment = await asyncio.to_thread(
            lambda: self.repository.add_deployment(
                actor=actor,
                action=action,
                version_id=version_id,
                previous_version_id=previous_id,
                outcome=outcome,
                comment=comment,
                detail=detail,
                seconds=seconds,
            )
        )
        await asyncio.to_thread(
            self.audit.record,
            actor,
            f"dialplan.{action}",
            f"dialplan v{version_id}",
            outcome=outcome,
            previous_version=previous_id,
            comment=comment,
            detail=detail,
            seconds=round(seconds, 3),
        )
        return deployment

    # --- start -----------------------------------------------------------------------------
    async def start(self) -> None:
        """First start: the files the live Asterisk has become version 1. Later starts: the
        running version is written back if the files differ (`ccserver asterisk up` copies the
        repository's dialplans/ over them)."""
        if self.files is None:
            return
        try:
            current = await asyncio.to_thread(self.files.read_dialplans)
            running = await self.running_id()
            if running is None:
                if not current:
                    return
                version = await asyncio.to_thread(
                    self.repository.add_version, current, "ccserver", "the dialplans found at first start"
                )
                await asyncio.to_thread(
                    lambda: self.repository.add_deployment(
                        actor="ccserver",
                        action="apply",
                        version_id=version.id,
                        previous_version_id=None,
                        outcome="applied",
                        comment="first start",
                    )
                )
                return
            files = (await self.version(running)).files
            if files != current and self.pbx is not None:  # only where it can be reloaded too
                await asyncio.to_thread(self.files.write_dialplans, files)
                await self.pbx.reload_dialplan()
                logger.info("dialplan: v%s written back into the live Asterisk", running)
        except CcError as exc:
            logger.warning("dialplan: could not restore the running version at start: %s", exc.message)
