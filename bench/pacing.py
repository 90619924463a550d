"""Predictive pacing simulation driven by the dialer's own pacing code.

20 agents, seeded random calls, several simulated hours. Every second (and whenever an agent
frees up) the simulator asks `ccserver.capabilities.outbound.pacing.calls_to_launch` how many
calls to dial, with the measurements a real dialer has (`PacingStats`). An answered call waits at
most 2 s for an agent, then it is abandoned (played a message and hung up).

Goals: abandoned calls <= 3 % of answered calls, agents talking >= 45 minutes per hour.
Prints the figures; the headline is the last line. --strict: exit 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import heapq
import random
import sys
import time
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ccserver.capabilities.outbound.pacing import PacingStats, calls_to_launch

ABANDON_GOAL = 0.03
TALK_GOAL_MIN_PER_H = 45.0


def simulate(
    agents: int = 20,
    hours: float = 8.0,
    seed: int = 7,
    answer_rate: float = 0.30,
    mean_talk_s: float = 180.0,
    wrap_s: tuple[float, float] = (5.0, 15.0),
    grace_s: float = 2.0,
) -> dict:
    rng = random.Random(seed)
    stats = PacingStats()
    end = hours * 3600.0
    events: list[tuple[float, int, str, int]] = []  # (time, seq, kind, id)
    seq = 0

    def push(t: float, kind: str, ident: int) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (t, seq, kind, ident))

    idle = agents
    busy = 0
    in_flight = 0
    waiting: deque[tuple[int, float]] = deque()  # answered calls waiting for an agent
    dial_time: dict[int, float] = {}
    next_call = 0
    dialed = answered = abandoned = 0
    talk_total = 0.0

    def start_talk(now: float) -> None:
        nonlocal idle, busy, talk_total
        idle -= 1
        busy += 1
        talk = rng.gammavariate(2.0, mean_talk_s / 2.0)
        talk_end = min(now + talk, end)
        talk_total += max(0.0, talk_end - now)
        wrap = rng.uniform(*wrap_s)
        stats.record_handled(now, talk + wrap)
        push(now + talk + wrap, "agent_free", 0)

    def pace(now: float) -> None:
        nonlocal in_flight, next_call, dialed
        if now >= end:
            return
        n = calls_to_launch(stats.pacing_input(now, agents_idle=idle, agents_busy=busy, calls_in_flight=in_flight))
        for _ in range(n):
            next_call += 1
            dialed += 1
            in_flight += 1
            dial_time[next_call] = now
            if rng.random() < answer_rate:
                push(now + rng.uniform(4.0, 20.0), "answer", next_call)
            else:
                push(now + rng.uniform(2.0, 30.0), "no_answer", next_call)

    for tick in range(int(end) + 1):
        push(float(tick), "tick", 0)

    while events:
        now, _, kind, ident = heapq.heappop(events)
        if kind == "tick":
            pace(now)
        elif kind == "no_answer":
            in_flight -= 1
            stats.record_unanswered(now)
            dial_time.pop(ident, None)
        elif kind == "answer":
            in_flight -= 1
            answered += 1
            stats.record_answered(now, now - dial_time.pop(ident))
            if idle > 0:
                start_talk(now)
            else:
                waiting.append((ident, now))
                push(now + grace_s, "grace_over", ident)
        elif kind == "grace_over":
            for i, (call, _) in enumerate(waiting):
                if call == ident:
                    del waiting[i]
                    abandoned += 1
                    stats.record_abandoned(now)
                    break
        elif kind == "agent_free":
            busy -= 1
            idle += 1
            if waiting:
                waiting.popleft()
                start_talk(now)
            pace(now)

    abandon = abandoned / answered if answered else 0.0
    talk_min_per_h = talk_total / 60.0 / (agents * hours)
    return {
        "agents": agents,
        "hours": hours,
        "dialed": dialed,
        "answered": answered,
        "abandoned": abandoned,
        "abandon_rate": abandon,
        "talk_min_per_agent_hour": talk_min_per_h,
        "occupancy": talk_total / (agents * end),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--answer-rate", type=float, default=0.30)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    r = simulate(agents=args.agents, hours=args.hours, seed=args.seed, answer_rate=args.answer_rate)
    elapsed = time.perf_counter() - started
    print(
        f"simulated {r['agents']} agents for {r['hours']:g} h (seed {args.seed}, answer rate "
        f"{args.answer_rate:.0%}) in {elapsed:.1f} s of CPU"
    )
    print(f"calls dialed {r['dialed']}, answered {r['answered']}, abandoned {r['abandoned']}")
    print(f"abandon rate: {r['abandon_rate']:.2%} of answered calls (goal <= {ABANDON_GOAL:.0%})")
    print(f"agent talk time: {r['talk_min_per_agent_hour']:.1f} min per agent-hour (goal >= {TALK_GOAL_MIN_PER_H:.0f})")
    ok = r["abandon_rate"] <= ABANDON_GOAL and r["talk_min_per_agent_hour"] >= TALK_GOAL_MIN_PER_H
    print(
        f"pacing: abandons {r['abandon_rate']:.2%} (<= 3 %), talk "
        f"{r['talk_min_per_agent_hour']:.1f} min/h (>= 45) with {r['agents']} agents: "
        f"{'OK' if ok else 'MISSED'}"
    )
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
