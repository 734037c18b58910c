"""Device-status API latency while ingest runs, as the readings table grows from 1 to 50 million rows.

An agent opens a device while the customer is on the phone: `GET /v1/devices/{id}` must answer in
well under 20 ms at p99, however much history is stored, while the gateway ingests. This benchmark
starts the product's gateway and API processes on private servers and, for each stored-history size:
- paces the C load generator at half the gateway's maximum rate (the maximum is measured first, in
  the same run), and meanwhile
- requests the status of random devices at a fixed 100 requests/s (open loop: each latency is
  counted from the moment its request was due, so a stall is not hidden by the client waiting);
then prints p50/p99 per size. The baseline is the smallest history, measured in the same run.

History is made by SQL in the database: `--history-devices` devices reporting once a minute, newest
reading now, going back as far as the size needs; one transaction per day of history, so that each
creates its day's chunk (and `wal_level = minimal`, set for this server, lets it skip the WAL).
The status of a device includes its newest reading, looked up in `readings` by its key.

Usage: python bench/status_api.py [--sizes 1000000,50000000] [--rps 100] [--seconds 20] [--output FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    ROOT,
    Gateway,
    Servers,
    api_key,
    free_port,
    gateway_run,
    loadgen_command,
    log,
    parse_loadgen,
    percentile,
    register,
    report,
    servers,
)

LIVE_DEVICES = 1000
MINUTES_PER_DAY = 1440

_HISTORY_SQL = """
INSERT INTO readings (device_id, ts, seq, received_at, ch_flow_c, ch_return_c, ch_setpoint_c, dhw_c,
                      dhw_setpoint_c, outdoor_c, room_c, room_setpoint_c, flue_c, ch_pressure_bar,
                      modulation_pct, flame_current_ua, fan_rpm, burner_starts, failed_starts,
                      flame_loss_count, burner_hours, gas_total_m3, flame_on, mode)
SELECT 'hist-' || lpad(d::text, 6, '0'), t, m, t + interval '2 seconds', 55 + d % 20, 40 + m % 15, 60, 44.5,
       45, -5 + m % 10, 20 + (d % 7) * 0.1, 21, 48 + m % 9, 1.45, 30 + m % 60, 7.9, 2000 + m % 3000, m, 12, 3,
       m / 60.0, m / 100.0, true, 'heat'
FROM generate_series($2::bigint, $3::bigint) AS m
CROSS JOIN LATERAL (SELECT $1::timestamptz + m * interval '1 minute' AS t) AS at
CROSS JOIN generate_series(0, $4::int - 1) AS d
"""


@dataclass(frozen=True)
class Sample:
    readings: int
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    ingest_rate: float


class History:
    """Readings of `devices` devices, one a minute, newest at `newest`, grown backwards in time."""

    def __init__(self, dsn: str, devices: int) -> None:
        self.dsn = dsn
        self.devices = devices
        self.newest = datetime.now(UTC).replace(second=0, microsecond=0)
        self.minutes = 0  # per device so far

    def origin(self) -> datetime:
        """Midnight well before any history this run makes: minute m is at origin + m minutes, so
        a multiple of 1440 starts a day (a chunk)."""
        return self.newest.replace(hour=0, minute=0) - timedelta(days=400)

    async def register(self) -> None:
        await register(self.dsn, "hist", self.devices)

    async def grow_to(self, readings: int) -> None:
        """Add older minutes until about `readings` history rows are stored; a day per transaction."""
        target = -(-readings // self.devices)  # minutes per device
        last = int((self.newest - self.origin()).total_seconds() // 60)
        conns = [await asyncpg.connect(self.dsn) for _ in range(2)]
        try:
            spans = []
            high = last - self.minutes
            while self.minutes < target:
                width = min(high % MINUTES_PER_DAY + 1, target - self.minutes)
                spans.append((high - width + 1, high))
                high -= width
                self.minutes += width
            queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
            for span in spans:
                queue.put_nowait(span)
            started, done = time.monotonic(), [0]

            async def work(conn: asyncpg.Connection) -> None:
                while not queue.empty():
                    low, high = queue.get_nowait()
                    await conn.execute(_HISTORY_SQL, self.origin(), low, high, self.devices)
                    done[0] += (high - low + 1) * self.devices
                    rate = done[0] / (time.monotonic() - started)
                    log(f"history: {done[0]:,} more readings ({rate:,.0f}/s)")

            await asyncio.gather(*(work(c) for c in conns))
            await conns[0].execute(
                "INSERT INTO device_state (device_id, last_seen, last_reading_at, last_seq) "
                "SELECT device_id, now(), $1, $2 FROM devices WHERE device_id LIKE 'hist-%' "
                "ON CONFLICT (device_id) DO NOTHING", self.newest, last,
            )  # fmt: skip
            # What autovacuum would otherwise do during the measurement: the bench measures steady state.
            await conns[0].execute("VACUUM (ANALYZE) readings")
            await conns[0].execute("CHECKPOINT")
        finally:
            for conn in conns:
                await conn.close()


async def stored_readings(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT approximate_row_count('readings')"))
    finally:
        await conn.close()


class Api:
    """The product's API process."""

    def __init__(self, dsn: str, mqtt_port: int) -> None:
        self.port = free_port()
        env = dict(os.environ, ONDOL_DATABASE_URL=dsn, ONDOL_MQTT_URL=f"mqtt://127.0.0.1:{mqtt_port}",
                   ONDOL_API_PORT=str(self.port), ONDOL_API_RATE_PER_KEY_S="100000", ONDOL_API_METRICS_PORT="0")  # fmt: skip
        self.process = subprocess.Popen([sys.executable, "-m", "ondol", "api"], env=env, cwd=ROOT,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        self.headers = {"Authorization": f"Bearer {asyncio.run(api_key(dsn))}"}
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(
                    f"{self.base}/v1/devices?limit=1", headers=self.headers, timeout=2
                ).raise_for_status()
                return
            except httpx.HTTPError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit("the API did not start") from None
                time.sleep(0.2)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


async def paced_requests(api: Api, ids: list[str], rps: float, seconds: float) -> tuple[list[float], int]:
    """GET /v1/devices/{id} for random ids at `rps`; latencies (s) from each request's due time."""
    latencies: list[float] = []
    errors = 0
    rng = random.Random(7)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=api.base, headers=api.headers, limits=limits, timeout=10) as client:

        async def one(due: float, device_id: str) -> None:
            nonlocal errors
            try:
                response = await client.get(f"/v1/devices/{device_id}")
                if response.status_code != 200 or response.json()["latest"] is None:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.monotonic() - due)

        start = time.monotonic() + 0.1
        tasks = []
        for i in range(int(rps * seconds)):
            due = start + i / rps
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            tasks.append(asyncio.create_task(one(due, rng.choice(ids))))
        await asyncio.gather(*tasks)
    return latencies, errors


def measure(srv: Servers, api: Api, rate: float, rps: float, seconds: float) -> Sample:
    ids = [f"hist-{i:06d}" for i in range(0, 5000, 7)] + [f"live-{i:06d}" for i in range(LIVE_DEVICES)]
    per_device = max(1, int(rate * (seconds + 5) / LIVE_DEVICES))
    command = loadgen_command(srv.loadgen_binary, srv.mq.port, LIVE_DEVICES, per_device, "live", rate)
    load = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    asyncio.run(paced_requests(api, ids, rps, 3))  # warm-up: pool connections, caches; not counted
    latencies, errors = asyncio.run(paced_requests(api, ids, rps, seconds))
    out, _ = load.communicate(timeout=300)
    sent = parse_loadgen(out)
    readings = asyncio.run(stored_readings(srv.dsn))
    return Sample(readings, percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000,
                  len(latencies), errors, sent["rate"])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000000,50000000")
    parser.add_argument("--history-devices", type=int, default=5000)
    parser.add_argument("--rps", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    samples: list[Sample] = []
    with servers({"wal_level": "minimal", "max_wal_senders": "0"}) as srv:
        history = History(srv.dsn, args.history_devices)
        asyncio.run(history.register())
        asyncio.run(register(srv.dsn, "live", LIVE_DEVICES))
        asyncio.run(register(srv.dsn, "max", LIVE_DEVICES))
        gateway = Gateway(srv.dsn, srv.mq.port, 1)
        try:
            api = Api(srv.dsn, srv.mq.port)
        except BaseException:
            gateway.stop()  # no process outlives the benchmark
            raise
        try:
            maximum = gateway_run(srv, [gateway], LIVE_DEVICES, 50, "max").rate
            log(
                f"gateway maximum {maximum:,.0f} msg/s; ingest during the requests at {maximum / 2:,.0f} msg/s"
            )
            for size in sizes:
                asyncio.run(history.grow_to(size))
                sample = measure(srv, api, maximum / 2, args.rps, args.seconds)
                samples.append(sample)
                log(f"{sample.readings:,} readings: status p50 {sample.p50_ms:.1f} ms, p99 {sample.p99_ms:.1f} ms, "
                    f"{sample.errors} errors, ingest {sample.ingest_rate:,.0f} msg/s")  # fmt: skip
        finally:
            api.stop()
            gateway.stop()
    base = samples[0]
    lines = [
        f"Device-status API (`GET /v1/devices/{{id}}`) at {args.rps:.0f} requests/s for {args.seconds:.0f} s "
        f"while the gateway ingests at half its maximum; {os.cpu_count()} cores shared by everything. "
        "Goal: p99 under 20 ms, flat as history grows.",
        "",
        "| readings stored | p50 | p99 | p99 ratio to the smallest | requests (errors) | ingest meanwhile |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {s.readings:,} | {s.p50_ms:.1f} ms | {s.p99_ms:.1f} ms | {s.p99_ms / base.p99_ms:.2f} | "
        f"{s.requests:,} ({s.errors}) | {s.ingest_rate:,.0f} msg/s |"
        for s in samples
    ]
    table = "\n".join(lines)
    report(table, args.output)


if __name__ == "__main__":
    main()
