"""The dialplan versions and deployments on SQLite and PostgreSQL: every version kept whole with
author, time and comment; the running version is the last one applied (not refused, not rolled
back by itself); the history newest first."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccserver.adapters.db.dialplans import DialplanRepository
from ccserver.capabilities.dialplans.errors import NoSuchVersion
from ccserver.core.clock import ManualClock


def test_versions_and_deployments_round_trip(database):
    clock = ManualClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    repo = DialplanRepository(database, clock)
    assert repo.versions() == [] and repo.deployments() == [] and repo.running_version_id() is None

    text = "[inbound]\nexten => probe,1,Answer()\n ; é ${X}\n"
    v1 = repo.add_version({"default.conf": text, "b.conf": ""}, "alice", "first")
    clock.advance(minutes=5)
    v2 = repo.add_version({"default.conf": text + "exten => 1,1,NoOp()\n"}, "bob", "")
    assert v2.id > v1.id
    again = repo.version(v1.id)
    assert again.files == {"default.conf": text, "b.conf": ""}
    assert (again.author, again.comment, again.created_at) == ("alice", "first", datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    assert [v.id for v in repo.versions()] == [v2.id, v1.id]

    repo.add_deployment(actor="alice", action="apply", version_id=v1.id, previous_version_id=None, outcome="applied")
    assert repo.running_version_id() == v1.id
    repo.add_deployment(
        actor="bob", action="apply", version_id=v2.id, previous_version_id=v1.id, outcome="rolled-back",
        detail="health probe: not answered", seconds=1.25,
    )  # fmt: skip
    repo.add_deployment(actor="bob", action="apply", version_id=v2.id, previous_version_id=v1.id, outcome="refused")
    assert repo.running_version_id() == v1.id  # neither moved it
    d = repo.add_deployment(
        actor="carol", action="rollback", version_id=v1.id, previous_version_id=v1.id, outcome="applied", comment="why"
    )
    history = repo.deployments()
    assert [h.id for h in history][0] == d.id and len(history) == 4
    rolled = history[2]
    assert (rolled.outcome, rolled.detail, rolled.seconds, rolled.previous_version_id) == (
        "rolled-back", "health probe: not answered", 1.25, v1.id,
    )  # fmt: skip
    assert repo.deployments(limit=1)[0].comment == "why"


def test_unknown_version_names_the_field(database):
    with pytest.raises(NoSuchVersion) as error:
        DialplanRepository(database).version(999)
    assert error.value.details["field"] == "version" and error.value.status == 404


def test_the_database_refuses_an_unknown_outcome(database):
    repo = DialplanRepository(database)
    v = repo.add_version({"a.conf": ""}, "x", "")
    with pytest.raises(Exception):  # ck_dialplan_deployments_outcome
        repo.add_deployment(actor="x", action="apply", version_id=v.id, previous_version_id=None, outcome="maybe")
    assert repo.running_version_id() is None
