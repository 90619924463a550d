"""The outbound service on SQLite and PostgreSQL, Asterisk replaced by a recording fake: imports
(whole or nothing), consent ledger, opposition lists, the engine at dialing time with every
decision stored, the dialer's choices, retries, preview mode, the export."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

import ccserver.adapters.db.outbound as outbound_db
from ccserver.adapters.db.callcenter import CallCenterRepository
from ccserver.adapters.db.outbound import OutboundRepository
from ccserver.adapters.db.repositories import AuditLog
from ccserver.capabilities.agents.model import AgentBoard
from ccserver.capabilities.callcenter.model import WrapupCode
from ccserver.capabilities.outbound.errors import CallForbidden
from ccserver.capabilities.outbound.service import OutboundService
from ccserver.core import events as ev
from ccserver.core.clock import ManualClock
from ccserver.core.errors import Conflict, Forbidden, InvalidInput
from tests.fakes import FakePbx

UTC = UTC
CONSENT_TUESDAY = datetime(2026, 9, 15, 9, 30, tzinfo=UTC)  # 11:30 Paris, consent regime
BLOCTEL_TUESDAY = datetime(2026, 6, 16, 9, 30, tzinfo=UTC)  # 11:30 Paris, Bloctel regime
LUNCH = datetime(2026, 9, 15, 11, 30, tzinfo=UTC)  # 13:30 Paris
HOLIDAY = datetime(2026, 11, 11, 9, 30, tzinfo=UTC)  # Wednesday 11 November


class Env:
    def __init__(self, database, tmp_path, at):
        self.clock = ManualClock(at)
        self.ami = FakePbx()
        self.board = AgentBoard(self.clock)
        self.repo = OutboundRepository(database)
        self.service = OutboundService(
            self.repo,
            clock=self.clock,
            pbx=self.ami,
            board=self.board,
            audit=AuditLog(database, self.clock),
            dial_uri="sip:{number}@127.0.0.1:5999",
            data_dir=tmp_path,
        )

    async def campaign(self, numbers, *, consent=True, mode="progressive", agents=1, start=True, **values):
        s = self.service
        c = await s.campaigns.create_campaign(
            f"C{len(await s.campaigns.campaigns()) + 1}", {"mode": mode, "caller_ids": ["0162000001"], **values}, "sup"
        )
        text = "nom;numero;cp\n" + "".join(f"N{i};{n};75011\n" for i, n in enumerate(numbers))
        preview = await s.campaigns.preview_import(c["id"], text.encode(), "c.csv", "utf-8", "sup")
        await s.campaigns.commit_import(preview["import_id"], "sup")
        if consent:
            for n in numbers:
                await s.oppositions.record_consent(
                    number=n, source="web", proof_ref=f"P-{n}", actor="sup", at=self.clock.now() - timedelta(days=2)
                )
        names = [f"agent{i}" for i in range(agents)]
        await s.campaigns.set_agents(c["id"], names, "sup")
        for name in names:
            self.board.add_agent(name, f"PJSIP/{name}")
            await s.campaigns.join(c["id"], name)
            self.board.apply(
                ev.QueueMemberChanged(change="added", queue=f"camp-{c['id']}", interface=f"PJSIP/{name}", status=1)
            )
        if start:
            await s.campaigns.change_status(c["id"], "start", "sup")
        return c["id"]

    def contacts(self, cid):
        return {c.number: c for c in self.repo.contacts(cid)[0]}

    async def outcome(self, request, *events):
        for e in events:
            for change in self.service.tracker.apply(e):
                await self.service.outcomes.on_attempt_event(change)


@pytest.fixture
def env(database, tmp_path):
    return lambda at=CONSENT_TUESDAY: Env(database, tmp_path, at)


# --- imports -------------------------------------------------------------------------------------
async def test_import_is_previewed_then_committed_whole(env):
    e = env()
    s = e.service
    c = await s.campaigns.create_campaign("Import", {"caller_ids": ["0162000001"]}, "sup")
    data = (
        "Nom;Téléphone;Code postal;Offre\nA;06 12 34 56 78;75011;x\nB;bad;75011;y\n"
        "C;+33 6 12 34 56 79;97400;z\nD;0612345678;;w\n"
    ).encode()
    preview = await s.campaigns.preview_import(c["id"], data, "list.csv", "utf-8", "sup")
    assert preview["accepted"] == 2 and preview["rejected"] == 2
    assert [r["line"] for r in preview["rejections"]] == [3, 5]
    assert e.repo.contacts(c["id"])[1] == 0  # nothing imported before the confirmation
    result = await s.campaigns.commit_import(preview["import_id"], "sup")
    assert result == {
        "import_id": preview["import_id"],
        "status": "committed",
        "inserted": 2,
        "skipped_duplicates": 0,
        "rejected": 2,
    }
    contacts = e.contacts(c["id"])
    assert contacts["0612345679"].timezone == "Indian/Reunion"
    assert json.loads(contacts["0612345678"].fields) == {"Offre": "x"}
    with pytest.raises(Conflict):
        await s.campaigns.commit_import(preview["import_id"], "sup")
    again = await s.campaigns.preview_import(c["id"], data, "list.csv", "utf-8", "sup")
    assert again["accepted"] == 0 and "already in the campaign" in again["rejections"][0]["reason"]
    report = await s.campaigns.import_report(preview["import_id"])
    assert report["status"] == "committed" and report["rejected"] == 2


@pytest.mark.parametrize(
    "data,line",
    [
        ("Nom;Téléphone\nDupré;0612345678\n".encode("cp1252"), 1),
        (b"Nom;Ville\nA;Paris\n", 1),
        (b"", 1),
    ],
)
async def test_bad_files_are_refused_with_a_line_and_store_nothing(env, data, line):
    e = env()
    c = await e.service.campaigns.create_campaign("Bad", {"caller_ids": ["0162000001"]}, "sup")
    with pytest.raises(InvalidInput) as err:
        await e.service.campaigns.preview_import(c["id"], data, "bad.csv", "utf-8", "sup")
    assert err.value.details["line"] == line
    assert e.repo.imports(c["id"]) == [] and e.repo.contacts(c["id"])[1] == 0


async def test_a_commit_failing_midway_leaves_nothing(env, monkeypatch):
    e = env()
    s = e.service
    c = await s.campaigns.create_campaign("Atomic", {"caller_ids": ["0162000001"]}, "sup")
    data = ("numero\n" + "".join(f"06123456{i:02d}\n" for i in range(10))).encode()
    preview = await s.campaigns.preview_import(c["id"], data, "f.csv", "utf-8", "sup")
    monkeypatch.setattr(outbound_db, "BATCH", 3)
    real = outbound_db.contact_values
    calls = []

    def broken(row, *args):
        calls.append(row)
        values = real(row, *args)
        if len(calls) == 8:
            values["number"] = None  # NOT NULL: the 3rd batch fails inside the transaction
        return values

    monkeypatch.setattr(outbound_db, "contact_values", broken)
    with pytest.raises(Exception):
        await s.campaigns.commit_import(preview["import_id"], "sup")
    assert e.repo.contacts(c["id"])[1] == 0
    assert e.repo.get_import(preview["import_id"]).status == "preview"
    monkeypatch.setattr(outbound_db, "contact_values", real)
    assert (await s.campaigns.commit_import(preview["import_id"], "sup"))["inserted"] == 10


async def test_cancelled_import_cannot_be_committed(env):
    e = env()
    c = await e.service.campaigns.create_campaign("Cancel", {"caller_ids": ["0162000001"]}, "sup")
    preview = await e.service.campaigns.preview_import(c["id"], b"numero\n0612345678\n", "f.csv", "utf-8", "sup")
    await e.service.campaigns.cancel_import(preview["import_id"], "sup")
    with pytest.raises(Conflict):
        await e.service.campaigns.commit_import(preview["import_id"], "sup")
    assert e.repo.contacts(c["id"])[1] == 0


# --- the dialer ----------------------------------------------------------------------------------
async def test_progressive_dials_one_call_per_free_agent_and_checks_each_number(env):
    e = env()
    cid = await e.campaign(["0612000001", "0612000002", "0612000003"], agents=2)
    assert await e.service.dialer.tick() == 2
    assert await e.service.dialer.tick() == 0  # both agents have a call in flight
    first, second = e.ami.originated
    assert first.channel == "PJSIP/customers/sip:0612000001@127.0.0.1:5999"
    assert first.caller_id == '"C1" <0162000001>' and first.context == "ccserver-dialer"
    assert first.variables["CCS_QUEUE"] == f"camp-{cid}" and first.variables["CCS_WAIT"] == "2"
    assert first.channel_id and first.action_id
    contacts = e.contacts(cid)
    assert contacts["0612000001"].status == "dialing" and contacts["0612000003"].status == "pending"
    why = await e.service.compliance.why_not_called(contacts["0612000001"].id)
    (decision,) = why["decisions"]
    assert decision["allowed"] and decision["actor"] == "dialer" and decision["attempt_id"]
    assert len(decision["decision"]["reasons"]) == 12
    assert decision["decision"]["facts"]["consent"]["proof_ref"] == "P-0612000001"


async def test_outcomes_schedule_retries_by_their_delay(env):
    e = env()
    cid = await e.campaign(
        ["0612000001", "0612000002", "0612000003"], agents=3, retry_busy_minutes=10, retry_no_answer_minutes=90
    )
    await e.service.dialer.tick()
    answered, busy, silent = e.ami.originated
    await e.outcome(
        None,
        ev.OriginateResponded(action_id=answered.action_id, success=True, reason=4),
        ev.AgentConnected(queue=f"camp-{cid}", uniqueid=answered.channel_id, member_name="agent0"),
        ev.ChannelHungup(uniqueid=answered.channel_id, cause=16),
        ev.OriginateResponded(action_id=busy.action_id, reason=0),
        ev.ChannelHungup(uniqueid=busy.channel_id, cause=17),
        ev.OriginateResponded(action_id=silent.action_id, reason=3),
    )
    contacts = e.contacts(cid)
    now = e.clock.now()
    assert (contacts["0612000001"].status, contacts["0612000001"].last_outcome) == ("done", "completed")
    assert contacts["0612000002"].next_attempt_at == now + timedelta(minutes=10)
    assert contacts["0612000003"].next_attempt_at == now + timedelta(minutes=90)
    assert all(c.attempts == 1 for c in contacts.values())
    assert await e.service.dialer.tick() == 0  # retries not due yet
    e.clock.advance(minutes=11)
    assert await e.service.dialer.tick() == 1
    assert e.ami.originated[-1].variables["CCS_NUMBER"] == "0612000002"


@pytest.mark.parametrize("moment", [LUNCH, HOLIDAY], ids=["13h30", "holiday"])
async def test_nothing_is_dialed_outside_the_legal_windows(env, moment):
    e = env(moment)
    cid = await e.campaign(["0612000001"])
    await e.service.dialer.refresh_windows()
    assert await e.service.dialer.tick() == 0 and e.ami.originated == []
    assert e.service.dialer.live[cid].open is False
    assert not any(e.repo.iter_decisions(campaign_id=cid))  # closed areas are not even considered


async def test_opposed_and_unconsented_numbers_are_never_dialed(env):
    e = env(BLOCTEL_TUESDAY)
    s = e.service
    cid = await e.campaign(["0612000011", "0612000012", "0612000013"], consent=False, start=False)
    await s.oppositions.dnc_add(["06 12 00 00 11"], "asked", "sup")
    await s.oppositions.import_bloctel_scrub(cid, b"0612000011\n0612000013\n", "2026-06-10", "scrub.csv", "sup")
    await s.campaigns.change_status(cid, "start", "sup")
    assert await s.dialer.tick() == 1
    assert [o.variables["CCS_NUMBER"] for o in e.ami.originated] == ["0612000013"]
    contacts = e.contacts(cid)
    assert contacts["0612000011"].blocked_rule == "dnc.company_list"
    assert contacts["0612000012"].blocked_rule == "bloctel.opposed"
    for number, rule in (("0612000011", "dnc.company_list"), ("0612000012", "bloctel.opposed")):
        (d,) = (await s.compliance.why_not_called(contacts[number].id))["decisions"]
        assert d["failed_rules"] == [rule] and not d["allowed"]
    # from 11 August 2026: consent is required
    e.clock.set(CONSENT_TUESDAY)
    cid2 = await e.campaign(["0612000014"], consent=False)
    assert await s.dialer.tick() == 0
    assert e.contacts(cid2)["0612000014"].blocked_rule == "consent.required"
    # a consent recorded later makes the engine check the contact again: now it is dialed
    await s.oppositions.record_consent(
        number="0612000014", source="web", proof_ref="late", actor="sup", at=CONSENT_TUESDAY - timedelta(hours=1)
    )
    assert e.contacts(cid2)["0612000014"].status == "pending"
    await s.campaigns.change_status(cid, "pause", "sup")
    assert await s.dialer.tick() == 1
    assert e.ami.originated[-1].variables["CCS_NUMBER"] == "0612000014"


async def test_a_stale_bloctel_list_blocks_the_campaign_until_rescrubbed(env):
    e = env(BLOCTEL_TUESDAY)
    s = e.service
    cid = await e.campaign(["0612000021"], consent=False, start=False)
    await s.oppositions.import_bloctel_scrub(cid, b"0612000021\n", "2026-05-01", "old.csv", "sup")
    await s.campaigns.change_status(cid, "start", "sup")
    assert await s.dialer.tick() == 0 and e.ami.originated == []
    assert [b["rule"] for b in s.dialer.live[cid].blockers] == ["bloctel.list_stale"]
    assert not any(e.repo.iter_decisions(campaign_id=cid))
    await s.oppositions.import_bloctel_scrub(cid, b"0612000021\n", "2026-06-15", "new.csv", "sup")
    s.dialer.running.invalidate()
    assert await s.dialer.tick() == 1


async def test_the_bloctel_opposition_file_is_a_bitmap_with_its_date(env, tmp_path):
    e = env(BLOCTEL_TUESDAY)
    s = e.service
    cid = await e.campaign(["0612000031", "0612000032"], consent=False, start=False)
    with pytest.raises(InvalidInput):
        await s.oppositions.import_bloctel_list(b"numero\n0612000031\n", "2026-06-20", "future.txt", "sup")
    result = await s.oppositions.import_bloctel_list(
        b"06 12 00 00 31\nnot a number\n", "2026-06-12", "bloctel.txt", "sup"
    )
    assert result["numbers"] == 1 and result["invalid_lines"] == 1
    status = await s.oppositions.opposition_status()
    assert status["bloctel"]["numbers"] == 1 and status["bloctel"]["stale"] is False
    await s.campaigns.change_status(cid, "start", "sup")
    assert await s.dialer.tick() == 1
    assert [o.variables["CCS_NUMBER"] for o in e.ami.originated] == ["0612000032"]
    assert e.contacts(cid)["0612000031"].blocked_rule == "bloctel.opposed"


async def test_concurrent_ticks_launch_each_campaign_call_once(env):
    e = env()
    await e.campaign([f"06120003{i:02d}" for i in range(6)], agents=2)
    await e.campaign([f"06120004{i:02d}" for i in range(6)], agents=1)
    launched = await asyncio.gather(*(e.service.dialer.tick() for _ in range(4)))
    assert sum(launched) == 3 and len(e.ami.originated) == 3  # one call per free agent


async def test_attempt_end_and_contact_step_are_written_in_one_transaction(env):
    e = env()
    cid = await e.campaign(["0612000021"])
    await e.service.dialer.tick()
    (attempt,) = e.repo.attempts(cid)
    contact = e.contacts(cid)["0612000021"]
    now = e.clock.now()
    with pytest.raises(Exception):  # the contact's step breaks a constraint: nothing is written
        e.repo.end_attempt(
            attempt.id,
            {"outcome": "busy", "ended_at": now},
            contact.id,
            {"status": "no-such-status", "attempts": 1},
            now,
        )
    assert e.repo.attempt(attempt.id).outcome == "dialing"
    assert e.contacts(cid)["0612000021"].status == "dialing"
    e.repo.end_attempt(
        attempt.id,
        {"outcome": "busy", "ended_at": now},
        contact.id,
        {"status": "pending", "attempts": 1, "last_outcome": "busy"},
        now,
    )
    assert e.repo.attempt(attempt.id).outcome == "busy"
    after = e.contacts(cid)["0612000021"]
    assert (after.status, after.attempts, after.last_outcome) == ("pending", 1, "busy")


async def test_a_final_outcome_ends_the_attempt_and_sets_the_contact_retry(env):
    e = env()
    cid = await e.campaign(["0612000022"])
    await e.service.dialer.tick()
    (request,) = e.ami.originated
    await e.outcome(None, ev.OriginateResponded(action_id=request.action_id, success=False, reason=5))
    for event in e.service.tracker.expire(e.clock.now() + timedelta(minutes=10)):
        await e.service.outcomes.on_attempt_event(event)
    (attempt,) = e.repo.attempts(cid)
    contact = e.contacts(cid)["0612000022"]
    assert attempt.outcome == "busy" and attempt.ended_at is not None
    assert contact.status == "pending" and contact.attempts == 1 and contact.last_outcome == "busy"
    assert contact.next_attempt_at > e.clock.now()


async def test_predictive_dials_ahead_within_the_abandon_cap(env):
    e = env()
    numbers = [f"06120001{i:02d}" for i in range(40)]
    cid = await e.campaign(numbers, mode="predictive", agents=4)
    stats = e.service.outcomes.stats_of(cid)
    for i in range(200):  # measured: 25 % answer rate, 3 min calls
        now = e.clock.now().timestamp() - 3600 + i
        stats.record_answered(now, 10) if i % 4 == 0 else stats.record_unanswered(now)
    launched = await e.service.dialer.tick()
    assert launched > 4  # more calls than free agents: the answer rate is low
    for _ in range(5):  # over the cap: progressive at most (here: nothing more)
        stats.record_abandoned(e.clock.now().timestamp())
    assert stats.abandon_rate(e.clock.now().timestamp()) > 0.03
    assert await e.service.dialer.tick() == 0


async def test_refusal_during_a_call_is_recorded_and_stops_further_calls(env):
    e = env()
    s = e.service
    cid = await e.campaign(["0612000041"])
    await s.dialer.tick()
    (request,) = e.ami.originated
    await e.outcome(
        None,
        ev.OriginateResponded(action_id=request.action_id, success=True, reason=4),
        ev.AgentConnected(queue=f"camp-{cid}", uniqueid=request.channel_id),
    )
    attempt = e.repo.attempts(cid)[0]
    with pytest.raises(InvalidInput) as unknown:  # only the campaign's own wrap-up codes
        await s.preview.record_result(attempt.id, "agent0", disposition="not-interested", refused=True)
    assert unknown.value.details["field"] == "disposition" and "an admin adds them" in unknown.value.message
    assert not e.repo.attempt(attempt.id).refused  # nothing recorded
    CallCenterRepository(e.repo.db).add_campaign_code(cid, WrapupCode("not-interested", "Pas intéressé"))
    result = await s.preview.record_result(
        attempt.id, "agent0", disposition="not-interested", refused=True, do_not_call=True
    )
    assert e.repo.attempt(attempt.id).disposition == "not-interested"
    assert result["refused"] and result["do_not_call"]
    await e.outcome(None, ev.ChannelHungup(uniqueid=request.channel_id, cause=16))
    consents = await s.oppositions.consents_of("0612000041")
    assert [x["action"] for x in consents["entries"]] == ["grant", "refusal", "revoke"]
    assert consents["canvassing"] is False
    assert (await s.oppositions.opposition_status())["dnc_count"] == 1
    contact = e.contacts(cid)["0612000041"]
    assert contact.status == "done" and e.repo.attempt(attempt.id).refused
    check = await s.compliance.check_contact(contact.id, "sup")
    assert set(check["failed"]) >= {"frequency.60_days_after_refusal", "dnc.company_list", "consent.required"}


async def test_consent_ledger_state_follows_grants_and_revocations(env):
    e = env()
    s = e.service
    await s.oppositions.record_consent(
        number="0612000051",
        scope="outside_hours",
        source="paper",
        proof_ref="P1",
        actor="sup",
        at="2026-09-01T10:00:00Z",
    )
    await s.oppositions.record_consent(
        number="0612000051", source="web", proof_ref="W1", actor="sup", at="2026-09-02T10:00:00Z"
    )
    await s.oppositions.record_consent(
        number="06 12 00 00 51", action="revoke", source="email", actor="sup", at="2026-09-03T10:00:00Z"
    )
    state = await s.oppositions.consents_of("+33612000051")
    assert state["canvassing"] is False and state["outside_hours"] is True
    assert len(state["entries"]) == 3
    data = (
        "numero;portee;operation;date;source;preuve\n"
        "0612000052;démarchage;oui;2026-09-01;web;F1\n"
        "0612000053;démarchage;oui;2099-01-01;web;F2\n"
    ).encode()
    with pytest.raises(InvalidInput) as err:
        await s.oppositions.import_consents(data, "utf-8", "sup")
    assert err.value.details["line"] == 3
    assert (await s.oppositions.consents_of("0612000052"))["entries"] == []  # nothing half-imported
    ok = data.replace(b"2099-01-01", b"2026-09-01")
    assert (await s.oppositions.import_consents(ok, "utf-8", "sup")) == {"imported": 2}


async def test_outside_hours_consent_lets_the_dialer_call_at_lunch(env):
    e = env(LUNCH)
    s = e.service
    cid = await e.campaign(["0612000061", "0612000062"])
    await s.oppositions.record_consent(
        number="0612000061",
        scope="outside_hours",
        source="paper",
        proof_ref="OH-1",
        actor="sup",
        at=LUNCH - timedelta(days=1),
    )
    await s.dialer.refresh_windows()
    assert await s.dialer.tick() == 1
    assert e.ami.originated[0].variables["CCS_NUMBER"] == "0612000061"
    (d,) = (await s.compliance.why_not_called(e.contacts(cid)["0612000061"].id))["decisions"]
    assert d["allowed"] and {r["status"] for r in d["decision"]["reasons"] if r["rule"].startswith("hours.")} == {
        "waived",
        "passed",
    }


async def test_preview_reserves_checks_and_dials_through_the_agent(env):
    e = env()
    s = e.service
    await e.campaign(["0612000071", "0612000072"], mode="preview")
    assert await s.dialer.tick() == 0  # nobody dials a preview campaign but the agent
    CallCenterRepository(e.repo.db).add_campaign_code(1, WrapupCode("sale", "Vente"))
    found = await s.preview.preview_next("agent0")
    contact = found["contact"]
    assert contact["number"] == "0612000071" and contact["reserved_by"] == "agent0"
    assert found["campaign"]["dispositions"] == ["sale"]  # the desk offers the campaign's codes
    assert found["decision"]["allowed"]
    with pytest.raises(Forbidden):  # reserved for agent0: not agent1's to call
        await s.preview.preview_dial(contact["id"], "agent1")
    dialed = await s.preview.preview_dial(contact["id"], "agent0")
    (request,) = e.ami.originated
    assert request.channel == "PJSIP/agent0" and request.context == "ccserver-dialer-preview"
    assert request.variables["CCS_DIAL"] == "PJSIP/customers/sip:0612000071@127.0.0.1:5999"
    assert request.variables["CCS_CALLERID"] == '"C1" <0162000001>'
    decisions = (await s.compliance.why_not_called(contact["id"]))["decisions"]
    assert [d["purpose"] for d in decisions] == ["dial", "preview"]  # checked again at the click
    assert decisions[0]["attempt_id"] == dialed["attempt_id"]
    second = await s.preview.preview_next("agent0")
    assert second["contact"]["number"] == "0612000072"
    await s.oppositions.dnc_add(["0612000072"], "changed their mind", "sup")
    with pytest.raises(CallForbidden) as err:
        await s.preview.preview_dial(second["contact"]["id"], "agent0")
    assert err.value.details["decision"]["failed"] == ["dnc.company_list"]
    assert len(e.ami.originated) == 1


async def test_agent_callback_is_offered_to_that_agent_when_due(env):
    e = env()
    s = e.service
    cid = await e.campaign(["0612000081"])
    contact = e.contacts(cid)["0612000081"]
    await s.preview.schedule_callback(
        contact.id, (e.clock.now() + timedelta(hours=3)).isoformat(), "agent0"
    )  # 14:30 in Paris
    assert await s.dialer.tick() == 0  # the agent's callback is not the dialer's
    assert await s.preview.preview_next("agent0") is None  # not due yet
    e.clock.advance(hours=3)
    assert await s.preview.preview_next("agent1") is None  # someone else's callback
    found = await s.preview.preview_next("agent0")
    assert found["contact"]["id"] == contact.id


async def test_export_has_every_decision_with_its_rules(env):
    e = env()
    s = e.service
    cid = await e.campaign(["0612000091", "0612000092"], agents=2)
    await s.oppositions.dnc_add(["0612000092"], "", "sup")
    await s.dialer.tick()
    text = "".join(s.compliance.export_decisions(campaign_id=cid))
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["decision_id", "at_utc", "local_time"]
    by_number = {r[7]: r for r in rows[1:]}
    assert by_number["0612000091"][10] == "yes"
    assert by_number["0612000092"][10] == "no" and by_number["0612000092"][11] == "dnc.company_list"
    assert "hours.window=passed" in by_number["0612000091"][14]
    assert json.loads(by_number["0612000092"][15])["failed"] == ["dnc.company_list"]
    only = "".join(s.compliance.export_decisions(number="06 12 00 00 92"))
    assert only.count("\r\n") == 2


async def test_campaign_validation(env):
    s = env().service
    with pytest.raises(InvalidInput) as err:
        await s.campaigns.create_campaign("X", {"caller_ids": ["0612345678"]}, "sup")
    assert err.value.details["field"] == "caller_ids[0]"
    with pytest.raises(InvalidInput):
        await s.campaigns.create_campaign("X", {"abandon_cap_permille": 50}, "sup")
    with pytest.raises(InvalidInput):
        await s.campaigns.create_campaign("X", {"mode": "robocall"}, "sup")
    await s.campaigns.create_campaign("Same", {}, "sup")
    with pytest.raises(Conflict):
        await s.campaigns.create_campaign("Same", {}, "sup")


async def test_why_and_export_commands(env, db_url, tmp_path, monkeypatch, capsys):
    from ccserver.cli import main as cli_main

    e = env()
    cid = await e.campaign(["0612000101", "0612000102"], agents=2)
    await e.service.oppositions.dnc_add(["0612000102"], "", "sup")
    await e.service.dialer.tick()
    blocked = e.contacts(cid)["0612000102"]
    monkeypatch.setenv("CCSERVER_STORAGE_DATABASE_URL", db_url)
    monkeypatch.setenv("CCSERVER_STORAGE_DATA_DIR", str(tmp_path))
    assert cli_main(["compliance", "why", "--contact", str(blocked.id)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["decisions"][0]["failed_rules"] == ["dnc.company_list"]
    assert "dnc.company_list" in out["summary"]
    assert cli_main(["compliance", "why", "--number", "+33 6 12 00 01 01"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["decisions"][0]["allowed"] is True and out["contacts"][0]["campaign_id"] == cid
    target = tmp_path / "proof.csv"
    assert cli_main(["compliance", "export", "--campaign", str(cid), "--output", str(target)]) == 0
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8").lstrip("\ufeff")), delimiter=";"))
    assert len(rows) == 3 and {r[7] for r in rows[1:]} == {"0612000101", "0612000102"}
    assert cli_main(["compliance", "why", "--contact", "999999"]) == 2


async def test_apscheduler_opens_and_closes_the_campaign_at_the_window_boundaries(env):
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    e = env()  # Tuesday 11:30 in Paris: open until 13:00
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.start()
    e.service.dialer.scheduler = scheduler
    messages = []
    e.service.notify = lambda message, **kw: messages.append(message)
    try:
        cid = await e.campaign(["0612000111"])
        job = scheduler.get_job(f"outbound-window-{cid}")
        wait = (job.next_run_time - datetime.now(UTC)).total_seconds()
        assert 90 * 60 - 5 < wait <= 90 * 60 + 2  # 13:00 in Paris, 90 minutes ahead
        assert e.service.dialer.live[cid].open is True
        e.clock.set(datetime(2026, 9, 15, 11, 0, 1, tzinfo=UTC))  # 13:00:01: the job runs
        await job.func(*job.args)
        assert e.service.dialer.live[cid].open is False
        assert messages[-1]["topic"] == "outbound_campaign_window" and not messages[-1]["open"]
        job = scheduler.get_job(f"outbound-window-{cid}")
        wait = (job.next_run_time - datetime.now(UTC)).total_seconds()
        assert 3600 - 5 < wait <= 3600 + 2  # reopens at 14:00
        await e.service.campaigns.change_status(cid, "finish", "sup")
        assert scheduler.get_job(f"outbound-window-{cid}") is None
    finally:
        scheduler.shutdown(wait=False)
