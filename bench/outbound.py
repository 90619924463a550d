"""Outbound campaign figures: contact import, the engine at dialing time, a dialer tick.

Generates its own data (seeded) in a temporary SQLite database (or --database URL):
- check a contact file of N lines (mixed French writings, postcodes, custom fields), then commit
  it in one transaction;
- the compliance engine at the moment of dialing, batch after batch, every decision stored
  (consent ledger, do-not-call list, history read for each batch);
- dialer ticks of a progressive campaign with 20 free agents (Asterisk replaced by a fake that
  only counts the Originates): selection, claims, decisions, attempts.

    python bench/outbound.py [--lines 100000] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ccserver.adapters.db.database import Database
from ccserver.adapters.db.outbound import OutboundRepository
from ccserver.capabilities.agents.model import AgentBoard
from ccserver.capabilities.outbound.imports import parse_contacts
from ccserver.capabilities.outbound.service import OutboundService
from ccserver.core import events as ev
from ccserver.core.clock import ManualClock

AT = datetime(2026, 9, 15, 9, 30, tzinfo=UTC)  # Tuesday 11:30 in Paris


class CountingAmi:
    is_up = True

    def __init__(self):
        self.count = 0

    async def originate(self, request):
        self.count += 1
        return request.action_id

    async def queue_add(self, *args, **kw):
        pass

    async def reload(self, module):
        return None


def contact_file(lines: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    styles = (
        "0{a} {b} {c} {d} {e}",
        "+33 {a} {b} {c} {d} {e}",
        "0{a}.{b}.{c}.{d}.{e}",
        "0033{a}{b}{c}{d}{e}",
        "{a}{b}{c}{d}{e}",
    )
    out = ["Nom;Prénom;Téléphone;Code postal;Segment;Score"]
    for i in range(lines):
        nsn = 600000000 + rng.randrange(0, 200000000)
        d = f"{nsn:09d}"
        number = rng.choice(styles).format(a=d[0], b=d[1:3], c=d[3:5], d=d[5:7], e=d[7:9])
        postcode = rng.choice(["75011", "69003", "13001", "97400", "57000", "", "1000"])
        out.append(f"Nom{i};Prénom{i};{number};{postcode};{rng.choice('ABC')};{rng.randrange(100)}")
    return ("\n".join(out) + "\n").encode()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database or f"sqlite:///{tmp.name}/bench.db"
    db = Database(url)
    db.upgrade()
    clock = ManualClock(AT)
    ami = CountingAmi()
    board = AgentBoard(clock)
    service = OutboundService(
        OutboundRepository(db),
        clock=clock,
        pbx=ami,
        board=board,
        dial_uri="sip:{number}@127.0.0.1:5060",
        data_dir=tmp.name,
    )
    campaign = await service.campaigns.create_campaign("bench", {"caller_ids": ["0162000001"]}, "bench")
    cid = campaign["id"]

    data = contact_file(args.lines)
    started = time.perf_counter()
    preview = parse_contacts(data, "bench.csv")
    check_s = time.perf_counter() - started
    print(
        f"check {args.lines:,} lines ({len(data) / 1e6:.1f} MB): {check_s:.2f} s, "
        f"{args.lines / check_s:,.0f} lines/s ({len(preview.rows):,} accepted, "
        f"{preview.rejected_lines:,} rejected)"
    )
    started = time.perf_counter()
    report = await service.campaigns.preview_import(cid, data, "bench.csv", "utf-8", "bench")
    result = await service.campaigns.commit_import(report["import_id"], "bench")
    total_s = time.perf_counter() - started
    print(
        f"preview + commit in one transaction ({db.dialect}): {total_s:.2f} s, "
        f"{result['inserted']:,} contacts, {result['inserted'] / total_s:,.0f} contacts/s"
    )

    # consents for half of the numbers, a do-not-call list of 1 %
    contacts, _ = service.repo.contacts(cid, limit=args.lines)
    entries = [
        dict(
            nsn=c.nsn,
            number=c.number,
            scope="canvassing",
            action="grant",
            at=AT - timedelta(days=5),
            source="bench",
            proof_ref=f"P{c.id}",
            recorded_by="bench",
            recorded_at=AT,
        )
        for c in contacts[::2]
    ]
    service.repo.add_consents(entries)
    service.repo.dnc_add([(c.nsn, c.number) for c in contacts[::100]], "", "bench", "bench", AT)
    campaign_row = service.repo.campaign(cid)
    batch = contacts[:2000]
    started = time.perf_counter()
    for offset in range(0, len(batch), 20):
        part = batch[offset : offset + 20]
        service.compliance.decide_many(campaign_row, part, AT, "bench", "check", {c.id: "0162000001" for c in part})
    decide_s = time.perf_counter() - started
    print(
        f"engine at dialing time, batches of 20, decisions stored: {len(batch) / decide_s:,.0f} "
        f"decisions/s ({decide_s / len(batch) * 1000:.2f} ms each)"
    )

    for i in range(20):
        board.add_agent(f"a{i}", f"PJSIP/a{i}")
        board.apply(ev.QueueMemberChanged(change="added", queue=f"camp-{cid}", interface=f"PJSIP/a{i}", status=1))
    await service.campaigns.change_status(cid, "start", "bench")
    durations = []
    for _ in range(5):
        service.tracker.live.clear()
        started = time.perf_counter()
        await service.dialer.tick()
        durations.append(time.perf_counter() - started)
    print(
        f"dialer tick, 20 free agents, {result['inserted']:,} contacts: "
        f"{min(durations) * 1000:.0f} ms best, {max(durations) * 1000:.0f} ms worst, "
        f"{ami.count} calls launched in {len(durations)} ticks"
    )
    db.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
