"""Opposition lists and consents: the facts the compliance engine reads before a call.

- the consent ledger (append-only: grants, refusals, revocations; to canvassing and to calls
  outside the legal hours), whose current state sets the contacts' flags;
- the company's do-not-call list;
- Bloctel: the national opposition list as a memory-mapped bitmap (opposition.py), and the
  campaign files Bloctel returns scrubbed.

A change that lifts a block (a consent granted, a number taken off the list, a newer Bloctel list)
puts the contacts it blocked back in the dialing list: the engine checks them again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ...core.clock import Clock
from ...core.errors import CcError, InvalidInput, NotFound
from ...core.text import Text
from .access import Access, RunningCampaigns
from .compliance import parse_instant
from .imports import ConsentRow, consent_entry, parse_consents, parse_number_list
from .numbers import parse_number
from .opposition import OppositionList, build_from_text_file
from .ports import OutboundRepositoryPort
from .views import consent_dict

logger = logging.getLogger(__name__)


def refuse_bad_lines(rejections: list) -> None:
    """A file with a bad line is imported not at all: the error names the first bad line and
    carries the first 500 (the page shows them)."""
    if rejections:
        first = rejections[0]
        raise InvalidInput(
            Text(
                "line %(line)s: %(reason)s (%(count)s bad line(s)); nothing imported",
                line=first.line,
                reason=first.reason,
                count=len(rejections),
            ),
            field="file",
            line=first.line,
            rejections=[r.to_dict() for r in rejections[:500]],
        )


class OppositionService:
    def __init__(
        self,
        repo: OutboundRepositoryPort,
        *,
        clock: Clock,
        access: Access,
        running: RunningCampaigns,
        data_dir: Path | str = "var",
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.access = access
        self.running = running
        self.data_dir = Path(data_dir)
        self._bloctel: OppositionList | None = None
        self._bloctel_date: datetime | None = None

    @property
    def bloctel(self) -> OppositionList | None:
        """The national opposition list in force (None: none imported)."""
        return self._bloctel

    @property
    def bloctel_date(self) -> datetime | None:
        """The date the list in force was obtained from Bloctel."""
        return self._bloctel_date

    async def start(self) -> None:
        await self._load_bloctel()

    def close(self) -> None:
        if self._bloctel is not None:
            self._bloctel.close()
            self._bloctel = None

    # --- consent ledger
    async def record_consent(
        self,
        *,
        number: str,
        scope: str = "canvassing",
        action: str = "grant",
        at: str | datetime | None = None,
        source: str = "",
        proof_ref: str = "",
        actor: str,
        campaign_id: int | None = None,
        attempt_id: int | None = None,
    ) -> dict:
        now = self.clock.now()
        row = consent_entry(number, scope, action, at or now, now=now, source=source, proof_ref=proof_ref)
        ids = await self.store_consents([row], actor, campaign_id=campaign_id, attempt_id=attempt_id)
        return {"id": ids[0], **row.to_dict()}

    async def import_consents(self, data: bytes, encoding: str, actor: str, filename: str = "") -> dict:
        """A consent file is imported whole or not at all."""
        now = self.clock.now()
        rows, rejections = await asyncio.to_thread(parse_consents, data, now=now, encoding=encoding)
        refuse_bad_lines(rejections)
        if not rows:
            raise InvalidInput("the file has no consent line", field="file")
        ids = await self.store_consents(rows, actor, source_file=filename)
        return {"imported": len(ids)}

    async def store_consents(self, rows: list[ConsentRow], actor: str, **extra: Any) -> list[int]:
        now = self.clock.now()
        source_file = extra.pop("source_file", "")
        entries = [
            dict(
                nsn=r.nsn,
                number=r.number,
                scope=r.scope,
                action=r.action,
                at=r.at,
                source=r.source,
                proof_ref=r.proof_ref,
                recorded_by=actor,
                recorded_at=now,
                **extra,
            )
            for r in rows
        ]
        nsns = {r.nsn for r in rows}

        def store() -> list[int]:
            ids = self.repo.add_consents(entries)
            state = self.repo.consent_state(nsns, now)
            outside = {
                n: ("outside_hours" in state.get(n, {}) and state[n]["outside_hours"].action == "grant") for n in nsns
            }
            self.repo.set_outside_hours(outside, now)
            granted = [n for n in nsns if "canvassing" in state.get(n, {}) and state[n]["canvassing"].action == "grant"]
            for nsn in granted:
                self.repo.unblock(now, ["consent.required"], nsn)
            return ids

        ids = await asyncio.to_thread(store)
        await self.access.record(
            actor, "consent.record", source_file or ",".join(r.number for r in rows[:5]), entries=len(rows)
        )
        return ids

    async def consents_of(self, number: str) -> dict:
        parsed = parse_number(number)
        now = self.clock.now()
        entries, state = await asyncio.to_thread(
            lambda: (self.repo.consent_entries(parsed.nsn), self.repo.consent_state([parsed.nsn], now))
        )
        current = state.get(parsed.nsn, {})
        return {
            "number": parsed.national,
            "canvassing": bool(current.get("canvassing") and current["canvassing"].action == "grant"),
            "outside_hours": bool(current.get("outside_hours") and current["outside_hours"].action == "grant"),
            "entries": [consent_dict(e) for e in entries],
        }

    # --- do-not-call, Bloctel
    async def dnc_add(
        self, numbers: list[str] | bytes, reason: str, actor: str, source: str = "manual", encoding: str = "utf-8"
    ) -> dict:
        if isinstance(numbers, (bytes, bytearray)):
            parsed, rejections = await asyncio.to_thread(parse_number_list, bytes(numbers), encoding=encoding)
            refuse_bad_lines(rejections)
            pairs = [(nsn, national) for _, nsn, national in parsed]
        else:
            pairs = []
            for index, text in enumerate(numbers):
                n = parse_number(str(text), field=f"numbers[{index}]")
                pairs.append((n.nsn, n.national))
        if not pairs:
            raise InvalidInput("no number given", field="numbers")
        added = await asyncio.to_thread(self.repo.dnc_add, pairs, reason or "", source, actor, self.clock.now())
        await self.access.record(actor, "dnc.add", f"{len(pairs)} number(s)", added=added)
        return {"added": added, "already_listed": len(pairs) - added}

    async def dnc_remove(self, number: str, actor: str) -> dict:
        n = parse_number(number)
        now = self.clock.now()

        def remove() -> bool:
            if not self.repo.dnc_remove(n.nsn):
                return False
            self.repo.unblock(now, ["dnc.company_list"], n.nsn)
            return True

        if not await asyncio.to_thread(remove):
            raise NotFound(Text("%(national)s is not on the do-not-call list", national=n.national), field="number")
        await self.access.record(actor, "dnc.remove", n.national)
        return {"removed": n.national}

    async def _load_bloctel(self) -> None:
        entry = await asyncio.to_thread(self.repo.active_bloctel)
        if entry is None or not entry.path or not await asyncio.to_thread(Path(entry.path).exists):
            return
        try:
            lst = await asyncio.to_thread(OppositionList.open, entry.path)
        except CcError as exc:
            logger.error("outbound: the Bloctel list %s is unreadable: %s", entry.path, exc.message)
            return
        old, self._bloctel, self._bloctel_date = self._bloctel, lst, entry.scrubbed_at
        if old is not None:
            old.close()

    async def import_bloctel_list(self, data: bytes, scrubbed_at: str | datetime, filename: str, actor: str) -> dict:
        """An opposition file from Bloctel (one number a line), with the date it was obtained."""
        when = scrubbed_at if isinstance(scrubbed_at, datetime) else parse_instant(scrubbed_at, "scrubbed_at")
        if when > self.clock.now() + timedelta(minutes=5):
            raise InvalidInput("the scrub date is in the future", field="scrubbed_at")
        if not data.strip():
            raise InvalidInput("the file is empty", field="file", line=1)
        directory = self.data_dir / "outbound"
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f"bloctel-{secrets.token_hex(4)}.bitmap"

        def build():
            with tempfile.NamedTemporaryFile(dir=directory, suffix=".txt", delete=False) as tmp:
                tmp.write(data)
            try:
                return build_from_text_file(
                    tmp.name, target, kind="bloctel", scrubbed_at=when, source=filename or "upload"
                )
            finally:
                os.unlink(tmp.name)

        report = await asyncio.to_thread(build)
        if report.meta.count == 0:
            target.unlink(missing_ok=True)
            raise InvalidInput(
                Text(
                    "no valid number in the file (%(invalid_lines)s invalid line(s))",
                    invalid_lines=report.invalid_lines,
                ),
                field="file",
                line=1,
            )
        now = self.clock.now()

        def record():
            previous = self.repo.active_bloctel()
            self.repo.add_opposition_list(
                kind="bloctel",
                source=filename,
                scrubbed_at=when,
                imported_by=actor,
                imported_at=now,
                numbers=report.meta.count,
                lines=report.lines,
                invalid_lines=report.invalid_lines,
                path=str(target),
            )
            return previous

        previous = await asyncio.to_thread(record)
        await self._load_bloctel()
        if previous is not None and previous.path and previous.path != str(target):
            await asyncio.to_thread(Path(previous.path).unlink, missing_ok=True)
        unblocked = await asyncio.to_thread(self.repo.unblock, self.clock.now(), ["bloctel.opposed"])
        await self.access.record(
            actor,
            "bloctel.import",
            filename,
            numbers=report.meta.count,
            scrubbed_at=when.isoformat(),
            invalid_lines=report.invalid_lines,
        )
        return {
            "numbers": report.meta.count,
            "lines": report.lines,
            "invalid_lines": report.invalid_lines,
            "scrubbed_at": when.isoformat(),
            "rechecked_contacts": unblocked,
        }

    async def import_bloctel_scrub(
        self,
        campaign_id: int,
        returned: bytes,
        scrubbed_at: str | datetime,
        filename: str,
        actor: str,
        encoding: str = "utf-8",
        role: str | None = None,
    ) -> dict:
        """The campaign file as Bloctel returned it after scrubbing: the campaign's numbers
        missing from it are the opposed ones."""
        await self.access.require_campaign(campaign_id, actor, role, "scrub")
        when = scrubbed_at if isinstance(scrubbed_at, datetime) else parse_instant(scrubbed_at, "scrubbed_at")
        if when > self.clock.now() + timedelta(minutes=5):
            raise InvalidInput("the scrub date is in the future", field="scrubbed_at")
        parsed, rejections = await asyncio.to_thread(parse_number_list, returned, encoding=encoding)
        refuse_bad_lines(rejections)
        kept_nsns = {nsn for _, nsn, _ in parsed}
        pairs = await asyncio.to_thread(self.repo.campaign_nsns, campaign_id)
        if not pairs:
            raise InvalidInput("the campaign has no contact to scrub", field="campaign_id")
        opposed = [cid for cid, nsn in pairs if nsn not in kept_nsns]
        kept = [cid for cid, nsn in pairs if nsn in kept_nsns]
        foreign = len(kept_nsns - {nsn for _, nsn in pairs})
        now = self.clock.now()

        def record() -> int:
            self.repo.apply_scrub(campaign_id, opposed, kept, when, now)
            self.repo.add_opposition_list(
                kind="bloctel-scrub",
                campaign_id=campaign_id,
                source=filename,
                scrubbed_at=when,
                imported_by=actor,
                imported_at=now,
                numbers=len(opposed),
                lines=len(parsed),
                invalid_lines=0,
            )
            return self.repo.unblock(now, ["bloctel.opposed"], None, campaign_id)

        unblocked = await asyncio.to_thread(record)
        await self.access.record(
            actor, "bloctel.scrub", str(campaign_id), opposed=len(opposed), kept=len(kept), scrubbed_at=when.isoformat()
        )
        self.running.invalidate()
        return {
            "opposed": len(opposed),
            "kept": len(kept),
            "not_in_campaign": foreign,
            "scrubbed_at": when.isoformat(),
            "rechecked_contacts": unblocked,
        }

    async def recent_consents(self, limit: int = 50) -> list:
        return await asyncio.to_thread(self.repo.recent_consents, limit)

    async def opposition_status(self) -> dict:
        lists, (dnc, total) = await asyncio.to_thread(lambda: (self.repo.opposition_lists(), self.repo.dnc_list(0, 50)))
        now = self.clock.now()
        return {
            "bloctel": None
            if self._bloctel is None
            else {
                "numbers": self._bloctel.meta.count,
                "scrubbed_at": self._bloctel_date.isoformat() if self._bloctel_date else None,
                "stale": self._bloctel_date is None or now - self._bloctel_date > timedelta(days=30),
            },
            "lists": [
                {
                    "id": lst.id,
                    "kind": lst.kind,
                    "campaign_id": lst.campaign_id,
                    "source": lst.source,
                    "scrubbed_at": lst.scrubbed_at.isoformat(),
                    "imported_at": lst.imported_at.isoformat(),
                    "imported_by": lst.imported_by,
                    "numbers": lst.numbers,
                    "active": lst.active,
                }
                for lst in lists
            ],
            "dnc_count": total,
            "dnc": [
                {
                    "number": d.number or "(effacé)",
                    "reason": d.reason,
                    "source": d.source,
                    "added_by": d.added_by,
                    "added_at": d.added_at.isoformat(),
                }
                for d in dnc
            ],
        }
