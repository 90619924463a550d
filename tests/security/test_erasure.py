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
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select, text

from ccserver.adapters.db.acd import AcdRepository
from ccserver.adapters.db.erasure import ErasureRepository
from ccserver.adapters.db.outbound import OutboundRepository
from ccserver.adapters.db.recordings import RecordingRepository
from ccserver.adapters.db.repositories import AuditLog
from ccserver.adapters.db.testing import database, db_url, empty_database  # noqa: F401
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

logger = logging.getLogger(__name__)

UTC = timezone.utc
CONSENT_TUESDAY = datetime(2026, 9, 15, 9, 30, tzinfo=UTC)  # 11:30 Paris, consent regime
NUMBER = "0612345678"
WRITINGS = ("0612345678", "+33612345678", "33612345678", "612345678", "06 12 34 56 78",
            "06.12.34.56.78", "+33 6 12 34 56 78")
NAME = "Zoé Erasmus"
NAMES = (NAME, "Zoe Erasmus", "Zo\\u00e9 Erasmus", "Erasmus")
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


class FakeAmi:
    is_up = True

    def __init__(self):
        self.sent = []

    async def originate(self, request):
        return request.action_id

    async def queue_add(self, *a, **kw):
        pass

    async def queue_remove(self, *a, **kw):
        pass

    async def send(self, action, **kw):
        self.sent.append(action)
        return {}

    async def cli(self, command):
        self.sent.append({"Action": "Command", "Command": command})
        return ""


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
        '"2026-09-15 10:01:00",60,58,"ANSWERED","DOCUMENTATION","c3",""\n', encoding="utf-8")
    queue_log = log / "queue_log"
    queue_log.write_text(
        f"1757926800|c1|rec|NONE|ENTERQUEUE||{NUMBER}|1\n"
        "1757926802|c1|rec|PJSIP/alice|CONNECT|2|c1.2|1\n"
        "1757926860|c1|rec|PJSIP/alice|COMPLETECALLER|2|58|1\n"
        f"1757930400|c3|rec|NONE|ENTERQUEUE||{OTHER}|1\n", encoding="utf-8")
    messages = log / "messages.log"
    messages.write_text(f"[2026-09-15 09:00:00.000] NOTICE[1] res_pjsip: call from '{NAME}' <{NUMBER}>\n"
                        "[2026-09-15 09:00:01.000] WARNING[1] something else\n", encoding="utf-8")
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
    customers = CustomerService(database, clock)
    ami = FakeAmi()
    board = AgentBoard(clock)
    outbound = OutboundService(OutboundRepository(database), clock=clock, pbx=ami, board=board,
                               audit=audit, dial_uri="sip:{number}@127.0.0.1:5999",
                               data_dir=tmp_path / "data")
    asterisk_dir = tmp_path / "asterisk"
    live = "1757926900.7"
    files = write_asterisk_files(asterisk_dir, live)
    store = RecordingStore(tmp_path / "data" / "recordings", asterisk_dir / "spool" / "monitor")
    channels = ChannelRegistry()
    tracker = CallTracker(clock)
    recording = RecordingService(RecordingRepository(database, clock), store, board, channels, tracker,
                                 ami, audit, clock, customers)
    key = load_key("", tmp_path / "data")
    erasure = ErasureService(ErasureRepository(database), key, audit=audit, recording=recording,
                             tracker=tracker, channels=channels, pbx=ami, database=database,
                             files=AsteriskFiles(asterisk_dir / "spool", asterisk_dir / "log",
                                                 asterisk_dir / "spool" / "monitor"))
    outbound.repo.number_hash = erasure.hash_of  # as the runtime wires it
    assert stat.S_IMODE(os.stat(tmp_path / "data" / "erasure_hmac.key").st_mode) == 0o600

    # --- the person everywhere, through the services
    zoe = customers.create_customer(phones=["06 12 34 56 78"], first_name="Zoé", last_name="Erasmus",
                                    email="zoe@example.org", notes="cliente fidèle")
    other = customers.create_customer(phones=[OTHER], first_name="Paul", last_name="Other")
    acd.upsert_calls([
        dict(uniqueid="c1", linkedid="c1", channel="PJSIP/customers-00000001", caller_number=NUMBER,
             queue="rec", agent="alice", created_at=clock.now(), answered_at=clock.now(),
             ended_at=clock.now() + timedelta(minutes=1), outcome="answered", talk_seconds=58,
             customer_id=zoe.id, notes=f"rappeler {NAME}", call_data=json.dumps({"phone": NUMBER})),
        dict(uniqueid="cb1", linkedid="cb1", channel=f"Local/{NUMBER}@ccq-rec-cbqueue-0001;1",
             caller_number=NUMBER, queue="rec", created_at=clock.now(), outcome="callback"),
        dict(uniqueid="c3", linkedid="c3", channel="PJSIP/customers-00000003", caller_number=OTHER,
             queue="rec", created_at=clock.now(), outcome="answered", customer_id=other.id)])
    customers.record_interaction(zoe.id, "c1", "alice", queue="rec", notes="a appelé pour sa facture")
    customers.open_ticket(zoe.id, "c1", f"Facture de {NAME}")
    acd.add_callback("rec", NUMBER, "c1", clock.now())
    stored = recording.repo.insert(call_uniqueid="c1", linkedid="c1", queue="rec", agent="alice",
                                   started_at=clock.now(), status="stored", path="2026/09/15/1.wav",
                                   retention_days=30)
    (store.store_dir / "2026" / "09" / "15").mkdir(parents=True)
    (store.store_dir / stored.path).write_bytes(b"RIFF the person's voice")
    campaign = await outbound.create_campaign("C1", {"mode": "progressive", "caller_ids": ["0162000001"]}, "sup")
    text_file = f"nom;numero;cp\n{NAME};06.12.34.56.78;75011\nPaul Other;{OTHER};75011\n"
    preview = await outbound.preview_import(campaign["id"], text_file.encode(), "c.csv", "utf-8", "sup")
    await outbound.commit_import(preview["import_id"], "sup")
    await outbound.record_consent(number="+33 6 12 34 56 78", source="web", proof_ref=f"formulaire {NUMBER}",
                                  actor="sup", at=clock.now() - timedelta(days=2))
    contact = next(c for c in outbound.repo.contacts(campaign["id"])[0] if c.nsn == 612345678)
    decision = await outbound.check_contact(contact.id, "sup")
    outbound.repo.create_attempt(campaign_id=campaign["id"], contact_id=contact.id, nsn=contact.nsn,
                                 number=contact.number, caller_id="0162000001", mode="progressive",
                                 uniqueid="o1", decision_id=decision["decision_id"],
                                 started_at=clock.now(), outcome="answered", notes=f"{NAME} rappellera")
    await outbound.dnc_add([NUMBER], f"demande de {NAME}", "sup")
    audit.record("alice", "customer.update", str(zoe.id), phone=NUMBER, name=NAME)
    before = dump_database(database)
    assert all(w in before for w in ("0612345678", "612345678")) and "Erasmus" in before
    # a live call of the person: its call record and its recording being written
    from ccserver.core import events as ev
    channels.on_created(ev.ChannelCreated(uniqueid=live, linkedid=live, channel="PJSIP/customers-00000009",
                                          caller_number=NUMBER, caller_name="Zoe Erasmus", state="Up"))
    for change in tracker.apply(ev.QueueCallerJoined(uniqueid=live, linkedid=live, queue="rec",
                                                     channel="PJSIP/customers-00000009",
                                                     caller_number=NUMBER)):
        acd.upsert_calls([dict(uniqueid=live, linkedid=live, channel="PJSIP/customers-00000009",
                               caller_number=change.record.caller_number, queue="rec",
                               created_at=clock.now())])

    # --- erase, by the customer id and a number in another writing
    summary = await erasure.erase(customer_id=zoe.id, numbers=["+33 (0)6 12 34 56 78"], actor="admin")
    assert summary["failures"] == []
    assert summary["recordings"] == 1 and summary["files"] == 1 and summary["callbacks"] == 1
    assert summary["contacts"] == 1 and summary["consents_kept_hashed"] == 1
    assert summary["dnc_kept_hashed"] == 1 and summary["decisions_kept_hashed"] >= 1
    assert summary["voicemail_messages"] == 1 and summary["call_files"] == 1

    # the live call ends after the erasure: its record is written without the caller
    for change in tracker.apply(ev.ChannelHungup(uniqueid=live, linkedid=live, channel="PJSIP/customers-00000009",
                                                 cause=16)):
        from ccserver.capabilities.acd.service import _row_from_record
        acd.upsert_calls([_row_from_record(tracker.anonymous(change.record))])
    with files["master"].open("a") as f:  # Asterisk writes the live call's CDR at its hangup
        f.write(f'"","{NUMBER}","7101","ccserver-inbound","""Zoe Erasmus"" <{NUMBER}>","x","y",'
                f'"Queue","rec","","","",9,9,"ANSWERED","DOCUMENTATION","{live}",""\n')
    assert erasure.pending
    await erasure.on_event(ev.ChannelHungup(uniqueid=live, linkedid=live, cause=16))
    await erasure.settled()
    assert not erasure.pending

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
    campaign2 = await outbound.create_campaign("C2", {"mode": "progressive", "caller_ids": ["0162000001"]}, "sup")
    preview = await outbound.preview_import(campaign2["id"], f"nom;numero\nX;{NUMBER}\n".encode(), "d.csv",
                                            "utf-8", "sup")
    assert preview["on_company_dnc"] == 1
    await outbound.commit_import(preview["import_id"], "sup")
    again = outbound.repo.contacts(campaign2["id"])[0][0]
    answer = await outbound.check_contact(again.id, "sup")
    assert answer["allowed"] is False and "dnc.company_list" in answer["failed"], answer
    # --- the erasure itself is audit-logged: who, which customer, the hash — not the number
    [entry] = audit.list(action="customer.erase")
    assert entry.actor == "admin" and entry.target == str(zoe.id)
    assert expected in entry.details and not needles_in(entry.details.encode())
