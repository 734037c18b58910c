"""At-least-once end to end: a fleet publishes while the gateway is killed with SIGKILL and restarted;
afterwards the database holds exactly one row per message published."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg

from firmware_sim.fleet import plan_fleet
from firmware_sim.runner import FleetRun, run_fleet
from gateway.protocol import BrokerAddress
from tests.support import eventually, register

DEVICES = 100
REPORTS = 200
TOTAL = DEVICES * REPORTS


def start_gateway(db_dsn: str, broker: BrokerAddress, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        ONDOL_DATABASE_URL=db_dsn,
        ONDOL_MQTT_URL=f"mqtt://{broker.host}:{broker.port}",
        ONDOL_GATEWAY_METRICS_PORT="0",
        ONDOL_GATEWAY_SESSION_EXPIRY_S="600",
        ONDOL_BATCH_MAX_ROWS="500",
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ondol", "gateway"], env=env, stdout=out, stderr=subprocess.STDOUT
        )


async def test_gateway_killed_twice_loses_and_duplicates_nothing(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress, tmp_path: Path
) -> None:
    fleet = plan_fleet(DEVICES, seed=7, prefix="noloss")
    await register(db, *(d.device_id for d in fleet))
    log = tmp_path / "gateway.log"
    gateway = start_gateway(db_dsn, broker, log)

    async def stored() -> int:
        return int(await db.fetchval("SELECT count(*) FROM readings"))

    # The gateway's session must exist before the fleet publishes, or the broker has nobody to queue for.
    await eventually(lambda: _is_subscribed(log), what="gateway connected", timeout_s=30)
    loop = asyncio.get_running_loop()
    run = FleetRun(report_interval_s=60, acceleration=0, reports_per_device=REPORTS, inflight_window=50)
    publishing = loop.run_in_executor(None, lambda: run_fleet(fleet, broker, run))
    kills = 0
    try:
        for threshold in (TOTAL // 5, TOTAL // 2):
            await eventually(
                lambda t=threshold: _at_least(stored, t), what=f"{threshold} rows", timeout_s=120
            )
            gateway.send_signal(signal.SIGKILL)
            gateway.wait()
            kills += 1
            gateway = start_gateway(db_dsn, broker, log)
        stats = await publishing
        expected = TOTAL + DEVICES  # every report, and each device's birth message
        assert stats.acknowledged == stats.published == expected, (
            f"broker acknowledged {stats.acknowledged} of {expected}"
        )
        await eventually(lambda: _at_least(stored, TOTAL), what=f"all {TOTAL} rows", timeout_s=180)
        await asyncio.sleep(1.0)  # anything redelivered late must still not add rows
    finally:
        gateway.terminate()
        gateway.wait(30)
    assert kills == 2
    rows = await db.fetchrow(
        "SELECT count(*) AS total, count(DISTINCT (device_id, seq)) AS distinct_messages, "
        "count(DISTINCT device_id) AS devices, min(seq) AS first, max(seq) AS last FROM readings"
    )
    assert dict(rows) == {
        "total": TOTAL,
        "distinct_messages": TOTAL,
        "devices": DEVICES,
        "first": 1,
        "last": REPORTS,
    }
    assert await db.fetchval("SELECT count(*) FROM quarantine") == 0


async def _at_least(count: object, threshold: int) -> bool:
    return bool(await count() >= threshold)  # type: ignore[operator]


async def _is_subscribed(log: Path) -> bool:
    return log.exists() and "gateway connected" in log.read_text(errors="replace")
