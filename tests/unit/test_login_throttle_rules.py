"""ccserver.core.login_throttle: failed logins counted per account and per address, pure."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from ccserver.core.clock import ManualClock
from ccserver.core.login_throttle import (
    ACCOUNT,
    ACCOUNT_POLICY,
    ADDRESS,
    ADDRESS_POLICY,
    LoginThrottle,
    ThrottlePolicy,
    address_key,
)

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    return ManualClock(T0)


def fail(throttle: LoginThrottle, user: str, address: str = "192.0.2.1"):
    """One attempt that was admitted and failed: the locks it started."""
    refusal = throttle.admit(user, address)
    assert refusal is None, refusal
    return throttle.failed(user, address)


def test_the_fifth_failure_locks_the_account_for_30_seconds(clock):
    throttle = LoginThrottle(clock)
    for _ in range(4):
        assert fail(throttle, "agent1") == []
    [lock] = fail(throttle, "agent1")
    assert (lock.scope, lock.key, lock.failures, lock.seconds) == (ACCOUNT, "agent1", 5, 30)
    assert lock.until == T0 + timedelta(seconds=30)
    refusal = throttle.admit("agent1", "192.0.2.1")
    assert (refusal.scope, refusal.retry_after) == (ACCOUNT, 30)
    clock.advance(seconds=29.5)
    assert throttle.admit("agent1", "192.0.2.1").retry_after == 1
    clock.advance(seconds=0.5)
    assert throttle.admit("agent1", "192.0.2.1") is None


def test_each_further_failure_doubles_the_lock_up_to_15_minutes(clock):
    throttle = LoginThrottle(clock)
    for _ in range(4):
        fail(throttle, "agent1")
    seconds = []
    for _ in range(8):
        [lock] = fail(throttle, "agent1")
        seconds.append(lock.seconds)
        clock.set(lock.until)
    assert seconds == [30, 60, 120, 240, 480, 900, 900, 900]


def test_refused_attempts_are_not_counted_and_the_lock_ends_when_announced(clock):
    throttle = LoginThrottle(clock)
    for _ in range(5):
        fail(throttle, "agent1")
    for i in range(100):
        clock.set(T0 + timedelta(seconds=i * 0.29))
        assert throttle.admit("agent1", "192.0.2.1").retry_after == math.ceil(30 - i * 0.29)
    clock.set(T0 + timedelta(seconds=30))
    assert throttle.admit("agent1", "192.0.2.1") is None


def test_success_resets_the_account(clock):
    throttle = LoginThrottle(clock)
    for _ in range(4):
        fail(throttle, "agent1")
    assert throttle.admit("agent1", "192.0.2.1") is None
    throttle.succeeded("agent1", "192.0.2.1")
    for _ in range(4):
        assert fail(throttle, "agent1") == []
    assert len(fail(throttle, "agent1")) == 1


def test_success_does_not_clear_the_address(clock):
    throttle = LoginThrottle(
        clock, address=ThrottlePolicy(3, timedelta(seconds=10), timedelta(minutes=15), timedelta(minutes=1))
    )
    fail(throttle, "victim1")
    fail(throttle, "victim2")
    assert throttle.admit("mine", "192.0.2.1") is None
    throttle.succeeded("mine", "192.0.2.1")  # the attacker's own valid account
    [lock] = fail(throttle, "victim3")
    assert (lock.scope, lock.key) == (ADDRESS, "192.0.2.1")


def test_accounts_are_counted_case_insensitively_and_unknown_ones_like_known_ones(clock):
    throttle = LoginThrottle(clock)
    for name in ("Agent1", "agent1 ", "AGENT1", "agent1"):
        fail(throttle, name)
    [lock] = fail(throttle, "aGeNt1")
    assert lock.key == "agent1"
    for _ in range(4):
        fail(throttle, "nobody-here")
    assert [lk.key for lk in fail(throttle, "nobody-here")] == ["nobody-here"]


def test_an_attacker_waiting_out_each_lock_is_not_forgiven(clock):
    throttle = LoginThrottle(clock)
    for _ in range(4):
        fail(throttle, "agent1")
    for _ in range(20):
        [lock] = fail(throttle, "agent1")
        clock.set(lock.until)
    assert lock.seconds == 900
    clock.advance(minutes=9)
    [lock] = fail(throttle, "agent1")
    assert lock.seconds == 900
    clock.set(lock.until + timedelta(minutes=10))  # quiet time after the lock: one forgiven
    [lock] = fail(throttle, "agent1")
    assert lock.seconds == 900


def test_failures_are_forgiven_one_per_ten_minutes(clock):
    throttle = LoginThrottle(clock)
    for _ in range(4):
        fail(throttle, "agent1")
    clock.advance(minutes=10)  # 3 left
    assert fail(throttle, "agent1") == []  # 4
    [lock] = fail(throttle, "agent1")  # 5
    assert lock.failures == 5
    clock.advance(hours=2)
    for _ in range(4):
        assert fail(throttle, "agent1") == []


def test_the_address_locks_after_20_failures_over_many_accounts(clock):
    throttle = LoginThrottle(clock)
    for i in range(19):
        assert fail(throttle, f"user{i}", "198.51.100.7") == []
    [lock] = fail(throttle, "user19", "198.51.100.7")
    assert (lock.scope, lock.key, lock.seconds) == (ADDRESS, "198.51.100.7", 10)
    refusal = throttle.admit("somebody-else", "198.51.100.7")
    assert (refusal.scope, refusal.retry_after) == (ADDRESS, 10)
    # another address, and the same accounts from it, are not concerned
    assert throttle.admit("somebody-else", "198.51.100.8") is None
    assert throttle.admit("user1", "198.51.100.8") is None


def test_an_address_forgives_one_failure_per_30_seconds(clock):
    throttle = LoginThrottle(clock)
    for i in range(19):
        fail(throttle, f"user{i}", "198.51.100.7")
    clock.advance(seconds=60)  # 17 left
    assert fail(throttle, "a", "198.51.100.7") == []
    assert fail(throttle, "b", "198.51.100.7") == []
    assert len(fail(throttle, "c", "198.51.100.7")) == 1


def test_both_locks_answer_the_longest_wait(clock):
    throttle = LoginThrottle(
        clock, address=ThrottlePolicy(5, timedelta(seconds=100), timedelta(minutes=15), timedelta(minutes=1))
    )
    for _ in range(4):
        fail(throttle, "agent1")
    locks = fail(throttle, "agent1")
    assert sorted(lk.scope for lk in locks) == [ACCOUNT, ADDRESS]
    refusal = throttle.admit("agent1", "192.0.2.1")
    assert (refusal.scope, refusal.retry_after) == (ADDRESS, 100)


def test_a_lock_is_reported_once_even_with_attempts_in_flight(clock):
    # 20 guesses for 20 accounts admitted at once from one address, then all fail
    throttle = LoginThrottle(clock)
    for i in range(30):
        assert throttle.admit(f"user{i}", "192.0.2.9") is None
    locks = [lk for i in range(30) for lk in throttle.failed(f"user{i}", "192.0.2.9")]
    assert [(lk.scope, lk.failures) for lk in locks] == [(ADDRESS, 20)]
    # the failures after the lock started still lengthened it
    assert throttle.locked("x", "192.0.2.9").retry_after == 900


def test_parallel_guesses_on_one_account_cannot_slip_under_the_limit(clock):
    throttle = LoginThrottle(clock)
    admitted = [throttle.admit("agent1", f"192.0.2.{i}") for i in range(10)]
    assert admitted[:5] == [None] * 5
    assert all(r is not None and r.scope == ACCOUNT and r.retry_after == 1 for r in admitted[5:])
    for i in range(3):
        throttle.failed("agent1", f"192.0.2.{i}")
    # 3 failed, 2 still in flight: no room for another
    assert throttle.admit("agent1", "192.0.2.50") is not None
    throttle.abandoned("agent1", "192.0.2.3")  # the server was busy: its password never checked
    assert throttle.admit("agent1", "192.0.2.50") is None
    # with 4 failures, one attempt at a time is still allowed
    throttle.failed("agent1", "192.0.2.4")
    throttle.failed("agent1", "192.0.2.50")
    assert throttle.locked("agent1", "x").retry_after == 30


def test_locked_reports_a_lock_without_counting(clock):
    throttle = LoginThrottle(clock)
    assert throttle.locked("agent1", "192.0.2.1") is None
    for _ in range(5):
        fail(throttle, "agent1")
    for _ in range(10):
        assert throttle.locked("agent1", "192.0.2.1").retry_after == 30
    clock.advance(seconds=30)
    assert throttle.locked("agent1", "192.0.2.1") is None
    assert throttle.admit("agent1", "192.0.2.1") is None


def test_a_disabled_scope_never_locks(clock):
    off = ThrottlePolicy(0, timedelta(seconds=1), timedelta(seconds=1), timedelta(seconds=1))
    throttle = LoginThrottle(clock, account=off)
    for i in range(50):
        assert fail(throttle, "agent1", f"10.0.{i}.1") == []
    assert throttle.tracked() == (0, 50)
    throttle = LoginThrottle(clock, address=off)
    for i in range(19):
        fail(throttle, f"user{i}")
    assert throttle.admit("another", "192.0.2.1") is None


def test_memory_stays_bounded_under_a_flood_of_random_names_and_addresses(clock):
    throttle = LoginThrottle(clock, max_entries=1000)
    for i in range(20_000):
        throttle.admit(f"random{i}", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
        throttle.failed(f"random{i}", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
        assert max(throttle.tracked()) <= 1000
    assert throttle.tracked() == (1000, 1000)


def test_an_active_lock_survives_a_flood_that_does_not_exceed_the_bound(clock):
    throttle = LoginThrottle(clock, max_entries=1000)
    for _ in range(5):
        fail(throttle, "agent1")
    for i in range(900):
        throttle.admit(f"random{i}", f"10.0.{i // 256}.{i % 256}")
        throttle.failed(f"random{i}", f"10.0.{i // 256}.{i % 256}")
    assert throttle.admit("agent1", "192.0.2.1").retry_after == 30


def test_idle_keys_are_dropped(clock):
    throttle = LoginThrottle(clock)
    throttle.admit("agent1", "192.0.2.1")
    throttle.succeeded("agent1", "192.0.2.1")
    assert throttle.tracked() == (0, 0)
    fail(throttle, "agent2", "192.0.2.2")
    assert throttle.tracked() == (1, 1)
    clock.advance(hours=1)
    throttle.admit("agent2", "192.0.2.2")
    assert throttle.tracked() == (1, 0)  # the account entry holds the attempt in flight
    throttle.abandoned("agent2", "192.0.2.2")
    assert throttle.tracked() == (0, 0)


@pytest.mark.parametrize(
    "address, key",
    [
        ("192.0.2.1", "192.0.2.1"),
        (" 192.0.2.1 ", "192.0.2.1"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("::1", "::/64"),
        ("", "unknown"),
        (None, "unknown"),
        ("not an address", "not an address"),
    ],
)
def test_address_keys_group_ipv6_by_64(address, key):
    assert address_key(address) == key


def test_one_ipv6_machine_cannot_dodge_the_address_limit_by_changing_its_low_bits(clock):
    throttle = LoginThrottle(clock)
    locks = []
    for i in range(20):
        locks += fail(throttle, f"user{i}", f"2001:db8:1:2::{i + 1:x}")
    assert [(lk.scope, lk.key) for lk in locks] == [(ADDRESS, "2001:db8:1:2::/64")]
    assert throttle.admit("x", "2001:db8:1:2:abcd::1").scope == ADDRESS
    assert throttle.admit("x", "2001:db8:1:3::1") is None


def test_policies_refuse_nonsense():
    with pytest.raises(ValueError):
        ThrottlePolicy(-1, timedelta(seconds=1), timedelta(seconds=1), timedelta(seconds=1))
    with pytest.raises(ValueError):
        ThrottlePolicy(5, timedelta(seconds=10), timedelta(seconds=1), timedelta(seconds=1))
    with pytest.raises(ValueError):
        ThrottlePolicy(5, timedelta(seconds=1), timedelta(seconds=1), timedelta(0))
    with pytest.raises(ValueError):
        LoginThrottle(ManualClock(T0), max_entries=0)


def test_default_policies():
    assert [ACCOUNT_POLICY.lock_after(n).total_seconds() for n in (4, 5, 6, 9, 10, 11, 1000)] == [
        0,
        30,
        60,
        480,
        900,
        900,
        900,
    ]
    assert ADDRESS_POLICY.lock_after(19) == timedelta(0)
    assert ADDRESS_POLICY.lock_after(20) == timedelta(seconds=10)
