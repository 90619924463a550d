"""Outbound campaigns under French law, assembled from its parts:

- `campaigns`   (campaigns.py)   campaigns, their agents and contacts, contact imports;
- `oppositions` (oppositions.py) the consent ledger, the do-not-call list, Bloctel lists;
- `compliance`  (decisions.py)   the engine's decisions on stored contacts, "why not called",
                                 the export of the decisions;
- `dialer`      (dialing.py)     the dialing loop, pacing, calling windows, placing calls;
- `outcomes`    (outcomes.py)    what the calls became: attempts, retries, pacing statistics;
- `preview`     (preview.py)     the agents' preview mode, callbacks and call results.

`OutboundService` only builds them on one repository and starts and stops them; the web views
and the CLI call the part they need.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...core.clock import Clock
from ...core.ports import AuditTrail, ConfigWriter, PbxCommands
from .access import Access, Notifier, RunningCampaigns
from .campaigns import CampaignService
from .decisions import ComplianceService
from .dialer import AttemptTracker
from .dialing import DialerService
from .oppositions import OppositionService
from .outcomes import AttemptOutcomes
from .ports import OutboundRepositoryPort, ScopeSource
from .preview import PreviewService


class OutboundService:
    def __init__(
        self,
        repo: OutboundRepositoryPort,
        *,
        clock: Clock,
        pbx: PbxCommands | None = None,
        writer: ConfigWriter | None = None,
        board=None,
        scheduler=None,
        audit: AuditTrail | None = None,
        dial_uri: str = "",
        data_dir: Path | str = "var",
        interface_of: Callable[[str], str | None] | None = None,
        tick_seconds: float = 1.0,
        scopes: ScopeSource | None = None,
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.notifier = Notifier()
        self.tracker = AttemptTracker(clock, time.monotonic)
        running = RunningCampaigns(repo)
        self.access = Access(repo, audit=audit, scopes=scopes)
        self.oppositions = OppositionService(repo, clock=clock, access=self.access, running=running, data_dir=data_dir)
        self.compliance = ComplianceService(repo, clock=clock, access=self.access, oppositions=self.oppositions)
        self.outcomes = AttemptOutcomes(repo, clock=clock, tracker=self.tracker, notify=self.notifier)
        self.dialer = DialerService(
            repo,
            clock=clock,
            access=self.access,
            running=running,
            notify=self.notifier,
            tracker=self.tracker,
            compliance=self.compliance,
            oppositions=self.oppositions,
            outcomes=self.outcomes,
            pbx=pbx,
            board=board,
            scheduler=scheduler,
            dial_uri=dial_uri,
            interface_of=interface_of,
            tick_seconds=tick_seconds,
        )
        self.campaigns = CampaignService(
            repo,
            clock=clock,
            access=self.access,
            running=running,
            notify=self.notifier,
            dialer=self.dialer,
            pbx=pbx,
            writer=writer,
        )
        self.preview = PreviewService(
            repo,
            clock=clock,
            access=self.access,
            running=running,
            dialer=self.dialer,
            compliance=self.compliance,
            oppositions=self.oppositions,
        )

    @property
    def notify(self) -> Callable[..., Any]:
        return self.notifier.target

    @notify.setter
    def notify(self, target: Callable[..., Any]) -> None:
        """Where pushes to the browsers go: ``target(message, roles=..., usernames=...)``."""
        self.notifier.target = target

    async def start(self, *, run_dialer: bool = True) -> None:
        """Close what a stopped server left open, load the Bloctel list and the pacing
        statistics, write the Asterisk configuration, open the campaigns whose window is open,
        and start the dialing loop."""
        await self.outcomes.start()
        await self.oppositions.start()
        await self.campaigns.apply_configuration()
        await self.dialer.refresh_windows()
        if run_dialer:
            self.dialer.start_loop()

    async def stop(self) -> None:
        await self.dialer.stop()
        self.oppositions.close()


__all__ = ["OutboundService"]
