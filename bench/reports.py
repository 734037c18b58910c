"""Reports over a year of a million-boiler fleet: every report's p95 from the rollups, beside the
same query on the raw tables, in the same run.

The fleet is generated rows, not a simulation (bench/reports_fleet.sql: 1,000,000 boilers; a year of
2,000,000 faults raised and cleared, 600,000 cases, 360,000 tickets with their transitions,
600,000 alerts, 400,000 inbound calls, happy calls and predictions). The rollups are then built as
the worker's job builds them (first build, then one incremental refresh, both timed), and each
report is asked for four scopes in turn: the whole year, the year in one region, one month, and a
winter quarter at one service point. Timed at the report functions the API calls
(diagnostics/reports/figures.py), on one connection, caches warm after a first untimed round.

Usage: python bench/reports.py [--devices 1000000] [--rounds 10] [--output FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from bench.harness import log, percentile, report
from diagnostics.catalog import load_catalog
from diagnostics.reports.figures import (
    Bucket,
    GroupBy,
    ReportScope,
    care_figures,
    service_by_group,
    service_figures,
    survey_comments,
    top_codes,
    volume,
)
from diagnostics.reports.rollups import refresh_report_rollups
from diagnostics.service_points import seed_service_points
from testbed.servers import private_database

Report = Callable[[asyncpg.Connection, ReportScope], Awaitable[object]]

REPORTS: dict[str, Report] = {
    "service figures": service_figures,
    "service by point (+ spread)": lambda c, s: service_by_group(c, s, GroupBy.POINT),
    "service by technician": lambda c, s: service_by_group(c, s, GroupBy.TECHNICIAN),
    "care figures": care_figures,
    "volume by month and code": lambda c, s: volume(c, s, Bucket.MONTH, GroupBy.CODE),
    "volume by ISO week and region": lambda c, s: volume(c, s, Bucket.WEEK, GroupBy.REGION),
    "volume by weekday and model": lambda c, s: volume(c, s, Bucket.WEEKDAY, GroupBy.MODEL),
    "volume by hour and point": lambda c, s: volume(c, s, Bucket.HOUR, GroupBy.POINT),
    "top 5 fault codes per month": lambda c, s: top_codes(c, s, Bucket.MONTH),
    "happy-call comments": survey_comments,
}


def scopes(point: str) -> list[ReportScope]:
    return [
        ReportScope(date(2025, 12, 1), date(2026, 11, 30)),
        ReportScope(date(2025, 12, 1), date(2026, 11, 30), region="seoul"),
        ReportScope(date(2026, 1, 1), date(2026, 1, 31)),
        ReportScope(date(2025, 12, 1), date(2026, 2, 28), point=point),
    ]


async def generate(conn: asyncpg.Connection, devices: int) -> dict[str, int]:
    """Fill the database with the generated year; the row counts."""
    async with conn.transaction():
        await seed_service_points(conn)
    await conn.execute("CREATE TEMP TABLE code_families (code text, family text)")
    await conn.executemany("INSERT INTO code_families VALUES ($1, $2)",
                           [(e.code, e.family) for e in load_catalog().entries()])  # fmt: skip
    sql = (Path(__file__).parent / "reports_fleet.sql").read_text().replace(":devices", str(devices))
    statements = [s.strip() for s in sql.split(";\n") if s.strip() and not _only_comments(s)]
    for n, statement in enumerate(statements, 1):
        started = time.perf_counter()
        await conn.execute(statement)
        first_line = next(
            line for line in statement.splitlines() if line.strip() and not line.startswith("--")
        )
        log(f"generate {n}/{len(statements)} ({time.perf_counter() - started:.0f} s): {first_line[:70]}")
    counts = {}
    for table in ("devices", "events", "fault_cases", "tickets", "ticket_transitions", "customer_alerts",
                  "inbound_calls", "customer_surveys", "predictions"):  # fmt: skip
        counts[table] = int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
    return counts


def _only_comments(statement: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in statement.splitlines())


async def build_rollups(conn: asyncpg.Connection) -> tuple[float, float, dict[str, int]]:
    """The first build and one incremental refresh (seconds each), and the rollups' row counts."""
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        async with conn.transaction():
            done = await refresh_report_rollups(conn, now=datetime.now(UTC))
        timings.append(time.perf_counter() - started)
        log(f"rollup refresh in {timings[-1]:.1f} s: {done}")
    await conn.execute("ANALYZE report_ticket_facts, report_volume_daily, report_volume_hourly")
    sizes = {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}"))
             for t in ("report_ticket_facts", "report_volume_daily", "report_volume_hourly")}  # fmt: skip
    return timings[0], timings[1], sizes


async def time_reports(conn: asyncpg.Connection, rounds: int) -> list[tuple[str, list[float], list[float]]]:
    point = str(
        await conn.fetchval("SELECT point_id FROM service_points WHERE region = 'seoul' ORDER BY 1 LIMIT 1")
    )
    results = []
    for name, run in REPORTS.items():
        fast: list[float] = []
        raw: list[float] = []
        for scope in scopes(point):
            await run(conn, scope)  # warm
            for _ in range(rounds):
                started = time.perf_counter()
                await run(conn, scope)
                fast.append(time.perf_counter() - started)
            started = time.perf_counter()
            await run(conn, replace(scope, raw=True))
            raw.append(time.perf_counter() - started)
        log(f"{name}: rollups p95 {percentile(fast, 0.95) * 1000:.0f} ms, raw max {max(raw) * 1000:.0f} ms")
        results.append((name, fast, raw))
    return results


async def run(dsn: str, devices: int, rounds: int) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        counts = await generate(conn, devices)
        generated_s = time.perf_counter() - started
        first_s, again_s, sizes = await build_rollups(conn)
        # Settle the bulk load first: otherwise autovacuum works through millions of new rows while
        # the reports are timed, on the same two cores.
        log("vacuum and checkpoint before timing")
        await conn.execute("VACUUM (ANALYZE)")
        await conn.execute("CHECKPOINT")
        results = await time_reports(conn, rounds)
    finally:
        await conn.close()
    return table(devices, rounds, counts, generated_s, first_s, again_s, sizes, results)


def table(
    devices: int, rounds: int, counts: dict[str, int], generated_s: float, first_s: float, again_s: float,
    sizes: dict[str, int], results: list[tuple[str, list[float], list[float]]],
) -> str:  # fmt: skip
    def ms(seconds: float) -> str:
        return f"{seconds * 1000:,.0f} ms"

    lines = [
        f"Reports over a year of a {devices:,}-boiler fleet (generated rows: "
        + ", ".join(f"{n:,} {t}" for t, n in counts.items())
        + f"; generated in {generated_s:.0f} s).",
        "",
        f"Rollups: first build {first_s:.1f} s, then the worker's refresh (the last 45 days) {again_s:.1f} s; "
        + ", ".join(f"{n:,} rows in {t}" for t, n in sizes.items())
        + ".",
        "",
        f"Each report over 4 scopes (the year; the year in Seoul; January; the winter quarter at one point): "
        f"{rounds} timed runs per scope from the rollups, 1 from the raw tables (same definitions). "
        "Goal: p95 < 1 s from the rollups.",
        "",
        "| report | rollups p50 | rollups p95 | raw tables p50 | raw tables max | goal |",
        "|---|---|---|---|---|---|",
    ]
    for name, fast, raw in results:
        p95 = percentile(fast, 0.95)
        lines.append(f"| {name} | {ms(percentile(fast, 0.5))} | {ms(p95)} | {ms(percentile(raw, 0.5))} | "
                     f"{ms(max(raw))} | {'met' if p95 < 1 else 'MISSED'} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    with private_database("ondol-bench-reports-") as pg:
        result = asyncio.run(run(pg.dsn, args.devices, args.rounds))
    report(result, args.output)


if __name__ == "__main__":
    main()
