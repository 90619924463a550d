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
import dataclasses
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
from ccserver.core.errors import Conflict, InvalidInput
from ccserver.core.text import Text

from .errors import NoSuchIvrScript, NoSuchIvrVersion
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
    QueueNode,
    ScriptVersion,
    ValidationIssue,
    content_checksum,
    unified_diff,
)
from .ports import (
    ConfigWriter,
    CounterKey,
    CustomerDirectory,
    CustomerLookup,
    NamesSource,
    ScriptVersionStore,
    StatsStore,
)
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
        versions: ScriptVersionStore | None = None,
        config_writer: ConfigWriter | None = None,
        reload_dialplan: Callable[[], Awaitable[bool]] | None = None,
        queue_names: NamesSource | None = None,
        skill_names: NamesSource | None = None,
        languages: NamesSource | None = None,
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
        self.languages = languages  # what Asterisk has sounds for (None: not checked)
        self.prompt_checker = prompt_checker
        # how lookup nodes find a customer: `lookup`, else the customers capability's service
        self.lookup = lookup if lookup is not None or customers is None else customer_service_lookup(customers)
        self.audit = audit
        self.flush_interval = flush_interval
        self.fallback_queue = fallback_queue
        self.default_fallback = default_fallback
        self.registry = IvrRegistry(default_fallback=default_fallback)
        # every version of every script and which one is active (the database); see load_all
        self.versions: ScriptVersionStore = versions if versions is not None else MemoryVersionStore()
        self._stored_numbers: dict[str, int] = {}  # script -> active number, as last read
        self._file_issues: dict[str, list[ValidationIssue]] = {}  # file -> errors at last load
        self._stored_issues: dict[str, tuple[str, list[ValidationIssue]]] = {}  # script -> (file, errors)
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
        languages = await asyncio.to_thread(names, self.languages)
        prompts = self.prompt_checker() if self.prompt_checker is not None else None
        return ValidationContext(queues=queues, skills=skills, prompt_exists=prompts, languages=languages)

    def _display(self, path: Path) -> str:
        return f"{self.scripts_dir.name}/{path.name}"

    def _issues(
        self, script: IvrScript, context: ValidationContext, pending: Iterable[IvrScript] = ()
    ) -> list[ValidationIssue]:
        """Every error of `script`, its routes checked against the running scripts and the
        `pending` ones (files stored by the same load, not running yet)."""
        issues = validate_script(script, context)
        running = {n: self.registry.active(n) for n in self.registry.names()}
        running.update({p.name: p for p in pending})
        others = [s for name, s in running.items() if name != script.name]
        issues += [i for i in check_routes([*others, script]) if i.file == script.file]
        return sorted(issues, key=lambda i: (i.file, i.line))

    async def check(self, text: str, filename: str = "<upload>") -> list[ValidationIssue]:
        """Every error of a script as it would be uploaded (nothing is activated)."""
        script = parse_script(text, filename)
        return self._issues(script, await self.validation_context())

    # -- loading and uploading ----------------------------------------------------------------

    async def load_all(self) -> LoadReport:
        """Read the script files, then run the active stored versions.

        The database is the truth; the files of ``ivr_scripts/`` only add to it. **The rule**: a
        file whose content (SHA-256) was never stored for its script becomes a new version of
        it, the active one (author ``file``); a file whose content is already stored, under any
        version, is skipped, so an upload or a rollback made since survives restarts while the
        file on disk is unchanged. A fresh install is seeded this way; editing a file then
        reloading (or restarting) makes the edit the new version. An invalid file adds nothing
        (its errors are listed). Removing a file removes nothing: its script's versions stay."""
        async with self._lock:
            context = await self.validation_context()
            self._queues_at_load = context.queues
            self._file_issues = await self._read_files(context)
            activated = await self._run_stored(context)
            all_issues = [i for issues in self.load_issues.values() for i in issues]
            for issue in all_issues:
                logger.warning("ivr: %s", issue)
        await self.apply_dialplan()
        return LoadReport(activated, all_issues)

    async def _read_files(self, context: ValidationContext) -> dict[str, list[ValidationIssue]]:
        """Store the content of each file that is new to the database (see `load_all`); the
        errors of the invalid ones by file."""
        if not self.scripts_dir.is_dir():
            logger.warning("ivr: scripts directory %s does not exist", self.scripts_dir)
            return {}
        files = sorted(p for p in self.scripts_dir.glob("*.y*ml") if p.is_file() and p.suffix in (".yaml", ".yml"))
        out: dict[str, list[ValidationIssue]] = {}
        seen: dict[str, str] = {}  # script name -> the file that names it
        stored: list[IvrScript] = []  # stored by this load: their routes are taken
        for path in files:
            display = self._display(path)
            try:
                text = await asyncio.to_thread(path.read_text, encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                out[display] = [ValidationIssue(display, 1, None, f"cannot read the file: {exc}")]
                continue
            script = parse_script(text, display)
            if script.name and script.name in seen:
                out[display] = [
                    ValidationIssue(
                        display,
                        script.line_of("name"),
                        None,
                        f"script name {script.name!r} is also used by {seen[script.name]}",
                    )
                ]
                continue
            if script.name:
                seen[script.name] = display
                if await asyncio.to_thread(self.versions.knows, script.name, content_checksum(text)):
                    continue  # stored already: the database's active version runs
            issues = self._issues(script, context, stored)
            if issues:
                out[display] = issues
                continue
            stored.append(script)
            version = await self._store(
                script, text, author="file", origin="file", comment=f"read from {display}", file=display
            )
            logger.info("ivr: %s stored as version %d of %s", display, version.number, script.name)
        return out

    @property
    def load_issues(self) -> dict[str, list[ValidationIssue]]:
        """The errors of the last load by file: files that could not be stored, and active
        stored versions that could not run (as ``FILE (vN)``)."""
        return {**self._file_issues, **dict(self._stored_issues.values())}

    async def _run_stored(self, context: ValidationContext) -> list[str]:
        """Activate the active stored version of every script. One that no longer validates
        (it names a queue removed since...) is listed with its errors; the version running
        before, if any, keeps running."""
        stored = await asyncio.to_thread(self.versions.active_versions)
        self._stored_numbers = {v.script: v.number for v in stored}
        self._stored_issues = {}
        activated: list[str] = []
        names = {v.script for v in stored}
        for version in stored:
            script = self._script_of(version)
            current = self._running(version.script)
            if current is not None and current.revision == version.number and current.digest == script.digest:
                activated.append(version.script)
                continue
            issues = self._issues(script, context)
            if not issues:
                try:
                    self.registry.activate(script, context)
                except InvalidInput as exc:
                    issues = [ValidationIssue(**e) for e in exc.details.get("errors", [])]
            if issues:
                self._stored_issues[version.script] = (f"{script.file} (v{version.number})", issues)
                if current is not None:
                    logger.warning(
                        "ivr: version %d of %s does not validate: %s keeps running",
                        version.number,
                        version.script,
                        current.label,
                    )
                    activated.append(version.script)
                continue
            activated.append(version.script)
        for name in self.registry.names():
            if name not in names:
                logger.info("ivr: script %s deactivated (no active stored version)", name)
                self.registry.deactivate(name)
        return sorted(set(activated))

    async def load_stored(self) -> list[str]:
        """Run the active stored versions only (no file read, no dialplan written): what a
        command working on the database next to the server (``ccserver ivr rollback``) needs
        to know what runs."""
        async with self._lock:
            return await self._run_stored(await self.validation_context())

    def _script_of(self, version: ScriptVersion) -> IvrScript:
        """The script of a stored version (its errors name the file it came from)."""
        shown = version.file or f"{version.script}.yaml"
        return dataclasses.replace(parse_script(version.content, shown), revision=version.number)

    def _running(self, name: str) -> IvrScript | None:
        return self.registry.resolve(name=name)

    async def _store(
        self,
        script: IvrScript,
        text: str,
        *,
        author: str,
        origin: str,
        comment: str = "",
        file: str = "",
        rollback_of: int | None = None,
    ) -> ScriptVersion:
        return await asyncio.to_thread(
            lambda: self.versions.add(
                script=script.name,
                content=text,
                author=author,
                origin=origin,
                at=self.clock.now(),
                label=script.version,
                file=file,
                comment=comment,
                rollback_of=rollback_of,
            )
        )

    async def sync(self) -> bool:
        """Run what the database says is active when another process (``ccserver ivr
        rollback``, another node) changed it; returns True when it did. Cheap when nothing
        changed: one query."""
        numbers = await asyncio.to_thread(self.versions.active_numbers)
        if numbers == self._stored_numbers:
            return False
        async with self._lock:
            context = await self.validation_context()
            activated = await self._run_stored(context)
        await self.apply_dialplan()
        logger.info("ivr: active versions read again from the database (%s)", ", ".join(activated) or "none")
        return True

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

    async def upload(self, text: str, filename: str = "", actor: str = "", comment: str = "") -> IvrScript:
        """Validate a script and, when it has no error, store it as a new version of its name
        and run it. Raises InvalidInput (details.errors: file, line, node, message) and stores
        nothing when it has any error. The same content as the running version stores nothing.
        The files of ``ivr_scripts/`` are left as they are (see `load_all`)."""
        shown = Path(filename or "upload.yaml").name
        async with self._lock:
            context = await self.validation_context()
            script = parse_script(text, shown)
            issues = self._issues(script, context)
            if issues:
                logger.info("ivr: upload of %s refused (%d errors)", shown, len(issues))
                raise invalid_script_error(script, issues)
            current = self._running(script.name)
            if current is not None and current.digest == script.digest:
                return current
            previous = (
                await asyncio.to_thread(self.versions.version, script.name, current.revision) if current else None
            )
            file = previous.file if previous is not None and previous.file else self._upload_file(shown, script.name)
            version = await self._store(script, text, author=actor or "?", origin="upload", comment=comment, file=file)
            active = await self._switch_to(version, context, current, actor)
        logger.info("ivr: %s uploaded by %s as version %d", active.label, actor or "?", version.number)
        await self._audit(actor, "ivr.upload", version)
        await self.apply_dialplan()
        return active

    def _upload_file(self, shown: str, name: str) -> str:
        base = shown if FILE_NAME_RE.fullmatch(shown) else f"{name}.yaml"
        return f"{self.scripts_dir.name}/{base}"

    async def _switch_to(
        self, version: ScriptVersion, context: ValidationContext, current: IvrScript | None, actor: str
    ) -> IvrScript:
        """Run a version just stored as the active one. Should the registry refuse it after
        all, the database points back at the version running before (nothing half-applied)."""
        try:
            active = self.registry.activate(self._script_of(version), context)
        except Exception:
            if current is not None and current.revision:
                await asyncio.to_thread(
                    self.versions.set_active, version.script, current.revision, actor or "system", self.clock.now()
                )
            raise
        self._stored_numbers[version.script] = version.number
        self._stored_issues.pop(version.script, None)
        return active

    async def rollback(self, name: str, number: int, actor: str = "", comment: str = "") -> IvrScript:
        """Run the content of an earlier version again, as a new version (a copy: history is
        never rewritten). Refused, the running version staying, when that content no longer
        validates (InvalidInput naming the reason and every error) or is the running one
        (Conflict)."""
        async with self._lock:
            old = await asyncio.to_thread(self.versions.version, name, number)
            if old is None:
                await self._known(name)
                raise NoSuchIvrVersion(
                    Text("%(name)r has no version %(number)s", name=name, number=number),
                    field="version",
                    script=name,
                    version=number,
                )
            current = self._running(name)
            if current is not None and current.digest == old.checksum:
                raise Conflict(
                    Text(
                        "version %(number)s of %(name)s has the content of the running version (v%(revision)s): nothing to roll back",
                        number=number,
                        name=name,
                        revision=current.revision,
                    ),
                    field="version",
                    script=name,
                    version=number,
                )
            context = await self.validation_context()
            script = self._script_of(old)
            issues = self._issues(script, context)
            if issues:
                logger.info("ivr: rollback of %s to version %d refused (%d errors)", name, number, len(issues))
                error = invalid_script_error(script, issues)
                error.message = (
                    f"version {number} of {name} no longer validates ({issues[0].message}): "
                    f"{current.label + ' (v' + str(current.revision) + ')' if current else 'nothing'} keeps running"
                )
                error.details["field"] = "version"
                raise error
            version = await self._store(
                script,
                old.content,
                author=actor or "?",
                origin="rollback",
                comment=comment or f"rollback to version {number}",
                file=old.file,
                rollback_of=number,
            )
            active = await self._switch_to(version, context, current, actor)
        logger.info("ivr: %s rolled back to version %d by %s (now version %d)", name, number, actor, version.number)
        await self._audit(actor, "ivr.rollback", version)
        await self.apply_dialplan()
        return active

    async def _audit(self, actor: str, action: str, version: ScriptVersion) -> None:
        if self.audit is None:
            return
        try:
            await asyncio.to_thread(
                lambda: self.audit(
                    actor or "system",
                    action,
                    version.script,
                    version=version.number,
                    label=version.label,
                    checksum=version.checksum,
                    comment=version.comment,
                    rollback_of=version.rollback_of,
                )
            )
        except Exception:
            logger.exception("ivr: cannot write the audit entry of %s v%d", version.script, version.number)

    # -- history ------------------------------------------------------------------------------

    async def _known(self, name: str) -> list[ScriptVersion]:
        versions = await asyncio.to_thread(self.versions.versions, name)
        if not versions:
            raise NoSuchIvrScript(Text("no IVR script %(name)r", name=name), field="name", script=name)
        return versions

    async def history(self, name: str) -> list[ScriptVersion]:
        """Every stored version of a script, newest first. Raises NoSuchIvrScript."""
        return list(reversed(await self._known(name)))

    async def version(self, name: str, number: int) -> ScriptVersion:
        found = await asyncio.to_thread(self.versions.version, name, number)
        if found is None:
            await self._known(name)
            raise NoSuchIvrVersion(
                Text("%(name)r has no version %(number)s", name=name, number=number),
                field="version",
                script=name,
                version=number,
            )
        return found

    async def diff(self, name: str, old: int, new: int) -> str:
        """The unified diff from version `old` to version `new` ("" when equal)."""
        return unified_diff(await self.version(name, old), await self.version(name, new))

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

    def scripts_using(self, *, skill: str = "", queue: str = "") -> list[str]:
        """Where the active scripts send callers with this skill or to this queue ("ivr SCRIPT
        node NODE"): a skill or queue they name is not removed from under them."""
        used = []
        for name in self.registry.names():
            for node_name, node in self.registry.active(name).nodes.items():
                if not isinstance(node, QueueNode):
                    continue
                if (skill and skill in dict(node.skills)) or (queue and node.queue == queue):
                    used.append(f"ivr {name} node {node_name}")
        return sorted(used)

    async def overview(self) -> list[dict[str, Any]]:
        """The running scripts, each with its stored versions (newest first)."""
        out = []
        for name in self.registry.names():
            script = self.registry.active(name)
            versions = list(reversed(await asyncio.to_thread(self.versions.versions, name)))
            running = next((v for v in versions if v.number == script.revision), None)
            out.append(
                {
                    "name": name,
                    "version": script.version,
                    "revision": script.revision,
                    "digest": script.digest[:12],
                    "description": script.description,
                    "file": running.file if running else script.file,
                    "dids": list(script.dids),
                    "extensions": list(script.extensions),
                    "nodes": len(script.nodes),
                    "activated_at": running.created_at.isoformat() if running else None,
                    "author": running.author if running else "",
                    "history": [
                        {
                            "version": v.label,
                            "number": v.number,
                            "digest": v.checksum[:12],
                            "activated_at": v.created_at.isoformat(),
                            "author": v.author,
                            "comment": v.comment,
                            "origin": v.origin,
                            "active": v.number == script.revision,
                        }
                        for v in versions
                    ],
                }
            )
        return out

    def errors(self) -> dict[str, list[dict[str, Any]]]:
        return {
            file: [i.as_dict() | {"text": str(i)} for i in issues] for file, issues in sorted(self.load_issues.items())
        }

    async def source(self, name: str) -> str:
        """The content of the running version of a script."""
        script = self._running(name)
        if script is None:
            raise NoSuchIvrScript(Text("no active IVR script %(name)r", name=name), script=name)
        return (await self.version(name, script.revision)).content


class MemoryVersionStore:
    """The `ScriptVersionStore` kept in memory: what the service uses without a database (tests,
    tools). Same rules as the database's: numbered per script, only ever added."""

    def __init__(self) -> None:
        self._versions: dict[str, list[ScriptVersion]] = {}
        self._active: dict[str, int] = {}

    def add(
        self,
        *,
        script: str,
        content: str,
        author: str,
        origin: str,
        at: datetime,
        label: str = "",
        file: str = "",
        comment: str = "",
        rollback_of: int | None = None,
        activate: bool = True,
    ) -> ScriptVersion:
        versions = self._versions.setdefault(script, [])
        version = ScriptVersion(
            script=script,
            number=len(versions) + 1,
            content=content,
            checksum=content_checksum(content),
            author=author,
            created_at=at,
            origin=origin,
            label=label,
            file=file,
            comment=comment,
            rollback_of=rollback_of,
        )
        versions.append(version)
        if activate:
            self._active[script] = version.number
        return dataclasses.replace(version, active=self._active.get(script) == version.number)

    def set_active(self, script: str, number: int, actor: str, at: datetime) -> None:
        if self.version(script, number) is None:
            raise NoSuchIvrVersion(
                Text("%(script)r has no version %(number)s", script=script, number=number),
                script=script,
                version=number,
            )
        self._active[script] = number

    def versions(self, script: str) -> list[ScriptVersion]:
        active = self._active.get(script)
        return [dataclasses.replace(v, active=v.number == active) for v in self._versions.get(script, ())]

    def version(self, script: str, number: int) -> ScriptVersion | None:
        return next((v for v in self.versions(script) if v.number == number), None)

    def active_versions(self) -> list[ScriptVersion]:
        return [v for name in sorted(self._active) for v in self.versions(name) if v.active]

    def active_numbers(self) -> dict[str, int]:
        return dict(self._active)

    def knows(self, script: str, checksum: str) -> bool:
        return any(v.checksum == checksum for v in self._versions.get(script, ()))
