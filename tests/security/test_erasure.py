"""Security item 6 — an erasure erases everything.

A person (0612345678, "Zoé Erasmus") who called, had a customer file, asked for a callback, was a
campaign contact with an attempt, a compliance decision, a consent and a do-not-call entry is
erased; then the whole database (every text column of every table, and the SQLite file's raw
bytes) and every file ccserver and Asterisk wrote are searched for the number in every writing
and the name: nothing is found; the do-not-call list still refuses the number; the proof kept
is a keyed hash. The first test runs on SQLite and PostgreSQL with Asterisk's files simulated;
the second on the real Asterisk with sipp (a recorded queue call, and a call live during the
erasure whose recording must be gone too).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select

from ccserver.adapters.db.acd import AcdRepository
from ccserver.adapters.db.customers import CustomerRepository
from ccserver.adapters.db.erasure import ErasureRepository
from ccserver.adapters.db.outbound import OutboundRepository
from ccserver.adapters.db.recordings import RecordingRepository
from ccserver.adapters.db.repositories import AuditLog
from ccserver.capabilities.agents.model import AgentBoard
from ccserver.capabilities.calls.model import CallTracker
from ccserver.capabilities.customers.service import CustomerService
from ccserver.capabilities.outbound.service import OutboundService
from ccserver.capabilities.privacy.model import canonical, keyed_hash
from ccserver.capabilities.privacy.service import AsteriskFiles, ErasureService, load_key
from ccserver.capabilities.recording.service import RecordingService
from ccserver.capabilities.recording.storage import RecordingStore
from ccserver.core.channels import ChannelRegistry
from ccserver.core.clock import ManualClock
from tests.fakes import FakePbx
from tests.support.db import database, db_url, empty_database  # noqa: F401

logger = logging.getLogger(__name__)

UTC = UTC
CONSENT_TUESDAY = datetime(2026, 9, 15, 9, 30, tzinfo=UTC)  # 11:30 Paris, consent regime
NUMBER = "0612345678"
WRITINGS = (
    "0612345678",
    "+33612345678",
    "33612345678",
    "612345678",
    "06 12 34 56 78",
    "06.12.34.56.78",
    "+33 6 12 34 56 78",
)
NAME = "Zoé Erasmus"
NAMES = (NAME, "Zoe Erasmus", "Zo\\u00e9 Erasmus", "Erasmus", "zoe@example.org")
OTHER = "0698765432"


def needles_in(data: bytes) -> list[str]:
    """The writings of the person's number or name found in `data` (UTF-8)."""
    return [n for n in WRITINGS + NAMES if n.encode() in data]


def dump_database(db) -> str:
    """Every value of every table (str), one line per row: what a database dump shows."""
    meta = MetaData()
    meta.reflect(db.engine)
    lines = []
    with db.engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                lines.append(f"{table.name}: " + " | ".join("" if v is None else str(v) for v in row))
    return "\n".join(lines)


def walk(*roots: Path) -> dict[Path, list[str]]:
    """Every file under `roots` whose bytes carry the person: path -> what was found."""
    found = {}
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                hits = needles_in(path.read_bytes())
                if hits:
                    found[path] = hits
    return found


def write_asterisk_files(base: Path, live_uniqueid: str) -> dict[str, Path]:
    """What the real Asterisk writes about these calls (formats copied from Asterisk 22)."""
    log, spool = base / "log", base / "spool"
    (log / "cdr-csv").mkdir(parents=True)
    master = log / "cdr-csv" / "Master.csv"
    master.write_text(
        f'"","{NUMBER}","7101","ccserver-inbound","""Zoe Erasmus"" <{NUMBER}>","PJSIP/customers-00000001",'
        '"PJSIP/alice-00000002","Queue","rec","2026-09-15 09:00:00","2026-09-15 09:00:02",'
        '"2026-09-15 09:01:00",60,58,"ANSWERED","DOCUMENTATION","c1",""\n'
        f'"","{OTHER}","7101","ccserver-inbound","""Paul Other"" <{OTHER}>","PJSIP/customers-00000003",'
        '"PJSIP/alice-00000004","Queue","rec","2026-09-15 10:00:00","2026-09-15 10:00:02",'
        '"2026-09-15 10:01:00",60,58,"ANSWERED","DOCUMENTATION","c3",""\n',
        encoding="utf-8",
    )
    queue_log = log / "queue_log"
    queue_log.write_text(
        f"1757926800|c1|rec|NONE|ENTERQUEUE||{NUMBER}|1\n"
        "1757926802|c1|rec|PJSIP/alice|CONNECT|2|c1.2|1\n"
        "1757926860|c1|rec|PJSIP/alice|COMPLETECALLER|2|58|1\n"
        f"1757930400|c3|rec|NONE|ENTERQUEUE||{OTHER}|1\n",
        encoding="utf-8",
    )
    messages = log / "messages.log"
    messages.write_text(
        f"[2026-09-15 09:00:00.000] NOTICE[1] res_pjsip: call from '{NAME}' <{NUMBER}>\n"
        "[2026-09-15 09:00:01.000] WARNING[1] something else\n",
        encoding="utf-8",
    )
    inbox = spool / "voicemail" / "service-client" / "8000" / "INBOX"
    inbox.mkdir(parents=True)
    (inbox / "msg0000.txt").write_text(f'[message]\ncallerid="Zoe Erasmus" <{NUMBER}>\nuniqueid=v1\n')
    (inbox / "msg0000.wav").write_bytes(b"RIFF voice of the person")
    outgoing = spool / "outgoing"
    outgoing.mkdir()
    (outgoing / "cb-1.call").write_text(f"Channel: PJSIP/customers/sip:{NUMBER}@127.0.0.1\n")
    monitor = spool / "monitor" / "ccs" / "2026" / "09" / "15"
    monitor.mkdir(parents=True)
    (monitor / "c1-orphan.wav").write_bytes(b"RIFF no row yet")  # written, never indexed
    (monitor / f"{live_uniqueid}-abcd.wav").write_bytes(b"RIFF being written")
    return {"master": master, "queue_log": queue_log, "messages": messages}


async def test_erasure_leaves_no_trace_in_the_database_and_files_and_dnc_still_refuses(database, tmp_path):
    clock = ManualClock(CONSENT_TUESDAY)
    audit = AuditLog(database, clock)
    acd = AcdRepository(database, clock)
    customers = CustomerService(CustomerRepository(database), clock)
    ami = FakePbx()
    board = AgentBoard(clock)
    outbound = OutboundService(
        OutboundRepository(database),
        clock=clock,
        pbx=ami,
        board=board,
        audit=audit,
        dial_uri="sip:{number}@127.0.0.1:5999",
        data_dir=tmp_path / "data",
    )
    asterisk_dir = tmp_path / "asterisk"
    live = "1757926900.7"
    files = write_asterisk_files(asterisk_dir, live)
    store = RecordingStore(tmp_path / "data" / "recordings", asterisk_dir / "spool" / "monitor")
    channels = ChannelRegistry()
    tracker = CallTracker(clock)
    recording = RecordingService(
        RecordingRepository(database, clock), store, board, channels, tracker, ami, audit, clock, customers
    )
    key = load_key("", tmp_path / "data")
    erasure = ErasureService(
        ErasureRepository(database),
        key,
        audit=audit,
        recording=recording,
        tracker=tracker,
        channels=channels,
        pbx=ami,
        database=database,
        files=AsteriskFiles(asterisk_dir / "spool", asterisk_dir / "log", asterisk_dir / "spool" / "monitor"),
    )
    outbound.repo.number_hash = erasure.hash_of  # as the runtime wires it
    assert stat.S_IMODE(os.stat(tmp_path / "data" / "erasure_hmac.key").st_mode) == 0o600

    # --- the person everywhere, through the services
    zoe = customers.create_customer(
        phones=["06 12 34 56 78"],
        first_name="Zoé",
        last_name="Erasmus",
        email="zoe@example.org",
        notes="cliente fidèle",
    )
    other = customers.create_customer(phones=[OTHER], first_name="Paul", last_name="Other")
    acd.upsert_calls(
        [
            dict(
                uniqueid="c1",
                linkedid="c1",
                channel="PJSIP/customers-00000001",
                caller_number=NUMBER,
                queue="rec",
                agent="alice",
                created_at=clock.now(),
                answered_at=clock.now(),
                ended_at=clock.now() + timedelta(minutes=1),
                outcome="answered",
                talk_seconds=58,
                customer_id=zoe.id,
                notes=f"rappeler {NAME}",
                call_data=json.dumps({"phone": NUMBER}),
            ),
            dict(
                uniqueid="cb1",
                linkedid="cb1",
                channel=f"Local/{NUMBER}@ccq-rec-cbqueue-0001;1",
                caller_number=NUMBER,
                queue="rec",
                created_at=clock.now(),
                outcome="callback",
            ),
            dict(
                uniqueid="c3",
                linkedid="c3",
                channel="PJSIP/customers-00000003",
                caller_number=OTHER,
                queue="rec",
                created_at=clock.now(),
                outcome="answered",
                customer_id=other.id,
            ),
        ]
    )
    customers.record_interaction(zoe.id, "c1", "alice", queue="rec", notes="a appelé pour sa facture")
    customers.open_ticket(zoe.id, "c1", f"Facture de {NAME}")
    acd.add_callback("rec", NUMBER, "c1", clock.now())
    stored = recording.repo.insert(
        call_uniqueid="c1",
        linkedid="c1",
        queue="rec",
        agent="alice",
        started_at=clock.now(),
        status="stored",
        path="2026/09/15/1.wav",
        retention_days=30,
    )
    (store.store_dir / "2026" / "09" / "15").mkdir(parents=True)
    (store.store_dir / stored.path).write_bytes(b"RIFF the person's voice")
    campaign = await outbound.campaigns.create_campaign(
        "C1", {"mode": "progressive", "caller_ids": ["0162000001"]}, "sup"
    )
    text_file = f"nom;numero;cp\n{NAME};06.12.34.56.78;75011\nPaul Other;{OTHER};75011\n"
    preview = await outbound.campaigns.preview_import(campaign["id"], text_file.encode(), "c.csv", "utf-8", "sup")
    await outbound.campaigns.commit_import(preview["import_id"], "sup")
    await outbound.oppositions.record_consent(
        number="+33 6 12 34 56 78",
        source="web",
        proof_ref=f"formulaire {NUMBER}",
        actor="sup",
        at=clock.now() - timedelta(days=2),
    )
    contact = next(c for c in outbound.repo.contacts(campaign["id"])[0] if c.nsn == 612345678)
    decision = await outbound.compliance.check_contact(contact.id, "sup")
    outbound.repo.create_attempt(
        campaign_id=campaign["id"],
        contact_id=contact.id,
        nsn=contact.nsn,
        number=contact.number,
        caller_id="0162000001",
        mode="progressive",
        uniqueid="o1",
        decision_id=decision["decision_id"],
        started_at=clock.now(),
        outcome="answered",
        notes=f"{NAME} rappellera",
    )
    await outbound.oppositions.dnc_add([NUMBER], f"demande de {NAME}", "sup")
    audit.record("alice", "customer.update", str(zoe.id), phone=NUMBER, name=NAME, email="zoe@example.org")
    before = dump_database(database)
    assert all(w in before for w in ("0612345678", "612345678")) and "Erasmus" in before
    # a live call of the person: its call record and its recording being written
    from ccserver.core import events as ev

    channels.on_created(
        ev.ChannelCreated(
            uniqueid=live,
            linkedid=live,
            channel="PJSIP/customers-00000009",
            caller_number=NUMBER,
            caller_name="Zoe Erasmus",
            state="Up",
        )
    )
    for change in tracker.apply(
        ev.QueueCallerJoined(
            uniqueid=live, linkedid=live, queue="rec", channel="PJSIP/customers-00000009", caller_number=NUMBER
        )
    ):
        acd.upsert_calls(
            [
                dict(
                    uniqueid=live,
                    linkedid=live,
                    channel="PJSIP/customers-00000009",
                    caller_number=change.record.caller_number,
                    queue="rec",
                    created_at=clock.now(),
                )
            ]
        )

    # --- erase, by the customer id and a number in another writing
    summary = await erasure.erase(customer_id=zoe.id, numbers=["+33 (0)6 12 34 56 78"], actor="admin")
    assert summary["failures"] == []
    assert summary["recordings"] == 1 and summary["files"] == 1 and summary["callbacks"] == 1
    assert summary["contacts"] == 1 and summary["consents_kept_hashed"] == 1
    assert summary["dnc_kept_hashed"] == 1 and summary["decisions_kept_hashed"] >= 1
    assert summary["voicemail_messages"] == 1 and summary["call_files"] == 1

    # the live call ends after the erasure: its record is written without the caller
    for change in tracker.apply(
        ev.ChannelHungup(uniqueid=live, linkedid=live, channel="PJSIP/customers-00000009", cause=16)
    ):
        from ccserver.capabilities.acd.service import _row_from_record

        acd.upsert_calls([_row_from_record(tracker.anonymous(change.record))])
    with files["master"].open("a") as f:  # Asterisk writes the live call's CDR at its hangup
        f.write(
            f'"","{NUMBER}","7101","ccserver-inbound","""Zoe Erasmus"" <{NUMBER}>","x","y",'
            f'"Queue","rec","","","",9,9,"ANSWERED","DOCUMENTATION","{live}",""\n'
        )
    assert erasure.pending
    await erasure.on_event(ev.ChannelHungup(uniqueid=live, linkedid=live, cause=16))
    assert await erasure.settled()

    # --- nothing left in the database
    after = dump_database(database)
    leaks = [line for line in after.splitlines() if needles_in(line.encode())]
    assert leaks == [], "\n".join(leaks)
    if database.dialect == "sqlite":
        raw = b"".join(p.read_bytes() for p in Path(database.url.database).parent.glob("*.db*"))
        assert needles_in(raw) == []
    # --- nothing left in the files, the others' lines kept
    assert walk(tmp_path) == {}
    assert OTHER in files["master"].read_text() and OTHER in files["queue_log"].read_text()
    assert "something else" in files["messages"].read_text()
    # --- statistics kept, anonymous
    c1 = acd.call("c1")
    assert c1.queue == "rec" and c1.outcome == "answered" and c1.talk_seconds == 58 and c1.caller_number is None
    assert acd.call("c3").caller_number == OTHER
    assert outbound.repo.attempt(1).outcome == "answered"
    # --- the proof kept is the keyed hash of the number, and the do-not-call list still refuses it
    expected = keyed_hash(key, canonical("+33612345678"))
    assert expected in after and summary["number_hash"].endswith(expected)
    campaign2 = await outbound.campaigns.create_campaign(
        "C2", {"mode": "progressive", "caller_ids": ["0162000001"]}, "sup"
    )
    preview = await outbound.campaigns.preview_import(
        campaign2["id"], f"nom;numero\nX;{NUMBER}\n".encode(), "d.csv", "utf-8", "sup"
    )
    assert preview["on_company_dnc"] == 1
    await outbound.campaigns.commit_import(preview["import_id"], "sup")
    again = outbound.repo.contacts(campaign2["id"])[0][0]
    answer = await outbound.compliance.check_contact(again.id, "sup")
    assert answer["allowed"] is False and "dnc.company_list" in answer["failed"], answer
    # --- the erasure itself is audit-logged: who, which customer, the hash — not the number
    [entry] = audit.list(action="customer.erase")
    assert entry.actor == "admin" and entry.target == str(zoe.id)
    assert expected in entry.details and not needles_in(entry.details.encode())


# --- on the real Asterisk ----------------------------------------------------------------------------
from ccserver.capabilities.acd.model import QueueDefinition  # noqa: E402
from tests.integration.conftest import asterisk  # noqa: E402,F401  (the shared instance fixture)
from tests.support.server import Server, endpoint_of, until  # noqa: E402
from tests.support.sipp import SippCaller, SippPhone  # noqa: E402

PASSWORD = "password-123"


def dump_sqlite(path: Path) -> str:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


@pytest.mark.asterisk
async def test_real_recorded_call_callback_and_campaign_are_erased_with_a_live_call(asterisk, tmp_path):
    info = asterisk.info
    async with Server(tmp_path, endpoint_of(info), config_writer=asterisk) as srv:
        runtime = srv.runtime
        await until(srv.ok, 20, "the server is up")
        await runtime.acd.create_queue(
            QueueDefinition(
                name="erase",
                numbers=("7301",),
                holidays="",
                announce_position=False,
                announce_holdtime=False,
                recording_policy="always",
                retention_days=30,
            ),
            "admin",
        )
        account = await runtime.acd.create_agent("alice", PASSWORD, "Alice", {}, "admin")
        runtime.users.create_user("boss", PASSWORD, role="admin", display_name="Boss")
        zoe = runtime.customers.create_customer(
            phones=[NUMBER], first_name="Zoé", last_name="Erasmus", notes="appelle souvent"
        )
        async with SippPhone(asterisk, account.sip_username, account.sip_password):
            await runtime.acd.login("alice")
            await until(lambda: runtime.agent_board.agents["alice"].state.value == "available", 5, "alice available")
            # 1. a recorded inbound call from the person, to its end and into the store
            first = SippCaller(asterisk, "7301", NUMBER, display_name="Zoe Erasmus", talk_seconds=3)
            await first.start()
            result = await first.wait(30)
            assert result.answered
            rows = await until(lambda: _stored(runtime), 10, "the first recording stored")
            first_row = rows[0]
            stored_path = runtime.recording.store.store_dir / first_row.path
            assert stored_path.exists()
            await until(
                lambda: (runtime.acd_repo.call(first_row.call_uniqueid) or _NoCall).ended_at,
                5,
                "the first call's row written",
            )
            # 2. a callback request, a campaign contact, a consent, a decision, an attempt, a DNC entry
            runtime.acd_repo.add_callback("erase", NUMBER, first_row.call_uniqueid, runtime.clock.now())
            outbound = runtime.outbound
            campaign = await outbound.campaigns.create_campaign(
                "E1", {"mode": "preview", "caller_ids": ["0162000001"]}, "boss"
            )
            csv_text = f"nom;numero;cp\n{NAME};06 12 34 56 78;75011\n"
            preview = await outbound.campaigns.preview_import(
                campaign["id"], csv_text.encode(), "e.csv", "utf-8", "boss"
            )
            await outbound.campaigns.commit_import(preview["import_id"], "boss")
            await outbound.oppositions.record_consent(
                number=NUMBER, source="web", proof_ref=f"form {NUMBER}", actor="boss"
            )
            contact = outbound.repo.contacts(campaign["id"])[0][0]
            decision = await outbound.compliance.check_contact(contact.id, "boss")
            outbound.repo.create_attempt(
                campaign_id=campaign["id"],
                contact_id=contact.id,
                nsn=contact.nsn,
                number=contact.number,
                caller_id="0162000001",
                mode="preview",
                uniqueid="outbound-1",
                decision_id=decision["decision_id"],
                started_at=runtime.clock.now(),
                outcome="refused",
                notes=f"{NAME} ne veut plus",
            )
            await outbound.oppositions.dnc_add([NUMBER], "demande pendant l'appel", "boss")

            # 3. a second call of the person, live and being recorded during the erasure
            second = SippCaller(asterisk, "7301", NUMBER, display_name="Zoe Erasmus", talk_seconds=8)
            await second.start()
            await second.wait_answered(10)
            live = await until(
                lambda: (lambda r: r if r is not None and r.state == "recording" and r.spool_name else None)(
                    runtime.recording.current("alice")
                ),
                5,
                "the live call being recorded",
            )
            spool_file = runtime.recording.store.spool_dir / live.spool_name
            await until(
                lambda: spool_file.exists() and spool_file.stat().st_size > 8000, 5, "MixMonitor writing the live call"
            )

            # before: the person is in Asterisk's CDR CSV and queue_log, the database, the store
            await until(lambda: NUMBER in info.cdr_csv.read_text(), 5, "the first call's CDR")
            assert "Zoe Erasmus" in info.cdr_csv.read_text() and NUMBER in info.queue_log.read_text()
            assert walk(tmp_path, info.instance_dir)
            boss = await srv.login("boss", PASSWORD)
            resp = await boss.post(
                "/api/privacy/erase",
                json={"customer_id": zoe.id, "number": "+33 6 12 34 56 78"},
                headers={"X-CSRF-Token": boss.csrf},
            )
            body = await resp.json()
            assert resp.status == 200, body
            assert body["failures"] == [] and body["live_calls"] >= 1 and body["files"] == 1
            assert not spool_file.exists()  # the live call's file is gone at once
            ended = await second.wait(30)
            assert ended.answered and ended.duration is not None, ended
            await boss.close()
        assert await runtime.erasure.settled(), ("calls still followed", runtime.erasure.pending)
        waited = time.monotonic()
        await until(
            lambda: (runtime.acd_repo.call(live.uniqueid) or _NoCall).ended_at,
            15,
            "the live call's row written at its hangup",
        )
        logger.info("the live call's row was written %.2f s after the follow-up", time.monotonic() - waited)
        await asyncio.sleep(1.0)  # anything else Asterisk writes after the hangup
        assert await runtime.erasure.settled()
        assert not spool_file.exists() and not stored_path.exists()
        assert list(_all_recordings(runtime)) == []
        # the do-not-call list still refuses the number, whatever its writing
        assert runtime.outbound.repo.dnc_members([612345678]) == {612345678}
        db_path = Path(runtime.database.url.database)
        dump = dump_sqlite(db_path)
    leaks = [line for line in dump.splitlines() if needles_in(line.encode())]
    assert leaks == [], "\n".join(leaks)
    files = walk(tmp_path, info.instance_dir)
    # the sipp "phones" (the customer's and the agent's own devices) keep their traces in tmp/
    files = {p: hits for p, hits in files.items() if asterisk.scratch_dir not in p.parents}
    assert files == {}, files
    assert info.cdr_csv.exists() and info.queue_log.exists()  # rewritten, not deleted
    assert first_row.call_uniqueid not in info.cdr_csv.read_text()
    assert live.uniqueid not in info.queue_log.read_text()


class _NoCall:
    ended_at = None


def _all_recordings(runtime):
    from sqlmodel import select as model_select

    from ccserver.adapters.db.tables import Recording

    with runtime.database.session() as s:
        return list(s.exec(model_select(Recording)))


def _stored(runtime):
    return [r for r in _all_recordings(runtime) if r.status == "stored"]
