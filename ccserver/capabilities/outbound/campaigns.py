"""Campaigns and their contacts: create and change campaigns (and their queue ``camp-<id>`` in
Asterisk), assign agents, list the contacts, import contact files (checked and previewed first,
then committed whole in one transaction, with progress pushed to the uploader).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from ...core.clock import Clock
from ...core.errors import CcError, Conflict, InvalidInput
from ...core.ports import ConfigWriter, PbxCommands
from ...core.text import Text
from ..media.model import check_language
from .access import Access, Notifier, RunningCampaigns
from .dialer import MODES, check_caller_id_pool, queue_name
from .dialing import DialerService
from .dialplan import render_campaign_queues, render_dialer_dialplan
from .imports import parse_contacts, row_from_list
from .ports import OutboundRepositoryPort
from .views import CampaignLive, campaign_dict, contact_dict

logger = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.'-]{0,63}$")
STATUS_CHANGES = {
    "start": ("draft", "paused", "running"),
    "pause": ("running", "paused"),
    "finish": ("draft", "running", "paused", "finished"),
}


class CampaignService:
    def __init__(
        self,
        repo: OutboundRepositoryPort,
        *,
        clock: Clock,
        access: Access,
        running: RunningCampaigns,
        notify: Notifier,
        dialer: DialerService,
        pbx: PbxCommands | None = None,
        writer: ConfigWriter | None = None,
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.access = access
        self.running = running
        self.notify = notify
        self.dialer = dialer
        self.pbx = pbx
        self.writer = writer
        # the language of campaigns that name none, and what Asterisk has sounds for (set by
        # app.py from the media capability; None: only the code's form is checked)
        self.default_language = ""
        self.installed_languages: Callable[[], list[str] | None] | None = None

    def _check_language(self, value: Any) -> str:
        if not isinstance(value, str):
            raise InvalidInput("language: a language code like fr", field="language", value=value)
        installed = self.installed_languages() if self.installed_languages is not None else None
        return check_language(value.strip(), installed if installed is not None else [value.strip()])

    async def languages(self) -> list[str]:
        """The languages a campaign may be given (those Asterisk has sounds for; [] when unknown)."""
        if self.installed_languages is None:
            return []
        return sorted(await asyncio.to_thread(self.installed_languages) or [])

    # --- Asterisk configuration
    async def apply_configuration(self) -> None:
        """Write the campaign queues and the dialer's dialplan, and reload them when Asterisk is
        connected (at start it is not yet: the reload every capability asks after the AMI login
        reads them)."""
        writer = self.writer
        if writer is None:
            return

        def write() -> None:
            campaigns = self.repo.campaigns()
            writer.write_generated("queues_campaigns.conf", render_campaign_queues(c.id for c in campaigns))
            writer.write_generated("extensions_dialer.conf", render_dialer_dialplan(self.default_language))

        await asyncio.to_thread(write)
        await self._reload_asterisk()

    async def _reload_asterisk(self) -> None:
        if self.pbx is None or not getattr(self.pbx, "is_up", False) or self.writer is None:
            return
        try:
            await self.pbx.reload("app_queue.so")
            await self.pbx.reload("pbx_config.so")  # the dialplan
        except CcError as exc:
            logger.warning("outbound: could not reload Asterisk's queues/dialplan: %s", exc.message)

    # --- campaigns
    def _validate_campaign(self, values: dict[str, Any], creating: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        ints = {
            "abandon_cap_permille": (1, 30),
            "ring_seconds": (5, 120),
            "max_attempts": (1, 10),
            "retry_busy_minutes": (1, 7 * 1440),
            "retry_no_answer_minutes": (1, 7 * 1440),
            "retry_machine_minutes": (1, 7 * 1440),
            "retry_abandoned_minutes": (1, 7 * 1440),
            "retry_congestion_minutes": (1, 7 * 1440),
        }
        for key, value in values.items():
            if key in ints:
                low, high = ints[key]
                if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                    raise InvalidInput(
                        Text("%(key)s must be a whole number from %(low)s to %(high)s", key=key, low=low, high=high),
                        field=key,
                        value=value,
                    )
                out[key] = value
            elif key == "mode":
                if value not in MODES:
                    raise InvalidInput(
                        Text("mode must be one of %(value)s", value=", ".join(MODES)), field="mode", value=value
                    )
                out[key] = value
            elif key == "amd":
                if not isinstance(value, bool):
                    raise InvalidInput("amd must be true or false", field="amd", value=value)
                out[key] = value
            elif key == "caller_ids":
                if isinstance(value, str):
                    value = [v.strip() for v in re.split(r"[,;\n]+", value) if v.strip()]
                if not isinstance(value, list):
                    raise InvalidInput("caller_ids is a list of numbers", field="caller_ids")
                out[key] = check_caller_id_pool(value)
            elif key in ("abandon_message", "machine_message"):
                if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_/&.-]{0,128}", value):
                    raise InvalidInput(
                        Text("%(key)s: a sound name (letters, digits, _ / & - .)", key=key), field=key, value=value
                    )
                out[key] = value
            elif key == "language":
                out[key] = self._check_language(value)
            elif key == "description":
                if not isinstance(value, str) or len(value) > 2000:
                    raise InvalidInput("description: text of at most 2000 characters", field="description")
                out[key] = value
            elif key == "name" and creating:
                continue
            else:
                raise InvalidInput(Text("unknown campaign field %(key)r", key=key), field=key)
        if "abandon_message" in out and not out["abandon_message"]:
            raise InvalidInput(
                "the abandon message is required (played when no agent is free)", field="abandon_message"
            )
        return out

    async def create_campaign(self, name: str, values: dict[str, Any], actor: str, role: str | None = None) -> dict:
        if not isinstance(name, str) or not NAME_RE.match(name.strip()):
            raise InvalidInput("a campaign name has 1 to 64 letters, digits, spaces, _ . ' -", field="name", value=name)
        clean = self._validate_campaign(values, creating=True)
        if "caller_ids" in clean:
            clean["caller_ids"] = json.dumps(clean["caller_ids"])
        row = await asyncio.to_thread(self.repo.create_campaign, name.strip(), clean, actor, self.clock.now())
        await self.access.record(actor, "campaign.create", row.name, campaign_id=row.id)
        if role == "supervisor" and self.access.scopes is not None:
            # the supervisor who creates a campaign supervises it (it joins their campaign scope)
            await asyncio.to_thread(self.access.scopes.give_scope, actor, "campaign", str(row.id))
        self.running.invalidate()
        await self.apply_configuration()
        return campaign_dict(row, [])

    async def update_campaign(
        self, campaign_id: int, values: dict[str, Any], actor: str, role: str | None = None
    ) -> dict:
        await self.access.require_campaign(campaign_id, actor, role, "change")
        clean = self._validate_campaign(values, creating=False)
        if "caller_ids" in clean:
            clean["caller_ids"] = json.dumps(clean["caller_ids"])
        row = await asyncio.to_thread(self.repo.update_campaign, campaign_id, clean, self.clock.now())
        await self.access.record(actor, "campaign.update", row.name, campaign_id=campaign_id, changes=sorted(clean))
        self.running.invalidate()
        return campaign_dict(row)

    async def change_status(self, campaign_id: int, action: str, actor: str, role: str | None = None) -> dict:
        await self.access.require_campaign(campaign_id, actor, role, "change")
        if action not in STATUS_CHANGES:
            raise InvalidInput("action must be start, pause or finish", field="action", value=action)
        target = {"start": "running", "pause": "paused", "finish": "finished"}[action]
        now = self.clock.now()

        def change():
            row = self.repo.campaign(campaign_id)
            if row.status not in STATUS_CHANGES[action]:
                raise Conflict(
                    Text("a %(status)s campaign cannot be %(target)s", status=row.status, target=target),
                    status=row.status,
                )
            return self.repo.update_campaign(campaign_id, {"status": target}, now)

        row = await asyncio.to_thread(change)
        await self.access.record(actor, f"campaign.{action}", row.name, campaign_id=campaign_id)
        self.running.invalidate()
        await self.dialer.refresh_windows(campaign_id)
        return campaign_dict(row)

    async def campaign(self, campaign_id: int) -> dict:
        row, agents, counts, outcomes = await asyncio.to_thread(
            lambda: (
                self.repo.campaign(campaign_id),
                self.repo.campaign_agents(campaign_id),
                self.repo.contact_counts(campaign_id),
                self.repo.outcome_counts(campaign_id),
            )
        )
        stats = self.dialer.outcomes.stats.get(campaign_id)
        now_s = self.clock.now().timestamp()
        return {
            **campaign_dict(row, agents),
            "contacts": counts,
            "attempts": outcomes,
            "live": self.dialer.live.get(campaign_id, CampaignLive()).to_dict(),
            "pacing": None
            if stats is None
            else {
                "answer_rate": round(stats.answer_rate(), 4),
                "abandon_rate_24h": round(stats.abandon_rate(now_s), 4),
                "avg_handle_s": round(stats.avg_handle_s(), 1),
                "avg_answer_s": round(stats.avg_answer_s(), 1),
            },
        }

    async def visible_campaigns(self, username: str, role: str) -> list[dict]:
        """The campaigns list as this user may see it (a supervisor: their scope's)."""
        return await self.access.visible(await self.campaigns(), username, role)

    async def my_campaigns(self, username: str) -> list[dict]:
        """The campaigns an agent is assigned to."""
        ids = set(await asyncio.to_thread(self.repo.campaigns_of_agent, username))
        return [c for c in await self.campaigns() if c["id"] in ids]

    async def contacts(
        self, campaign_id: int, *, status: str = "", search: str = "", offset: int = 0, limit: int = 100
    ) -> tuple[list[dict], int]:
        rows, total = await asyncio.to_thread(
            self.repo.contacts, campaign_id, status=status, search=search, offset=offset, limit=limit
        )
        return [contact_dict(c) for c in rows], total

    async def contact(self, contact_id: int, username: str, role: str) -> dict:
        """A contact's card (custom fields included); an agent sees their campaigns' contacts."""
        if role == "agent":
            contact = await asyncio.to_thread(self.repo.contact, contact_id)
            await self.access.require_assigned(contact.campaign_id, username)
        else:
            contact = await self.access.require_contact(contact_id, username, role, "see")
        return contact_dict(contact)

    async def imports(self, campaign_id: int) -> list:
        return await asyncio.to_thread(self.repo.imports, campaign_id)

    async def campaigns(self) -> list[dict]:
        rows = await asyncio.to_thread(self.repo.campaigns)
        return [{**campaign_dict(r), "live": self.dialer.live.get(r.id, CampaignLive()).to_dict()} for r in rows]

    async def set_agents(
        self, campaign_id: int, usernames: list[str], actor: str, role: str | None = None
    ) -> list[str]:
        await self.access.require_campaign(campaign_id, actor, role, "change")
        if not isinstance(usernames, list) or not all(isinstance(u, str) for u in usernames):
            raise InvalidInput("agents is a list of usernames", field="agents")
        agents = await asyncio.to_thread(self.repo.set_campaign_agents, campaign_id, usernames)
        await self.access.record(actor, "campaign.agents", str(campaign_id), agents=agents)
        return agents

    async def join(self, campaign_id: int, username: str) -> str:
        """The agent joins the campaign's queue (AMI QueueAdd): they take its calls."""
        await self.access.require_assigned(campaign_id, username)
        if self.pbx is None:
            raise CcError("no Asterisk connection")
        queue = queue_name(campaign_id)
        await self.pbx.queue_add(queue, self.dialer.interface(username), member_name=username)
        return queue

    async def leave(self, campaign_id: int, username: str) -> None:
        await self.access.require_assigned(campaign_id, username)
        if self.pbx is None:
            raise CcError("no Asterisk connection")
        await self.pbx.queue_remove(queue_name(campaign_id), self.dialer.interface(username))

    # --- contact imports
    async def preview_import(
        self, campaign_id: int, data: bytes, filename: str, encoding: str, actor: str, role: str | None = None
    ) -> dict:
        """Check a contact file and keep what it would import; nothing is imported yet. A file
        that is unusable as a whole raises InvalidInput (line-numbered)."""
        await self.access.require_campaign(campaign_id, actor, role, "import contacts into")
        existing = await asyncio.to_thread(
            lambda: (self.repo.campaign(campaign_id), self.repo.existing_numbers(campaign_id))[1]
        )
        loop = asyncio.get_running_loop()
        token = secrets.token_hex(6)
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            loop.call_soon_threadsafe(
                lambda: self.notify(
                    {
                        "topic": "outbound_import_progress",
                        "token": token,
                        "stage": "check",
                        "campaign_id": campaign_id,
                        "done": done,
                        "total": total,
                    },
                    usernames={actor},
                )
            )

        self.notify(
            {
                "topic": "outbound_import_progress",
                "token": token,
                "stage": "check",
                "campaign_id": campaign_id,
                "done": 0,
                "total": 0,
            },
            usernames={actor},
        )
        preview = await asyncio.to_thread(
            parse_contacts, data, filename, encoding=encoding, existing=existing, progress=progress
        )
        report = preview.report()
        now = self.clock.now()

        def store():
            on_dnc = self.repo.dnc_members([r.nsn for r in preview.rows])
            report["on_company_dnc"] = len(on_dnc)  # imported, never called while listed
            return self.repo.create_import(
                campaign_id,
                filename,
                preview.encoding,
                preview.total_lines,
                len(preview.rows),
                preview.rejected_lines,
                report,
                [r.to_list() for r in preview.rows],
                actor,
                now,
            )

        row = await asyncio.to_thread(store)
        logger.info(
            "outbound import %s (campaign %s, %s): %d lines, %d accepted, %d rejected in %.2f s",
            row.id,
            campaign_id,
            filename,
            preview.total_lines,
            len(preview.rows),
            preview.rejected_lines,
            time.monotonic() - started,
        )
        return {
            "import_id": row.id,
            "token": token,
            "status": "preview",
            **report,
            "sample": [r.to_dict() for r in preview.rows[:10]],
        }

    async def commit_import(self, import_id: int, actor: str, role: str | None = None) -> dict:
        """Import the previewed contacts, all in one transaction."""
        await self.access.require_import(import_id, actor, role, "confirm")
        imp = await asyncio.to_thread(self.repo.get_import, import_id, True)
        if imp.status != "preview":
            raise Conflict(
                Text("import %(import_id)s is %(status)s: nothing to do", import_id=import_id, status=imp.status),
                import_id=import_id,
            )
        now = self.clock.now()
        rows = [row_from_list(values) for values in json.loads(imp.payload or "[]")]
        loop = asyncio.get_running_loop()

        def progress(done: int, total: int) -> None:
            loop.call_soon_threadsafe(
                lambda: self.notify(
                    {
                        "topic": "outbound_import_progress",
                        "import_id": import_id,
                        "stage": "import",
                        "campaign_id": imp.campaign_id,
                        "done": done,
                        "total": total,
                    },
                    usernames={actor},
                )
            )

        def commit() -> tuple[int, int]:
            counts = self.repo.commit_import(import_id, imp.campaign_id, rows, now, progress)
            # consents to calls outside the legal hours already on record for these numbers
            state = self.repo.consent_state([r.nsn for r in rows], now)
            outside = {n: s["outside_hours"].action == "grant" for n, s in state.items() if "outside_hours" in s}
            if outside:
                self.repo.set_outside_hours(outside, now)
            return counts

        inserted, skipped = await asyncio.to_thread(commit)
        await self.access.record(
            actor,
            "campaign.import",
            str(imp.campaign_id),
            import_id=import_id,
            inserted=inserted,
            skipped=skipped,
            rejected=imp.rejected,
            filename=imp.filename,
        )
        await self.dialer.refresh_windows(imp.campaign_id)
        return {
            "import_id": import_id,
            "status": "committed",
            "inserted": inserted,
            "skipped_duplicates": skipped,
            "rejected": imp.rejected,
        }

    async def cancel_import(self, import_id: int, actor: str, role: str | None = None) -> dict:
        await self.access.require_import(import_id, actor, role, "cancel")
        await asyncio.to_thread(self.repo.cancel_import, import_id)
        return {"import_id": import_id, "status": "cancelled"}

    async def import_report(self, import_id: int) -> dict:
        imp = await asyncio.to_thread(self.repo.get_import, import_id)
        return {
            "import_id": imp.id,
            "campaign_id": imp.campaign_id,
            "status": imp.status,
            "filename": imp.filename,
            "created_by": imp.created_by,
            "created_at": imp.created_at.isoformat(),
            **json.loads(imp.report),
        }
