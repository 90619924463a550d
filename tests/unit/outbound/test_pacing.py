"""Predictive pacing: pure function, progressive at the cap, more aggressive with headroom."""

from __future__ import annotations

import math

import pytest

from ccserver.capabilities.outbound.pacing import (
    PacingInput,
    PacingStats,
    binomial_pmf,
    calls_to_launch,
    plan,
    target_ratio,
)


def inp(**kw) -> PacingInput:
    base = dict(
        agents_idle=5,
        agents_busy=15,
        calls_in_flight=0,
        answer_rate=0.3,
        avg_handle_s=190.0,
        avg_answer_s=12.0,
        abandon_rate=0.0,
    )
    base.update(kw)
    return PacingInput(**base)


def test_no_agent_no_call():
    assert calls_to_launch(inp(agents_idle=0, agents_busy=0)) == 0


def test_over_dials_with_headroom():
    n = calls_to_launch(inp())
    assert n > 5  # more calls than idle agents: the answer rate is 30 %


@pytest.mark.parametrize("rate", [0.03, 0.05, 0.5])
def test_at_or_above_the_cap_the_dialer_is_progressive(rate):
    d = plan(inp(abandon_rate=rate))
    assert d.target_ratio == 0.0
    assert d.launch == 5  # exactly one call in flight per idle agent
    assert d.expected_abandons == 0.0


def test_calls_in_flight_are_counted():
    free = calls_to_launch(inp(calls_in_flight=0))
    assert calls_to_launch(inp(calls_in_flight=3)) == max(0, free - 3)
    assert calls_to_launch(inp(calls_in_flight=200)) == 0


def test_more_headroom_more_calls():
    launches = [calls_to_launch(inp(abandon_rate=r)) for r in (0.0, 0.018, 0.024, 0.029)]
    assert launches == sorted(launches, reverse=True)
    assert launches[0] > launches[-1]


def test_higher_answer_rate_fewer_calls():
    assert calls_to_launch(inp(answer_rate=0.8)) < calls_to_launch(inp(answer_rate=0.2))


def test_expected_abandon_ratio_stays_under_target():
    for idle in range(21):
        d = plan(inp(agents_idle=idle, agents_busy=20 - idle))
        if d.expected_answers:
            assert d.expected_abandons <= d.target_ratio * d.expected_answers + 1e-9 or d.in_flight_target <= idle


def test_target_ratio():
    assert target_ratio(0.0, 0.03) == pytest.approx(0.024)
    assert target_ratio(0.015, 0.03) == pytest.approx(0.024)
    assert target_ratio(0.0225, 0.03) == pytest.approx(0.012)
    assert target_ratio(0.03, 0.03) == 0.0
    assert target_ratio(0.0, 0.0) == 0.0


@pytest.mark.parametrize("n,p", [(0, 0.3), (1, 0.5), (10, 0.3), (40, 0.9), (5, 0.0), (5, 1.0)])
def test_binomial_pmf_sums_to_one(n, p):
    pmf = binomial_pmf(n, p)
    assert len(pmf) == n + 1
    assert math.isclose(sum(pmf), 1.0, rel_tol=1e-9)
    assert math.isclose(sum(i * v for i, v in enumerate(pmf)), n * p, rel_tol=1e-9, abs_tol=1e-12)


def test_stats_rolling_abandon_rate_over_24_hours():
    s = PacingStats()
    for i in range(100):
        s.record_answered(float(i), 10.0)
    for i in range(3):
        s.record_abandoned(float(i))
    assert s.abandon_rate(100.0) == pytest.approx(0.03)
    assert s.abandon_rate(24 * 3600 + 50.0) == 0.0  # the first 51 answers and abandons expired


def test_stats_smooth_toward_priors_then_follow_measurements():
    s = PacingStats(prior_answer_rate=0.3, prior_weight=20)
    assert s.answer_rate() == pytest.approx(0.3)
    for i in range(300):
        if i % 2:
            s.record_answered(float(i), 8.0)
        else:
            s.record_unanswered(float(i))
        s.record_handled(float(i), 100.0)
    assert s.answer_rate() == pytest.approx((150 + 6) / 320)
    assert s.avg_handle_s() == pytest.approx((300 * 100 + 20 * 180) / 320)
    p = s.pacing_input(300.0, agents_idle=2, agents_busy=3, calls_in_flight=1)
    assert p.agents_idle == 2 and p.calls_in_flight == 1


def test_simulation_meets_the_goals_quickly():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    from bench.pacing import simulate

    r = simulate(agents=20, hours=1.5, seed=3)
    assert r["abandon_rate"] <= 0.03
    assert r["talk_min_per_agent_hour"] >= 45
