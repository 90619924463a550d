"""Two admins applying dialplans at the same moment, from two processes (the server and
`ccserver dialplan`), take turns: the lock is held by one process at a time around the whole
apply (check, write, reload, verify, probe, roll back), on SQLite and PostgreSQL; the second
waits for the first, or is refused with a clear message when it waited too long, nothing
changed. A process that dies holding the lock does not keep it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time

import pytest

from ccserver.adapters.db.database import Database
from ccserver.adapters.db.dialplans import DIALPLAN_APPLY_LOCK, DialplanRepository
from ccserver.adapters.db.locks import DatabaseLock
from ccserver.capabilities.dialplans.errors import DialplanBusy
from ccserver.capabilities.dialplans.service import DialplanService
from tests.fakes.dialplans import FakePbx, FakeScratch, MemoryAudit, MemoryFiles

PROBE = "[inbound]\nexten => probe,1,Answer()\n same => n,Hangup()\n"

OTHER_PROCESS = textwrap.dedent("""\
    import sys, time
    from ccserver.adapters.db.database import Database
    from ccserver.adapters.db.locks import DatabaseLock
    url, mode = sys.argv[1], sys.argv[2]
    lock = DatabaseLock(Database(url), "dialplan-apply")
    got = lock.try_acquire()
    print("taken" if got else "busy", flush=True)
    if mode == "hold" and got:
        time.sleep(600)  # until the test kills it
""")


def url_of(database: Database) -> str:
    return database.url.render_as_string(hide_password=False)


def other_process(database: Database, mode: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS, url_of(database), mode], stdout=subprocess.PIPE, text=True
    )


def test_one_process_at_a_time_and_a_dead_holder_keeps_nothing(database):
    ours = DatabaseLock(database, DIALPLAN_APPLY_LOCK)
    assert ours.try_acquire()
    assert not ours.try_acquire()  # not re-entrant: a second apply in this process waits too
    probe = other_process(database, "try")
    assert probe.communicate(timeout=60)[0].strip() == "busy"
    ours.release()
    holder = other_process(database, "hold")
    try:
        assert holder.stdout.readline().strip() == "taken"
        assert not ours.try_acquire()
    finally:
        holder.kill()
        holder.wait(timeout=30)
    # the kernel (SQLite's flock) or the server (PostgreSQL's session lock) let it go with the
    # process; PostgreSQL notices the closed connection shortly after: wait on the lock itself
    for _ in range(100):
        if ours.try_acquire():
            break
        time.sleep(0.1)  # polling the lock itself: it has no event to wait on
    assert ours.held
    ours.release()


class SlowProbePbx(FakePbx):
    """The live Asterisk whose health probe answers only when the test says so."""

    def __init__(self, files: MemoryFiles) -> None:
        super().__init__(files)
        self.probing = asyncio.Event()
        self.answer = asyncio.Event()

    async def probe(self, channel, timeout):
        self.probing.set()
        await self.answer.wait()
        return await super().probe(channel, timeout)


def service_on(url: str, files: MemoryFiles, pbx: FakePbx, *, lock_wait: float = 60.0):
    """A dialplan service as one process builds it: its own connection pool, the shared lock."""
    db = Database(url)
    service = DialplanService(
        DialplanRepository(db),
        MemoryAudit(),
        files=files,
        pbx=pbx,
        scratch=FakeScratch(),
        apply_lock=DatabaseLock(db, DIALPLAN_APPLY_LOCK),
        lock_wait=lock_wait,
    )
    return service, db


async def test_the_second_apply_waits_for_the_first_or_is_refused_nothing_changed(database):
    url = url_of(database)
    files = MemoryFiles({"default.conf": PROBE})
    server_pbx, cli_pbx = SlowProbePbx(files), FakePbx(files)
    server, server_db = service_on(url, files, server_pbx)
    cli, cli_db = service_on(url, files, cli_pbx)
    impatient, impatient_db = service_on(url, files, FakePbx(files), lock_wait=0.5)
    try:
        await server.start()
        mine = PROBE + "exten => 100,1,Answer()\n"
        theirs = PROBE + "exten => 200,1,Answer()\n"
        v_server, _ = await server.save({"default.conf": mine}, "alice", "100")
        v_cli, _ = await cli.save({"default.conf": theirs}, "bob", "200")

        first = asyncio.create_task(server.apply(v_server.id, "alice"))
        await asyncio.wait_for(server_pbx.probing.wait(), 10)  # alice's apply is probing
        second = asyncio.create_task(cli.apply(v_cli.id, "bob"))
        writes = files.writes
        with pytest.raises(DialplanBusy) as refused:
            await impatient.apply(v_cli.id, "carol")
        assert refused.value.status == 409 and "another apply or rollback" in refused.value.message
        assert "nothing was changed" in refused.value.message
        # while alice's apply runs, bob's has written nothing and reloaded nothing
        assert files.writes == writes and files.files == {"default.conf": mine} and cli_pbx.reloads == 0
        assert not second.done()

        server_pbx.answer.set()
        assert (await asyncio.wait_for(first, 10)).applied
        assert (await asyncio.wait_for(second, 10)).applied  # then bob's, on top of alice's
        assert files.files == {"default.conf": theirs} and cli_pbx.reloads == 1
        history = await cli.history()
        assert [(d.actor, d.version_id, d.previous_version_id, d.outcome) for d in history[:2]] == [
            ("bob", v_cli.id, v_server.id, "applied"),
            ("alice", v_server.id, 1, "applied"),
        ]
        assert all(d.actor != "carol" for d in history)  # the refused one left no deployment
    finally:
        for db in (server_db, cli_db, impatient_db):
            db.dispose()
