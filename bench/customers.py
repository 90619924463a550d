"""Customer figures: screen-pop lookup time and CSV import rate, on SQLite and PostgreSQL.

Generates a seeded 10,000-line CSV (French writings of numbers, 1 % broken lines), parses it
(preview), imports it (one transaction), re-imports it (every line an update), then times
`find_by_number` (the screen-pop path: 3 indexed queries) over random known and unknown numbers.

Goals: lookup p99 <= 10 ms with 10,000 customers; import >= 2,000 rows/s.
--strict: exit 1 when a goal is missed. --postgres URL to choose the server (default: the test
database the test suite uses); --skip-postgres to measure SQLite only.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ccserver.adapters.db.customers import CustomerRepository
from ccserver.adapters.db.database import Database
from ccserver.capabilities.customers.model import normalize_number
from ccserver.capabilities.customers.service import CustomerService
from ccserver.core.errors import InvalidInput

GOAL_LOOKUP_P99_MS = 10.0
GOAL_IMPORT_ROWS_PER_S = 2000.0
LINES = 10_000
WRITINGS = (
    "0{a} {b:02d} {c:02d} {d:02d} {e:02d}",
    "+33 {a} {b:02d} {c:02d} {d:02d} {e:02d}",
    "0{a}.{b:02d}.{c:02d}.{d:02d}.{e:02d}",
    "00330{a}{b:02d}{c:02d}{d:02d}{e:02d}",
)


def make_csv(rng: random.Random) -> tuple[bytes, list[str]]:
    lines = ["Numéro client;Nom;Prénom;Téléphone;Email;Code postal"]
    numbers = []
    for i in range(LINES):
        while True:  # c, e unique per line; b among the ranges in use
            parts = dict(a=6, b=rng.randrange(10, 80), c=i // 100, d=rng.randrange(100), e=i % 100)
            phone = rng.choice(WRITINGS).format(**parts)
            try:
                normalize_number(phone)
                break
            except InvalidInput:
                continue
        numbers.append(phone)
        if rng.random() < 0.01:
            phone = phone[:6]  # a broken line
        lines.append(
            f"{40000000 + i};Nom{i};Prénom{i};{phone};client{i}@example.fr;{rng.choice(['75011', '69003', '97400'])}"
        )
    return ("\r\n".join(lines) + "\r\n").encode("cp1252"), numbers


def measure(label: str, db: Database) -> dict[str, float]:
    rng = random.Random(7)
    data, numbers = make_csv(rng)
    service = CustomerService(CustomerRepository(db))
    t0 = time.perf_counter()
    preview = service.preview_import(data, "bench.csv")
    parse_s = time.perf_counter() - t0
    report = service.import_customers(preview, confirm_partial=True, progress=lambda d, t: None)
    again = service.import_customers(service.preview_import(data, "bench.csv"), confirm_partial=True)
    samples = []
    known = 0
    for i in range(2000):
        number = rng.choice(numbers) if i % 2 else f"01 {rng.randrange(10, 99)} {rng.randrange(100):02d} 00 00"
        t = time.perf_counter()
        found = service.find_by_number(number)
        samples.append((time.perf_counter() - t) * 1000)
        known += found is not None
    samples.sort()
    figures = {
        "parse_s": parse_s,
        "good": preview.good_count,
        "rejected": preview.rejected_count,
        "import_rows_s": report.rows_per_second,
        "reimport_rows_s": again.rows_per_second,
        "lookup_p50_ms": statistics.median(samples),
        "lookup_p99_ms": samples[int(len(samples) * 0.99)],
        "found": known,
    }
    print(
        f"{label:10s} preview {LINES} lines {parse_s * 1000:.0f} ms ({preview.good_count} good, "
        f"{preview.rejected_count} rejected) | import {report.rows_per_second:,.0f} rows/s "
        f"({report.duration_seconds:.2f} s) | re-import (updates) {again.rows_per_second:,.0f} rows/s | "
        f"lookup p50 {figures['lookup_p50_ms']:.2f} ms p99 {figures['lookup_p99_ms']:.2f} ms "
        f"({known}/2000 found)"
    )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--strict", action="store_true")
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        db.upgrade()
        results.append(measure("sqlite", db))
        db.dispose()
    if not args.skip_postgres:
        from tests.support.db import postgres_schema_url

        if args.postgres:
            import os

            os.environ["CCSERVER_TEST_POSTGRES_URL"] = args.postgres
        with postgres_schema_url() as url:
            db = Database(url)
            db.upgrade()
            results.append(measure("postgresql", db))
            db.dispose()
    worst_p99 = max(r["lookup_p99_ms"] for r in results)
    worst_rate = min(r["import_rows_s"] for r in results)
    ok = worst_p99 <= GOAL_LOOKUP_P99_MS and worst_rate >= GOAL_IMPORT_ROWS_PER_S
    print(
        f"customers: lookup p99 {worst_p99:.2f} ms (goal <= {GOAL_LOOKUP_P99_MS:.0f}), import "
        f"{worst_rate:,.0f} rows/s (goal >= {GOAL_IMPORT_ROWS_PER_S:,.0f}): {'OK' if ok else 'MISSED'}"
    )
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
