"""Running N of each process needs only configuration: three gateway processes on the shared
subscription and three diagnostics workers on the inbox lanes share one fleet's traffic; every
message is handled by exactly one gateway and every event by exactly one worker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from firmware_sim.faults import Injection, inject
from firmware_sim.fleet import plan_fleet
from firmware_sim.runner import FleetRun, run_fleet
from ondol.local_servers import free_port
from protocol.broker import BrokerAddress
from testbed.support import eventually, register_full, seed_points

pytestmark = pytest.mark.slow  # three gateway and three worker processes

GATEWAYS = 3
WORKERS = 3
DEVICES = 60
REPORTS = 100
RAISES = 5


def start(db_dsn: str, broker: BrokerAddress, log: Path, command: str, **env: str) -> subprocess.Popen[bytes]:
    environment = dict(os.environ, ONDOL_DATABASE_URL=db_dsn, ONDOL_MQTT_URL=f"mqtt://{broker.host}:{broker.port}",
                       **env)  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "ondol", command], env=environment, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip


def received(metrics_port: int) -> int:
    text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    return sum(
        int(float(line.split()[1]))
        for line in text.splitlines()
        if line.startswith("ondol_gateway_received_total ")
    )


async def test_three_gateways_and_three_workers_share_the_load_exactly_once(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress, tmp_path: Path
) -> None:
    await seed_points(db)
    fleet = plan_fleet(DEVICES, seed=11, prefix="scale")
    for i, device in enumerate(fleet):
        await register_full(db, device.device_id, latitude=37.5 + i * 0.001, longitude=127.0, region="seoul",
                            installed_on=date.today() - timedelta(days=100), contacts=1)  # fmt: skip
    ports = [free_port() for _ in range(GATEWAYS)]
    logs = [tmp_path / f"gateway-{n}.log" for n in range(GATEWAYS)]
    processes = [
        start(
            db_dsn,
            broker,
            log,
            "gateway",
            ONDOL_GATEWAY_CLIENT_ID=f"scale-{n}",
            ONDOL_GATEWAY_SHARE_GROUP="ondol-gateway",
            ONDOL_GATEWAY_METRICS_PORT=str(port),
        )
        for n, (port, log) in enumerate(zip(ports, logs, strict=True))
    ]
    try:
        for log in logs:
            await eventually(lambda log=log: _connected(log), what=f"{log.name} connected", timeout_s=30)
        run = FleetRun(report_interval_s=60, acceleration=0, reports_per_device=REPORTS, inflight_window=50)
        stats = await asyncio.to_thread(run_fleet, fleet, broker, run)
        injections = [Injection(d.device_id, "E205", "raised", repeat=RAISES) for d in fleet]
        await asyncio.to_thread(inject, broker, injections, 120)
        processes += [
            start(db_dsn, broker, tmp_path / "workers.log", "diagnostics", ONDOL_SWEEP_INTERVAL_S="1")
            for _ in range(WORKERS)
        ]
        await eventually(lambda: db.fetchval("SELECT count(*) = $1 FROM readings", DEVICES * REPORTS),
                         what="every reading stored", timeout_s=120)  # fmt: skip
        await eventually(lambda: db.fetchval("SELECT count(*) = $1 FROM events", DEVICES * RAISES),
                         what="every event stored", timeout_s=60)  # fmt: skip
        await eventually(lambda: db.fetchval("SELECT count(*) = 0 FROM event_inbox"),
                         what="inbox drained", timeout_s=120)  # fmt: skip
        await asyncio.sleep(0.5)  # counters follow each batch's acknowledgements
        shares = [received(port) for port in ports]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
    published = stats.published + DEVICES * RAISES
    assert stats.acknowledged == stats.published
    assert sum(shares) == published, f"messages handled by the gateways {shares}: none twice, none missed"
    assert all(share > 0 for share in shares), f"every gateway took a share: {shares}"
    assert await db.fetchval("SELECT count(DISTINCT (device_id, seq)) FROM readings") == DEVICES * REPORTS
    summary = await db.fetchrow(
        "SELECT count(*) AS tickets, min(occurrences) AS least, max(occurrences) AS most FROM tickets"
    )
    assert dict(summary) == {"tickets": DEVICES, "least": RAISES, "most": RAISES}
    updated = await db.fetchval("SELECT count(*) FROM outbox_events WHERE event_type = 'ticket.updated'")
    assert updated == DEVICES * (RAISES - 1), "every event handled by exactly one worker"
    assert await db.fetchval("SELECT count(*) FROM diagnostic_failures") == 0


async def _connected(log: Path) -> bool:
    return log.exists() and "gateway connected" in log.read_text(errors="replace")
