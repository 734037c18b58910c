"""The command line: registering devices from a file, migrating, and `ondol up` on existing servers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx

from gateway.protocol import BrokerAddress
from ondol.local_servers import free_port


def ondol(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ondol", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


async def test_devices_register_reads_a_file_and_refuses_bad_ones(
    db: asyncpg.Connection, db_dsn: str, tmp_path: Path
) -> None:
    good = tmp_path / "devices.json"
    good.write_text(json.dumps([
        {"device_id": "kd-1", "model": "NCB-300", "serial": "S1", "region": "busan",
         "contacts": [{"name": "김영숙", "phone": "010-1234-5678", "role": "owner"}]},
        {"device_id": "kd-2", "model": "NCB-300", "serial": "S2"},
    ]))  # fmt: skip
    result = ondol("devices", "register", str(good), "--database-url", db_dsn)
    assert result.returncode == 0, result.stderr
    assert "registered 2 devices" in result.stdout
    assert await db.fetchval("SELECT count(*) FROM devices") == 2
    assert await db.fetchval("SELECT phone FROM device_contacts WHERE device_id = 'kd-1'") == "+821012345678"

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"device_id": "no/slash", "model": "X", "serial": "1"}]))
    result = ondol("devices", "register", str(bad), "--database-url", db_dsn)
    assert result.returncode == 2
    assert "device_id" in result.stderr
    assert await db.fetchval("SELECT count(*) FROM devices") == 2, "nothing of a bad file is registered"

    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(
        json.dumps([{"device_id": "kd-3", "model": "X", "serial": "3", "region": "atlantis"}])
    )
    result = ondol("devices", "register", str(elsewhere), "--database-url", db_dsn)
    assert result.returncode == 2
    assert "region" in result.stderr
    assert "seoul" in result.stderr, "the refusal lists the regions"
    assert await db.fetchval("SELECT count(*) FROM devices") == 2


async def test_migrate_reports_the_edition_and_is_idempotent(db_dsn: str) -> None:
    result = ondol("migrate", "--database-url", db_dsn)
    assert result.returncode == 0, result.stderr
    assert "apache edition" in result.stdout
    assert "0 migration(s) applied" in result.stdout


async def test_up_on_existing_servers_starts_no_servers_of_its_own(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress, tmp_path: Path
) -> None:
    api_port = free_port()
    env = dict(os.environ, ONDOL_STATE_DIR=str(tmp_path / "state"), ONDOL_API_PORT=str(api_port),
               ONDOL_GATEWAY_METRICS_PORT="0", ONDOL_SIM_DEVICES="20", ONDOL_SIM_REPORT_INTERVAL_S="5")  # fmt: skip
    out = (tmp_path / "up.log").open("wb")
    stack = subprocess.Popen(
        [sys.executable, "-m", "ondol", "up", "--database-url", db_dsn, "--mqtt-url", f"mqtt://{broker.host}:{broker.port}"],
        env=env, stdout=out, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        online = 0
        while time.monotonic() < deadline and online < 20:
            time.sleep(1)
            try:
                token = (tmp_path / "state" / "admin-token").read_text().strip()
                body = httpx.get(f"http://127.0.0.1:{api_port}/v1/devices?status=online",
                                 headers={"Authorization": f"Bearer {token}"}, timeout=5).json()  # fmt: skip
                online = len(body["items"])
            except (httpx.HTTPError, OSError):
                continue
        assert online == 20
    finally:
        stack.send_signal(signal.SIGINT)
        code = stack.wait(60)
        out.close()
    log = (tmp_path / "up.log").read_text()
    assert code == 0, log[-2000:]
    assert "using the database at --database-url" in log
    assert "using the broker at --mqtt-url" in log
    assert not (tmp_path / "state" / "postgres").exists(), "no private cluster when a database is given"
