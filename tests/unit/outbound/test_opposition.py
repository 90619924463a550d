"""Opposition bitmaps: build, open, membership, atomic swap, scrub files, staleness."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from ccserver.capabilities.outbound.opposition import (
    BITMAP_BYTES,
    HEADER_SIZE,
    OppositionList,
    OppositionStore,
    build_from_nsns,
    build_from_scrub,
    is_bitmap_file,
    iter_file_numbers,
)
from ccserver.core.errors import InvalidInput

UTC = UTC
NOW = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def test_membership_of_single_and_many_numbers(tmp_path):
    path = tmp_path / "dnc.bitmap"
    nsns = np.array([612345678, 145454545, 999999999, 100000000, 692123456, -1])
    meta = build_from_nsns(path, nsns, kind="company-dnc", scrubbed_at=None)
    assert meta.count == 5
    assert os.path.getsize(path) == HEADER_SIZE + BITMAP_BYTES
    lst = OppositionList.open(path)
    try:
        assert 612345678 in lst and 692123456 in lst and 999999999 in lst
        assert 612345679 not in lst and -1 not in lst and 10**9 not in lst
        query = np.array([612345678, 612345679, -1, 10**9, 100000000, 145454545])
        assert lst.contains_many(query).tolist() == [True, False, False, False, True, True]
        assert lst.contains_numbers(["+33 6 12 34 56 78", "06 12 34 56 79", "junk", "+262 692 12 34 56"]).tolist() == [
            True,
            False,
            False,
            True,
        ]
        assert lst.count() == 5
        assert lst.meta.kind == "company-dnc" and not lst.meta.is_stale(NOW)
    finally:
        lst.close()


def test_bitmap_agrees_with_isin_on_random_data(tmp_path):
    rng = np.random.default_rng(9)
    listed = rng.integers(100_000_000, 1_000_000_000, 50_000)
    path = tmp_path / "b.bitmap"
    build_from_nsns(path, listed, kind="bloctel", scrubbed_at=NOW)
    query = np.concatenate([listed[:1000], rng.integers(100_000_000, 1_000_000_000, 5000)])
    lst = OppositionList.open(path)
    assert (lst.contains_many(query) == np.isin(query, listed)).all()
    assert lst.count() == np.unique(listed).size
    lst.close()


def test_rebuild_from_text_file_swaps_atomically(tmp_path):
    text = tmp_path / "list.txt"
    text.write_text("06 12 34 56 78\n+33 1 45 45 45 45\nnot a number\n\n0692123456")
    path = tmp_path / "bloctel.bitmap"
    store = OppositionStore(path, "bloctel")
    assert store.current is None
    report = store.rebuild_from_file(text, scrubbed_at=NOW - timedelta(days=2))
    assert report.lines == 5 and report.invalid_lines == 2 and report.meta.count == 3
    old = store.current
    assert 612345678 in old
    text.write_text("0700000001\n0145454545\n")
    store.rebuild_from_file(text, scrubbed_at=NOW)
    new = store.current
    assert new is not old
    assert 612345678 not in new and 700000001 in new
    assert 612345678 in old  # a reader holding the old mapping still sees the old list
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_failed_rebuild_leaves_the_old_list(tmp_path):
    path = tmp_path / "bloctel.bitmap"
    build_from_nsns(path, np.array([612345678]), kind="bloctel", scrubbed_at=NOW)
    with pytest.raises(InvalidInput):
        build_from_nsns(path, np.array([145454545]), kind="bloctel", scrubbed_at=None)
    lst = OppositionList.open(path)
    assert 612345678 in lst
    lst.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bloctel.bitmap"]


def test_scrubbed_file_gives_the_removed_numbers(tmp_path):
    submitted = np.array([612345678, 612345679, 612345680, 145454545])
    returned = np.array([612345679, 145454545])
    path = tmp_path / "scrub.bitmap"
    meta = build_from_scrub(path, submitted, returned, scrubbed_at=NOW)
    lst = OppositionList.open(path)
    assert lst.contains_many(submitted).tolist() == [True, False, True, False]
    assert meta.kind == "bloctel-scrub" and meta.count == 2
    lst.close()


@pytest.mark.parametrize("age,stale", [(timedelta(days=30), False), (timedelta(days=30, seconds=1), True)])
def test_a_bloctel_list_older_than_30_days_is_stale(tmp_path, age, stale):
    path = tmp_path / "b.bitmap"
    meta = build_from_nsns(path, np.array([612345678]), kind="bloctel", scrubbed_at=NOW - age)
    assert meta.is_stale(NOW) is stale
    assert OppositionList.open(path).meta.is_stale(NOW) is stale


def test_unknown_kind_and_naive_dates_are_refused(tmp_path):
    with pytest.raises(InvalidInput) as exc:
        build_from_nsns(tmp_path / "x", np.array([1]), kind="nope", scrubbed_at=None)
    assert exc.value.details["field"] == "kind"
    with pytest.raises(InvalidInput):
        build_from_nsns(tmp_path / "x", np.array([1]), kind="bloctel", scrubbed_at=datetime(2026, 1, 1))


def test_a_file_that_is_not_a_bitmap_is_refused(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"hello")
    assert not is_bitmap_file(bad)
    with pytest.raises(InvalidInput):
        OppositionList.open(bad)


@pytest.mark.parametrize("chunk", [7, 16, 64, 1 << 20])
def test_reading_a_file_in_chunks_loses_no_line(chunk):
    lines = [f"0{n:09d}" for n in range(600_000_000, 600_000_500)] + ["06 12 34 56 78", "+33 7 00 00 00 01"]
    data = ("\n".join(lines)).encode()
    got = np.concatenate(list(iter_file_numbers(io.BytesIO(data), chunk)))
    assert got.tolist() == list(range(600_000_000, 600_000_500)) + [612345678, 700000001]


def test_empty_list():
    assert 612345678 not in OppositionList.empty()
