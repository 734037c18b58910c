"""Ingest benchmark: sustained published→committed messages/s and latency, beside the raw broker rate.

Runs on private servers it starts itself (durable PostgreSQL settings, as in production):
1. raw broker: the load generator publishes N QoS-1 messages; `mosquitto_sub -q 1` drains them to
   /dev/null. Rate = N / time until the subscriber has received all N.
2. gateway: the same generator, the same N, one gateway process; rate = N / time until all N rows
   are committed. The ratio of the two is the cost of decoding, storing and acknowledging.
3. latency: the fleet paced at half the rate measured in 2; each payload carries its publish time
   (`sent_at`) and the bench's private copy of the schema stamps each row when it is inserted, a few
   milliseconds before its batch commits; p50/p99 of the difference.

Usage: python bench/ingest.py [--devices 500] [--messages 60000] [--latency-seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from firmware_sim.fleet import plan_fleet  # noqa: E402
from firmware_sim.runner import FleetRun, run_fleet  # noqa: E402
from gateway.protocol import BrokerAddress  # noqa: E402
from ondol.local_servers import MosquittoServer, PostgresServer, free_port  # noqa: E402
from telemetry.migrations import migrate  # noqa: E402


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def raw_broker_rate(broker: BrokerAddress, devices: int, messages: int) -> float:
    fleet = plan_fleet(devices, seed=11, prefix="raw")
    sub = subprocess.Popen(
        ["mosquitto_sub", "-h", broker.host, "-p", str(broker.port), "-q", "1", "-t", "ondol/v1/+/telemetry",
         "-C", str(messages), "-i", "bench-raw-sub"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(0.5)
    run = FleetRun(report_interval_s=60, acceleration=0, reports_per_device=messages // devices)
    started = time.monotonic()
    threading.Thread(target=run_fleet, args=(fleet, broker, run), daemon=True).start()
    sub.wait(timeout=600)
    return messages / (time.monotonic() - started)


async def gateway_rate(
    dsn: str, broker: BrokerAddress, devices: int, messages: int, gateway_env: dict[str, str]
) -> float:
    fleet = plan_fleet(devices, seed=12, prefix="gw")
    conn = await asyncpg.connect(dsn)
    await register(conn, [d.device_id for d in fleet])
    run = FleetRun(report_interval_s=60, acceleration=0, reports_per_device=messages // devices)
    started = time.monotonic()
    threading.Thread(target=run_fleet, args=(fleet, broker, run), daemon=True).start()
    last = 0
    while True:
        stored = int(await conn.fetchval("SELECT count(*) FROM readings WHERE device_id LIKE 'gw-%'"))
        if stored >= messages:
            break
        if time.monotonic() - started > 600:
            raise SystemExit(f"only {stored} of {messages} rows after 600 s")
        if stored - last >= messages // 5:
            log(f"  {stored}/{messages} committed")
            last = stored
        await asyncio.sleep(0.02)
    elapsed = time.monotonic() - started
    await conn.close()
    return messages / elapsed


async def latency(
    dsn: str, broker: BrokerAddress, devices: int, rate: float, seconds: float
) -> tuple[float, float, int]:
    fleet = plan_fleet(devices, seed=13, prefix="lat")
    conn = await asyncpg.connect(dsn)
    await register(conn, [d.device_id for d in fleet])
    interval = 60.0
    acceleration = rate * interval / devices  # devices × acceleration / interval = messages/s
    reports = max(1, int(seconds * rate / devices))
    run = FleetRun(
        report_interval_s=interval, acceleration=acceleration, reports_per_device=reports, stamp_sent_at=True
    )
    await asyncio.get_running_loop().run_in_executor(None, lambda: run_fleet(fleet, broker, run))
    expected = devices * reports
    deadline = time.monotonic() + 120
    while await conn.fetchval("SELECT count(*) FROM readings WHERE device_id LIKE 'lat-%'") < expected:
        if time.monotonic() > deadline:
            raise SystemExit("latency run did not complete")
        await asyncio.sleep(0.1)
    rows = await conn.fetch(
        "SELECT extract(epoch FROM bench_stored_at) - (extra->>'sent_at')::float8 AS seconds "
        "FROM readings WHERE device_id LIKE 'lat-%'"
    )
    await conn.close()
    values = sorted(float(r["seconds"]) for r in rows)
    return statistics.median(values), values[min(len(values) - 1, int(0.99 * len(values)))], len(values)


async def register(conn: asyncpg.Connection, ids: list[str]) -> None:
    await conn.executemany(
        "INSERT INTO devices (device_id, model, serial) VALUES ($1, 'BENCH', $1) ON CONFLICT DO NOTHING",
        [(i,) for i in ids],
    )


async def prepare(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    await migrate(conn)
    # Bench-only: stamp each row as it is written (staged by COPY, a few ms before its batch commits).
    await conn.execute(
        "ALTER TABLE readings ADD COLUMN bench_stored_at timestamptz DEFAULT clock_timestamp()"
    )
    await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="ondol-bench-"))
    os.chmod(base, 0o755)
    pg = PostgresServer(base / "postgres", free_port(), durable=True)
    mq = MosquittoServer(base / "mosquitto", free_port())
    pg.initialise()
    pg.start()
    mq.start()
    broker = BrokerAddress(mq.host, mq.port)
    gateway = None
    try:
        asyncio.run(prepare(pg.dsn))
        log(f"machine: {os.cpu_count()} cores; broker, database, gateway and load generator share them")
        raw = raw_broker_rate(broker, args.devices, args.messages)
        log(f"raw broker (QoS 1, mosquitto_sub -q 1 > /dev/null): {raw:,.0f} msg/s")
        env = dict(os.environ, ONDOL_DATABASE_URL=pg.dsn, ONDOL_MQTT_URL=f"mqtt://{mq.host}:{mq.port}",
                   ONDOL_GATEWAY_METRICS_PORT="0")  # fmt: skip
        gateway = subprocess.Popen([sys.executable, "-m", "ondol", "gateway"], env=env, cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(2.0)
        rate = asyncio.run(gateway_rate(pg.dsn, broker, args.devices, args.messages, env))
        log(f"gateway, published → committed:                 {rate:,.0f} msg/s")
        p50, p99, n = asyncio.run(latency(pg.dsn, broker, args.devices, rate / 2, args.latency_seconds))
        print()
        print(f"{'figure':<52}{'value':>14}")
        print(f"{'raw broker rate, QoS 1 (baseline, same run)':<52}{raw:>10,.0f} /s")
        print(f"{'end-to-end published → committed, 1 gateway':<52}{rate:>10,.0f} /s")
        print(f"{'ratio gateway / raw broker':<52}{rate / raw:>14.2f}")
        print(f"{f'latency p50 at {rate / 2:,.0f} msg/s ({n} messages)':<52}{p50 * 1000:>11.1f} ms")
        print(f"{f'latency p99 at {rate / 2:,.0f} msg/s':<52}{p99 * 1000:>11.1f} ms")
    finally:
        if gateway is not None:
            gateway.terminate()
            gateway.wait(30)
        mq.stop()
        pg.stop()


if __name__ == "__main__":
    main()
