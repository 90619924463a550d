"""Secrets at rest (security issue, item 5).

- SIP passwords are stored as digests only (SHA-256 and MD5 of user:ccserver:password), shown
  once at creation or reset; the database and the generated pjsip file never hold them in clear,
  and the real Asterisk accepts the right password (each digest) and refuses a wrong one.
- Generated Asterisk files, the SQLite database and recordings are never world-readable; the
  demo encrypts recordings at rest and still plays them.
- The AMI user has no `command` (CLI) nor `config` class; the private Asterisk runs as an
  unprivileged user of its own whose uid no host account has.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import pwd
import re
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from ccserver.adapters.db.acd import AcdRepository
from ccserver.adapters.db.database import Database, default_sql_dir
from ccserver.adapters.db.repositories import AuditLog
from ccserver.adapters.web.keys import RUNTIME
from ccserver.capabilities.acd.model import QueueDefinition, sip_password_digests
from ccserver.capabilities.acd.service import AcdService
from ccserver.capabilities.agents.model import AgentBoard
from ccserver.capabilities.calls.model import CallTracker
from ccserver.commands.demo import demo_settings
from ccserver.core import events as ev
from ccserver.core.clock import ManualClock
from ccserver.core.errors import PbxCommandFailed
from ccserver.settings import Settings
from tests.adapters.test_acd_service import FakeWriter
from tests.fakes import FakePbx
from tests.integration.conftest import asterisk  # noqa: F401  (the shared real Asterisk)
from tests.support.db import database, db_url, empty_database  # noqa: F401
from tests.support.server import Server, endpoint_of, until
from tests.support.sip_digest import register
from tests.support.sipp import SippCaller, SippError, SippPhone
from tests.web.conftest import csrf_of, login, web_app  # noqa: F401

PASSWORD = "password-1234"


def every_text_value(db: Database) -> list[str]:
    """Every value of every column of every table, as text: where a leaked secret would be."""
    values = []
    with db.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                values += [str(v) for v in row if v is not None]
    return values


def not_world_readable(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) & 0o007 == 0


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- SIP passwords: digests only ---------------------------------------------------------------


async def test_agent_sip_password_is_shown_once_and_only_its_digests_are_stored(database):
    clock = ManualClock(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))
    repo = AcdRepository(database, clock)
    repo.add_skill("fr")
    writer = FakeWriter()
    service = AcdService(
        repo, AgentBoard(clock), CallTracker(clock), FakePbx(), writer, AuditLog(database, clock), clock
    )
    created = await service.create_agent("alice", PASSWORD, "Alice", "fr:5", actor="admin")
    shown = created.sip_password
    assert len(shown) >= 16  # shown to the admin at creation
    assert repo.agent("alice").sip_password == ""  # never read back
    assert dict(repo.agent("alice").sip_digests) == sip_password_digests("alice", shown)
    assert "sip_password" not in {c["name"] for c in inspect(database.engine).get_columns("agents")}
    assert not any(shown in value for value in every_text_value(database))

    conf = writer.files["pjsip_agents.conf"]
    assert shown not in conf and not re.search(r"^\s*password\s*=", conf, re.M)
    digests = sip_password_digests("alice", shown)
    assert f"password_digest = SHA-256:{digests['SHA-256']}" in conf
    assert f"password_digest = MD5:{digests['MD5']}" in conf
    assert "realm = ccserver" in conf and "auth_type = digest" in conf

    # a reset shows a new one once; the old digests are gone
    reset = await service.reset_sip_password("alice", actor="admin")
    assert reset.sip_password and reset.sip_password != shown
    assert dict(repo.agent("alice").sip_digests) == sip_password_digests("alice", reset.sip_password)
    values = every_text_value(database)
    assert not any(reset.sip_password in v or digests["MD5"] in v for v in values)
    assert digests["MD5"] not in writer.files["pjsip_agents.conf"]


def test_upgrade_turns_stored_clear_sip_passwords_into_digests_and_drops_them(db_url):
    db = Database(db_url, migrations_dir=default_sql_dir() / "migrations")
    try:
        db.upgrade(target=8)  # a database of the previous version, with clear SIP passwords
        now = datetime(2026, 12, 4, 9, 0)
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (username, password_hash, role, display_name, active,"
                    " created_at) VALUES ('bruno', 'x', 'agent', 'Bruno', TRUE, :now)"
                ),
                {"now": now},
            )
            user_id = conn.execute(text("SELECT id FROM users WHERE username = 'bruno'")).scalar()
            conn.execute(
                text(
                    "INSERT INTO agents (user_id, sip_username, sip_password, team, skills,"
                    " created_at) VALUES (:u, 'bruno', 'Clear-Sip-Pass-Été', '', '{}', :now)"
                ),
                {"u": user_id, "now": now},
            )
        db.upgrade()
        account = AcdRepository(db).agent("bruno")
        assert dict(account.sip_digests) == sip_password_digests("bruno", "Clear-Sip-Pass-Été")
        assert account.sip_digests["MD5"] == hashlib.md5("bruno:ccserver:Clear-Sip-Pass-Été".encode()).hexdigest()
        assert "sip_password" not in {c["name"] for c in inspect(db.engine).get_columns("agents")}
        assert not any("Clear-Sip-Pass" in v for v in every_text_value(db))
    finally:
        db.dispose()


@pytest.mark.asterisk
async def test_real_asterisk_accepts_each_digest_of_the_right_password_and_refuses_a_wrong_one(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        await until(srv.ok, 20, "ccserver healthy")
        account = await srv.runtime.acd.create_agent("sipsec", PASSWORD, "Sip Sec", {}, "admin")
        user, password = account.sip_username, account.sip_password
        conf = (asterisk.instance_dir / "etc" / "pjsip_agents.conf").read_text()
        assert password not in conf and f"username = {user}" in conf
        info = asterisk.info
        # each stored digest, answered by a client that picks the algorithm
        for algorithm in ("SHA-256", "MD5"):
            result = await asyncio.to_thread(register, "127.0.0.1", info.sip_port, user, password, algorithm)
            assert result.offered == ("SHA-256", "MD5")  # most preferred first (RFC 8760)
            assert (result.answered_with, result.status) == (algorithm, 200)
            wrong = await asyncio.to_thread(register, "127.0.0.1", info.sip_port, user, password + "x", algorithm)
            assert (wrong.answered_with, wrong.status) == (algorithm, 401)
        # a softphone (sipp) registers with the right password, is refused with a wrong one
        async with SippPhone(asterisk, user, password) as phone:
            assert phone.registered_at is not None
        with pytest.raises(SippError) as refused:
            async with SippPhone(asterisk, user, "Wrong-password-123"):
                pass
        assert refused.value.details["status"] == "401"


def test_demo_prints_sip_passwords_that_match_the_stored_digests_at_every_start(tmp_path):
    from ccserver.commands import demo

    settings = Settings().replace({"storage.data_dir": tmp_path})
    first = demo.seed_demo(settings).logins["alice"]["sip_password"]
    assert mode(tmp_path / "demo-logins.json") == 0o600  # the demo's own file, owner only
    db = Database(settings.storage.effective_database_url)
    try:
        stored = lambda: dict(AcdRepository(db).agent("alice").sip_digests)
        assert stored() == sip_password_digests("alice", first)
        assert not any(first in value for value in every_text_value(db))
        assert demo.seed_demo(settings).logins["alice"]["sip_password"] == first  # same at restart
        # the supervisor has a phone too (listen / whisper / barge), printed the same way
        supervisor = demo.seed_demo(settings).logins["superviseur"]
        assert dict(AcdRepository(db).agent("superviseur").sip_digests) == sip_password_digests(
            supervisor["sip_username"], supervisor["sip_password"]
        )
        (tmp_path / "demo-logins.json").unlink()  # lost: a new password, printed and applied
        again = demo.seed_demo(settings).logins["alice"]["sip_password"]
        assert again != first and stored() == sip_password_digests("alice", again)
    finally:
        db.dispose()


async def test_api_shows_a_sip_password_only_at_creation_and_reset(web_app):
    runtime = web_app.app[RUNTIME]
    admin = await login(web_app, "admin1")
    headers = {"X-CSRF-Token": await csrf_of(admin)}
    resp = await admin.post(
        "/api/agents", json={"username": "zoe", "password": PASSWORD, "display_name": "Zoé"}, headers=headers
    )
    assert resp.status == 201
    created = (await resp.json())["sip_password"]
    assert dict(runtime.acd_repo.agent("zoe").sip_digests) == sip_password_digests("zoe", created)
    # the admin page lists the account without any password and offers a new one
    page = await (await admin.get("/admin/acd")).text()
    assert created not in page and 'action="/admin/acd/agents/zoe/sip-password"' in page
    resp = await admin.post("/api/agents/zoe/sip-password", headers=headers)
    assert resp.status == 200
    reset = (await resp.json())["sip_password"]
    assert reset != created
    assert dict(runtime.acd_repo.agent("zoe").sip_digests) == sip_password_digests("zoe", reset)
    assert [e.target for e in runtime.audit.list(action="agent.sip_password_reset")] == ["zoe"]
    # the agent reads their SIP user, never a password; a forgotten one is replaced, shown once
    agent = await login(web_app, "zoe", PASSWORD)
    mine = await (await agent.get("/api/agent/sip-account")).json()
    assert mine == {"sip_username": "zoe", "realm": "ccserver"}
    resp = await agent.post("/api/agent/sip-account/reset", headers={"X-CSRF-Token": await csrf_of(agent)})
    own = (await resp.json())["sip_password"]
    assert resp.status == 200 and own not in (created, reset)
    assert dict(runtime.acd_repo.agent("zoe").sip_digests) == sip_password_digests("zoe", own)
    # nobody else resets it
    other = await login(web_app, "supervisor1")
    resp = await other.post("/api/agents/zoe/sip-password", headers={"X-CSRF-Token": await csrf_of(other)})
    assert resp.status == 403
    for client in (admin, agent, other):
        await client.close()


# --- files at rest ---------------------------------------------------------------------------------


@pytest.mark.asterisk
async def test_generated_asterisk_files_and_the_database_are_not_world_readable(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        await until(srv.ok, 20, "ccserver healthy")
        await srv.runtime.acd.create_agent("modes", PASSWORD, "Modes", {}, "admin")
        etc = asterisk.instance_dir / "etc"
        for name in ("pjsip_agents.conf", "manager.conf", "ari.conf", "http.conf", "pjsip.conf", "asterisk.conf"):
            assert not_world_readable(etc / name), (name, oct(mode(etc / name)))
        assert mode(asterisk.instance_dir / "instance.json") == 0o600
        for directory in (asterisk.instance_dir, etc, asterisk.info.recordings_dir):
            assert not_world_readable(directory), (directory, oct(mode(directory)))
        db_file = Path(srv.settings.storage.effective_database_url.split("///", 1)[1])
        files = [db_file, *(db_file.with_name(db_file.name + s) for s in ("-wal", "-shm"))]
        assert all(f.exists() for f in files)
        assert [oct(mode(f)) for f in files] == [oct(0o600)] * 3


def test_an_older_world_readable_database_is_narrowed_to_its_owner(tmp_path):
    path = tmp_path / "old.db"
    path.write_bytes(b"")
    os.chmod(path, 0o644)
    db = Database(f"sqlite:///{path}")
    try:
        db.upgrade()
        assert mode(path) == 0o600
    finally:
        db.dispose()


@pytest.mark.asterisk
async def test_demo_recording_is_private_on_disk_encrypted_at_rest_and_still_plays(asterisk, tmp_path):
    settings = demo_settings(Settings().replace({"storage.data_dir": tmp_path}))
    key_file = tmp_path / "recording.key"
    assert mode(key_file) == 0o600 and settings.recording.encryption_key
    assert (
        demo_settings(Settings().replace({"storage.data_dir": tmp_path})).recording.encryption_key
        == settings.recording.encryption_key
    )  # the same key at the next start
    async with Server(
        tmp_path,
        endpoint_of(asterisk.info),
        config_writer=asterisk,
        recording={"encryption_key": settings.recording.encryption_key},
    ) as srv:
        runtime = srv.runtime
        await until(srv.ok, 20, "ccserver healthy")
        await runtime.acd.create_queue(
            QueueDefinition(
                name="secrec",
                numbers=("7301",),
                holidays="",
                announce_position=False,
                announce_holdtime=False,
                recording_policy="always",
            ),
            "admin",
        )
        account = await runtime.acd.create_agent("recsec", PASSWORD, "Rec Sec", {}, "admin")
        runtime.users.create_user("supsec", PASSWORD, role="supervisor", display_name="Sup")
        runtime.acd_repo.give_scope("supsec", "queue", "secrec")
        spool = asterisk.info.recordings_dir
        seen: dict[str, int] = {}
        async with SippPhone(asterisk, account.sip_username, account.sip_password):
            await runtime.acd.login("recsec")
            await until(lambda: runtime.agent_board.agents["recsec"].state.value == "available", 5)
            caller = SippCaller(asterisk, "7301", "0612345678", talk_seconds=4)
            await caller.start()
            await caller.wait_answered(10)

            def spool_file_mode():  # the WAV Asterisk's MixMonitor is writing, while it writes
                live = runtime.recording.current("recsec")
                path = spool / live.spool_name if live and live.spool_name else None
                if path is not None and path.exists():
                    seen[path.name] = mode(path)
                return bool(seen)

            await until(spool_file_mode, 5, "MixMonitor's file in the spool")
            result = await caller.wait(30)
        assert result.answered
        # MixMonitor creates 0666 minus Asterisk's umask (027): owner and group only
        assert set(seen.values()) == {0o640}, {n: oct(m) for n, m in seen.items()}

        uniqueid = next(e.uniqueid for e in srv.events if isinstance(e, ev.AgentConnected))
        rows = await until(
            lambda: [r for r in runtime.recording.repo.for_call(uniqueid) if r.status in ("stored", "failed", "empty")],
            10,
            "the stored recording",
        )
        row = rows[0]
        assert row.status == "stored" and row.encrypted, row.error
        stored = runtime.recording.store.store_dir / row.path
        assert stored.read_bytes()[:4] != b"RIFF"  # encrypted at rest
        assert mode(stored) == 0o640 and mode(stored.parent) == 0o750
        sup = await srv.login("supsec", PASSWORD)
        resp = await sup.get(f"/recordings/{row.id}/audio")
        body = await resp.read()
        assert resp.status == 200 and body[:4] == b"RIFF" and len(body) == row.size_bytes
        await sup.close()


# --- AMI classes and Asterisk's user ---------------------------------------------------------------


@pytest.mark.asterisk
async def test_ami_user_has_no_cli_nor_config_rights_and_asterisk_runs_unprivileged(asterisk, tmp_path):
    manager = (asterisk.instance_dir / "etc" / "manager.conf").read_text()
    read = set(re.search(r"^read = (.*)$", manager, re.M).group(1).split(","))
    write = set(re.search(r"^write = (.*)$", manager, re.M).group(1).split(","))
    assert read == {"system", "call", "agent", "user"}
    assert write == {"system", "call", "agent", "originate", "reporting"}
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        await until(srv.ok, 20, "ccserver healthy")
        ami = srv.runtime.pbx.ami
        # the CLI (which can load modules, originate anything...) and rewriting config files are
        # refused (GetConfig stays: its class is system OR config, and MixMonitor needs system;
        # ShowDialPlan stays too, read-only through `reporting`, to verify a dialplan apply)
        for action in (
            {"Action": "Command", "Command": "core show uptime"},
            {"Action": "UpdateConfig", "SrcFilename": "manager.conf", "DstFilename": "manager.conf"},
        ):
            with pytest.raises(PbxCommandFailed) as refused:
                await ami.send(action)
            assert "permission denied" in refused.value.message.lower()
        await ami.reload("pbx_config.so")  # what ccserver needs still works

    pid = asterisk.pid()
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    uid, gid = int(status["Uid"].split()[0]), int(status["Gid"].split()[0])
    assert uid != 0 and gid != 0
    user = asterisk.run_user
    assert (uid, gid) == (user.uid, user.gid)
    if asterisk.environment.mode == "chroot":
        with pytest.raises(KeyError):  # no host account has that uid (a chroot shares the host's)
            pwd.getpwuid(uid)
