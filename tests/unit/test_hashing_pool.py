"""ccserver.core.passwords.HashingPool: hashing on a few threads with a bounded wait."""

from __future__ import annotations

import asyncio
import threading

import pytest

from ccserver.core.passwords import HashingBusy, HashingPool


async def test_at_most_workers_run_and_beyond_the_queue_calls_are_refused_at_once():
    pool = HashingPool(workers=2, queue=3)
    release = threading.Event()
    running, peak = [0], [0]
    lock = threading.Lock()

    def work(i):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        release.wait(5)
        with lock:
            running[0] -= 1
        return i

    calls = [asyncio.ensure_future(pool.run(work, i)) for i in range(5)]
    await asyncio.sleep(0.05)
    assert pool.admitted == 5
    with pytest.raises(HashingBusy) as refused:
        await pool.run(work, 99)
    assert refused.value.status == 503
    assert pool.refused == 1
    release.set()
    assert await asyncio.gather(*calls) == [0, 1, 2, 3, 4]
    assert peak[0] == 2
    assert pool.admitted == 0
    assert await pool.run(work, 7) == 7
    pool.shutdown()


async def test_ready_can_give_up_before_a_thread_is_used():
    pool = HashingPool(workers=1, queue=1)
    ran = []

    def refuse():
        raise LookupError("locked meanwhile")

    with pytest.raises(LookupError):
        await pool.run(ran.append, 1, ready=refuse)
    assert ran == [] and pool.admitted == 0
    await pool.run(ran.append, 2, ready=lambda: None)
    assert ran == [2]
    pool.shutdown()


def test_a_pool_needs_a_worker():
    with pytest.raises(ValueError):
        HashingPool(workers=0)
