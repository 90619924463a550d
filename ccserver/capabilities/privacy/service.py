"""GDPR erasure of a person: one use case reaching every place their number, name or voice can be.

Order matters:
1. whom: the customer file's phones and names, the numbers given (any French/E.164 writing),
   the names their campaign contacts carry;
2. live calls of that person: their recording is stopped and discarded (the spool file is
   deleted now and again when the call ends), and the call tracker forgets the caller so the
   call row written at hangup is anonymous;
3. the database, in ONE transaction (adapters/db/erasure.py): deleted, anonymized, or kept
   with only the keyed hash of the number where the law requires proof (do-not-call entries,
   consent ledger, compliance decisions) — the do-not-call list still blocks the number;
4. after the commit, the files: stored recordings (clear or encrypted), MixMonitor spool files
   with or without a row (found by the calls' uniqueid/linkedid in their names), voicemail
   messages and call files in Asterisk's spool, and every text file of Asterisk's log directory
   (CDR CSV Master.csv, queue_log, messages.log...) rewritten without the person's lines (temp
   file + rename), then Asterisk reopens its logs; SQLite is compacted so deleted rows do not
   linger in free pages. A file that cannot be removed is reported (the result and the audit
   entry list it, the web answer is an error), never swallowed.
5. the audit entry: who, when, which customer id, the keyed hash — never the number in clear.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core import events as ev
from ...core.errors import CcError, ConfigurationError, InvalidInput
from ...core.ports import AuditTrail, PbxCommands
from ...core.text import Text
from .errors import ErasureIncomplete
from .model import HASH_PREFIX, Person, canonical, canonical_nsn, filter_lines, keyed_hash, parse_person_number
from .ports import Compactor, ErasureRepository, LiveRecordings

logger = logging.getLogger(__name__)

KEY_FILE = "erasure_hmac.key"
FOLLOW_UP_DELAY = 1.0  # seconds after the person's last live call ended
# the tables an erasure changes (PostgreSQL vacuums them so dead tuples go too)
ERASED_TABLES = (
    "calls",
    "customers",
    "customer_phones",
    "tickets",
    "interactions",
    "recordings",
    "qa_evaluations",
    "callbacks",
    "outbound_contacts",
    "outbound_attempts",
    "compliance_decisions",
    "consent_ledger",
    "dnc_numbers",
    "outbound_imports",
    "audit_log",
)


def load_key(setting: str, data_dir: Path) -> bytes:
    """The erasure HMAC key: the `erasure_hmac_key` setting (hex, 32 bytes or more), else the
    key file data_dir/erasure_hmac.key, generated (mode 0600) the first time. Losing it means
    erased numbers can no longer be recognised on the do-not-call list: back it up with the
    database."""
    text = (setting or "").strip()
    if text:
        try:
            key = bytes.fromhex(text)
        except ValueError:
            raise ConfigurationError(
                "erasure_hmac_key must be hex (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)",
                field="erasure_hmac_key",
            ) from None
        if len(key) < 32:
            raise ConfigurationError(
                "erasure_hmac_key must be at least 32 bytes (64 hex digits)", field="erasure_hmac_key"
            )
        return key
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it meanwhile
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
            logger.info("erasure: generated the HMAC key %s (mode 0600); back it up", path)
    key = bytes.fromhex(path.read_text().strip())
    if len(key) < 32:
        raise ConfigurationError(Text("%(path)s must hold at least 32 bytes in hex", path=path), file=str(path))
    return key


@dataclass(frozen=True)
class AsteriskFiles:
    """Where Asterisk writes on this host: its spool (monitor/, voicemail/, outgoing/) and its
    log directory (cdr-csv/Master.csv, queue_log, messages.log...). None: not on this host."""

    spool_dir: Path | None
    log_dir: Path | None
    monitor_dir: Path | None

    @classmethod
    def of(cls, settings, config_writer=None) -> AsteriskFiles:
        info = None
        if config_writer is not None:
            try:
                info = getattr(config_writer, "info", None)
            except Exception:
                info = None
        if info is not None:
            return cls(info.instance_dir / "spool", info.instance_dir / "log", info.recordings_dir)
        spool = settings.recording.spool_dir or ""
        return cls(
            Path(settings.asterisk.spool_dir) if settings.asterisk.spool_dir else None,
            Path(settings.asterisk.log_dir) if settings.asterisk.log_dir else None,
            Path(spool) if spool else None,
        )


class ErasureService:
    def __init__(
        self,
        repo: ErasureRepository,
        key: bytes,
        *,
        audit: AuditTrail,
        recording: LiveRecordings | None = None,
        tracker=None,
        channels=None,
        pbx: PbxCommands | None = None,
        database: Compactor | None = None,
        files: AsteriskFiles | None = None,
        store=None,
        drain: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.repo = repo
        self.store = store if store is not None else (recording.store if recording is not None else None)
        self.key = key
        self.audit = audit
        self.recording = recording
        self.tracker = tracker
        self.channels = channels
        self.pbx = pbx
        self.database = database
        self.files = files or AsteriskFiles(None, None, None)
        self.drain = drain  # waits until call records on their way are in the database
        self._lock = asyncio.Lock()
        # live calls of erased persons: uniqueid -> (person, their call ids); when the last one
        # hangs up, the logs are filtered again (Asterisk writes the CDR and queue_log then)
        self.pending: dict[str, tuple[Person, frozenset[str]]] = {}
        self._followups: set[asyncio.Task] = set()

    async def on_event(self, event: ev.Event) -> None:
        """The person's live calls ending: filter the logs again once the last one is gone."""
        if not self.pending:
            return
        if isinstance(event, ev.ChannelHungup):
            gone = [event.uniqueid]
        elif isinstance(event, ev.PbxSnapshot):
            alive = {c.uniqueid for c in event.channels}
            gone = [u for u in self.pending if u not in alive]
        else:
            return
        for uniqueid in gone:
            entry = self.pending.pop(uniqueid, None)
            if entry is None:
                continue
            person, ids = entry
            if any(p is person for p, _ in self.pending.values()):
                continue  # another leg of theirs still runs
            self._schedule_follow_up(person, ids)

    def _schedule_follow_up(self, person: Person, ids: frozenset[str]) -> None:
        task = asyncio.get_running_loop().create_task(self._follow_up(person, ids), name="erasure-follow-up")
        self._followups.add(task)
        task.add_done_callback(self._followups.discard)

    async def _follow_up(self, person: Person, ids: frozenset[str]) -> None:
        await asyncio.sleep(FOLLOW_UP_DELAY)  # Asterisk writes the CDR just after the hangup
        async with self._lock:
            failures: list[dict[str, str]] = []
            dropped = await asyncio.to_thread(self._rewrite_logs, person, set(ids), failures)
            if dropped:
                await self._reload_logs(failures)
            if failures:
                logger.error(
                    "erasure follow-up: %d file(s) could not be rewritten: %s",
                    len(failures),
                    "; ".join(f"{f['file']}: {f['error']}" for f in failures),
                )
                await asyncio.to_thread(self.audit.record, "system", "person.erase.incomplete", "", failures=failures)
            logger.info("erasure follow-up after the last live call: %d log line(s) removed", dropped)

    async def stop(self) -> None:
        """Let a running follow-up finish (a few seconds at most)."""
        if self._followups:
            await asyncio.wait(set(self._followups), timeout=FOLLOW_UP_DELAY + 5)

    async def settled(self, timeout: float = 10.0) -> bool:
        """Wait until no follow-up is pending or running; False if some still are."""
        deadline = asyncio.get_running_loop().time() + timeout
        while (self.pending or self._followups) and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        return not (self.pending or self._followups)

    async def _reload_logs(self, failures: list[dict[str, str]]) -> None:
        if self.pbx is None or not getattr(self.pbx, "is_up", False):
            return
        try:  # Asterisk keeps queue_log and its logs open: make it reopen the new files
            await self.pbx.reload("logger")
        except CcError as exc:
            failures.append({"file": "asterisk logs", "error": f"logger reload: {exc.message}"})

    # --- the keyed hash ----------------------------------------------------------------------------
    def hash_of(self, number: int | str) -> str:
        """The keyed hash kept for a number: an NSN (French plan) or an E.164 string."""
        text = canonical_nsn(number) if isinstance(number, int) else canonical(number)
        return keyed_hash(self.key, text)

    # --- the use case --------------------------------------------------------------------------------
    async def erase(
        self,
        *,
        customer_id: int | None = None,
        numbers: list[str] | tuple[str, ...] = (),
        actor: str,
        raise_on_failure: bool = False,
    ) -> dict[str, Any]:
        if customer_id is None and not numbers:
            raise InvalidInput("give a customer id or a phone number to erase", field="customer_id")
        if customer_id is not None and (not isinstance(customer_id, int) or isinstance(customer_id, bool)):
            raise InvalidInput("customer_id is a number", field="customer_id")
        e164 = [parse_person_number(n, "number") for n in numbers]
        started = time.monotonic()
        async with self._lock:
            names: list[str] = []
            if customer_id is not None:
                phones, customer_names = await asyncio.to_thread(self.repo.customer, customer_id)
                e164 += phones
                names += customer_names
            person = Person.of(customer_id, e164)
            names += await asyncio.to_thread(self.repo.contact_names, person.nsns)
            person = Person.of(customer_id, e164, names)
            live = self._live_calls(person)
            if self.tracker is not None and live:
                self.tracker.erase(live, person.redact)
            doomed_spool = await self.recording.forget_live(live) if self.recording is not None else []
            if self.drain is not None:
                await self.drain()
            erased = await asyncio.to_thread(self.repo.erase, person, self.hash_of, live)
            if self.tracker is not None:  # a record still on its way is written anonymous
                self.tracker.erase(erased.uniqueids, person.redact)
            live_channels = self.channels.channels if self.channels is not None else {}
            # calls found only through the database (a campaign call to the person: its channel
            # shows our caller ID, the attempt row knows its uniqueid) that still run
            late = {
                u
                for u, c in list(live_channels.items())
                if (u in erased.uniqueids or c.linkedid in erased.uniqueids) and u not in live
            }
            if late:
                if self.tracker is not None:
                    self.tracker.erase(late, person.redact)
                if self.recording is not None:
                    doomed_spool += await self.recording.forget_live(late)
                live |= late
            live_now = {u for u in live if u in live_channels}
            for uniqueid in live_now:
                self.pending[uniqueid] = (person, frozenset(erased.uniqueids))
            if live and not live_now:  # they hung up meanwhile: Asterisk may still be writing
                self._schedule_follow_up(person, frozenset(erased.uniqueids))
            # --- files, after the commit
            failures: list[dict[str, str]] = []
            removed = await asyncio.to_thread(self._remove_files, person, erased, doomed_spool, failures)
            rewritten = await asyncio.to_thread(self._rewrite_logs, person, erased.uniqueids, failures)
            if rewritten:
                await self._reload_logs(failures)
            if self.database is not None:
                await asyncio.to_thread(self._compact, failures)
            kept_hash = (
                self.hash_of(person.nsns[0])
                if person.nsns
                else (self.hash_of(person.numbers[0]) if person.numbers else "")
            )
            summary: dict[str, Any] = {
                "customer_id": customer_id,
                "number_hash": HASH_PREFIX + kept_hash if kept_hash else "",
                **erased.counts,
                "files": removed["recordings"],
                "spool_files": removed["spool"],
                "voicemail_messages": removed["voicemail"],
                "call_files": removed["outgoing"],
                "log_lines_removed": rewritten,
                "live_calls": len(live_now),
                "failures": failures,
                "seconds": round(time.monotonic() - started, 3),
            }
            summary.setdefault("tickets", 0)
            summary.setdefault("interactions", 0)
            summary.setdefault("phones", 0)
            await asyncio.to_thread(
                self.audit.record,
                actor,
                "customer.erase" if customer_id is not None else "person.erase",
                str(customer_id) if customer_id is not None else summary["number_hash"][:255],
                **{k: v for k, v in summary.items() if k != "customer_id"},
            )
        if failures:
            logger.error(
                "erasure by %s (customer %s, %s) incomplete: %d file(s) could not be removed: %s",
                actor,
                customer_id,
                summary["number_hash"][:24],
                len(failures),
                "; ".join(f"{f['file']}: {f['error']}" for f in failures),
            )
            if raise_on_failure:
                raise ErasureIncomplete(
                    Text(
                        "the database part is erased, but %(count)s file(s) could not be removed", count=len(failures)
                    ),
                    failures=failures,
                    summary=summary,
                )
        else:
            logger.info(
                "erasure by %s (customer %s, %s) done: %s",
                actor,
                customer_id,
                summary["number_hash"][:24],
                {k: v for k, v in summary.items() if k not in ("customer_id", "number_hash")},
            )
        return summary

    # --- live calls -------------------------------------------------------------------------------
    def _live_calls(self, person: Person) -> set[str]:
        """uniqueids (and linkedids) of the person's calls in progress, from the live channels
        and the open call records: by the caller's number, or a number in the channel name."""
        forms = set(person.digit_forms)
        found: set[str] = set()
        if self.channels is not None:
            for c in list(self.channels.channels.values()):
                if c.caller_number in forms or any(f in c.channel for f in forms):
                    found |= {c.uniqueid, c.linkedid}
        if self.tracker is not None:
            for r in list(self.tracker.open.values()):
                if r.caller_number in forms or any(f in r.channel for f in forms):
                    found |= {r.uniqueid, r.linkedid}
        if self.channels is not None and found:  # the other legs of those calls
            for c in list(self.channels.channels.values()):
                if c.linkedid in found:
                    found.add(c.uniqueid)
        return {u for u in found if u}

    # --- files ----------------------------------------------------------------------------------
    def _unlink(self, path: Path, failures: list[dict[str, str]]) -> bool:
        try:
            path.unlink()
            return True
        except FileNotFoundError:
            return False
        except OSError as exc:
            failures.append({"file": str(path), "error": str(exc)})
            return False

    def _remove_files(
        self, person: Person, erased, doomed_spool: list[str], failures: list[dict[str, str]]
    ) -> dict[str, int]:
        removed = {"recordings": 0, "spool": 0, "voicemail": 0, "outgoing": 0}
        store = self.store
        spool_names = set(doomed_spool)
        for _id, path, spool, _status in erased.recordings:
            if spool:
                spool_names.add(spool)
            if path and store is not None:
                try:
                    if store.delete(path):
                        removed["recordings"] += 1
                except (OSError, ValueError) as exc:
                    failures.append({"file": path, "error": str(exc)})
        # MixMonitor's files: by name, and any file whose name carries one of the calls' ids
        # (a file being written, or one whose row was never made)
        monitor_dirs = {
            d for d in (self.files.monitor_dir, store.spool_dir if store is not None else None) if d is not None
        }
        ids = {u for u in erased.uniqueids if u}
        for monitor in monitor_dirs:
            if not monitor.is_dir():
                continue
            for name in spool_names:
                if self._unlink(monitor / name, failures):
                    removed["spool"] += 1
            if ids:
                for path in monitor.rglob("*"):
                    if path.is_file() and any(u in path.name for u in ids) and self._unlink(path, failures):
                        removed["spool"] += 1
        # ccserver's store: temporary files of an ingest cut short carry no row but the voice
        if store is not None and store.store_dir.is_dir() and erased.recordings:
            stems = {f"{rid}.wav" for rid, *_ in erased.recordings}
            for path in store.store_dir.rglob("*.tmp-*"):
                if any(path.name.startswith(stem) for stem in stems):
                    self._unlink(path, failures)
        spool = self.files.spool_dir
        if spool is not None and spool.is_dir():
            # voicemail: msgNNNN.txt (envelope: callerid, uniqueid) and its audio msgNNNN.*
            voicemail = spool / "voicemail"
            if voicemail.is_dir():
                for envelope in voicemail.rglob("msg*.txt"):
                    try:
                        text = envelope.read_text(errors="replace")
                    except OSError as exc:
                        failures.append({"file": str(envelope), "error": str(exc)})
                        continue
                    if person.mentioned_in(text) or any(u in text for u in ids):
                        for sibling in envelope.parent.glob(envelope.stem + ".*"):
                            self._unlink(sibling, failures)
                        removed["voicemail"] += 1
            # call files waiting to be dialled (and the ones kept after they ran)
            for sub in ("outgoing", "outgoing_done"):
                folder = spool / sub
                if not folder.is_dir():
                    continue
                for path in folder.iterdir():
                    try:
                        text = path.read_text(errors="replace") if path.is_file() else ""
                    except OSError as exc:
                        failures.append({"file": str(path), "error": str(exc)})
                        continue
                    if person.mentioned_in(text) and self._unlink(path, failures):
                        removed["outgoing"] += 1
        return removed

    def _rewrite_logs(self, person: Person, ids: set[str], failures: list[dict[str, str]]) -> int:
        """Every text file under Asterisk's log directory (Master.csv, queue_log, messages.log,
        full...) without the lines about the person or their calls: written to a temporary file
        next to it, then renamed over it (readers see the old or the new file, never half)."""
        log_dir = self.files.log_dir
        if log_dir is None or not log_dir.is_dir():
            return 0
        dropped_total = 0
        for path in sorted(log_dir.rglob("*")):
            if not path.is_file() or ".erase-" in path.name:
                continue
            try:
                data = path.read_bytes()
            except OSError as exc:
                failures.append({"file": str(path), "error": str(exc)})
                continue
            if b"\0" in data[:4096]:
                continue  # not text
            text = data.decode("utf-8", errors="surrogateescape")
            if not person.mentioned_in(text) and not any(i in text for i in ids):
                continue  # the common case: one pass over the file, no line split
            new, dropped = filter_lines(text, person, ids)
            if not dropped:
                continue
            tmp = path.with_name(f"{path.name}.erase-{secrets.token_hex(4)}")
            try:
                st = path.stat()
                with open(tmp, "wb") as f:
                    f.write(new.encode("utf-8", errors="surrogateescape"))
                    f.flush()
                    os.fsync(f.fileno())
                os.chmod(tmp, st.st_mode & 0o7777)
                try:
                    os.chown(tmp, st.st_uid, st.st_gid)
                except PermissionError:
                    pass
                os.replace(tmp, path)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                failures.append({"file": str(path), "error": str(exc)})
                continue
            dropped_total += dropped
            logger.info("erasure: %d line(s) removed from %s", dropped, path)
        return dropped_total

    def _compact(self, failures: list[dict[str, str]]) -> None:
        """SQLite keeps deleted rows in free pages and the WAL until they are reused: rewrite
        the file (VACUUM) and empty the WAL so the erased data is gone from the disk too."""
        try:
            self.database.compact(ERASED_TABLES)
        except Exception as exc:  # reported: the rows are deleted, their bytes may linger
            failures.append({"file": "database", "error": f"compaction failed: {exc}"})
