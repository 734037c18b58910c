"""Ingest benchmark: sustained published→committed messages/s, gateway CPU per message and latency,
each beside its baseline measured in the same run.

Private servers (durable PostgreSQL settings, as in production); the load comes from
`bench/loadgen.c` (libmosquitto, per-device contract topics, QoS 1, a bounded in-flight window),
which reports its own send rate so that it is seen not to be the bottleneck.
1. raw broker: the generator → Mosquitto → `mosquitto_sub -q 1` > /dev/null; rate = N / time until
   the subscriber has all N.
2. paho floor: the same N into a bare paho subscriber that only acknowledges each message (manual
   ack and MQTT 3.1.1, like the gateway): its CPU per message is the floor of any Python gateway.
3. gateway: the same N through one gateway process; rate = N / time until all N rows are committed;
   the gateway's CPU per message, and its ratio to the paho floor. Then two gateway processes on
   the shared subscription: rate, CPU per message, how many each took (from their /metrics) and
   how many were handled twice. Then bytes per stored reading on disk.
4. latency: the generator paced at half the rate of 3; each payload carries its publish time
   (`sent_at`) and the bench's private copy of the schema stamps each row as it is written (a few
   milliseconds before its batch commits); p50/p99 of the difference.

Usage: python bench/ingest.py [--devices 1000] [--messages 100000] [--latency-seconds 15]
Prints a Markdown table; with --output FILE also writes it there.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    ROOT,
    Gateway,
    Servers,
    count,
    gateway_run,
    loadgen,
    log,
    percentile,
    register,
    report,
    servers,
)


def raw_broker(binary: Path, port: int, devices: int, per_device: int) -> tuple[float, float]:
    total = devices * per_device
    sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", "ondol/v1/+/telemetry",
                            "-C", str(total), "-i", "bench-raw-sub"], stdout=subprocess.DEVNULL)  # fmt: skip
    time.sleep(0.5)
    started = time.monotonic()
    sent = loadgen(binary, port, devices, per_device, "raw")
    sub.wait(timeout=600)
    return total / (time.monotonic() - started), sent["rate"]


def paho_floor(binary: Path, port: int, devices: int, per_device: int) -> tuple[float, float]:
    total = devices * per_device
    floor = subprocess.Popen([sys.executable, str(ROOT / "bench" / "paho_floor.py"), "127.0.0.1", str(port), str(total)],
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert floor.stdout is not None
    floor.stdout.readline()  # ready
    time.sleep(0.3)
    loadgen(binary, port, devices, per_device, "floor")
    words = floor.stdout.readline().split()
    floor.wait(60)
    values = {words[i]: float(words[i + 1]) for i in range(0, len(words), 2)}
    return values["received"] / values["seconds"], values["cpu_us_per_message"]


async def storage(dsn: str) -> tuple[float, int]:
    """Bytes per reading on disk (heap, indexes and TOAST of every chunk) and the row count."""
    conn = await asyncpg.connect(dsn)
    try:
        size = await conn.fetchval("SELECT hypertable_size('readings')")
        rows = await conn.fetchval("SELECT count(*) FROM readings")
        return float(size) / rows, int(rows)
    finally:
        await conn.close()


def latency_run(servers: Servers, devices: int, rate: float, seconds: float) -> tuple[float, float, int]:
    per_device = max(1, int(rate * seconds / devices))
    asyncio.run(register(servers.dsn, "lat", devices))
    loadgen(servers.loadgen_binary, servers.mq.port, devices, per_device, "lat", rate)
    total = devices * per_device
    deadline = time.monotonic() + 120
    while asyncio.run(count(servers.dsn, "lat")) < total:
        if time.monotonic() > deadline:
            raise SystemExit("latency run did not complete")
        time.sleep(0.1)

    async def fetch() -> list[float]:
        conn = await asyncpg.connect(servers.dsn)
        rows = await conn.fetch("SELECT extract(epoch FROM bench_stored_at) - (extra->>'sent_at')::float8 AS s "
                                "FROM readings WHERE device_id LIKE 'lat-%'")  # fmt: skip
        await conn.close()
        return [float(r["s"]) for r in rows]

    values = asyncio.run(fetch())
    return percentile(values, 0.5), percentile(values, 0.99), len(values)


async def stamp_rows(dsn: str) -> None:
    """Bench-only: stamp each row as it is written (staged by COPY, a few ms before its batch commits)."""
    conn = await asyncpg.connect(dsn)
    await conn.execute(
        "ALTER TABLE readings ADD COLUMN bench_stored_at timestamptz DEFAULT clock_timestamp()"
    )
    await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--latency-seconds", type=float, default=15.0)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    per_device = max(1, args.messages // args.devices)
    n_total = args.devices * per_device
    gateways: list[Gateway] = []
    with servers() as srv:
        try:
            asyncio.run(stamp_rows(srv.dsn))
            binary, port = srv.loadgen_binary, srv.mq.port
            log(f"{os.cpu_count()} cores shared by broker, database, gateway and load generator")
            raw, raw_sent = raw_broker(binary, port, args.devices, per_device)
            log(f"raw broker: {raw:,.0f} msg/s (generator sent {raw_sent:,.0f}/s)")
            floor_rate, floor_cpu = paho_floor(binary, port, args.devices, per_device)
            log(f"paho floor: {floor_rate:,.0f} msg/s, {floor_cpu:.1f} µs CPU/message")
            gateways.append(Gateway(srv.dsn, port, 1))
            asyncio.run(register(srv.dsn, "gw", args.devices))
            one = gateway_run(srv, gateways, args.devices, per_device, "gw")
            rate, gw_cpu = one.rate, one.cpu_us
            log(
                f"1 gateway: {rate:,.0f} msg/s, {gw_cpu:.1f} µs CPU/message (generator sent {one.sent_rate:,.0f}/s)"
            )
            p50, p99, n = latency_run(srv, args.devices, rate / 2, args.latency_seconds)
            log(f"latency at {rate / 2:,.0f} msg/s: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
            gateways.append(Gateway(srv.dsn, port, 2))
            asyncio.run(register(srv.dsn, "gw2", args.devices))
            two = gateway_run(srv, gateways, args.devices, per_device, "gw2")
            rate2, gw_cpu2, handled = two.rate, two.cpu_us, two.handled
            twice = sum(handled) - n_total
            log(
                f"2 gateways: {rate2:,.0f} msg/s, {gw_cpu2:.1f} µs CPU/message, split {handled}, handled twice {twice:.0f}"
            )
            bytes_per_reading, stored_rows = asyncio.run(storage(srv.dsn))
        finally:
            for gateway in gateways:
                gateway.stop()
    table = "\n".join([
        f"Ingest, {n_total:,} QoS-1 messages from {args.devices:,} devices; {os.cpu_count()} cores shared by everything.",
        "",
        "| figure | value | baseline (same run) | ratio |",
        "|---|---|---|---|",
        f"| end to end, published → committed, 1 gateway | {rate:,.0f} msg/s | raw broker, `mosquitto_sub -q 1`: {raw:,.0f} msg/s | {rate / raw:.2f} |",
        f"| gateway CPU per message | {gw_cpu:.1f} µs | paho alone (manual ack): {floor_cpu:.1f} µs | {gw_cpu / floor_cpu:.2f} |",
        f"| end to end, 2 gateway processes (shared subscription) | {rate2:,.0f} msg/s | 1 gateway: {rate:,.0f} msg/s | {rate2 / rate:.2f} |",
        f"| CPU per message, 2 gateway processes | {gw_cpu2:.1f} µs | 1 gateway: {gw_cpu:.1f} µs | {gw_cpu2 / gw_cpu:.2f} |",
        f"| messages handled by each of the 2 / handled twice | {handled[0]:,.0f} + {handled[1]:,.0f} / {twice:.0f} | | |",
        f"| bytes per reading on disk (heap + indexes, {stored_rows:,} rows) | {bytes_per_reading:,.0f} B | compression: not on the Apache edition | |",
        f"| load generator send rate | {one.sent_rate:,.0f} msg/s (gateway run) | {raw_sent:,.0f} msg/s (raw run) | |",
        f"| latency p50 at {rate / 2:,.0f} msg/s ({n:,} messages) | {p50 * 1000:.1f} ms | | |",
        f"| latency p99 at {rate / 2:,.0f} msg/s | {p99 * 1000:.1f} ms | | |",
    ])  # fmt: skip
    report(table, args.output)


if __name__ == "__main__":
    main()
