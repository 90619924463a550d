"""Repositories on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import StatementError

from ccserver.adapters.db import AuditLog, CallRepository, NoSuchUser, SessionRepository, UserRepository
from ccserver.adapters.db.tables import User
from ccserver.core.clock import ManualClock
from ccserver.core.errors import Conflict, InvalidInput
from ccserver.core.passwords import hash_password

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def users(database, clock) -> UserRepository:
    return UserRepository(database, clock)


@pytest.fixture
def sessions(database, clock) -> SessionRepository:
    return SessionRepository(database, clock)


# --- users -----------------------------------------------------------------------------------------


def test_create_user_then_authenticate(users):
    created = users.create_user("alice", "correct horse", "supervisor", "Alice Martin")
    assert created.id is not None and created.created_at == T0
    assert created.password_hash.startswith("scrypt$") and "correct horse" not in created.password_hash
    user = users.authenticate("alice", "correct horse")
    assert (user.id, user.username, user.role, user.display_name, user.active) == (
        created.id,
        "alice",
        "supervisor",
        "Alice Martin",
        True,
    )
    assert users.get_by_username("alice").id == created.id
    assert users.get(created.id).username == "alice"


def test_wrong_password_or_unknown_user_is_refused(users):
    users.create_user("alice", "correct horse")
    assert users.authenticate("alice", "wrong horse") is None
    assert users.authenticate("bob", "correct horse") is None
    assert users.authenticate("alice", "") is None


def test_unknown_user_takes_as_long_as_wrong_password(users):
    users.create_user("alice", "correct horse")
    users.authenticate("nobody", "x")  # warm the dummy hash

    def timed(username: str) -> float:
        started = time.perf_counter()
        users.authenticate(username, "wrong horse")
        return time.perf_counter() - started

    # interleaved, the least of five each: other processes on the machine only ever add time,
    # so a burst of load during the three "alice" tries no longer makes "nobody" look fast
    pairs = [(timed("alice"), timed("nobody")) for _ in range(5)]
    known = min(k for k, _ in pairs)
    unknown = min(u for _, u in pairs)
    assert unknown > known * 0.5  # both pay for one scrypt verification


def test_disabled_user_cannot_log_in(users):
    users.create_user("alice", "correct horse")
    users.update("alice", active=False)
    assert users.authenticate("alice", "correct horse") is None
    assert [u.username for u in users.list(include_inactive=False)] == []
    assert [u.username for u in users.list()] == ["alice"]


def test_duplicate_username_is_a_conflict(users):
    users.create_user("alice", "correct horse")
    with pytest.raises(Conflict) as caught:
        users.create_user("alice", "another password", "admin")
    assert caught.value.details["field"] == "username"
    assert users.count() == 1


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"username": "Alice"}, "username"),
        ({"username": "a"}, "username"),
        ({"username": "a" * 33}, "username"),
        ({"username": "al ice"}, "username"),
        ({"username": "alice\n"}, "username"),
        ({"role": "boss"}, "role"),
        ({"password": "short"}, "password"),
        ({"password": "x" * 2000}, "password"),
        ({"display_name": "x" * 101}, "display_name"),
    ],
)
def test_invalid_user_is_refused_naming_the_field(users, kwargs, field):
    args = {"username": "alice", "password": "correct horse", "role": "agent", "display_name": ""} | kwargs
    with pytest.raises(InvalidInput) as caught:
        users.create_user(**args)
    assert caught.value.details["field"] == field
    assert users.count() == 0


def test_valid_usernames_are_accepted(users):
    for name in ("ab", "agent.007", "jean-luc_p", "x" * 32):
        users.create_user(name, "correct horse")
    assert users.count() == 4


def test_set_password_replaces_the_old_one(users):
    users.create_user("alice", "correct horse")
    users.set_password("alice", "battery staple")
    assert users.authenticate("alice", "correct horse") is None
    assert users.authenticate("alice", "battery staple").username == "alice"
    with pytest.raises(InvalidInput):
        users.set_password("alice", "short")
    with pytest.raises(NoSuchUser):
        users.set_password("bob", "battery staple")


def test_old_hash_is_upgraded_on_login(users, database):
    users.create_user("alice", "correct horse")
    weak = hash_password("correct horse", n=2**10)
    with database.session() as session:
        user = session.get(User, users.get_by_username("alice").id)
        user.password_hash = weak
        session.add(user)
    assert users.authenticate("alice", "correct horse") is not None
    assert users.get_by_username("alice").password_hash != weak
    assert users.authenticate("alice", "correct horse") is not None


def test_update_role_and_list_by_role(users):
    users.create_user("bob", "correct horse")
    users.create_user("alice", "correct horse")
    users.update("bob", role="supervisor", display_name="Bob")
    assert [(u.username, u.role) for u in users.list()] == [("alice", "agent"), ("bob", "supervisor")]
    assert [u.username for u in users.list(role="supervisor")] == ["bob"]
    with pytest.raises(InvalidInput):
        users.update("bob", role="root")
    with pytest.raises(NoSuchUser):
        users.require("carol")


# --- web sessions ----------------------------------------------------------------------------------


def test_session_lookup_returns_user_and_session(users, sessions):
    alice = users.create_user("alice", "correct horse", "admin")
    token, csrf = sessions.create(alice.id, timedelta(hours=8))
    assert token != csrf and len(token) >= 40
    user, web_session = sessions.lookup(token)
    assert user.username == "alice" and user.role == "admin"
    assert web_session.csrf_token == csrf
    assert web_session.expires_at == T0 + timedelta(hours=8)
    assert web_session.token_hash != token  # only a hash is stored


def test_unknown_token_finds_nothing(users, sessions):
    alice = users.create_user("alice", "correct horse")
    sessions.create(alice.id, 60)
    assert sessions.lookup("forged") is None
    assert sessions.lookup("") is None


def test_session_expires(users, sessions, clock):
    alice = users.create_user("alice", "correct horse")
    token, _ = sessions.create(alice.id, 3600)
    clock.advance(seconds=3599)
    assert sessions.lookup(token) is not None
    clock.advance(seconds=1)
    assert sessions.lookup(token) is None


def test_lookup_slides_last_seen_and_optionally_expiry(users, sessions, clock):
    alice = users.create_user("alice", "correct horse")
    token, _ = sessions.create(alice.id, 3600)
    clock.advance(seconds=10)
    assert sessions.lookup(token)[1].last_seen_at == T0  # not rewritten on every request
    clock.advance(seconds=SessionRepository.touch_interval.total_seconds())
    assert sessions.lookup(token)[1].last_seen_at == clock.now()
    clock.advance(seconds=3000)
    _, web_session = sessions.lookup(token, extend=timedelta(hours=1))
    assert web_session.expires_at == clock.now() + timedelta(hours=1)
    clock.advance(seconds=3599)
    assert sessions.lookup(token) is not None


def test_delete_and_purge(users, sessions, clock):
    alice = users.create_user("alice", "correct horse")
    bob = users.create_user("bob", "correct horse")
    short, _ = sessions.create(alice.id, 60)
    long, _ = sessions.create(alice.id, 7200)
    bobs, _ = sessions.create(bob.id, 7200)
    assert sessions.delete(long) is True
    assert sessions.delete(long) is False
    assert sessions.lookup(long) is None
    clock.advance(seconds=61)
    assert sessions.purge_expired() == 1
    assert sessions.delete(short) is False
    assert sessions.delete_for_user(bob.id) == 1
    assert sessions.lookup(bobs) is None


def test_disabled_user_session_is_refused(users, sessions):
    alice = users.create_user("alice", "correct horse")
    token, _ = sessions.create(alice.id, 3600)
    users.update("alice", active=False)
    assert sessions.lookup(token) is None


def test_deleting_user_deletes_sessions(users, sessions, database):
    alice = users.create_user("alice", "correct horse")
    token, _ = sessions.create(alice.id, 3600)
    with database.session() as session:
        session.delete(session.get(User, alice.id))
    assert sessions.lookup(token) is None
    assert sessions.purge_expired() == 0


def test_naive_datetime_is_refused(users, database):
    alice = users.create_user("alice", "correct horse")

    class NaiveClock:  # a bug in the caller: local time without a zone
        def now(self) -> datetime:
            return datetime(2025, 3, 1, 9, 0)

    with pytest.raises(StatementError, match="naive datetime"):
        SessionRepository(database, NaiveClock()).create(alice.id, 60)


# --- audit log ---------------------------------------------------------------------------------------


def test_audit_log_records_and_filters(database, clock):
    audit = AuditLog(database, clock)
    audit.record("alice", "user.create", "bob", role="agent")
    clock.advance(minutes=1)
    audit.record("alice", "queue.pause", "sales", agent="bob", when=T0)
    clock.advance(minutes=1)
    audit.record("system", "user.create", "carol")

    entries = audit.list()
    assert [(e.actor, e.action, e.target) for e in entries] == [
        ("system", "user.create", "carol"),
        ("alice", "queue.pause", "sales"),
        ("alice", "user.create", "bob"),
    ]
    assert entries[2].details_dict == {"role": "agent"}
    assert entries[1].details_dict == {"agent": "bob", "when": str(T0)}
    assert entries[0].at == T0 + timedelta(minutes=2)
    assert [e.target for e in audit.list(action="user.create")] == ["carol", "bob"]
    assert [e.target for e in audit.list(actor="alice", limit=1)] == ["sales"]
    assert [e.target for e in audit.list(target="bob")] == ["bob"]
    assert [e.target for e in audit.list(since=T0 + timedelta(minutes=1))] == ["carol", "sales"]
    assert [e.target for e in audit.list(until=T0 + timedelta(minutes=1))] == ["bob"]
    assert [e.target for e in audit.list(limit=1, offset=1)] == ["sales"]


# --- calls -------------------------------------------------------------------------------------------


def test_call_upsert_inserts_then_updates_given_fields(database, clock):
    calls = CallRepository(database, clock)
    call = calls.upsert(
        "1700000000.1",
        linkedid="1700000000.1",
        channel="PJSIP/trunk-00000001",
        caller_number="+33612345678",
        direction="inbound",
        queue="sales",
    )
    assert call.id is not None and call.created_at == T0 and call.answered_at is None
    clock.advance(seconds=12)
    call = calls.upsert("1700000000.1", agent="alice", answered_at=clock.now())
    assert (call.queue, call.agent, call.answered_at, call.created_at) == (
        "sales",
        "alice",
        T0 + timedelta(seconds=12),
        T0,
    )
    call = calls.upsert("1700000000.1")  # nothing to change
    assert call.agent == "alice"
    clock.advance(seconds=60)
    calls.upsert("1700000000.1", ended_at=clock.now(), outcome="answered", hangup_cause=16)
    assert calls.get("1700000000.1").hangup_cause == 16
    assert calls.get("nope") is None


def test_call_upsert_many_in_one_transaction(database, clock):
    calls = CallRepository(database, clock)
    assert (
        calls.upsert_many(
            [
                {"uniqueid": "1.1", "queue": "sales"},
                {"uniqueid": "1.2", "queue": "support"},
                {"uniqueid": "1.1", "agent": "bob"},
            ]
        )
        == 3
    )
    assert [(c.uniqueid, c.queue, c.agent) for c in calls.list_recent()] == [
        ("1.2", "support", None),
        ("1.1", "sales", "bob"),
    ]
    assert [c.uniqueid for c in calls.list_recent(queue="sales")] == ["1.1"]
    assert [c.uniqueid for c in calls.list_recent(agent="bob")] == ["1.1"]
    with pytest.raises(InvalidInput) as caught:
        calls.upsert_many([{"uniqueid": "1.3"}, {"uniqueid": "1.4", "colour": "red"}])
    assert caught.value.details["field"] == "colour"
    assert calls.get("1.3") is None  # the whole batch rolled back
    with pytest.raises(InvalidInput):
        calls.upsert("", queue="sales")


def test_call_value_too_long_is_refused_on_both(database):
    calls = CallRepository(database)
    with pytest.raises(InvalidInput) as caught:
        calls.upsert("1.1", channel="PJSIP/" + "x" * 300)
    assert caught.value.details["field"] == "channel"
    with pytest.raises(InvalidInput):
        calls.upsert("9" * 65)
    assert calls.list_recent() == []
