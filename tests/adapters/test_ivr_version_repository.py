"""ivr_script_versions / ivr_active_scripts on SQLite and PostgreSQL: versions numbered per
script and never rewritten, one active version per script, contents recognised by checksum."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from ccserver.adapters.db.ivr import IvrVersionRepository
from ccserver.capabilities.ivr.errors import NoSuchIvrVersion
from ccserver.capabilities.ivr.model import content_checksum

AT = datetime(2026, 7, 15, 9, 0, tzinfo=UTC)


def test_versions_are_numbered_per_script_and_the_last_added_is_active(database):
    repo = IvrVersionRepository(database)
    v1 = repo.add(
        script="accueil",
        content="a: 1\n",
        author="file",
        origin="file",
        at=AT,
        label="1",
        file="ivr_scripts/accueil.yaml",
    )
    v2 = repo.add(
        script="accueil",
        content="a: 2\n",
        author="alice",
        origin="upload",
        at=AT + timedelta(minutes=1),
        comment="menu 2",
    )
    other = repo.add(script="astreinte", content="b\n", author="bob", origin="upload", at=AT)
    assert (v1.number, v2.number, other.number) == (1, 2, 1)
    assert v2.active and v2.checksum == content_checksum("a: 2\n")
    assert repo.active_numbers() == {"accueil": 2, "astreinte": 1}
    history = repo.versions("accueil")
    assert [(v.number, v.author, v.comment, v.active) for v in history] == [
        (1, "file", "", False),
        (2, "alice", "menu 2", True),
    ]
    assert history[0].file == "ivr_scripts/accueil.yaml" and history[0].label == "1"
    assert history[1].created_at == AT + timedelta(minutes=1)  # aware UTC back
    assert [(v.script, v.number) for v in repo.active_versions()] == [("accueil", 2), ("astreinte", 1)]
    assert repo.version("accueil", 1).content == "a: 1\n"
    assert repo.version("accueil", 9) is None and repo.versions("nope") == []


def test_a_rollback_is_a_new_version_pointing_at_the_one_it_copies(database):
    repo = IvrVersionRepository(database)
    repo.add(script="s", content="one\n", author="a", origin="upload", at=AT)
    repo.add(script="s", content="two\n", author="a", origin="upload", at=AT)
    v3 = repo.add(script="s", content="one\n", author="b", origin="rollback", at=AT, rollback_of=1)
    assert (v3.number, v3.rollback_of, v3.origin) == (3, 1, "rollback")
    assert [v.content for v in repo.versions("s")] == ["one\n", "two\n", "one\n"]  # never rewritten
    assert repo.knows("s", content_checksum("two\n")) and not repo.knows("s", content_checksum("three\n"))
    assert not repo.knows("other", content_checksum("one\n"))


def test_set_active_moves_the_pointer_only_to_an_existing_version(database):
    repo = IvrVersionRepository(database)
    repo.add(script="s", content="one\n", author="a", origin="upload", at=AT)
    repo.add(script="s", content="two\n", author="a", origin="upload", at=AT)
    repo.set_active("s", 1, "admin", AT)
    assert repo.active_numbers() == {"s": 1}
    assert [v.active for v in repo.versions("s")] == [True, False]
    with pytest.raises(NoSuchIvrVersion):
        repo.set_active("s", 7, "admin", AT)
    assert repo.active_numbers() == {"s": 1}


def test_adding_without_activating_keeps_the_active_version(database):
    repo = IvrVersionRepository(database)
    repo.add(script="s", content="one\n", author="a", origin="upload", at=AT)
    v2 = repo.add(script="s", content="two\n", author="a", origin="upload", at=AT, activate=False)
    assert not v2.active and repo.active_numbers() == {"s": 1}


def test_unknown_origin_is_refused_by_the_repository_and_the_database(database):
    repo = IvrVersionRepository(database)
    with pytest.raises(ValueError, match="origin must be one of file, upload, rollback"):
        repo.add(script="s", content="x", author="a", origin="magic", at=AT)
    with database.engine.begin() as conn, pytest.raises(IntegrityError):  # the CHECK holds too
        with conn.begin_nested():
            conn.execute(
                text(
                    "INSERT INTO ivr_script_versions (script, number, content, checksum, author, origin, created_at) "
                    "VALUES ('s', 1, 'x', 'c', 'a', 'magic', :at)"
                ),
                {"at": AT.replace(tzinfo=None)},
            )
    assert repo.versions("s") == []


def test_long_fields_are_cut_to_the_columns_and_the_content_is_whole(database):
    repo = IvrVersionRepository(database)
    content = "x" * 200_000
    v = repo.add(
        script="s", content=content, author="a" * 100, origin="upload", at=AT, comment="c" * 900, label="l" * 90
    )
    stored = repo.version("s", v.number)
    assert (
        stored.content == content
        and len(stored.author) == 64
        and len(stored.comment) == 500
        and len(stored.label) == 64
    )


def test_concurrent_additions_get_distinct_numbers(database):
    """Two admins saving at the same instant: each version gets its own number, none is lost."""
    repo = IvrVersionRepository(database)
    barrier = threading.Barrier(4)

    def save(worker: int) -> list[int]:
        barrier.wait()
        return [
            repo.add(script="s", content=f"{worker}-{i}\n", author=f"w{worker}", origin="upload", at=AT).number
            for i in range(3)
        ]

    with ThreadPoolExecutor(4) as pool:
        numbers = [n for result in pool.map(save, range(4)) for n in result]
    assert sorted(numbers) == list(range(1, 13))
    assert len(repo.versions("s")) == 12 and repo.active_numbers()["s"] in numbers
