"""Calling-window decision for 1,000,000 contacts at one moment (goal <= 20 ms).

Generates its own contacts (seeded): numbers spread over metropolitan France and the overseas
departments, 40 % with a postcode, 2 % with consent to calls outside the legal hours. Their area
codes are resolved once (as a campaign import would); the timed part is the decision itself:
one "open now?" per area, then a vectorized lookup for every contact. The headline is the last
line. --strict: exit 1 when the goal is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ccserver.capabilities.outbound.windows import AREAS, area_codes_for, is_open, open_mask

GOAL_S = 0.020


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--strict", action="store_true", help="exit 1 when the goal is missed")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    n = args.contacts
    prefixes = np.array([1, 2, 3, 4, 5, 6, 7, 9, 262, 692, 269, 639, 590, 690, 594, 694, 596, 696])
    weights = np.array([10, 10, 10, 10, 10, 20, 15, 5, 1, 2, 0.5, 0.5, 1, 2, 0.5, 0.5, 1, 2])
    pick = rng.choice(prefixes.size, n, p=weights / weights.sum())
    pre = prefixes[pick]
    short = pre < 10
    nsn = np.where(short, pre * 10**8 + rng.integers(0, 10**8, n), pre * 10**6 + rng.integers(0, 10**6, n))
    postcodes = np.where(
        rng.random(n) < 0.4,
        rng.choice(
            [75001, 69002, 57000, 67000, 68100, 13001, 97110, 97133, 97150, 97200, 97300, 97400, 97500, 97600, 20000], n
        ),
        -1,
    )
    consent = rng.random(n) < 0.02
    t = time.perf_counter()
    codes = area_codes_for(nsn, postcodes)
    resolve_s = time.perf_counter() - t
    print(f"{n:,} contacts over {len(np.unique(codes))} areas (resolved once in {resolve_s * 1e3:.0f} ms)")

    moments = [datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(minutes=37 * i) for i in range(60)]
    timings = []
    opened = []
    for at in moments:
        t = time.perf_counter()
        mask = open_mask(codes, at, consent)
        timings.append(time.perf_counter() - t)
        opened.append(int(mask.sum()))
    # the vectorized answer agrees with the scalar one
    for at in moments[:10]:
        mask = open_mask(codes, at, consent)
        for i in rng.integers(0, n, 200).tolist():
            area = AREAS[codes[i]] if codes[i] != 255 else None
            assert mask[i] == (is_open(area, at) or (bool(consent[i]) and area is not None))
    median = statistics.median(timings)
    worst = max(timings)
    print(
        f"{len(moments)} moments from {moments[0]:%Y-%m-%d %H:%M}Z: open contacts "
        f"min {min(opened):,} max {max(opened):,}"
    )
    print(f"decision for {n:,} contacts: median {median * 1e3:.2f} ms, worst {worst * 1e3:.2f} ms (goal <= 20 ms)")
    ok = median <= GOAL_S
    print(
        f"windows: calling-window decision for {n:,} contacts in {median * 1e3:.2f} ms "
        f"(median, worst {worst * 1e3:.2f} ms; goal <= 20 ms): {'OK' if ok else 'MISSED'}"
    )
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
