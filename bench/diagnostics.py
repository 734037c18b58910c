"""Diagnostics benchmark: time from an event's publication to its ticket row, at a steady event rate.

Private servers (durable PostgreSQL settings), one gateway and one diagnostics worker process. The
load generator publishes `--rate` events/s for `--seconds`, each a sensor fault (dispatch "always")
on a different device, so every event opens a ticket. A poller reads new tickets every 20 ms; an
event's latency is the time from its publication until the poller first sees its committed ticket
(so the figure includes up to one poll interval). The baseline, measured in the same run, is the
publication → committed-event-row latency through the gateway alone (the same poller on `events`).

Usage: python bench/diagnostics.py [--rate 1000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import threading
import time
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import log, percentile, product_processes, report  # noqa: E402
from diagnostics.service_points import seed_service_points  # noqa: E402
from firmware_sim.mqtt_link import LinkPool  # noqa: E402
from protocol.broker import BrokerAddress  # noqa: E402
from protocol.contract import MessageKind, device_topic  # noqa: E402
from testbed.servers import private_servers  # noqa: E402

PUBLISHERS = 8


def publish_paced(
    broker: BrokerAddress, devices: list[str], rate: float, sent: dict[str, float], code: str = "E205"
) -> None:
    """Publish one raise of `code` per device at `rate` per second, spread over a few connections."""
    links = LinkPool(broker, inflight_window=1000)
    names = [f"bench-publisher-{i}" for i in range(PUBLISHERS)]
    for name in names:
        links.add(name, "bench", "bench", announce=False)
    links.connect_due()
    while not all(link.connected for link in links.links.values()):
        links.service(0.05)
    start = time.monotonic()
    for i, device_id in enumerate(devices):
        due = start + i / rate
        while (wait := due - time.monotonic()) > 0:
            links.service(min(wait, 0.005))
        now = time.time()
        payload = json.dumps({"seq": 1, "ts": _rfc3339(now), "code": code, "state": "raised"}).encode()
        links.publish(names[i % PUBLISHERS], device_topic(device_id, MessageKind.EVENTS), payload)
        sent[device_id] = now
        links.service(0.0)
    while any(link.outstanding > 0 for link in links.links.values()):
        links.service(0.05)
    links.disconnect_all()


def _rfc3339(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1e6):06d}+00:00"


async def observe(
    dsn: str, table: str, prefix: str, expected: int, seen: dict[str, float], deadline_s: float
) -> None:
    """Poll for new rows of `table` and note when each device's row first became visible."""
    conn = await asyncpg.connect(dsn)
    query = {"tickets": "SELECT ticket_id AS k, device_id FROM tickets WHERE ticket_id > $1 ORDER BY ticket_id",
             "events": "SELECT extract(epoch FROM received_at) AS k, device_id FROM events "
                       "WHERE received_at > to_timestamp($1) ORDER BY received_at"}[table]  # fmt: skip
    last: float = 0
    end = time.monotonic() + deadline_s
    while len(seen) < expected and time.monotonic() < end:
        rows = await conn.fetch(query, last)
        now = time.time()
        for row in rows:
            if row["device_id"].startswith(prefix):
                seen.setdefault(row["device_id"], now)
            last = max(last, float(row["k"]))
        await asyncio.sleep(0.02)
    await conn.close()


async def run_phase(
    dsn: str, broker: BrokerAddress, prefix: str, count: int, rate: float, table: str
) -> list[float]:
    devices = [f"{prefix}-{i:06d}" for i in range(count)]
    conn = await asyncpg.connect(dsn)
    await conn.executemany(
        "INSERT INTO devices (device_id, model, serial, region, latitude, longitude, installed_on) "
        "VALUES ($1, 'NCB-300', $1, 'seoul', 37.55, 126.98, DATE '2025-01-01')",
        [(d,) for d in devices],
    )
    await conn.close()
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    publisher = threading.Thread(target=publish_paced, args=(broker, devices, rate, sent))
    started = time.monotonic()
    publisher.start()
    await observe(dsn, table, prefix, count, seen, deadline_s=count / rate + 120)
    publisher.join()
    elapsed = time.monotonic() - started
    missing = count - len(seen)
    if missing:
        raise SystemExit(f"{missing} of {count} {table} rows never appeared")
    log(f"{table}: {count} in {elapsed:.1f} s")
    return [seen[d] - sent[d] for d in devices]


async def clear_inbox(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    await conn.execute("DELETE FROM event_inbox")
    await conn.close()


async def prepare(dsn: str) -> None:
    """Seed the service points into the migrated database."""
    conn = await asyncpg.connect(dsn)
    async with conn.transaction():
        await seed_service_points(conn)
    await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--output", type=Path, help="also write the results as a Markdown table here")
    args = parser.parse_args()
    count = int(args.rate * args.seconds)
    with private_servers("ondol-bench-diag-") as srv, contextlib.ExitStack() as processes:
        asyncio.run(prepare(srv.dsn))
        processes.enter_context(product_processes(srv, ["gateway"]))
        time.sleep(2)
        log(f"baseline: {count} events at {args.rate:.0f}/s through the gateway only (no worker yet)")
        baseline = asyncio.run(run_phase(srv.dsn, srv.broker, "base", count, args.rate, "events"))
        asyncio.run(clear_inbox(srv.dsn))  # bench-only: the baseline's events are not part of the measurement
        processes.enter_context(product_processes(srv, ["diagnostics"]))
        time.sleep(3)
        log(f"diagnostics: {count} events at {args.rate:.0f}/s, each opening a ticket")
        tickets = asyncio.run(run_phase(srv.dsn, srv.broker, "diag", count, args.rate, "tickets"))
        rows = [("baseline: publication → event row committed (gateway only)", baseline),
                ("publication → ticket row committed (gateway and diagnostics worker)", tickets)]  # fmt: skip
        table = "\n".join([
            f"Diagnostics, {count:,} fault events at {args.rate:.0f}/s, each opening a ticket; {os.cpu_count()} cores "
            "shared by everything; latencies include up to one 20 ms poll. Goal: p99 under 2 s.",
            "",
            "| figure | p50 | p99 | max |",
            "|---|---|---|---|",
            *(f"| {label} | {percentile(v, 0.5) * 1000:.0f} ms | {percentile(v, 0.99) * 1000:.0f} ms | "
              f"{max(v) * 1000:.0f} ms |" for label, v in rows),
        ])  # fmt: skip
        report(table, args.output)


if __name__ == "__main__":
    main()
