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
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ondol.local_servers import MosquittoServer, PostgresServer, free_port  # noqa: E402
from telemetry.migrations import migrate  # noqa: E402

CONNECTIONS = 4
WINDOW = 1000


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def build_loadgen(workdir: Path) -> Path:
    binary = workdir / "loadgen"
    result = subprocess.run(["gcc", "-O2", "-o", str(binary), str(ROOT / "bench" / "loadgen.c"), "-lmosquitto"],
                            capture_output=True, text=True, check=False)  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(
            f"cannot build bench/loadgen.c (is libmosquitto-dev installed? run make system):\n{result.stderr}"
        )
    return binary


def loadgen(
    binary: Path, port: int, devices: int, per_device: int, prefix: str, rate: float = 0
) -> dict[str, float]:
    out = subprocess.run(
        [str(binary), "127.0.0.1", str(port), str(CONNECTIONS), str(devices), str(per_device), str(WINDOW), prefix, str(rate)],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return {out[i]: float(out[i + 1]) for i in range(0, len(out), 2)}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


async def count(dsn: str, prefix: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM readings WHERE device_id LIKE $1", f"{prefix}-%")
        )
    finally:
        await conn.close()


async def register(dsn: str, prefix: str, devices: int) -> None:
    conn = await asyncpg.connect(dsn)
    await conn.executemany("INSERT INTO devices (device_id, model, serial) VALUES ($1, 'BENCH', $1)",
                           [(f"{prefix}-{i:06d}",) for i in range(devices)])  # fmt: skip
    await conn.close()


def gateway_run(
    binary: Path, dsn: str, port: int, gateways: list[Gateway], devices: int, per_device: int, prefix: str
) -> tuple[float, float, float, list[float]]:
    """Rate, gateway CPU per message (all processes), generator rate, and each process's message count."""
    total = devices * per_device
    asyncio.run(register(dsn, prefix, devices))
    received0 = [g.received() for g in gateways]
    cpu0 = sum(cpu_seconds(g.process.pid) for g in gateways)
    started = time.monotonic()
    sent = loadgen(binary, port, devices, per_device, prefix)
    while (stored := asyncio.run(count(dsn, prefix))) < total:
        if time.monotonic() - started > 600:
            raise SystemExit(f"only {stored} of {total} rows after 600 s")
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    cpu = sum(cpu_seconds(g.process.pid) for g in gateways) - cpu0
    time.sleep(0.5)  # counters are updated right after each batch's acknowledgements
    handled = [g.received() - r0 for g, r0 in zip(gateways, received0, strict=True)]
    return total / elapsed, cpu / total * 1e6, sent["rate"], handled


class Gateway:
    """One gateway process with its own client id and metrics port."""

    def __init__(self, dsn: str, mqtt_port: int, number: int) -> None:
        self.metrics_port = free_port()
        env = dict(os.environ, ONDOL_DATABASE_URL=dsn, ONDOL_MQTT_URL=f"mqtt://127.0.0.1:{mqtt_port}",
                   ONDOL_GATEWAY_METRICS_PORT=str(self.metrics_port), ONDOL_GATEWAY_CLIENT_ID=f"bench-gateway-{number}")  # fmt: skip
        self.process = subprocess.Popen([sys.executable, "-m", "ondol", "gateway"], env=env, cwd=ROOT,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

    def received(self) -> float:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        text = urllib.request.urlopen(url, timeout=5).read().decode()
        for line in text.splitlines():
            if line.startswith("ondol_gateway_received_total "):
                return float(line.split()[1])
        return 0.0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


async def storage(dsn: str) -> tuple[float, int]:
    """Bytes per reading on disk (heap, indexes and TOAST of every chunk) and the row count."""
    conn = await asyncpg.connect(dsn)
    try:
        size = await conn.fetchval("SELECT hypertable_size('readings')")
        rows = await conn.fetchval("SELECT count(*) FROM readings")
        return float(size) / rows, int(rows)
    finally:
        await conn.close()


def latency_run(
    binary: Path, dsn: str, port: int, devices: int, rate: float, seconds: float
) -> tuple[float, float, int]:
    per_device = max(1, int(rate * seconds / devices))
    asyncio.run(register(dsn, "lat", devices))
    loadgen(binary, port, devices, per_device, "lat", rate)
    total = devices * per_device
    deadline = time.monotonic() + 120
    while asyncio.run(count(dsn, "lat")) < total:
        if time.monotonic() > deadline:
            raise SystemExit("latency run did not complete")
        time.sleep(0.1)

    async def fetch() -> list[float]:
        conn = await asyncpg.connect(dsn)
        rows = await conn.fetch("SELECT extract(epoch FROM bench_stored_at) - (extra->>'sent_at')::float8 AS s "
                                "FROM readings WHERE device_id LIKE 'lat-%'")  # fmt: skip
        await conn.close()
        return sorted(float(r["s"]) for r in rows)

    values = asyncio.run(fetch())
    return statistics.median(values), values[min(len(values) - 1, int(0.99 * len(values)))], len(values)


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
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--latency-seconds", type=float, default=15.0)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    per_device = max(1, args.messages // args.devices)
    base = Path(tempfile.mkdtemp(prefix="ondol-bench-"))
    os.chmod(base, 0o755)
    binary = build_loadgen(base)
    pg = PostgresServer(base / "postgres", free_port(), durable=True)
    mq = MosquittoServer(base / "mosquitto", free_port())
    pg.initialise()
    pg.start()
    mq.start()
    gateways: list[Gateway] = []
    try:
        asyncio.run(prepare(pg.dsn))
        log(f"{os.cpu_count()} cores shared by broker, database, gateway and load generator")
        raw, raw_sent = raw_broker(binary, mq.port, args.devices, per_device)
        log(f"raw broker: {raw:,.0f} msg/s (generator sent {raw_sent:,.0f}/s)")
        floor_rate, floor_cpu = paho_floor(binary, mq.port, args.devices, per_device)
        log(f"paho floor: {floor_rate:,.0f} msg/s, {floor_cpu:.1f} µs CPU/message")
        gateways.append(Gateway(pg.dsn, mq.port, 1))
        time.sleep(2.5)
        rate, gw_cpu, gw_sent, _ = gateway_run(
            binary, pg.dsn, mq.port, gateways, args.devices, per_device, "gw"
        )
        log(f"1 gateway: {rate:,.0f} msg/s, {gw_cpu:.1f} µs CPU/message (generator sent {gw_sent:,.0f}/s)")
        p50, p99, n = latency_run(binary, pg.dsn, mq.port, args.devices, rate / 2, args.latency_seconds)
        gateways.append(Gateway(pg.dsn, mq.port, 2))
        time.sleep(2.5)
        rate2, gw_cpu2, _, handled = gateway_run(
            binary, pg.dsn, mq.port, gateways, args.devices, per_device, "gw2"
        )
        twice = sum(handled) - args.devices * per_device
        log(
            f"2 gateways: {rate2:,.0f} msg/s, {gw_cpu2:.1f} µs CPU/message, split {handled}, handled twice {twice:.0f}"
        )
        bytes_per_reading, stored_rows = asyncio.run(storage(pg.dsn))
        n_total = args.devices * per_device
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
            f"| load generator send rate | {gw_sent:,.0f} msg/s (gateway run) | {raw_sent:,.0f} msg/s (raw run) | |",
            f"| latency p50 at {rate / 2:,.0f} msg/s ({n:,} messages) | {p50 * 1000:.1f} ms | | |",
            f"| latency p99 at {rate / 2:,.0f} msg/s | {p99 * 1000:.1f} ms | | |",
        ])  # fmt: skip
        print()
        print(table)
        if args.output:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(table + "\n")
    finally:
        for gateway in gateways:
            gateway.stop()
        mq.stop()
        pg.stop()


if __name__ == "__main__":
    main()
