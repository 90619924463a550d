"""IVR use cases: the active scripts, the dialplan routes into the engine, the statistics.

`IvrService` loads ``ivr_scripts/*.yaml`` at start, validates each against what exists (queues
and skills from the ACD, prompt files inside the Asterisk data directory, stored recordings of
the instance) and activates the valid ones; an admin uploads a new version (refused with every
error named by file, line and node; the running version stays). From the active scripts it
renders ``extensions_ivr.conf``:

- ``[ccserver-ivr-routes]`` (included first by ``[ccserver-inbound]``): each DID (in the forms
  Asterisk may see: ``+33140000000``, ``33140000000``, ``0140000000``) and extension ->
  ``Stasis(<ari app>,ivr,<script>,did|exten)``, then the fallback when Stasis fails (ccserver down);
- ``[ccserver-ivr-fallback]``: the dialplan fallback (an apology, or a queue when configured);
- ``[ccserver-ivr-voicemail]`` and ``[ccserver-ivr-transfer]``: the IVR's hand-overs.

Calls are run by the ARI engine (`handlers.IvrEngine`) on `IvrCall`s created here: each call
keeps the script version it started with. Statistics are counted per script *version* in memory
and added to ``ivr_stats`` (day, script, version, node, counter) by a periodic flush and at stop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import phonenumbers

from ccserver.core.clock import Clock
from ccserver.core.errors import InvalidInput, NotFound

from .errors import NoSuchIvrScript
from .loader import (
    SOUND_EXTENSIONS,
    ValidationContext,
    check_routes,
    invalid_script_error,
    normalize_did,
    parse_script,
    validate_script,
)
from .model import (
    DEFAULT_FALLBACK,
    CallInfo,
    DialplanTarget,
    IvrCall,
    IvrScript,
    IvrStats,
    ValidationIssue,
)
from .ports import ConfigWriter, CounterKey, CustomerDirectory, CustomerLookup, NamesSource, StatsStore
from .registry import IvrRegistry

logger = logging.getLogger(__name__)

GENERATED_FILE = "extensions_ivr.conf"
ROUTES_CONTEXT = "ccserver-ivr-routes"
FALLBACK_CONTEXT = "ccserver-ivr-fallback"
VOICEMAIL_CONTEXT = "ccserver-ivr-voicemail"
TRANSFER_CONTEXT = "ccserver-ivr-transfer"
# queues entered by the IVR: the ACD generates ccq-<queue> with extension 'open' (Queue(...))
QUEUE_CONTEXT = "ccq-{queue}"
QUEUE_EXTEN = "open"
FILE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,80}\.ya?ml")
LANGUAGE_DIR_RE = re.compile(r"[a-z]{2}([_-][A-Za-z0-9]+)*")

# --- prompt files inside the Asterisk root ---------------------------------------------------


def resolve_in_root(root: Path | None, inner: str | PurePosixPath, _depth: int = 0) -> Path:
    """The host path of `inner` (a path as Asterisk sees it) when Asterisk runs chrooted in
    `root`, following symbolic links the way the chroot would (an absolute link target is inside
    the root). Without a root, the path itself."""
    inner = PurePosixPath(inner)
    if root is None:
        return Path(inner)
    parts = inner.parts[1:] if inner.is_absolute() else inner.parts
    current = PurePosixPath("/")
    for index, part in enumerate(parts):
        candidate = current / part
        host = root / str(candidate).lstrip("/")
        if host.is_symlink() and _depth < 40:
            target = PurePosixPath(os.readlink(host))
            if not target.is_absolute():
                target = current / target
            target = PurePosixPath(os.path.normpath(str(target)))
            rest = parts[index + 1 :]
            return resolve_in_root(root, target.joinpath(*rest) if rest else target, _depth + 1)
        current = candidate
    return root / str(current).lstrip("/")


def asterisk_prompt_checker(
    sounds_dir: str | PurePosixPath, recordings_dir: Path | None, root: Path | None = None
) -> Callable[[str], bool]:
    """A `prompt_exists` for the validator: ``sound:NAME`` is looked for the way Asterisk does
    (``sounds/<language>/NAME.*`` for any language directory, then ``sounds/NAME.*``) in the
    Asterisk data directory — inside `root` when Asterisk runs chrooted —, and
    ``recording:NAME`` among the instance's stored recordings. Directory listings are cached:
    make a new checker for each validation run."""
    listings: dict[Path, frozenset[str]] = {}
    sounds = PurePosixPath(sounds_dir)

    def names_in(directory: Path) -> frozenset[str]:
        if directory not in listings:
            try:
                listings[directory] = frozenset(p.name for p in directory.iterdir())
            except OSError:
                listings[directory] = frozenset()
        return listings[directory]

    def has(directory: Path, stem: str) -> bool:
        names = names_in(directory)
        return any(stem + ext in names for ext in SOUND_EXTENSIONS)

    languages: list[str] | None = None

    def language_dirs() -> list[str]:
        nonlocal languages
        if languages is None:
            base = resolve_in_root(root, sounds)
            languages = sorted(name for name in names_in(base) if LANGUAGE_DIR_RE.fullmatch(name))
        return languages

    def exists(media: str) -> bool:
        kind, _, name = media.partition(":")
        sub, _, stem = name.rpartition("/")
        if kind == "sound":
            if sub.startswith("/"):  # a prompt uploaded from /admin/media: <media>/prompts/<language>/NAME
                base = resolve_in_root(root, PurePosixPath(sub))
                langs = [n for n in names_in(base) if LANGUAGE_DIR_RE.fullmatch(n)]
                return has(base, stem) or any(has(base / lang, stem) for lang in langs)
            for lang in ["", *language_dirs()]:
                inner = sounds / lang / sub if lang else sounds / sub
                if has(resolve_in_root(root, inner), stem):
                    return True
            return False
        if kind == "recording":
            if recordings_dir is None:
                return True
            return has(recordings_dir / sub if sub else recordings_dir, stem)
        return True

    return exists


def prompt_checker_for_instance(instance: Any) -> Callable[[], Callable[[str], bool]] | None:
    """A factory of prompt checkers for a private `AsteriskInstance` (None when `instance` is
    not one: prompts are then not checked)."""
    env_of = getattr(instance, "environment", None)
    if env_of is None or not hasattr(instance, "instance_dir"):
        return None

    def make() -> Callable[[str], bool]:
        env = instance.environment
        data = env.find_dir(("/usr/share/asterisk", "/var/lib/asterisk"), "data")
        root = env.root if env.mode == "chroot" else None
        return asterisk_prompt_checker(
            PurePosixPath(data) / "sounds", instance.instance_dir / "spool" / "recording", root
        )

    return make


# --- customer lookup -------------------------------------------------------------------------


def customer_service_lookup(service: CustomerDirectory | None) -> CustomerLookup:
    """The default `CustomerLookup` over the customers capability's `CustomerService` (called in
    a thread). The record's ``id`` becomes the customer *number* (what callers type and the
    screen-pop looks up); the database row id is kept as ``record_id``. Without a service every
    lookup fails (the script's on_error branch)."""

    async def lookup(kind: str, value: str) -> Any:
        if service is None:
            raise RuntimeError("no customer directory (customers capability not installed)")
        if kind == "phone":
            found = await asyncio.to_thread(service.find_by_number, value)
        else:
            found = await asyncio.to_thread(service.find_by_customer_number, value)
        if found is None:
            return None
        record = dict(found.to_dict()) if hasattr(found, "to_dict") else found
        if isinstance(record, dict) and record.get("customer_number"):
            record["record_id"] = record.get("id")
            record["id"] = record["customer_number"]
        return record

    return lookup


# --- dialplan --------------------------------------------------------------------------------


def did_forms(did: str) -> list[str]:
    """The forms a number called may take in the dialplan: E.164 with and without '+', and the
    national form for French numbers."""
    e164 = normalize_did(did)
    forms = [did]
    if e164.startswith("+"):
        forms += [e164, e164[1:]]
        try:
            number = phonenumbers.parse(e164)
        except phonenumbers.NumberParseException:
            number = None
        if number is not None and number.country_code == 33:
            forms.append("0" + str(number.national_number))
    return list(dict.fromkeys(forms))


def render_ivr_dialplan(scripts: Iterable[IvrScript], ari_app: str, *, fallback_queue: str = "") -> str:
    lines = ["; generated by ccserver from the active IVR scripts: do not edit", "", f"[{ROUTES_CONTEXT}]"]
    seen: set[str] = set()
    for script in sorted(scripts, key=lambda s: s.name):
        lines.append(f"; {script.label} ({script.file})")
        routes = [(form, "did") for did in script.dids for form in did_forms(did)]
        routes += [(exten, "exten") for exten in script.extensions]
        for exten, kind in routes:
            if exten in seen:
                continue
            seen.add(exten)
            lines += [
                f"exten => {exten},1,Stasis({ari_app},ivr,{script.name},{kind})",
                f" same => n,Goto({FALLBACK_CONTEXT},s,1)",
            ]
    lines += [
        "",
        "; where a caller goes when the IVR cannot serve them (ccserver down, script error)",
        f"[{FALLBACK_CONTEXT}]",
        "exten => s,1,NoOp(IVR fallback for ${UNIQUEID}: ${IVR_ERROR})",
        " same => n,Answer()",
    ]
    if fallback_queue:
        target = f"{QUEUE_CONTEXT.format(queue=fallback_queue)},{QUEUE_EXTEN},1"
        lines.append(f" same => n,GotoIf($[${{DIALPLAN_EXISTS({target})}}]?{target})")
    lines += [
        " same => n,Playback(sorry)",
        " same => n,Hangup()",
        "",
        f"[{VOICEMAIL_CONTEXT}]",
        "exten => s,1,VoiceMail(${IVR_MAILBOX},u)",
        " same => n,Hangup()",
        "",
        f"[{TRANSFER_CONTEXT}]",
        "exten => s,1,Dial(${IVR_TRANSFER_DIAL},60)",
        f" same => n,Goto({FALLBACK_CONTEXT},s,1)",
        "",
    ]
    return "\n".join(lines)


# --- statistics ------------------------------------------------------------------------------

_NODE_COUNTERS = ("entered", "timeouts", "invalid", "exhausted", "hangups", "errors")


def flatten_stats(name: str, version: str, stats: IvrStats) -> dict[CounterKey, int]:
    script = stats.scripts.get(name)
    if script is None:
        return {}
    out: dict[CounterKey, int] = {(name, version, "", "calls"): script.calls}
    for outcome, count in script.outcomes.items():
        out[(name, version, "", f"outcome:{outcome}")] = count
    for node_id, node in script.nodes.items():
        for counter in _NODE_COUNTERS:
            out[(name, version, node_id, counter)] = getattr(node, counter)
        for key, count in node.choices.items():
            out[(name, version, node_id, f"choice:{key}")] = count
    return out


def stats_tree(counters: dict[CounterKey, int]) -> dict[str, dict[str, dict[str, Any]]]:
    """{script: {version: {"calls", "outcomes", "nodes": {node: {entered, choices...}}}}}."""
    tree: dict[str, dict[str, dict[str, Any]]] = {}
    for (script, version, node, counter), value in sorted(counters.items()):
        entry = tree.setdefault(script, {}).setdefault(version, {"calls": 0, "outcomes": {}, "nodes": {}})
        if node == "":
            if counter == "calls":
                entry["calls"] += value
            elif counter.startswith("outcome:"):
                key = counter.split(":", 1)[1]
                entry["outcomes"][key] = entry["outcomes"].get(key, 0) + value
            continue
        stats = entry["nodes"].setdefault(node, {**dict.fromkeys(_NODE_COUNTERS, 0), "choices": {}})
        if counter.startswith("choice:"):
            key = counter.split(":", 1)[1]
            stats["choices"][key] = stats["choices"].get(key, 0) + value
        elif counter in stats:
            stats[counter] += value
    return tree


# --- the service -----------------------------------------------------------------------------


@dataclass
class LoadReport:
    activated: list[str]
    issues: list[ValidationIssue]


class IvrService:
    def __init__(
        self,
        *,
        scripts_dir: Path,
        clock: Clock,
        ari_app: str = "ccserver",
        stats_store: StatsStore | None = None,
        config_writer: ConfigWriter | None = None,
        reload_dialplan: Callable[[], Awaitable[bool]] | None = None,
        queue_names: NamesSource | None = None,
        skill_names: NamesSource | None = None,
        prompt_checker: Callable[[], Callable[[str], bool]] | None = None,
        lookup: CustomerLookup | None = None,
        customers: CustomerDirectory | None = None,
        audit: Callable[[str, str, str], Any] | None = None,
        flush_interval: float = 30.0,
        fallback_queue: str = "",
        default_fallback: DialplanTarget = DEFAULT_FALLBACK,
    ) -> None:
        self.scripts_dir = Path(scripts_dir)
        self.clock = clock
        self.ari_app = ari_app
        self.stats_store = stats_store
        self.config_writer = config_writer
        self.reload_dialplan = reload_dialplan
        self.queue_names = queue_names
        self.skill_names = skill_names
        self.prompt_checker = prompt_checker
        # how lookup nodes find a customer: `lookup`, else the customers capability's service
        self.lookup = lookup if lookup is not None or customers is None else customer_service_lookup(customers)
        self.audit = audit
        self.flush_interval = flush_interval
        self.fallback_queue = fallback_queue
        self.default_fallback = default_fallback
        self.registry = IvrRegistry(default_fallback=default_fallback)
        self.files: dict[str, Path] = {}  # active script name -> its file
        self.load_issues: dict[str, list[ValidationIssue]] = {}  # file -> errors at last load
        self.activated_at: dict[str, datetime] = {}  # script digest -> when
        self._stats: dict[tuple[str, str], IvrStats] = {}
        self._flushed: dict[CounterKey, int] = {}
        self._flush_lock = asyncio.Lock()
        self._lock = asyncio.Lock()
        self._flush_task: asyncio.Task | None = None
        self._store_failing = False
        self.dialplan_text: str | None = None  # the routes last written
        self._applied_text: str | None = None  # the routes Asterisk has reloaded
        # the queue names the scripts were last validated against (None: not loaded yet)
        self._queues_at_load: frozenset[str] | None = None
        self._queue_reloads: set[asyncio.Task] = set()
        self.queue_reloads = 0  # reloads started because the ACD's queues changed

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        report = await self.load_all()
        logger.info(
            "ivr: %d script(s) active (%s), %d error(s) in %s",
            len(report.activated),
            ", ".join(report.activated) or "none",
            len(report.issues),
            self.scripts_dir,
        )
        if self.stats_store is not None and self.flush_interval > 0:
            self._flush_task = asyncio.get_running_loop().create_task(self._flush_loop(), name="ivr-stats-flush")

    async def stop(self) -> None:
        for task in list(self._queue_reloads):
            task.cancel()
        await asyncio.gather(*self._queue_reloads, return_exceptions=True)
        if self._flush_task is not None:
            self._flush_task.cancel()
            await asyncio.gather(self._flush_task, return_exceptions=True)
            self._flush_task = None
        await self.flush_stats()

    # -- validation ---------------------------------------------------------------------------

    async def validation_context(self) -> ValidationContext:
        def names(source: NamesSource | None) -> frozenset[str] | None:
            if source is None:
                return None
            values = source()
            return None if values is None else frozenset(values)

        queues = await asyncio.to_thread(names, self.queue_names)
        skills = await asyncio.to_thread(names, self.skill_names)
        prompts = self.prompt_checker() if self.prompt_checker is not None else None
        return ValidationContext(queues=queues, skills=skills, prompt_exists=prompts)

    def _display(self, path: Path) -> str:
        return f"{self.scripts_dir.name}/{path.name}"

    def _issues(self, script: IvrScript, context: ValidationContext) -> list[ValidationIssue]:
        issues = validate_script(script, context)
        others = [s for name, s in ((n, self.registry.active(n)) for n in self.registry.names()) if name != script.name]
        issues += [i for i in check_routes([*others, script]) if i.file == script.file]
        return sorted(issues, key=lambda i: (i.file, i.line))

    async def check(self, text: str, filename: str = "<upload>") -> list[ValidationIssue]:
        """Every error of a script as it would be uploaded (nothing is activated)."""
        script = parse_script(text, filename)
        return self._issues(script, await self.validation_context())

    # -- loading and uploading ----------------------------------------------------------------

    async def load_all(self) -> LoadReport:
        """(Re)read every script file: activate the valid ones (a version already active is
        kept as is), record the errors of the others, deactivate scripts whose file is gone."""
        async with self._lock:
            context = await self.validation_context()
            self._queues_at_load = context.queues
            files = (
                sorted(p for p in self.scripts_dir.glob("*.y*ml") if p.is_file() and p.suffix in (".yaml", ".yml"))
                if self.scripts_dir.is_dir()
                else []
            )
            if not self.scripts_dir.is_dir():
                logger.warning("ivr: scripts directory %s does not exist", self.scripts_dir)
            activated: list[str] = []
            all_issues: list[ValidationIssue] = []
            self.load_issues = {}
            seen: dict[str, Path] = {}
            for path in files:
                display = self._display(path)
                try:
                    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    issues = [ValidationIssue(display, 1, None, f"cannot read the file: {exc}")]
                else:
                    script = parse_script(text, display)
                    issues = self._issues(script, context)
                    if not issues and script.name in seen:
                        issues = [
                            ValidationIssue(
                                display,
                                script.line_of("name"),
                                None,
                                f"script name {script.name!r} is also used by {self._display(seen[script.name])}",
                            )
                        ]
                    if not issues:
                        try:
                            active = self.registry.activate(script, context)
                        except InvalidInput as exc:
                            issues = [ValidationIssue(**e) for e in exc.details.get("errors", [])]
                        else:
                            seen[script.name] = path
                            self.files[script.name] = path
                            self.activated_at.setdefault(active.digest, self.clock.now())
                            activated.append(script.name)
                if issues:
                    self.load_issues[display] = issues
                    all_issues += issues
                    for issue in issues:
                        logger.warning("ivr: %s", issue)
            for name in self.registry.names():
                if name not in seen:
                    logger.info("ivr: script %s deactivated (its file is gone)", name)
                    self.registry.deactivate(name)
                    self.files.pop(name, None)
        await self.apply_dialplan()
        return LoadReport(activated, all_issues)

    def on_queues_applied(self, queues: Iterable[Any]) -> None:
        """ACD listener (`AcdService.queue_listeners`), told the queue definitions each time
        they are applied. Scripts are validated against the queues: when the queue names differ
        from those of the last load, the scripts are loaded again (in a task), so that a script
        naming a queue created since becomes active (and its routes reach Asterisk) without a
        manual reload. Nothing before the first load: `start` sees the queues itself."""
        names = frozenset(getattr(q, "name", q) for q in queues)
        if self._queues_at_load is None or names == self._queues_at_load:
            return
        added = sorted(names - self._queues_at_load)
        removed = sorted(self._queues_at_load - names)
        self._queues_at_load = names  # one reload per change, however often it is told
        logger.info(
            "ivr: queues changed (added: %s; removed: %s): reloading the scripts",
            ", ".join(added) or "none",
            ", ".join(removed) or "none",
        )
        self.queue_reloads += 1
        task = asyncio.get_running_loop().create_task(self._reload_for_queues(), name="ivr-reload-queues")
        self._queue_reloads.add(task)
        task.add_done_callback(self._queue_reloads.discard)

    async def _reload_for_queues(self) -> None:
        try:
            report = await self.load_all()
        except Exception:
            logger.exception("ivr: reload after a change of the queues failed")
            return
        logger.info(
            "ivr: %d script(s) active after the queue change (%s), %d error(s)",
            len(report.activated),
            ", ".join(report.activated) or "none",
            len(report.issues),
        )

    async def upload(self, text: str, filename: str = "", actor: str = "") -> IvrScript:
        """Validate a script and, when it has no error, write it to the scripts directory and
        make it the active version of its name. Raises InvalidInput (details.errors: file,
        line, node, message) and changes nothing when it has any error."""
        shown = Path(filename or "upload.yaml").name
        async with self._lock:
            context = await self.validation_context()
            script = parse_script(text, shown)
            issues = self._issues(script, context)
            if issues:
                logger.info("ivr: upload of %s refused (%d errors)", shown, len(issues))
                raise invalid_script_error(script, issues)
            target = self.files.get(script.name)
            if target is None:
                base = shown if FILE_NAME_RE.fullmatch(shown) else f"{script.name}.yaml"
                target = self.scripts_dir / base
                owner = next((n for n, p in self.files.items() if p == target), None)
                if owner is not None or (target.exists() and target not in self.files.values()):
                    target = self.scripts_dir / f"{script.name}.yaml"
            script = parse_script(text, self._display(target))
            await asyncio.to_thread(_write_atomic, target, text)
            active = self.registry.activate(script, context)
            self.files[script.name] = target
            self.load_issues.pop(self._display(target), None)
            self.activated_at.setdefault(active.digest, self.clock.now())
        logger.info("ivr: %s uploaded by %s into %s", active.label, actor or "?", target)
        if self.audit is not None:
            try:
                await asyncio.to_thread(
                    self.audit, actor or "system", "ivr.upload", f"{active.label} {active.digest[:12]}"
                )
            except Exception:
                logger.exception("ivr: cannot write the audit entry of %s", active.label)
        await self.apply_dialplan()
        return active

    # -- calls --------------------------------------------------------------------------------

    def stats_for(self, script: IvrScript) -> IvrStats:
        key = (script.name, script.version)
        stats = self._stats.get(key)
        if stats is None:
            stats = self._stats[key] = IvrStats()
        return stats

    def start_call(self, info: CallInfo, name: str | None = None) -> IvrCall:
        """A call on the active version of script `name` (else the one its DID or extension
        maps to). Raises NoSuchIvrScript."""
        script = (
            self.registry.resolve(name=name)
            if name
            else (self.registry.resolve(did=info.did or None) or self.registry.resolve(exten=info.exten or None))
        )
        if script is None:
            raise NoSuchIvrScript(
                "no IVR script for this call", script=name, did=info.did, exten=info.exten, uniqueid=info.uniqueid
            )
        return IvrCall(script, info, self.clock, stats=self.stats_for(script), default_fallback=self.default_fallback)

    # -- dialplan -----------------------------------------------------------------------------

    def render_dialplan(self) -> str:
        scripts = [self.registry.active(name) for name in self.registry.names()]
        return render_ivr_dialplan(scripts, self.ari_app, fallback_queue=self.fallback_queue)

    @property
    def dialplan_applied(self) -> bool:
        """Asterisk has the routes of the scripts as they are NOW: a flag left true by an
        earlier version of the registry (scripts reloaded since, e.g. once per queue created)
        would let a caller reach a number whose route is not loaded yet."""
        return self._applied_text is not None and self._applied_text == self.render_dialplan()

    async def apply_dialplan(self, force: bool = False) -> bool:
        """Write extensions_ivr.conf when it changed and have Asterisk reload its dialplan.
        Returns True when Asterisk has the current routes."""
        text = self.render_dialplan()
        if text != self.dialplan_text or force:
            if self.config_writer is None:
                logger.info(
                    "ivr: no Asterisk configuration writer: the IVR routes are not "
                    "written (an external Asterisk must include them itself)"
                )
                self.dialplan_text = text
                return False
            await asyncio.to_thread(self.config_writer.write_generated, GENERATED_FILE, text)
            self.dialplan_text = text
        written = self.dialplan_text
        if written != self._applied_text and self.reload_dialplan is not None:
            try:
                if await self.reload_dialplan():
                    self._applied_text = written
            except Exception as exc:
                logger.warning("ivr: dialplan reload failed (%s); retried at the next AMI login", exc)
        return self.dialplan_applied

    async def on_ami_login(self) -> None:
        """Asterisk may have (re)started without our routes: write and reload them."""
        self._applied_text = None
        await self.apply_dialplan(force=self.dialplan_text is None)

    # -- statistics ---------------------------------------------------------------------------

    def counters(self) -> dict[CounterKey, int]:
        out: dict[CounterKey, int] = {}
        for (name, version), stats in self._stats.items():
            out.update(flatten_stats(name, version, stats))
        return out

    def pending_counters(self) -> dict[CounterKey, int]:
        """Counted in memory, not yet written to the database."""
        return {k: v - self._flushed.get(k, 0) for k, v in self.counters().items() if v != self._flushed.get(k, 0)}

    async def flush_stats(self) -> int:
        """Add what was counted since the last flush to ivr_stats. Kept in memory (and retried
        at the next flush) when the database fails."""
        if self.stats_store is None:
            return 0
        async with self._flush_lock:
            current = self.counters()
            deltas = {k: v - self._flushed.get(k, 0) for k, v in current.items() if v != self._flushed.get(k, 0)}
            if not deltas:
                return 0
            try:
                written = await asyncio.to_thread(self.stats_store.add, deltas, self.clock.now())
            except Exception as exc:
                if not self._store_failing:
                    logger.warning("ivr: cannot write statistics (%s); kept in memory", exc)
                self._store_failing = True
                return 0
            if self._store_failing:
                logger.info("ivr: statistics written again")
            self._store_failing = False
            self._flushed.update({k: current[k] for k in deltas})
            return written

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                await self.flush_stats()
            except Exception:
                logger.exception("ivr: statistics flush failed")

    async def stats_report(self, script: str | None = None) -> dict[str, Any]:
        """Stored counters plus those not flushed yet, as a tree (see `stats_tree`)."""
        stored: dict[CounterKey, int] = {}
        if self.stats_store is not None:
            try:
                stored = await asyncio.to_thread(self.stats_store.totals, script)
            except Exception as exc:
                logger.warning("ivr: cannot read statistics: %s", exc)
        for key, value in self.pending_counters().items():
            if script is None or key[0] == script:
                stored[key] = stored.get(key, 0) + value
        return stats_tree(stored)

    # -- for the admin pages ------------------------------------------------------------------

    def overview(self) -> list[dict[str, Any]]:
        out = []
        for name in self.registry.names():
            script = self.registry.active(name)
            out.append(
                {
                    "name": name,
                    "version": script.version,
                    "digest": script.digest[:12],
                    "description": script.description,
                    "file": script.file,
                    "dids": list(script.dids),
                    "extensions": list(script.extensions),
                    "nodes": len(script.nodes),
                    "activated_at": _iso(self.activated_at.get(script.digest)),
                    "history": [
                        {
                            "version": s.version,
                            "digest": s.digest[:12],
                            "activated_at": _iso(self.activated_at.get(s.digest)),
                            "active": s is script,
                        }
                        for s in reversed(self.registry.history(name))
                    ],
                }
            )
        return out

    def errors(self) -> dict[str, list[dict[str, Any]]]:
        return {
            file: [i.as_dict() | {"text": str(i)} for i in issues] for file, issues in sorted(self.load_issues.items())
        }

    def source(self, name: str) -> str:
        path = self.files.get(name)
        if path is None:
            raise NoSuchIvrScript(f"no active IVR script {name!r}", script=name)
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise NotFound(f"cannot read {path}: {exc}", script=name) from None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
