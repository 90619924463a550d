"""ivr_stats on SQLite and PostgreSQL: deltas add up per day, script, version, node, counter."""

from __future__ import annotations

from datetime import UTC, datetime

from ccserver.adapters.db.ivr import IvrStatsRepository


def test_deltas_add_up_per_key_and_day(database):
    repo = IvrStatsRepository(database)
    day1 = datetime(2026, 7, 15, 9, 0, tzinfo=UTC)
    day2 = datetime(2026, 7, 16, 9, 0, tzinfo=UTC)
    key = ("service-client", "2026.1", "menu_principal", "choice:1")
    calls = ("service-client", "2026.1", "", "calls")
    assert repo.add({key: 2, calls: 1}, day1) == 2
    assert repo.add({key: 3, calls: 0}, day1) == 1  # zero deltas are not written
    assert repo.add({key: 1}, day2) == 1
    assert repo.add({}, day2) == 0
    assert repo.totals() == {key: 6, calls: 1}
    assert repo.totals(since="2026-07-16") == {key: 1}
    assert repo.totals(script="other") == {}
    rows = repo.rows()
    assert [(r.day, r.value) for r in rows if r.counter == "choice:1"] == [("2026-07-15", 5), ("2026-07-16", 1)]


def test_negative_deltas_correct_a_counter(database):
    """The runtime takes an outcome back when a hand-over fails (the caller went on)."""
    repo = IvrStatsRepository(database)
    at = datetime(2026, 7, 15, 9, 0, tzinfo=UTC)
    key = ("s", "1", "", "outcome:queue:x")
    repo.add({key: 1}, at)
    repo.add({key: -1}, at)
    assert repo.totals() == {key: 0}


def test_long_names_are_cut_to_the_columns(database):
    repo = IvrStatsRepository(database)
    key = ("s" * 150, "v" * 80, "n" * 150, "choice:" + "c" * 150)
    repo.add({key: 1}, datetime(2026, 7, 15, tzinfo=UTC))
    [(script, version, node, counter)] = repo.totals()
    assert (len(script), len(version), len(node), len(counter)) == (100, 64, 100, 100)
