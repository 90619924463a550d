"""Predictive dialer pacing: how many calls to launch now.

Pure: no clock, no I/O; times are plain seconds passed in. The dialer and the pacing simulation
(bench/pacing.py) call the same `calls_to_launch`.

Model. Launching so that ``k`` calls are in flight, the number answered is X ~ Binomial(k, p)
(p: measured answer rate). Agents available by the time those calls are answered are the idle
ones plus the busy ones that finish within the mean time to answer: B ~ Binomial(busy, q) with
q = 1 - exp(-ring / handle) (memoryless handle time). Expected abandoned calls are
E[max(X - idle - B, 0)]; we launch the largest k whose expected abandons stay below ``target``
times the expected answers. The target is the abandon cap (default 3 % of answered calls over a
rolling 24 h) times a safety factor, reduced linearly to 0 as the measured 24 h rate approaches
the cap: at the cap the dialer is progressive (never more calls in flight than idle agents,
hence no abandon at all).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

DEFAULT_ABANDON_CAP = 0.03  # 3 % of answered calls
ROLLING_WINDOW_S = 24 * 3600.0


@dataclass(frozen=True)
class PacingInput:
    agents_idle: int  # logged in, ready, no call
    agents_busy: int  # talking or wrapping up: will be free later
    calls_in_flight: int  # dialed, not yet answered nor failed
    answer_rate: float  # measured answered / dialed, 0..1
    avg_handle_s: float  # measured mean talk + wrap-up time of an answered call
    avg_answer_s: float  # measured mean time from dialing to answer (answered calls)
    abandon_rate: float  # measured abandoned / answered over the rolling window
    abandon_cap: float = DEFAULT_ABANDON_CAP
    safety: float = 0.8  # aim below the cap: the model is an approximation
    max_in_flight_per_agent: float = 4.0


@dataclass(frozen=True)
class PacingDecision:
    launch: int
    in_flight_target: int
    expected_answers: float
    expected_abandons: float
    target_ratio: float


def target_ratio(abandon_rate: float, cap: float, safety: float = 0.8) -> float:
    """Allowed expected abandon ratio for the next calls, given the measured 24 h rate."""
    if cap <= 0 or abandon_rate >= cap:
        return 0.0
    headroom = (cap - abandon_rate) / (0.5 * cap)  # full target while below half the cap
    return cap * safety * min(1.0, headroom)


def binomial_pmf(n: int, p: float) -> list[float]:
    if n <= 0:
        return [1.0]
    if p <= 0.0:
        return [1.0] + [0.0] * n
    if p >= 1.0:
        return [0.0] * n + [1.0]
    logs = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p) + (n - i) * math.log1p(-p)
        for i in range(n + 1)
    ]
    return [math.exp(v) for v in logs]


def plan(inp: PacingInput) -> PacingDecision:
    """The pacing decision with its expectations (for logs and the supervisor screen)."""
    idle = max(0, inp.agents_idle)
    busy = max(0, inp.agents_busy)
    in_flight = max(0, inp.calls_in_flight)
    agents = idle + busy
    if agents == 0:
        return PacingDecision(0, in_flight, 0.0, 0.0, 0.0)
    p = min(1.0, max(0.0, inp.answer_rate))
    target = target_ratio(inp.abandon_rate, inp.abandon_cap, inp.safety)
    q = 1.0 - math.exp(-max(0.0, inp.avg_answer_s) / max(1.0, inp.avg_handle_s))
    kmax = max(idle, int(inp.max_in_flight_per_agent * agents))
    # g[x] = E[max(x - idle - B, 0)], B ~ Bin(busy, q)
    pmf_b = binomial_pmf(busy, q)
    g = [sum(pb * max(x - idle - b, 0) for b, pb in enumerate(pmf_b)) for x in range(kmax + 1)]

    best_k, best_answers, best_abandons = min(in_flight, idle), 0.0, 0.0
    pmf_x = [1.0]  # X for k = 0
    for k in range(1, kmax + 1):
        prev = pmf_x
        pmf_x = [0.0] * (k + 1)
        for x, px in enumerate(prev):
            pmf_x[x] += px * (1.0 - p)
            pmf_x[x + 1] += px * p
        if k <= in_flight:
            continue
        answers = k * p
        abandons = sum(px * g[x] for x, px in enumerate(pmf_x) if x > idle)
        if k <= idle or abandons <= target * answers + 1e-12:
            best_k, best_answers, best_abandons = k, answers, abandons
        else:
            break  # the ratio only grows with k
    launch = max(0, best_k - in_flight)
    return PacingDecision(launch, max(best_k, in_flight), best_answers, best_abandons, target)


def calls_to_launch(inp: PacingInput) -> int:
    """How many new calls to dial now."""
    return plan(inp).launch


class PacingStats:
    """Rolling measurements the pacing needs (pure state: the caller passes the time).

    Answer rate, handle and answer times are smoothed toward priors while few calls are known
    and follow the last ``recent`` calls; the abandon rate is over a rolling 24 h.
    """

    def __init__(
        self,
        *,
        prior_answer_rate: float = 0.3,
        prior_handle_s: float = 180.0,
        prior_answer_s: float = 12.0,
        prior_weight: int = 20,
        recent: int = 300,
        window_s: float = ROLLING_WINDOW_S,
    ) -> None:
        self.prior_answer_rate = prior_answer_rate
        self.prior_handle_s = prior_handle_s
        self.prior_answer_s = prior_answer_s
        self.prior_weight = prior_weight
        self.window_s = window_s
        self._outcomes: deque[bool] = deque(maxlen=recent)  # answered? for finished dials
        self._handle: deque[float] = deque(maxlen=recent)
        self._answer_s: deque[float] = deque(maxlen=recent)
        self._answered_at: deque[float] = deque()
        self._abandoned_at: deque[float] = deque()

    def record_answered(self, now: float, answer_after_s: float) -> None:
        self._outcomes.append(True)
        self._answer_s.append(answer_after_s)
        self._answered_at.append(now)

    def record_unanswered(self, now: float) -> None:
        self._outcomes.append(False)

    def record_abandoned(self, now: float) -> None:
        """An answered call no agent took in time (already counted as answered)."""
        self._abandoned_at.append(now)

    def record_handled(self, now: float, handle_s: float) -> None:
        self._handle.append(handle_s)

    def _expire(self, now: float) -> None:
        horizon = now - self.window_s
        while self._answered_at and self._answered_at[0] < horizon:
            self._answered_at.popleft()
        while self._abandoned_at and self._abandoned_at[0] < horizon:
            self._abandoned_at.popleft()

    def answer_rate(self) -> float:
        w = self.prior_weight
        return (sum(self._outcomes) + w * self.prior_answer_rate) / (len(self._outcomes) + w)

    def avg_handle_s(self) -> float:
        w = self.prior_weight
        return (sum(self._handle) + w * self.prior_handle_s) / (len(self._handle) + w)

    def avg_answer_s(self) -> float:
        w = self.prior_weight
        return (sum(self._answer_s) + w * self.prior_answer_s) / (len(self._answer_s) + w)

    def abandon_rate(self, now: float) -> float:
        self._expire(now)
        answered = len(self._answered_at)
        return len(self._abandoned_at) / answered if answered else 0.0

    def pacing_input(
        self,
        now: float,
        *,
        agents_idle: int,
        agents_busy: int,
        calls_in_flight: int,
        abandon_cap: float = DEFAULT_ABANDON_CAP,
    ) -> PacingInput:
        return PacingInput(
            agents_idle=agents_idle,
            agents_busy=agents_busy,
            calls_in_flight=calls_in_flight,
            answer_rate=self.answer_rate(),
            avg_handle_s=self.avg_handle_s(),
            avg_answer_s=self.avg_answer_s(),
            abandon_rate=self.abandon_rate(now),
            abandon_cap=abandon_cap,
        )
