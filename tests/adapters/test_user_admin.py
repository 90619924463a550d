"""User administration on SQLite and PostgreSQL: create, edit (role, team, scopes), disable and
enable, teams, the audit trail with before / after (never a password), the errors naming the
field, and the last active admin kept race-free (two concurrent demotions: one wins)."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime

import pytest

from ccserver.adapters.db.acd import AcdRepository
from ccserver.adapters.db.outbound import OutboundRepository
from ccserver.adapters.db.repositories import AuditLog, SessionRepository, UserRepository
from ccserver.adapters.db.users import UserDirectoryRepository
from ccserver.capabilities.acd.model import QueueDefinition
from ccserver.capabilities.admin.errors import LastAdmin, NoSuchTeam, NoSuchUser
from ccserver.capabilities.admin.model import Scopes, UserEdit
from ccserver.capabilities.admin.service import UserAdminService
from ccserver.core.errors import Conflict, InvalidInput

PASSWORD = "correct horse battery"


def service_of(database) -> UserAdminService:
    return UserAdminService(
        UserRepository(database), SessionRepository(database), AuditLog(database), UserDirectoryRepository(database)
    )


def details(database, action: str, target: str) -> list[dict]:
    return [json.loads(e.details) for e in AuditLog(database).list(action=action, target=target)]


def test_create_edit_scopes_teams_and_audit(database):
    admin = service_of(database)
    acd = AcdRepository(database)
    acd.add_skill("fr")
    acd.save_queue(QueueDefinition("support", "Support"), create=True)
    campaign = OutboundRepository(database).create_campaign("Relance", {}, "boss", datetime.now(UTC))

    admin.create_user("boss", "boss", PASSWORD, "admin", "Boss")
    view, generated = admin.create_user("boss", "sophie", None, "supervisor", "Sophie")
    assert generated and len(generated) >= 16  # shown once, and it works
    assert UserRepository(database).authenticate("sophie", generated) is not None
    assert view.role == "supervisor" and view.active and not view.phone and view.last_login_at is None

    admin.create_team("boss", "Nord")
    admin.create_team("boss", "Sud")
    with pytest.raises(Conflict) as dup:
        admin.create_team("boss", "Nord")
    assert dup.value.details["field"] == "name"

    after = admin.edit_user(
        "boss",
        "sophie",
        UserEdit(scopes=Scopes(frozenset({"Nord"}), frozenset({"support"}), frozenset({str(campaign.id)}))),
    )
    assert after.scopes.to_dict() == {"teams": ["Nord"], "queues": ["support"], "campaigns": [str(campaign.id)]}
    # the campaign is reached as its queue camp-<id>, the way the outbound pages check it
    assert acd.scopes_of("sophie") == ({"support", f"camp-{campaign.id}"}, {"Nord"})

    [edit] = details(database, "user.edit", "sophie")
    assert edit["changes"]["scopes"]["before"] == {"teams": [], "queues": [], "campaigns": []}
    assert edit["changes"]["scopes"]["after"]["queues"] == ["support"]

    # a team renamed follows its supervisors' scopes and its agents
    acd.create_agent("marc", PASSWORD, "Marc", {"fr": 5}, team="")
    admin.edit_user("boss", "marc", UserEdit(team="Nord"))
    assert admin.user("marc").team == "Nord" and admin.user("marc").phone
    assert admin.rename_team("boss", "Nord", "North") == 1
    assert admin.user("marc").team == "North"
    assert admin.user("sophie").scopes.teams == frozenset({"North"})
    assert dict(admin.teams()) == {"North": 1, "Sud": 0}
    with pytest.raises(NoSuchTeam):
        admin.rename_team("boss", "Nowhere", "X")

    # demoting a supervisor drops the scopes (only supervisors have one)
    assert admin.edit_user("boss", "sophie", UserEdit(role="agent")).scopes == Scopes()

    # no password in any audit entry
    for entry in AuditLog(database).list(limit=1000):
        assert PASSWORD not in entry.details and generated not in entry.details
        assert "password_hash" not in entry.details and "scrypt" not in entry.details


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda a: a.create_user("boss", "Bad Name", PASSWORD, "agent"), "username"),
        (lambda a: a.create_user("boss", "newbie", PASSWORD, "king"), "role"),
        (lambda a: a.create_user("boss", "newbie", "", "agent"), "password"),
        (lambda a: a.create_user("boss", "newbie", "short", "agent"), "password"),
        (lambda a: a.create_user("boss", "newbie", "aaaaaaaaaaaa", "agent"), "password"),
        (lambda a: a.create_user("boss", "newbie", PASSWORD, "agent", scopes=Scopes(frozenset({"x"}))), "scopes"),
        (lambda a: a.create_user("boss", "boss", PASSWORD, "agent"), "username"),
        (lambda a: a.edit_user("boss", "sup", UserEdit(scopes=Scopes(frozenset({"ghost"})))), "scopes.teams"),
        (lambda a: a.edit_user("boss", "sup", UserEdit(scopes=Scopes(queues=frozenset({"ghost"})))), "scopes.queues"),
        (
            lambda a: a.edit_user("boss", "sup", UserEdit(scopes=Scopes(campaigns=frozenset({"999"})))),
            "scopes.campaigns",
        ),
        (lambda a: a.edit_user("boss", "sup", UserEdit(role="emperor")), "role"),
        (lambda a: a.edit_user("boss", "sup", UserEdit(team="Nord")), "team"),  # no SIP account yet
        (lambda a: a.edit_user("boss", "nobody", UserEdit(role="agent")), "username"),
        (lambda a: a.create_team("boss", " "), "name"),
        (lambda a: a.new_password("boss", "sup", "1234567"), "password"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(database, call, field):
    admin = service_of(database)
    admin.create_user("boss", "boss", PASSWORD, "admin")
    admin.create_user("boss", "sup", PASSWORD, "supervisor")
    admin.create_team("boss", "Nord")
    before = [u.to_dict() for u in admin.list_users()]
    with pytest.raises((InvalidInput, Conflict, NoSuchUser)) as caught:
        call(admin)
    assert caught.value.details["field"] == field
    assert [u.to_dict() for u in admin.list_users()] == before
    assert UserRepository(database).authenticate("sup", PASSWORD) is not None


def test_disable_keeps_the_name_refuses_login_and_last_admin(database):
    admin = service_of(database)
    admin.create_user("boss", "boss", PASSWORD, "admin")
    admin.create_user("boss", "ann", PASSWORD, "agent")
    token, _csrf = SessionRepository(database).create(UserRepository(database).require("ann").id, 3600)
    assert admin.user("ann").last_login_at is not None  # a session is a login

    assert admin.disable_user("boss", "ann") == 1
    assert SessionRepository(database).lookup(token) is None
    assert UserRepository(database).authenticate("ann", PASSWORD) is None
    assert [u.username for u in admin.list_users()] == ["ann", "boss"]  # still listed, by name
    assert not admin.user("ann").active
    admin.enable_user("boss", "ann")
    assert UserRepository(database).authenticate("ann", PASSWORD) is not None
    [entry] = details(database, "user.disable", "ann")
    assert entry["before"] == {"active": True} and entry["after"] == {"active": False}

    with pytest.raises(LastAdmin) as last:
        admin.disable_user("boss", "boss")
    assert last.value.details["field"] == "active"
    with pytest.raises(LastAdmin) as demoted:
        admin.edit_user("boss", "boss", UserEdit(role="supervisor"))
    assert demoted.value.details["field"] == "role"
    assert admin.user("boss").role == "admin" and admin.user("boss").active
    # with a second admin, either may go
    admin.create_user("boss", "deputy", PASSWORD, "admin")
    admin.disable_user("boss", "boss")
    assert not admin.user("boss").active


def test_two_concurrent_demotions_of_the_last_two_admins_cannot_both_succeed(database, monkeypatch):
    """Each transaction counts the other admins, then writes. The count is slowed down so both
    would see one other admin if they were not serialised: exactly one demotion must pass."""
    admin = service_of(database)
    admin.create_user("cli", "alice", PASSWORD, "admin")
    admin.create_user("cli", "bob", PASSWORD, "admin")
    directory = admin.directory
    counted = directory._require_another_admin

    def slow_count(s, user, what):
        counted(s, user, what)
        time.sleep(0.3)  # widen the window between the check and the write

    monkeypatch.setattr(directory, "_require_another_admin", slow_count)
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def demote(name: str, how: str) -> None:
        start.wait()
        try:
            if how == "role":
                admin.edit_user("cli", name, UserEdit(role="agent"))
            else:
                admin.disable_user("cli", name)
            outcomes[name] = "done"
        except LastAdmin:
            outcomes[name] = "refused"

    threads = [
        threading.Thread(target=demote, args=("alice", "role")),
        threading.Thread(target=demote, args=("bob", "disable")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes.values()) == ["done", "refused"], outcomes
    admins = [u for u in admin.list_users() if u.role == "admin" and u.active]
    assert len(admins) == 1


def test_a_team_given_as_free_text_is_a_team_and_can_be_renamed(database):
    admin = service_of(database)
    AcdRepository(database).create_agent("zoe", PASSWORD, "Zoe", {}, team="legacy")  # as /admin/acd does
    assert admin.teams() == [("legacy", 1)]
    admin.edit_user("boss", "zoe", UserEdit(display_name="Zoé"))  # an edit leaves the team alone
    assert admin.user("zoe").team == "legacy"
    admin.rename_team("boss", "legacy", "Est")
    assert admin.teams() == [("Est", 1)] and admin.user("zoe").team == "Est"


class FlakyQueues:
    """The ACD's side: alice is logged in; the first logout fails (Asterisk away)."""

    def __init__(self) -> None:
        self.logged_in = ["alice", "bruno"]
        self.failures = 1
        self.calls: list[tuple[str, str]] = []

    def logged_in_agents(self) -> list[str]:
        return list(self.logged_in)

    async def logout_everywhere(self, username: str, actor: str, why: str) -> list[str]:
        self.calls.append((username, actor))
        if self.failures:
            self.failures -= 1
            raise RuntimeError("Asterisk is not reachable")
        self.logged_in.remove(username)
        return ["support"]


async def test_a_disable_holds_when_asterisk_is_away_and_the_sweep_logs_the_agent_out(database):
    admin = service_of(database)
    queues = FlakyQueues()
    admin.membership = queues
    for name in ("alice", "bruno"):
        admin.create_user("boss", name, PASSWORD, "agent")
    answer = await admin.disable_and_log_out("boss", "alice")
    assert answer == {"sessions_revoked": 0, "queues_left": [], "queues_pending": True}
    assert not admin.user("alice").active  # disabled all the same
    assert await admin.log_out_disabled_agents() == ["alice"]  # bruno is active: left alone
    assert queues.logged_in == ["bruno"] and queues.calls == [("alice", "boss"), ("alice", "system")]
    assert await admin.log_out_disabled_agents() == []


def test_migration_0012_keeps_scopes_names_agents_teams_and_accepts_campaign_scopes(empty_database):
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    db = empty_database
    db.upgrade(target=11)
    with db.engine.begin() as conn:
        for uid, name, role in ((1, "sup", "supervisor"), (2, "ann", "agent")):
            conn.execute(
                text(
                    "INSERT INTO users (id, username, display_name, password_hash, role, active, created_at)"
                    " VALUES (:id, :name, '', 'x', :role, TRUE, CURRENT_TIMESTAMP)"
                ),
                {"id": uid, "name": name, "role": role},
            )
        conn.execute(
            text(
                "INSERT INTO agents (user_id, sip_username, team, skills, created_at)"
                " VALUES (2, 'ann', 'north', '{}', CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(text("INSERT INTO supervisor_scopes (user_id, kind, value) VALUES (1, 'queue', 'support')"))
        conn.execute(text("INSERT INTO supervisor_scopes (user_id, kind, value) VALUES (1, 'team', 'north')"))
    db.upgrade()
    directory = UserDirectoryRepository(db)
    assert directory.user("sup").scopes == Scopes(frozenset({"north"}), frozenset({"support"}))
    assert directory.teams() == [("north", 1)]
    with db.engine.begin() as conn:
        assert conn.execute(text("SELECT name FROM teams")).scalars().all() == ["north"]
        conn.execute(text("INSERT INTO supervisor_scopes (user_id, kind, value) VALUES (1, 'campaign', '7')"))
    with pytest.raises(IntegrityError), db.engine.begin() as conn:  # the CHECK is still there
        conn.execute(text("INSERT INTO supervisor_scopes (user_id, kind, value) VALUES (1, 'planet', 'x')"))
    with pytest.raises(IntegrityError), db.engine.begin() as conn:  # and the unique constraint
        conn.execute(text("INSERT INTO supervisor_scopes (user_id, kind, value) VALUES (1, 'campaign', '7')"))
    # new rows get new ids after the copied ones (PostgreSQL's identity was not confused)
    AcdRepository(db).give_scope("sup", "queue", "sales")
    assert AcdRepository(db).scopes_of("sup") == ({"support", "sales", "camp-7"}, {"north"})
