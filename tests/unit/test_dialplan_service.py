"""The dialplan use cases with in-memory ports: nothing refused reaches the live files, a
version whose contexts do not load or whose probe fails is replaced by the previous files by
itself, every apply and rollback is audited, and the first start keeps what runs as v1."""

from __future__ import annotations

import pytest

from ccserver.capabilities.dialplans.errors import DialplanRefused, DialplanUnavailable
from ccserver.capabilities.dialplans.service import DialplanService
from tests.fakes.dialplans import FakePbx, FakeScratch, MemoryAudit, MemoryFiles, MemoryRepository

PROBE = "[inbound]\nexten => probe,1,Answer()\n same => n,Hangup()\n"


@pytest.fixture
async def parts():
    files = MemoryFiles({"default.conf": PROBE})
    pbx = FakePbx(files)
    audit = MemoryAudit()
    service = DialplanService(MemoryRepository(), audit, files=files, pbx=pbx, scratch=FakeScratch())
    await service.start()
    return service, files, pbx, audit


async def test_first_start_keeps_what_runs_as_version_1_and_later_starts_write_it_back(parts):
    service, files, pbx, _ = parts
    assert await service.running_id() == 1 and (await service.version(1)).author == "ccserver"
    files.files = {"default.conf": "; the repository's copy"}  # `asterisk up` copied it over
    await service.start()
    assert files.files == {"default.conf": PROBE} and pbx.reloads == 1
    await service.start()  # nothing to do now
    assert pbx.reloads == 1 and len(await service.versions()) == 1


async def test_a_refused_version_is_not_stored_and_never_written(parts):
    service, files, pbx, audit = parts
    for bad in (
        PROBE + "exten => 1,1,Foobar()\n",
        PROBE + "exten => 1,1(a),NoOp()\n same => n(a),NoOp()\n",
        "[inbound]\n",
    ):
        with pytest.raises(DialplanRefused) as error:
            await service.save({"default.conf": bad}, "alice", "")
        assert error.value.status == 422 and error.value.details["problems"]
    assert len(await service.versions()) == 1 and files.writes == 0 and not audit.entries


async def test_guarded_files_never_reach_even_the_scratch_asterisk(parts):
    service, _, _, _ = parts
    report = await service.check({"default.conf": PROBE + "#exec /bin/sh -c id\n"})
    assert [p.rule for p in report.problems] == ["directive"] and service.scratch.loaded == []


async def test_apply_writes_reloads_verifies_probes_and_audits(parts):
    service, files, pbx, audit = parts
    new = PROBE + "exten => 100,1,Answer()\n"
    version, _ = await service.save({"default.conf": new}, "alice", "number 100")
    result = await service.apply(version.id, "alice", "go")
    assert result.applied and files.files == {"default.conf": new} and pbx.probes == ["Local/probe@ccserver-inbound"]
    assert await service.running_id() == version.id
    assert ("alice", "dialplan.apply", "dialplan v2") == audit.entries[-1][:3]
    assert audit.entries[-1][3]["outcome"] == "applied" and audit.entries[-1][3]["previous_version"] == 1


@pytest.mark.parametrize("failure", ["probe", "contexts"])
async def test_a_version_that_does_not_come_up_is_replaced_by_the_previous_files(parts, failure):
    service, files, pbx, audit = parts
    new = PROBE + "[extra]\nexten => 1,1,NoOp()\n"
    version, _ = await service.save({"default.conf": new}, "bob", "")
    if failure == "probe":
        pbx.probe_ok = False
    else:
        pbx.drop = {"extra"}
    result = await service.apply(version.id, "bob")
    assert not result.applied and result.deployment.outcome == "rolled-back"
    assert (
        "health probe" if failure == "probe" else "contexts not loaded after the reload: extra"
    ) in result.deployment.detail
    assert files.files == {"default.conf": PROBE} and pbx.reloads == 2
    assert await service.running_id() == 1
    assert audit.entries[-1][3]["outcome"] == "rolled-back"


async def test_rollback_brings_an_earlier_version_back_and_is_recorded_as_such(parts):
    service, files, _, audit = parts
    version, _ = await service.save({"default.conf": PROBE + "exten => 7,1,NoOp()\n"}, "alice", "")
    await service.apply(version.id, "alice")
    result = await service.rollback(1, "carol", "bad idea")
    assert result.applied and files.files == {"default.conf": PROBE}
    assert (result.deployment.action, result.deployment.previous_version_id, result.deployment.comment) == (
        "rollback",
        2,
        "bad idea",
    )
    assert audit.entries[-1][:3] == ("carol", "dialplan.rollback", "dialplan v1")
    assert [d.action for d in await service.history()] == ["rollback", "apply", "apply"]


async def test_without_a_live_or_scratch_asterisk_nothing_is_applied():
    service = DialplanService(MemoryRepository(), MemoryAudit(), files=None, pbx=None, scratch=None)
    with pytest.raises(DialplanUnavailable):
        await service.check({"default.conf": PROBE})
    with pytest.raises(DialplanUnavailable):
        await service.apply(1, "alice")
