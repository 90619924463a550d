"""Scrub a campaign against an opposition list: the figures of issue 5's speed goals.

Generates its own data (seeded): a 10,000,000-number opposition list written as a text file
(one national number a line), rebuilt into the memory-mapped bitmap (temp file + os.replace), and
1,000,000 campaign numbers written in mixed French styles, normalized and checked.

Goals: normalize + check 1M numbers <= 1 s end to end; membership <= 100 ms per million; loaded
list <= 150 MB; rebuild from the 10M-line file <= 2 s. The headline is the last line.
--strict: exit 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ccserver.capabilities.outbound.numbers import normalize_many
from ccserver.capabilities.outbound.opposition import OppositionList, build_from_text_file

GOAL_END_TO_END_S = 1.0
GOAL_MEMBERSHIP_S_PER_M = 0.100
GOAL_MEMORY_MB = 150.0
GOAL_REBUILD_S = 2.0


def _mapping_rss_mb(path: Path) -> float:
    """Resident size of the mapping of `path` in this process (from /proc/self/smaps)."""
    total_kb = 0
    inside = False
    try:
        with open("/proc/self/smaps") as f:
            for line in f:
                first = line.split(maxsplit=1)[0]
                if "-" in first and not first.endswith(":"):
                    inside = line.rstrip().endswith(str(path))
                elif inside and line.startswith("Rss:"):
                    total_kb += int(line.split()[1])
    except OSError:
        return float("nan")
    return total_kb / 1024


def _styles(nsn: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Campaign numbers written the many ways files have them."""
    s = nsn.astype("U9").tolist()
    style = rng.integers(0, 6, len(s))
    out = []
    for x, k in zip(s, style.tolist()):
        if k == 0:
            out.append("0" + x)
        elif k == 1:
            out.append(f"0{x[0]} {x[1:3]} {x[3:5]} {x[5:7]} {x[7:9]}")
        elif k == 2:
            out.append(f"+33 {x[0]} {x[1:3]} {x[3:5]} {x[5:7]} {x[7:9]}")
        elif k == 3:
            out.append(f"0{x[0]}.{x[1:3]}.{x[3:5]}.{x[5:7]}.{x[7:9]}")
        elif k == 4:
            out.append("0033" + x)
        else:
            out.append(f"0{x[0]}-{x[1:3]}-{x[3:5]}-{x[5:7]}-{x[7:9]}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list-size", type=int, default=10_000_000)
    parser.add_argument("--campaign-size", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--dir", help="work directory (default: a temporary one)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        opposed = rng.integers(100_000_000, 800_000_000, args.list_size)
        text = work / "opposition.txt"
        t = time.perf_counter()
        with open(text, "w") as f:
            for part in np.array_split(opposed, max(1, args.list_size // 500_000)):
                f.write("\n".join(np.char.add("0", part.astype("U9")).tolist()))
                f.write("\n")
        print(
            f"generated a {args.list_size:,}-line opposition file "
            f"({text.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s"
        )

        bitmap = work / "bloctel.bitmap"
        t = time.perf_counter()
        report = build_from_text_file(text, bitmap, kind="bloctel", scrubbed_at=datetime.now(UTC))
        rebuild_s = time.perf_counter() - t
        print(
            f"rebuild: {report.lines:,} lines -> {report.meta.count:,} distinct numbers, "
            f"{report.invalid_lines} invalid, written and swapped in {rebuild_s:.2f} s "
            f"(goal <= {GOAL_REBUILD_S:g} s)"
        )

        campaign_nsn = rng.integers(100_000_000, 800_000_000, args.campaign_size)
        campaign_nsn[: args.campaign_size // 10] = opposed[: args.campaign_size // 10]
        campaign = _styles(campaign_nsn, rng)
        print(f"campaign: {len(campaign):,} numbers in 6 writing styles")

        t = time.perf_counter()
        lst = OppositionList.open(bitmap)
        open_s = time.perf_counter() - t
        t = time.perf_counter()
        nsns = normalize_many(campaign)
        normalize_s = time.perf_counter() - t
        t = time.perf_counter()
        hits = lst.contains_many(nsns)
        membership_s = time.perf_counter() - t
        end_to_end = open_s + normalize_s + membership_s
        assert (nsns == campaign_nsn).all(), "normalization disagrees with the generator"
        expected = np.isin(campaign_nsn, opposed)
        assert (hits == expected).all(), "membership disagrees with numpy.isin"
        per_million = membership_s * 1e6 / len(campaign)
        mapping_mb = _mapping_rss_mb(bitmap)
        maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"open (mmap) {open_s * 1e3:.1f} ms, normalize {normalize_s * 1e3:.0f} ms, "
            f"membership {membership_s * 1e3:.1f} ms -> {int(hits.sum()):,} opposed"
        )
        print(f"membership: {per_million * 1e3:.1f} ms per million (goal <= 100 ms)")
        print(
            f"loaded list: {os.path.getsize(bitmap) / 1e6:.0f} MB file, {mapping_mb:.0f} MB "
            f"resident mapping (goal <= {GOAL_MEMORY_MB:.0f} MB); process peak RSS "
            f"{maxrss_mb:.0f} MB"
        )
        lst.close()
    ok = (
        end_to_end <= GOAL_END_TO_END_S
        and per_million <= GOAL_MEMBERSHIP_S_PER_M
        and mapping_mb <= GOAL_MEMORY_MB
        and rebuild_s <= GOAL_REBUILD_S
    )
    print(
        f"scrub: {len(campaign):,} numbers normalized + checked against {args.list_size:,} in "
        f"{end_to_end:.3f} s (<= 1 s), membership {per_million * 1e3:.1f} ms/M, list "
        f"{mapping_mb:.0f} MB, rebuild {rebuild_s:.2f} s: {'OK' if ok else 'MISSED'}"
    )
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
