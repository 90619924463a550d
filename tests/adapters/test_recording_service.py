"""RecordingService with a fake PBX that writes WAV files like MixMonitor, on SQLite and
PostgreSQL: policies, pause marks, indexing, retention purge, GDPR erasure, evaluations."""

from __future__ import annotations

import hashlib
import json
import math
import struct
import time
import wave
from datetime import UTC, datetime, timedelta

import pytest

from ccserver.adapters.db.acd import AcdRepository
from ccserver.adapters.db.customers import CustomerRepository
from ccserver.adapters.db.erasure import ErasureRepository
from ccserver.adapters.db.recordings import RecordingRepository
from ccserver.adapters.db.repositories import AuditLog
from ccserver.capabilities.acd.model import QueueDefinition
from ccserver.capabilities.agents.model import AgentBoard
from ccserver.capabilities.calls.model import CallTracker
from ccserver.capabilities.customers.service import CustomerService
from ccserver.capabilities.privacy.service import ErasureService
from ccserver.capabilities.recording.model import RecordingPolicy
from ccserver.capabilities.recording.service import RecordingService
from ccserver.capabilities.recording.storage import RecordingStore
from ccserver.core import events as ev
from ccserver.core.channels import ChannelRegistry
from ccserver.core.clock import ManualClock
from ccserver.core.errors import Conflict, Forbidden, InvalidInput, NotFound, PbxCommandFailed
from tests.fakes import Command, FakePbx

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
KEY = bytes(range(32))


def write_wav(path, seconds: float, amplitude: int = 3000) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = b"".join(struct.pack("<h", int(amplitude * math.sin(i / 5))) for i in range(int(8000 * seconds)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(frames)
    return path.read_bytes()


class Harness:
    def __init__(self, database, tmp_path, key=None):
        self.clock = ManualClock(T0)
        self.db = database
        self.acd = AcdRepository(database, self.clock)
        self.acd.save_queue(QueueDefinition(name="sales", retention_days=30), create=True)
        self.acd.save_queue(
            QueueDefinition(name="support", recording_policy="on_demand", retention_days=0), create=True
        )
        self.acd.save_queue(QueueDefinition(name="secret", recording_policy="never"), create=True)
        self.spool, self.store_dir = tmp_path / "spool", tmp_path / "store"
        self.spool.mkdir()
        self.board = AgentBoard(self.clock)
        self.board.add_agent("alice", "PJSIP/alice")
        self.board.add_agent("bob", "PJSIP/bob")
        self.channels = ChannelRegistry()
        self.tracker = CallTracker(self.clock, agent_of_interface=lambda i: i.split("/")[1])
        self.audio_seconds = 3.0  # what MixMonitor writes (0: a call never bridged, no audio)
        self.pbx = FakePbx()
        self.pbx.on("mix_monitor", self._mixmonitor_writes_the_file)
        self.audit = AuditLog(database, self.clock)
        self.customers = CustomerService(CustomerRepository(database), self.clock)
        self.repo = RecordingRepository(database, self.clock)
        self.store = RecordingStore(self.store_dir, self.spool, key)
        self.store.close_timeout = 0.3
        self.service = RecordingService(
            self.repo,
            self.store,
            self.board,
            self.channels,
            self.tracker,
            self.pbx,
            self.audit,
            self.clock,
            self.customers,
        )

    def _mixmonitor_writes_the_file(self, channel, filename, options):
        if self.audio_seconds:
            write_wav(self.spool / filename, self.audio_seconds)

    def apply(self, event):
        for target in (self.board, self.tracker):
            target.apply(event)
        if isinstance(event, ev.ChannelCreated):
            self.channels.on_created(event)
        elif isinstance(event, ev.ChannelHungup):
            self.channels.on_hungup(event)

    async def answer(self, uniqueid="100.1", queue="sales", agent="alice", caller="0612345678"):
        channel = f"PJSIP/customers-{uniqueid}"
        for member in (
            ev.QueueMemberChanged(change="added", queue=queue, interface=f"PJSIP/{agent}", member_name=agent, status=1),
        ):
            self.apply(member)
        self.apply(
            ev.ChannelCreated(uniqueid=uniqueid, linkedid=uniqueid, channel=channel, caller_number=caller, state="Ring")
        )
        self.apply(
            ev.QueueCallerJoined(
                queue=queue, uniqueid=uniqueid, linkedid=uniqueid, channel=channel, caller_number=caller, position=1
            )
        )
        self.apply(
            ev.AgentCalled(
                queue=queue,
                uniqueid=uniqueid,
                linkedid=uniqueid,
                caller_number=caller,
                interface=f"PJSIP/{agent}",
                member_name=agent,
                dest_channel=f"PJSIP/{agent}-1",
            )
        )
        connected = ev.AgentConnected(
            queue=queue, uniqueid=uniqueid, linkedid=uniqueid, interface=f"PJSIP/{agent}", member_name=agent
        )
        self.apply(connected)
        await self.service.on_event(connected)
        return channel

    async def hang_up(self, uniqueid="100.1"):
        hangup = ev.ChannelHungup(uniqueid=uniqueid, linkedid=uniqueid, channel=f"PJSIP/customers-{uniqueid}", cause=16)
        self.apply(hangup)
        await self.service.on_event(hangup)
        await self.service.settled()


@pytest.fixture
def h(database, tmp_path):
    return Harness(database, tmp_path)


async def test_answered_call_of_an_always_queue_is_recorded_then_indexed(h):
    h.customers.create_customer(phones=["06 12 34 56 78"], last_name="Martin")
    channel = await h.answer()
    [command] = h.pbx.commands
    start = command.args
    assert command.name == "mix_monitor" and start["channel"] == channel and start["options"] == "b"
    assert start["filename"].startswith("ccs/2026/11/23/100.1-") and start["filename"].endswith(".wav")
    spool_bytes = (h.spool / start["filename"]).read_bytes()
    [row] = h.repo.for_call("100.1")
    assert row.status == "recording" and row.agent == "alice" and row.queue == "sales"
    assert row.started_by == "system" and row.retention_days == 30
    await h.hang_up()
    row = h.repo.get(row.id)
    assert row.status == "stored" and row.duration_ms == 3000 and row.size_bytes == len(spool_bytes)
    assert row.sha256 == hashlib.sha256(spool_bytes).hexdigest() and not row.encrypted
    assert row.path == f"2026/11/23/{row.id}.wav" and (h.store_dir / row.path).read_bytes() == spool_bytes
    assert not (h.spool / start["filename"]).exists()
    assert row.customer_id is not None  # found by the caller's number
    assert "100.1" not in h.service.live


async def test_on_demand_queue_records_when_the_agent_starts_and_never_queue_refuses(h):
    await h.answer(queue="support")
    assert h.pbx.commands == []
    state = h.service.desk_state("alice")["recording"]
    assert state["state"] == "none" and state["can"] == ["start"]
    result = await h.service.agent_action("alice", "start")
    assert result["recording"]["state"] == "recording" and h.pbx.commands[0].name == "mix_monitor"
    [row] = h.repo.for_call("100.1")
    assert row.started_by == "alice" and row.policy == "on_demand"
    await h.service.agent_action("alice", "stop")
    assert h.pbx.commands[-1] == Command("stop_mix_monitor", {"channel": "PJSIP/customers-100.1"})
    await h.hang_up()
    assert h.repo.get(row.id).status == "stored"
    await h.answer(uniqueid="200.1", queue="secret")
    assert len(h.pbx.commands) == 2 and h.repo.for_call("200.1") == []
    with pytest.raises(Conflict):
        await h.service.agent_action("alice", "start")


async def test_pause_and_resume_mute_both_directions_and_keep_the_pause_marks(h):
    await h.answer()
    h.clock.advance(seconds=2)
    await h.service.agent_action("alice", "pause")
    assert h.pbx.commands[-1] == Command(
        "mix_monitor_mute", {"channel": "PJSIP/customers-100.1", "muted": True, "direction": "both"}
    )
    [row] = h.repo.for_call("100.1")
    assert row.status == "paused"
    with pytest.raises(Conflict):
        await h.service.agent_action("alice", "pause")
    h.clock.advance(seconds=3)
    await h.service.agent_action("alice", "resume")
    assert h.pbx.commands[-1].args["muted"] is False
    h.clock.advance(seconds=1)
    await h.service.agent_action("alice", "pause")  # left paused until the hangup
    h.clock.advance(seconds=2)
    await h.hang_up()
    row = h.repo.get(row.id)
    assert json.loads(row.pauses) == [[2.0, 5.0], [6.0, 8.0]]
    assert [e.action for e in h.audit.list(action=None)][:3] == [
        "recording.pause",
        "recording.resume",
        "recording.pause",
    ][::-1]


async def test_an_agent_acts_only_on_their_own_call(h):
    await h.answer()
    with pytest.raises(Conflict):
        await h.service.agent_action("bob", "pause")  # bob has no call
    with pytest.raises(InvalidInput):
        await h.service.agent_action("alice", "rewind")


async def test_failed_mixmonitor_is_kept_as_failed(h):
    h.pbx.fail_next("mix_monitor", PbxCommandFailed("Could not start MixMonitor"), times=None)
    await h.answer()
    [row] = h.repo.for_call("100.1")
    assert row.status == "failed" and "Could not start" in row.error


async def test_call_never_bridged_leaves_an_empty_recording(h):
    h.audio_seconds = 0
    await h.answer()
    await h.hang_up()
    [row] = h.repo.for_call("100.1")
    assert row.status == "empty" and row.path is None


async def test_restart_follows_running_recordings_and_a_snapshot_closes_vanished_calls(h):
    await h.answer()
    fresh = RecordingService(
        h.repo, h.store, h.board, ChannelRegistry(), h.tracker, h.pbx, h.audit, h.clock, h.customers
    )
    await fresh.load()
    assert fresh.live["100.1"].state == "recording"
    await fresh.on_event(ev.PbxSnapshot(channels=()))
    await fresh.settled()
    [row] = h.repo.for_call("100.1")
    assert row.status == "stored" and row.duration_ms == 3000


async def test_encrypted_recordings_are_unreadable_on_disk_and_read_back_by_range(database, tmp_path):
    h = Harness(database, tmp_path, key=KEY)
    await h.answer()
    plain = (h.spool / h.pbx.called("mix_monitor")[0]["filename"]).read_bytes()
    await h.hang_up()
    [row] = h.repo.for_call("100.1")
    on_disk = (h.store_dir / row.path).read_bytes()
    assert row.encrypted and row.path.endswith(".wav.enc") and b"RIFF" not in on_disk
    assert row.sha256 == hashlib.sha256(plain).hexdigest() and row.size_bytes == len(plain)
    for start, end in ((0, len(plain) - 1), (0, 0), (65530, 65541), (100_000, len(plain) - 1)):
        assert b"".join(h.store.read(row.path, True, start, end)) == plain[start : end + 1]
    tampered = bytearray(on_disk)
    tampered[100] ^= 1
    (h.store_dir / row.path).write_bytes(bytes(tampered))
    with pytest.raises(Exception):
        b"".join(h.store.read(row.path, True, 0, 10))


def add_recording(h, queue, days_ago, *, status="stored", retention=0, with_file=True):
    started = T0 - timedelta(days=days_ago)
    row = h.repo.insert(
        call_uniqueid=f"{queue}-{days_ago}",
        queue=queue,
        agent="alice",
        started_at=started,
        status=status,
        retention_days=retention,
    )
    if with_file:
        path = f"{started:%Y/%m/%d}/{row.id}.wav"
        write_wav(h.store_dir / path, 0.1)
        h.repo.update(row.id, path=path, size_bytes=(h.store_dir / path).stat().st_size)
    return h.repo.get(row.id)


async def test_purge_removes_only_expired_recordings(h):
    h.repo.set_campaign_policy(5, RecordingPolicy("always", 10), "admin")
    expired = [add_recording(h, "sales", 31), add_recording(h, "camp-5", 11), add_recording(h, "gone", 8, retention=7)]
    kept = [
        add_recording(h, "sales", 29),
        add_recording(h, "support", 1000),
        add_recording(h, "camp-5", 9),
        add_recording(h, "gone", 6, retention=7),
        add_recording(h, "gone", 900, retention=0),
        add_recording(h, "sales", 90, status="recording", with_file=False),
        add_recording(h, "camp-9", 170),
    ]  # campaign without a policy: the default (180 days)
    result = await h.service.purge()
    assert sorted(result["ids"]) == sorted(r.id for r in expired) and result["removed"] == 3
    for r in expired:
        assert not (h.store_dir / r.path).exists()
        with pytest.raises(NotFound):
            h.repo.get(r.id)
    for r in kept:
        assert h.repo.get(r.id) is not None
        if r.path:
            assert (h.store_dir / r.path).exists()
    [entry] = h.audit.list(action="recording.purge")
    assert sorted(entry.details_dict["ids"]) == sorted(r.id for r in expired)
    assert (await h.service.purge())["removed"] == 0


async def test_erasing_a_customer_removes_recordings_and_personal_data_keeps_statistics(h):
    alice = h.customers.create_customer(phones=["0612345678"], last_name="Martin", notes="VIP")
    other = h.customers.create_customer(phones=["0698765432"], last_name="Durand")
    h.acd.upsert_calls(
        [
            dict(
                uniqueid="c1",
                caller_number="0612345678",
                queue="sales",
                agent="alice",
                created_at=T0,
                answered_at=T0,
                ended_at=T0 + timedelta(minutes=3),
                outcome="answered",
                talk_seconds=180,
                customer_id=alice.id,
                notes="card 4970...",
                call_data='{"customer_id": "12345678"}',
            ),
            dict(uniqueid="c2", caller_number="+33612345678", queue="sales", created_at=T0, outcome="abandoned"),
            dict(
                uniqueid="c3",
                caller_number="0698765432",
                queue="sales",
                created_at=T0,
                outcome="answered",
                customer_id=other.id,
                notes="keep me",
            ),
        ]
    )
    h.customers.record_interaction(alice.id, "c1", "alice", queue="sales", notes="called about billing")
    h.customers.open_ticket(alice.id, "c1", "Facture")
    mine = [add_recording(h, "sales", 1), add_recording(h, "sales", 2)]
    h.repo.update(mine[0].id, call_uniqueid="c1")
    h.repo.update(mine[1].id, call_uniqueid="c2")
    theirs = add_recording(h, "sales", 3)
    h.repo.update(theirs.id, call_uniqueid="c3")
    grid = h.service.save_grid(
        None, {"name": "g", "sections": [{"title": "s", "criteria": [{"id": "a", "label": "a"}]}]}, "sup"
    )
    evaluation = h.service.evaluate(mine[0].id, grid["id"], {"a": 1}, "", "sup")

    erasure = ErasureService(
        ErasureRepository(h.db),
        b"k" * 32,
        audit=h.audit,
        recording=h.service,
        tracker=h.tracker,
        channels=h.channels,
        database=h.db,
    )
    summary = await erasure.erase(customer_id=alice.id, actor="admin")
    assert summary["recordings"] == 2 and summary["files"] == 2 and summary["calls_anonymized"] == 2
    assert summary["tickets"] == 1 and summary["interactions"] == 1 and summary["phones"] == 1
    for r in mine:
        assert not (h.store_dir / r.path).exists()
    assert (h.store_dir / theirs.path).exists()
    c1 = h.acd.call("c1")
    assert c1.caller_number is None and c1.notes is None and c1.customer_id is None and c1.call_data is None
    assert c1.queue == "sales" and c1.outcome == "answered" and c1.talk_seconds == 180 and c1.agent == "alice"
    assert h.acd.call("c2").caller_number is None
    assert h.acd.call("c3").caller_number == "0698765432" and h.acd.call("c3").notes == "keep me"
    with pytest.raises(NotFound):
        h.customers.customer_file(alice.id)
    assert h.customers.find_by_number("0612345678") is None
    assert h.repo.evaluation(evaluation["id"]).recording_id is None  # the agent's score stays
    [entry] = h.audit.list(action="customer.erase")
    assert entry.target == str(alice.id) and "Martin" not in entry.details
    with pytest.raises(NotFound):
        await erasure.erase(customer_id=alice.id, actor="admin")


GRID = {
    "name": "Accueil",
    "sections": [
        {
            "title": "Accueil",
            "weight": 1,
            "criteria": [
                {"id": "greeting", "label": "Bonjour"},
                {"id": "identity", "label": "Identité", "fatal": True},
            ],
        },
        {"title": "Fond", "weight": 2, "criteria": [{"id": "answer", "label": "Réponse", "max_points": 4}]},
    ],
}


async def test_evaluations_scores_acknowledgement_and_averages(h):
    rec1, rec2 = add_recording(h, "sales", 1), add_recording(h, "sales", 2)
    h.repo.update(rec2.id, agent="bob")
    grid = h.service.save_grid(None, GRID, "sup")
    assert grid["version"] == 1
    with pytest.raises(Conflict):
        h.service.save_grid(None, GRID, "sup")
    e1 = h.service.evaluate(rec1.id, grid["id"], {"greeting": 1, "identity": 1, "answer": 2}, "bien", "sup")
    assert e1["score"] == round((100 + 2 * 50) / 3, 1) and not e1["fatal"] and e1["agent"] == "alice"
    e2 = h.service.evaluate(rec2.id, grid["id"], {"greeting": 1, "identity": 0, "answer": 4}, "", "sup")
    assert e2["score"] == 0.0 and e2["fatal"] and e2["failed_fatal"] == ["identity"]
    with pytest.raises(Forbidden):
        h.service.evaluate(rec1.id, grid["id"], {"greeting": 1, "identity": 1, "answer": 2}, "", "alice")
    with pytest.raises(InvalidInput):
        h.service.evaluate(rec1.id, grid["id"], {"greeting": 1}, "", "sup")
    # the grid changes: old evaluations keep the grid they were made with
    changed = h.service.save_grid(grid["id"], {**GRID, "sections": GRID["sections"][:1]}, "sup")
    assert changed["version"] == 2
    assert len(h.service.evaluation_view(h.repo.evaluation(e1["id"]))["sections"]) == 2
    e3 = h.service.evaluate(rec1.id, grid["id"], {"greeting": 0, "identity": 1}, "", "sup")
    assert e3["grid_version"] == 2 and e3["score"] == 50.0
    updated = h.service.update_evaluation(e3["id"], {"greeting": 1, "identity": 1}, "revu", "sup")
    assert updated["score"] == 100.0 and updated["comment"] == "revu"
    with pytest.raises(Forbidden):
        h.service.acknowledge("bob", e1["id"])
    assert h.service.acknowledge("alice", e1["id"])["acknowledged_at"] is not None
    stats = h.service.averages()
    by_agent = {a["key"]: a for a in stats["by_agent"]}
    assert by_agent["alice"]["count"] == 2 and by_agent["alice"]["average"] == round((e1["score"] + 100) / 2, 1)
    assert by_agent["bob"] == {"key": "bob", "count": 1, "average": 0.0, "fatal_count": 1}
    assert stats["by_grid"][0]["key"] == "Accueil" and stats["by_grid"][0]["count"] == 3
    h.service.save_grid(grid["id"], {**GRID, "active": False}, "sup")
    with pytest.raises(Conflict):
        h.service.evaluate(rec1.id, grid["id"], {"greeting": 1, "identity": 1, "answer": 1}, "", "sup")


async def test_playback_rights_and_audit_coalescing(h):
    from ccserver.adapters.web.auth import CurrentUser

    rec = add_recording(h, "sales", 1)
    supervisor = CurrentUser(1, "sup", "supervisor", "Sup", "x")
    alice, bob = CurrentUser(2, "alice", "agent", "A", "x"), CurrentUser(3, "bob", "agent", "B", "x")
    assert h.service.playable(supervisor, rec.id).id == rec.id
    with pytest.raises(Forbidden):
        h.service.playable(alice, rec.id)  # agents may not listen (setting off)
    h.service.agents_may_listen = True
    assert h.service.playable(alice, rec.id).id == rec.id
    with pytest.raises(Forbidden):
        h.service.playable(bob, rec.id)
    assert h.service.note_playback(supervisor, rec, "bytes=0-", "127.0.0.1")
    assert not h.service.note_playback(supervisor, rec, "bytes=500-", "127.0.0.1")
    [entry] = h.audit.list(action="recording.play")
    assert entry.actor == "sup" and entry.target == str(rec.id)
    failed = h.repo.insert(call_uniqueid="x", started_at=T0, status="failed")
    with pytest.raises(NotFound):
        h.service.playable(supervisor, failed.id)


async def dialled(h, uniqueid="ccsc2d-1-ab", agent="alice", *, answered=True, ended=False):
    """A click-to-dial call's record as the clicktodial capability publishes it."""
    from ccserver.capabilities.calls.model import CallRecord, CallRecordChanged

    record = CallRecord(
        uniqueid=uniqueid,
        linkedid=uniqueid,
        channel=f"PJSIP/{agent}",
        caller_number="+33612345678",
        queue="",
        entered_queue_at=h.clock.now(),
        direction="outbound",
        agent=agent,
        answered_at=h.clock.now() if answered else None,
        data=(("click_to_dial", "customer:1"),),
    )
    await h.service.on_event(CallRecordChanged(record=record, ended=ended))


async def test_click_to_dial_call_is_recorded_on_the_agent_channel_from_the_customer_answer(h):
    h.apply(ev.ChannelCreated(uniqueid="ccsc2d-1-ab", linkedid="ccsc2d-1-ab", channel="PJSIP/alice-7", state="Up"))
    await dialled(h, answered=False)  # placed, ringing: nothing yet
    assert h.pbx.commands == []
    await dialled(h)
    await dialled(h)  # the same record published again: one recording
    [command] = h.pbx.commands
    assert command.name == "mix_monitor" and command.args["channel"] == "PJSIP/alice-7"
    [row] = h.repo.for_call("ccsc2d-1-ab")
    assert (row.status, row.agent, row.queue, row.policy, row.retention_days) == (
        "recording",
        "alice",
        "",
        "always",
        180,
    )
    # the desk pauses it like a queue call's (the board has no queue call for alice)
    assert h.service.desk_state("alice")["recording"]["state"] == "recording"
    await h.service.agent_action("alice", "pause")
    assert h.pbx.commands[-1].args == {"channel": "PJSIP/alice-7", "muted": True, "direction": "both"}
    with pytest.raises(Conflict):
        await h.service.agent_action("bob", "resume")  # not bob's call
    hangup = ev.ChannelHungup(uniqueid="ccsc2d-1-ab", linkedid="ccsc2d-1-ab", channel="PJSIP/alice-7", cause=16)
    h.apply(hangup)
    await h.service.on_event(hangup)
    await h.service.settled()
    assert h.repo.get(row.id).status == "stored"


async def test_click_to_dial_policy_never_records_nothing_and_on_demand_waits_for_the_agent(h):
    h.service.click_to_dial = RecordingPolicy("never", 30)
    await dialled(h, "ccsc2d-2-ab")
    assert h.pbx.commands == [] and h.repo.for_call("ccsc2d-2-ab") == []
    h.service.click_to_dial = RecordingPolicy("on_demand", 30)
    h.apply(ev.ChannelCreated(uniqueid="ccsc2d-3-ab", linkedid="ccsc2d-3-ab", channel="PJSIP/bob-9", state="Up"))
    await dialled(h, "ccsc2d-3-ab", agent="bob")
    assert h.pbx.commands == []
    await h.service.agent_action("bob", "start")
    [row] = h.repo.for_call("ccsc2d-3-ab")
    assert row.started_by == "bob" and row.policy == "on_demand" and row.retention_days == 30


def test_a_bad_click_to_dial_policy_setting_is_refused_naming_it(tmp_path):
    from types import SimpleNamespace

    from ccserver.capabilities.recording import plugin
    from ccserver.settings import Settings

    for key, value in (("policy", "sometimes"), ("retention_days", -1)):
        settings = Settings().replace({"storage.data_dir": tmp_path, f"recording.click_to_dial_{key}": value})
        with pytest.raises(InvalidInput) as caught:
            plugin.setup(SimpleNamespace(settings=settings), repository=None, board=None, tracker=None)
        assert caught.value.details["field"] == f"recording.click_to_dial_{key}"


async def enter(h, uniqueid, bridge, *, left=False):
    kind = ev.BridgeLeft if left else ev.BridgeEntered
    h.service.mend_delay = 0.01
    h.service.start_quiet = 0.0
    await h.service.on_event(kind(bridge_id=bridge, uniqueid=uniqueid, linkedid="100.1", channel=uniqueid))
    await h.service.mended()


async def test_the_bridge_forming_as_the_call_is_answered_is_not_mended(h):
    await h.answer()
    h.service.mend_delay = 0.01  # start_quiet left at its 1 s: the answer's own bridge events
    for party in ("100.1", "100.2"):
        await h.service.on_event(ev.BridgeEntered(bridge_id="B1", uniqueid=party, linkedid="100.1", channel=party))
    await h.service.mended()
    assert [c.name for c in h.pbx.commands] == ["mix_monitor"]


async def test_a_recording_moved_to_another_bridge_or_joined_is_restarted_on_the_same_file(h):
    await h.answer()
    spool = h.pbx.commands[0].args["filename"]
    restart = [Command("stop_mix_monitor", {"channel": "PJSIP/customers-100.1"})]
    restart.append(Command("mix_monitor", {"channel": "PJSIP/customers-100.1", "filename": spool, "options": "ab"}))
    await enter(h, "100.1", "B1")  # its bridge known after its start: mended once
    assert h.pbx.commands[1:] == restart
    await enter(h, "100.2", "B2")  # somebody in another bridge: not this call's
    assert len(h.pbx.commands) == 3
    await enter(h, "100.3", "B1")  # a party joins the customer (a resume, a completed transfer)
    assert h.pbx.commands[3:] == restart
    await enter(h, "100.1", "B1", left=True)  # the customer leaves (a blind transfer)...
    await enter(h, "100.5", "B3")  # ...the new party enters first: not known to be its bridge
    assert len(h.pbx.commands) == 5
    await enter(h, "100.1", "B3")  # then the customer: mended
    assert h.pbx.commands[5:] == restart
    await enter(h, "100.5", "B3", left=True)  # a party leaves the customer (hold)
    assert h.pbx.commands[7:] == restart
    # several moves in a row (a transfer completing): one restart once the bridge is quiet
    h.service.mend_delay = 0.2
    for party in ("100.6", "100.7", "100.8"):
        await h.service.on_event(ev.BridgeEntered(bridge_id="B3", uniqueid=party, linkedid="100.1", channel=party))
    await h.service.mended()
    assert h.pbx.commands[9:] == restart
    [row] = h.repo.for_call("100.1")  # still the one recording
    assert row.spool_name == spool


async def test_a_restart_starts_the_new_mixmonitor_only_after_a_gap(h):
    """Started at once after the stop, the new MixMonitor joined the channel's old audiohook
    list, which Asterisk frees at the channel's next audio frame; on that old list it missed the
    customer's new party after a transfer in about half the calls (the real-Asterisk proof:
    tests/integration/test_recording_transfers.py)."""
    await h.answer()
    moments = []
    for method in ("stop_mix_monitor", "mix_monitor"):
        h.pbx.on(method, lambda method=method, **_: moments.append((method, time.monotonic())))
    h.service.restart_gap = 0.15
    await enter(h, "100.1", "B1")
    [(stop, stopped), (start, started)] = moments
    assert (stop, start) == ("stop_mix_monitor", "mix_monitor")
    assert started - stopped >= 0.15


async def test_a_paused_recording_is_not_restarted_until_the_agent_resumes_it(h):
    await h.answer()
    spool = h.pbx.commands[0].args["filename"]
    await h.service.agent_action("alice", "pause")
    count = len(h.pbx.commands)
    await enter(h, "100.1", "B2")  # moved while paused: a new MixMonitor would record
    await enter(h, "100.9", "B2")
    assert len(h.pbx.commands) == count and h.service.live["100.1"].state == "paused"
    await h.service.agent_action("alice", "resume")
    assert h.pbx.commands[count:] == [
        Command("stop_mix_monitor", {"channel": "PJSIP/customers-100.1"}),
        Command("mix_monitor", {"channel": "PJSIP/customers-100.1", "filename": spool, "options": "ab"}),
    ]
    await h.service.agent_action("alice", "pause")  # mended: pause and resume mute again
    await h.service.agent_action("alice", "resume")
    assert [c.name for c in h.pbx.commands[count + 2 :]] == ["mix_monitor_mute", "mix_monitor_mute"]
