"""Reads never take SQLite's write lock.

Every repository read answers while another connection holds the write lock (a long import, the
DB writer flushing a batch): a read that opened a write session (BEGIN IMMEDIATE) would wait for
the busy timeout and fail with "database is locked" — which is how the outbound dialer's tick
failed under load with no campaign defined. Every public repository method is listed here as a
read (called under the lock) or a write, so a new method has to be classified."""

from __future__ import annotations

import inspect
import sqlite3
from datetime import UTC, datetime

import pytest

from ccserver.adapters.db import AuditLog, CallRepository, Database, SessionRepository, UserRepository
from ccserver.adapters.db import database as database_module
from ccserver.adapters.db.acd import AcdRepository
from ccserver.adapters.db.customers import CustomerRepository
from ccserver.adapters.db.erasure import ErasureRepository
from ccserver.adapters.db.ivr import IvrStatsRepository
from ccserver.adapters.db.knowledge import KnowledgeRepository
from ccserver.adapters.db.outbound import OutboundRepository
from ccserver.adapters.db.phones import PhoneRepository
from ccserver.adapters.db.recordings import RecordingFilter, RecordingRepository
from ccserver.adapters.db.users import UserDirectoryRepository
from ccserver.capabilities.audit.model import Filters
from ccserver.capabilities.customers.model import CustomerRow
from ccserver.capabilities.knowledge.model import Tag
from ccserver.core.errors import NotFound

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)

# repository -> {read method: call}
READS = {
    UserRepository: {
        "get": lambda r: r.get(1),
        "get_by_username": lambda r: r.get_by_username("alice"),
        "require": lambda r: r.require("alice"),
        "list": lambda r: r.list(),
        "authenticate": lambda r: r.authenticate("alice", "correct horse"),
        "count": lambda r: r.count(),
        "find_for_login": lambda r: r.find_for_login("alice"),
        "check_password": lambda r: r.check_password(r.find_for_login("alice"), "correct horse"),
    },
    SessionRepository: {"lookup": lambda r: r.lookup("no-such-token"), "live_ids": lambda r: r.live_ids([1, 2])},
    AuditLog: {
        "list": lambda r: r.list(),
        "search": lambda r: r.search(Filters()),
        "count": lambda r: r.count(Filters()),
        "export": lambda r: list(r.export(Filters())),
        "verify": lambda r: r.verify(),
    },
    CallRepository: {"get": lambda r: r.get("1.1"), "list_recent": lambda r: r.list_recent()},
    AcdRepository: {
        "skills": lambda r: r.skills(),
        "pause_reasons": lambda r: r.pause_reasons(),
        "queues": lambda r: r.queues(),
        "queue": lambda r: r.queue("sales"),
        "agent": lambda r: r.agent("alice"),
        "agents": lambda r: r.agents(),
        "sip_accounts": lambda r: r.sip_accounts(),
        "stored_logins": lambda r: r.stored_logins(),
        "timeline": lambda r: r.timeline("alice"),
        "calls": lambda r: r.calls(),
        "call": lambda r: r.call("1.1"),
        "open_calls": lambda r: r.open_calls(),
        "legs_of": lambda r: r.legs_of(["1.1"]),
        "teams": lambda r: r.teams(),
        "scopes_of": lambda r: r.scopes_of("alice"),
        "sip_account_of": lambda r: r.sip_account_of("alice"),
        "callbacks": lambda r: r.callbacks(),
    },
    CustomerRepository: {
        "file_by_phone": lambda r: r.file_by_phone("+33612345678"),
        "file_by_customer_number": lambda r: r.file_by_customer_number("C1"),
        "file": lambda r: r.file(1),
        "search": lambda r: r.search(words=["dupont"]),
        "call_started_at": lambda r: r.call_started_at("1.1"),
        "ticket": lambda r: r.ticket(1),
        "conflicts": lambda r: r.conflicts(
            [CustomerRow(line=2, customer_number="C1", phones=(("+33612345678", "mobile"),))]
        ),
    },
    ErasureRepository: {"customer": lambda r: r.customer(1), "contact_names": lambda r: r.contact_names([612345678])},
    IvrStatsRepository: {"totals": lambda r: r.totals(), "rows": lambda r: r.rows()},
    OutboundRepository: {
        "campaign": lambda r: r.campaign(1),
        "campaigns": lambda r: r.campaigns(),
        "campaign_agents": lambda r: r.campaign_agents(1),
        "campaigns_of_agent": lambda r: r.campaigns_of_agent("alice"),
        "existing_numbers": lambda r: r.existing_numbers(1),
        "wrapup_codes": lambda r: r.wrapup_codes(1),
        "get_import": lambda r: r.get_import(1),
        "imports": lambda r: r.imports(1),
        "contact": lambda r: r.contact(1),
        "contacts": lambda r: r.contacts(1),
        "contacts_by_nsn": lambda r: r.contacts_by_nsn(612345678),
        "contact_counts": lambda r: r.contact_counts(1),
        "campaign_areas": lambda r: r.campaign_areas(1),
        "due_contacts": lambda r: r.due_contacts(1, NOW, ["75"], 10),
        "due_callbacks": lambda r: r.due_callbacks(NOW),
        "campaign_nsns": lambda r: r.campaign_nsns(1),
        "attempt": lambda r: r.attempt(1),
        "attempts_of_contact": lambda r: r.attempts_of_contact(1),
        "attempts": lambda r: r.attempts(1),
        "history": lambda r: r.history([612345678], NOW, []),
        "outcome_counts": lambda r: r.outcome_counts(1),
        "open_attempts": lambda r: r.open_attempts(),
        "decisions_of_contact": lambda r: r.decisions_of_contact(1),
        "iter_decisions": lambda r: list(r.iter_decisions()),
        "consent_entries": lambda r: r.consent_entries(612345678),
        "consent_state": lambda r: r.consent_state([612345678], NOW),
        "recent_consents": lambda r: r.recent_consents(),
        "dnc_members": lambda r: r.dnc_members([612345678]),
        "dnc_list": lambda r: r.dnc_list(),
        "active_bloctel": lambda r: r.active_bloctel(),
        "opposition_lists": lambda r: r.opposition_lists(),
    },
    PhoneRepository: {"lines": lambda r: r.lines(), "line": lambda r: r.line("alice")},
    KnowledgeRepository: {
        "article": lambda r: r.article(1),
        "articles": lambda r: r.articles(Tag("queue", "ventes")),
        "count": lambda r: r.count(),
        "search": lambda r: r.search('"factur"*', "factur:*", Tag("queue", "ventes")),
        "tagged": lambda r: r.tagged((Tag("queue", "ventes"),)),
        "revisions": lambda r: r.revisions(1),
        "revision": lambda r: r.revision(1, 1),
    },
    UserDirectoryRepository: {
        "users": lambda r: r.users(),
        "user": lambda r: r.user("alice"),
        "teams": lambda r: r.teams(),
        "inactive_among": lambda r: r.inactive_among(["alice", "ghost"]),  # every 2 s in the server
        "known_queues": lambda r: r.known_queues(),
        "known_campaigns": lambda r: r.known_campaigns(),
    },
    RecordingRepository: {
        "policy_for_queue": lambda r: r.policy_for_queue("sales"),
        "campaign_policies": lambda r: r.campaign_policies(),
        "queue_policies": lambda r: r.queue_policies(),
        "get": lambda r: r.get(1),
        "for_call": lambda r: r.for_call("1.1"),
        "unfinished": lambda r: r.unfinished(),
        "call": lambda r: r.call("1.1"),
        "search": lambda r: r.search(RecordingFilter()),
        "expired": lambda r: r.expired(NOW),
        "grids": lambda r: r.grids(),
        "grid": lambda r: r.grid(1),
        "evaluation": lambda r: r.evaluation(1),
        "evaluations": lambda r: r.evaluations(),
        "score_rows": lambda r: r.score_rows(),
    },
}

# the methods that write (they may take the write lock); everything else public must be in READS
WRITES = {
    UserRepository: {
        "create_user",
        "set_password",
        "set_language",
        "update",
        "validate_username",
        "validate_role",
        "validate_password",
    },
    SessionRepository: {"create", "delete", "delete_for_user", "purge_expired"},
    AuditLog: {"record", "seal"},
    CallRepository: {"upsert", "upsert_many"},
    AcdRepository: {
        "add_skill",
        "add_pause_reason",
        "save_queue",
        "delete_queue",
        "create_agent",
        "store_login",
        "clear_login",
        "append_states",
        "upsert_calls",
        "upsert_legs",
        "annotate_call",
        "give_scope",
        "add_sip_account",
        "reset_sip_password",
        "add_callback",
        "update_callback",
    },
    CustomerRepository: {
        "create",
        "update",
        "require_customer",
        "save_interaction",
        "insert_ticket",
        "change_ticket",
        "import_rows",
    },
    ErasureRepository: {"erase"},
    IvrStatsRepository: {"add"},
    OutboundRepository: {
        "create_campaign",
        "update_campaign",
        "set_campaign_agents",
        "create_import",
        "commit_import",
        "cancel_import",
        "claim_contact",
        "update_contact",
        "release_expired_reservations",
        "reset_dialing",
        "unblock",
        "set_outside_hours",
        "apply_scrub",
        "create_attempt",
        "update_attempt",
        "end_attempt",
        "store_decisions",
        "link_decision",
        "add_consents",
        "dnc_add",
        "dnc_remove",
        "add_opposition_list",
    },
    PhoneRepository: {"create_phone", "set_phone_password"},
    KnowledgeRepository: {"add", "add_many", "update"},
    UserDirectoryRepository: {"create", "edit", "set_active", "create_team", "rename_team"},
    RecordingRepository: {
        "set_campaign_policy",
        "insert",
        "update",
        "delete",
        "save_grid",
        "add_evaluation",
        "update_evaluation",
    },
}


def _public_methods(cls) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, inspect.isfunction) if not name.startswith("_")}


def test_every_repository_method_is_classified_read_or_write():
    for cls, reads in READS.items():
        unclassified = _public_methods(cls) - set(reads) - WRITES[cls]
        assert not unclassified, f"{cls.__name__}: classify {sorted(unclassified)} as a read or a write"
        assert not set(reads) & WRITES[cls]


@pytest.fixture
def sqlite_db(tmp_path, monkeypatch):
    # a read stuck behind the lock fails in 0.3 s instead of the production 5 s
    monkeypatch.setattr(database_module, "SQLITE_BUSY_TIMEOUT", 0.3)
    db = Database(f"sqlite:///{tmp_path / 'cc.db'}")
    db.upgrade()
    UserRepository(db).create_user("alice", "correct horse", "agent")
    yield db
    db.dispose()


def test_every_read_answers_while_another_connection_holds_the_write_lock(sqlite_db):
    writer = sqlite3.connect(sqlite_db.url.database, isolation_level=None, timeout=0)
    writer.execute("BEGIN IMMEDIATE")  # e.g. a long contact import, the call writer's batch
    writer.execute(
        "INSERT INTO audit_log (at, actor, action, target, details) VALUES ('2026-12-04 09:00:00', 'x', 'x', '', '{}')"
    )
    failures = {}
    try:
        for cls, reads in READS.items():
            repo = cls(sqlite_db)
            for name, call in reads.items():
                try:
                    call(repo)
                except NotFound:
                    pass  # an answer: there is no such row
                except Exception as exc:
                    failures[f"{cls.__name__}.{name}"] = str(exc).splitlines()[0]
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert failures == {}
